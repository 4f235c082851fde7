/* The shadow TLB: guest linear page -> host pointer, one table per privilege view
 * (supervisor, user). Filled by the paging unit (memory/paging.c) on a miss; both
 * engines probe it inline. A hit costs a compare and an add.
 *
 * An entry matches a linear address `lin` for reading when tag_r == (lin & ~0xfff),
 * and for writing when tag_w == (lin & ~0xfff). Tags with bit 0 set never match,
 * which is how an entry is made read-only (dirty bit still clear, page holds
 * decoded code, page is read-only) or empty. MMIO pages are never entered: every
 * access to them takes the slow path. */
#ifndef BT86_MEMORY_TLB_H
#define BT86_MEMORY_TLB_H

#include <stdbool.h>
#include <stdint.h>

#include "memory/lin_view.h"

#define TLB_VIEW_SUP  0
#define TLB_VIEW_USER 1
#define TLB_VIEW_AC   2   /* user view with alignment checking: always empty, so every access takes the slow path */
#define TLB_TAG_NONE  1u
#define TLB_DEFAULT_BITS 10   /* 1024 entries per view */
#define TLB_NG_LOG 256
#define TLB_PAGE_LOG 16 /* INVLPGs remembered for the jump cache */
/* Per-address-space sets (see "Cached address spaces" below). */
#define TLB_SETS 4          /* CR3 values whose non-global entries are kept */
#define TLB_SET_MAX 512     /* entries saved per set (more: the first ones) */
#define TLB_SRC_NONE 1u     /* tlb_src.pte_pa of a 4 MiB page (no PTE) */

struct tlb_entry {
    uint32_t tag_r;
    uint32_t tag_w;
    uintptr_t addend; /* host address = (uintptr_t)lin + addend */
};

/* The paging-structure entries a non-global entry was made from: physical
 * address and value (after the walk's A/D update) of the PDE and PTE. */
struct tlb_src {
    uint32_t pde_pa, pde;
    uint32_t pte_pa, pte;   /* pte_pa TLB_SRC_NONE: a 4 MiB page */
};

struct tlb {
    struct tlb_entry *view[3]; /* view[TLB_VIEW_AC] is never filled */
    uint8_t *global[2];  /* per entry: 1 if filled from a global (G) page, kept across MOV CR3 */
    uint32_t mask;       /* entries per view - 1 */
    uint64_t fills, flushes; /* statistics */
    /* One bit per 4 MiB region of the linear space, set by the paging unit when
     * it fills from a 4 MiB page there: INVLPG in such a region drops every
     * 4 KiB entry of it (cleared by tlb_flush_all). */
    uint32_t large[32];
    /* Where non-global entries were filled since the last flush (view << 16
     * | index), so MOV CR3 clears just those instead of sweeping both views;
     * a count past TLB_NG_LOG means "too many: sweep". */
    uint32_t ng_count;
    uint32_t ng_log[TLB_NG_LOG];

    /* --- Cached address spaces ---
     * MOV CR3 moves the current non-global entries (found through ng_log)
     * into a set keyed by the old CR3's page-directory address and, if the
     * new CR3 has a set (the last TLB_SETS, LRU), writes its entries back
     * instead of letting them be refilled one miss at a time. Each entry
     * remembers the paging-structure entries it was made from (src[]: the
     * PDE and PTE, address and value after the walk set A/D); an entry is
     * restored only if guest memory still holds exactly those values, so it
     * is the translation a fresh walk would make (as VMware's VMM reused
     * shadow page tables across context switches, but validated on reuse
     * rather than by tracing writes to the guest's tables). */
    struct tlb_src *src[2];
    bool cur_nosave;      /* the current entries may not be cached (paging off, a table outside RAM) */
    bool sets_off;        /* never cache sets (BT86_NO_TLB_SETS=1) */
    struct tlb_set {
        uint32_t pd;      /* CR3 & ~0xfff */
        bool used;
        uint32_t n;
        uint64_t lru;
        struct tlb_saved {
            uint32_t slot;        /* view << 16 | index */
            uint32_t tag_r, tag_w;
            uintptr_t addend;
            struct tlb_src src;
        } *e;
    } set[TLB_SETS];
    uint64_t lru_clock;
    /* statistics */
    uint64_t cr3_hits, cr3_misses, restored, stale;

    /* What each flush dropped, for caches that hang off the TLB's
     * translations (the per-vCPU jump cache, cpu/interp.c): counts of
     * tlb_flush_all and tlb_flush_nonglobal calls, and the pages of the last
     * TLB_PAGE_LOG tlb_flush_page calls (4 KiB page base, or the 4 MiB region
     * base | 1 when it held a large page), indexed by page_gen % TLB_PAGE_LOG.
     * flushes (above) counts all three. */
    uint64_t all_gen, ng_gen, page_gen;
    uint32_t page_log[TLB_PAGE_LOG];

