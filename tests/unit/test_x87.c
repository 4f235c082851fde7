/* x87 tests: guest x87 code run by the interpreter, checked against the host
 * FPU executing the same operations (bit-exact results, status word, EFLAGS),
 * plus FXSAVE/FXRSTOR, FNSTENV/FNSAVE/FRSTOR images, #NM and #MF. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <string.h>

#include "cpu/decode_cache.h"
#include "cpu/interp.h"
#include "harness.h"

#define D HARNESS_DATA

struct code { uint8_t b[2048]; size_t n; };

static void B(struct code *c, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) c->b[c->n++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
}

/* ESC opcode with /reg and an absolute [addr] operand (mod 00 rm 101). */
static void M(struct code *c, uint8_t opc, unsigned reg, uint32_t addr)
{
    B(c, 2, opc, 0x05 | (reg << 3));
    memcpy(c->b + c->n, &addr, 4);
    c->n += 4;
}

static void R(struct code *c, uint8_t opc, uint8_t modrm) { B(c, 2, opc, modrm); }

static struct harness *H;

static void setup(void)
{
    H = harness_new(H_PROT32);
    cr_assert_not_null(H);
    H->v->cr0 |= CR0_NE | CR0_MP;
}

static void teardown(void) { harness_free(H); }

TestSuite(x87, .init = setup, .fini = teardown);

static enum harness_result run(struct code *c)
{
    harness_poke(H, HARNESS_CODE, c->b, c->n);
    dcache_flush(H->m.dcache);
    return harness_run_max(H, c->b, c->n, 10000);
}

static void run_ok(struct code *c) { cr_assert_eq(run(c), HR_DONE, "guest code did not finish"); }

static void pokeq(uint32_t pa, double x) { harness_poke(H, pa, &x, 8); }
static double peekq(uint32_t pa) { double x; harness_peek(H, pa, &x, 8); return x; }
static uint64_t peek64(uint32_t pa) { uint64_t x; harness_peek(H, pa, &x, 8); return x; }
static uint16_t fsw(void) { uint16_t x; memcpy(&x, H->v->fxstate + 2, 2); return x; }
static uint16_t fcw(void) { uint16_t x; memcpy(&x, H->v->fxstate, 2); return x; }

static uint64_t bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }

/* Host references: the same x87 operations on the host FPU (default FCW). */
static double host_m64(int op, double a, double b)
{
    double r;
    switch (op) {
    case 0: __asm__("fninit; fldl %1; faddl %2; fstpl %0" : "=m"(r) : "m"(a), "m"(b)); break;
    case 1: __asm__("fninit; fldl %1; fmull %2; fstpl %0" : "=m"(r) : "m"(a), "m"(b)); break;
    case 4: __asm__("fninit; fldl %1; fsubl %2; fstpl %0" : "=m"(r) : "m"(a), "m"(b)); break;
    case 5: __asm__("fninit; fldl %1; fsubrl %2; fstpl %0" : "=m"(r) : "m"(a), "m"(b)); break;
    case 6: __asm__("fninit; fldl %1; fdivl %2; fstpl %0" : "=m"(r) : "m"(a), "m"(b)); break;
    default: __asm__("fninit; fldl %1; fdivrl %2; fstpl %0" : "=m"(r) : "m"(a), "m"(b)); break;
    }
    return r;
}

Test(x87, arith_m64_all_ops)
{
    static const double av[] = { 1.0 / 3.0, 1e300, -2.5, 0.1, 123456789.123 };
    static const double bv[] = { 7.0, 1e300, 3.0e-5, -0.3, 1e-310 };
    static const int ops[] = { 0, 1, 4, 5, 6, 7 };
    for (size_t k = 0; k < sizeof(av) / sizeof(av[0]); k++) {
        struct code c = { .n = 0 };
        pokeq(D, av[k]);
        pokeq(D + 8, bv[k]);
        B(&c, 2, 0xdb, 0xe3); /* fninit */
        for (size_t i = 0; i < 6; i++) {
            M(&c, 0xdd, 0, D);                       /* fld qword [D] */
            M(&c, 0xdc, (unsigned)ops[i], D + 8);    /* fOP qword [D+8] */
            M(&c, 0xdd, 3, D + 0x100 + 8 * (uint32_t)i); /* fstp qword [R+8i] */
        }
        run_ok(&c);
        for (size_t i = 0; i < 6; i++) {
            double want = host_m64(ops[i], av[k], bv[k]);
            cr_assert_eq(peek64(D + 0x100 + 8 * (uint32_t)i), bits(want), "a=%g b=%g op %d: %a != %a",
                         av[k], bv[k], ops[i], peekq(D + 0x100 + 8 * (uint32_t)i), want);
        }
        cr_assert_eq((fsw() >> 11) & 7, 0, "TOP back to 0");
    }
}

