/* The shadow TLB's maintenance: allocation, fills, and the flushes that model
 * MOV CR3, INVLPG, paging-mode changes and code-page write revocation. The
 * probes themselves are inline in memory/tlb.h. Each view is direct mapped. */
#include "memory/tlb.h"

#include <stdlib.h>
#include <string.h>

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
    for (int v = 0; v < 3; v++) {
        t->view[v] = malloc(n * sizeof(struct tlb_entry));
        if (!t->view[v]) goto fail;
        for (size_t i = 0; i < n; i++) clear_entry(&t->view[v][i]);
    }
    for (int v = 0; v < 2; v++) {
        t->global[v] = calloc(n, 1);
        if (!t->global[v]) goto fail;
    }
    return 0;
fail:
    tlb_destroy(t);
    return -1;
}

void tlb_destroy(struct tlb *t)
{
    for (int v = 0; v < 3; v++) free(t->view[v]);
    for (int v = 0; v < 2; v++) free(t->global[v]);
    memset(t, 0, sizeof(*t));
}

void tlb_fill(struct tlb *t, int view, uint32_t lin_page, uint8_t *host_page, bool writable, bool global)
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
    if (!global) {
        if (t->ng_count < TLB_NG_LOG) t->ng_log[t->ng_count] = (uint32_t)view << 16 | i;
        if (t->ng_count <= TLB_NG_LOG) t->ng_count++;
    }
    t->fills++;
}

void tlb_flush_all(struct tlb *t)
{
    if (!t->view[0]) return;
    for (int v = 0; v < 2; v++) {
        for (uint32_t i = 0; i <= t->mask; i++) clear_entry(&t->view[v][i]);
        memset(t->global[v], 0, (size_t)t->mask + 1);
    }
    memset(t->large, 0, sizeof(t->large));
    t->ng_count = 0;
    t->flushes++;
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
    t->ng_count = 0;
    t->flushes++;
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
    } else {
        flush_one(t, page);
    }
    t->flushes++;
}

void tlb_revoke_write(struct tlb *t, const uint8_t *host_page)
{
    if (!t->view[0]) return;
    for (int v = 0; v < 2; v++) {
        for (uint32_t i = 0; i <= t->mask; i++) {
            struct tlb_entry *e = &t->view[v][i];
            if (e->tag_w != TLB_TAG_NONE && (uintptr_t)e->tag_w + e->addend == (uintptr_t)host_page)
                e->tag_w = TLB_TAG_NONE;
        }
    }
}
