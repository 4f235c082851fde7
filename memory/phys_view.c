/* The physical view: guest RAM mapped a second time at view + its guest
 * physical address, inside a 4 GiB reservation where everything that is
 * not plain RAM — MMIO, ROM (however routed), the hole past the end of
 * RAM, the guard after 4 GiB — is inaccessible. It shares the pages of
 * `ram` (the same memfd), so it never holds stale data. phys_page_host
 * gives out view addresses for plain RAM pages (the TLB's, so every engine
 * uses them), and the translator reads guest memory through it with paging
 * off and no bounds check (translator/bt_fault.c catches the faults). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "memory/phys.h"

/* Map the runs of plain RAM pages over the reservation from the memfd,
 * readable and writable (-1: the host refused). */
static int map_plain(struct phys_mem *pm, uint8_t *view)
{
    for (uint32_t pa = 0; pa < pm->ram_size;) {
        if (pm->overlaid[pa >> 12]) {
            pa += 0x1000;
            continue;
        }
        uint32_t end = pa + 0x1000;
        while (end < pm->ram_size && !pm->overlaid[end >> 12]) end += 0x1000;
        if (mmap(view + pa, end - pa, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, pm->ram_fd, pa) ==
            MAP_FAILED)
            return -1;
        pa = end;
    }
    return 0;
}

int phys_view_build(struct phys_mem *pm)
{
    if (pm->view) return 0;
    if (pm->ram_fd < 0) return -1;
    void *v = mmap(NULL, PHYS_VIEW_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (v == MAP_FAILED) return -1;
    if (map_plain(pm, v) != 0) {
        munmap(v, PHYS_VIEW_SIZE);
        return -1;
    }
    pm->view = v;
    return 0;
}

/* ---------- code pages read-only in the view ---------- */

/* Page p's protection in the view (false: the host refused). (Overlaid
 * pages stay hidden: not for this.) */
static bool protect(struct phys_mem *pm, uint32_t p, int prot)
{
    return mprotect(pm->view + ((size_t)p << 12), 0x1000, prot) == 0;
}

/* Code page `page` becomes read-only in the view (or view_wp goes off). */
static void wp_protect(struct phys_mem *pm, uint32_t page)
{
    if (pm->overlaid[page]) return;
    if (pm->view_wp_pages >= PHYS_VIEW_WP_MAX || !protect(pm, page, PROT_READ)) {
        phys_view_wp_off(pm);
        return;
    }
    pm->view_wp_pages++;
}

void phys_view_wp_on(struct phys_mem *pm)
{
    if (!pm->view || pm->view_wp) return;
    pm->view_wp = true;
    pm->view_wp_pages = 0;
    for (uint32_t p = 0; p < pm->ram_size >> 12 && pm->view_wp; p++)
        if (pm->code_pages[p]) wp_protect(pm, p);
}

/* Every plain page writable again: one mapping for each run of plain RAM,
 * replacing the pieces (a refusal here would leave pages the TLB hands out
 * inaccessible). */
static void unprotect_all(struct phys_mem *pm)
{
    pm->view_wp_pages = 0;
    if (map_plain(pm, pm->view) != 0) {
        fprintf(stderr, "bt86: cannot map guest RAM again (out of host memory mappings)\n");
        exit(1);
    }
}

void phys_view_wp_off(struct phys_mem *pm)
{
    if (!pm->view_wp) return;
    pm->view_wp = false;
    unprotect_all(pm);
}

void phys_code_page_set(struct phys_mem *pm, uint32_t page)
{
    if (page >= pm->ram_size >> 12) return;
    bool was = pm->code_pages[page];
    __atomic_store_n(&pm->code_pages[page], 1, __ATOMIC_SEQ_CST);
    if (pm->view_wp && !was) wp_protect(pm, page);
}

void phys_code_page_clear(struct phys_mem *pm, uint32_t page)
{
    if (page >= pm->ram_size >> 12 || !pm->code_pages[page]) return;
    pm->code_pages[page] = 0;
    if (!pm->view_wp || pm->overlaid[page]) return;
    if (!protect(pm, page, PROT_READ | PROT_WRITE)) {
        phys_view_wp_off(pm);
        return;
    }
    pm->view_wp_pages--;
}

void phys_code_pages_clear_all(struct phys_mem *pm)
{
    if (!pm->code_pages) return;
    memset(pm->code_pages, 0, pm->ram_size >> 12);
    if (pm->view_wp && pm->view_wp_pages) unprotect_all(pm); /* (one remap, not a call per page) */
}

void phys_mark_overlaid(struct phys_mem *pm, uint32_t base, uint32_t size)
{
    if (size == 0 || base >= pm->ram_size) return;
    uint64_t lo = base & ~0xfffull, hi = ((uint64_t)base + size + 0xfff) & ~0xfffull;
    if (hi > pm->ram_size) hi = pm->ram_size;
    memset(pm->overlaid + (lo >> 12), 1, (size_t)((hi - lo) >> 12));
    if (pm->view) mprotect(pm->view + lo, hi - lo, PROT_NONE);
}
