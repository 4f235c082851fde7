/* Cached address spaces in the shadow TLB (memory/tlb.h): MOV CR3 saves the
 * current non-global entries and restores the new CR3's set (hit, miss, LRU
 * eviction), global entries stay put, an entry whose PDE or PTE changed in
 * guest memory is not restored (the others are), tables outside RAM are
 * never trusted, and a restored entry loses fast-path writes to a page that
 * now holds code. Then through the paging unit and MOV CR3: a PTE of an
 * inactive space rewritten by an ordinary guest write is seen after
 * switching back, and the recorded PTE carries the A/D bits the walk set. */
#include "harness.h"
#include "mem_fixture.h"

#include "cpu/vmm.h"

#define P_  0x001u
#define RW_ 0x002u
#define US_ 0x004u
#define A_  0x020u
#define D_  0x040u

/* A small guest RAM: tables at TBL, data pages from page 16 on. */
#define TBL 0x1000u
static struct phys_mem pm;

static struct tlb *new_tlb(void)
{
    struct tlb *t = calloc(1, sizeof(*t));
    cr_assert(t);
    cr_assert_eq(tlb_init(t, TLB_DEFAULT_BITS), 0);
    t->sets_off = false;
    cr_assert_eq(phys_init(&pm, 1u << 20), 0);
    return t;
}

static void free_tlb(struct tlb *t)
{
    tlb_destroy(t);
    free(t);
    phys_destroy(&pm);
}

static uint8_t *page(int r) { return pm.ram + 0x10000u + (uint32_t)r * 0x1000u; }

static void wr32(uint32_t pa, uint32_t x) { memcpy(pm.ram + pa, &x, 4); }

static bool sw(struct tlb *t, uint32_t from, uint32_t to)
{
    return tlb_switch_cr3(t, from, to, &pm);
}

/* A non-global user entry for lin onto data page r, made from the PDE at
 * pde_pa and the PTE at pte_pa (TLB_SRC_NONE: a 4 MiB page), whose current
 * values in RAM are recorded as the walker would. */
static void fill(struct tlb *t, uint32_t lin, int r, bool w, uint32_t pde_pa, uint32_t pte_pa)
{
    struct tlb_src src = { pde_pa, 0, pte_pa, 0 };
    memcpy(&src.pde, pm.ram + pde_pa, 4);
    if (pte_pa != TLB_SRC_NONE) memcpy(&src.pte, pm.ram + pte_pa, 4);
    tlb_fill_src(t, TLB_VIEW_USER, lin, page(r), w, false, &src);
}

/* Distinct TLB slots (0x1000 apart, below 4 MiB of each other). */
#define L0 0x00400000u
#define L1 0x00401000u
#define L2 0x00802000u
#define L3 0x00c03000u

#define PD_A 0x10000000u /* CR3 values (the tables the entries name are at TBL) */
#define PD_B 0x20000000u

Test(shadow, switch_back_restores_entries)
{
    struct tlb *t = new_tlb();
    wr32(TBL + 4, 0x5007);   /* PDE 1 */
    wr32(TBL + 0x100, 0x11027); /* PTE 0 */
    wr32(TBL + 0x104, 0x12027); /* PTE 1 */
    fill(t, L0, 1, true, TBL + 4, TBL + 0x100);
    fill(t, L1, 2, false, TBL + 4, TBL + 0x104);
    cr_assert_not(sw(t, PD_A, PD_B)); /* B never seen: miss */
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L0, 4));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L1, 4));
    fill(t, L0, 3, true, TBL + 8, TBL + 0x200); /* B maps the same address elsewhere */
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L0 + 0x10, 4), page(3) + 0x10);
    cr_assert(sw(t, PD_B, PD_A));
    cr_assert_eq(tlb_probe_write(t, TLB_VIEW_USER, L0 + 0x10, 4), page(1) + 0x10);
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L1 + 0xffc, 4), page(2) + 0xffc);
    cr_assert_null(tlb_probe_write(t, TLB_VIEW_USER, L1, 4)); /* still read-only */
    cr_assert(sw(t, PD_A, PD_B));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L0 + 0x10, 4), page(3) + 0x10);
    cr_assert_eq(t->cr3_hits, 2);
    cr_assert_eq(t->cr3_misses, 1);
    cr_assert_eq(t->restored, 3);
    cr_assert_eq(t->stale, 0);
    free_tlb(t);
}

Test(shadow, least_recently_used_set_is_evicted)
{
    struct tlb *t = new_tlb();
    uint32_t cur = 0x100000u;
    /* TLB_SETS + 1 spaces, one entry each, visited in order: each switch misses. */
    for (uint32_t k = 0; k <= TLB_SETS; k++) {
        fill(t, 0x08000000u, (int)k, false, TBL, TBL + 4 * k);
        uint32_t next = 0x100000u + (k + 1) * 0x1000u;
        cr_assert_not(sw(t, cur, next));
        cur = next;
    }
    /* Spaces 0..TLB_SETS were saved; space 0 (the oldest) was evicted. */
    cr_assert_not(sw(t, cur, 0x100000u));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, 0x08000000u, 1));
    cr_assert(sw(t, 0x100000u, 0x100000u + TLB_SETS * 0x1000u));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, 0x08000000u, 1), page(TLB_SETS));
    free_tlb(t);
}