Test(x87, arith_m32_register_forms_and_pops)
{
    float f = 0.1f, g = 3.0f;
    harness_poke(H, D, &f, 4);
    harness_poke(H, D + 4, &g, 4);
    struct code c = { .n = 0 };
    B(&c, 2, 0xdb, 0xe3);      /* fninit */
    M(&c, 0xd9, 0, D);         /* fld dword [D]      st0=f */
    M(&c, 0xd9, 0, D + 4);     /* fld dword [D+4]    st0=g st1=f */
    R(&c, 0xd8, 0xc1);         /* fadd st0, st1      st0=g+f */
    R(&c, 0xdc, 0xc9);         /* fmul st1, st0      st1=f*(g+f) */
    R(&c, 0xde, 0xf9);         /* fdivp st1, st0     st0=st1/st0 */
    M(&c, 0xdd, 3, D + 0x10);  /* fstp qword */
    M(&c, 0xd9, 0, D + 4);     /* fld g */
    M(&c, 0xd8, 4, D);         /* fsub dword [D] */
    R(&c, 0xd9, 0xfa);         /* fsqrt */
    M(&c, 0xd9, 3, D + 0x18);  /* fstp dword */
    run_ok(&c);
    double r1, want1;
    float r2, want2;
    __asm__("fninit; flds %2; flds %3; fadd %%st(1), %%st; fmul %%st, %%st(1); fdivrp %%st, %%st(1); fstpl %0;"
            "flds %3; fsubs %2; fsqrt; fstps %1"
            : "=m"(want1), "=m"(want2) : "m"(f), "m"(g));
    harness_peek(H, D + 0x10, &r1, 8);
    harness_peek(H, D + 0x18, &r2, 4);
    cr_assert_eq(bits(r1), bits(want1), "%a != %a", r1, want1);
    cr_assert_eq(memcmp(&r2, &want2, 4), 0, "%a != %a", (double)r2, (double)want2);
}

