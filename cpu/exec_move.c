/* Interpreter handlers: data movement and the stack. MOV (GPR, immediate and
 * moffs forms; segment/control/debug register forms go to exec_mov_special),
 * MOVZX/MOVSX, XCHG, LEA, PUSH/POP, PUSHA/POPA, ENTER/LEAVE, CMPXCHG,
 * CMPXCHG8B, XADD, NOP/PAUSE, BOUND. (CLC..STD are in exec_alu.c, LAHF/SAHF
 * in exec_bits.c.)
 *
 * Faults must be precise (cpu/fault.h): every handler does all accesses that
 * can fault before it commits registers. */
#include <capstone/capstone.h>

#include "cpu/exec_hostflags.h"
#include "cpu/flags.h"
#include "cpu/interp.h"
#include "cpu/lock_atomic.h"
#include "cpu/operand.h"
#include "cpu/vmm.h"

/* Default for the MOV Sreg / CRn / DRn forms until the system and segment
 * handlers provide the strong definition. */
__attribute__((weak)) void exec_mov_special(struct vcpu *v, const struct insn *in)
{
    (void)in;
    cpu_ud(v);
}

static inline bool opnd_special(const struct opnd *o)
{
    return o->kind == OPND_REG && (o->rclass == RC_SEG || o->rclass == RC_CR || o->rclass == RC_DR);
}

static void exec_mov(struct vcpu *v, const struct insn *in)
{
    if (unlikely(opnd_special(&in->op[0]) || opnd_special(&in->op[1]))) {
        exec_mov_special(v, in);
        return;
    }
    opnd_write(v, in, &in->op[0], opnd_read(v, in, &in->op[1]));
}

static void exec_movzx(struct vcpu *v, const struct insn *in)
{
    opnd_write(v, in, &in->op[0], opnd_read(v, in, &in->op[1]));
}

static void exec_movsx(struct vcpu *v, const struct insn *in)
{
    uint32_t x = opnd_read(v, in, &in->op[1]);
    x = in->op[1].size == 1 ? (uint32_t)(int32_t)(int8_t)x : (uint32_t)(int32_t)(int16_t)x;
    opnd_write(v, in, &in->op[0], x);
}

/* XCHG: with a memory operand the memory write comes first so that a fault
 * leaves the register unchanged. The implicit LOCK: a host atomic exchange
 * when the operand is plain RAM (several vCPUs may run on host threads),
 * else the ordinary path in the exclusive section (cpu/lock_atomic.h). */
static void exec_xchg(struct vcpu *v, const struct insn *in)
{
    const struct opnd *a = &in->op[0], *b = &in->op[1];
    if (a->kind != OPND_MEM && b->kind == OPND_MEM) {
        const struct opnd *t = a;
        a = b;
        b = t;
    }
    uint32_t ea = 0;
    uint32_t vb = gpr_get(v, b->reg, b->size);
    if (a->kind == OPND_MEM) { /* always locked: a host atomic exchange on RAM (cpu/lock_atomic.h) */
        ea = opnd_ea(v, in, a);
        uint8_t *p = lock_ptr(v, a->seg, ea, a->size);
        if (p) {
            gpr_set(v, b->reg, b->size, lock_xchg(p, a->size, vb));
            return;
        }
        lock_excl_enter(v);
    }
    uint32_t va = opnd_read_rmw(v, in, a, &ea);
    opnd_write_ea(v, a, ea, vb);
    gpr_set(v, b->reg, b->size, va);
    lock_excl_leave(v); /* (a fault above: the run loop leaves it) */
}

/* LEA: the offset computed at the address size (opnd_ea), then truncated
 * (or zero-extended) to the operand size. No memory access. */
static void exec_lea(struct vcpu *v, const struct insn *in)
{
    gpr_set(v, in->op[0].reg, in->op[0].size, opnd_ea(v, in, &in->op[1]));
}

static void exec_nop(struct vcpu *v, const struct insn *in)
{
    (void)v;
    (void)in;
}

/* PAUSE: a NOP that tells the board a spin-wait loop goes round (its
 * spin_hint may let virtual time pass: frontend/pc.c). */
