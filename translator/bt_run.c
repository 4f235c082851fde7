/* The translator's block runner and translation cache. bt_run plugs into
 * the shared run loop (cpu_run_loop in cpu/interp.c: faults, polling,
 * interrupts between blocks, HLT, the interrupt shadow, an exact instruction
 * limit). Each turn it finds the
 * translated block (TB) for CS:EIP — jump cache by linear EIP, then a hash by
 * (host address, EIP, mode) — translating the decode cache's block on a miss,
 * patches the direct jump it came from to chain to it, and runs it. Code the
 * translator does not handle (16-bit code, VM86, instructions crossing a
 * page, code in MMIO, the last few instructions before a limit) runs through
 * the interpreter's handlers here, one block at a time.
 *
 * Invalidation: the vCPU's code_written hook; a guest write to a RAM page
 * holding decoded code queues that page for this vCPU (cpu/machine.c calls
 * it, on the writer's thread, right after the decode cache dropped its
 * blocks), and the TBs of the page die at this vCPU's next dispatch.
 * Chains only link TBs of the same page, so no live TB jumps into a dead one.
 * Blocks the decode cache drops otherwise (a whole flush at its size limit)
 * show as a generation change: then every TB goes. TB memory is reclaimed
 * only by a whole-cache flush, done between blocks.
 *
 * Interrupts and requests: with one host thread, v->req and v->irq_req only
 * change inside C calls (fallbacks, slow paths, the poll hook); translated
 * code checks them after every call (bt_helper_exec), and chained code
 * returns here when the budget (the next poll point, or the -max-insns
 * limit) is used up, so interrupts are taken at the interpreter's block
 * boundaries. With -smp threads, other vCPUs' threads set v->req and
 * v->irq_req at any time: chained code sees them at its next C call or when
 * its budget (at most the poll interval) runs out, whichever comes first
 * (docs/SMP.md). */
#include "translator/bt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "cpu/decode.h"
#include "cpu/decode_cache.h"
#include "cpu/fault.h"
#include "cpu/interp.h"
#include "cpu/interrupt.h"
#include "cpu/machine.h"
#include "cpu/mem.h"
#include "cpu/vmm.h"
#include "memory/paging.h"
#include "memory/phys.h"
#include "translator/bt_internal.h"
#include "translator/emit.h"

#define DEFAULT_CACHE (128u << 20)

static size_t cache_size_setting = DEFAULT_CACHE;

void bt_set_cache_size(size_t bytes) { cache_size_setting = bytes < 8192 ? 8192 : bytes; }

/* ---------- TB tables ---------- */

static unsigned hash_of(const uint8_t *host, uint32_t eip, uint32_t mode)
{
    uint64_t k = ((uint64_t)(uintptr_t)host ^ ((uint64_t)eip << 20) ^ ((uint64_t)mode << 48)) * 0x9e3779b97f4a7c15ull;
    return (unsigned)(k >> (64 - BT_HASH_BITS));
}

static unsigned jc_of(uint32_t lin) { return (lin ^ (lin >> BT_JC_BITS)) & ((1u << BT_JC_BITS) - 1); }

static void ijc_seen(struct bt_vcpu *bt)
{
    const struct tlb *t = &bt->v->tlb;
    bt->seen_tlb_flushes = t->flushes;
    bt->seen_all_gen = t->all_gen;
    bt->seen_ng_gen = t->ng_gen;
    bt->seen_page_gen = t->page_gen;
}

/* Slot i holds tb (its copy for translated code too). */
static void ijc_put(struct bt_vcpu *bt, uint32_t i, struct tb *tb)
{
    bt->ijc[i] = tb;
    bt->ijc_ent[i].key = tb->key;
    bt->ijc_ent[i].code = tb->code;
}

static void ijc_clear(struct bt_vcpu *bt)
{
    for (unsigned i = 0; i < BT_IJC_SIZE; i++) ijc_put(bt, i, &bt->nothing);
    memset(bt->ijc_pages, 0, sizeof(bt->ijc_pages));
    bt->ijc_used = 0;
    ijc_seen(bt);
}

/* Of the n slots from `first` (modulo the size), empty those holding a TB
 * in the linear range [lo, lo + len). */
static void ijc_drop_slots(struct bt_vcpu *bt, uint32_t first, uint32_t n, uint32_t lo, uint32_t len)
{
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = (first + j) & (BT_IJC_SIZE - 1);
        struct tb *t = bt->ijc[i];
        if (t != &bt->nothing && t->eip - lo < len) ijc_put(bt, i, &bt->nothing);
    }
}

