/* A tiny x86-64 emitter: bytes into a buffer, and one general encoder for
 * "opcode + ModRM" instructions with a register or [base + index*scale + disp]
 * operand. Everything the translator emits goes through these primitives. */
#ifndef BT86_TRANSLATOR_EMIT_H
#define BT86_TRANSLATOR_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct emit {
    uint8_t *p, *end;
    bool overflow; /* ran past end: the caller discards the output */
};

/* Host register numbers. */
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

static inline void eb(struct emit *e, uint8_t b)
{
    if (e->p < e->end) *e->p++ = b;
    else e->overflow = true;
}
/* n bytes at once: one bound check and one copy (byte by byte, every
 * store through e->p makes the compiler reload e->p and e->end: a byte
 * store may alias them). */
static inline void emit_bytes(struct emit *e, const void *b, size_t n)
{
    if ((size_t)(e->end - e->p) >= n) {
        memcpy(e->p, b, n);
        e->p += n;
        return;
    }
    for (size_t i = 0; i < n; i++) eb(e, ((const uint8_t *)b)[i]);
}
/* (little-endian host) */
static inline void e16(struct emit *e, uint16_t x) { emit_bytes(e, &x, 2); }
static inline void e32(struct emit *e, uint32_t x) { emit_bytes(e, &x, 4); }
static inline void e64(struct emit *e, uint64_t x) { emit_bytes(e, &x, 8); }

/* An r/m operand: a register, or memory [base + index << scale + disp]
 * (base -1: no base; index -1: none). */
struct rm {
    bool mem;
    int reg;
    int base, index, scale;
    int32_t disp;
};
static inline struct rm rm_reg(int r) { return (struct rm){ .mem = false, .reg = r, .base = -1, .index = -1 }; }
static inline struct rm rm_mem(int base, int32_t disp)
{
    return (struct rm){ .mem = true, .reg = -1, .base = base, .index = -1, .disp = disp };
}
static inline struct rm rm_sib(int base, int index, int scale, int32_t disp)
{
    return (struct rm){ .mem = true, .reg = -1, .base = base, .index = index, .scale = scale, .disp = disp };
}

/* Does encoding this operand/reg field need a REX prefix bit? */
static inline bool rm_needs_rex(struct rm m)
{
    return m.mem ? (m.base >= 8 || m.index >= 8) : m.reg >= 8;
}

/* Emit [66] [REX] opcode ModRM [SIB] [disp]. size: 1, 2, 4 or 8 (operand size:
 * 2 adds 66, 8 sets REX.W). byte_hi: with size 1, register numbers 4-7 mean
 * AH..BH, so no REX may be emitted (the caller checks rm_needs_rex first). */
static inline void emit_op(struct emit *e, int size, const uint8_t *opc, int nopc, int regf, struct rm m)
{
    uint8_t b[16]; /* (at most 66, 2 mandatory prefixes, REX, 3 opcode bytes, ModRM, SIB, disp32) */
    int n = 0;
    if (size == 2) b[n++] = 0x66;
    unsigned rex = 0;
    if (size == 8) rex |= 8;
    if (regf >= 8) rex |= 4;
    if (m.mem) {
        if (m.index >= 8) rex |= 2;
        if (m.base >= 8) rex |= 1;
    } else if (m.reg >= 8) {
        rex |= 1;
    }
    /* Mandatory prefixes (F2/F3) must come before REX: they are part of opc. */
    int i = 0;
    while (i < nopc - 1 && i < 2 && (opc[i] == 0xf2 || opc[i] == 0xf3)) b[n++] = opc[i++];
    if (rex) b[n++] = (uint8_t)(0x40 | rex);
    for (int k = 0; i < nopc && k < 3; i++, k++) b[n++] = opc[i];
    uint8_t r = (uint8_t)((regf & 7) << 3);
    if (!m.mem) {
        b[n++] = (uint8_t)(0xc0 | r | (m.reg & 7));
        emit_bytes(e, b, (size_t)n);
        return;
    }
    int32_t disp = m.disp;
    if (m.base < 0) {
        /* No base: SIB with base 101, mod 00: disp32. */
        b[n++] = (uint8_t)(0x04 | r);
        b[n++] = (uint8_t)((m.scale << 6) | ((m.index < 0 ? 4 : m.index) & 7) << 3 | 5);
        memcpy(b + n, &disp, 4);
        emit_bytes(e, b, (size_t)n + 4);
        return;
    }
    int mod;
    if (disp == 0 && (m.base & 7) != 5) mod = 0;
    else if (disp >= -128 && disp <= 127) mod = 1;
    else mod = 2;
    if (m.index < 0 && (m.base & 7) != 4) {
        b[n++] = (uint8_t)((mod << 6) | r | (m.base & 7));
    } else {
        b[n++] = (uint8_t)((mod << 6) | r | 4);
        b[n++] = (uint8_t)((m.scale << 6) | ((m.index < 0 ? 4 : m.index) & 7) << 3 | (m.base & 7));
    }
    if (mod == 1) b[n++] = (uint8_t)disp;
    else if (mod == 2) {
        memcpy(b + n, &disp, 4);
        n += 4;
    }
    emit_bytes(e, b, (size_t)n);
}

