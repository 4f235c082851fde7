/* Interpreter handlers for the segment family: MOV to/from segment registers,
 * LDS/LES/LFS/LGS/LSS, far JMP/CALL/RET, LGDT/LIDT/SGDT/SIDT, LLDT/LTR/SLDT/STR,
 * LAR/LSL/VERR/VERW and ARPL. Each decodes the record's operands and calls the
 * one VMM handler through vmm_call (cpu/vmm_far.c, cpu/vmm_segment.c), which
 * counts the exit. PUSH/POP of segment registers live in cpu/exec_move.c. */
#include <capstone/capstone.h>

#include "cpu/fault.h"
#include "cpu/interp.h"
#include "cpu/operand.h"
#include "cpu/vmm.h"

/* Default for the CR/DR forms of MOV until cpu/exec_system.c defines it. */
__attribute__((weak)) void exec_mov_crdr(struct vcpu *v, const struct insn *in)
{
    (void)in;
    cpu_ud(v);
}

static inline bool real_like(const struct vcpu *v)
{
    return !vcpu_protected(v) || vcpu_vm86(v);
}

static inline void set_zf(struct vcpu *v, bool zf)
{
    v->eflags = (v->eflags & ~F_ZF) | (zf ? F_ZF : 0);
}

/* A 16-bit selector operand (register or word in memory). */
static uint32_t read_sel(struct vcpu *v, const struct insn *in, const struct opnd *o)
{
    if (o->kind == OPND_REG && o->rclass == RC_GPR) return gpr_get(v, o->reg, 2);
    if (o->kind == OPND_MEM) return mem_read(v, o->seg, opnd_ea(v, in, o), 2);
    cpu_ud(v);
}

/* Store a selector-sized result: a register gets the operand size (zero-
 * extended), memory always 16 bits. */
static void write_sel(struct vcpu *v, const struct insn *in, const struct opnd *o, uint32_t val)
{
    if (o->kind == OPND_REG && o->rclass == RC_GPR) gpr_set(v, o->reg, o->size == 4 ? 4 : 2, val & 0xffff);
    else if (o->kind == OPND_MEM) mem_write(v, o->seg, opnd_ea(v, in, o), val, 2);
    else cpu_ud(v);
}

/* Offset then selector of an m16:16 / m16:32 far pointer. */
static void read_far_ptr(struct vcpu *v, const struct insn *in, const struct opnd *o, uint32_t *sel, uint32_t *off)
{
    uint32_t ea = opnd_ea(v, in, o);
    uint32_t amask = in->addrsize == 2 ? 0xffffu : 0xffffffffu;
    *off = mem_read(v, o->seg, ea, in->opsize);
    *sel = mem_read(v, o->seg, (ea + in->opsize) & amask, 2);
}

void exec_mov_special(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    if (d->kind == OPND_REG && d->rclass == RC_SEG) {
        /* MOV Sreg, r/m16 */
        if (d->reg == S_CS || d->reg >= S_COUNT) cpu_ud(v);
        uint32_t args[2] = { d->reg, read_sel(v, in, s) };
        vmm_call(v, VMM_load_seg, args);
        if (d->reg == S_SS) v->irq_shadow = 1; /* no interrupt before the next instruction */
        return;
    }
    if (s->kind == OPND_REG && s->rclass == RC_SEG) {
        /* MOV r/m, Sreg */
        if (s->reg >= S_COUNT) cpu_ud(v);
        write_sel(v, in, d, v->seg[s->reg].sel);
        return;
    }
    exec_mov_crdr(v, in);
}

/* LDS/LES/LFS/LGS/LSS r, m16:16/32: the segment load comes before the GPR
 * write, so a faulting selector leaves the register unchanged. */
static void exec_lxs(struct vcpu *v, const struct insn *in, int seg)
{
    const struct opnd *d = &in->op[0], *m = &in->op[1];
    if (m->kind != OPND_MEM || d->kind != OPND_REG) cpu_ud(v);
    uint32_t sel, off;
    read_far_ptr(v, in, m, &sel, &off);
    uint32_t args[2] = { (uint32_t)seg, sel };
    vmm_call(v, VMM_load_seg, args);
    gpr_set(v, d->reg, in->opsize, off);
}

