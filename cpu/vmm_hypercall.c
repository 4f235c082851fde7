/* VMCALL (0F 01 C1) and AMD's VMMCALL (0F 01 D9): bt86's hypercall
 * instruction, with KVM's ABI (Linux include/uapi/linux/kvm_para.h and
 * Documentation/virt/kvm/x86/hypercalls.rst): the number in EAX, arguments
 * in EBX, ECX, EDX, ESI, the result in EAX, no other register changed.
 *   1  KVM_HC_VAPIC_POLL_IRQ  returns 0 (pending interrupts are looked at
 *                             after every instruction anyway)
 *   5  KVM_HC_KICK_CPU        EBX flags, ECX APIC ID: wakes that vCPU from
 *                             HLT; returns 0 (also for an unknown APIC ID)
 *   11 KVM_HC_SCHED_YIELD     ECX APIC ID: returns 0 (one host thread per
 *                             vCPU: there is nothing to yield to)
 *   other numbers             -KVM_ENOSYS (-1000)
 * At CPL > 0 (and in VM86) every call returns -KVM_EPERM (-1), as KVM does.
 * Both instructions are counted under the VMCALL exit reason (18). */
#include "cpu/fault.h"
#include "cpu/insn.h"
#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"

#define KVM_ENOSYS 1000
#define KVM_EPERM  1

#define KVM_HC_VAPIC_POLL_IRQ 1
#define KVM_HC_KICK_CPU       5
#define KVM_HC_SCHED_YIELD    11

const char *vmm_hypercall_name(uint32_t nr)
{
    switch (nr) {
    case KVM_HC_VAPIC_POLL_IRQ: return "VAPIC_POLL_IRQ";
    case KVM_HC_KICK_CPU: return "KICK_CPU";
    case KVM_HC_SCHED_YIELD: return "SCHED_YIELD";
    default: return "unknown";
    }
}

static uint32_t kick_cpu(struct vcpu *v, uint32_t apic_id)
{
    struct machine *m = v->m;
    for (int i = 0; m && i < m->ncpu; i++) {
        struct vcpu *t = m->cpu[i];
        if (t && t->index == (int)apic_id && t != v) t->halted = 0;
    }
    return 0;
}

void vmm_vmcall(struct vcpu *v)
{
    uint32_t nr = v->r[R_EAX];
    uint32_t ret;
    if (v->cpl != 0) {
        ret = (uint32_t)-KVM_EPERM;
    } else {
        switch (nr) {
        case KVM_HC_VAPIC_POLL_IRQ: ret = 0; break;
        case KVM_HC_KICK_CPU: ret = kick_cpu(v, v->r[R_ECX]); break;
        case KVM_HC_SCHED_YIELD: ret = 0; break;
        default: ret = (uint32_t)-KVM_ENOSYS; break;
        }
    }
    v->r[R_EAX] = ret;
}

/* The interpreter's handler for both encodings (the translator calls it
 * through its fallback stub); cpu/decode.c installs it. */
void exec_vmcall(struct vcpu *v, const struct insn *in)
{
    (void)in;
    vmm_call(v, VMM_vmcall, NULL);
}
