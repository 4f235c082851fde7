/* STUB: replaced by the real implementation. */
#include "cpu/interrupt.h"
#include "cpu/vcpu.h"
#include <stdlib.h>

void cpu_interrupt(struct vcpu *v, int vector, enum int_kind kind, bool has_err, uint32_t err, uint32_t return_eip) { (void)v; (void)vector; (void)kind; (void)has_err; (void)err; (void)return_eip; abort(); }
void cpu_deliver_fault(struct vcpu *v) { (void)v; abort(); }
bool exception_has_error_code(int vector) { (void)vector; abort(); }