static void exec_lds(struct vcpu *v, const struct insn *in) { exec_lxs(v, in, S_DS); }
static void exec_les(struct vcpu *v, const struct insn *in) { exec_lxs(v, in, S_ES); }
static void exec_lfs(struct vcpu *v, const struct insn *in) { exec_lxs(v, in, S_FS); }
static void exec_lgs(struct vcpu *v, const struct insn *in) { exec_lxs(v, in, S_GS); }
static void exec_lss(struct vcpu *v, const struct insn *in) { exec_lxs(v, in, S_SS); }

/* JMP/CALL far: ptr16:16/32 (op[0] selector, op[1] offset) or m16:16/32. */
static void far_target(struct vcpu *v, const struct insn *in, uint32_t *sel, uint32_t *off)
{
    if (in->nopnd == 2 && in->op[0].kind == OPND_IMM && in->op[1].kind == OPND_IMM) {
        *sel = in->op[0].disp & 0xffff;
        *off = in->op[1].disp;
    } else if (in->op[0].kind == OPND_MEM) {
        read_far_ptr(v, in, &in->op[0], sel, off);
    } else {
        cpu_ud(v);
    }
}

static void exec_ljmp(struct vcpu *v, const struct insn *in)
{
    uint32_t sel, off;
    far_target(v, in, &sel, &off);
    uint32_t args[3] = { sel, off, in->opsize };
    vmm_call(v, VMM_far_jmp, args);
}

static void exec_lcall(struct vcpu *v, const struct insn *in)
{
    uint32_t sel, off;
    far_target(v, in, &sel, &off);
    uint32_t args[3] = { sel, off, in->opsize };
    vmm_call(v, VMM_far_call, args);
}

static void exec_retf(struct vcpu *v, const struct insn *in)
{
    uint32_t release = (in->nopnd == 1 && in->op[0].kind == OPND_IMM) ? in->op[0].disp & 0xffff : 0;
    uint32_t args[2] = { in->opsize, release };
    vmm_call(v, VMM_far_ret, args);
}

/* LGDT/LIDT/SGDT/SIDT take a 6-byte memory operand; the register forms are #UD. */
static void exec_dtr(struct vcpu *v, const struct insn *in, enum vmm_callout_id id)
{
    const struct opnd *o = &in->op[0];
    if (o->kind != OPND_MEM) cpu_ud(v);
    uint32_t args[3] = { o->seg, opnd_ea(v, in, o), in->opsize };
    vmm_call(v, id, args);
}

static void exec_lgdt(struct vcpu *v, const struct insn *in) { exec_dtr(v, in, VMM_lgdt); }
static void exec_lidt(struct vcpu *v, const struct insn *in) { exec_dtr(v, in, VMM_lidt); }
static void exec_sgdt(struct vcpu *v, const struct insn *in) { exec_dtr(v, in, VMM_sgdt); }
static void exec_sidt(struct vcpu *v, const struct insn *in) { exec_dtr(v, in, VMM_sidt); }

/* LLDT/LTR r/m16. The #UD (real/VM86) and CPL checks come before the operand
 * is read, as on hardware; the handler repeats them for other callers. */
static void exec_lsys(struct vcpu *v, const struct insn *in, enum vmm_callout_id id)
{
    if (real_like(v)) cpu_ud(v);
    if (v->cpl != 0) cpu_gp(v, 0);
    uint32_t args[1] = { read_sel(v, in, &in->op[0]) };
    vmm_call(v, id, args);
}

static void exec_lldt(struct vcpu *v, const struct insn *in) { exec_lsys(v, in, VMM_lldt); }
static void exec_ltr(struct vcpu *v, const struct insn *in) { exec_lsys(v, in, VMM_ltr); }