/* Drop the entries whose TB lies in the linear range [lo, lo + len). */
static void ijc_drop_range(struct bt_vcpu *bt, uint32_t lo, uint32_t len)
{
    if (len <= 0x1000u) {
        uint32_t pg = lo >> 12;
        if (!(bt->ijc_pages[pg / 64] >> (pg % 64) & 1)) return; /* no entry was made for it */
        bt->ijc_pages[pg / 64] &= ~(1ull << (pg % 64));
    }
    /* A 4 KiB page's EIPs index 4096 consecutive slots under each of the
     * two slot functions (bt_ijc_hash); larger: all. */
    if (len > 0x1000u) {
        ijc_drop_slots(bt, 0, BT_IJC_SIZE, lo, len);
        return;
    }
    ijc_drop_slots(bt, bt_ijc_hash(false, lo), len, lo, len);
    if (bt->bmi2) ijc_drop_slots(bt, bt_ijc_hash(true, lo), len, lo, len);
}

/* Bring the ijc up to date with the TLB flushes since it was last looked
 * at (see bt_internal.h). */
static void ijc_resync(struct bt_vcpu *bt)
{
    const struct tlb *t = &bt->v->tlb;
    if (t->all_gen != bt->seen_all_gen || t->page_gen - bt->seen_page_gen > TLB_PAGE_LOG) {
        ijc_clear(bt);
        return;
    }
    if (t->ng_gen != bt->seen_ng_gen) {
        if (bt->ijc_used <= BT_IJC_LOG_MAX) {
            for (uint32_t k = 0; k < bt->ijc_used; k++) {
                uint32_t i = bt->ijc_log[k];
                if (!bt->ijc[i]->global) ijc_put(bt, i, &bt->nothing);
            }
        } else {
            for (unsigned i = 0; i < BT_IJC_SIZE; i++)
                if (!bt->ijc[i]->global) ijc_put(bt, i, &bt->nothing);
        }
        bt->ijc_used = 0;
    }
    for (uint64_t g = bt->seen_page_gen; g != t->page_gen; g++) {
        uint32_t lo, len;
        tlb_logged_range(t->page_log[g % TLB_PAGE_LOG], &lo, &len);
        ijc_drop_range(bt, lo, len);
    }
    ijc_seen(bt);
}

static void ijc_set(struct bt_vcpu *bt, uint32_t lin, struct tb *tb, bool global)
{
    uint16_t slot = (uint16_t)bt_ijc_slot(bt, tb->mode, lin);
    struct tb *old = bt->ijc[slot];
    /* Logged once while non-global: a slot whose entry is already
     * non-global is in the log since the last MOV CR3. */
    if (!global && (old == &bt->nothing || old->global)) {
        if (bt->ijc_used < BT_IJC_LOG_MAX) bt->ijc_log[bt->ijc_used] = slot;
        if (bt->ijc_used <= BT_IJC_LOG_MAX) bt->ijc_used++;
    }
    tb->global = global;
    ijc_put(bt, slot, tb);
    bt->ijc_pages[(lin >> 12) / 64] |= 1ull << ((lin >> 12) % 64);
}

static void flush_all(struct bt_vcpu *bt)
{
    ijc_clear(bt);
    memset(bt->hash, 0, sizeof(bt->hash));
    memset(bt->jc, 0, sizeof(bt->jc));
    memset(bt->straddle, 0, sizeof(bt->straddle));
    memset(bt->page_head, 0, bt->npages * sizeof(*bt->page_head));
    bt->free = bt->tb_start;
    bt->pred_next = BT_PRED_FIRST(bt);
    bt->nsites = 0;
    bt->last_exit = NULL;
    bt->st.flushes++;
}

static void kill_page(struct bt_vcpu *bt, uint32_t page)
{
    struct tb *t = bt->page_head[page];
    while (t) {
        struct tb *next = t->pnext;
        t->dead = true;
        t->key = ~0ull;
        uint32_t slot = bt_ijc_slot(bt, t->mode, t->eip); /* (ijc_set's: flat CS only) */
        if (bt->ijc[slot] == t) ijc_put(bt, slot, &bt->nothing);
        struct tb **pp = &bt->hash[hash_of(t->host, t->eip, t->mode)];
        while (*pp && *pp != t) pp = &(*pp)->hnext;
        if (*pp) *pp = t->hnext;
        bt->st.invalidated++;
        t = next;
    }
    bt->page_head[page] = NULL;
}

/* The guest wrote [pa, pa+size) on a page holding decoded code (the vCPU's
 * code_written hook, called after the decode cache dropped its blocks). It
 * runs on the writer's thread, which with -smp threads may be another
 * vCPU's: queue the pages for the owning thread, which drops their TBs at
 * its next dispatch (drain_invalidations), and make it leave its chained
 * code at the next C call (REQ_BLOCK_END, set after the queueing so that
 * whoever clears it drains the queue after). */
