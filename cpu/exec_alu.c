/* Interpreter handlers: integer arithmetic and logic (ADD..CMP, TEST, INC, DEC,
 * NEG, NOT), shifts and rotates, MUL/IMUL/DIV/IDIV, CBW/CWDE/CWD/CDQ, the BCD
 * adjusts, SALC and the CF/DF instructions.
 *
 * Flags come from the host executing the same operation (cpu/alu_host.h).
 * Where an instruction leaves flags unchanged, only the bits it writes are
 * taken from the host: INC/DEC keep CF, rotates write only CF/OF, and MUL/IMUL
 * keep SF/ZF/AF/PF (AMD hosts leave those "undefined" flags untouched, and
 * keeping them makes the result deterministic on any host).
 *
 * Memory destinations are read with rmw_read (write permission checked first,
 * cpu/alu_rmw.h) and written before any register or flag is committed, so a
 * fault leaves no partial state. */
#include <capstone/capstone.h>
#include <stdbool.h>

#include "cpu/alu_host.h"
#include "cpu/alu_rmw.h"
#include "cpu/fault.h"
#include "cpu/flags.h"
#include "cpu/interp.h"
#include "cpu/operand.h"

/* SF, ZF and PF of an 8-bit result. */
static inline uint32_t szp8(uint32_t r)
{
    r &= 0xff;
    return (r == 0 ? F_ZF : 0) | (r & 0x80 ? F_SF : 0) | (parity8(r) ? F_PF : 0);
}

/* ---- ADD OR ADC SBB AND SUB XOR CMP TEST ---- */

/* The forms with a memory operand, out of line so that the register fast
 * path below needs no stack frame (one copy per operation: see BINOP). */
ALU_INLINE void binop_mem(struct vcpu *v, const struct insn *in, int op, bool write)
{
    const struct opnd *d = &in->op[0];
    unsigned size = d->size;
    uint32_t b = opnd_read(v, in, &in->op[1]);
    uint32_t hf, r;
    if (d->kind == OPND_REG) {
        r = host_alu2(op, size, gpr_get(v, d->reg, size), b, v->eflags, &hf);
        if (write) gpr_set(v, d->reg, (int)size, r);
    } else if (write) {
        struct rmw m;
        uint32_t a = rmw_read(v, d->seg, opnd_ea(v, in, d), size, &m);
        r = host_alu2(op, size, a, b, v->eflags, &hf);
        rmw_write(v, &m, r);
    } else {
        uint32_t a = mem_read(v, d->seg, opnd_ea(v, in, d), size);
        host_alu2(op, size, a, b, v->eflags, &hf);
    }
    flags_set_masked(v, hf, F_ARITH);
}

/* op[0] OP= op[1]; `write` is false for CMP and TEST. */
ALU_INLINE void binop(struct vcpu *v, const struct insn *in, int op, bool write,
                      void (*mem_form)(struct vcpu *, const struct insn *))
{
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    if (unlikely(d->kind != OPND_REG || s->kind == OPND_MEM)) {
        mem_form(v, in);
        return;
    }
    unsigned size = d->size;
    uint32_t hf, r;
    if (likely(size == 4)) {
        uint32_t b = s->kind == OPND_IMM ? s->disp : v->r[s->reg];
        r = host_alu2(op, 4, v->r[d->reg], b, v->eflags, &hf);
        if (write) v->r[d->reg] = r;
    } else {
        uint32_t b = s->kind == OPND_IMM ? s->disp : gpr_get(v, s->reg, size);
        r = host_alu2(op, size, gpr_get(v, d->reg, size), b, v->eflags, &hf);
        if (write) gpr_set(v, d->reg, (int)size, r);
    }
    flags_set_masked(v, hf, F_ARITH);
}

#define BINOP(name, op, write)                                                                 \
    static __attribute__((noinline)) void name##_mem(struct vcpu *v, const struct insn *in)    \
    {                                                                                          \
        binop_mem(v, in, op, write);                                                           \
    }                                                                                          \
    static void exec_##name(struct vcpu *v, const struct insn *in) { binop(v, in, op, write, name##_mem); }

