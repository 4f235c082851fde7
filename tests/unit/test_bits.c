/* Tests for the bit-instruction family (cpu/exec_bits.c): BT/BTS/BTR/BTC
 * (register, immediate and signed memory bit offsets, checked against a
 * bit-string model), BSF/BSR, SHLD/SHRD, SETcc and CMOVcc over every flag
 * combination, BSWAP, LAHF/SAHF. Results and flags are compared with the host
 * running the same instruction (undefined flags masked). */
#include <stdio.h>

#include "alu_test_util.h"

#define DATA HARNESS_DATA

static size_t put_le(uint8_t *c, uint32_t x, unsigned size)
{
    for (unsigned i = 0; i < size; i++) c[i] = (uint8_t)(x >> (8 * i));
    return size;
}

/* ModRM mod=00 rm=101 disp32 (protected mode). */
static size_t put_mem(uint8_t *c, int reg, uint32_t addr)
{
    c[0] = (uint8_t)(0x05 | reg << 3);
    return 1 + put_le(c + 1, addr, 4);
}

/* ---------------- BT BTS BTR BTC ---------------- */

static const char *const BT_NAME[] = { "bt", "bts", "btr", "btc" };
static const uint8_t BT_RR_OPC[] = { 0xa3, 0xab, 0xb3, 0xbb }; /* 0F xx /r: r/m, reg */

/* Register destination: EDX/DX; offset in ECX/CX or an imm8. */
static void bt_reg_case(struct harness *h, int op, unsigned size, bool imm, uint32_t val, uint32_t off, uint32_t fin)
{
    struct vcpu *v = h->v;
    uint32_t m = size_mask(size), bits = size * 8;
    uint8_t code[16];
    size_t n = 0;
    if (size == 2) code[n++] = 0x66;
    code[n++] = 0x0f;
    if (imm) {
        code[n++] = 0xba;
        code[n++] = (uint8_t)(0xc0 | (4 + op) << 3 | R_EDX);
        code[n++] = (uint8_t)off;
        off &= 0xff;
    } else {
        code[n++] = BT_RR_OPC[op];
        code[n++] = (uint8_t)(0xc0 | R_ECX << 3 | R_EDX);
    }
    uint32_t edx = (0xa5a50000u & ~m) | (val & m);
    v->r[R_EDX] = edx;
    v->r[R_ECX] = off;
    v->eflags = F_FIXED1 | (fin & ARITH);
    uint32_t before = v->eflags;
    uint32_t bit = off & (bits - 1), cf = (val >> bit) & 1, want = val & m;
    if (op == 1) want |= 1u << bit;
    if (op == 2) want &= ~(1u << bit);
    if (op == 3) want ^= 1u << bit;
    char ctx[96];
    snprintf(ctx, sizeof ctx, "%s%u %s val=%#x off=%#x", BT_NAME[op], bits, imm ? "imm" : "reg", val & m, off);
    cr_assert_eq(arun(h, code, n), HR_DONE, "%s", ctx);
    cr_assert_eq(v->r[R_EDX], (edx & ~m) | want, "edx %#x: %s", v->r[R_EDX], ctx);
    cr_assert_eq(v->r[R_ECX], off, "%s", ctx);
    /* CF = the bit; ZF unchanged; OF SF AF PF undefined. */
    check_flags(v, before, (before & ~F_CF) | cf, F_CF | F_ZF, ctx);
}

Test(bits, bt_register_forms)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = 0x7001;
    for (int op = 0; op < 4; op++)
        for (unsigned size = 2; size <= 4; size *= 2)
            for (int imm = 0; imm < 2; imm++) {
                for (uint32_t off = 0; off < 40; off++)
                    bt_reg_case(h, op, size, imm, rnd(&s), off, off & 1 ? ARITH : 0);
                for (int k = 0; k < 100; k++) bt_reg_case(h, op, size, imm, rnd(&s), rnd(&s), rnd(&s));
            }
    harness_free(h);
}

/* Memory operand: a bit string at BASE addressed by [EBX+disp8] (so the base
 * register path of opnd_ea is used), checked byte for byte against a model. */