static void exec_pause(struct vcpu *v, const struct insn *in)
{
    (void)in;
    struct machine *m = v->m;
    if (m && m->spin_hint) m->spin_hint(m, v);
}

/* --- stack --- */

static void exec_push(struct vcpu *v, const struct insn *in)
{
    const struct opnd *o = &in->op[0];
    unsigned size = in->opsize;
    if (o->kind == OPND_REG && o->rclass == RC_SEG) {
        /* Current processors write only the 16-bit selector, leaving the
         * upper half of a 32-bit slot unchanged (SDM PUSH). */
        uint32_t sp = (sp_get(v) - size) & sp_mask(v);
        if (size == 4) (void)mem_read_for_write(v, S_SS, sp, 4); /* the whole slot must be writable */
        mem_write(v, S_SS, sp, v->seg[o->reg].sel, 2);
        sp_set(v, sp);
        return;
    }
    /* The value is read before ESP changes: PUSH ESP pushes the old value, and
     * PUSH [ESP+n] addresses with the old ESP. */
    uint32_t val = opnd_read(v, in, o);
    stack_push(v, val, size);
}

static void exec_pop(struct vcpu *v, const struct insn *in)
{
    const struct opnd *o = &in->op[0];
    unsigned size = in->opsize;
    uint32_t sp = sp_get(v);
    uint32_t val = mem_read(v, S_SS, sp, size);
    uint32_t new_sp = (sp + size) & sp_mask(v);
    if (o->kind == OPND_REG && o->rclass == RC_SEG) {
        /* POP Sreg: the VMM loads it (checks, #GP/#SS/#NP(sel)); ESP moves only
         * if that succeeded, by the width of the stack the value came from
         * (POP SS may change SS.B). */
        bool wide = v->stack32;
        uint32_t args[2] = { o->reg, val & 0xffff };
        vmm_call(v, VMM_load_seg, args);
        if (wide) v->r[R_ESP] = new_sp;
        else v->r[R_ESP] = (v->r[R_ESP] & 0xffff0000u) | (new_sp & 0xffff);
        if (o->reg == S_SS) v->irq_shadow = 1; /* like MOV SS: no interrupt before the next instruction */
        return;
    }
    if (o->kind == OPND_MEM) {
        /* An ESP-based destination address uses the incremented ESP (SDM POP);
         * ESP itself is committed only after the write cannot fault. */
        uint32_t old_esp = v->r[R_ESP];
        sp_set(v, new_sp);
        uint32_t ea = opnd_ea(v, in, o);
        v->r[R_ESP] = old_esp;
        mem_write(v, o->seg, ea, val, o->size);
        sp_set(v, new_sp);
        return;
    }
    /* POP ESP: the popped value wins over the increment. */
    sp_set(v, new_sp);
    gpr_set(v, o->reg, o->size, val);
}

/* PUSHA/PUSHAD: EAX ECX EDX EBX (original ESP) EBP ESI EDI. */
static void exec_pusha(struct vcpu *v, const struct insn *in)
{
    unsigned size = in->opsize;
    uint32_t sp = sp_get(v), mask = sp_mask(v);
    for (int r = 0; r < 8; r++) {
        uint32_t val = v->r[r];
        mem_write(v, S_SS, (sp - (uint32_t)(r + 1) * size) & mask, val, size);
    }
    sp_set(v, sp - 8 * size);
}

/* POPA/POPAD: the reverse, discarding the saved ESP. */
static void exec_popa(struct vcpu *v, const struct insn *in)
{
    unsigned size = in->opsize;
    uint32_t sp = sp_get(v), mask = sp_mask(v);
    uint32_t val[8];
    for (int r = 7; r >= 0; r--)
        val[r] = mem_read(v, S_SS, (sp + (uint32_t)(7 - r) * size) & mask, size);
    for (int r = 0; r < 8; r++)
        if (r != R_ESP) gpr_set(v, r, (int)size, val[r]);
    sp_set(v, sp + 8 * size);
}

/* ENTER imm16, imm8 (SDM ENTER, non-64-bit pseudocode). Frame pointers are
 * read at [SS:EBP - i*size] with the stack's address size; EBP is written at
 * the operand size, ESP at the stack size. Every write happens before any
 * register changes; the final ESP must be writable (as hardware checks). */