Test(x87, load_store_formats)
{
    static const uint8_t t80[10] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xff, 0x3f }; /* 1.5 */
    int16_t i16 = -1234;
    int32_t i32 = 0x7654321;
    int64_t i64 = -0x123456789abcdLL;
    harness_poke(H, D, t80, 10);
    harness_poke(H, D + 0x10, &i16, 2);
    harness_poke(H, D + 0x14, &i32, 4);
    harness_poke(H, D + 0x18, &i64, 8);
    pokeq(D + 0x20, 2.7);
    struct code c = { .n = 0 };
    B(&c, 2, 0xdb, 0xe3);
    M(&c, 0xdb, 5, D);          /* fld tbyte [D] */
    M(&c, 0xdb, 7, D + 0x40);   /* fstp tbyte [D+40] */
    M(&c, 0xdf, 0, D + 0x10);   /* fild word */
    M(&c, 0xdf, 2, D + 0x50);   /* fist word */
    M(&c, 0xdb, 3, D + 0x54);   /* fistp dword */
    M(&c, 0xdb, 0, D + 0x14);   /* fild dword */
    M(&c, 0xdd, 2, D + 0x58);   /* fst qword */
    M(&c, 0xd9, 3, D + 0x60);   /* fstp dword */
    M(&c, 0xdf, 5, D + 0x18);   /* fild qword */
    M(&c, 0xdf, 7, D + 0x68);   /* fistp qword */
    M(&c, 0xdd, 0, D + 0x20);   /* fld qword 2.7 */
    M(&c, 0xdb, 2, D + 0x70);   /* fist dword: rounds to 3 */
    M(&c, 0xdf, 6, D + 0x78);   /* fbstp: BCD 3 */
    M(&c, 0xdf, 4, D + 0x78);   /* fbld */
    M(&c, 0xdf, 3, D + 0x88);   /* fistp word */
    run_ok(&c);
    uint8_t t[10];
    harness_peek(H, D + 0x40, t, 10);
    cr_assert_eq(memcmp(t, t80, 10), 0);
    int16_t w;
    int32_t d;
    int64_t q;
    harness_peek(H, D + 0x50, &w, 2);
    cr_assert_eq(w, -1234);
    harness_peek(H, D + 0x54, &d, 4);
    cr_assert_eq(d, -1234);
    cr_assert_eq(peekq(D + 0x58), (double)0x7654321);
    float fl;
    harness_peek(H, D + 0x60, &fl, 4);
    float want = (float)0x7654321;
    cr_assert_eq(memcmp(&fl, &want, 4), 0);
    harness_peek(H, D + 0x68, &q, 8);
    cr_assert_eq(q, i64);
    harness_peek(H, D + 0x70, &d, 4);
    cr_assert_eq(d, 3);
    uint8_t bcd[10];
    harness_peek(H, D + 0x78, bcd, 10);
    static const uint8_t want_bcd[10] = { 3 };
    cr_assert_eq(memcmp(bcd, want_bcd, 10), 0);
    harness_peek(H, D + 0x88, &w, 2);
    cr_assert_eq(w, 3);
    cr_assert_eq(fsw() & 0x3800, 0);
    cr_assert_eq(H->v->fxstate[4], 0, "all registers empty again");
}

/* FCOM + FNSTSW AX and FCOMI/FUCOMI EFLAGS, against the host. */
Test(x87, compares)
{
    const double pairs[][2] = { { 1.0, 2.0 }, { 2.0, 1.0 }, { 3.0, 3.0 }, { 1.0, __builtin_nan("") } };
    for (size_t k = 0; k < 4; k++) {
        pokeq(D, pairs[k][0]);
        pokeq(D + 8, pairs[k][1]);
        struct code c = { .n = 0 };
        B(&c, 2, 0xdb, 0xe3);
        M(&c, 0xdd, 0, D + 8);     /* st0 = b */
        M(&c, 0xdd, 0, D);         /* st0 = a, st1 = b */
        R(&c, 0xdb, 0xe9);         /* fucomi st0, st1 */
        B(&c, 1, 0x9c);            /* pushfd */
        R(&c, 0xd8, 0xd1);         /* fcom st1 */
        B(&c, 2, 0xdf, 0xe0);      /* fnstsw ax */
        R(&c, 0xdf, 0xf1);         /* fcomip st0, st1 */
        R(&c, 0xdd, 0xd8);         /* fstp st0 */
        run_ok(&c);
        uint32_t gflags_fcomip = H->v->eflags;
        uint32_t gflags_fucomi;
        harness_peek(H, H->v->r[R_ESP], &gflags_fucomi, 4);
        uint16_t gsw = (uint16_t)H->v->r[R_EAX];
        double a = pairs[k][0], b = pairs[k][1];
        uint64_t hf1, hf2;
        uint16_t hsw;
        /* operands through registers: rsp moves past the red zone around pushfq */
        __asm__ volatile("sub $128, %%rsp; fninit; fldl (%[pb]); fldl (%[pa]); fucomi %%st(1), %%st;"
                         "pushfq; popq %[f1]; fcom %%st(1); fnstsw (%[psw]); fcomip %%st(1), %%st;"
                         "pushfq; popq %[f2]; fstp %%st(0); add $128, %%rsp"
                         : [f1] "=&r"(hf1), [f2] "=&r"(hf2)
                         : [pa] "r"(&a), [pb] "r"(&b), [psw] "r"(&hsw)
                         : "cc", "memory");
        const uint32_t fl = F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF;
        cr_assert_eq(gflags_fucomi & fl, (uint32_t)hf1 & fl, "pair %zu fucomi", k);
        cr_assert_eq(gflags_fcomip & fl, (uint32_t)hf2 & fl, "pair %zu fcomip", k);
        cr_assert_eq(gsw & 0x4700, hsw & 0x4700, "pair %zu C3 C2 C0", k);
        cr_assert_eq(gsw & 0x3f, hsw & 0x3f, "pair %zu exception flags", k);
    }
}

