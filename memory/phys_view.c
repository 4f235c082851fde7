/* The physical view: guest RAM mapped a second time at view + its guest
 * physical address, inside a 4 GiB reservation where everything that is
 * not plain RAM — MMIO, ROM (however routed), the hole past the end of
 * RAM, the guard after 4 GiB — is inaccessible. It shares the pages of
 * `ram` (the same memfd), so it never holds stale data. phys_page_host
 * gives out view addresses for plain RAM pages (the TLB's, so every engine
 * uses them), and the translator reads guest memory through it with paging
 * off and no bounds check (translator/bt_fault.c catches the faults). */
#include <string.h>
#include <sys/mman.h>

#include "memory/phys.h"

int phys_view_build(struct phys_mem *pm)
{
    if (pm->view) return 0;
    if (pm->ram_fd < 0) return -1;
    void *v = mmap(NULL, PHYS_VIEW_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (v == MAP_FAILED) return -1;
    uint8_t *view = v;
    /* Runs of plain RAM pages, mapped over the reservation from the memfd. */
    for (uint32_t pa = 0; pa < pm->ram_size;) {
        if (pm->overlaid[pa >> 12]) {
            pa += 0x1000;
            continue;
        }
        uint32_t end = pa + 0x1000;
        while (end < pm->ram_size && !pm->overlaid[end >> 12]) end += 0x1000;
        if (mmap(view + pa, end - pa, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, pm->ram_fd, pa) ==
            MAP_FAILED) {
            munmap(view, PHYS_VIEW_SIZE);
            return -1;
        }
        pa = end;
    }
    pm->view = view;
    return 0;
}

void phys_mark_overlaid(struct phys_mem *pm, uint32_t base, uint32_t size)
{
    if (size == 0 || base >= pm->ram_size) return;
    uint64_t lo = base & ~0xfffull, hi = ((uint64_t)base + size + 0xfff) & ~0xfffull;
    if (hi > pm->ram_size) hi = pm->ram_size;
    memset(pm->overlaid + (lo >> 12), 1, (size_t)((hi - lo) >> 12));
    if (pm->view) mprotect(pm->view + lo, hi - lo, PROT_NONE);
}
