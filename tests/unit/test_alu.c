/* Tests for the arithmetic/logic family (cpu/exec_alu.c). Each guest
 * instruction (hand-assembled bytes run through the harness) is compared with
 * the host CPU executing the same instruction on the same inputs and input
 * flags: result, untouched register/memory bytes, and the six arithmetic flags
 * (those the SDM leaves undefined masked out). Edge values and a few hundred
 * seeded random values per form, 8/16/32 bits, register, memory and immediate
 * forms, protected and real mode. Divide errors, BCD adjusts (SDM known
 * answers and decimal identities) and fault atomicity have their own tests. */
#include <stdio.h>

#include "alu_test_util.h"

#define DATA HARNESS_DATA
#define RDATA 0x9000u /* data offset for real-mode tests (DS base 0) */

/* ---------------- host oracles ---------------- */

static uint32_t host_binop(int op, unsigned size, uint32_t a, uint32_t b, uint32_t gf, uint32_t *hf)
{
    uint64_t f = orc_flags(gf);
    switch (op) {
    case 0: ORC_SIZED(size, ORC2, "add"); break;
    case 1: ORC_SIZED(size, ORC2, "or"); break;
    case 2: ORC_SIZED(size, ORC2, "adc"); break;
    case 3: ORC_SIZED(size, ORC2, "sbb"); break;
    case 4: ORC_SIZED(size, ORC2, "and"); break;
    case 5: ORC_SIZED(size, ORC2, "sub"); break;
    case 6: ORC_SIZED(size, ORC2, "xor"); break;
    case 7: ORC_SIZED(size, ORC2, "cmp"); break;
    default: ORC_SIZED(size, ORC2, "test"); break;
    }
    *hf = (uint32_t)f;
    return a;
}

/* Group 2 (op = /r of D0-D3: rol ror rcl rcr shl shr sal sar); count in CL. */
static uint32_t host_shift(int op, unsigned size, uint32_t a, uint32_t count, uint32_t gf, uint32_t *hf)
{
    uint64_t f = orc_flags(gf);
    uint32_t b = count;
    switch (op) {
    case 0: ORC_SIZED(size, ORC_CL, "rol"); break;
    case 1: ORC_SIZED(size, ORC_CL, "ror"); break;
    case 2: ORC_SIZED(size, ORC_CL, "rcl"); break;
    case 3: ORC_SIZED(size, ORC_CL, "rcr"); break;
    case 5: ORC_SIZED(size, ORC_CL, "shr"); break;
    case 7: ORC_SIZED(size, ORC_CL, "sar"); break;
    default: ORC_SIZED(size, ORC_CL, "shl"); break;
    }
    *hf = (uint32_t)f;
    return a;
}

/* op: 0 inc, 1 dec, 2 neg, 3 not */
static uint32_t host_unop(int op, unsigned size, uint32_t a, uint32_t gf, uint32_t *hf)
{
    uint64_t f = orc_flags(gf);
    switch (op) {
    case 0: ORC_SIZED(size, ORC1, "inc"); break;
    case 1: ORC_SIZED(size, ORC1, "dec"); break;
    case 2: ORC_SIZED(size, ORC1, "neg"); break;
    default: ORC_SIZED(size, ORC1, "not"); break;
    }
    *hf = (uint32_t)f;
    return a;
}

/* One-operand MUL (sgn 0) / IMUL (sgn 1) on EAX/EDX. */
#define ORC_MUL(ins)                                                                        \
    __asm__ volatile(ORC_PRE ins ORC_POST : "+a"(*eax), "+d"(*edx), [f] "+r"(f) : [b] "r"(b) \
                     : "cc", "memory")
static void host_mul1(int sgn, unsigned size, uint32_t *eax, uint32_t *edx, uint32_t b, uint32_t gf, uint32_t *hf)
{
    uint64_t f = orc_flags(gf);
    if (!sgn) {
        if (size == 1) ORC_MUL("mulb %b[b]");
        else if (size == 2) ORC_MUL("mulw %w[b]");
        else ORC_MUL("mull %k[b]");
    } else {
        if (size == 1) ORC_MUL("imulb %b[b]");
        else if (size == 2) ORC_MUL("imulw %w[b]");
        else ORC_MUL("imull %k[b]");
    }
    *hf = (uint32_t)f;
}

/* Two-operand IMUL (also the oracle for the three-operand form). */
static uint32_t host_imul2(unsigned size, uint32_t a, uint32_t b, uint32_t gf, uint32_t *hf)
{
    uint64_t f = orc_flags(gf);
    if (size == 2) ORC2("imul", "w");
    else ORC2("imul", "k");
    *hf = (uint32_t)f;
    return a;
}

/* ---------------- encoders ---------------- */

static size_t put_le(uint8_t *c, uint32_t x, unsigned size)
{
    for (unsigned i = 0; i < size; i++) c[i] = (uint8_t)(x >> (8 * i));
    return size;
}

/* ModRM + displacement for the direct memory operand at `addr`. */
static size_t put_mem(uint8_t *c, int reg, bool real, uint32_t addr)
{
    if (real) {
        c[0] = (uint8_t)(0x06 | reg << 3);
        return 1 + put_le(c + 1, addr, 2);
    }
    c[0] = (uint8_t)(0x05 | reg << 3);
    return 1 + put_le(c + 1, addr, 4);
}

/* Operand-size prefix for `size` in the current code size. */
static size_t put_osz(uint8_t *c, unsigned size, bool real)
{
    if ((size == 2 && !real) || (size == 4 && real)) {
        c[0] = 0x66;
        return 1;
    }
    return 0;
}

enum form { FM_RR, FM_RM, FM_MR, FM_RI, FM_MI, FM_ACC, FM_RI8, NFORMS };
static const char *const FORM_NAME[] = { "r,r", "r,m", "m,r", "r,imm", "m,imm", "acc,imm", "r,imm8" };

/* Destination register: ECX/CX or CH (8-bit, to exercise the high bytes);
 * source register: EBX/BX/BL. The accumulator form uses EAX/AX/AL. */
#define DREG(size, form) ((form) == FM_ACC ? 0 : (size) == 1 ? 5 : 1)
#define SREG 3