Test(x87, fxch_fstsw_constants)
{
    struct code c = { .n = 0 };
    B(&c, 2, 0xdb, 0xe3);
    R(&c, 0xd9, 0xe8);      /* fld1 */
    R(&c, 0xd9, 0xeb);      /* fldpi */
    R(&c, 0xd9, 0xc9);      /* fxch st1: st0=1, st1=pi */
    M(&c, 0xdd, 3, D);      /* fstp [D] = 1 */
    B(&c, 3, 0x9b, 0xdf, 0xe0); /* fstsw ax (wait + fnstsw) */
    M(&c, 0xdd, 3, D + 8);  /* fstp [D+8] = pi */
    run_ok(&c);
    cr_assert_eq(peekq(D), 1.0);
    double pi;
    __asm__("fninit; fldpi; fstpl %0" : "=m"(pi));
    cr_assert_eq(bits(peekq(D + 8)), bits(pi));
    uint16_t hsw;
    __asm__ volatile("fninit; fld1; fldpi; fxch %%st(1); fstpl (%0); fnstsw (%1); fstp %%st(0)"
                     : : "r"(&pi), "r"(&hsw) : "memory");
    cr_assert_eq(H->v->r[R_EAX] & 0xffff, hsw);
    cr_assert_eq(hsw & 0x3800, 0x3800, "TOP=7 after one pop");
}

Test(x87, fxsave_fxrstor_round_trip)
{
    struct code c = { .n = 0 };
    pokeq(D + 0x800, 1.25);
    uint16_t cw = 0x0e7f; /* round up? RC=00, PC=10 (53-bit), all masked */
    harness_poke(H, D + 0x810, &cw, 2);
    B(&c, 2, 0xdb, 0xe3);
    M(&c, 0xd9, 5, D + 0x810);   /* fldcw */
    R(&c, 0xd9, 0xe8);           /* fld1 */
    M(&c, 0xdd, 0, D + 0x800);   /* fld 1.25 */
    R(&c, 0xd9, 0xee);           /* fldz */
    uint32_t fip = HARNESS_CODE + (uint32_t)c.n;
    M(&c, 0xdc, 0, D + 0x800);   /* fadd qword [D+0x800] -> st0 = 1.25 */
    B(&c, 3, 0x0f, 0xae, 0x05);  /* fxsave [D] */
    { uint32_t a = D; memcpy(c.b + c.n, &a, 4); c.n += 4; }
    B(&c, 2, 0xdb, 0xe3);        /* fninit */
    B(&c, 3, 0x0f, 0xae, 0x0d);  /* fxrstor [D] */
    { uint32_t a = D; memcpy(c.b + c.n, &a, 4); c.n += 4; }
    B(&c, 3, 0x0f, 0xae, 0x05);  /* fxsave [D+0x200] */
    { uint32_t a = D + 0x200; memcpy(c.b + c.n, &a, 4); c.n += 4; }
    run_ok(&c);
    uint8_t a[512], b[512];
    harness_peek(H, D, a, 512);
    harness_peek(H, D + 0x200, b, 512);
    uint16_t v16;
    uint32_t v32;
    memcpy(&v16, a + 0, 2);
    cr_assert_eq(v16, 0x0e7f, "FCW");
    memcpy(&v16, a + 2, 2);
    cr_assert_eq(v16 & 0x3800, 5u << 11, "TOP = 5");
    cr_assert_eq(a[4], 0xe0, "abridged tags: physical 5,6,7 valid");
    memcpy(&v16, a + 6, 2);
    cr_assert_eq(v16, 0x405, "FOP of fadd m64 (DC 05)");
    memcpy(&v32, a + 8, 4);
    cr_assert_eq(v32, fip, "FIP");
    memcpy(&v16, a + 12, 2);
    cr_assert_eq(v16, H->v->seg[S_CS].sel, "FCS");
    memcpy(&v32, a + 16, 4);
    cr_assert_eq(v32, D + 0x800, "FDP");
    memcpy(&v32, a + 24, 4);
    cr_assert_eq(v32, 0x1f80, "MXCSR");
    memcpy(&v32, a + 28, 4);
    cr_assert_eq(v32, 0xffff, "MXCSR_MASK");
    /* ST0 = 1.25, ST1 = 1.25, ST2 = 1.0 in 80-bit form */
    static const uint8_t e125[10] = { 0, 0, 0, 0, 0, 0, 0, 0xa0, 0xff, 0x3f };
    static const uint8_t e1[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };
    cr_assert_eq(memcmp(a + 32, e125, 10), 0);
    cr_assert_eq(memcmp(a + 48, e125, 10), 0);
    cr_assert_eq(memcmp(a + 64, e1, 10), 0);
    /* the restore + save reproduces the image (x87 + MXCSR + XMM0-7) */
    cr_assert_eq(memcmp(a, b, 288), 0);
    /* misaligned: #GP(0) */
    struct code m = { .n = 0 };
    B(&m, 3, 0x0f, 0xae, 0x05);
    { uint32_t x = D + 8; memcpy(m.b + m.n, &x, 4); m.n += 4; }
    cr_assert_eq(run(&m), HR_EXCEPTION);
    cr_assert_eq(H->vector, EXC_GP);
}

