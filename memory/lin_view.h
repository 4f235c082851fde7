/* The linear view: one vCPU's global supervisor translations as host
 * mappings. A 4 GiB reservation (and a guard, PHYS_VIEW_SIZE) where linear
 * page L is mapped to guest RAM page P (the memfd the physical view maps)
 * exactly while the vCPU's TLB could still hold a global supervisor entry
 * L -> P: tlb_fill maps it, INVLPG and full flushes (CR0/CR4 paging
 * changes) unmap it, MOV CR3 leaves it (global entries survive it on the
 * real CPU too). Readable for a read entry, writable only for a write entry
 * (Dirty set, the page holds no decoded code: tlb_revoke_write makes it
 * read-only again). Everything else is inaccessible, so translated
 * supervisor code can access memory at base + linear address with no
 * probe; a fault (a user page, MMIO, an unmapped or read-only page) goes
 * through translator/bt_fault.c to the access's TLB probe.
 *
 * Linux keeps its kernel (direct map, vmalloc, fixmap) in global pages, so
 * most of its kernel-mode accesses land here; user pages are never global.
 *
 * One writable alias per RAM page: a second global mapping of a page that
 * is already writable somewhere is made read-only (its writes take the TLB
 * path), so that revoking writes to a page that becomes code is one
 * mprotect. The number of mapped pages is capped (host mappings are a
 * limited resource): past the cap everything is unmapped and refilled on
 * use. */
#ifndef BT86_MEMORY_LIN_VIEW_H
#define BT86_MEMORY_LIN_VIEW_H

#include <stdbool.h>
#include <stdint.h>

struct phys_mem;

#define LIN_VIEW_MAX_PAGES 8192

struct lin_view {
    uint8_t *base;          /* PHYS_VIEW_SIZE bytes */
    struct phys_mem *pm;
    /* Per linear page: 0 unmapped, else (RAM page + 1) << 1 | writable. */
    uint32_t *page;
    /* Per RAM page: linear page number + 1 of its writable alias, or 0. */
    uint32_t *walias;
    /* Linear page numbers mapped since the last clear (may repeat, may be
     * unmapped since); its length is the cap. */
    uint32_t *log;
    uint32_t nlog;
    /* statistics */
    uint64_t maps, unmaps, clears, revokes, failures;
};

/* Is lin's page mapped (a global translation the TLB could still hold)? */
static inline bool lin_view_has(const struct lin_view *lv, uint32_t lin)
{
    return lv->base && lv->page[lin >> 12] != 0;
}

/* 0, or -1 (no memfd behind guest RAM, or no address space): no view. */
int  lin_view_init(struct lin_view *lv, struct phys_mem *pm);
void lin_view_destroy(struct lin_view *lv);
/* A TLB fill of a global supervisor entry: lin_page -> host_page (a
 * physical view address, or anything else: not mapped). */
void lin_view_map(struct lin_view *lv, uint32_t lin_page, const uint8_t *host_page, bool writable);
/* INVLPG: [lin, lin + len) unmapped (len 4 KiB or 4 MiB, aligned). */
void lin_view_unmap(struct lin_view *lv, uint32_t lin, uint32_t len);
/* A full TLB flush: everything unmapped. */
void lin_view_clear(struct lin_view *lv);
/* The page at host_page (a physical view address) now holds decoded code:
 * its writable alias, if any, becomes read-only. */
void lin_view_revoke(struct lin_view *lv, const uint8_t *host_page);

#endif