/* op 0-7 = ADD..CMP, 8 = TEST. Returns 0 when the form does not exist. */
static size_t enc_binop(uint8_t *c, int op, unsigned size, enum form fm, uint32_t imm, bool real, uint32_t addr)
{
    size_t n = put_osz(c, size, real);
    int w = size != 1;
    int d = DREG(size, fm);
    bool test = op == 8;
    switch (fm) {
    case FM_RR:
        c[n++] = (uint8_t)(test ? 0x84 + w : op * 8 + w);
        c[n++] = (uint8_t)(0xc0 | SREG << 3 | d);
        return n;
    case FM_RM:
        if (test) return 0;
        c[n++] = (uint8_t)(op * 8 + 2 + w);
        return n + put_mem(c + n, d, real, addr);
    case FM_MR:
        c[n++] = (uint8_t)(test ? 0x84 + w : op * 8 + w);
        return n + put_mem(c + n, SREG, real, addr);
    case FM_RI:
    case FM_MI:
        c[n++] = (uint8_t)(test ? 0xf6 + w : 0x80 + w);
        if (fm == FM_RI) c[n++] = (uint8_t)(0xc0 | (test ? 0 : op) << 3 | d);
        else n += put_mem(c + n, test ? 0 : op, real, addr);
        return n + put_le(c + n, imm, size);
    case FM_ACC:
        c[n++] = (uint8_t)(test ? 0xa8 + w : op * 8 + 4 + w);
        return n + put_le(c + n, imm, size);
    default: /* FM_RI8: 83 /op ib, sign-extended */
        if (test || size == 1) return 0;
        c[n++] = 0x83;
        c[n++] = (uint8_t)(0xc0 | op << 3 | d);
        c[n++] = (uint8_t)imm;
        return n;
    }
}

/* ---------------- binary operations ---------------- */

static const char *const BIN_NAME[] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test" };

/* Run one binop case and compare with the host. */
static void binop_case(struct harness *h, int op, unsigned size, enum form fm, uint32_t a, uint32_t b,
                       uint32_t fin, uint32_t junk)
{
    struct vcpu *v = h->v;
    bool real = h->mode == H_REAL16;
    uint32_t addr = real ? RDATA : DATA;
    uint32_t m = size_mask(size);
    a &= m;
    b &= m;
    if (fm == FM_RI8) b = (uint32_t)(int32_t)(int8_t)b & m;
    uint8_t code[16];
    size_t len = enc_binop(code, op, size, fm, b, real, addr);
    cr_assert(len > 0);
    int d = DREG(size, fm);
    bool mem_dst = fm == FM_MR || fm == FM_MI;
    /* Registers and memory: junk around the operands to catch wide writes. */
    uint32_t rd = junk, rs = ~junk, mem = junk * 2654435761u;
    if (!mem_dst) {
        if (size == 1 && d >= 4) rd = (rd & ~0xff00u) | a << 8;
        else rd = (rd & ~m) | a;
    } else {
        mem = (mem & ~m) | a;
    }
    if (fm == FM_RM) mem = (mem & ~m) | b;
    else rs = (rs & ~m) | b;
    int dreg = d & 3;
    v->r[dreg] = rd;
    v->r[SREG] = rs;
    harness_write32(h, addr, mem);
    v->eflags = F_FIXED1 | (fin & ARITH);
    uint32_t before = v->eflags, hf;
    uint32_t r = host_binop(op, size, a, b, fin, &hf) & m;
    bool writes = op != 7 && op != 8;

    char ctx[128];
    snprintf(ctx, sizeof ctx, "%s%u %s a=%#x b=%#x fin=%#x mode=%d", BIN_NAME[op], size * 8,
             FORM_NAME[fm], a, b, fin & ARITH, h->mode);
    cr_assert_eq(arun(h, code, len), HR_DONE, "%s", ctx);
    uint32_t want_rd = rd, want_mem = mem;
    if (writes) {
        if (mem_dst) want_mem = (mem & ~m) | r;
        else if (size == 1 && d >= 4) want_rd = (rd & ~0xff00u) | r << 8;
        else want_rd = (rd & ~m) | r;
    }
    cr_assert_eq(v->r[dreg], want_rd, "dest reg %#x want %#x: %s", v->r[dreg], want_rd, ctx);
    cr_assert_eq(harness_read32(h, addr), want_mem, "memory %#x want %#x: %s", harness_read32(h, addr),
                 want_mem, ctx);
    if (dreg != SREG) cr_assert_eq(v->r[SREG], rs, "source reg changed: %s", ctx);
    /* AF is undefined after the logical operations. */
    uint32_t mask = (op == 1 || op == 4 || op == 6 || op == 8) ? ARITH & ~F_AF : ARITH;
    check_flags(v, before, hf, mask, ctx);
}

/* Every form and size of one binop over edge pairs (both flag states) and
 * random values. */
static void binop_family(int op, uint32_t seed)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = seed;
    for (unsigned size = 1; size <= 4; size *= 2) {
        for (int fm = 0; fm < NFORMS; fm++) {
            uint8_t probe[16];
            if (!enc_binop(probe, op, size, fm, 0, false, DATA)) continue;
            for (unsigned i = 0; i < NEDGES; i++)
                for (unsigned j = 0; j < NEDGES; j++)
                    for (uint32_t fin = 0; fin <= ARITH; fin += ARITH)
                        binop_case(h, op, size, fm, EDGES[i], EDGES[j], fin, rnd(&s));
            for (int k = 0; k < 300; k++) {
                uint32_t a = rnd(&s), b = rnd(&s);
                if (k & 1) b >>= rnd(&s) & 31; /* small values too */
                binop_case(h, op, size, fm, a, b, rnd(&s), rnd(&s));
            }
        }
    }
    harness_free(h);
}

Test(alu, add) { binop_family(0, 0x1001); }
Test(alu, or) { binop_family(1, 0x1002); }
Test(alu, adc) { binop_family(2, 0x1003); }
Test(alu, sbb) { binop_family(3, 0x1004); }
Test(alu, and) { binop_family(4, 0x1005); }
Test(alu, sub) { binop_family(5, 0x1006); }
Test(alu, xor) { binop_family(6, 0x1007); }
Test(alu, cmp) { binop_family(7, 0x1008); }
Test(alu, test) { binop_family(8, 0x1009); }

/* Real mode: 16-bit default operand size, 66 for 32-bit, 16-bit addressing. */
Test(alu, binops_real_mode)
{
    struct harness *h = hnew(H_REAL16);
    uint32_t s = 0x2001;
    for (int op = 0; op <= 8; op++)
        for (unsigned size = 1; size <= 4; size *= 2)
            for (int fm = 0; fm < NFORMS; fm++) {
                uint8_t probe[16];
                if (!enc_binop(probe, op, size, fm, 0, true, RDATA)) continue;
                for (int k = 0; k < 40; k++) {
                    uint32_t a = k < 20 ? EDGES[k] : rnd(&s), b = rnd(&s);
                    binop_case(h, op, size, fm, a, b, rnd(&s), rnd(&s));
                }
            }
    harness_free(h);
}

