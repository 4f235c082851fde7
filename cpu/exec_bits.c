/* Interpreter handlers: bit instructions. BT/BTS/BTR/BTC, BSF/BSR, SHLD/SHRD,
 * SETcc, CMOVcc, BSWAP, LAHF/SAHF. (The decoder turns TZCNT/LZCNT into BSF/BSR
 * and rejects POPCNT, as an i686 does.)
 *
 * Flags the SDM leaves undefined follow the host (cpu/alu_host.h): where the
 * host writes them they come from the host, where it leaves them unchanged
 * (BT*: OF SF AF PF on AMD) the guest's values are kept. */
#include <capstone/capstone.h>
#include <stdbool.h>

#include "cpu/alu_host.h"
#include "cpu/alu_rmw.h"
#include "cpu/fault.h"
#include "cpu/flags.h"
#include "cpu/interp.h"
#include "cpu/operand.h"

/* ---- BT BTS BTR BTC ---- */

enum { BT_TEST, BT_SET, BT_RESET, BT_COMP };

/* The bit offset is op[1]. An immediate is taken modulo the operand width.
 * A register offset with a memory operand is signed and selects the operand-
 * sized word at ea + size * (offset SAR log2(width)), so it reaches memory
 * outside the operand. Only CF is written. */
ALU_INLINE void btop(struct vcpu *v, const struct insn *in, int op)
{
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    unsigned size = d->size;
    uint32_t off = s->kind == OPND_IMM ? s->disp : gpr_get(v, s->reg, size);
    uint32_t bit = off & (size * 8 - 1);
    uint32_t val;
    struct rmw m = { 0 };
    if (d->kind == OPND_REG) {
        val = gpr_get(v, d->reg, size);
    } else {
        uint32_t ea = opnd_ea(v, in, d);
        if (s->kind == OPND_REG) {
            int32_t so = size == 2 ? (int32_t)(int16_t)off : (int32_t)off;
            int32_t words = size == 2 ? so >> 4 : so >> 5; /* arithmetic shift */
            ea += (uint32_t)words * size;
            if (in->addrsize == 2) ea &= 0xffff;
        }
        val = op == BT_TEST ? mem_read(v, d->seg, ea, size) : rmw_read(v, d->seg, ea, size, &m);
    }
    uint32_t cf = (val >> bit) & 1;
    if (op != BT_TEST) {
        uint32_t mask = 1u << bit;
        val = op == BT_SET ? val | mask : op == BT_RESET ? val & ~mask : val ^ mask;
        if (d->kind == OPND_REG) gpr_set(v, d->reg, (int)size, val);
        else rmw_write(v, &m, val);
    }
    v->eflags = (v->eflags & ~F_CF) | cf;
}

static void exec_bt(struct vcpu *v, const struct insn *in) { btop(v, in, BT_TEST); }
static void exec_bts(struct vcpu *v, const struct insn *in) { btop(v, in, BT_SET); }
static void exec_btr(struct vcpu *v, const struct insn *in) { btop(v, in, BT_RESET); }
static void exec_btc(struct vcpu *v, const struct insn *in) { btop(v, in, BT_COMP); }

/* ---- BSF BSR: dst reg (16/32), src r/m ---- */

/* ZF = (source == 0); the index of the lowest (BSF) or highest (BSR) set
 * bit, or, with a zero source, the destination as it was, as real CPUs do.
 * The other five flags are undefined (SDM); here they stay as they were,
 * as AMD's CPUs leave them (so that the translator can emit the host's
 * instruction there: bt_host_bscan_writes_only_zf). */
static void bit_scan(struct vcpu *v, const struct insn *in, bool reverse)
{
    const struct opnd *d = &in->op[0];
    uint32_t b = opnd_read(v, in, &in->op[1]);
    if (d->size != 4) b &= 0xffffu;
    if (b) gpr_set(v, d->reg, d->size, reverse ? 31u - (uint32_t)__builtin_clz(b) : (uint32_t)__builtin_ctz(b));
    v->eflags = b ? v->eflags & ~F_ZF : v->eflags | F_ZF;
}

static void exec_bsf(struct vcpu *v, const struct insn *in) { bit_scan(v, in, false); }
static void exec_bsr(struct vcpu *v, const struct insn *in) { bit_scan(v, in, true); }

/* ---- SHLD SHRD: op[0] r/m, op[1] reg, op[2] imm8 or CL ---- */

ALU_INLINE void shxd(struct vcpu *v, const struct insn *in, int left)
{
    const struct opnd *d = &in->op[0];
    unsigned size = d->size;
    uint32_t c = opnd_read(v, in, &in->op[2]) & 31;
    uint32_t b = gpr_get(v, in->op[1].reg, size);
    uint32_t a, hf;
    struct rmw m = { 0 };
    if (d->kind == OPND_REG) a = gpr_get(v, d->reg, size);
    else a = rmw_read(v, d->seg, opnd_ea(v, in, d), size, &m);
    if (c == 0) return; /* no change, flags included */
    /* A 16-bit count above 16 is undefined: the host's result is used. */
    uint32_t r = host_shxd(left, size, a, b, c, &hf);
    if (d->kind == OPND_REG) gpr_set(v, d->reg, (int)size, r);
    else rmw_write(v, &m, r);
    flags_set_masked(v, hf, F_ARITH);
}

