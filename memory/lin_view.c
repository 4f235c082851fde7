/* The linear view's mappings (memory/lin_view.h). */
#include "memory/lin_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "memory/phys.h"

#define LIN_PAGES (1u << 20) /* linear pages in 4 GiB */
#define ENT_W 1u

static uint32_t ent_ppn(uint32_t ent) { return (ent >> 1) - 1; }

int lin_view_init(struct lin_view *lv, struct phys_mem *pm)
{
    memset(lv, 0, sizeof(*lv));
    if (!pm->view || pm->ram_fd < 0) return -1;
    void *b = mmap(NULL, PHYS_VIEW_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (b == MAP_FAILED) return -1;
    lv->base = b;
    lv->pm = pm;
    lv->page = calloc(LIN_PAGES, sizeof(uint32_t));
    lv->walias = calloc((pm->ram_size >> 12) + 1, sizeof(uint32_t));
    lv->log = malloc(LIN_VIEW_MAX_PAGES * sizeof(uint32_t));
    if (!lv->page || !lv->walias || !lv->log) {
        lin_view_destroy(lv);
        return -1;
    }
    return 0;
}

void lin_view_destroy(struct lin_view *lv)
{
    if (lv->base) munmap(lv->base, PHYS_VIEW_SIZE);
    free(lv->page);
    free(lv->walias);
    free(lv->log);
    memset(lv, 0, sizeof(*lv));
}

/* [lin, lin + len) inaccessible again (false: the host refused). */
static bool hide(struct lin_view *lv, uint32_t lin, size_t len)
{
    return mmap(lv->base + lin, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) !=
           MAP_FAILED;
}

/* The RAM page behind host_page if it is a physical view address — what
 * the TLB holds for plain RAM — else false. (Not phys_host_pa: a `ram`
 * address is RAM under a ROM or MMIO overlay, which must stay hidden.) */
static bool view_page(const struct lin_view *lv, const uint8_t *host_page, uint32_t *ppn)
{
    uintptr_t h = (uintptr_t)host_page, v = (uintptr_t)lv->pm->view;
    if (h < v || h - v >= lv->pm->ram_size) return false;
    *ppn = (uint32_t)((h - v) >> 12);
    return true;
}

/* Forget linear page n's mapping in the tables (not in the host). */
static void forget(struct lin_view *lv, uint32_t n)
{
    uint32_t ent = lv->page[n];
    if (!ent) return;
    if ((ent & ENT_W) && lv->walias[ent_ppn(ent)] == n + 1) lv->walias[ent_ppn(ent)] = 0;
    lv->page[n] = 0;
}

void lin_view_clear(struct lin_view *lv)
{
    if (!lv->base || lv->nlog == 0) return;
    /* One mapping over the whole reservation: it never needs a new host
     * mapping, so the host cannot refuse it for lack of them. */
    if (!hide(lv, 0, PHYS_VIEW_SIZE)) {
        fprintf(stderr, "bt86: cannot unmap the linear view (host refused)\n");
        exit(1);
    }
    for (uint32_t i = 0; i < lv->nlog; i++) forget(lv, lv->log[i]);
    lv->nlog = 0;
    lv->clears++;
}

/* A host call failed (out of host mappings): start again from nothing. */
static void failed(struct lin_view *lv)
{
    lv->failures++;
    lin_view_clear(lv);
}

void lin_view_map(struct lin_view *lv, uint32_t lin_page, const uint8_t *host_page, bool writable)
{
    if (!lv->base) return;
    uint32_t n = lin_page >> 12, ppn;
    if (!view_page(lv, host_page, &ppn)) {
        lin_view_unmap(lv, lin_page, 0x1000); /* not plain RAM: the TLB path only */
        return;
    }
    if (writable && lv->walias[ppn] && lv->walias[ppn] != n + 1) writable = false; /* one writable alias */
    uint32_t ent = (ppn + 1) << 1 | (writable ? ENT_W : 0), old = lv->page[n];
    if (old == ent) return;
    if (!old && lv->nlog == LIN_VIEW_MAX_PAGES) lin_view_clear(lv);
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    uint8_t *at = lv->base + ((size_t)n << 12);
    bool ok;
    if (old && ent_ppn(old) == ppn) ok = mprotect(at, 0x1000, prot) == 0;
    else /* (populated: the access that asked for the page follows at once; a Linux bench run makes 11,600 page faults fewer of 65,700) */
        ok = mmap(at, 0x1000, prot, MAP_SHARED | MAP_FIXED | MAP_POPULATE, lv->pm->ram_fd, (off_t)ppn << 12) != MAP_FAILED;
    if (!ok) {
        failed(lv);
        return;
    }
    if (old) forget(lv, n);
    else lv->log[lv->nlog++] = n;
    lv->page[n] = ent;
    if (writable) lv->walias[ppn] = n + 1;
    lv->maps++;
}

void lin_view_unmap(struct lin_view *lv, uint32_t lin, uint32_t len)
{
    if (!lv->base) return;
    bool any = false;
    for (uint32_t n = lin >> 12; n < (lin >> 12) + (len >> 12); n++) {
        if (!lv->page[n]) continue;
        forget(lv, n);
        lv->unmaps++;
        any = true;
    }
    if (any && !hide(lv, lin, len)) failed(lv); /* (one host call for a whole 4 MiB region) */
}

void lin_view_revoke(struct lin_view *lv, const uint8_t *host_page)
{
    if (!lv->base) return;
    uint32_t ppn;
    if (!view_page(lv, host_page, &ppn) || !lv->walias[ppn]) return;
    uint32_t n = lv->walias[ppn] - 1;
    lv->walias[ppn] = 0;
    lv->page[n] &= ~ENT_W;
    lv->revokes++;
    if (mprotect(lv->base + ((size_t)n << 12), 0x1000, PROT_READ) != 0) failed(lv);
}