static void code_written(struct vcpu *v, uint32_t pa, unsigned size)
{
    struct bt_vcpu *bt = v->bt;
    if (!bt || !size) return;
    uint64_t first = pa >> 12, last = ((uint64_t)pa + size - 1) >> 12;
    pthread_mutex_lock(&bt->inv_lock);
    for (uint64_t p = first; p <= last && p < bt->npages; p++) {
        bool queued = false;
        for (uint32_t i = 0; i < bt->inv_n && !queued; i++) queued = bt->inv_page[i] == p;
        if (queued) continue;
        if (bt->inv_n < BT_INV_MAX) bt->inv_page[bt->inv_n++] = (uint32_t)p;
        else bt->inv_overflow = true;
    }
    __atomic_store_n(&bt->inv_pending, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&bt->inv_lock);
    __atomic_or_fetch(&v->req, REQ_BLOCK_END, __ATOMIC_SEQ_CST);
}

/* On the owning thread, between blocks: drop the TBs of the queued pages.
 * True if the whole cache was flushed (no TB pointer survives). */
static bool drain_invalidations(struct bt_vcpu *bt)
{
    if (!__atomic_load_n(&bt->inv_pending, __ATOMIC_SEQ_CST)) return false;
    uint32_t pages[BT_INV_MAX];
    pthread_mutex_lock(&bt->inv_lock);
    uint32_t n = bt->inv_n;
    bool overflow = bt->inv_overflow;
    memcpy(pages, bt->inv_page, n * sizeof(pages[0]));
    bt->inv_n = 0;
    bt->inv_overflow = false;
    __atomic_store_n(&bt->inv_pending, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&bt->inv_lock);
    if (overflow) {
        flush_all(bt);
        return true;
    }
    for (uint32_t i = 0; i < n; i++) kill_page(bt, pages[i]);
    return false;
}

/* The decode cache was flushed (at its size limit, possibly by another
 * vCPU's thread): the pages are no longer write-protected as code, so no
 * translation can be trusted. */
static bool sync_dcache(struct bt_vcpu *bt)
{
    struct decode_cache *dc = bt->v->m->dcache;
    if (!dc || dcache_flush_count(dc) == bt->seen_dcache_flushes) return false;
    bt->seen_dcache_flushes = dcache_flush_count(dc);
    flush_all(bt);
    return true;
}

/* A before/after switch: the environment variable is "1". */
static bool env_on(const char *name)
{
    const char *s = getenv(name);
    return s && *s == '1';
}