static void exec_shld(struct vcpu *v, const struct insn *in) { shxd(v, in, 1); }
static void exec_shrd(struct vcpu *v, const struct insn *in) { shxd(v, in, 0); }

/* ---- SETcc and CMOVcc: one handler per condition so the test folds ---- */

/* CMOV reads its source even when the condition is false (a memory source can
 * fault); with a false condition the destination is untouched. */
#define CC_HANDLERS(cc, name)                                                                   \
    static void exec_set##name(struct vcpu *v, const struct insn *in)                          \
    {                                                                                           \
        opnd_write(v, in, &in->op[0], cond_true(v->eflags, cc));                                \
    }                                                                                           \
    static void exec_cmov##name(struct vcpu *v, const struct insn *in)                         \
    {                                                                                           \
        const struct opnd *d = &in->op[0];                                                      \
        uint32_t s = opnd_read(v, in, &in->op[1]);                                               \
        if (cond_true(v->eflags, cc)) gpr_set(v, d->reg, d->size, s);                           \
    }

CC_HANDLERS(0x0, o)
CC_HANDLERS(0x1, no)
CC_HANDLERS(0x2, b)
CC_HANDLERS(0x3, ae)
CC_HANDLERS(0x4, e)
CC_HANDLERS(0x5, ne)
CC_HANDLERS(0x6, be)
CC_HANDLERS(0x7, a)
CC_HANDLERS(0x8, s)
CC_HANDLERS(0x9, ns)
CC_HANDLERS(0xa, p)
CC_HANDLERS(0xb, np)
CC_HANDLERS(0xc, l)
CC_HANDLERS(0xd, ge)
CC_HANDLERS(0xe, le)
CC_HANDLERS(0xf, g)

/* ---- BSWAP ---- */

static void exec_bswap(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0];
    if (d->size == 4) v->r[d->reg] = __builtin_bswap32(v->r[d->reg]);
    else gpr_set(v, d->reg, 2, 0); /* 16-bit form is undefined: Intel and AMD clear the word */
}

/* ---- LAHF SAHF: AH <-> SF ZF 0 AF 0 PF 1 CF ---- */

#define AH_FLAGS (F_SF | F_ZF | F_AF | F_PF | F_CF)

static void exec_lahf(struct vcpu *v, const struct insn *in)
{
    (void)in;
    gpr_set(v, 4 /* AH */, 1, (v->eflags & AH_FLAGS) | F_FIXED1);
}

static void exec_sahf(struct vcpu *v, const struct insn *in)
{
    (void)in;
    v->eflags = (v->eflags & ~AH_FLAGS) | ((v->r[R_EAX] >> 8) & AH_FLAGS);
}

void interp_register_bits(insn_exec_fn *t)
{
    t[X86_INS_BT] = exec_bt;
    t[X86_INS_BTS] = exec_bts;
    t[X86_INS_BTR] = exec_btr;
    t[X86_INS_BTC] = exec_btc;
    t[X86_INS_BSF] = exec_bsf;
    t[X86_INS_BSR] = exec_bsr;
    t[X86_INS_SHLD] = exec_shld;
    t[X86_INS_SHRD] = exec_shrd;
    t[X86_INS_BSWAP] = exec_bswap;
    t[X86_INS_LAHF] = exec_lahf;
    t[X86_INS_SAHF] = exec_sahf;

    t[X86_INS_SETO] = exec_seto;   t[X86_INS_CMOVO] = exec_cmovo;
    t[X86_INS_SETNO] = exec_setno; t[X86_INS_CMOVNO] = exec_cmovno;
    t[X86_INS_SETB] = exec_setb;   t[X86_INS_CMOVB] = exec_cmovb;
    t[X86_INS_SETAE] = exec_setae; t[X86_INS_CMOVAE] = exec_cmovae;
    t[X86_INS_SETE] = exec_sete;   t[X86_INS_CMOVE] = exec_cmove;
    t[X86_INS_SETNE] = exec_setne; t[X86_INS_CMOVNE] = exec_cmovne;
    t[X86_INS_SETBE] = exec_setbe; t[X86_INS_CMOVBE] = exec_cmovbe;
    t[X86_INS_SETA] = exec_seta;   t[X86_INS_CMOVA] = exec_cmova;
    t[X86_INS_SETS] = exec_sets;   t[X86_INS_CMOVS] = exec_cmovs;
    t[X86_INS_SETNS] = exec_setns; t[X86_INS_CMOVNS] = exec_cmovns;
    t[X86_INS_SETP] = exec_setp;   t[X86_INS_CMOVP] = exec_cmovp;
    t[X86_INS_SETNP] = exec_setnp; t[X86_INS_CMOVNP] = exec_cmovnp;
    t[X86_INS_SETL] = exec_setl;   t[X86_INS_CMOVL] = exec_cmovl;
    t[X86_INS_SETGE] = exec_setge; t[X86_INS_CMOVGE] = exec_cmovge;
    t[X86_INS_SETLE] = exec_setle; t[X86_INS_CMOVLE] = exec_cmovle;
    t[X86_INS_SETG] = exec_setg;   t[X86_INS_CMOVG] = exec_cmovg;
}