/* XOR r,r / SUB r,r with the same register: zero and flags from the host. */
Test(alu, same_register_idioms)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x31, 0xc0, 0x29, 0xdb, 0x66, 0x31, 0xc9, 0x30, 0xe4 };
    /* xor eax,eax; sub ebx,ebx; xor cx,cx; xor ah,ah */
    v->r[R_EAX] = 0x12345678;
    v->r[R_EBX] = 0x9abcdef0;
    v->r[R_ECX] = 0xffffffff;
    v->eflags = F_FIXED1 | F_CF | F_OF | F_SF;
    cr_assert_eq(arun(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->r[R_EAX], 0);
    cr_assert_eq(v->r[R_EBX], 0);
    cr_assert_eq(v->r[R_ECX], 0xffff0000);
    cr_assert_eq(v->eflags & (ARITH & ~F_AF), F_ZF | F_PF);
    harness_free(h);
}

/* LOCK on a memory destination behaves like the plain instruction. */
Test(alu, lock_prefix_memory)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xf0, 0x01, 0x0d, 0x00, 0x00, 0x02, 0x00, /* lock add [DATA], ecx */
        0xf0, 0xff, 0x05, 0x04, 0x00, 0x02, 0x00, /* lock inc dword [DATA+4] */
    };
    harness_write32(h, DATA, 0xfffffff0);
    harness_write32(h, DATA + 4, 0x7fffffff);
    v->r[R_ECX] = 0x10;
    cr_assert_eq(arun(h, code, sizeof code), HR_DONE);
    cr_assert_eq(harness_read32(h, DATA), 0);
    cr_assert_eq(harness_read32(h, DATA + 4), 0x80000000u);
    cr_assert_eq(v->eflags & ARITH, F_OF | F_SF | F_AF | F_PF | F_CF); /* INC kept ADD's CF */
    harness_free(h);
}

/* A read-modify-write to a read-only segment faults (#GP(0)) before anything
 * changes; a CMP of the same operand only reads and succeeds. */
Test(alu, rmw_fault_commits_nothing)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    v->seg[S_DS].attr = 0xc091; /* read-only data */
    seg_cache_refresh(&v->seg[S_DS], true);
    static const uint8_t code[] = { 0x90, 0x01, 0x0d, 0x00, 0x00, 0x02, 0x00 }; /* nop; add [DATA], ecx */
    harness_write32(h, DATA, 5);
    v->r[R_ECX] = 7;
    v->eflags = F_FIXED1 | F_ZF;
    enum harness_result r = arun(h, code, sizeof code);
    expect_exc(h, r, EXC_GP, 0, HARNESS_CODE + 1);
    cr_assert_eq(harness_read32(h, DATA), 5);
    cr_assert_eq(v->r[R_ECX], 7);
    static const uint8_t code2[] = { 0x39, 0x0d, 0x00, 0x00, 0x02, 0x00 }; /* cmp [DATA], ecx */
    v->eflags = F_FIXED1;
    cr_assert_eq(arun(h, code2, sizeof code2), HR_DONE);
    cr_assert_eq(v->eflags & ARITH, F_CF | F_SF | F_AF); /* 5 - 7 = -2 */
    harness_free(h);
}

/* ---------------- INC DEC NEG NOT ---------------- */

static void unop_case(struct harness *h, int op, unsigned size, bool mem, uint32_t a, uint32_t fin, uint32_t junk)
{
    static const char *const name[] = { "inc", "dec", "neg", "not" };
    struct vcpu *v = h->v;
    uint32_t m = size_mask(size);
    a &= m;
    uint8_t code[16];
    size_t n = put_osz(code, size, false);
    int d = size == 1 ? 6 : 2; /* DH or EDX/DX */
    int r_ = op == 0 ? 0 : op == 1 ? 1 : op == 2 ? 3 : 2;
    code[n++] = (uint8_t)(op <= 1 ? 0xfe + (size != 1) : 0xf6 + (size != 1));
    if (mem) n += put_mem(code + n, r_, false, DATA);
    else code[n++] = (uint8_t)(0xc0 | r_ << 3 | d);
    uint32_t rd = junk, mv = ~junk;
    if (mem) mv = (mv & ~m) | a;
    else if (size == 1) rd = (rd & ~0xff00u) | a << 8;
    else rd = (rd & ~m) | a;
    v->r[R_EDX] = rd;
    harness_write32(h, DATA, mv);
    v->eflags = F_FIXED1 | (fin & ARITH);
    uint32_t before = v->eflags, hf;
    uint32_t r = host_unop(op, size, a, fin, &hf) & m;
    char ctx[96];
    snprintf(ctx, sizeof ctx, "%s%u %s a=%#x fin=%#x", name[op], size * 8, mem ? "m" : "r", a, fin & ARITH);
    cr_assert_eq(arun(h, code, n), HR_DONE, "%s", ctx);
    if (mem) {
        cr_assert_eq(harness_read32(h, DATA), (mv & ~m) | r, "%s", ctx);
        cr_assert_eq(v->r[R_EDX], rd, "%s", ctx);
    } else {
        uint32_t want = size == 1 ? (rd & ~0xff00u) | r << 8 : (rd & ~m) | r;
        cr_assert_eq(v->r[R_EDX], want, "got %#x want %#x: %s", v->r[R_EDX], want, ctx);
    }
    check_flags(v, before, hf, ARITH, ctx);
}

Test(alu, inc_dec_neg_not)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = 0x3001;
    for (int op = 0; op < 4; op++)
        for (unsigned size = 1; size <= 4; size *= 2)
            for (int mem = 0; mem < 2; mem++) {
                for (unsigned i = 0; i < NEDGES; i++)
                    for (uint32_t fin = 0; fin <= ARITH; fin += ARITH)
                        unop_case(h, op, size, mem, EDGES[i], fin, rnd(&s));
                for (int k = 0; k < 200; k++) unop_case(h, op, size, mem, rnd(&s), rnd(&s), rnd(&s));
            }
    harness_free(h);
}

/* INC/DEC short forms (40+r, 48+r) in 32-bit and 16-bit. */
Test(alu, inc_dec_short_forms)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x40, 0x4b, 0x66, 0x41, 0x66, 0x4a };
    /* inc eax; dec ebx; inc cx; dec dx */
    v->r[R_EAX] = 0x7fffffff;
    v->r[R_EBX] = 0;
    v->r[R_ECX] = 0x1234ffff;
    v->r[R_EDX] = 0xabcd8000;
    v->eflags = F_FIXED1 | F_CF;
    cr_assert_eq(arun(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->r[R_EAX], 0x80000000u);
    cr_assert_eq(v->r[R_EBX], 0xffffffffu);
    cr_assert_eq(v->r[R_ECX], 0x12340000u);
    cr_assert_eq(v->r[R_EDX], 0xabcd7fffu);
    /* dec dx: 0x8000 - 1 overflows; AF from the borrow; CF kept from the start. */
    cr_assert_eq(v->eflags & ARITH, F_CF | F_OF | F_AF | F_PF);
    harness_free(h);
}

/* ---------------- shifts and rotates ---------------- */