static inline void emit_op1(struct emit *e, int size, uint8_t opc, int regf, struct rm m)
{
    emit_op(e, size, &opc, 1, regf, m);
}
static inline void emit_op2(struct emit *e, int size, uint8_t o1, uint8_t o2, int regf, struct rm m)
{
    uint8_t o[2] = { o1, o2 };
    emit_op(e, size, o, 2, regf, m);
}

/* Common instructions. */
static inline void mov_r_rm(struct emit *e, int size, int r, struct rm m) { emit_op1(e, size, size == 1 ? 0x8a : 0x8b, r, m); }
static inline void mov_rm_r(struct emit *e, int size, struct rm m, int r) { emit_op1(e, size, size == 1 ? 0x88 : 0x89, r, m); }
static inline void lea(struct emit *e, int size, int r, struct rm m) { emit_op1(e, size, 0x8d, r, m); }
/* mov r32, imm32 (zero-extends into the 64-bit register). */
static inline void mov_r32_imm(struct emit *e, int r, uint32_t imm)
{
    if (r >= 8) eb(e, 0x41);
    eb(e, (uint8_t)(0xb8 + (r & 7)));
    e32(e, imm);
}
static inline void mov_r64_imm(struct emit *e, int r, uint64_t imm)
{
    uint8_t b[10] = { (uint8_t)(0x48 | (r >= 8 ? 1 : 0)), (uint8_t)(0xb8 + (r & 7)) };
    memcpy(b + 2, &imm, 8);
    emit_bytes(e, b, 10);
}
/* mov dword/qword [m], imm32 (qword: sign-extended). */
static inline void mov_m_imm32(struct emit *e, int size, struct rm m, uint32_t imm)
{
    emit_op1(e, size, 0xc7, 0, m);
    e32(e, imm);
}
static inline void push_r(struct emit *e, int r) { if (r >= 8) eb(e, 0x41); eb(e, (uint8_t)(0x50 + (r & 7))); }
static inline void pop_r(struct emit *e, int r) { if (r >= 8) eb(e, 0x41); eb(e, (uint8_t)(0x58 + (r & 7))); }
/* BSWAP r32/r64: flag-free. */
static inline void bswap_r(struct emit *e, int size, int r)
{
    if (size == 8 || r >= 8) eb(e, (uint8_t)(0x40 | (size == 8 ? 8 : 0) | (r >= 8 ? 1 : 0)));
    eb(e, 0x0f);
    eb(e, (uint8_t)(0xc8 | (r & 7)));
}
/* A BMI2 instruction reg, rm (registers), with the three-byte VEX prefix:
 * map 2 (0F38) or 3 (0F3A), pp 2 (F3) or 3 (F2), vvvv the third register
 * (0 where there is none: VEX stores it inverted, 1111), W for 64-bit
 * operands. */
