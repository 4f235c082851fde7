/* Raising exceptions from inside an instruction. cpu_fault() never returns: it
 * records the vector and error code and longjmps to the run loop, which delivers
 * the exception with the faulting instruction's EIP (vcpu->insn_eip). Handlers
 * must therefore commit no architectural state before the last access that can
 * fault (write memory first, registers after). */
#ifndef BT86_CPU_FAULT_H
#define BT86_CPU_FAULT_H

#include <stdint.h>

struct vcpu;

_Noreturn void cpu_fault(struct vcpu *v, int vector);                 /* no error code */
_Noreturn void cpu_fault_err(struct vcpu *v, int vector, uint32_t err); /* with error code */
static inline _Noreturn void cpu_gp(struct vcpu *v, uint32_t err) { cpu_fault_err(v, 13, err); }
static inline _Noreturn void cpu_ud(struct vcpu *v) { cpu_fault(v, 6); }

#endif