enum { SF_ONE, SF_CL, SF_IMM };

static void shift_case(struct harness *h, int op, unsigned size, int sf, bool mem, uint32_t a, uint32_t count,
                       uint32_t fin, uint32_t junk)
{
    static const char *const name[] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
    struct vcpu *v = h->v;
    uint32_t m = size_mask(size);
    a &= m;
    if (sf == SF_ONE) count = 1;
    count &= 0xff;
    uint8_t code[16];
    size_t n = put_osz(code, size, false);
    int w = size != 1;
    int d = size == 1 ? 6 : 2; /* DH or EDX/DX */
    code[n++] = (uint8_t)(sf == SF_ONE ? 0xd0 + w : sf == SF_CL ? 0xd2 + w : 0xc0 + w);
    if (mem) n += put_mem(code + n, op, false, DATA);
    else code[n++] = (uint8_t)(0xc0 | op << 3 | d);
    if (sf == SF_IMM) code[n++] = (uint8_t)count;
    uint32_t rd = junk, mv = ~junk;
    if (mem) mv = (mv & ~m) | a;
    else if (size == 1) rd = (rd & ~0xff00u) | a << 8;
    else rd = (rd & ~m) | a;
    v->r[R_EDX] = rd;
    v->r[R_ECX] = (junk & ~0xffu) | count; /* only CL counts */
    harness_write32(h, DATA, mv);
    v->eflags = F_FIXED1 | (fin & ARITH);
    uint32_t before = v->eflags, hf;
    uint32_t r = host_shift(op, size, a, count, fin, &hf) & m;
    char ctx[112];
    snprintf(ctx, sizeof ctx, "%s%u %s count=%u(%s) a=%#x fin=%#x", name[op], size * 8, mem ? "m" : "r",
             count, sf == SF_ONE ? "1" : sf == SF_CL ? "cl" : "imm", a, fin & ARITH);
    cr_assert_eq(arun(h, code, n), HR_DONE, "%s", ctx);
    if (mem) {
        cr_assert_eq(harness_read32(h, DATA), (mv & ~m) | r, "mem %#x want %#x: %s", harness_read32(h, DATA),
                     (mv & ~m) | r, ctx);
    } else {
        uint32_t want = size == 1 ? (rd & ~0xff00u) | r << 8 : (rd & ~m) | r;
        cr_assert_eq(v->r[R_EDX], want, "got %#x want %#x: %s", v->r[R_EDX], want, ctx);
    }
    /* Undefined: OF unless the masked count is 1; AF after shifts; CF after
     * SHL/SHR by the operand width or more. A masked count of 0 changes nothing. */
    uint32_t c = count & 31, mask = ARITH;
    if (c != 0) {
        if (c != 1) mask &= ~F_OF;
        if (op >= 4) mask &= ~F_AF;
        if ((op == 4 || op == 5 || op == 6) && c >= size * 8) mask &= ~F_CF;
    }
    check_flags(v, before, hf, mask, ctx);
}

static void shift_family(int op, uint32_t seed)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = seed;
    static const uint32_t counts[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63, 255 };
    for (unsigned size = 1; size <= 4; size *= 2)
        for (int mem = 0; mem < 2; mem++) {
            for (unsigned i = 0; i < NEDGES; i++) {
                shift_case(h, op, size, SF_ONE, mem, EDGES[i], 1, 0, rnd(&s));
                shift_case(h, op, size, SF_ONE, mem, EDGES[i], 1, ARITH, rnd(&s));
                for (unsigned j = 0; j < sizeof counts / sizeof counts[0]; j++)
                    shift_case(h, op, size, j & 1 ? SF_CL : SF_IMM, mem, EDGES[i], counts[j], rnd(&s), rnd(&s));
            }
            for (int k = 0; k < 300; k++) {
                uint32_t cnt = rnd(&s);
                cnt = k & 1 ? cnt & 0xff : cnt % 34;
                shift_case(h, op, size, k % 3, mem, rnd(&s), cnt, rnd(&s), rnd(&s));
            }
        }
    harness_free(h);
}

Test(alu, rol) { shift_family(0, 0x4001); }
Test(alu, ror) { shift_family(1, 0x4002); }
Test(alu, rcl) { shift_family(2, 0x4003); }
Test(alu, rcr) { shift_family(3, 0x4004); }
Test(alu, shl) { shift_family(4, 0x4005); }
Test(alu, shr) { shift_family(5, 0x4006); }
Test(alu, sal_alias) { shift_family(6, 0x4007); }
Test(alu, sar) { shift_family(7, 0x4008); }

/* ---------------- MUL IMUL ---------------- */

static void mul1_case(struct harness *h, int sgn, unsigned size, bool mem, uint32_t a, uint32_t b, uint32_t fin,
                      uint32_t junk)
{
    struct vcpu *v = h->v;
    uint32_t m = size_mask(size);
    uint8_t code[16];
    size_t n = put_osz(code, size, false);
    code[n++] = (uint8_t)(0xf6 + (size != 1));
    int r_ = sgn ? 5 : 4;
    if (mem) n += put_mem(code + n, r_, false, DATA);
    else code[n++] = (uint8_t)(0xc0 | r_ << 3 | SREG); /* BL / BX / EBX */
    uint32_t eax = (junk & ~m) | (a & m), edx = ~junk, src = (junk * 3 & ~m) | (b & m);
    v->r[R_EAX] = eax;
    v->r[R_EDX] = edx;
    v->r[SREG] = src;
    harness_write32(h, DATA, src);
    v->eflags = F_FIXED1 | (fin & ARITH);
    uint32_t before = v->eflags, hf, weax = eax, wedx = edx;
    host_mul1(sgn, size, &weax, &wedx, src, fin, &hf);
    char ctx[96];
    snprintf(ctx, sizeof ctx, "%s%u %s a=%#x b=%#x", sgn ? "imul" : "mul", size * 8, mem ? "m" : "r", a & m, b & m);
    cr_assert_eq(arun(h, code, n), HR_DONE, "%s", ctx);
    cr_assert_eq(v->r[R_EAX], weax, "eax %#x want %#x: %s", v->r[R_EAX], weax, ctx);
    cr_assert_eq(v->r[R_EDX], wedx, "edx %#x want %#x: %s", v->r[R_EDX], wedx, ctx);
    check_flags(v, before, hf, F_CF | F_OF, ctx); /* SF ZF AF PF undefined */
}