#define BASE (DATA + 0x2000)
#define WIN 0x3000u /* model window: [BASE - WIN/2, BASE + WIN/2) */

static void bt_mem_case(struct harness *h, int op, unsigned size, bool imm, int32_t off, uint32_t *s)
{
    struct vcpu *v = h->v;
    static uint8_t model[WIN], got[WIN];
    uint32_t lo = BASE - WIN / 2;
    for (unsigned i = 0; i < WIN; i += 4) {
        uint32_t x = rnd(s);
        memcpy(model + i, &x, 4);
    }
    harness_poke(h, lo, model, WIN);
    uint8_t code[16];
    size_t n = 0;
    if (size == 2) code[n++] = 0x66;
    code[n++] = 0x0f;
    /* [ebx + 0x10]: the operand itself is at BASE */
    if (imm) {
        code[n++] = 0xba;
        code[n++] = (uint8_t)(0x40 | (4 + op) << 3 | R_EBX);
        code[n++] = 0x10;
        code[n++] = (uint8_t)off;
    } else {
        code[n++] = BT_RR_OPC[op];
        code[n++] = (uint8_t)(0x40 | R_ECX << 3 | R_EBX);
        code[n++] = 0x10;
    }
    v->r[R_EBX] = BASE - 0x10;
    v->r[R_ECX] = size == 2 ? 0x5a5a0000u | ((uint32_t)off & 0xffff) : (uint32_t)off;
    uint32_t fin = rnd(s) & ARITH;
    v->eflags = F_FIXED1 | fin;
    uint32_t before = v->eflags;
    /* The model: an immediate offset is taken modulo the width; a register
     * offset is a signed bit index from BASE (16-bit: the low word, signed). */
    int32_t bitpos = imm ? (int32_t)((uint32_t)off & 0xff & (size * 8 - 1)) : off;
    uint32_t byte = (uint32_t)(WIN / 2 + (bitpos >> 3)), bit = (uint32_t)bitpos & 7;
    cr_assert_lt(byte, WIN);
    uint32_t cf = (model[byte] >> bit) & 1;
    if (op == 1) model[byte] |= (uint8_t)(1u << bit);
    if (op == 2) model[byte] &= (uint8_t)~(1u << bit);
    if (op == 3) model[byte] ^= (uint8_t)(1u << bit);
    char ctx[96];
    snprintf(ctx, sizeof ctx, "%s%u m,%s off=%d", BT_NAME[op], size * 8, imm ? "imm" : "reg", off);
    cr_assert_eq(arun(h, code, n), HR_DONE, "%s", ctx);
    harness_peek(h, lo, got, WIN);
    for (unsigned i = 0; i < WIN; i++)
        cr_assert_eq(got[i], model[i], "byte BASE%+d = %#x, want %#x: %s", (int)i - (int)(WIN / 2), got[i],
                     model[i], ctx);
    check_flags(v, before, (before & ~F_CF) | cf, F_CF | F_ZF, ctx);
}

Test(bits, bt_memory_bit_string)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = 0x7002;
    for (int op = 0; op < 4; op++)
        for (unsigned size = 2; size <= 4; size *= 2) {
            /* Register offsets reach outside the operand, both directions. */
            static const int32_t offs[] = { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 100, 1000, 32767,
                                            -1, -2, -8, -15, -16, -17, -31, -32, -33, -100, -1000, -32768 };
            for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) bt_mem_case(h, op, size, false, offs[i], &s);
            for (int k = 0; k < 60; k++) bt_mem_case(h, op, size, false, (int32_t)(rnd(&s) % 20000) - 10000, &s);
            /* Immediate offsets stay within the operand (taken modulo the width). */
            for (int32_t off = 0; off < 256; off += 5) bt_mem_case(h, op, size, true, off, &s);
        }
    harness_free(h);
}