Test(shadow, global_entries_stay_and_are_not_saved)
{
    struct tlb *t = new_tlb();
    tlb_fill_src(t, TLB_VIEW_SUP, 0xc0000000u, page(4), true, true, NULL);
    fill(t, L0, 1, true, TBL, TBL + 4);
    sw(t, PD_A, PD_B);
    cr_assert_eq(tlb_probe_write(t, TLB_VIEW_SUP, 0xc0000004u, 4), page(4) + 4);
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L0, 4));
    cr_assert(sw(t, PD_B, PD_A));
    cr_assert_eq(tlb_probe_write(t, TLB_VIEW_SUP, 0xc0000004u, 4), page(4) + 4);
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L0, 4), page(1));
    /* A CR0/CR4 paging change (flush_all) forgets every set. */
    sw(t, PD_A, PD_B);
    tlb_flush_all(t);
    cr_assert_not(sw(t, PD_B, PD_A));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L0, 4));
    free_tlb(t);
}

Test(shadow, changed_pte_leaves_only_its_entry_out)
{
    struct tlb *t = new_tlb();
    wr32(TBL + 0x100, 0x11027);
    wr32(TBL + 0x104, 0x12027);
    wr32(TBL + 0x200, 0x13027);
    fill(t, L0, 1, true, TBL + 4, TBL + 0x100);
    fill(t, L1, 2, true, TBL + 4, TBL + 0x104);
    fill(t, L2, 3, true, TBL + 8, TBL + 0x200);
    sw(t, PD_A, PD_B);
    wr32(TBL + 0x104, 0x14027); /* the inactive space's PTE for L1 changes */
    cr_assert(sw(t, PD_B, PD_A));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L0, 4), page(1));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L1, 4));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L2, 4), page(3));
    cr_assert_eq(t->stale, 1);
    /* Changed and changed back (A bit cleared and set again): the same
     * translation a walk would make, so it is restored. */
    sw(t, PD_A, PD_B);
    wr32(TBL + 0x100, 0x11007);
    wr32(TBL + 0x100, 0x11027);
    cr_assert(sw(t, PD_B, PD_A));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L0, 4), page(1));
    free_tlb(t);
}

Test(shadow, changed_pde_leaves_entries_under_it_out)
{
    struct tlb *t = new_tlb();
    wr32(TBL + 4, 0x5027);
    wr32(TBL + 8, 0x6027);
    wr32(TBL + 12, 0x00c000a7); /* a 4 MiB page */
    fill(t, L0, 1, true, TBL + 4, TBL + 0x100);
    fill(t, L1, 2, true, TBL + 4, TBL + 0x104);
    fill(t, L2, 3, true, TBL + 8, TBL + 0x200);
    fill(t, L3, 5, true, TBL + 12, TLB_SRC_NONE);
    sw(t, PD_A, PD_B);
    wr32(TBL + 4, 0x7027);
    cr_assert(sw(t, PD_B, PD_A));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L0, 4));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L1, 4));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L2, 4), page(3));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L3, 4), page(5));
    /* The 4 MiB page depends on its PDE only. */
    sw(t, PD_A, PD_B);
    wr32(TBL + 12, 0x010000a7);
    cr_assert(sw(t, PD_B, PD_A));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L3, 4));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L2, 4), page(3));
    cr_assert_eq(t->stale, 3);
    free_tlb(t);
}

Test(shadow, same_cr3_reload_is_a_real_flush)
{
    struct tlb *t = new_tlb();
    fill(t, L0, 1, true, TBL, TBL + 4);
    cr_assert_not(sw(t, PD_A, PD_A));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L0, 4));
    cr_assert_not(sw(t, PD_A, PD_B));
    cr_assert_not(sw(t, PD_B, PD_A)); /* nothing was saved for A */
    cr_assert_eq(t->cr3_hits, 0);
    free_tlb(t);
}

Test(shadow, tables_outside_ram_are_never_trusted)
{
    struct tlb *t = new_tlb();
    fill(t, L0, 1, true, TBL, TBL + 4);
    tlb_fill_src(t, TLB_VIEW_USER, L1, page(2), true, false, NULL); /* no source: not cacheable */
    sw(t, PD_A, PD_B);
    cr_assert_not(sw(t, PD_B, PD_A));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L0, 4));
    /* A recorded table address past the end of RAM never validates. */
    struct tlb_src src = { 0xfff00000u, 0, TLB_SRC_NONE, 0 };
    tlb_fill_src(t, TLB_VIEW_USER, L0, page(1), true, false, &src);
    sw(t, PD_A, PD_B);
    cr_assert(sw(t, PD_B, PD_A));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L0, 4));
    cr_assert_eq(t->stale, 1);
    free_tlb(t);
}