/* IMUL r, r/m (nops 2) and IMUL r, r/m, imm8/imm (nops 3: imm8 when imm8). */
static void imul_case(struct harness *h, int form, unsigned size, bool mem, uint32_t a, uint32_t b, uint32_t fin,
                      uint32_t junk)
{
    struct vcpu *v = h->v;
    uint32_t m = size_mask(size);
    uint8_t code[16];
    size_t n = put_osz(code, size, false);
    if (form == 0) {
        code[n++] = 0x0f;
        code[n++] = 0xaf;
    } else {
        code[n++] = form == 1 ? 0x6b : 0x69;
    }
    /* dest ECX; source EBX or [DATA] (the multiplicand for the 3-operand forms). */
    if (mem) n += put_mem(code + n, 1, false, DATA);
    else code[n++] = (uint8_t)(0xc0 | 1 << 3 | SREG);
    uint32_t x = a & m, y = b & m;
    if (form == 1) {
        code[n++] = (uint8_t)b;
        y = (uint32_t)(int32_t)(int8_t)b & m;
    } else if (form == 2) {
        n += put_le(code + n, b, size);
    }
    uint32_t ecx = (junk & ~m) | x, src = (~junk & ~m) | (form ? x : y);
    v->r[R_ECX] = ecx;
    v->r[SREG] = src;
    harness_write32(h, DATA, src);
    v->eflags = F_FIXED1 | (fin & ARITH);
    uint32_t before = v->eflags, hf;
    uint32_t r = host_imul2(size, x, y, fin, &hf) & m;
    char ctx[96];
    snprintf(ctx, sizeof ctx, "imul%u form%d %s a=%#x b=%#x", size * 8, form, mem ? "m" : "r", x, y);
    cr_assert_eq(arun(h, code, n), HR_DONE, "%s", ctx);
    cr_assert_eq(v->r[R_ECX], (ecx & ~m) | r, "ecx %#x want %#x: %s", v->r[R_ECX], (ecx & ~m) | r, ctx);
    cr_assert_eq(v->r[SREG], src, "%s", ctx);
    check_flags(v, before, hf, F_CF | F_OF, ctx);
}

Test(alu, mul_imul_one_operand)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = 0x5001;
    for (int sgn = 0; sgn < 2; sgn++)
        for (unsigned size = 1; size <= 4; size *= 2)
            for (int mem = 0; mem < 2; mem++) {
                for (unsigned i = 0; i < NEDGES; i++)
                    for (unsigned j = 0; j < NEDGES; j++) mul1_case(h, sgn, size, mem, EDGES[i], EDGES[j], rnd(&s), rnd(&s));
                for (int k = 0; k < 300; k++) mul1_case(h, sgn, size, mem, rnd(&s), rnd(&s), rnd(&s), rnd(&s));
            }
    harness_free(h);
}

Test(alu, imul_two_and_three_operand)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = 0x5002;
    for (int form = 0; form < 3; form++)
        for (unsigned size = 2; size <= 4; size *= 2)
            for (int mem = 0; mem < 2; mem++) {
                for (unsigned i = 0; i < NEDGES; i++)
                    for (unsigned j = 0; j < NEDGES; j++) imul_case(h, form, size, mem, EDGES[i], EDGES[j], rnd(&s), rnd(&s));
                for (int k = 0; k < 300; k++) {
                    uint32_t b = rnd(&s);
                    if (k & 1) b >>= 16;
                    imul_case(h, form, size, mem, rnd(&s), b, rnd(&s), rnd(&s));
                }
            }
    harness_free(h);
}

/* ---------------- DIV IDIV ---------------- */

/* Expected DIV/IDIV result computed in C; returns false for a divide error. */
static bool c_divide(int sgn, unsigned size, uint32_t eax, uint32_t edx, uint32_t b, uint32_t *q, uint32_t *r)
{
    unsigned bits = size * 8;
    uint32_t m = size_mask(size);
    uint64_t n;
    if (size == 1) n = eax & 0xffff;
    else if (size == 2) n = (edx & 0xffff) << 16 | (eax & 0xffff);
    else n = (uint64_t)edx << 32 | eax;
    b &= m;
    if (b == 0) return false;
    if (!sgn) {
        uint64_t qq = n / b;
        if (qq > m) return false;
        *q = (uint32_t)qq;
        *r = (uint32_t)(n % b);
        return true;
    }
    /* Sign-extend the 2*bits dividend and the divisor. */
    int64_t sn = bits == 32 ? (int64_t)n : (int64_t)(n << (64 - 2 * bits)) >> (64 - 2 * bits);
    int64_t sd = (int64_t)((uint64_t)b << (64 - bits)) >> (64 - bits);
    if (sd == -1) {
        if (sn == INT64_MIN) return false;
        sn = -sn;
        if (sn < -(1ll << (bits - 1)) || sn > (1ll << (bits - 1)) - 1) return false;
        *q = (uint32_t)sn & m;
        *r = 0;
        return true;
    }
    int64_t qq = sn / sd, rr = sn % sd;
    if (qq < -(1ll << (bits - 1)) || qq > (1ll << (bits - 1)) - 1) return false;
    *q = (uint32_t)qq & m;
    *r = (uint32_t)rr & m;
    return true;
}

static void div_case(struct harness *h, int sgn, unsigned size, bool mem, uint32_t eax, uint32_t edx, uint32_t b)
{
    struct vcpu *v = h->v;
    uint32_t m = size_mask(size);
    uint8_t code[16];
    size_t n = 0;
    code[n++] = 0x90; /* the divide is at offset 1 */
    n += put_osz(code + n, size, false);
    code[n++] = (uint8_t)(0xf6 + (size != 1));
    int r_ = sgn ? 7 : 6;
    if (mem) n += put_mem(code + n, r_, false, DATA);
    else code[n++] = (uint8_t)(0xc0 | r_ << 3 | SREG);
    uint32_t src = (0x5a5a5a5a & ~m) | (b & m);
    v->r[R_EAX] = eax;
    v->r[R_EDX] = edx;
    v->r[SREG] = src;
    harness_write32(h, DATA, src);
    v->eflags = F_FIXED1 | F_ZF | F_CF;
    uint32_t before = v->eflags, q = 0, rem = 0;
    bool ok = c_divide(sgn, size, eax, edx, b, &q, &rem);
    char ctx[112];
    snprintf(ctx, sizeof ctx, "%s%u %s edx:eax=%#x:%#x b=%#x", sgn ? "idiv" : "div", size * 8, mem ? "m" : "r", edx,
             eax, b & m);
    enum harness_result res = arun(h, code, n);
    if (!ok) {
        expect_exc(h, res, EXC_DE, -1, HARNESS_CODE + 1);
        cr_assert_eq(v->r[R_EAX], eax, "%s", ctx);
        cr_assert_eq(v->r[R_EDX], edx, "%s", ctx);
        return;
    }
    cr_assert_eq(res, HR_DONE, "%s", ctx);
    uint32_t weax = eax, wedx = edx;
    if (size == 1) weax = (eax & 0xffff0000u) | rem << 8 | q;
    else if (size == 2) {
        weax = (eax & 0xffff0000u) | q;
        wedx = (edx & 0xffff0000u) | rem;
    } else {
        weax = q;
        wedx = rem;
    }
    cr_assert_eq(v->r[R_EAX], weax, "eax %#x want %#x: %s", v->r[R_EAX], weax, ctx);
    cr_assert_eq(v->r[R_EDX], wedx, "edx %#x want %#x: %s", v->r[R_EDX], wedx, ctx);
    check_flags(v, before, 0, 0, ctx); /* all six undefined */
}