static struct bt_vcpu *bt_new(struct vcpu *v)
{
    struct bt_vcpu *bt = calloc(1, sizeof(*bt));
    if (!bt) return NULL;
    bt->v = v;
    bt->cache_size = cache_size_setting;
    /* The code, then the probes' page predictions (1/8 of it, RW only). */
    size_t pred_bytes = ((bt->cache_size / 8) + 4095) & ~(size_t)4095;
    void *p = mmap(NULL, bt->cache_size + pred_bytes, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) {
        free(bt);
        return NULL;
    }
    /* Transparent huge pages for the code where the host allows them
     * (madvise mode, Debian's default): a Linux guest's hot code is spread
     * over megabytes of the cache, and with 4 KiB pages its jumps miss the
     * instruction TLB (BT86_BT_NO_HUGE=1: off; a hint, nothing depends on it). */
    if (!env_on("BT86_BT_NO_HUGE")) madvise(p, bt->cache_size, MADV_HUGEPAGE);
    bt->cache = p;
    bt->pred = (uint32_t *)(void *)(bt->cache + bt->cache_size);
    bt->ras = (struct bt_ras *)(void *)bt->pred;
    bt->pred_next = BT_PRED_FIRST(bt);
    bt->pred_end = bt->pred + pred_bytes / sizeof(uint32_t);
    mprotect(bt->pred, pred_bytes, PROT_READ | PROT_WRITE);
    struct phys_mem *pm = &v->m->mem;
    bt->npages = pm->ram_size >> 12;
    bt->page_head = calloc(bt->npages ? bt->npages : 1, sizeof(*bt->page_head));
    if (!bt->page_head) {
        munmap(bt->cache, bt->cache_size + (size_t)((uint8_t *)bt->pred_end - (uint8_t *)bt->pred));
        free(bt);
        return NULL;
    }
    bt_emit_trampolines(bt);
    bt->tlb_mask = v->tlb.mask;
    bt->bmi2 = __builtin_cpu_supports("bmi2") != 0;
    bt->logic_af0 = bt_host_logic_clears_af();
    bt->mul_keeps_szap = !env_on("BT86_BT_NO_HOST_MUL") && bt_host_mul_keeps_szap();
    bt->shxd_native = !env_on("BT86_BT_NO_BITOPS") && bt_host_shxd_flags_pure();
    bt->bscan_native = !env_on("BT86_BT_NO_BITOPS") && bt_host_bscan_writes_only_zf();
    bt->bt_native = !env_on("BT86_BT_NO_BITOPS") && bt_host_bt_writes_only_cf();
    bt->nothing.key = ~0ull;
    bt->nothing.dead = true;
    bt->no_goto = env_on("BT86_BT_NO_GOTO");
    bt->no_ras = env_on("BT86_BT_NO_RAS");
    bt->no_r9_view = env_on("BT86_BT_NO_R9_VIEW");
    bt->no_merge = env_on("BT86_BT_NO_MERGE");
    bt->no_loops = env_on("BT86_BT_NO_LOOPS");
    bt->no_adaptive = env_on("BT86_BT_NO_ADAPTIVE");
    bt->no_same_page = env_on("BT86_BT_NO_SAME_PAGE");
    bt->no_latch = env_on("BT86_BT_NO_LATCH");
    bt->no_fast_dispatch = env_on("BT86_BT_NO_FAST_DISPATCH");
    bt->no_view_fuse = env_on("BT86_BT_NO_VIEW_FUSE");
    bt->no_fast_chain = env_on("BT86_BT_NO_FAST_CHAIN");
    /* Paging-off reads through the physical view (MODE_PHYS_DIRECT). */
    if (pm->view && !env_on("BT86_BT_NO_VIEW") && bt_fault_register(bt)) bt->view = pm->view;
    /* ... and writes, with one vCPU: with several on host threads, another
     * one's C code could be storing through a view pointer it took from
     * its TLB just as a page becomes code and read-only. */
    if (bt->view && v->m->ncpu == 1 && !env_on("BT86_BT_NO_VIEW_WRITES")) {
        phys_view_wp_on(pm);
        bt->view_writes = pm->view_wp;
    }
    /* Supervisor accesses with paging on through the linear view: one
     * vCPU (its TLB is the only one the view follows), view writes on. */
    if (bt->view_writes && !env_on("BT86_BT_NO_LIN_VIEW") && lin_view_init(&bt->lview, pm) == 0)
        v->tlb.lv = &bt->lview;
    if (bt->view_writes && !env_on("BT86_BT_NO_USER_VIEW") && lin_view_init(&bt->uview, pm) == 0)
        v->tlb.uv = &bt->uview;
    const char *after = getenv("BT86_BT_USER_VIEW_AFTER"); /* (tests: 0, at once) */
    bt->uv_after = after && *after ? strtoull(after, NULL, 0) : BT_UVIEW_AFTER;
    ijc_clear(bt);
    if (v->m->dcache) bt->seen_dcache_flushes = dcache_flush_count(v->m->dcache);
    pthread_mutex_init(&bt->inv_lock, NULL);
    /* Other threads' code writes reach us from now on (through v->bt). */
    v->bt = bt;
    __atomic_store_n(&v->code_written, code_written, __ATOMIC_SEQ_CST);
    return bt;
}

