/* STUB: replaced by the real implementation. */
#include "memory/paging.h"
#include "cpu/vcpu.h"
#include <stdlib.h>

uint32_t paging_walk(struct vcpu *v, uint32_t lin, int acc, struct walk_result *out) { (void)v; (void)lin; (void)acc; (void)out; abort(); }
uint32_t paging_translate(struct vcpu *v, uint32_t lin, int acc) { (void)v; (void)lin; (void)acc; abort(); }
uint32_t lin_read_slow(struct vcpu *v, uint32_t lin, int size, int view, int acc) { (void)v; (void)lin; (void)size; (void)view; (void)acc; abort(); }
void lin_write_slow(struct vcpu *v, uint32_t lin, uint32_t val, int size, int view) { (void)v; (void)lin; (void)val; (void)size; (void)view; abort(); }
void lin_read_bytes(struct vcpu *v, uint32_t lin, void *dst, uint32_t len, int view) { (void)v; (void)lin; (void)dst; (void)len; (void)view; abort(); }
void lin_write_bytes(struct vcpu *v, uint32_t lin, const void *src, uint32_t len, int view) { (void)v; (void)lin; (void)src; (void)len; (void)view; abort(); }
const uint8_t *lin_fetch_ptr(struct vcpu *v, uint32_t lin, int view, uint32_t *avail, uint32_t *pa) { (void)v; (void)lin; (void)view; (void)avail; (void)pa; abort(); }