BINOP(add, ALU_ADD, true)
BINOP(or, ALU_OR, true)
BINOP(adc, ALU_ADC, true)
BINOP(sbb, ALU_SBB, true)
BINOP(and, ALU_AND, true)
BINOP(sub, ALU_SUB, true)
BINOP(xor, ALU_XOR, true)
BINOP(cmp, ALU_CMP, false)
BINOP(test, ALU_AND, false)

/* ---- INC DEC NEG NOT ---- */

static __attribute__((noinline)) void unop_mem(struct vcpu *v, const struct insn *in, int op)
{
    const struct opnd *d = &in->op[0];
    struct rmw m;
    uint32_t hf;
    uint32_t a = rmw_read(v, d->seg, opnd_ea(v, in, d), d->size, &m);
    uint32_t r = host_alu1(op, d->size, a, &hf);
    rmw_write(v, &m, r);
    flags_set_masked(v, hf, op == UN_NEG ? F_ARITH : F_ARITH & ~F_CF);
}

ALU_INLINE void unop(struct vcpu *v, const struct insn *in, int op)
{
    const struct opnd *d = &in->op[0];
    if (unlikely(d->kind != OPND_REG)) {
        unop_mem(v, in, op);
        return;
    }
    uint32_t hf, r;
    if (d->size == 4) {
        r = host_alu1(op, 4, v->r[d->reg], &hf);
        v->r[d->reg] = r;
    } else {
        r = host_alu1(op, d->size, gpr_get(v, d->reg, d->size), &hf);
        gpr_set(v, d->reg, d->size, r);
    }
    flags_set_masked(v, hf, op == UN_NEG ? F_ARITH : F_ARITH & ~F_CF);
}

static void exec_inc(struct vcpu *v, const struct insn *in) { unop(v, in, UN_INC); }
static void exec_dec(struct vcpu *v, const struct insn *in) { unop(v, in, UN_DEC); }
static void exec_neg(struct vcpu *v, const struct insn *in) { unop(v, in, UN_NEG); }

static void exec_not(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0];
    if (d->kind == OPND_REG) {
        gpr_set(v, d->reg, d->size, ~gpr_get(v, d->reg, d->size));
    } else {
        struct rmw m;
        uint32_t a = rmw_read(v, d->seg, opnd_ea(v, in, d), d->size, &m);
        rmw_write(v, &m, ~a);
    }
}

/* ---- ROL ROR RCL RCR SHL/SAL SHR SAR ---- */

/* The count is op[1] (CL or an immediate; 1 when absent), masked to 5 bits.
 * A masked count of 0 changes nothing, flags included (a memory operand is
 * still checked for writability, as the hardware's access is a RMW). */
static __attribute__((noinline)) void shiftop_mem(struct vcpu *v, const struct insn *in, int op, uint32_t c)
{
    const struct opnd *d = &in->op[0];
    struct rmw m;
    uint32_t hf;
    uint32_t a = rmw_read(v, d->seg, opnd_ea(v, in, d), d->size, &m);
    if (c == 0) return;
    uint32_t r = host_shift(op, d->size, a, c, v->eflags, &hf);
    rmw_write(v, &m, r);
    flags_set_masked(v, hf, op <= SH_RCR ? (F_CF | F_OF) : F_ARITH);
}

ALU_INLINE void shiftop(struct vcpu *v, const struct insn *in, int op)
{
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    /* The count is CL or an immediate (never memory). */
    uint32_t c = in->nopnd < 2 ? 1 : (s->kind == OPND_IMM ? s->disp : gpr_get(v, s->reg, 1)) & 31;
    if (unlikely(d->kind != OPND_REG)) {
        shiftop_mem(v, in, op, c);
        return;
    }
    if (c == 0) return;
    uint32_t hf;
    uint32_t r = host_shift(op, d->size, gpr_get(v, d->reg, d->size), c, v->eflags, &hf);
    gpr_set(v, d->reg, d->size, r);
    /* Rotates write only CF and OF; shifts write all six (AF as the host does). */
    flags_set_masked(v, hf, op <= SH_RCR ? (F_CF | F_OF) : F_ARITH);
}

