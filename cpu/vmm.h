/* The VMM: the one place that handles privileged and sensitive instructions
 * (the table in cpu/vmm_callouts.def), counted by exit reason. */
#ifndef BT86_CPU_VMM_H
#define BT86_CPU_VMM_H

#include <stdint.h>

#include "cpu/exit_reason.h"

struct vcpu;

enum vmm_callout_id {
#define VMM_CALLOUT(name, reason, sig) VMM_##name,
#include "cpu/vmm_callouts.def"
#undef VMM_CALLOUT
    VMM_CALLOUT_COUNT
};

/* Handler prototypes are derived from the signature strings by hand here. */
void vmm_cli(struct vcpu *v);
void vmm_sti(struct vcpu *v);
void vmm_pushf(struct vcpu *v, uint32_t opsize);
void vmm_popf(struct vcpu *v, uint32_t opsize);
void vmm_mov_to_cr(struct vcpu *v, uint32_t cr, uint32_t val);
uint32_t vmm_mov_from_cr(struct vcpu *v, uint32_t cr);
void vmm_clts(struct vcpu *v);
void vmm_lmsw(struct vcpu *v, uint32_t val);
uint32_t vmm_smsw(struct vcpu *v);
void vmm_mov_to_dr(struct vcpu *v, uint32_t dr, uint32_t val);
uint32_t vmm_mov_from_dr(struct vcpu *v, uint32_t dr);
void vmm_lgdt(struct vcpu *v, uint32_t seg, uint32_t off, uint32_t opsize);
void vmm_lidt(struct vcpu *v, uint32_t seg, uint32_t off, uint32_t opsize);
void vmm_sgdt(struct vcpu *v, uint32_t seg, uint32_t off);
void vmm_sidt(struct vcpu *v, uint32_t seg, uint32_t off);
void vmm_lldt(struct vcpu *v, uint32_t sel);
void vmm_ltr(struct vcpu *v, uint32_t sel);
uint32_t vmm_sldt(struct vcpu *v);
uint32_t vmm_str(struct vcpu *v);
uint64_t vmm_lar(struct vcpu *v, uint32_t sel);
uint64_t vmm_lsl(struct vcpu *v, uint32_t sel);
void vmm_verr(struct vcpu *v, uint32_t sel);
void vmm_verw(struct vcpu *v, uint32_t sel);
void vmm_load_seg(struct vcpu *v, uint32_t seg, uint32_t sel);
void vmm_far_jmp(struct vcpu *v, uint32_t sel, uint32_t off, uint32_t opsize);
void vmm_far_call(struct vcpu *v, uint32_t sel, uint32_t off, uint32_t opsize);
void vmm_far_ret(struct vcpu *v, uint32_t opsize, uint32_t release);
void vmm_int_sw(struct vcpu *v, uint32_t vector, uint32_t kind);
void vmm_iret(struct vcpu *v, uint32_t opsize);
uint32_t vmm_in(struct vcpu *v, uint32_t port, uint32_t size);
void vmm_out(struct vcpu *v, uint32_t port, uint32_t size, uint32_t val);
void vmm_ins(struct vcpu *v, uint32_t size, uint32_t addrsize, uint32_t rep, uint32_t unused);
void vmm_outs(struct vcpu *v, uint32_t size, uint32_t addrsize, uint32_t rep, uint32_t seg);
void vmm_hlt(struct vcpu *v);
void vmm_invlpg(struct vcpu *v, uint32_t lin);
void vmm_cpuid(struct vcpu *v);
void vmm_rdmsr(struct vcpu *v);
void vmm_wrmsr(struct vcpu *v);
void vmm_rdtsc(struct vcpu *v);
void vmm_rdpmc(struct vcpu *v);
void vmm_sysenter(struct vcpu *v);
void vmm_sysexit(struct vcpu *v);
void vmm_invd(struct vcpu *v);
void vmm_wbinvd(struct vcpu *v);
void vmm_vmcall(struct vcpu *v);

/* cpu/vmm_hypercall.c: the interpreter handler of VMCALL and VMMCALL, and
 * the name of a hypercall number ("unknown" for the unimplemented). */
struct insn;
void exec_vmcall(struct vcpu *v, const struct insn *in);
const char *vmm_hypercall_name(uint32_t nr);

/* int_sw kinds */
#define INTSW_INTN  0
#define INTSW_INT3  1
#define INTSW_INTO  2
#define INTSW_ICEBP 3

struct vmm_callout {
    const char *name;
    enum exit_reason reason;
    const char *sig;
    void (*fn)(void);
};
extern const struct vmm_callout vmm_callouts[VMM_CALLOUT_COUNT];

int vmm_init(void); /* builds the libffi call interfaces; 0 or -1 */

/* Call a handler with up to 4 uint32 arguments after the vCPU; counts the
 * entry under its exit reason. With v->obs set it also times and traces it
 * (cpu/vmm_trace.h) and calls through libffi; without, directly through a
 * pointer of the handler's own type. Returns the handler's result (0 for
 * void). */
uint64_t vmm_call(struct vcpu *v, enum vmm_callout_id id, const uint32_t *args);

/* Count a VMM entry that is not a callout (exception delivery, interrupts). */
void vmm_count(struct vcpu *v, enum exit_reason r);

#endif