Test(alu, div_idiv)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = 0x6001;
    for (int sgn = 0; sgn < 2; sgn++)
        for (unsigned size = 1; size <= 4; size *= 2)
            for (int mem = 0; mem < 2; mem++) {
                for (unsigned i = 0; i < NEDGES; i++)
                    for (unsigned j = 0; j < NEDGES; j++) {
                        div_case(h, sgn, size, mem, EDGES[i], 0, EDGES[j]);
                        div_case(h, sgn, size, mem, EDGES[i], EDGES[i] & 0x80000000u ? 0xffffffffu : 0, EDGES[j]);
                    }
                for (int k = 0; k < 300; k++) {
                    /* Mostly non-faulting: a small high half. */
                    uint32_t hi = rnd(&s) >> (8 + (rnd(&s) & 15));
                    if (sgn && (k & 2)) hi = ~hi;
                    uint32_t eax = rnd(&s);
                    if (size == 1) eax = (eax & ~0xff00u) | (hi & 0xff) << 8;
                    div_case(h, sgn, size, mem, eax, hi, rnd(&s));
                }
            }
    harness_free(h);
}

/* Quotient bounds: the largest quotients that fit, and one past them. */
Test(alu, div_quotient_bounds)
{
    struct harness *h = hnew(H_PROT32);
    /* 8-bit IDIV: 127*2+1 / 2 = 127 fits; 128*2 / 2 faults; -128*2 / 2 fits; -129*2 / 2 faults. */
    div_case(h, 1, 1, false, 0xffff00ff, 0, 2);
    div_case(h, 1, 1, false, 0xffff0100, 0, 2);
    div_case(h, 1, 1, false, 0xffffff00, 0, 2);
    div_case(h, 1, 1, false, 0xfffffefe, 0, 2);
    div_case(h, 1, 1, false, 0x1234ff80, 0, 0xff);       /* -128 / -1 */
    div_case(h, 1, 1, false, 0x12340080, 0, 0xff);       /* 128 / -1 = -128 fits */
    div_case(h, 1, 2, false, 0x00008000, 0xffff, 0xffff); /* -32768 / -1 */
    div_case(h, 1, 2, false, 0x00008000, 0x0000, 0xffff); /* 32768 / -1 = -32768 fits */
    div_case(h, 1, 4, false, 0x80000000u, 0xffffffffu, 0xffffffffu); /* INT_MIN / -1 */
    div_case(h, 1, 4, false, 0x80000000u, 0, 0xffffffffu); /* 2^31 / -1 = INT_MIN fits */
    div_case(h, 1, 4, false, 0, 0x80000000u, 0xffffffffu); /* INT64_MIN / -1 */
    div_case(h, 1, 4, false, 0, 0x80000000u, 0x80000000u); /* INT64_MIN / INT_MIN = 2^32: faults */
    div_case(h, 1, 4, false, 0x7fffffff, 0, 1);
    div_case(h, 0, 4, false, 0xffffffff, 0xfffffffe, 0xffffffff); /* max unsigned quotient */
    div_case(h, 0, 4, false, 0, 0xffffffff, 0xffffffff);           /* one past */
    div_case(h, 0, 2, false, 0xffff, 0xfffe, 0xffff);
    div_case(h, 0, 1, false, 0xfeff, 0, 0xff);
    div_case(h, 0, 1, false, 0xff00, 0, 0xff);
    harness_free(h);
}

/* #DE: divide by zero and overflow, saved EIP = the divide, nothing changed. */
Test(alu, divide_errors)
{
    struct harness *h = hnew(H_PROT32);
    for (int sgn = 0; sgn < 2; sgn++)
        for (unsigned size = 1; size <= 4; size *= 2)
            for (int mem = 0; mem < 2; mem++) {
                div_case(h, sgn, size, mem, 0x12345678, 0x9abc, 0);
                cr_assert_eq(h->vector, EXC_DE);
            }
    harness_free(h);
}

/* #DE in real mode: the IVT entry, saved IP = the divide. */
Test(alu, divide_error_real_mode)
{
    struct harness *h = hnew(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x90, 0x90, 0xf6, 0xf3 }; /* nop; nop; div bl */
    v->r[R_EAX] = 0x1234;
    v->r[R_EBX] = 0x12; /* 0x1234 / 0x12 = 0x102: too big */
    enum harness_result r = arun(h, code, sizeof code);
    expect_exc(h, r, EXC_DE, -1, 2);
    cr_assert_eq(v->r[R_EAX], 0x1234);
    static const uint8_t code2[] = { 0x66, 0xf7, 0xf3 }; /* div ebx */
    v->r[R_EAX] = 100;
    v->r[R_EDX] = 0;
    v->r[R_EBX] = 7;
    cr_assert_eq(arun(h, code2, sizeof code2), HR_DONE);
    cr_assert_eq(v->r[R_EAX], 14);
    cr_assert_eq(v->r[R_EDX], 2);
    harness_free(h);
}

/* ---------------- CBW CWDE CWD CDQ ---------------- */