static void exec_rol(struct vcpu *v, const struct insn *in) { shiftop(v, in, SH_ROL); }
static void exec_ror(struct vcpu *v, const struct insn *in) { shiftop(v, in, SH_ROR); }
static void exec_rcl(struct vcpu *v, const struct insn *in) { shiftop(v, in, SH_RCL); }
static void exec_rcr(struct vcpu *v, const struct insn *in) { shiftop(v, in, SH_RCR); }
static void exec_shl(struct vcpu *v, const struct insn *in) { shiftop(v, in, SH_SHL); }
static void exec_shr(struct vcpu *v, const struct insn *in) { shiftop(v, in, SH_SHR); }
static void exec_sar(struct vcpu *v, const struct insn *in) { shiftop(v, in, SH_SAR); }

/* ---- MUL IMUL ---- */

/* CF and OF as 0/1 bytes, without touching EAX/EDX (the results). */
#define MUL_FLAGS "\n\tsetc %[c]\n\tseto %[o]"

/* One-operand forms: AX = AL * src, DX:AX = AX * src, EDX:EAX = EAX * src.
 * Only CF and OF are taken from the host (see the top of the file). */
#define MUL1(ins)                                                                          \
    do {                                                                                   \
        const struct opnd *s = &in->op[0];                                                 \
        uint32_t b = opnd_read(v, in, s), a = v->r[R_EAX], dx = v->r[R_EDX];                \
        uint8_t c, o;                                                                      \
        if (s->size == 1) {                                                                \
            __asm__(ins "b %b[b]" MUL_FLAGS : "+a"(a), [c] "=r"(c), [o] "=r"(o)            \
                    : [b] "r"(b) : "cc");                                                  \
            gpr_set(v, R_EAX, 2, a);                                                       \
        } else if (s->size == 2) {                                                         \
            __asm__(ins "w %w[b]" MUL_FLAGS : "+a"(a), "+d"(dx), [c] "=r"(c), [o] "=r"(o)  \
                    : [b] "r"(b) : "cc");                                                  \
            gpr_set(v, R_EAX, 2, a);                                                       \
            gpr_set(v, R_EDX, 2, dx);                                                      \
        } else {                                                                           \
            __asm__(ins "l %k[b]" MUL_FLAGS : "+a"(a), "+d"(dx), [c] "=r"(c), [o] "=r"(o)  \
                    : [b] "r"(b) : "cc");                                                  \
            v->r[R_EAX] = a;                                                               \
            v->r[R_EDX] = dx;                                                              \
        }                                                                                  \
        flags_set_masked(v, (uint32_t)c | (uint32_t)o << 11, F_CF | F_OF);                        \
    } while (0)

static void exec_mul(struct vcpu *v, const struct insn *in) { MUL1("mul"); }

/* IMUL r/m (one operand), IMUL r, r/m and IMUL r, r/m, imm (16/32-bit). */
static void exec_imul(struct vcpu *v, const struct insn *in)
{
    if (in->nopnd == 1) {
        MUL1("imul");
        return;
    }
    const struct opnd *d = &in->op[0];
    uint32_t a, b;
    if (in->nopnd == 3) {
        a = opnd_read(v, in, &in->op[1]);
        b = in->op[2].disp;
    } else {
        b = opnd_read(v, in, &in->op[1]);
        a = gpr_get(v, d->reg, d->size);
    }
    uint32_t x;
    if (d->size == 4) {
        __asm__("imul %k[b], %k[a]" HOST_FLAGS_TAIL : [a] "+r"(a), "=a"(x) : [b] "r"(b) : "cc");
        v->r[d->reg] = a;
    } else {
        __asm__("imul %w[b], %w[a]" HOST_FLAGS_TAIL : [a] "+r"(a), "=a"(x) : [b] "r"(b) : "cc");
        gpr_set(v, d->reg, 2, a);
    }
    flags_set_masked(v, host_flags(x), F_CF | F_OF);
}

/* ---- DIV IDIV ---- */