void bt_print_stats(FILE *f, const struct bt_stats *s)
{
    uint64_t insns = s->native + s->fallback;
    fprintf(f, "bt translated blocks     %llu\n", (unsigned long long)s->tbs);
    fprintf(f, "bt translated insns      %llu (native %llu, calls %llu)\n", (unsigned long long)insns,
            (unsigned long long)s->native, (unsigned long long)s->fallback);
    fprintf(f, "bt translate ns/insn     %.1f\n", insns ? (double)s->translate_ns / (double)insns : 0.0);
    fprintf(f, "bt code bytes/guest byte %.2f\n", s->guest_bytes ? (double)s->code_bytes / (double)s->guest_bytes : 0.0);
    fprintf(f, "bt probes                %llu (+ %llu reused)\n", (unsigned long long)s->probes,
            (unsigned long long)s->probes_reused);
    fprintf(f, "bt latched CMP/TEST      %llu\n", (unsigned long long)s->latched);
    fprintf(f, "bt same-page checks     %llu\n", (unsigned long long)s->probes_samepage);
    fprintf(f, "bt direct accesses       %llu (%llu writes; paging off: through the physical view)\n",
            (unsigned long long)s->probes_direct, (unsigned long long)s->probes_direct_writes);
    fprintf(f, "bt view accesses fused   %llu (the instruction itself is the fault site)\n",
            (unsigned long long)s->view_fused);
    fprintf(f, "bt linear view accesses  %llu (paging on: kernel code's global pages, user code's pages)\n",
            (unsigned long long)s->probes_lin);
    fprintf(f, "bt linear view upkeep    %llu maps, %llu unmaps, %llu clears, %llu revokes, %llu refusals\n",
            (unsigned long long)s->lin_maps, (unsigned long long)s->lin_unmaps, (unsigned long long)s->lin_clears,
            (unsigned long long)s->lin_revokes, (unsigned long long)s->lin_refusals);
    fprintf(f, "bt user view upkeep      %llu maps, %llu clears (address spaces that ran long enough)\n",
            (unsigned long long)s->ulin_maps, (unsigned long long)s->ulin_clears);
    fprintf(f, "bt flag recomputes       %llu\n", (unsigned long long)s->remats);
    fprintf(f, "bt inner loops           %llu\n", (unsigned long long)s->loops);
    fprintf(f, "bt flags kept in r11     %llu\n", (unsigned long long)s->flags_kept);
    fprintf(f, "bt merged blocks         %llu\n", (unsigned long long)s->merged);
    fprintf(f, "bt page-crossing TBs     %llu\n", (unsigned long long)s->straddling);
    fprintf(f, "bt first blocks alone    %llu (budget short of a merged TB)\n", (unsigned long long)s->single_runs);
    fprintf(f, "bt view faults           %llu (%llu sites now jump to their cold path)\n",
            (unsigned long long)s->view_faults, (unsigned long long)s->view_sites_patched);
    fprintf(f, "bt chains                %llu (%llu forward, past the budget check)\n", (unsigned long long)s->chains,
            (unsigned long long)s->fast_chains);
    fprintf(f, "bt dispatches            %llu (%llu through the jump cache alone)\n", (unsigned long long)s->dispatches,
            (unsigned long long)s->fast_dispatches);
    fprintf(f, "bt lookup-and-goto       %llu (%llu not found)\n", (unsigned long long)s->gotos,
            (unsigned long long)s->goto_misses);
    fprintf(f, "bt interpreted blocks    %llu\n", (unsigned long long)s->interp_blocks);
    fprintf(f, "bt view base kept        %llu (view accesses without their own MOVABS)\n", (unsigned long long)s->view_base_kept);
    fprintf(f, "bt invalidated           %llu\n", (unsigned long long)s->invalidated);
    fprintf(f, "bt cache flushes         %llu\n", (unsigned long long)s->flushes);
}

void bt_vcpu_free(struct vcpu *v)
{
    struct bt_vcpu *bt = v->bt;
    if (!bt) return;
    const char *env = getenv("BT86_BT_STATS");
    if (env && *env == '1') {
        struct bt_stats st;
        bt_get_stats(v, &st);
        bt_print_stats(stderr, &st);
    }
    v->code_written = NULL;
    bt_fault_unregister(bt);
    if (v->tlb.lv == &bt->lview) v->tlb.lv = NULL;
    if (v->tlb.uv == &bt->uview) {
        v->tlb.uv = NULL;
        v->tlb.uv_on = false;
    }
    lin_view_destroy(&bt->lview);
    lin_view_destroy(&bt->uview);
    munmap(bt->cache, bt->cache_size + (size_t)((uint8_t *)bt->pred_end - (uint8_t *)bt->pred));
    pthread_mutex_destroy(&bt->inv_lock);
    free(bt->page_head);
    free(bt);
    v->bt = NULL;
}

void bt_get_stats(const struct vcpu *v, struct bt_stats *out)
{
    if (!v->bt) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = v->bt->st;
    const struct lin_view *lv = &v->bt->lview;
    out->lin_maps = lv->maps;
    out->lin_unmaps = lv->unmaps;
    out->lin_clears = lv->clears;
    out->lin_revokes = lv->revokes;
    out->lin_refusals = lv->failures;
    out->ulin_maps = v->bt->uview.maps;
    out->ulin_clears = v->bt->uview.clears;
}

/* ---------- finding and running a block ---------- */

/* The decoded block to translate with b (at CS:EIP) as one TB, or NULL:
 * where b ends in a Jcc or a direct JMP (bt_merge_target), flat CS, the
 * next block on the same page (its fetch cannot fault: b's page). */
static const struct block *merge_successor(struct vcpu *v, struct bt_vcpu *bt, const struct block *b, int view,
                                           uint32_t mode)
{
    uint32_t next;
    if (bt->no_merge || !(mode & MODE_FLAT_CS) || !bt_merge_target(b, v->eip, &next)) return NULL;
    if (next == v->eip || (next >> 12) != (v->eip >> 12)) return NULL;
    uint32_t avail;
    struct block *b2 = cpu_find_block(v, next, view, &avail);
    if (!b2 || b2->bytes > avail || b->n + b2->n > 2 * BLOCK_MAX_INSNS) return NULL;
    return b2;
}

/* The TB for an instruction at a flat-CS EIP that no decoded block holds
 * because it crosses into the next page (common in a kernel's text: Linux
 * has one in a loop of kallsyms), or NULL: a call of
 * cpu_exec_uncached_handler, which fetches and decodes it through the
 * TLB at every run, as the interpreter does. Chained code then reaches it
 * and leaves it (lookup and goto) without the dispatcher. */