static void exec_enter(struct vcpu *v, const struct insn *in)
{
    unsigned size = in->opsize;
    uint32_t alloc = in->op[0].disp & 0xffff;
    unsigned level = in->op[1].disp & 31;
    uint32_t mask = sp_mask(v);
    uint32_t sp = sp_get(v);
    uint32_t bp = v->r[R_EBP] & mask;

    sp = (sp - size) & mask;
    mem_write(v, S_SS, sp, v->r[R_EBP], size);
    uint32_t frame = sp;
    if (level > 0) {
        for (unsigned i = 1; i < level; i++) {
            uint32_t x = mem_read(v, S_SS, (bp - i * size) & mask, size);
            sp = (sp - size) & mask;
            mem_write(v, S_SS, sp, x, size);
        }
        sp = (sp - size) & mask;
        mem_write(v, S_SS, sp, frame, size);
    }
    sp = (sp - alloc) & mask;
    (void)mem_read_for_write(v, S_SS, sp, size);
    gpr_set(v, R_EBP, (int)size, frame);
    sp_set(v, sp);
}

/* LEAVE: ESP = EBP (stack size), then pop EBP (operand size). */
static void exec_leave(struct vcpu *v, const struct insn *in)
{
    unsigned size = in->opsize;
    uint32_t sp = v->r[R_EBP] & sp_mask(v);
    uint32_t val = mem_read(v, S_SS, sp, size);
    sp_set(v, sp + size);
    gpr_set(v, R_EBP, (int)size, val);
}

/* --- atomics --- */

/* CMPXCHG r/m, r: compare the accumulator with the destination. The memory
 * form always writes the destination (the old value on failure). */
static void exec_cmpxchg(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0];
    unsigned size = d->size;
    uint32_t ea = 0;
    uint32_t acc = gpr_get(v, R_EAX, (int)size);
    uint32_t src = gpr_get(v, in->op[1].reg, (int)size);
    if ((in->prefix & PFX_LOCK) && d->kind == OPND_MEM) {
        uint8_t *p = lock_ptr(v, d->seg, opnd_ea(v, in, d), size);
        if (p) { /* a host compare-and-swap: on failure `cur` is the value seen */
            uint32_t cur = acc;
            if (!lock_cas(p, size, &cur, src)) gpr_set(v, R_EAX, (int)size, cur);
            flags_set_arith(v, host_cmp_flags(acc, cur, size));
            return;
        }
        lock_excl_enter(v); /* exec_locked leaves it */
    }
    uint32_t dst = opnd_read_rmw(v, in, d, &ea);
    uint32_t f = host_cmp_flags(acc, dst, size);
    if (f & F_ZF) {
        opnd_write_ea(v, d, ea, src);
    } else {
        if (d->kind == OPND_MEM) opnd_write_ea(v, d, ea, dst);
        gpr_set(v, R_EAX, (int)size, dst);
    }
    flags_set_arith(v, f);
}

/* CMPXCHG8B m64: EDX:EAX against m64; ECX:EBX stored on success, the old
 * value written back on failure. Only ZF changes. Both halves are checked
 * writable before anything is stored. */
static void exec_cmpxchg8b(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0];
    uint32_t ea = opnd_ea(v, in, d);
    uint32_t hi_ea = in->addrsize == 2 ? ((ea + 4) & 0xffff) : ea + 4;
    if (in->prefix & PFX_LOCK) {
        uint8_t *p = hi_ea == ea + 4 ? lock_ptr(v, d->seg, ea, 8) : 0;
        if (p) {
            uint64_t cur = (uint64_t)v->r[R_EDX] << 32 | v->r[R_EAX];
            uint64_t val = (uint64_t)v->r[R_ECX] << 32 | v->r[R_EBX];
            if (__atomic_compare_exchange_n((uint64_t *)(void *)p, &cur, val, false, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST)) {
                v->eflags |= F_ZF;
            } else {
                v->r[R_EAX] = (uint32_t)cur;
                v->r[R_EDX] = (uint32_t)(cur >> 32);
                v->eflags &= ~F_ZF;
            }
            return;
        }
        lock_excl_enter(v); /* exec_locked leaves it */
    }
    (void)seg_lin_write(v, d->seg, ea, 8);
    uint32_t lo = mem_read_for_write(v, d->seg, ea, 4);
    uint32_t hi = mem_read_for_write(v, d->seg, hi_ea, 4);
    if (lo == v->r[R_EAX] && hi == v->r[R_EDX]) {
        mem_write(v, d->seg, ea, v->r[R_EBX], 4);
        mem_write(v, d->seg, hi_ea, v->r[R_ECX], 4);
        v->eflags |= F_ZF;
    } else {
        mem_write(v, d->seg, ea, lo, 4);
        mem_write(v, d->seg, hi_ea, hi, 4);
        v->r[R_EAX] = lo;
        v->r[R_EDX] = hi;
        v->eflags &= ~F_ZF;
    }
}