Test(x87, fnstenv_fnsave_frstor)
{
    struct code c = { .n = 0 };
    B(&c, 2, 0xdb, 0xe3);
    R(&c, 0xd9, 0xe8);           /* fld1 */
    R(&c, 0xd9, 0xeb);           /* fldpi */
    M(&c, 0xd9, 6, D);           /* fnstenv [D] (28 bytes) */
    M(&c, 0xdd, 6, D + 0x40);    /* fnsave [D+0x40] (108 bytes), then FNINIT */
    M(&c, 0xd9, 7, D + 0x100);   /* fnstcw [D+0x100] */
    M(&c, 0xdd, 4, D + 0x40);    /* frstor */
    M(&c, 0xdd, 3, D + 0x110);   /* fstp: pi */
    M(&c, 0xdd, 3, D + 0x118);   /* fstp: 1 */
    run_ok(&c);
    uint32_t e[7];
    harness_peek(H, D, e, 28);
    cr_assert_eq(e[0] & 0xffff, 0x037f);
    cr_assert_eq(e[1] & 0xffff, 0x3000, "FSW TOP=6");
    cr_assert_eq(e[2] & 0xffff, 0x0fff, "tags: physical 6,7 valid, the rest empty");
    uint16_t cw;
    harness_peek(H, D + 0x100, &cw, 2);
    cr_assert_eq(cw, 0x037f, "FNSAVE reinitialised");
    double pi;
    __asm__("fninit; fldpi; fstpl %0" : "=m"(pi));
    cr_assert_eq(bits(peekq(D + 0x110)), bits(pi));
    cr_assert_eq(peekq(D + 0x118), 1.0);
    /* FNSTENV masked all exceptions: FCW after FRSTOR is the saved 0x037f */
    cr_assert_eq(fcw(), 0x037f);
}

Test(x87, nm_when_ts_or_em)
{
    struct code c = { .n = 0 };
    R(&c, 0xd9, 0xe8); /* fld1 */
    H->v->cr0 |= CR0_TS;
    cr_assert_eq(run(&c), HR_EXCEPTION);
    cr_assert_eq(H->vector, EXC_NM);
    cr_assert_eq(harness_stack(H, 0), HARNESS_CODE);
    /* WAIT: #NM only with TS and MP */
    struct code w = { .n = 0 };
    B(&w, 1, 0x9b);
    H->v->cr0 = (H->v->cr0 & ~CR0_MP) | CR0_TS;
    cr_assert_eq(run(&w), HR_DONE);
    H->v->cr0 |= CR0_MP;
    cr_assert_eq(run(&w), HR_EXCEPTION);
    cr_assert_eq(H->vector, EXC_NM);
    /* EM: #NM for ESC, not for WAIT */
    H->v->cr0 = (H->v->cr0 & ~(CR0_TS | CR0_MP)) | CR0_EM;
    cr_assert_eq(run(&w), HR_DONE);
    cr_assert_eq(run(&c), HR_EXCEPTION);
    cr_assert_eq(H->vector, EXC_NM);
}

