/* The shadow TLB: fills, probes, the flushes (all, non-global, one page,
 * whole 4 MiB pages) and write revocation for code pages. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "memory/tlb.h"

static _Alignas(4096) uint8_t pg[4][4096];

static struct tlb *new_tlb(void)
{
    struct tlb *t = calloc(1, sizeof(*t));
    cr_assert(t);
    cr_assert_eq(tlb_init(t, TLB_DEFAULT_BITS), 0);
    return t;
}

static void free_tlb(struct tlb *t)
{
    tlb_destroy(t);
    free(t);
}

Test(tlb, starts_empty_in_every_view)
{
    struct tlb *t = new_tlb();
    cr_assert_eq(t->mask, (1u << TLB_DEFAULT_BITS) - 1);
    for (int v = 0; v < 3; v++) {
        cr_assert_null(tlb_probe_read(t, v, 0, 1));
        cr_assert_null(tlb_probe_write(t, v, 0, 1));
        cr_assert_null(tlb_probe_read(t, v, 0x12345678, 4));
    }
    free_tlb(t);
}

Test(tlb, fill_read_only_and_writable)
{
    struct tlb *t = new_tlb();
    tlb_fill(t, TLB_VIEW_SUP, 0x80001000u, pg[0], false, false);
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_SUP, 0x80001234u, 4), &pg[0][0x234]);
    cr_assert_null(tlb_probe_write(t, TLB_VIEW_SUP, 0x80001234u, 4));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, 0x80001234u, 4)); /* other view */
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_SUP, 0x80002234u, 4));  /* other page */
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_SUP, 0x80001ffeu, 4));  /* crosses */
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_SUP, 0x80001ffcu, 4), &pg[0][0xffc]);
    tlb_fill(t, TLB_VIEW_USER, 0x00400000u, pg[1], true, false);
    cr_assert_eq(tlb_probe_write(t, TLB_VIEW_USER, 0x00400ffeu, 2), &pg[1][0xffe]);
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, 0x00400000u, 1), &pg[1][0]);
    /* An aliasing page (same slot) replaces the entry. */
    tlb_fill(t, TLB_VIEW_USER, 0x00400000u + ((t->mask + 1) << 12), pg[2], false, false);
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, 0x00400000u, 1));
    cr_assert_eq(t->fills, 3);
    free_tlb(t);
}

Test(tlb, ac_view_is_never_filled)
{
    struct tlb *t = new_tlb();
    tlb_fill(t, TLB_VIEW_AC, 0x1000, pg[0], true, false);
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_AC, 0x1000, 1));
    cr_assert_null(tlb_probe_write(t, TLB_VIEW_AC, 0x1000, 1));
    cr_assert_eq(t->fills, 0);
    free_tlb(t);
}

Test(tlb, flush_page_all_nonglobal)
{
    struct tlb *t = new_tlb();
    tlb_fill(t, TLB_VIEW_SUP, 0xc0000000u, pg[0], true, true);
    tlb_fill(t, TLB_VIEW_SUP, 0x08048000u, pg[1], true, false);
    tlb_fill(t, TLB_VIEW_USER, 0x08048000u, pg[1], true, false);
    tlb_fill(t, TLB_VIEW_USER, 0x08049000u, pg[2], false, false);
    tlb_flush_page(t, 0x08048abcu);
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_SUP, 0x08048000u, 1));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, 0x08048000u, 1));
    cr_assert_not_null(tlb_probe_read(t, TLB_VIEW_USER, 0x08049000u, 1));
    cr_assert_not_null(tlb_probe_write(t, TLB_VIEW_SUP, 0xc0000000u, 1));
    tlb_flush_nonglobal(t);
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, 0x08049000u, 1));
    cr_assert_eq(tlb_probe_write(t, TLB_VIEW_SUP, 0xc0000010u, 1), &pg[0][0x10]);
    tlb_flush_page(t, 0xc0000000u); /* INVLPG drops global entries too */
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_SUP, 0xc0000000u, 1));
    tlb_fill(t, TLB_VIEW_SUP, 0xc0000000u, pg[0], true, true);
    tlb_flush_all(t);
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_SUP, 0xc0000000u, 1));
    cr_assert_eq(t->flushes, 4);
    free_tlb(t);
}

Test(tlb, flush_page_drops_whole_large_page)
{
    struct tlb *t = new_tlb();
    tlb_fill(t, TLB_VIEW_SUP, 0xc0000000u, pg[0], true, false);
    tlb_fill(t, TLB_VIEW_SUP, 0xc03ff000u, pg[1], true, false);
    tlb_fill(t, TLB_VIEW_SUP, 0xc0400000u, pg[2], true, false);
    tlb_note_large(t, 0xc0000000u);
    cr_assert(!tlb_has_large(t, 0xc0400000u));
    tlb_flush_page(t, 0xc0123456u);
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_SUP, 0xc0000000u, 1));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_SUP, 0xc03ff000u, 1));
    cr_assert_not_null(tlb_probe_read(t, TLB_VIEW_SUP, 0xc0400000u, 1));
    tlb_flush_all(t);
    cr_assert(!tlb_has_large(t, 0xc0000000u));
    free_tlb(t);
}

Test(tlb, revoke_write_keeps_reads)
{
    struct tlb *t = new_tlb();
    tlb_fill(t, TLB_VIEW_SUP, 0x00005000u, pg[3], true, false);
    tlb_fill(t, TLB_VIEW_USER, 0x40005000u, pg[3], true, false); /* an alias */
    tlb_fill(t, TLB_VIEW_SUP, 0x00006000u, pg[2], true, false);
    tlb_revoke_write(t, pg[3]);
    cr_assert_null(tlb_probe_write(t, TLB_VIEW_SUP, 0x00005000u, 1));
    cr_assert_null(tlb_probe_write(t, TLB_VIEW_USER, 0x40005000u, 1));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, 0x40005008u, 4), &pg[3][8]);
    cr_assert_eq(tlb_probe_write(t, TLB_VIEW_SUP, 0x00006000u, 4), &pg[2][0]);
    free_tlb(t);
}

Test(tlb, init_with_16k_entries)
{
    struct tlb t;
    cr_assert_eq(tlb_init(&t, 14), 0);
    cr_assert_eq(t.mask, 0x3fffu);
    tlb_fill(&t, TLB_VIEW_SUP, 0x3fff000u, pg[0], false, false);
    cr_assert_not_null(tlb_probe_read(&t, TLB_VIEW_SUP, 0x3fff000u, 1));
    tlb_destroy(&t);
}
