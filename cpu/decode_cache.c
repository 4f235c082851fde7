/* The decode cache: blocks of decoded records keyed by (host address of the
 * first byte, CS.D), so Capstone runs once per guest instruction. Blocks never
 * cross a 4 KiB page; every RAM page has a chain of its blocks, so a guest
 * write to a code page drops exactly that page's blocks. Dropped blocks go to
 * a dead list and are freed only by dcache_reap, because the run loop may be
 * executing one of them when its page is written. */
#include "cpu/decode_cache.h"
#include "cpu/machine.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/decode.h"
#include "cpu/interp.h"
#include "memory/phys.h"

/* (a Linux run decodes ~75,000 blocks: at 2^15 buckets dcache_get was 1.5%
 * of a bench run's samples) */
#define HASH_BITS 17
#define HASH_SIZE (1u << HASH_BITS)
#define PAGE_SIZE 4096u

struct decode_cache {
    struct phys_mem *pm;
    void (*on_new_code_page)(void *opaque, const uint8_t *host_page);
    void *opaque;
    struct block *hash[HASH_SIZE];
    uint32_t npages;          /* RAM pages */
    struct block **page_head; /* per RAM page */
    struct block *rom;        /* blocks outside RAM (never invalidated), via pnext */
    struct block *dead;       /* via dnext */
    struct dcache_stats st;
    uint64_t flushes;         /* dcache_flush calls (atomic: read by other threads) */
    uint64_t drops;           /* pages whose blocks dcache_invalidate dropped */
    uint32_t drop_log[DCACHE_DROP_LOG]; /* the last ones, by drops % DCACHE_DROP_LOG */
    bool defer_free;          /* -smp threads: dropped blocks are freed by epochs (dcache_quiesce) */
    uint64_t epoch;           /* advanced by every drop (atomic: published without the lock) */
    int nq;                   /* vCPUs publishing epochs */
    uint64_t seen[MAX_VCPUS]; /* each one's last published epoch; UINT64_MAX: holds no block */
    size_t live_bytes;        /* memory held by live blocks */
};

/* A guest can make bt86 decode a new block at every byte of its RAM; past
 * this much decoded code everything is dropped and decoding starts afresh,
 * so host memory stays bounded whatever the guest does. */
#define DCACHE_MAX_BYTES (64u << 20)

static unsigned hash_of(const uint8_t *host, bool code32)
{
    uint64_t k = (uint64_t)(uintptr_t)host * 0x9e3779b97f4a7c15ull;
    return (unsigned)((k >> (64 - HASH_BITS)) ^ (code32 ? 1u : 0u)) & (HASH_SIZE - 1);
}

struct decode_cache *dcache_new(struct phys_mem *pm,
                                void (*on_new_code_page)(void *opaque, const uint8_t *host_page),
                                void *opaque)
{
    struct decode_cache *dc = calloc(1, sizeof(*dc));
    if (!dc) return NULL;
    dc->pm = pm;
    dc->on_new_code_page = on_new_code_page;
    dc->opaque = opaque;
    dc->npages = pm->ram_size / PAGE_SIZE;
    dc->page_head = calloc(dc->npages ? dc->npages : 1, sizeof(*dc->page_head));
    if (!dc->page_head) {
        free(dc);
        return NULL;
    }
    return dc;
}

static void free_chain_dead(struct block *b)
{
    while (b) {
        struct block *n = b->dnext;
        free(b);
        b = n;
    }
}

void dcache_free(struct decode_cache *dc)
{
    if (!dc) return;
    dcache_flush(dc);
    free_chain_dead(dc->dead);
    free(dc->page_head);
    free(dc);
}

static void hash_unlink(struct decode_cache *dc, struct block *b)
{
    struct block **pp = &dc->hash[hash_of(b->host, b->code32)];
    while (*pp && *pp != b) pp = &(*pp)->hnext;
    if (*pp) *pp = b->hnext;
    b->hnext = NULL;
}

static size_t block_bytes(const struct block *b)
{
    return sizeof(*b) + b->n * sizeof(struct insn);
}