Test(x87, mf_deferred_to_next_waiting_insn)
{
    uint16_t cw = 0x037b; /* unmask ZE */
    harness_poke(H, D, &cw, 2);
    pokeq(D + 8, 0.0);
    struct code c = { .n = 0 };
    B(&c, 2, 0xdb, 0xe3);
    M(&c, 0xd9, 5, D);          /* fldcw */
    R(&c, 0xd9, 0xe8);          /* fld1 */
    M(&c, 0xdc, 6, D + 8);      /* fdiv qword 0.0: ZE, unmasked -> pending */
    B(&c, 2, 0xdf, 0xe0);       /* fnstsw ax: no-wait, runs */
    uint32_t fault_eip = HARNESS_CODE + (uint32_t)c.n;
    R(&c, 0xd9, 0xe8);          /* fld1: #MF here */
    cr_assert_eq(run(&c), HR_EXCEPTION);
    cr_assert_eq(H->vector, EXC_MF);
    cr_assert_eq(harness_stack(H, 0), fault_eip);
    cr_assert_eq(H->v->r[R_EAX] & 0x80ff, 0x8084, "B, ES, ZE");
    /* FNCLEX clears it; then execution continues */
    struct code d = { .n = 0 };
    B(&d, 2, 0xdb, 0xe2);
    R(&d, 0xd9, 0xe8);
    cr_assert_eq(run(&d), HR_DONE);
    cr_assert_eq(fsw() & 0x80ff, 0);
}

Test(x87, unmasked_invalid_store_leaves_memory)
{
    uint16_t cw = 0x037e; /* unmask IE */
    harness_poke(H, D, &cw, 2);
    uint32_t sentinel = 0xdeadbeef;
    harness_poke(H, D + 0x10, &sentinel, 4);
    struct code c = { .n = 0 };
    B(&c, 2, 0xdb, 0xe3);
    M(&c, 0xd9, 5, D);          /* fldcw */
    M(&c, 0xd9, 3, D + 0x10);   /* fstp dword with an empty stack: IE (stack underflow) */
    cr_assert_eq(run(&c), HR_DONE);
    cr_assert_eq(harness_read32(H, D + 0x10), 0xdeadbeef);
    cr_assert_eq(fsw() & 0x80c1, 0x80c1, "B ES SF IE");
    /* the same store with IE masked writes the indefinite */
    struct code d = { .n = 0 };
    B(&d, 2, 0xdb, 0xe3);
    M(&d, 0xd9, 3, D + 0x10);
    cr_assert_eq(run(&d), HR_DONE);
    cr_assert_eq(harness_read32(H, D + 0x10), 0xffc00000u);
}

Test(x87, ud_forms)
{
    struct code c = { .n = 0 };
    R(&c, 0xd9, 0xd8); /* fstp1 alias: not run on the host */
    cr_assert_eq(run(&c), HR_EXCEPTION);
    cr_assert_eq(H->vector, EXC_UD);
}

