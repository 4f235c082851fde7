/* Delivering exceptions and interrupts: real-mode IVT, protected-mode IDT
 * (interrupt, trap and task gates), privilege changes with the TSS stack
 * switch, error codes, and the double/triple fault rules. */
#ifndef BT86_CPU_INTERRUPT_H
#define BT86_CPU_INTERRUPT_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

enum int_kind {
    INT_EXCEPTION, /* fault or trap raised by the CPU: no gate DPL check */
    INT_SOFTWARE,  /* INT n, INT3, INTO: gate DPL >= CPL checked, #GP(vec*8+2) otherwise */
    INT_EXTERNAL,  /* from the interrupt controller: error codes carry EXT=1 */
};

/* Deliver vector with the given return EIP. On a fault during delivery, this
 * escalates to #DF / triple fault as the SDM's table says (v->stop is set to
 * STOP_TRIPLE_FAULT and REQ_STOP raised on a triple fault). */
void cpu_interrupt(struct vcpu *v, int vector, enum int_kind kind, bool has_err, uint32_t err,
                   uint32_t return_eip);

/* Deliver the fault recorded by cpu_fault() (v->fault_vec/err) with return EIP
 * v->insn_eip, applying the double-fault rules when it was raised while another
 * event was being delivered (v->delivering >= 0). Called by the run loop. */
void cpu_deliver_fault(struct vcpu *v);

/* Whether the vector pushes an error code when raised as an exception. */
bool exception_has_error_code(int vector);

#endif