Test(alu, sign_extensions)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    for (unsigned i = 0; i < NEDGES; i++) {
        uint32_t x = EDGES[i] ^ 0x12345600u;
        static const uint8_t cbw[] = { 0x66, 0x98 }, cwde[] = { 0x98 }, cwd[] = { 0x66, 0x99 }, cdq[] = { 0x99 };
        v->r[R_EAX] = x;
        v->r[R_EDX] = 0x5a5a5a5a;
        v->eflags = F_FIXED1 | F_CF | F_ZF;
        cr_assert_eq(arun(h, cbw, sizeof cbw), HR_DONE);
        cr_assert_eq(v->r[R_EAX], (x & 0xffff0000u) | ((uint32_t)(int32_t)(int8_t)x & 0xffff), "cbw %#x", x);
        v->r[R_EAX] = x;
        cr_assert_eq(arun(h, cwde, sizeof cwde), HR_DONE);
        cr_assert_eq(v->r[R_EAX], (uint32_t)(int32_t)(int16_t)x, "cwde %#x", x);
        v->r[R_EAX] = x;
        cr_assert_eq(arun(h, cwd, sizeof cwd), HR_DONE);
        cr_assert_eq(v->r[R_EDX], 0x5a5a0000u | (x & 0x8000 ? 0xffff : 0), "cwd %#x", x);
        cr_assert_eq(arun(h, cdq, sizeof cdq), HR_DONE);
        cr_assert_eq(v->r[R_EDX], x & 0x80000000u ? 0xffffffffu : 0, "cdq %#x", x);
        cr_assert_eq(v->r[R_EAX], x);
        cr_assert_eq(v->eflags, F_FIXED1 | F_CF | F_ZF, "no flags change");
    }
    /* Real mode: 98 is CBW, 66 98 CWDE, 99 CWD, 66 99 CDQ (Capstone names them by mode). */
    struct harness *r = hnew(H_REAL16);
    static const uint8_t rc[] = { 0x98, 0x66, 0x99 }; /* cbw; cdq */
    r->v->r[R_EAX] = 0x77770080;
    r->v->r[R_EDX] = 0x12345678;
    cr_assert_eq(arun(r, rc, sizeof rc), HR_DONE);
    cr_assert_eq(r->v->r[R_EAX], 0x7777ff80);
    cr_assert_eq(r->v->r[R_EDX], 0);
    static const uint8_t rc2[] = { 0x66, 0x98, 0x99 }; /* cwde; cwd */
    cr_assert_eq(arun(r, rc2, sizeof rc2), HR_DONE);
    cr_assert_eq(r->v->r[R_EAX], 0xffffff80);
    cr_assert_eq(r->v->r[R_EDX], 0x0000ffff);
    harness_free(r);
    harness_free(h);
}

/* ---------------- BCD ---------------- */

/* Run `code` with AX and the flags; return the result. */
static void bcd_run(struct harness *h, const uint8_t *code, size_t len, uint32_t ax, uint32_t fl)
{
    h->v->r[R_EAX] = 0xabcd0000u | ax;
    h->v->eflags = F_FIXED1 | fl;
    cr_assert_eq(arun(h, code, len), HR_DONE);
    cr_assert_eq(h->v->r[R_EAX] >> 16, 0xabcd, "upper EAX untouched");
}

static uint32_t to_bcd(uint32_t x) { return (x / 10) << 4 | x % 10; }

/* SDM examples (DAA/DAS/AAA/AAS/AAM/AAD pages) and hand-checked cases. */
Test(alu, bcd_known_answers)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t daa[] = { 0x27 }, das[] = { 0x2f }, aaa[] = { 0x37 }, aas[] = { 0x3f };
    static const uint8_t aam[] = { 0xd4, 0x0a }, aad[] = { 0xd5, 0x0a }, aam16[] = { 0xd4, 0x10 },
                         aad16[] = { 0xd5, 0x10 };
    /* 79 + 35 = 0xAE (AF=0 CF=0); DAA -> 0x14, CF=1 AF=1 PF=1 (decimal 114). */
    bcd_run(h, daa, 1, 0xae, 0);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x0014);
    cr_assert_eq(v->eflags & (ARITH & ~F_OF), F_CF | F_AF | F_PF);
    /* 0x2E (from 0x38 + ... with no carries): DAA -> 0x34, AF=1, CF=0. */
    bcd_run(h, daa, 1, 0x2e, 0);
    cr_assert_eq(v->r[R_EAX] & 0xff, 0x34);
    cr_assert_eq(v->eflags & (ARITH & ~F_OF), F_AF);
    /* 35 - 47 = 0xEE (AF=1 CF=1); DAS -> 0x88, CF=1 AF=1 SF=1 PF=1. */
    bcd_run(h, das, 1, 0xee, F_AF | F_CF);
    cr_assert_eq(v->r[R_EAX] & 0xff, 0x88);
    cr_assert_eq(v->eflags & (ARITH & ~F_OF), F_CF | F_AF | F_SF | F_PF);
    /* DAS with only the low-digit borrow: 0x03 with AF=1 -> 0xFD, CF=1 (borrow from AL-6). */
    bcd_run(h, das, 1, 0x03, F_AF);
    cr_assert_eq(v->r[R_EAX] & 0xff, 0xfd);
    cr_assert_eq(v->eflags & F_CF, F_CF);
    /* '8' + '9' = 0x71 with AF=1; AAA -> AX 0x0107, CF=AF=1. */
    bcd_run(h, aaa, 1, 0x0071, F_AF);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x0107);
    cr_assert_eq(v->eflags & (F_AF | F_CF), F_AF | F_CF);
    /* AAA with AL=0xFA (low digit > 9): AX + 0x106 carries into AH: 0x01FA -> 0x0300. */
    bcd_run(h, aaa, 1, 0x01fa, 0);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x0300);
    /* AAA with no adjustment clears AF/CF and the high nibble. */
    bcd_run(h, aaa, 1, 0x0535, F_CF);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x0505);
    cr_assert_eq(v->eflags & (F_AF | F_CF), 0);
    /* '3' - '9' = 0xFA with AF=CF=1; AAS -> AX 0xFF04, CF=AF=1. */
    bcd_run(h, aas, 1, 0x00fa, F_AF | F_CF);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0xff04);
    cr_assert_eq(v->eflags & (F_AF | F_CF), F_AF | F_CF);
    /* AAM: 63 -> AH=6 AL=3; base 16: 0x3F -> 0x030F. */
    bcd_run(h, aam, 2, 0x553f, 0);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x0603);
    cr_assert_eq(v->eflags & (F_SF | F_ZF | F_PF), F_PF);
    bcd_run(h, aam16, 2, 0x003f, 0);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x030f);
    bcd_run(h, aam, 2, 0x0014, 0); /* 20 -> 0x0200: AL=0 sets ZF and PF */
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x0200);
    cr_assert_eq(v->eflags & (F_SF | F_ZF | F_PF), F_ZF | F_PF);
    /* AAD: 0x0603 -> 63 = 0x3F, AH=0; base 16: 0x030F -> 0x3F; AL wraps: 0x1F09 -> (31*10+9)&0xff = 0x3F. */
    bcd_run(h, aad, 2, 0x0603, 0);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x003f);
    bcd_run(h, aad16, 2, 0x030f, 0);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x003f);
    bcd_run(h, aad, 2, 0x1f09, 0);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x003f);
    cr_assert_eq(v->eflags & (F_SF | F_ZF | F_PF), F_PF);
    bcd_run(h, aad, 2, 0x0a06, 0); /* 106 = 0x6A */
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x006a);
    cr_assert_eq(v->eflags & (F_SF | F_ZF | F_PF), F_PF);
    bcd_run(h, aad, 2, 0x0c08, 0); /* 128 = 0x80 */
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0x0080);
    cr_assert_eq(v->eflags & (F_SF | F_ZF | F_PF), F_SF);
    harness_free(h);
}

/* Decimal identities over every pair of operands: ADD+DAA and SUB+DAS on
 * packed BCD 00-99, ADD+AAA and SUB+AAS on unpacked digits 0-9. */