    /* The global supervisor entries as host mappings (memory/lin_view.h;
     * NULL: none): kept in step by fills, flushes and write revocation. */
    struct lin_view *lv;
    /* The user view's entries as host mappings (NULL: none), kept only
     * while uv_on: an address space that has run long enough since the
     * last MOV CR3 (the translator turns it on, tlb_uview_on); every
     * non-global flush empties it and turns it off (a process that runs
     * briefly would pay a host fault per page it touches). */
    struct lin_view *uv;
    bool uv_on;
};

static inline void tlb_note_large(struct tlb *t, uint32_t lin)
{
    t->large[lin >> 27] |= 1u << ((lin >> 22) & 31);
}

static inline bool tlb_has_large(const struct tlb *t, uint32_t lin)
{
    return (t->large[lin >> 27] >> ((lin >> 22) & 31)) & 1;
}

static inline struct tlb_entry *tlb_slot(const struct tlb *t, int view, uint32_t lin)
{
    return &t->view[view][(lin >> 12) & t->mask];
}

/* The linear range [*lo, *lo + *len) that the INVLPG logged as `logged`
 * (an entry of page_log) dropped: a 4 KiB page, or a 4 MiB region. */
static inline void tlb_logged_range(uint32_t logged, uint32_t *lo, uint32_t *len)
{
    *lo = logged & ~1u;
    *len = (logged & 1) ? 0x400000u : 0x1000u;
}

/* Is lin's page entered for reading in view (0 or 1)? ... from a global page? */
static inline bool tlb_holds(const struct tlb *t, int view, uint32_t lin)
{
    return tlb_slot(t, view, lin)->tag_r == (lin & ~0xfffu);
}

static inline bool tlb_is_global(const struct tlb *t, int view, uint32_t lin)
{
    return tlb_holds(t, view, lin) && t->global[view][(lin >> 12) & t->mask];
}

/* May a global translation of lin's page in view still be in use (so that
 * what was derived from it survives MOV CR3)? The direct-mapped slot may
 * hold another page by now; the linear view, when there is one, keeps
 * every global supervisor page until INVLPG or a full flush. */
static inline bool tlb_global_translation(const struct tlb *t, int view, uint32_t lin)
{
    return tlb_is_global(t, view, lin) || (view == TLB_VIEW_SUP && t->lv && lin_view_has(t->lv, lin));
}

/* Fast probes: return the host pointer, or NULL on a miss (the caller then takes
 * the slow path). `size` must not cross the page; the probe checks that too. */
static inline void *tlb_probe_read(const struct tlb *t, int view, uint32_t lin, unsigned size)
{
    const struct tlb_entry *e = tlb_slot(t, view, lin);
    if (e->tag_r == (lin & ~0xfffu) && (lin & 0xfff) <= 0x1000u - size)
        return (void *)((uintptr_t)lin + e->addend);
    return 0;
}

static inline void *tlb_probe_write(const struct tlb *t, int view, uint32_t lin, unsigned size)
{
    const struct tlb_entry *e = tlb_slot(t, view, lin);
    if (e->tag_w == (lin & ~0xfffu) && (lin & 0xfff) <= 0x1000u - size)
        return (void *)((uintptr_t)lin + e->addend);
    return 0;
}

int  tlb_init(struct tlb *t, int bits);
void tlb_destroy(struct tlb *t);
/* Enter a mapping for one view. host_page is the host address of the 4 KiB page. */
void tlb_fill(struct tlb *t, int view, uint32_t lin_page, uint8_t *host_page, bool writable, bool global);
void tlb_flush_all(struct tlb *t);            /* CR0/CR4 paging changes */
void tlb_flush_nonglobal(struct tlb *t);      /* MOV CR3 (keeps G entries when CR4.PGE) */
void tlb_flush_page(struct tlb *t, uint32_t lin); /* INVLPG */
/* Revoke fast-path writes to one host page (it now holds decoded code). */
void tlb_revoke_write(struct tlb *t, const uint8_t *host_page);
/* Start keeping the user view's entries in t->uv: its current entries are
 * dropped (refilled, and so mapped, on use). */
void tlb_uview_on(struct tlb *t);

/* A fill that records where a non-global entry came from (NULL: it may not
 * be kept across MOV CR3: paging off, a table outside RAM). tlb_fill is
 * tlb_fill_src with NULL. */
void tlb_fill_src(struct tlb *t, int view, uint32_t lin_page, uint8_t *host_page, bool writable, bool global,
                  const struct tlb_src *src);
struct phys_mem;
/* MOV CR3 from old_cr3 to new_cr3: saves the current non-global entries
 * under old_cr3 (when cacheable), flushes them, and restores new_cr3's set
 * if cached: each entry whose PDE/PTE still hold the recorded values in pm
 * (read as the walker reads them), losing fast-path writes if its page now
 * holds decoded code. Reloading the same CR3 is a plain flush. Returns true
 * when a set was found. */
bool tlb_switch_cr3(struct tlb *t, uint32_t old_cr3, uint32_t new_cr3, struct phys_mem *pm);
/* Drop every cached set (keeps the current entries). */
void tlb_drop_sets(struct tlb *t);

#endif
