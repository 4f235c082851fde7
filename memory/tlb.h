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

#define TLB_VIEW_SUP  0
#define TLB_VIEW_USER 1
#define TLB_VIEW_AC   2   /* user view with alignment checking: always empty, so every access takes the slow path */
#define TLB_TAG_NONE  1u
#define TLB_DEFAULT_BITS 10   /* 1024 entries per view */
#define TLB_NG_LOG 256

struct tlb_entry {
    uint32_t tag_r;
    uint32_t tag_w;
    uintptr_t addend; /* host address = (uintptr_t)lin + addend */
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

#endif
