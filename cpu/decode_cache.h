/* Decoded blocks, cached per guest physical location so Capstone runs once per
 * instruction. A block is a run of records that ends at a control transfer, a
 * mode change, a page end or a size limit. Blocks are keyed by the host address
 * of their first byte (unique per RAM/ROM byte) and the code size (CS.D); they
 * are dropped when the guest writes their page (memory/phys.h code_pages). */
#ifndef BT86_CPU_DECODE_CACHE_H
#define BT86_CPU_DECODE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/insn.h"

struct decoder;
struct phys_mem;

#define BLOCK_MAX_INSNS 64

struct block {
    const uint8_t *host;   /* host address of the first byte */
    uint32_t pa;           /* guest physical address of the first byte */
    uint8_t code32;
    bool dead;             /* invalidated; freed at the next dcache_reap */
    uint16_t n;            /* records */
    uint16_t bytes;        /* guest bytes covered */
    struct block *hnext;   /* hash chain */
    struct block *pnext;   /* blocks on the same physical page */
    struct block *dnext;   /* dead list */
    uint64_t dead_epoch;   /* the cache's epoch when it was dropped (-smp threads) */
    struct insn in[];
};

struct decode_cache;

/* on_new_code_page is called when a page first holds decoded code, so that
 * fast-path writes to it can be revoked in every vCPU's TLB. */
struct decode_cache *dcache_new(struct phys_mem *pm,
                                void (*on_new_code_page)(void *opaque, const uint8_t *host_page),
                                void *opaque);
void dcache_free(struct decode_cache *dc);

/* The block starting at host (guest physical pa, offset eip in CS), decoding it
 * on a miss. avail is the number of fetchable bytes from host to the end of its
 * page. Returns NULL when the first instruction does not fit in avail (it
 * crosses into the next page): the caller decodes it alone. A first
 * instruction that is invalid yields a one-record block whose handler raises #UD. */
struct block *dcache_get(struct decode_cache *dc, struct decoder *d, const uint8_t *host,
                         uint32_t pa, uint32_t avail, uint32_t eip, bool code32);

/* The guest wrote [pa, pa+size): drop every block on the page(s) touched. */
void dcache_invalidate(struct decode_cache *dc, uint32_t pa, unsigned size);
void dcache_flush(struct decode_cache *dc);
/* Counts whole-cache flushes (dcache_flush, e.g. at the size limit): the
 * drops that no code-write notification reports (the translator then drops
 * everything). Readable from any thread. */
uint64_t dcache_flush_count(const struct decode_cache *dc);
/* The pages (guest physical page numbers) whose blocks dcache_invalidate
 * dropped, in order: dcache_drop_count counts them, dcache_dropped_page(n)
 * is the n-th (from 0), remembered while n >= count - DCACHE_DROP_LOG. A
 * cache of block pointers that saw count c can drop the entries on pages
 * c..count-1 instead of everything (cpu_find_block's jump cache). */
#define DCACHE_DROP_LOG 16
uint64_t dcache_drop_count(const struct decode_cache *dc);
uint32_t dcache_dropped_page(const struct decode_cache *dc, uint64_t n);
/* Free invalidated blocks; call only when no block is being executed. */
void dcache_reap(struct decode_cache *dc);
/* With vCPUs on several host threads a dropped block may still be running
 * elsewhere. While `defer` is set, dcache_reap frees only the dropped blocks
 * no thread can still hold, by epochs: every drop stamps its block with the
 * cache's epoch and advances it; a vCPU thread at a point where it holds no
 * block (its run loop between blocks) publishes the epoch it has seen
 * (dcache_quiesce), one that sleeps (HLT, waiting for SIPI, ended) says it
 * holds none (dcache_offline); a block stamped before every published epoch
 * is free to go. ncpu: the vCPUs that publish (indexes 0..ncpu-1), all
 * starting as holding anything. The caller serialises these calls and the
 * drops (machine.code_lock); dcache_reap_now (one thread left) frees all. */
void dcache_set_defer_free(struct decode_cache *dc, bool defer, int ncpu);
void dcache_quiesce(struct decode_cache *dc, int cpu);
void dcache_offline(struct decode_cache *dc, int cpu);
void dcache_reap_now(struct decode_cache *dc);

/* unfreed: dropped blocks not freed yet (waiting for dcache_reap, or for
 * another thread to pass a quiescent point). */
struct dcache_stats { uint64_t blocks, insns, lookups, misses, invalidations, unfreed; };
void dcache_get_stats(const struct decode_cache *dc, struct dcache_stats *out);

#endif