Test(shadow, restored_entry_loses_writes_to_a_new_code_page)
{
    struct tlb *t = new_tlb();
    fill(t, L0, 1, true, TBL, TBL + 4);
    fill(t, L1, 2, true, TBL, TBL + 8);
    sw(t, PD_A, PD_B);
    pm.code_pages[(uint32_t)(page(1) - pm.ram) >> 12] = 1; /* page 1 now holds decoded code */
    cr_assert(sw(t, PD_B, PD_A));
    cr_assert_eq(tlb_probe_read(t, TLB_VIEW_USER, L0, 4), page(1));
    cr_assert_null(tlb_probe_write(t, TLB_VIEW_USER, L0, 4));
    cr_assert_eq(tlb_probe_write(t, TLB_VIEW_USER, L1, 4), page(2));
    free_tlb(t);
}

Test(shadow, sets_off_is_the_plain_flush)
{
    struct tlb *t = new_tlb();
    t->sets_off = true;
    fill(t, L0, 1, true, TBL, TBL + 4);
    cr_assert_not(sw(t, PD_A, PD_B));
    cr_assert_not(sw(t, PD_B, PD_A));
    cr_assert_null(tlb_probe_read(t, TLB_VIEW_USER, L0, 4));
    cr_assert_eq(t->cr3_hits + t->cr3_misses, 0);
    free_tlb(t);
}

/* --- through the paging unit and MOV CR3 --- */

#define PD2 0x2000u
#define PT2 0xb00000u

/* Space 1: the fixture's directory; space 2: PD2 with its own table PT2. */
static struct mf *two_spaces(void)
{
    struct mf *f = mf_new();
    f->v->tlb.sets_off = false;
    mf_paging_on(f, 0);
    mf_map(f, 0x40000000u, 0x300000, P_ | RW_ | US_, P_ | RW_ | US_);
    mf_wr32(f, PD2 + (0x40000000u >> 22) * 4, PT2 | P_ | RW_ | US_);
    mf_wr32(f, PT2, 0x301000 | P_ | RW_ | US_);
    mf_wr32(f, 0x300000, 0x11111111);
    mf_wr32(f, 0x301000, 0x22222222);
    mf_wr32(f, 0x302000, 0x33333333);
    return f;
}

Test(shadow, pte_write_in_inactive_space_seen_after_switch)
{
    struct mf *f = two_spaces();
    struct vcpu *v = f->v;
    cr_assert_eq(lin_read(v, 0x40000000u, 4), 0x11111111u);
    vmm_mov_to_cr(v, 3, PD2);
    cr_assert_eq(lin_read(v, 0x40000000u, 4), 0x22222222u);
    vmm_mov_to_cr(v, 3, MF_PD);
    cr_assert_eq(lin_read(v, 0x40000000u, 4), 0x11111111u);
    cr_assert_eq(v->tlb.cr3_hits, 1); /* space 1's entries came back */
    /* The guest, in space 1, rewrites space 2's PTE through a mapping of PT2. */
    mf_map(f, 0x40001000u, PT2, P_ | RW_ | US_, P_ | RW_ | US_ | A_ | D_);
    lin_write(v, 0x40001000u, 0x302000 | P_ | RW_ | US_, 4);
    vmm_mov_to_cr(v, 3, PD2);
    cr_assert_eq(v->tlb.cr3_hits, 2);
    cr_assert_eq(v->tlb.stale, 1);
    cr_assert_eq(lin_read(v, 0x40000000u, 4), 0x33333333u);
    mf_free(f);
}

Test(shadow, entries_record_the_accessed_dirty_bits_they_set)
{
    struct mf *f = two_spaces();
    struct vcpu *v = f->v;
    lin_write(v, 0x40000000u, 5, 4); /* sets A and D: the recorded PTE has them */
    cr_assert_eq(mf_pte(f, 0x40000000u) & (A_ | D_), A_ | D_);
    vmm_mov_to_cr(v, 3, PD2);
    vmm_mov_to_cr(v, 3, MF_PD);
    cr_assert_eq(v->tlb.stale, 0);
    cr_assert_eq(tlb_probe_write(&v->tlb, TLB_VIEW_SUP, 0x40000000u, 4), ram_host(&f->m.mem, 0x300000));
    /* The guest clears D: the entry is not reused (a walk sets D again). */
    vmm_mov_to_cr(v, 3, PD2);
    mf_wr32(f, MF_PT(0x40000000u >> 22), 0x300000 | P_ | RW_ | US_ | A_);
    vmm_mov_to_cr(v, 3, MF_PD);
    cr_assert_null(tlb_probe_write(&v->tlb, TLB_VIEW_SUP, 0x40000000u, 4));
    lin_write(v, 0x40000000u, 6, 4);
    cr_assert_eq(mf_pte(f, 0x40000000u) & (A_ | D_), A_ | D_);
    mf_free(f);
}