static struct tb *straddle_tb(struct vcpu *v, struct bt_vcpu *bt, uint32_t lin, int view, uint32_t mode)
{
    struct tb **slot = &bt->straddle[(v->eip ^ (v->eip >> 6)) % BT_STRADDLE_SLOTS];
    uint64_t key = v->eip | (uint64_t)mode << 32;
    if (*slot && (*slot)->key == key) return *slot;
    uint32_t avail, pa;
    const uint8_t *host = lin_fetch_ptr(v, lin, view, &avail, &pa);
    if (!host || avail >= 15) return NULL; /* MMIO, or not a page crossing */
    _Alignas(struct block) uint8_t buf[sizeof(struct block) + sizeof(struct insn)];
    struct block *b = (struct block *)(void *)buf;
    memset(buf, 0, sizeof(buf));
    b->host = host;
    b->pa = ~0u; /* (on no page's list: nothing to invalidate) */
    b->code32 = 1;
    b->n = 1;
    b->bytes = 1;
    b->in[0] = (struct insn){ .exec = cpu_exec_uncached_handler, .len = 1, .opsize = 4, .addrsize = 4,
                              .flags = IF_ENDS_BLOCK };
    struct tb *tb = bt_translate(bt, b, NULL, v->eip, mode);
    if (!tb) return NULL; /* the cache is full: interpreted this time */
    bt->st.straddling++;
    *slot = tb;
    return tb;
}

/* The TB of block b at EIP in `mode`: from the hash, else translated
 * (with the block after it on the same page, unless MODE_SINGLE) and
 * entered in the hash and its page's list. NULL for a block too big for the
 * whole cache. *reset: the code cache or the decode cache was flushed on
 * the way (no TB the dispatcher holds is a chaining source any more). */
static struct tb *find_tb(struct vcpu *v, struct bt_vcpu *bt, const struct block *b, uint32_t mode, int view,
                          bool *reset)
{
    for (struct tb *t = bt->hash[hash_of(b->host, v->eip, mode)]; t; t = t->hnext)
        if (t->host == b->host && t->eip == v->eip && t->mode == mode) return t;
    struct timespec t0, t1;
    /* (CLOCK_MONOTONIC, through the vDSO: the thread's CPU-time clock is a
     * system call, ~1 us, 1.5% of a Linux boot at two a block) */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const struct block *b2 = (mode & MODE_SINGLE) ? NULL : merge_successor(v, bt, b, view, mode);
    if (sync_dcache(bt)) { /* its lookup flushed the decode cache (b stays readable until a reap) */
        *reset = true;
        b2 = NULL;
    }
    struct tb *tb = bt_translate(bt, b, b2, v->eip, mode);
    if (!tb) {
        flush_all(bt);
        *reset = true;
        tb = bt_translate(bt, b, b2, v->eip, mode);
        if (!tb) return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    bt->st.translate_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec));
    unsigned h = hash_of(b->host, v->eip, mode);
    tb->hnext = bt->hash[h];
    bt->hash[h] = tb;
    uint32_t page = tb->pa >> 12;
    if (tb->pa < v->m->mem.ram_size && page < bt->npages) {
        tb->pnext = bt->page_head[page];
        bt->page_head[page] = tb;
    }
    return tb;
}

/* run_one's TB for CS:EIP by the decoded block (NULL: the block was run
 * by the interpreter instead). *bp: the block; *reset: a cache was
 * flushed on the way (no exit record is a chaining source any more). */