/* 16-bit addressing wraps the adjusted offset within the segment. */
Test(bits, bt_memory_real_mode_wrap)
{
    struct harness *h = hnew(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x0f, 0xab, 0x0f }; /* bts [bx], cx */
    uint8_t z[4] = { 0 };
    harness_poke(h, 0xfffc, z, 4);
    harness_poke(h, 0x0000, z, 4);
    v->r[R_EBX] = 0x0002;
    v->r[R_ECX] = 0xffd3; /* -45 = -3 * 16 + 3: word at bx + 2 * -3 = -4 -> 0xfffc, bit 3 */
    v->eflags = F_FIXED1;
    cr_assert_eq(arun(h, code, sizeof code), HR_DONE);
    cr_assert_eq(peek16(h, 0xfffc), 0x0008);
    cr_assert_eq(peek16(h, 0xfffe), 0);
    cr_assert_eq(harness_read32(h, 0), 0);
    cr_assert_eq(v->eflags & F_CF, 0);
    cr_assert_eq(arun(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->eflags & F_CF, F_CF, "the bit is now set");
    harness_free(h);
}

/* ---------------- BSF BSR ---------------- */

static void bsx_case(struct harness *h, int rev, unsigned size, bool mem, uint32_t src, uint32_t fin, uint32_t junk)
{
    struct vcpu *v = h->v;
    uint32_t m = size_mask(size);
    uint8_t code[16];
    size_t n = 0;
    if (size == 2) code[n++] = 0x66;
    code[n++] = 0x0f;
    code[n++] = rev ? 0xbd : 0xbc;
    if (mem) n += put_mem(code + n, R_ECX, DATA);
    else code[n++] = (uint8_t)(0xc0 | R_ECX << 3 | R_EBX);
    uint32_t s32 = (~junk & ~m) | (src & m);
    v->r[R_ECX] = junk;
    v->r[R_EBX] = s32;
    harness_write32(h, DATA, s32);
    v->eflags = F_FIXED1 | (fin & ARITH);
    uint32_t before = v->eflags;
    uint64_t f = orc_flags(fin);
    uint32_t a = junk, b = s32;
    if (rev) {
        if (size == 2) ORC2("bsr", "w");
        else ORC2("bsr", "k");
    } else {
        if (size == 2) ORC2("bsf", "w");
        else ORC2("bsf", "k");
    }
    /* The destination keeps its value for a zero source (AMD documents it; Intel does it). */
    if ((src & m) == 0) cr_assert_eq(a, junk, "host changed the destination");
    char ctx[80];
    snprintf(ctx, sizeof ctx, "%s%u %s src=%#x", rev ? "bsr" : "bsf", size * 8, mem ? "m" : "r", src & m);
    cr_assert_eq(arun(h, code, n), HR_DONE, "%s", ctx);
    cr_assert_eq(v->r[R_ECX], a, "ecx %#x want %#x: %s", v->r[R_ECX], a, ctx);
    check_flags(v, before, (uint32_t)f, F_ZF, ctx);
}

Test(bits, bsf_bsr)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = 0x7003;
    for (int rev = 0; rev < 2; rev++)
        for (unsigned size = 2; size <= 4; size *= 2)
            for (int mem = 0; mem < 2; mem++) {
                for (unsigned i = 0; i < NEDGES; i++) bsx_case(h, rev, size, mem, EDGES[i], rnd(&s), rnd(&s));
                for (int b = 0; b < 32; b++) bsx_case(h, rev, size, mem, 1u << b, rnd(&s), rnd(&s));
                for (int k = 0; k < 100; k++) bsx_case(h, rev, size, mem, rnd(&s) >> (rnd(&s) & 31), rnd(&s), rnd(&s));
            }
    harness_free(h);
}

/* ---------------- SHLD SHRD ---------------- */

