/* STUB: replaced by the real implementation. */
#include "cpu/mem.h"
#include <stdlib.h>

_Noreturn void seg_check_fail(struct vcpu *v, int seg) { (void)v; (void)seg; abort(); }
void mem_read_bytes(struct vcpu *v, int seg, uint32_t off, void *dst, uint32_t len) { (void)v; (void)seg; (void)off; (void)dst; (void)len; abort(); }
void mem_write_bytes(struct vcpu *v, int seg, uint32_t off, const void *src, uint32_t len) { (void)v; (void)seg; (void)off; (void)src; (void)len; abort(); }
uint32_t sys_read(struct vcpu *v, uint32_t lin, unsigned size) { (void)v; (void)lin; (void)size; abort(); }
void sys_write(struct vcpu *v, uint32_t lin, uint32_t val, unsigned size) { (void)v; (void)lin; (void)val; (void)size; abort(); }
