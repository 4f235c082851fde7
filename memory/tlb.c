/* STUB: replaced by the real implementation. */
#include "memory/tlb.h"
#include <stdlib.h>

int tlb_init(struct tlb *t, int bits) { (void)t; (void)bits; return 0; }
void tlb_destroy(struct tlb *t) { (void)t; }
void tlb_fill(struct tlb *t, int view, uint32_t lin_page, uint8_t *host_page, bool writable, bool global) { (void)t; (void)view; (void)lin_page; (void)host_page; (void)writable; (void)global; }
void tlb_flush_all(struct tlb *t) { (void)t; }
void tlb_flush_nonglobal(struct tlb *t) { (void)t; }
void tlb_flush_page(struct tlb *t, uint32_t lin) { (void)t; (void)lin; }
void tlb_revoke_write(struct tlb *t, const uint8_t *host_page) { (void)t; (void)host_page; }
