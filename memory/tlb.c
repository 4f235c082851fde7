/* The shadow TLB's maintenance: allocation, fills, and the flushes that model
 * MOV CR3, INVLPG, paging-mode changes and code-page write revocation, and the
 * cache of recent address spaces (sets saved on MOV CR3 and restored, entry by
 * entry, where the guest's PDE/PTE are unchanged). The probes themselves are
 * inline in memory/tlb.h. Each view is direct mapped. */
#include "memory/tlb.h"

#include <stdlib.h>
#include <string.h>

#include "memory/lin_view.h"
#include "memory/phys.h"

static void clear_entry(struct tlb_entry *e)
{
    e->tag_r = TLB_TAG_NONE;
    e->tag_w = TLB_TAG_NONE;
    e->addend = 0;
}

int tlb_init(struct tlb *t, int bits)
{
    memset(t, 0, sizeof(*t));
    if (bits < 4) bits = 4;
    if (bits > 16) bits = 16;
    size_t n = (size_t)1 << bits;
    t->mask = (uint32_t)(n - 1);
    /* BT86_NO_TLB_SETS=1: the old behaviour (every MOV CR3 drops the
     * non-global entries, none kept), for comparisons. */
    const char *off = getenv("BT86_NO_TLB_SETS");
    t->sets_off = off && *off && *off != '0';
    for (int v = 0; v < 3; v++) {
        t->view[v] = malloc(n * sizeof(struct tlb_entry));
        if (!t->view[v]) goto fail;
        for (size_t i = 0; i < n; i++) clear_entry(&t->view[v][i]);
    }
    for (int v = 0; v < 2; v++) {
        t->global[v] = calloc(n, 1);
        t->src[v] = calloc(n, sizeof(struct tlb_src));
        if (!t->global[v] || !t->src[v]) goto fail;
    }
    for (int k = 0; k < TLB_SETS; k++) {
        t->set[k].e = malloc(TLB_SET_MAX * sizeof(struct tlb_saved));
        if (!t->set[k].e) goto fail;
    }
    return 0;
fail:
    tlb_destroy(t);
    return -1;
}

void tlb_destroy(struct tlb *t)
{
    for (int v = 0; v < 3; v++) free(t->view[v]);
    for (int v = 0; v < 2; v++) {
        free(t->global[v]);
        free(t->src[v]);
    }
    for (int k = 0; k < TLB_SETS; k++) free(t->set[k].e);
    memset(t, 0, sizeof(*t));
}

void tlb_fill(struct tlb *t, int view, uint32_t lin_page, uint8_t *host_page, bool writable, bool global)
{
    tlb_fill_src(t, view, lin_page, host_page, writable, global, NULL);
}

void tlb_fill_src(struct tlb *t, int view, uint32_t lin_page, uint8_t *host_page, bool writable, bool global,
                  const struct tlb_src *src)
{
    if (view != TLB_VIEW_SUP && view != TLB_VIEW_USER) return; /* the AC view stays empty */
    lin_page &= ~0xfffu;
    uint32_t i = (lin_page >> 12) & t->mask;
    struct tlb_entry *e = &t->view[view][i];
    e->tag_r = lin_page;
    e->tag_w = writable ? lin_page : TLB_TAG_NONE;
    /* Wraps modulo 2^64 on purpose: host = lin + addend. */
    e->addend = (uintptr_t)host_page - (uintptr_t)lin_page;
    t->global[view][i] = global ? 1 : 0;
    /* (a non-global entry replaces whatever the linear view held there) */
    if (t->lv && view == TLB_VIEW_SUP) lin_view_map(t->lv, lin_page, global ? host_page : NULL, writable);
    if (t->uv_on && view == TLB_VIEW_USER) lin_view_map(t->uv, lin_page, host_page, writable);
    if (!global) {
        if (src) t->src[view][i] = *src;
        else t->cur_nosave = true;
        if (t->ng_count < TLB_NG_LOG) t->ng_log[t->ng_count] = (uint32_t)view << 16 | i;
        if (t->ng_count <= TLB_NG_LOG) t->ng_count++;
    }
    t->fills++;
}

static void uview_off(struct tlb *t)
{
    if (!t->uv_on) return;
    lin_view_clear(t->uv);
    t->uv_on = false;
}

