/* Direct VMM entries for the sensitive instructions the translator leaves to
 * the VMM (those gen_sensitive in bt_gen.c does not inline). The
 * interpreter's handlers (cpu/exec_system.c) enter the VMM through vmm_call,
 * which calls the handler through libffi: ~15-20 ns per entry, a fifth of
 * a SYSENTER/SYSEXIT round trip. Translated code runs these wrappers
 * instead: the same operands, the same exit counting (vmm_count with the
 * callout's reason) and the same handler, called directly. They are used
 * only when the vCPU has no observer (v->obs == NULL at translation time),
 * which is exactly when vmm_call itself does no more than count and call;
 * under -stats/-trace the records keep the interpreter's handlers, so every
 * entry is timed and traced. Each wrapper mirrors its exec_* in
 * cpu/exec_system.c: keep them in step. */
#include <capstone/capstone.h>

#include "cpu/fault.h"
#include "cpu/interp.h"
#include "cpu/operand.h"
#include "cpu/vmm.h"
#include "translator/bt_internal.h"

#define COUNT(v, name) vmm_count(v, vmm_callouts[VMM_##name].reason)

#define DIRECT0(name)                                          \
    static void d_##name(struct vcpu *v, const struct insn *in) \
    {                                                          \
        (void)in;                                              \
        COUNT(v, name);                                        \
        vmm_##name(v);                                         \
    }

DIRECT0(cli)
DIRECT0(sti)
DIRECT0(hlt)
DIRECT0(cpuid)
DIRECT0(rdmsr)
DIRECT0(wrmsr)
DIRECT0(rdtsc)
DIRECT0(sysenter)
DIRECT0(sysexit)
DIRECT0(clts)

static void d_pushf(struct vcpu *v, const struct insn *in)
{
    COUNT(v, pushf);
    vmm_pushf(v, in->opsize);
}

static void d_popf(struct vcpu *v, const struct insn *in)
{
    COUNT(v, popf);
    vmm_popf(v, in->opsize);
}

static void d_iret(struct vcpu *v, const struct insn *in)
{
    if (__builtin_expect(v->nmi_blocked, 0)) { /* IRET ends NMI blocking (as exec_iret) */
        v->nmi_blocked = 0;
        v->irq_req = 1;
    }
    COUNT(v, iret);
    vmm_iret(v, in->opsize);
}

static void d_int(struct vcpu *v, const struct insn *in)
{
    COUNT(v, int_sw);
    vmm_int_sw(v, in->op[0].disp & 0xff, INTSW_INTN);
}

static uint32_t io_port(const struct vcpu *v, const struct opnd *o)
{
    return o->kind == OPND_IMM ? (o->disp & 0xff) : (v->r[R_EDX] & 0xffff);
}

static void d_in(struct vcpu *v, const struct insn *in)
{
    const struct opnd *d = &in->op[0];
    uint32_t port = io_port(v, &in->op[1]);
    COUNT(v, in);
    gpr_set(v, R_EAX, d->size, vmm_in(v, port, d->size));
}

static void d_out(struct vcpu *v, const struct insn *in)
{
    const struct opnd *s = &in->op[1];
    uint32_t port = io_port(v, &in->op[0]);
    COUNT(v, out);
    vmm_out(v, port, s->size, gpr_get(v, R_EAX, s->size));
}

static void d_invlpg(struct vcpu *v, const struct insn *in)
{
    const struct opnd *m = &in->op[0];
    if (m->kind != OPND_MEM) cpu_ud(v);
    uint32_t lin = v->seg[m->seg].base + opnd_ea(v, in, m);
    COUNT(v, invlpg);
    vmm_invlpg(v, lin);
}

insn_exec_fn bt_vmm_direct(const struct insn *in)
{
    /* Only records that run the plain handler of their id (not, e.g., a
     * LOCK-prefixed form's #UD). */
    if (in->id >= X86_INS_ENDING || in->exec != interp_exec_table[in->id]) return NULL;
    switch (in->id) {
    case X86_INS_CLI: return d_cli;
    case X86_INS_STI: return d_sti;
    case X86_INS_HLT: return d_hlt;
    case X86_INS_CPUID: return d_cpuid;
    case X86_INS_RDMSR: return d_rdmsr;
    case X86_INS_WRMSR: return d_wrmsr;
    case X86_INS_RDTSC: return d_rdtsc;
    case X86_INS_SYSENTER: return d_sysenter;
    case X86_INS_SYSEXIT: return d_sysexit;
    case X86_INS_CLTS: return d_clts;
    case X86_INS_PUSHF: case X86_INS_PUSHFD: return d_pushf;
    case X86_INS_POPF: case X86_INS_POPFD: return d_popf;
    case X86_INS_IRET: case X86_INS_IRETD: return d_iret;
    case X86_INS_INT: return in->nopnd == 1 && in->op[0].kind == OPND_IMM ? d_int : NULL;
    case X86_INS_IN: return in->nopnd == 2 ? d_in : NULL;
    case X86_INS_OUT: return in->nopnd == 2 ? d_out : NULL;
    case X86_INS_INVLPG: return in->nopnd == 1 ? d_invlpg : NULL;
    default: return NULL;
    }
}
