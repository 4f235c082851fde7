/* STUB: replaced by the real implementation. */
#include "cpu/decode_cache.h"
#include <stdlib.h>

struct decode_cache *dcache_new(struct phys_mem *pm, void (*f)(void *, const uint8_t *), void *opaque) { (void)pm; (void)f; (void)opaque; return NULL; }
void dcache_free(struct decode_cache *dc) { (void)dc; }
struct block *dcache_get(struct decode_cache *dc, struct decoder *d, const uint8_t *host, uint32_t pa, uint32_t avail, uint32_t eip, bool code32) { (void)dc; (void)d; (void)host; (void)pa; (void)avail; (void)eip; (void)code32; return NULL; }
void dcache_invalidate(struct decode_cache *dc, uint32_t pa, unsigned size) { (void)dc; (void)pa; (void)size; }
void dcache_flush(struct decode_cache *dc) { (void)dc; }
void dcache_reap(struct decode_cache *dc) { (void)dc; }
void dcache_get_stats(const struct decode_cache *dc, struct dcache_stats *out) { (void)dc; (void)out; }