static struct tb *lookup_tb(struct vcpu *v, struct bt_vcpu *bt, uint32_t lin, int view, uint32_t mode,
                            uint32_t cap, uint64_t to_limit, struct block **bp, bool *reset)
{
    const struct seg_cache *cs = &v->seg[S_CS];
    bool translatable = v->code32 && !(v->eflags & F_VM);
    uint32_t avail;
    /* The interpreter's lookup (cpu/interp.c): through the same jump cache,
     * so both engines fetch through the same (stale or fresh) translation
     * when the guest rewrites the page tables of its code without a TLB
     * flush; this thread's decoder and machine.code_lock with -smp threads. */
    struct block *b = cpu_find_block(v, lin, view, &avail);
    *bp = b;
    if (sync_dcache(bt)) *reset = true; /* the lookup may have flushed the decode cache */
    uint32_t to_cs_limit = cs->limit - v->eip + 1; /* 0 means 4 GiB */
    if (to_cs_limit != 0 && avail > to_cs_limit) avail = to_cs_limit;
    /* Past the CS limit (a #GP the interpreter raises at the right
     * instruction), the limit inside the block, or untranslatable code. */
    struct tb *tb = NULL;
    if (!b && translatable && (mode & MODE_FLAT_CS) && to_limit > 0) tb = straddle_tb(v, bt, lin, view, mode);
    if (!tb && (!b || b->bytes > avail || !translatable || b->n > to_limit)) {
        bt->st.interp_blocks++;
        cpu_exec_block(v, b && b->bytes <= avail ? b : NULL, cap);
        return NULL;
    }
    /* Its translation: the lin-indexed cache, then the hash by host address. */
    if (!tb) tb = bt->jc[jc_of(lin)];
    if (b && (!tb || tb->dead || tb->host != b->host || tb->eip != v->eip || tb->mode != mode)) {
        tb = find_tb(v, bt, b, mode, view, reset);
        if (!tb) { /* a block too big for the whole cache */
            bt->st.interp_blocks++;
            cpu_exec_block(v, b, cap);
            return NULL;
        }
        bt->jc[jc_of(lin)] = tb;
    }
    /* Global: kept across MOV CR3. (The fetch may have come from the jump
     * cache, with the TLB's slot refilled since: without the linear view's
     * word, most kernel entries were dropped at every context switch.) */
    if (tb->mode & MODE_FLAT_CS)
        ijc_set(bt, lin, tb, view <= TLB_VIEW_USER && tlb_global_translation(&v->tlb, view, lin));
    return tb;
}

/* Run one block at CS:EIP: translated if possible, else interpreted.
 * budget: instructions that may still run before the limit or the next poll. */