Test(alu, bcd_decimal_arithmetic)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t add_daa[] = { 0x00, 0xd8, 0x27 }; /* add al, bl; daa */
    static const uint8_t sub_das[] = { 0x28, 0xd8, 0x2f }; /* sub al, bl; das */
    for (uint32_t x = 0; x < 100; x++)
        for (uint32_t y = 0; y < 100; y++) {
            v->r[R_EBX] = to_bcd(y);
            bcd_run(h, add_daa, sizeof add_daa, to_bcd(x), 0);
            uint32_t sum = x + y;
            cr_assert_eq(v->r[R_EAX] & 0xff, to_bcd(sum % 100), "%u + %u", x, y);
            cr_assert_eq(!!(v->eflags & F_CF), sum >= 100, "%u + %u carry", x, y);
            cr_assert_eq(!!(v->eflags & F_ZF), sum % 100 == 0);
            bcd_run(h, sub_das, sizeof sub_das, to_bcd(x), 0);
            uint32_t diff = (x + 100 - y) % 100;
            cr_assert_eq(v->r[R_EAX] & 0xff, to_bcd(diff), "%u - %u", x, y);
            cr_assert_eq(!!(v->eflags & F_CF), x < y, "%u - %u borrow", x, y);
        }
    static const uint8_t add_aaa[] = { 0x00, 0xd8, 0x37 }; /* add al, bl; aaa */
    static const uint8_t sub_aas[] = { 0x28, 0xd8, 0x3f }; /* sub al, bl; aas */
    for (uint32_t x = 0; x < 10; x++)
        for (uint32_t y = 0; y < 10; y++)
            for (uint32_t ascii = 0; ascii <= 0x30; ascii += 0x30) {
                /* ASCII digits ('0'+x) work too: AAA clears the high nibble. */
                v->r[R_EBX] = y + ascii;
                bcd_run(h, add_aaa, sizeof add_aaa, 0x0500 | (x + ascii), 0);
                cr_assert_eq(v->r[R_EAX] & 0xffff, (0x05 + (x + y >= 10)) << 8 | (x + y) % 10, "%u + %u", x, y);
                cr_assert_eq(!!(v->eflags & F_CF), x + y >= 10);
                bcd_run(h, sub_aas, sizeof sub_aas, 0x0500 | (x + ascii), 0);
                cr_assert_eq(v->r[R_EAX] & 0xffff, (0x05 - (x < y)) << 8 | (x + 10 - y) % 10, "%u - %u", x, y);
                cr_assert_eq(!!(v->eflags & F_CF), x < y);
            }
    harness_free(h);
}

Test(alu, aam_zero_is_divide_error)
{
    struct harness *h = hnew(H_PROT32);
    static const uint8_t code[] = { 0x90, 0xd4, 0x00 }; /* nop; aam 0 */
    h->v->r[R_EAX] = 0x1234;
    enum harness_result r = arun(h, code, sizeof code);
    expect_exc(h, r, EXC_DE, -1, HARNESS_CODE + 1);
    cr_assert_eq(h->v->r[R_EAX], 0x1234);
    harness_free(h);
}

/* ---------------- CLC STC CMC CLD STD SALC ---------------- */

Test(alu, flag_instructions_and_salc)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t stc[] = { 0xf9 }, clc[] = { 0xf8 }, cmc[] = { 0xf5 }, std_[] = { 0xfd }, cld[] = { 0xfc },
                         salc[] = { 0xd6 };
    v->eflags = F_FIXED1 | F_ZF | F_SF;
    cr_assert_eq(arun(h, stc, 1), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | F_ZF | F_SF | F_CF);
    v->r[R_EAX] = 0x12345600;
    cr_assert_eq(arun(h, salc, 1), HR_DONE);
    cr_assert_eq(v->r[R_EAX], 0x123456ff);
    cr_assert_eq(arun(h, cmc, 1), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | F_ZF | F_SF);
    cr_assert_eq(arun(h, salc, 1), HR_DONE);
    cr_assert_eq(v->r[R_EAX], 0x12345600);
    cr_assert_eq(arun(h, cmc, 1), HR_DONE);
    cr_assert_eq(arun(h, clc, 1), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | F_ZF | F_SF);
    cr_assert_eq(arun(h, std_, 1), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | F_ZF | F_SF | F_DF);
    cr_assert_eq(arun(h, cld, 1), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | F_ZF | F_SF);
    harness_free(h);
}

/* ---------------- memory slow paths ---------------- */

/* RMW operands that straddle a page boundary take the slow path for the read
 * and the write. */
Test(alu, rmw_page_crossing)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x01, 0x0d, 0xfe, 0x0f, 0x02, 0x00,       /* add [0x20ffe], ecx */
        0x66, 0xd1, 0x25, 0xff, 0x1f, 0x02, 0x00, /* shl word [0x21fff], 1 */
        0x0f, 0xab, 0x15, 0xfe, 0x2f, 0x02, 0x00, /* bts [0x22ffe], edx */
    };
    harness_write32(h, 0x20ffc, 0xffff1234);
    harness_write32(h, 0x21000, 0x00000001);
    harness_write32(h, 0x21ffc, 0x80000000);
    harness_write32(h, 0x22000, 0x00000001);
    harness_write32(h, 0x22ffc, 0);
    harness_write32(h, 0x23000, 0);
    v->r[R_ECX] = 0x21; /* 0x0001ffff + 0x21 = 0x00020020 */
    v->r[R_EDX] = 17;   /* bit 17 of the dword at 0x22ffe: 0x23000 bit 1 */
    cr_assert_eq(arun(h, code, sizeof code), HR_DONE);
    cr_assert_eq(harness_read32(h, 0x20ffc), 0x00201234);
    cr_assert_eq(harness_read32(h, 0x21000), 0x00000002);
    cr_assert_eq(harness_read32(h, 0x21ffc), 0x00000000); /* word 0x0180 -> 0x0300 */
    cr_assert_eq(harness_read32(h, 0x22000), 0x00000003);
    cr_assert_eq(harness_read32(h, 0x22ffc), 0);
    cr_assert_eq(harness_read32(h, 0x23000), 0x00000002);
    cr_assert_eq(v->eflags & F_CF, 0, "the bit was clear");
    harness_free(h);
}

/* A RMW into the page of the running code changes the next instruction, which
 * then runs modified (the write drops the decoded block). Uses harness_run
 * directly: the guest changed the code bytes, so arun's reuse does not apply. */
Test(alu, rmw_self_modifying_code)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x80, 0x05, 0x08, 0x00, 0x01, 0x00, 0x01, /* add byte [0x10008], 1 */
        0xb0, 0x05,                               /* mov al, 5 (its imm is at 0x10008) */
    };
    v->r[R_EAX] = 0;
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->r[R_EAX], 6);
    harness_free(h);
}