static void kill(struct decode_cache *dc, struct block *b)
{
    dc->live_bytes -= block_bytes(b);
    b->dead = true;
    b->dead_epoch = __atomic_fetch_add(&dc->epoch, 1, __ATOMIC_SEQ_CST);
    b->dnext = dc->dead;
    dc->dead = b;
}

struct block *dcache_get(struct decode_cache *dc, struct decoder *d, const uint8_t *host,
                         uint32_t pa, uint32_t avail, uint32_t eip, bool code32)
{
    dc->st.lookups++;
    unsigned h = hash_of(host, code32);
    for (struct block *b = dc->hash[h]; b; b = b->hnext)
        if (b->host == host && b->code32 == code32) return b;

    if (dc->live_bytes > DCACHE_MAX_BYTES) {
        /* No block is being executed while one is looked up: safe to free. */
        dcache_flush(dc);
        dcache_reap(dc);
        h = hash_of(host, code32);
    }
    /* The page becomes a code page before its bytes are read: from here on
     * every write to it takes the slow path and drops what is decoded now
     * (with -smp threads, a write through another vCPU's writable TLB entry
     * could otherwise land between the decode and the revocation, unseen). */
    uint32_t page = pa / PAGE_SIZE;
    bool in_ram = pa < dc->pm->ram_size && page < dc->npages;
    if (in_ram && !dc->pm->code_pages[page]) {
        phys_code_page_set(dc->pm, page); /* (read-only in the view if it is kept so) */
        if (dc->on_new_code_page) dc->on_new_code_page(dc->opaque, host - (pa & (PAGE_SIZE - 1)));
    }

    /* Miss: decode up to the end of the page, a block-ending instruction,
     * BLOCK_MAX_INSNS, or an instruction that does not fit. */
    uint32_t to_page_end = PAGE_SIZE - (pa & (PAGE_SIZE - 1));
    if (avail > to_page_end) avail = to_page_end;
    struct insn tmp[BLOCK_MAX_INSNS];
    unsigned n = 0;
    uint32_t off = 0;
    while (n < BLOCK_MAX_INSNS && off < avail) {
        int rc = decode_one(d, host + off, avail - off, eip + off, code32, &tmp[n]);
        if (rc == DECODE_OK) {
            off += tmp[n].len;
            if (tmp[n++].flags & IF_ENDS_BLOCK) break;
            continue;
        }
        if (rc == DECODE_UD && n == 0) {
            /* A one-record block that raises #UD when run. */
            memset(&tmp[0], 0, sizeof(tmp[0]));
            tmp[0].exec = exec_ud;
            tmp[0].len = 1;
            tmp[0].opsize = tmp[0].addrsize = code32 ? 4 : 2;
            tmp[0].flags = IF_ENDS_BLOCK;
            for (int i = 0; i < 3; i++) tmp[0].op[i].base = tmp[0].op[i].index = REG_NONE;
            off = 1;
            n = 1;
        }
        break; /* SHORT, or an invalid instruction after the first */
    }
    if (n == 0) return NULL;

    struct block *b = malloc(sizeof(*b) + n * sizeof(struct insn));
    if (!b) return NULL;
    b->host = host;
    b->pa = pa;
    b->code32 = code32;
    b->dead = false;
    b->n = (uint16_t)n;
    b->bytes = (uint16_t)off;
    b->dnext = NULL;
    memcpy(b->in, tmp, n * sizeof(struct insn));
    dc->live_bytes += block_bytes(b);
    b->hnext = dc->hash[h];
    dc->hash[h] = b;

    if (in_ram) {
        b->pnext = dc->page_head[page];
        dc->page_head[page] = b;
    } else {
        b->pnext = dc->rom;
        dc->rom = b;
    }
    dc->st.misses++;
    dc->st.blocks++;
    dc->st.insns += n;
    return b;
}

