/* Reading and writing an instruction record's operands: effective addresses,
 * registers, immediates and memory, for 1/2/4-byte operands. */
#ifndef BT86_CPU_OPERAND_H
#define BT86_CPU_OPERAND_H

#include "cpu/insn.h"
#include "cpu/mem.h"

/* Effective address (offset within the segment), wrapped to the address size. */
static inline uint32_t opnd_ea(const struct vcpu *v, const struct insn *in, const struct opnd *o)
{
    uint32_t ea = o->disp;
    if (o->base != REG_NONE) ea += v->r[o->base];
    if (o->index != REG_NONE) ea += v->r[o->index] << o->scale;
    return in->addrsize == 2 ? (ea & 0xffff) : ea;
}

/* Always inlined: it is on every instruction handler's hot path. */
static inline __attribute__((always_inline)) uint32_t opnd_read(struct vcpu *v, const struct insn *in, const struct opnd *o)
{
    switch (o->kind) {
    case OPND_REG: return gpr_get(v, o->reg, o->size);
    case OPND_IMM: return o->disp;
    default: return mem_read(v, o->seg, opnd_ea(v, in, o), o->size);
    }
}

static inline void opnd_write(struct vcpu *v, const struct insn *in, const struct opnd *o, uint32_t val)
{
    if (o->kind == OPND_REG) gpr_set(v, o->reg, o->size, val);
    else mem_write(v, o->seg, opnd_ea(v, in, o), val, o->size);
}

/* Read a destination operand that will be written back (RMW). For memory it
 * checks writability first and returns the offset through *ea for opnd_write_ea. */
static inline uint32_t opnd_read_rmw(struct vcpu *v, const struct insn *in, const struct opnd *o, uint32_t *ea)
{
    if (o->kind == OPND_REG) return gpr_get(v, o->reg, o->size);
    *ea = opnd_ea(v, in, o);
    return mem_read_for_write(v, o->seg, *ea, o->size);
}

static inline void opnd_write_ea(struct vcpu *v, const struct opnd *o, uint32_t ea, uint32_t val)
{
    if (o->kind == OPND_REG) gpr_set(v, o->reg, o->size, val);
    else mem_write(v, o->seg, ea, val, o->size);
}

/* Stack: push/pop with the current stack size (SS.B), operand size 2 or 4. */
static inline uint32_t sp_get(const struct vcpu *v) { return v->stack32 ? v->r[R_ESP] : (v->r[R_ESP] & 0xffff); }
static inline void sp_set(struct vcpu *v, uint32_t sp)
{
    if (v->stack32) v->r[R_ESP] = sp;
    else v->r[R_ESP] = (v->r[R_ESP] & 0xffff0000u) | (sp & 0xffff);
}
static inline uint32_t sp_mask(const struct vcpu *v) { return v->stack32 ? 0xffffffffu : 0xffffu; }

static inline void stack_push(struct vcpu *v, uint32_t val, unsigned size)
{
    uint32_t sp = (sp_get(v) - size) & sp_mask(v);
    mem_write(v, S_SS, sp, val, size);
    sp_set(v, sp);
}

static inline uint32_t stack_pop(struct vcpu *v, unsigned size)
{
    uint32_t sp = sp_get(v);
    uint32_t val = mem_read(v, S_SS, sp, size);
    sp_set(v, sp + size);
    return val;
}

/* Read the value on top of the stack at byte offset `depth` without popping. */
static inline uint32_t stack_peek(struct vcpu *v, uint32_t depth, unsigned size)
{
    return mem_read(v, S_SS, (sp_get(v) + depth) & sp_mask(v), size);
}

#endif