/* Divide errors are detected before anything runs on the host, so the host
 * division below can never trap. All six flags are undefined; the host's are
 * kept. They depend on the flags before the division (AMD EPYC keeps CF and
 * OF), so DIV_PRE fixes those with XOR q, q — the translator's native DIV
 * runs the same XOR first (bt_gen.c, K_DIV). DIV_FLAGS copies the results
 * (EAX) to q, then captures the flags in AX. */
#define DIV_PRE "xorl %k[q], %k[q]\n\t"
#define DIV_FLAGS "\n\tmovl %%eax, %k[q]" HOST_FLAGS_TAIL
static void exec_div(struct vcpu *v, const struct insn *in)
{
    const struct opnd *s = &in->op[0];
    uint32_t b = opnd_read(v, in, s);
    uint32_t a = v->r[R_EAX], dx = v->r[R_EDX], q;
    switch (s->size) {
    case 1:
        a &= 0xffff;
        if (b == 0 || (a >> 8) >= b) cpu_fault(v, EXC_DE); /* zero or quotient > 0xff */
        __asm__(DIV_PRE "divb %b[b]" DIV_FLAGS : "+a"(a), [q] "=&r"(q) : [b] "r"(b) : "cc");
        gpr_set(v, R_EAX, 2, q);
        break;
    case 2:
        a &= 0xffff;
        dx &= 0xffff;
        if (b == 0 || dx >= b) cpu_fault(v, EXC_DE);
        __asm__(DIV_PRE "divw %w[b]" DIV_FLAGS : "+a"(a), "+d"(dx), [q] "=&r"(q) : [b] "r"(b) : "cc");
        gpr_set(v, R_EAX, 2, q);
        gpr_set(v, R_EDX, 2, dx);
        break;
    default:
        if (b == 0 || dx >= b) cpu_fault(v, EXC_DE);
        __asm__(DIV_PRE "divl %k[b]" DIV_FLAGS : "+a"(a), "+d"(dx), [q] "=&r"(q) : [b] "r"(b) : "cc");
        v->r[R_EAX] = q;
        v->r[R_EDX] = dx;
        break;
    }
    flags_set_masked(v, host_flags(a), F_ARITH);
}

/* Would n / d (d != 0, truncating) fall outside a `bits`-bit signed quotient?
 * Decided by multiplication only: |q| <= lim  <=>  |n| < (lim + 1) * |d|. */