void tlb_uview_on(struct tlb *t)
{
    if (!t->uv || t->uv_on || !t->view[0]) return;
    for (uint32_t i = 0; i <= t->mask; i++) {
        clear_entry(&t->view[TLB_VIEW_USER][i]);
        t->global[TLB_VIEW_USER][i] = 0;
    }
    t->uv_on = true;
}

void tlb_flush_all(struct tlb *t)
{
    if (!t->view[0]) return;
    for (int v = 0; v < 2; v++) {
        for (uint32_t i = 0; i <= t->mask; i++) clear_entry(&t->view[v][i]);
        memset(t->global[v], 0, (size_t)t->mask + 1);
    }
    memset(t->large, 0, sizeof(t->large));
    if (t->lv) lin_view_clear(t->lv);
    uview_off(t);
    t->ng_count = 0;
    t->cur_nosave = false;
    tlb_drop_sets(t);
    t->flushes++;
    t->all_gen++;
}

void tlb_flush_nonglobal(struct tlb *t)
{
    if (!t->view[0]) return;
    if (t->ng_count <= TLB_NG_LOG) {
        /* Only slots filled non-global since the last flush can hold a
         * non-global entry (a slot refilled global since is left alone). */
        for (uint32_t k = 0; k < t->ng_count; k++) {
            uint32_t v = t->ng_log[k] >> 16, i = t->ng_log[k] & 0xffffu;
            if (!t->global[v][i]) clear_entry(&t->view[v][i]);
        }
    } else {
        for (int v = 0; v < 2; v++)
            for (uint32_t i = 0; i <= t->mask; i++)
                if (!t->global[v][i]) clear_entry(&t->view[v][i]);
    }
    uview_off(t);
    t->ng_count = 0;
    t->cur_nosave = false;
    t->flushes++;
    t->ng_gen++;
}

static void flush_one(struct tlb *t, uint32_t page)
{
    for (int v = 0; v < 2; v++) {
        uint32_t i = (page >> 12) & t->mask;
        struct tlb_entry *e = &t->view[v][i];
        if (e->tag_r == page || e->tag_w == page) {
            clear_entry(e);
            t->global[v][i] = 0;
        }
    }
}

void tlb_flush_page(struct tlb *t, uint32_t lin)
{
    if (!t->view[0]) return;
    uint32_t page = lin & ~0xfffu;
    if (tlb_has_large(t, lin)) {
        /* The address may lie in a 4 MiB page entered as many 4 KiB entries. */
        uint32_t base = lin & 0xffc00000u;
        for (uint32_t k = 0; k < 1024; k++) flush_one(t, base + (k << 12));
        if (t->lv) lin_view_unmap(t->lv, base, 0x400000u);
        if (t->uv_on) lin_view_unmap(t->uv, base, 0x400000u);
        page = base | 1;
    } else {
        flush_one(t, page);
        if (t->lv) lin_view_unmap(t->lv, page, 0x1000u);
        if (t->uv_on) lin_view_unmap(t->uv, page, 0x1000u);
    }
    t->page_log[t->page_gen % TLB_PAGE_LOG] = page;
    t->page_gen++;
    t->flushes++;
}

void tlb_revoke_write(struct tlb *t, const uint8_t *host_page)
{
    if (!t->view[0]) return;
    if (t->lv) lin_view_revoke(t->lv, host_page);
    if (t->uv) lin_view_revoke(t->uv, host_page);
    for (int v = 0; v < 2; v++) {
        for (uint32_t i = 0; i <= t->mask; i++) {
            struct tlb_entry *e = &t->view[v][i];
            if (e->tag_w != TLB_TAG_NONE && (uintptr_t)e->tag_w + e->addend == (uintptr_t)host_page)
                e->tag_w = TLB_TAG_NONE;
        }
    }
}

/* --- Cached address spaces --- */

void tlb_drop_sets(struct tlb *t)
{
    for (int k = 0; k < TLB_SETS; k++) {
        t->set[k].used = false;
        t->set[k].n = 0;
    }
}

/* Move the current non-global entries into a set for page directory pd
 * (clearing their slots); the set of `keep` (the space being entered) is
 * never the one evicted. */