static void exec_ssys(struct vcpu *v, const struct insn *in, enum vmm_callout_id id)
{
    uint32_t sel = (uint32_t)vmm_call(v, id, NULL);
    write_sel(v, in, &in->op[0], sel);
}

static void exec_sldt(struct vcpu *v, const struct insn *in) { exec_ssys(v, in, VMM_sldt); }
static void exec_str(struct vcpu *v, const struct insn *in) { exec_ssys(v, in, VMM_str); }

/* LAR/LSL r, r/m16: ZF and the destination only when the selector is valid. */
static void exec_larlsl(struct vcpu *v, const struct insn *in, enum vmm_callout_id id)
{
    const struct opnd *d = &in->op[0];
    if (real_like(v)) cpu_ud(v);
    if (d->kind != OPND_REG) cpu_ud(v);
    uint32_t args[1] = { read_sel(v, in, &in->op[1]) };
    uint64_t r = vmm_call(v, id, args);
    if (r >> 32) gpr_set(v, d->reg, in->opsize, (uint32_t)r);
    set_zf(v, (r >> 32) != 0);
}

static void exec_lar(struct vcpu *v, const struct insn *in) { exec_larlsl(v, in, VMM_lar); }
static void exec_lsl(struct vcpu *v, const struct insn *in) { exec_larlsl(v, in, VMM_lsl); }

static void exec_verx(struct vcpu *v, const struct insn *in, enum vmm_callout_id id)
{
    if (real_like(v)) cpu_ud(v);
    uint32_t args[1] = { read_sel(v, in, &in->op[0]) };
    vmm_call(v, id, args);
}

static void exec_verr(struct vcpu *v, const struct insn *in) { exec_verx(v, in, VMM_verr); }
static void exec_verw(struct vcpu *v, const struct insn *in) { exec_verx(v, in, VMM_verw); }

/* ARPL r/m16, r16: raise the destination's RPL to the source's. Not
 * privileged and no VMM entry; #UD outside protected mode. */
static void exec_arpl(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    if (real_like(v)) cpu_ud(v);
    if (s->kind != OPND_REG) cpu_ud(v);
    uint32_t ea = 0;
    uint32_t dst;
    if (d->kind == OPND_REG) dst = gpr_get(v, d->reg, 2);
    else dst = mem_read_for_write(v, d->seg, ea = opnd_ea(v, in, d), 2);
    uint32_t src = gpr_get(v, s->reg, 2);
    if ((dst & 3) < (src & 3)) {
        dst = (dst & ~3u) | (src & 3);
        if (d->kind == OPND_REG) gpr_set(v, d->reg, 2, dst);
        else mem_write(v, d->seg, ea, dst, 2);
        set_zf(v, true);
    } else {
        set_zf(v, false);
    }
}

void interp_register_segment(insn_exec_fn *t)
{
    t[X86_INS_LDS] = exec_lds;
    t[X86_INS_LES] = exec_les;
    t[X86_INS_LFS] = exec_lfs;
    t[X86_INS_LGS] = exec_lgs;
    t[X86_INS_LSS] = exec_lss;
    t[X86_INS_LJMP] = exec_ljmp;
    t[X86_INS_LCALL] = exec_lcall;
    t[X86_INS_RETF] = exec_retf;
    t[X86_INS_LGDT] = exec_lgdt;
    t[X86_INS_LIDT] = exec_lidt;
    t[X86_INS_SGDT] = exec_sgdt;
    t[X86_INS_SIDT] = exec_sidt;
    t[X86_INS_LLDT] = exec_lldt;
    t[X86_INS_LTR] = exec_ltr;
    t[X86_INS_SLDT] = exec_sldt;
    t[X86_INS_STR] = exec_str;
    t[X86_INS_LAR] = exec_lar;
    t[X86_INS_LSL] = exec_lsl;
    t[X86_INS_VERR] = exec_verr;
    t[X86_INS_VERW] = exec_verw;
    t[X86_INS_ARPL] = exec_arpl;
}