/* FCMOVcc reads EFLAGS; FIST honours the rounding control (FLDCW). */
Test(x87, fcmov_and_rounding_control)
{
    pokeq(D, 2.5);
    pokeq(D + 8, -2.5);
    uint16_t cws[4] = { 0x037f, 0x077f, 0x0b7f, 0x0f7f }; /* nearest, down, up, chop */
    harness_poke(H, D + 0x10, cws, 8);
    struct code c = { .n = 0 };
    B(&c, 2, 0xdb, 0xe3);
    for (uint32_t i = 0; i < 4; i++) {
        M(&c, 0xd9, 5, D + 0x10 + 2 * i); /* fldcw */
        M(&c, 0xdd, 0, D);                /* fld 2.5 */
        M(&c, 0xdb, 3, D + 0x20 + 8 * i); /* fistp dword */
        M(&c, 0xdd, 0, D + 8);            /* fld -2.5 */
        M(&c, 0xdb, 3, D + 0x24 + 8 * i); /* fistp dword */
    }
    M(&c, 0xd9, 5, D + 0x10);  /* fldcw nearest */
    R(&c, 0xd9, 0xe8);         /* fld1 */
    R(&c, 0xd9, 0xee);         /* fldz: st0 = 0, st1 = 1 */
    B(&c, 1, 0xf9);            /* stc */
    R(&c, 0xda, 0xc1);         /* fcmovb st0, st1: taken (CF=1) -> st0 = 1 */
    M(&c, 0xdd, 3, D + 0x60);
    R(&c, 0xd9, 0xee);         /* fldz */
    B(&c, 1, 0xf8);            /* clc */
    R(&c, 0xda, 0xc1);         /* fcmovb: not taken -> st0 = 0 */
    M(&c, 0xdd, 3, D + 0x68);
    run_ok(&c);
    static const int32_t want[4][2] = { { 2, -2 }, { 2, -3 }, { 3, -2 }, { 2, -2 } };
    for (uint32_t i = 0; i < 4; i++) {
        cr_assert_eq((int32_t)harness_read32(H, D + 0x20 + 8 * i), want[i][0], "rc %u +2.5", i);
        cr_assert_eq((int32_t)harness_read32(H, D + 0x24 + 8 * i), want[i][1], "rc %u -2.5", i);
    }
    cr_assert_eq(peekq(D + 0x60), 1.0);
    cr_assert_eq(peekq(D + 0x68), 0.0);
}

/* Real mode, 16-bit operand size: the 14-byte real-mode FNSTENV image and a
 * 16-bit-addressed memory operand with the pointers the FPU records. */
Test(x87, real_mode_env_and_pointers)
{
    struct harness *h = harness_new(H_REAL16);
    cr_assert_not_null(h);
    double x = 0.75;
    harness_poke(h, 0x9010, &x, 8);
    struct code c = { .n = 0 };
    B(&c, 2, 0xdb, 0xe3);                 /* fninit */
    B(&c, 3, 0xbb, 0x00, 0x90);           /* mov bx, 0x9000 */
    B(&c, 3, 0xbe, 0x10, 0x00);           /* mov si, 0x10 */
    uint16_t fld_ip = (uint16_t)c.n;
    B(&c, 2, 0xdd, 0x00);                 /* fld qword [bx+si] */
    B(&c, 4, 0xd9, 0x36, 0x00, 0x90);     /* fnstenv [0x9000] (14 bytes) */
    B(&c, 4, 0xdd, 0x1e, 0x20, 0x90);     /* fstp qword [0x9020] */
    harness_poke(h, HARNESS_CODE, c.b, c.n);
    dcache_flush(h->m.dcache);
    cr_assert_eq(harness_run_max(h, c.b, c.n, 100), HR_DONE);
    uint16_t e[7];
    harness_peek(h, 0x9000, e, 14);
    cr_assert_eq(e[0], 0x037f, "FCW");
    cr_assert_eq(e[1], 0x3800, "FSW: TOP=7");
    cr_assert_eq(e[2], 0x3fff, "FTW: physical 7 valid");
    uint32_t fip = HARNESS_CODE + fld_ip; /* linear: CS*16 + IP */
    cr_assert_eq(e[3], fip & 0xffff, "FIP 15:0");
    cr_assert_eq(e[4], ((fip >> 16) << 12) | 0x500, "FIP 19:16 and FOP (DD 00)");
    cr_assert_eq(e[5], 0x9010, "FDP 15:0");
    cr_assert_eq(e[6], 0, "FDP 19:16");
    double y;
    harness_peek(h, 0x9020, &y, 8);
    cr_assert_eq(y, 0.75);
    harness_free(h);
}