static void save_current(struct tlb *t, uint32_t pd, uint32_t keep)
{
    struct tlb_set *set = NULL;
    for (int k = 0; k < TLB_SETS && !set; k++)
        if (t->set[k].used && t->set[k].pd == pd) set = &t->set[k];
    for (int k = 0; k < TLB_SETS && !set; k++)
        if (!t->set[k].used) set = &t->set[k];
    if (!set) { /* evict the least recently used */
        for (int k = 0; k < TLB_SETS; k++) {
            struct tlb_set *c = &t->set[k];
            if (c->pd != keep && (!set || c->lru < set->lru)) set = c;
        }
    }
    set->pd = pd;
    set->n = 0;
    set->used = true;
    set->lru = ++t->lru_clock;
    bool sweep = t->ng_count > TLB_NG_LOG;
    uint32_t count = sweep ? 2 * (t->mask + 1) : t->ng_count;
    for (uint32_t k = 0; k < count && set->n < TLB_SET_MAX; k++) {
        uint32_t v, i;
        if (sweep) {
            v = k / (t->mask + 1);
            i = k % (t->mask + 1);
        } else {
            v = t->ng_log[k] >> 16;
            i = t->ng_log[k] & 0xffffu;
        }
        struct tlb_entry *e = &t->view[v][i];
        if (t->global[v][i] || e->tag_r == TLB_TAG_NONE) continue;
        set->e[set->n++] = (struct tlb_saved){ v << 16 | i, e->tag_r, e->tag_w, e->addend, t->src[v][i] };
        clear_entry(e); /* also keeps a slot logged twice from being saved twice */
    }
    if (set->n == 0) set->used = false;
}

/* Does guest memory still hold the dword the entry was made from? Read as
 * the walker reads it; only RAM addresses (no device reads for this). */
static bool same_dword(struct phys_mem *pm, uint32_t pa, uint32_t val)
{
    const uint8_t *p = phys_readable_ptr(pm, pa, 4);
    uint32_t x;
    if (!p) return false;
    memcpy(&x, p, 4);
    return x == val;
}

static void restore(struct tlb *t, struct tlb_set *set, struct phys_mem *pm)
{
    for (uint32_t j = 0; j < set->n; j++) {
        const struct tlb_saved *s = &set->e[j];
        if (!same_dword(pm, s->src.pde_pa, s->src.pde) ||
            (s->src.pte_pa != TLB_SRC_NONE && !same_dword(pm, s->src.pte_pa, s->src.pte))) {
            t->stale++; /* the guest changed its tables since: refilled on use */
            continue;
        }
        uint32_t v = s->slot >> 16, i = s->slot & 0xffffu;
        struct tlb_entry *e = &t->view[v][i];
        e->tag_r = s->tag_r;
        e->tag_w = s->tag_w;
        e->addend = s->addend;
        if (s->tag_w != TLB_TAG_NONE) {
            /* The page may hold decoded code by now: writes take the slow path. */
            uint32_t pa;
            if (phys_host_pa(pm, (const uint8_t *)((uintptr_t)s->tag_w + s->addend), &pa) &&
                phys_is_code_page(pm, pa))
                e->tag_w = TLB_TAG_NONE;
        }
        t->global[v][i] = 0;
        t->src[v][i] = s->src;
        if (s->src.pte_pa == TLB_SRC_NONE) tlb_note_large(t, s->tag_r);
        if (t->ng_count < TLB_NG_LOG) t->ng_log[t->ng_count] = s->slot;
        if (t->ng_count <= TLB_NG_LOG) t->ng_count++;
        t->restored++;
    }
    set->used = false;
    set->n = 0;
}

bool tlb_switch_cr3(struct tlb *t, uint32_t old_cr3, uint32_t new_cr3, struct phys_mem *pm)
{
    if (!t->view[0]) return false;
    uint32_t old_pd = old_cr3 & ~0xfffu, new_pd = new_cr3 & ~0xfffu;
    if (old_pd == new_pd || t->sets_off || !pm) {
        /* Reloading the same CR3 is the guest's "flush my TLB": a real one
         * (no set is kept for the current space, so none is restored). */
        tlb_flush_nonglobal(t);
        return false;
    }
    if (!t->cur_nosave) save_current(t, old_pd, new_pd);
    tlb_flush_nonglobal(t);
    for (int k = 0; k < TLB_SETS; k++) {
        struct tlb_set *set = &t->set[k];
        if (set->used && set->pd == new_pd) {
            restore(t, set, pm);
            t->cr3_hits++;
            return true;
        }
    }
    t->cr3_misses++;
    return false;
}