static inline bool idiv_overflows(int64_t n, int64_t d, int bits)
{
    uint64_t un = n < 0 ? -(uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? -(uint64_t)d : (uint64_t)d;
    uint64_t lim = (1ull << (bits - 1)) - ((n < 0) == (d < 0) ? 1 : 0);
    return un >= (lim + 1) * ud;
}

static void exec_idiv(struct vcpu *v, const struct insn *in)
{
    const struct opnd *s = &in->op[0];
    uint32_t b = opnd_read(v, in, s);
    uint32_t a = v->r[R_EAX], dx = v->r[R_EDX], q;
    switch (s->size) {
    case 1:
        a &= 0xffff;
        if ((b & 0xff) == 0 || idiv_overflows((int16_t)a, (int8_t)b, 8)) cpu_fault(v, EXC_DE);
        __asm__("idivb %b[b]" DIV_FLAGS : "+a"(a), [q] "=&r"(q) : [b] "r"(b) : "cc");
        gpr_set(v, R_EAX, 2, q);
        break;
    case 2:
        a &= 0xffff;
        dx &= 0xffff;
        if ((b & 0xffff) == 0 || idiv_overflows((int32_t)(dx << 16 | a), (int16_t)b, 16))
            cpu_fault(v, EXC_DE);
        __asm__("idivw %w[b]" DIV_FLAGS : "+a"(a), "+d"(dx), [q] "=&r"(q) : [b] "r"(b) : "cc");
        gpr_set(v, R_EAX, 2, q);
        gpr_set(v, R_EDX, 2, dx);
        break;
    default:
        if (b == 0 || idiv_overflows((int64_t)((uint64_t)dx << 32 | a), (int32_t)b, 32))
            cpu_fault(v, EXC_DE);
        __asm__("idivl %k[b]" DIV_FLAGS : "+a"(a), "+d"(dx), [q] "=&r"(q) : [b] "r"(b) : "cc");
        v->r[R_EAX] = q;
        v->r[R_EDX] = dx;
        break;
    }
    flags_set_masked(v, host_flags(a), F_ARITH);
}

/* ---- CBW/CWDE (98) and CWD/CDQ (99) ----
 * Chosen by the operand size, not the id: in 16-bit code Capstone names 98
 * "cwde" and 99 "cdq" whatever the size. */

static void exec_cbw_cwde(struct vcpu *v, const struct insn *in)
{
    if (in->opsize == 2) gpr_set(v, R_EAX, 2, (uint32_t)(int32_t)(int8_t)v->r[R_EAX]);
    else v->r[R_EAX] = (uint32_t)(int32_t)(int16_t)v->r[R_EAX];
}

static void exec_cwd_cdq(struct vcpu *v, const struct insn *in)
{
    if (in->opsize == 2) gpr_set(v, R_EDX, 2, (v->r[R_EAX] & 0x8000) ? 0xffff : 0);
    else v->r[R_EDX] = (v->r[R_EAX] & 0x80000000u) ? 0xffffffffu : 0;
}

/* ---- BCD adjusts (SDM pseudocode; 64-bit hosts cannot run them) ----
 * Flags the SDM leaves undefined: OF is cleared, and where SF/ZF/PF are
 * undefined they are computed from AL like the defined cases. */

static void exec_daa(struct vcpu *v, const struct insn *in)
{
    (void)in;
    uint32_t al = v->r[R_EAX] & 0xff, old_al = al, f = v->eflags;
    bool old_cf = f & F_CF, cf = false, af = false;
    if ((al & 0xf) > 9 || (f & F_AF)) {
        cf = old_cf || al > 0xf9;
        al = (al + 6) & 0xff;
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al = (al + 0x60) & 0xff;
        cf = true;
    } else {
        cf = false;
    }
    gpr_set(v, R_EAX, 1, al);
    v->eflags = (f & ~F_ARITH) | szp8(al) | (cf ? F_CF : 0) | (af ? F_AF : 0);
}

static void exec_das(struct vcpu *v, const struct insn *in)
{
    (void)in;
    uint32_t al = v->r[R_EAX] & 0xff, old_al = al, f = v->eflags;
    bool old_cf = f & F_CF, cf = false, af = false;
    if ((al & 0xf) > 9 || (f & F_AF)) {
        cf = old_cf || al < 6;
        al = (al - 6) & 0xff;
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al = (al - 0x60) & 0xff;
        cf = true;
    }
    gpr_set(v, R_EAX, 1, al);
    v->eflags = (f & ~F_ARITH) | szp8(al) | (cf ? F_CF : 0) | (af ? F_AF : 0);
}

/* AAA / AAS: adjust AX after an unpacked-BCD add / subtract. */
static void exec_aaa(struct vcpu *v, const struct insn *in)
{
    (void)in;
    uint32_t ax = v->r[R_EAX] & 0xffff, f = v->eflags, adj = 0;
    if ((ax & 0xf) > 9 || (f & F_AF)) {
        ax = (ax + 0x106) & 0xffff;
        adj = F_AF | F_CF;
    }
    ax &= 0xff0f;
    gpr_set(v, R_EAX, 2, ax);
    v->eflags = (f & ~F_ARITH) | szp8(ax) | adj;
}

static void exec_aas(struct vcpu *v, const struct insn *in)
{
    (void)in;
    uint32_t ax = v->r[R_EAX] & 0xffff, f = v->eflags, adj = 0;
    if ((ax & 0xf) > 9 || (f & F_AF)) {
        ax = (ax - 6 - 0x100) & 0xffff;
        adj = F_AF | F_CF;
    }
    ax &= 0xff0f;
    gpr_set(v, R_EAX, 2, ax);
    v->eflags = (f & ~F_ARITH) | szp8(ax) | adj;
}

/* AAM/AAD imm8: base 10 when Capstone shows no operand (D4 0A / D5 0A). */
static inline uint32_t bcd_base(const struct insn *in)
{
    return in->nopnd ? in->op[0].disp & 0xff : 10;
}

static void exec_aam(struct vcpu *v, const struct insn *in)
{
    uint32_t base = bcd_base(in), al = v->r[R_EAX] & 0xff;
    if (base == 0) cpu_fault(v, EXC_DE);
    uint32_t q = al / base, r = al % base;
    gpr_set(v, R_EAX, 2, q << 8 | r);
    v->eflags = (v->eflags & ~F_ARITH) | szp8(r); /* OF AF CF undefined: cleared */
}

static void exec_aad(struct vcpu *v, const struct insn *in)
{
    uint32_t base = bcd_base(in), ax = v->r[R_EAX];
    uint32_t al = ((ax & 0xff) + ((ax >> 8) & 0xff) * base) & 0xff;
    gpr_set(v, R_EAX, 2, al);
    v->eflags = (v->eflags & ~F_ARITH) | szp8(al); /* OF AF CF undefined: cleared */
}

/* ---- SALC and the CF/DF instructions ---- */

static void exec_salc(struct vcpu *v, const struct insn *in)
{
    (void)in;
    gpr_set(v, R_EAX, 1, (v->eflags & F_CF) ? 0xff : 0);
}

static void exec_clc(struct vcpu *v, const struct insn *in) { (void)in; v->eflags &= ~F_CF; }
static void exec_stc(struct vcpu *v, const struct insn *in) { (void)in; v->eflags |= F_CF; }
static void exec_cmc(struct vcpu *v, const struct insn *in) { (void)in; v->eflags ^= F_CF; }
static void exec_cld(struct vcpu *v, const struct insn *in) { (void)in; v->eflags &= ~F_DF; }
static void exec_std(struct vcpu *v, const struct insn *in) { (void)in; v->eflags |= F_DF; }

void interp_register_alu(insn_exec_fn *t)
{
    t[X86_INS_ADD] = exec_add;
    t[X86_INS_OR] = exec_or;
    t[X86_INS_ADC] = exec_adc;
    t[X86_INS_SBB] = exec_sbb;
    t[X86_INS_AND] = exec_and;
    t[X86_INS_SUB] = exec_sub;
    t[X86_INS_XOR] = exec_xor;
    t[X86_INS_CMP] = exec_cmp;
    t[X86_INS_TEST] = exec_test;
    t[X86_INS_INC] = exec_inc;
    t[X86_INS_DEC] = exec_dec;
    t[X86_INS_NEG] = exec_neg;
    t[X86_INS_NOT] = exec_not;
    t[X86_INS_ROL] = exec_rol;
    t[X86_INS_ROR] = exec_ror;
    t[X86_INS_RCL] = exec_rcl;
    t[X86_INS_RCR] = exec_rcr;
    t[X86_INS_SHL] = exec_shl;
    t[X86_INS_SAL] = exec_shl; /* D0-D3 /6: an alias of SHL */
    t[X86_INS_SHR] = exec_shr;
    t[X86_INS_SAR] = exec_sar;
    t[X86_INS_MUL] = exec_mul;
    t[X86_INS_IMUL] = exec_imul;
    t[X86_INS_DIV] = exec_div;
    t[X86_INS_IDIV] = exec_idiv;
    t[X86_INS_CBW] = exec_cbw_cwde;
    t[X86_INS_CWDE] = exec_cbw_cwde;
    t[X86_INS_CWD] = exec_cwd_cdq;
    t[X86_INS_CDQ] = exec_cwd_cdq;
    t[X86_INS_DAA] = exec_daa;
    t[X86_INS_DAS] = exec_das;
    t[X86_INS_AAA] = exec_aaa;
    t[X86_INS_AAS] = exec_aas;
    t[X86_INS_AAM] = exec_aam;
    t[X86_INS_AAD] = exec_aad;
    t[X86_INS_SALC] = exec_salc;
    t[X86_INS_CLC] = exec_clc;
    t[X86_INS_STC] = exec_stc;
    t[X86_INS_CMC] = exec_cmc;
    t[X86_INS_CLD] = exec_cld;
    t[X86_INS_STD] = exec_std;
}
