/* Interpreter handlers for the system family: CLI/STI, PUSHF/POPF, MOV
 * CRn/DRn, CLTS/LMSW/SMSW, port I/O, INT/INT3/INTO/INT1, IRET, HLT, INVLPG,
 * CPUID, RDMSR/WRMSR, RDTSC/RDPMC, SYSENTER/SYSEXIT, INVD/WBINVD and UD2.
 * Each decodes the record's operands and calls the one VMM handler through
 * vmm_call (cpu/vmm_flags.c, vmm_cr.c, vmm_io.c, vmm_int.c, cpuid.c, msr.c),
 * which counts the exit under its VT-x reason. */
#include <capstone/capstone.h>

#include "cpu/fault.h"
#include "cpu/interp.h"
#include "cpu/operand.h"
#include "cpu/vmm.h"

static void exec_cli(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_cli, NULL); }
static void exec_sti(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_sti, NULL); }
static void exec_hlt(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_hlt, NULL); }
static void exec_cpuid(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_cpuid, NULL); }
static void exec_rdmsr(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_rdmsr, NULL); }
static void exec_wrmsr(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_wrmsr, NULL); }
static void exec_rdtsc(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_rdtsc, NULL); }
static void exec_rdpmc(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_rdpmc, NULL); }
static void exec_sysenter(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_sysenter, NULL); }
static void exec_sysexit(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_sysexit, NULL); }
static void exec_invd(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_invd, NULL); }
static void exec_wbinvd(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_wbinvd, NULL); }
static void exec_clts(struct vcpu *v, const struct insn *in) { (void)in; vmm_call(v, VMM_clts, NULL); }

static void exec_pushf(struct vcpu *v, const struct insn *in)
{
    uint32_t a[1] = { in->opsize };
    vmm_call(v, VMM_pushf, a);
}

static void exec_popf(struct vcpu *v, const struct insn *in)
{
    uint32_t a[1] = { in->opsize };
    vmm_call(v, VMM_popf, a);
}

static void exec_iret(struct vcpu *v, const struct insn *in)
{
    uint32_t a[1] = { in->opsize };
    if (__builtin_expect(v->nmi_blocked, 0)) { /* IRET ends NMI blocking: look for a waiting NMI */
        v->nmi_blocked = 0;
        v->irq_req = 1;
    }
    vmm_call(v, VMM_iret, a);
}

static void int_sw(struct vcpu *v, uint32_t vector, uint32_t kind)
{
    uint32_t a[2] = { vector, kind };
    vmm_call(v, VMM_int_sw, a);
}

static void exec_int(struct vcpu *v, const struct insn *in) { int_sw(v, in->op[0].disp & 0xff, INTSW_INTN); }
static void exec_int3(struct vcpu *v, const struct insn *in) { (void)in; int_sw(v, 3, INTSW_INT3); }
static void exec_into(struct vcpu *v, const struct insn *in) { (void)in; int_sw(v, 4, INTSW_INTO); }
static void exec_int1(struct vcpu *v, const struct insn *in) { (void)in; int_sw(v, 1, INTSW_ICEBP); }

static void exec_ud2(struct vcpu *v, const struct insn *in)
{
    (void)in;
    cpu_ud(v);
}

/* The port of IN/OUT: an imm8 operand or DX. */
static uint32_t io_port(const struct vcpu *v, const struct opnd *o)
{
    return o->kind == OPND_IMM ? (o->disp & 0xff) : (v->r[R_EDX] & 0xffff);
}

static void exec_in(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0];
    uint32_t a[2] = { io_port(v, &in->op[1]), d->size };
    uint32_t val = (uint32_t)vmm_call(v, VMM_in, a);
    gpr_set(v, R_EAX, d->size, val);
}

static void exec_out(struct vcpu *v, const struct insn *in)
{
    const struct opnd *s = &in->op[1];
    uint32_t a[3] = { io_port(v, &in->op[0]), s->size, gpr_get(v, R_EAX, s->size) };
    vmm_call(v, VMM_out, a);
}

static unsigned string_io_size(const struct insn *in)
{
    switch (in->id) {
    case X86_INS_INSB: case X86_INS_OUTSB: return 1;
    case X86_INS_INSW: case X86_INS_OUTSW: return 2;
    default: return 4;
    }
}

/* F3 and F2 both repeat INS/OUTS. */
static uint32_t string_io_rep(const struct insn *in)
{
    return (in->prefix & (PFX_REP | PFX_REPNE)) != 0;
}

static void exec_ins(struct vcpu *v, const struct insn *in)
{
    uint32_t a[4] = { string_io_size(in), in->addrsize, string_io_rep(in), 0 };
    vmm_call(v, VMM_ins, a);
}