static void shxd_case(struct harness *h, int right, unsigned size, bool cl, bool mem, uint32_t a, uint32_t b,
                      uint32_t count, uint32_t fin, uint32_t junk)
{
    struct vcpu *v = h->v;
    uint32_t m = size_mask(size);
    count &= 0xff;
    uint8_t code[16];
    size_t n = 0;
    if (size == 2) code[n++] = 0x66;
    code[n++] = 0x0f;
    code[n++] = (uint8_t)((right ? 0xac : 0xa4) + cl);
    if (mem) n += put_mem(code + n, R_EBX, DATA);
    else code[n++] = (uint8_t)(0xc0 | R_EBX << 3 | R_EDX);
    if (!cl) code[n++] = (uint8_t)count;
    uint32_t dst = (junk & ~m) | (a & m), src = (~junk & ~m) | (b & m);
    v->r[R_EDX] = dst;
    v->r[R_EBX] = src;
    v->r[R_ECX] = (junk & ~0xffu) | count;
    harness_write32(h, DATA, dst);
    v->eflags = F_FIXED1 | (fin & ARITH);
    uint32_t before = v->eflags;
    uint64_t f = orc_flags(fin);
    uint32_t r = dst, c = count;
    if (right) {
        if (size == 2)
            __asm__ volatile(ORC_PRE "shrdw %%cl, %w[b], %w[a]" ORC_POST : [a] "+r"(r), [f] "+r"(f)
                             : [b] "r"(src), "c"(c) : "cc", "memory");
        else
            __asm__ volatile(ORC_PRE "shrdl %%cl, %k[b], %k[a]" ORC_POST : [a] "+r"(r), [f] "+r"(f)
                             : [b] "r"(src), "c"(c) : "cc", "memory");
    } else {
        if (size == 2)
            __asm__ volatile(ORC_PRE "shldw %%cl, %w[b], %w[a]" ORC_POST : [a] "+r"(r), [f] "+r"(f)
                             : [b] "r"(src), "c"(c) : "cc", "memory");
        else
            __asm__ volatile(ORC_PRE "shldl %%cl, %k[b], %k[a]" ORC_POST : [a] "+r"(r), [f] "+r"(f)
                             : [b] "r"(src), "c"(c) : "cc", "memory");
    }
    char ctx[112];
    snprintf(ctx, sizeof ctx, "%s%u %s,%s a=%#x b=%#x count=%u", right ? "shrd" : "shld", size * 8, mem ? "m" : "r",
             cl ? "cl" : "imm", a & m, b & m, count);
    cr_assert_eq(arun(h, code, n), HR_DONE, "%s", ctx);
    /* A 16-bit count above 16 leaves result and flags undefined: the result
     * must still be the host's (the brief: per host), flags are not compared. */
    if (mem) cr_assert_eq(harness_read32(h, DATA), r, "mem %#x want %#x: %s", harness_read32(h, DATA), r, ctx);
    else cr_assert_eq(v->r[R_EDX], r, "edx %#x want %#x: %s", v->r[R_EDX], r, ctx);
    cr_assert_eq(v->r[R_EBX], src, "%s", ctx);
    uint32_t c5 = count & 31, mask = ARITH;
    if (c5) {
        mask &= ~F_AF;
        if (c5 != 1) mask &= ~F_OF;
        if (c5 > size * 8) mask = 0;
    }
    check_flags(v, before, (uint32_t)f, mask, ctx);
}

Test(bits, shld_shrd)
{
    struct harness *h = hnew(H_PROT32);
    uint32_t s = 0x7004;
    for (int right = 0; right < 2; right++)
        for (unsigned size = 2; size <= 4; size *= 2)
            for (int mem = 0; mem < 2; mem++)
                for (int cl = 0; cl < 2; cl++) {
                    for (uint32_t c = 0; c < 40; c++)
                        shxd_case(h, right, size, cl, mem, rnd(&s), rnd(&s), c + (c >= 34 ? 200 : 0), rnd(&s), rnd(&s));
                    for (unsigned i = 0; i < NEDGES; i++)
                        shxd_case(h, right, size, cl, mem, EDGES[i], EDGES[NEDGES - 1 - i], rnd(&s) % 33, rnd(&s),
                                  rnd(&s));
                }
    harness_free(h);
}

/* ---------------- SETcc CMOVcc ---------------- */