/* XADD r/m, r: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (flags of ADD). */
static void exec_xadd(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0];
    unsigned size = d->size;
    uint32_t ea = 0;
    uint32_t src = gpr_get(v, in->op[1].reg, (int)size);
    if ((in->prefix & PFX_LOCK) && d->kind == OPND_MEM) {
        uint8_t *p = lock_ptr(v, d->seg, opnd_ea(v, in, d), size);
        if (p) {
            uint32_t old = lock_fetch_add(p, size, src);
            gpr_set(v, in->op[1].reg, (int)size, old);
            flags_set_arith(v, host_add_flags(old, src, size));
            return;
        }
        lock_excl_enter(v); /* exec_locked leaves it */
    }
    uint32_t dst = opnd_read_rmw(v, in, d, &ea);
    uint32_t f = host_add_flags(dst, src, size);
    if (d->kind == OPND_MEM) {
        opnd_write_ea(v, d, ea, dst + src);
        gpr_set(v, in->op[1].reg, (int)size, dst);
    } else {
        gpr_set(v, in->op[1].reg, (int)size, dst);
        gpr_set(v, d->reg, (int)size, dst + src); /* XADD r,r with the same register: the sum wins */
    }
    flags_set_arith(v, f);
}

/* BOUND r, m: #BR unless lower <= index <= upper (signed, operand size). */
static void exec_bound(struct vcpu *v, const struct insn *in)
{
    const struct opnd *m = &in->op[1];
    unsigned size = in->op[0].size;
    uint32_t ea = opnd_ea(v, in, m);
    uint32_t ea2 = in->addrsize == 2 ? ((ea + size) & 0xffff) : ea + size;
    uint32_t lo = mem_read(v, m->seg, ea, size);
    uint32_t hi = mem_read(v, m->seg, ea2, size);
    uint32_t idx = gpr_get(v, in->op[0].reg, (int)size);
    int32_t sidx, slo, shi;
    if (size == 2) {
        sidx = (int16_t)idx;
        slo = (int16_t)lo;
        shi = (int16_t)hi;
    } else {
        sidx = (int32_t)idx;
        slo = (int32_t)lo;
        shi = (int32_t)hi;
    }
    if (sidx < slo || sidx > shi) cpu_fault(v, EXC_BR);
}

void interp_register_move(insn_exec_fn *t)
{
    t[X86_INS_MOV] = exec_mov;
    t[X86_INS_MOVZX] = exec_movzx;
    t[X86_INS_MOVSX] = exec_movsx;
    t[X86_INS_XCHG] = exec_xchg;
    t[X86_INS_LEA] = exec_lea;
    t[X86_INS_NOP] = exec_nop;
    t[X86_INS_PAUSE] = exec_pause;
    t[X86_INS_PUSH] = exec_push;
    t[X86_INS_POP] = exec_pop;
    t[X86_INS_PUSHAW] = exec_pusha;
    t[X86_INS_PUSHAL] = exec_pusha;
    t[X86_INS_POPAW] = exec_popa;
    t[X86_INS_POPAL] = exec_popa;
    t[X86_INS_ENTER] = exec_enter;
    t[X86_INS_LEAVE] = exec_leave;
    t[X86_INS_CMPXCHG] = exec_cmpxchg;
    t[X86_INS_CMPXCHG8B] = exec_cmpxchg8b;
    t[X86_INS_XADD] = exec_xadd;
    t[X86_INS_BOUND] = exec_bound;
}