static void run_one(struct vcpu *v, struct bt_vcpu *bt, uint64_t budget, uint64_t to_limit)
{
    const struct seg_cache *cs = &v->seg[S_CS];
    int view = v->cpl == 3 ? TLB_VIEW_USER : TLB_VIEW_SUP;
    struct tb_exit *from = bt->last_exit;
    bt->last_exit = NULL;
    bt->st.dispatches++;
    v->insn_eip = v->eip; /* a fetch fault belongs to this EIP */
    if (drain_invalidations(bt)) from = NULL; /* (a killed TB is no chaining source: from->tb->dead) */
    if (v->tlb.flushes != bt->seen_tlb_flushes) ijc_resync(bt);
    if (sync_dcache(bt)) from = NULL;
    if (v->tlb.mask != bt->tlb_mask) { /* the TLB was resized: the probes' masks are stale */
        flush_all(bt);
        bt->tlb_mask = v->tlb.mask;
        from = NULL;
    }
    if (v->irq_shadow && to_limit == 1) {
        /* The one instruction after STI or MOV SS (cpu_run_loop), then the
         * interrupt check: a limit of its own, not an exact limit coming
         * near for good. The interpreter runs it, so that no chain is
         * followed, and forward chains stay on. */
        bt->st.interp_blocks++;
        cpu_exec_block(v, NULL, 1);
        return;
    }
    if (!bt->exact && to_limit < budget + BT_FAST_OVERSHOOT) {
        /* An exact limit is near: from now on no chained jump may skip a
         * budget check, so the translations go if any forward chain was
         * made (a flush unchains everything), and no more are made. */
        bt->exact = true;
        if (bt->st.fast_chains) {
            flush_all(bt);
            from = NULL;
        }
    }
    if (v->eip > cs->limit) cpu_gp(v, 0);
    if (v->tlb.uv && !v->tlb.uv_on && v->cpl == 3) {
        /* The user view goes on once this address space has run a while. */
        uint64_t gen = v->tlb.ng_gen + v->tlb.all_gen;
        if (gen != bt->uv_gen) {
            bt->uv_gen = gen;
            bt->uv_since = v->icount;
        } else if (v->icount - bt->uv_since >= bt->uv_after) {
            tlb_uview_on(&v->tlb);
        }
    }
    uint32_t lin = cs->base + v->eip;
    uint32_t mode = bt_current_mode(v);
    /* The interpreter path runs a whole block, as cpu/interp.c does. */
    uint32_t cap = to_limit < BLOCK_MAX_INSNS ? (uint32_t)to_limit : BLOCK_MAX_INSNS;
    bool translatable = v->code32 && !(v->eflags & F_VM);

    /* Fast path: the TB the jump cache holds for this EIP and mode — the
     * cache translated code jumps through without a check (ijc_resync above
     * keeps it to what the TLB still maps) — without the decoded block's
     * lookup and the hash. (b is looked up below only if a merged TB's
     * first block must run alone.) */
    struct tb *tb = NULL;
    struct block *b = NULL;
    if ((mode & MODE_FLAT_CS) && translatable && !bt->no_fast_dispatch) {
        struct tb *t = bt->ijc[bt_ijc_slot(bt, mode, lin)];
        if (t->key == ((uint64_t)mode << 32 | v->eip) && t->n1 <= to_limit) {
            tb = t;
            bt->st.fast_dispatches++;
        }
    }
    if (!tb) {
        bool reset = false;
        tb = lookup_tb(v, bt, lin, view, mode, cap, to_limit, &b, &reset);
        if (reset) from = NULL;
        if (!tb) return;
    }
    /* Chain the direct jump we came from (same page, same mode, both alive).
     * A jump forward (to a TB that starts after the one it leaves) enters
     * past the budget check, charging only: any cycle of chained TBs has a
     * jump that is not forward, whose check then ends it, so chained code
     * still returns within a page's worth of TBs once the budget is used
     * up (BT_FAST_OVERSHOOT instructions at most; near an exact limit
     * there are no forward chains: bt->exact above). A
     * RAS return lands inside its caller's TB, unchecked, but only after
     * that TB's call, which a cycle must reach again by a jump back. */
    if (from && !from->tb->dead && from->target == tb->eip && from->tb->mode == tb->mode &&
        ((uintptr_t)from->tb->host >> 12) == ((uintptr_t)tb->host >> 12)) {
        bool forward = tb->fast && tb->eip > from->tb->eip && !bt->exact && !bt->no_fast_chain;
        set_rel32(from->patch, forward ? tb->fast : tb->code);
        if (forward) bt->st.fast_chains++;
        bt->st.chains++;
    }
    /* Chained code starts blocks while the budget is positive: up to the
     * poll point, like the interpreter; one TB at a time near the limit. A
     * merged TB (bt_merge_target) starts only when the budget also lets
     * its second block start (its entry checks budget - 1 >= n1): else, or
     * near the limit when it does not fit, its first block runs alone, as
     * the interpreter would run it: from a TB of its own (MODE_SINGLE in
     * the key, never the current mode, so nothing chains or looks up into
     * it), run one block at a time. */
    bool merged = tb_merged(tb);
    if (to_limit >= budget + BLOCK_MAX_INSNS) {
        bt->budget = budget > 0 ? (int64_t)budget : 1;
        if (merged && bt->budget <= tb->n1) bt->budget = 0;
    } else {
        /* A merged TB whole only with room for a chained TB after its first
         * block too: when that block leaves by its Jcc, the budget left for
         * the second block lets one (unmerged) TB start. (Its second block,
         * at most BLOCK_MAX_INSNS long, then fits as well.) */
        bt->budget = !merged ? 1 : (uint64_t)tb->n1 + BLOCK_MAX_INSNS <= to_limit ? tb->n1 + 1 : 0;
    }
    if (bt->budget == 0) {
        /* (Chaining is done: a flush on the way no longer matters here.) */
        bool reset = false;
        if (!b && !lookup_tb(v, bt, lin, view, mode, cap, to_limit, &b, &reset)) return; /* (the fast path had no b) */
        tb = find_tb(v, bt, b, mode | MODE_SINGLE, view, &reset);
        if (!tb) {
            bt->st.interp_blocks++;
            cpu_exec_block(v, b, cap);
            return;
        }
        bt->st.single_runs++;
        bt->budget = 1;
    }
    if (bt->budget > INT32_MAX) bt->budget = INT32_MAX; /* (the flag-free budget check: gen_budget_check) */
    if (bt->view_writes && !v->m->mem.view_wp) {
        /* The view stopped keeping code read-only (phys_view_wp_off, maybe
         * while this TB was translated): no TB may write through it now.
         * (Translated code never reaches another TB past this check while
         * it goes off: that happens only as the decode cache marks a code
         * page, in the lookup above, or drops one, which queues
         * invalidations, which send every lookup-and-goto here.) */
        flush_all(bt);
        bt->view_writes = false;
        return;
    }
    bt->icount_base = v->icount + (uint64_t)bt->budget;
    bt->enter(v, bt, tb->code);
    v->icount = bt->icount_base - (uint64_t)bt->budget;
}

/* The translator's side of the shared run loop (cpu/interp.h). */
static void bt_engine_run(struct vcpu *v, void *ctx, uint64_t to_poll, uint64_t left)
{
    run_one(v, ctx, to_poll, left);
}

/* After a fault or before a single step, the last exit is no chaining source. */
static void bt_engine_forget(struct vcpu *v, void *ctx)
{
    (void)v;
    ((struct bt_vcpu *)ctx)->last_exit = NULL;
}

enum vcpu_stop bt_run(struct vcpu *v, uint64_t max_insns)
{
    if (!v->bt) {
        if (!bt_new(v)) {
            fprintf(stderr, "bt86: cannot allocate the translation cache\n");
            v->stop = STOP_ERROR;
            return v->stop;
        }
    }
    struct run_ops ops = { bt_engine_run, bt_engine_forget, v->bt };
    return cpu_run_loop(v, max_insns, &ops);
}