/* Host SETcc / CMOVcc for condition cc. */
#define CC_CASE(n, sfx)                                                                                      \
    case n:                                                                                                  \
        __asm__ volatile(ORC_PRE "set" sfx " %b[r]\n\tcmov" sfx " %k[b], %k[a]" ORC_POST                    \
                         : [r] "=&r"(r), [a] "+r"(a), [f] "+r"(f) : [b] "r"(b) : "cc", "memory");            \
        break;
static void host_cc(unsigned cc, uint32_t gf, uint32_t *set, uint32_t *cmov_a, uint32_t b)
{
    uint64_t f = orc_flags(gf);
    uint32_t r = 0, a = *cmov_a;
    switch (cc) {
        CC_CASE(0, "o") CC_CASE(1, "no") CC_CASE(2, "b") CC_CASE(3, "ae") CC_CASE(4, "e") CC_CASE(5, "ne")
        CC_CASE(6, "be") CC_CASE(7, "a") CC_CASE(8, "s") CC_CASE(9, "ns") CC_CASE(10, "p") CC_CASE(11, "np")
        CC_CASE(12, "l") CC_CASE(13, "ge") CC_CASE(14, "le") default: CC_CASE(15, "g")
    }
    *set = r & 0xff;
    *cmov_a = a;
}

Test(bits, setcc_all_conditions_and_flags)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint32_t fbits[] = { F_CF, F_PF, F_AF, F_ZF, F_SF, F_OF };
    for (unsigned cc = 0; cc < 16; cc++)
        for (unsigned combo = 0; combo < 64; combo++) {
            uint32_t fl = 0;
            for (int i = 0; i < 6; i++)
                if (combo >> i & 1) fl |= fbits[i];
            uint32_t want, dummy = 0;
            host_cc(cc, fl, &want, &dummy, 0);
            /* setcc dh; setcc cl; setcc [DATA] */
            uint8_t code[] = { 0x0f, (uint8_t)(0x90 + cc), 0xc6, 0x0f, (uint8_t)(0x90 + cc), 0xc1,
                               0x0f, (uint8_t)(0x90 + cc), 0x05, 0x00, 0x00, 0x02, 0x00 };
            v->r[R_EDX] = 0x11223344;
            v->r[R_ECX] = 0x55667788;
            harness_write32(h, DATA, 0xaabbccdd);
            v->eflags = F_FIXED1 | fl;
            cr_assert_eq(arun(h, code, sizeof code), HR_DONE);
            cr_assert_eq(v->r[R_EDX], 0x11220044 | want << 8, "cc %u flags %#x", cc, fl);
            cr_assert_eq(v->r[R_ECX], 0x55667700 | want, "cc %u flags %#x", cc, fl);
            cr_assert_eq(harness_read32(h, DATA), 0xaabbcc00 | want, "cc %u flags %#x", cc, fl);
            cr_assert_eq(v->eflags, F_FIXED1 | fl, "SETcc changes no flags");
        }
    harness_free(h);
}

Test(bits, cmovcc_all_conditions)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint32_t fbits[] = { F_CF, F_PF, F_ZF, F_SF, F_OF };
    for (unsigned cc = 0; cc < 16; cc++)
        for (unsigned combo = 0; combo < 32; combo++)
            for (unsigned size = 2; size <= 4; size *= 2)
                for (int mem = 0; mem < 2; mem++) {
                    uint32_t fl = 0;
                    for (int i = 0; i < 5; i++)
                        if (combo >> i & 1) fl |= fbits[i];
                    uint32_t set, a = 0x12345678, b = 0x9abcdef0;
                    host_cc(cc, fl, &set, &a, b);
                    uint32_t m = size_mask(size);
                    uint32_t want = set ? (0x12345678 & ~m) | (b & m) : 0x12345678;
                    uint8_t code[16];
                    size_t n = 0;
                    if (size == 2) code[n++] = 0x66;
                    code[n++] = 0x0f;
                    code[n++] = (uint8_t)(0x40 + cc);
                    if (mem) n += put_mem(code + n, R_ECX, DATA);
                    else code[n++] = (uint8_t)(0xc0 | R_ECX << 3 | R_EBX);
                    v->r[R_ECX] = 0x12345678;
                    v->r[R_EBX] = b;
                    harness_write32(h, DATA, b);
                    v->eflags = F_FIXED1 | fl;
                    cr_assert_eq(arun(h, code, n), HR_DONE);
                    cr_assert_eq(v->r[R_ECX], want, "cmov%u cc %u flags %#x %s: %#x want %#x", size * 8, cc, fl,
                                 mem ? "m" : "r", v->r[R_ECX], want);
                    if (size == 4) cr_assert_eq(v->r[R_ECX], a, "host agrees");
                    cr_assert_eq(v->eflags, F_FIXED1 | fl);
                }
    harness_free(h);
}