static void exec_outs(struct vcpu *v, const struct insn *in)
{
    uint32_t seg = S_DS;
    for (int i = 0; i < in->nopnd; i++)
        if (in->op[i].kind == OPND_MEM) seg = in->op[i].seg;
    uint32_t a[4] = { string_io_size(in), in->addrsize, string_io_rep(in), seg };
    vmm_call(v, VMM_outs, a);
}

static void exec_invlpg(struct vcpu *v, const struct insn *in)
{
    const struct opnd *m = &in->op[0];
    if (m->kind != OPND_MEM) cpu_ud(v);
    uint32_t a[1] = { v->seg[m->seg].base + opnd_ea(v, in, m) };
    vmm_call(v, VMM_invlpg, a);
}

static void exec_lmsw(struct vcpu *v, const struct insn *in)
{
    const struct opnd *o = &in->op[0];
    uint32_t val = o->kind == OPND_MEM ? mem_read(v, o->seg, opnd_ea(v, in, o), 2) : gpr_get(v, o->reg, 2);
    uint32_t a[1] = { val };
    vmm_call(v, VMM_lmsw, a);
}

/* SMSW: memory gets 16 bits; a register gets the operand size (a 32-bit
 * register receives all of CR0, as P6-family CPUs store it). */
static void exec_smsw(struct vcpu *v, const struct insn *in)
{
    const struct opnd *o = &in->op[0];
    uint32_t cr0 = (uint32_t)vmm_call(v, VMM_smsw, NULL);
    if (o->kind == OPND_MEM) mem_write(v, o->seg, opnd_ea(v, in, o), cr0 & 0xffff, 2);
    else gpr_set(v, o->reg, o->size == 4 ? 4 : 2, cr0);
}

/* MOV CRn/DRn forms, forwarded by MOV's handler. The general register is
 * always 32 bits (0F 20-23 ignore the operand size). */
void exec_mov_crdr(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    if (d->kind == OPND_REG && (d->rclass == RC_CR || d->rclass == RC_DR) && s->kind == OPND_REG &&
        s->rclass == RC_GPR) {
        uint32_t a[2] = { d->reg, v->r[s->reg & 7] };
        vmm_call(v, d->rclass == RC_CR ? VMM_mov_to_cr : VMM_mov_to_dr, a);
        return;
    }
    if (s->kind == OPND_REG && (s->rclass == RC_CR || s->rclass == RC_DR) && d->kind == OPND_REG &&
        d->rclass == RC_GPR) {
        uint32_t a[1] = { s->reg };
        v->r[d->reg & 7] = (uint32_t)vmm_call(v, s->rclass == RC_CR ? VMM_mov_from_cr : VMM_mov_from_dr, a);
        return;
    }
    cpu_ud(v);
}

void interp_register_system(insn_exec_fn *t)
{
    t[X86_INS_CLI] = exec_cli;
    t[X86_INS_STI] = exec_sti;
    t[X86_INS_PUSHF] = exec_pushf;
    t[X86_INS_PUSHFD] = exec_pushf;
    t[X86_INS_POPF] = exec_popf;
    t[X86_INS_POPFD] = exec_popf;
    t[X86_INS_INT] = exec_int;
    t[X86_INS_INT3] = exec_int3;
    t[X86_INS_INTO] = exec_into;
    t[X86_INS_INT1] = exec_int1;
    t[X86_INS_IRET] = exec_iret;
    t[X86_INS_IRETD] = exec_iret;
    t[X86_INS_IN] = exec_in;
    t[X86_INS_OUT] = exec_out;
    t[X86_INS_INSB] = exec_ins;
    t[X86_INS_INSW] = exec_ins;
    t[X86_INS_INSD] = exec_ins;
    t[X86_INS_OUTSB] = exec_outs;
    t[X86_INS_OUTSW] = exec_outs;
    t[X86_INS_OUTSD] = exec_outs;
    t[X86_INS_HLT] = exec_hlt;
    t[X86_INS_INVLPG] = exec_invlpg;
    t[X86_INS_CPUID] = exec_cpuid;
    t[X86_INS_RDMSR] = exec_rdmsr;
    t[X86_INS_WRMSR] = exec_wrmsr;
    t[X86_INS_RDTSC] = exec_rdtsc;
    t[X86_INS_RDPMC] = exec_rdpmc;
    t[X86_INS_SYSENTER] = exec_sysenter;
    t[X86_INS_SYSEXIT] = exec_sysexit;
    t[X86_INS_INVD] = exec_invd;
    t[X86_INS_WBINVD] = exec_wbinvd;
    t[X86_INS_CLTS] = exec_clts;
    t[X86_INS_LMSW] = exec_lmsw;
    t[X86_INS_SMSW] = exec_smsw;
    t[X86_INS_UD2] = exec_ud2;
}