void dcache_invalidate(struct decode_cache *dc, uint32_t pa, unsigned size)
{
    if (size == 0) return;
    uint64_t first = pa / PAGE_SIZE, last = ((uint64_t)pa + size - 1) / PAGE_SIZE;
    for (uint64_t p = first; p <= last && p < dc->npages; p++) {
        struct block *b = dc->page_head[p];
        if (b) { /* logged before the count moves: lookups read the count without the lock */
            dc->drop_log[dc->drops % DCACHE_DROP_LOG] = (uint32_t)p;
            __atomic_store_n(&dc->drops, dc->drops + 1, __ATOMIC_SEQ_CST);
        }
        while (b) {
            struct block *next = b->pnext;
            hash_unlink(dc, b);
            b->pnext = NULL;
            kill(dc, b);
            dc->st.invalidations++;
            b = next;
        }
        dc->page_head[p] = NULL;
        phys_code_page_clear(dc->pm, (uint32_t)p);
    }
}

void dcache_flush(struct decode_cache *dc)
{
    for (unsigned i = 0; i < HASH_SIZE; i++) {
        struct block *b = dc->hash[i];
        while (b) {
            struct block *next = b->hnext;
            b->hnext = NULL;
            b->pnext = NULL;
            kill(dc, b);
            b = next;
        }
        dc->hash[i] = NULL;
    }
    /* ROM blocks sit on the rom list only (not in a page chain): the hash
     * walk above reached them too. */
    __atomic_add_fetch(&dc->flushes, 1, __ATOMIC_SEQ_CST);
    memset(dc->page_head, 0, dc->npages * sizeof(*dc->page_head));
    phys_code_pages_clear_all(dc->pm);
    dc->rom = NULL;
}

void dcache_set_defer_free(struct decode_cache *dc, bool defer, int ncpu)
{
    dc->defer_free = defer;
    dc->nq = ncpu < 0 ? 0 : ncpu > MAX_VCPUS ? MAX_VCPUS : ncpu;
    for (int i = 0; i < MAX_VCPUS; i++) __atomic_store_n(&dc->seen[i], 0, __ATOMIC_SEQ_CST);
}

void dcache_quiesce(struct decode_cache *dc, int cpu)
{
    if (cpu >= 0 && cpu < MAX_VCPUS)
        __atomic_store_n(&dc->seen[cpu], __atomic_load_n(&dc->epoch, __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);
}

void dcache_offline(struct decode_cache *dc, int cpu)
{
    if (cpu >= 0 && cpu < MAX_VCPUS) __atomic_store_n(&dc->seen[cpu], UINT64_MAX, __ATOMIC_SEQ_CST);
}

void dcache_reap(struct decode_cache *dc)
{
    if (!dc->defer_free) {
        dcache_reap_now(dc);
        return;
    }
    /* Another vCPU's thread may be running a dropped block: free only those
     * dropped before the oldest epoch any thread may still be in. */
    uint64_t oldest = UINT64_MAX;
    for (int i = 0; i < dc->nq; i++) {
        uint64_t e = __atomic_load_n(&dc->seen[i], __ATOMIC_SEQ_CST);
        if (e < oldest) oldest = e;
    }
    struct block **pp = &dc->dead;
    while (*pp) {
        struct block *b = *pp;
        if (b->dead_epoch < oldest) {
            *pp = b->dnext;
            free(b);
        } else {
            pp = &b->dnext;
        }
    }
}

void dcache_reap_now(struct decode_cache *dc)
{
    free_chain_dead(dc->dead);
    dc->dead = NULL;
}

uint64_t dcache_drop_count(const struct decode_cache *dc)
{
    return __atomic_load_n(&dc->drops, __ATOMIC_SEQ_CST);
}

uint32_t dcache_dropped_page(const struct decode_cache *dc, uint64_t n)
{
    return dc->drop_log[n % DCACHE_DROP_LOG];
}

uint64_t dcache_flush_count(const struct decode_cache *dc)
{
    return __atomic_load_n(&dc->flushes, __ATOMIC_SEQ_CST);
}

void dcache_get_stats(const struct decode_cache *dc, struct dcache_stats *out)
{
    *out = dc->st;
    out->unfreed = 0;
    for (const struct block *b = dc->dead; b; b = b->dnext) out->unfreed++;
}