/* CMOV reads its memory source even when the condition is false: a segment
 * limit violation faults (#GP(0)) at the CMOV, and the destination is kept. */
Test(bits, cmov_false_condition_still_faults)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    v->seg[S_ES].limit = 0xfff;
    seg_cache_refresh(&v->seg[S_ES], true);
    static const uint8_t code[] = { 0x90, 0x26, 0x0f, 0x44, 0x0d, 0x00, 0x00, 0x02, 0x00 }; /* nop; cmove ecx, es:[DATA] */
    v->r[R_ECX] = 0x1111;
    v->eflags = F_FIXED1; /* ZF=0: condition false */
    enum harness_result r = arun(h, code, sizeof code);
    expect_exc(h, r, EXC_GP, 0, HARNESS_CODE + 1);
    cr_assert_eq(v->r[R_ECX], 0x1111);
    harness_free(h);
}

/* ---------------- BSWAP LAHF SAHF ---------------- */

Test(bits, bswap)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    uint32_t s = 0x7005;
    for (int k = 0; k < 50; k++) {
        uint32_t x = rnd(&s), y = rnd(&s);
        static const uint8_t code[] = { 0x0f, 0xc8, 0x0f, 0xcf, 0x66, 0x0f, 0xcb }; /* bswap eax; bswap edi; bswap bx */
        v->r[R_EAX] = x;
        v->r[R_EDI] = y;
        v->r[R_EBX] = y;
        v->eflags = F_FIXED1 | (x & ARITH);
        cr_assert_eq(arun(h, code, sizeof code), HR_DONE);
        cr_assert_eq(v->r[R_EAX], (x >> 24) | (x >> 8 & 0xff00) | (x << 8 & 0xff0000) | x << 24);
        cr_assert_eq(v->r[R_EDI], __builtin_bswap32(y));
        /* The 16-bit form is undefined in the SDM; the host clears the word. */
        uint32_t hb = y;
        __asm__(".byte 0x66, 0x0f, 0xc8" : "+a"(hb));
        cr_assert_eq(v->r[R_EBX], hb, "bswap bx %#x -> %#x, host %#x", y, v->r[R_EBX], hb);
        cr_assert_eq(v->eflags, F_FIXED1 | (x & ARITH));
    }
    harness_free(h);
}

Test(bits, lahf_sahf)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t sahf[] = { 0x9e }, lahf[] = { 0x9f };
    for (uint32_t ah = 0; ah < 256; ah++) {
        for (uint32_t of = 0; of <= F_OF; of += F_OF) {
            v->r[R_EAX] = 0x12340078 | ah << 8;
            v->eflags = F_FIXED1 | of | (~ah & 0xd5) | F_DF;
            cr_assert_eq(arun(h, sahf, 1), HR_DONE);
            cr_assert_eq(v->eflags, F_FIXED1 | of | (ah & 0xd5) | F_DF, "sahf ah=%#x", ah);
            v->r[R_EAX] = 0x12345678;
            cr_assert_eq(arun(h, lahf, 1), HR_DONE);
            cr_assert_eq(v->r[R_EAX], 0x12340078 | ((ah & 0xd5) | 2) << 8, "lahf after ah=%#x", ah);
            cr_assert_eq(v->eflags, F_FIXED1 | of | (ah & 0xd5) | F_DF);
        }
    }
    harness_free(h);
}