static inline void vex3_rr(struct emit *e, int map, int pp, int size, int vvvv, uint8_t opc, int reg, int rm)
{
    eb(e, 0xc4);
    eb(e, (uint8_t)((reg < 8 ? 0x80 : 0) | 0x40 | (rm < 8 ? 0x20 : 0) | map));
    eb(e, (uint8_t)((size == 8 ? 0x80 : 0) | ((~vvvv & 15) << 3) | pp));
    eb(e, opc);
    eb(e, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}
/* RORX dst, src, imm8 (VEX.LZ.F2.0F3A F0) and SARX dst, src, cnt
 * (VEX.LZ.F3.0F38 F7: dst = src >> cnt, arithmetic): RFLAGS untouched. */
static inline void rorx(struct emit *e, int size, int dst, int src, uint8_t imm)
{
    vex3_rr(e, 3, 3, size, 0, 0xf0, dst, src);
    eb(e, imm);
}
static inline void sarx(struct emit *e, int size, int dst, int src, int cnt) { vex3_rr(e, 2, 2, size, cnt, 0xf7, dst, src); }
static inline void pushfq(struct emit *e) { eb(e, 0x9c); }
static inline void popfq(struct emit *e) { eb(e, 0x9d); }
static inline void ret(struct emit *e) { eb(e, 0xc3); }
/* call/jmp to an absolute address through rax-free r11... callers pick. */
static inline void call_r(struct emit *e, int r) { if (r >= 8) eb(e, 0x41); eb(e, 0xff); eb(e, (uint8_t)(0xd0 | (r & 7))); }
static inline void jmp_r(struct emit *e, int r) { if (r >= 8) eb(e, 0x41); eb(e, 0xff); eb(e, (uint8_t)(0xe0 | (r & 7))); }

/* rel32 branches: return the address of the rel32 field for patching. */
static inline uint8_t *jmp_rel32(struct emit *e)
{
    eb(e, 0xe9);
    uint8_t *at = e->p;
    e32(e, 0);
    return at;
}
static inline uint8_t *call_rel32(struct emit *e)
{
    eb(e, 0xe8);
    uint8_t *at = e->p;
    e32(e, 0);
    return at;
}
static inline uint8_t *jcc_rel32(struct emit *e, int cc)
{
    eb(e, 0x0f);
    eb(e, (uint8_t)(0x80 | cc));
    uint8_t *at = e->p;
    e32(e, 0);
    return at;
}
/* Point a rel32 field at target (no-op if the field was not emitted). */
static inline void patch_rel32(struct emit *e, uint8_t *at, const uint8_t *target)
{
    if (!at || at + 4 > e->end) return;
    int32_t rel = (int32_t)(target - (at + 4));
    memcpy(at, &rel, 4);
}
/* JRCXZ rel8: returns the address of the rel8 field (patch_rel8). */
static inline uint8_t *jrcxz_rel8(struct emit *e)
{
    eb(e, 0xe3);
    eb(e, 0);
    return e->p - 1;
}
/* Point a rel8 field at the current position (callers keep it in reach). */
static inline void patch_rel8(struct emit *e, uint8_t *at)
{
    if (!at || at >= e->end) return;
    *at = (uint8_t)(int8_t)(e->p - (at + 1));
}
/* op reg, [rip + target] or op [rip + target], reg (size 4 or 8); tail: the
 * immediate bytes the caller emits after the displacement (RIP-relative
 * displacements count from the end of the instruction). */
static inline void riprel(struct emit *e, int size, uint8_t opc, int reg, const void *target, int tail)
{
    uint8_t rex = (uint8_t)((size == 8 ? 8 : 0) | (reg >= 8 ? 4 : 0));
    if (rex) eb(e, (uint8_t)(0x40 | rex));
    eb(e, opc);
    eb(e, (uint8_t)(((reg & 7) << 3) | 5));
    e32(e, (uint32_t)(int32_t)((const uint8_t *)target - (e->p + 4 + tail)));
}
static inline void set_rel32(uint8_t *at, const uint8_t *target)
{
    int32_t rel = (int32_t)(target - (at + 4));
    memcpy(at, &rel, 4);
}

#endif
