/* The paging unit: 4 KiB and 4 MiB walks, the U/S x R/W x WP x privilege
 * matrix with exact #PF error codes and CR2, Accessed/Dirty updates, TLB
 * fills and invalidation, page-crossing accesses, code-page writes, #AC,
 * instruction fetch pointers, the A20 gate, and the segmented helpers of
 * cpu/mem.c. */
#include "harness.h"
#include "mem_fixture.h"

#define P  0x001u
#define RW 0x002u
#define US 0x004u
#define A  0x020u
#define D  0x040u
#define PS 0x080u
#define G  0x100u

/* --- paging off, A20 --- */

Test(paging, off_is_identity)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_wr32(f, 0x123458, 0xfeedf00d);
    cr_assert_eq(lin_read_slow(v, 0x123458, 4, TLB_VIEW_SUP, ACC_READ), 0xfeedf00du);
    lin_write_slow(v, 0x200000, 0x55aa, 2, TLB_VIEW_USER);
    cr_assert_eq(mf_rd32(f, 0x200000), 0x55aau);
    /* CR0.PG without PE does not enable paging. */
    v->cr0 = CR0_PG;
    v->cr3 = 0x1000; /* an empty directory: would fault if used */
    tlb_flush_all(&v->tlb);
    cr_assert_eq(lin_read_slow(v, 0x123458, 4, TLB_VIEW_SUP, ACC_READ), 0xfeedf00du);
    /* The fills let the fast path hit, writable (RAM, no code). */
    cr_assert_eq(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x123458, 4), ram_host(&f->m.mem, 0x123458));
    cr_assert_eq(lin_read(v, 0x123458, 4), 0xfeedf00du);
    mf_free(f);
}

Test(paging, a20_wraps_at_1mib_without_paging)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_wr32(f, 0x10, 0x11111111);
    mf_wr32(f, 0x100010, 0x22222222);
    cr_assert_eq(lin_read_slow(v, 0x100010, 4, TLB_VIEW_SUP, ACC_READ), 0x22222222u);
    f->m.a20_mask = 0xffefffffu;
    tlb_flush_all(&v->tlb);
    cr_assert_eq(lin_read_slow(v, 0x100010, 4, TLB_VIEW_SUP, ACC_READ), 0x11111111u);
    cr_assert_eq(lin_read(v, 0xffff0 + 0x20, 4), 0x11111111u); /* FFFF:0020 style */
    lin_write_slow(v, 0x100014, 0x33333333, 4, TLB_VIEW_SUP);
    cr_assert_eq(mf_rd32(f, 0x14), 0x33333333u);
    cr_assert_eq(mf_rd32(f, 0x100014), 0u);
    /* Bit 20 only: 0x300010 goes to 0x200010. */
    mf_wr32(f, 0x200010, 0x44444444);
    cr_assert_eq(lin_read_slow(v, 0x300010, 4, TLB_VIEW_SUP, ACC_READ), 0x44444444u);
    mf_free(f);
}

Test(paging, a20_applies_after_translation)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_map(f, 0x80000000u, 0x100000, P | RW, P | RW);
    mf_wr32(f, 0x0, 0x5a5a5a5a);
    mf_wr32(f, 0x100000, 0xa5a5a5a5);
    cr_assert_eq(lin_read_slow(v, 0x80000000u, 4, TLB_VIEW_SUP, ACC_READ), 0xa5a5a5a5u);
    f->m.a20_mask = 0xffefffffu;
    tlb_flush_all(&v->tlb);
    cr_assert_eq(lin_read_slow(v, 0x80000000u, 4, TLB_VIEW_SUP, ACC_READ), 0x5a5a5a5au);
    mf_free(f);
}

/* --- walks --- */

Test(paging, walk_4k_sets_accessed_then_dirty)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_map(f, 0x40001000u, 0x300000, P | RW, P | RW);
    mf_wr32(f, 0x300ffc, 0xcafef00d);
    cr_assert_eq(lin_read_slow(v, 0x40001ffcu, 4, TLB_VIEW_SUP, ACC_READ), 0xcafef00du);
    cr_assert_eq(mf_pde(f, 0x40001000u), MF_PT(0x100) | P | RW | A);
    cr_assert_eq(mf_pte(f, 0x40001000u), 0x300000u | P | RW | A);
    /* Read fill is read-only while D is clear. */
    cr_assert_not_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x40001000u, 4));
    cr_assert_null(tlb_probe_write(&v->tlb, TLB_VIEW_SUP, 0x40001000u, 4));
    lin_write_slow(v, 0x40001008u, 0x77, 1, TLB_VIEW_SUP);
    cr_assert_eq(f->m.mem.ram[0x300008], 0x77);
    cr_assert_eq(mf_pte(f, 0x40001000u), 0x300000u | P | RW | A | D);
    cr_assert_eq(mf_pde(f, 0x40001000u), MF_PT(0x100) | P | RW | A); /* no D in a 4K PDE */
    cr_assert_eq(tlb_probe_write(&v->tlb, TLB_VIEW_SUP, 0x40001008u, 1), ram_host(&f->m.mem, 0x300008));
    struct walk_result w;
    cr_assert_eq(paging_walk(v, 0x40001abcu, ACC_READ, &w), 0u);
    cr_assert_eq(w.pa, 0x300abcu);
    cr_assert(w.writable && w.dirty && !w.global && !w.large);
    mf_free(f);
}

Test(paging, walk_4m_with_pse)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, CR4_PSE);
    mf_wr32(f, MF_PD + 3 * 4, 0x00800000u | PS | RW | P); /* 0x00c00000 -> 0x00800000 */
    mf_wr32(f, 0x812344, 0x01234567);
    cr_assert_eq(lin_read_slow(v, 0x00c12344u, 4, TLB_VIEW_SUP, ACC_READ), 0x01234567u);
    cr_assert_eq(mf_rd32(f, MF_PD + 12), 0x00800000u | PS | RW | P | A);
    cr_assert(tlb_has_large(&v->tlb, 0x00c00000u));
    cr_assert(!tlb_has_large(&v->tlb, 0x01000000u));
    lin_write_slow(v, 0x00fffffcu, 0xabcdef01u, 4, TLB_VIEW_SUP);
    cr_assert_eq(mf_rd32(f, 0xbffffc), 0xabcdef01u);
    cr_assert_eq(mf_rd32(f, MF_PD + 12), 0x00800000u | PS | RW | P | A | D);
    struct walk_result w;
    cr_assert_eq(paging_walk(v, 0x00c00001u, ACC_WRITE, &w), 0u);
    cr_assert_eq(w.pa, 0x00800001u);
    cr_assert(w.large && w.dirty);
    /* INVLPG anywhere in the large page drops all of it. */
    cr_assert_not_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x00c12344u, 4));
    tlb_flush_page(&v->tlb, 0x00ffe000u);
    cr_assert_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x00c12344u, 4));
    mf_free(f);
}

Test(paging, ps_ignored_without_pse)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_map(f, 0x00c05000u, 0x600000, P | RW | PS, P | RW);
    mf_wr32(f, 0x600010, 0x600d600d);
    cr_assert_eq(lin_read_slow(v, 0x00c05010u, 4, TLB_VIEW_SUP, ACC_READ), 0x600d600du);
    mf_free(f);
}

Test(paging, pse_reserved_bits_fault_rsvd)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, CR4_PSE);
    mf_wr32(f, MF_PD + 3 * 4, 0x00800000u | 0x2000u | PS | RW | US | P); /* bit 13 */
    MF_TRY(f, lin_read_slow(v, 0x00c00100u, 4, TLB_VIEW_SUP, ACC_READ));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_RSVD);
    cr_assert_eq(v->cr2, 0x00c00100u);
    mf_wr32(f, MF_PD + 3 * 4, 0x00800000u | 0x200000u | PS | RW | US | P); /* bit 21 */
    MF_TRY(f, lin_write_slow(v, 0x00c00200u, 1, 1, TLB_VIEW_USER));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_RSVD | PF_W | PF_U);
    cr_assert_eq(v->cr2, 0x00c00200u);
    cr_assert_eq(mf_rd32(f, MF_PD + 12) & A, 0u); /* no A on a failed walk */
    /* Bit 22 is an address bit, bit 12 is PAT: both allowed. */
    mf_wr32(f, MF_PD + 3 * 4, 0x00400000u | 0x1000u | PS | RW | P);
    mf_wr32(f, 0x400100, 0x12121212);
    cr_assert_eq(lin_read_slow(v, 0x00c00100u, 4, TLB_VIEW_SUP, ACC_READ), 0x12121212u);
    mf_free(f);
}

Test(paging, not_present_error_codes)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    /* PDE not present. */
    MF_TRY(f, lin_read_slow(v, 0x80000004u, 4, TLB_VIEW_SUP, ACC_READ));
    MF_ASSERT_FAULT(f, EXC_PF, 0);
    cr_assert_eq(v->cr2, 0x80000004u);
    MF_TRY(f, lin_write_slow(v, 0x80000008u, 0, 4, TLB_VIEW_SUP));
    MF_ASSERT_FAULT(f, EXC_PF, PF_W);
    cr_assert_eq(v->cr2, 0x80000008u);
    MF_TRY(f, lin_read_slow(v, 0x8000000cu, 2, TLB_VIEW_USER, ACC_READ));
    MF_ASSERT_FAULT(f, EXC_PF, PF_U);
    MF_TRY(f, lin_write_slow(v, 0x80000010u, 0, 1, TLB_VIEW_USER));
    MF_ASSERT_FAULT(f, EXC_PF, PF_U | PF_W);
    cr_assert_eq(v->cr2, 0x80000010u);
    /* PTE not present (PDE present). */
    mf_map(f, 0x80000000u, 0x300000, P | RW | US, RW | US);
    MF_TRY(f, lin_read_slow(v, 0x80000ff0u, 4, TLB_VIEW_USER, ACC_FETCH));
    MF_ASSERT_FAULT(f, EXC_PF, PF_U); /* no I/D bit without NX */
    cr_assert_eq(v->cr2, 0x80000ff0u);
    MF_TRY(f, lin_write_slow(v, 0x80000ff4u, 0, 4, TLB_VIEW_SUP));
    MF_ASSERT_FAULT(f, EXC_PF, PF_W);
    cr_assert_eq(mf_pde(f, 0x80000000u) & A, 0u);
    /* Read-for-write reports a write. */
    MF_TRY(f, lin_read_slow(v, 0x80000ff8u, 4, TLB_VIEW_SUP, ACC_WRITE));
    MF_ASSERT_FAULT(f, EXC_PF, PF_W);
    mf_free(f);
}

/* Expected result of one access under the SDM's rules (no SMEP/SMAP on this CPU). */
static bool allowed(bool user, bool write, bool wp, uint32_t pde, uint32_t pte)
{
    bool us = (pde & pte & US) != 0, rw = (pde & pte & RW) != 0;
    if (user) return us && (!write || rw);
    return !write || rw || !wp;
}

Test(paging, permission_matrix)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    int n = 0;
    for (int bits = 0; bits < 64; bits++) {
        uint32_t pde = P | ((bits & 1) ? US : 0) | ((bits & 2) ? RW : 0);
        uint32_t pte = P | ((bits & 4) ? US : 0) | ((bits & 8) ? RW : 0);
        bool wp = bits & 16, user = bits & 32;
        for (int write = 0; write < 2; write++) {
            mf_paging_on(f, 0);
            if (wp) v->cr0 |= CR0_WP;
            mf_map(f, 0x40000000u, 0x300000, pde, pte);
            mf_wr32(f, 0x300100, 0x11223344);
            int view = user ? TLB_VIEW_USER : TLB_VIEW_SUP;
            if (write) MF_TRY(f, lin_write_slow(v, 0x40000100u, 0x99, 1, view));
            else MF_TRY(f, lin_read_slow(v, 0x40000100u, 1, view, ACC_READ));
            bool ok = allowed(user, write, wp, pde, pte);
            cr_assert_eq(!mf_faulted, ok, "pde %x pte %x wp %d user %d write %d", pde, pte, wp, user, write);
            if (ok) {
                cr_assert_eq(mf_rd32(f, 0x300100), write ? 0x11223399u : 0x11223344u);
                cr_assert_eq(mf_pte(f, 0x40000000u), 0x300000u | pte | A | (write ? D : 0));
                /* The fill is in the accessing view only, and writable only after a write. */
                cr_assert_not_null(tlb_probe_read(&v->tlb, view, 0x40000100u, 1));
                cr_assert_null(tlb_probe_read(&v->tlb, !view, 0x40000100u, 1));
                cr_assert_eq(tlb_probe_write(&v->tlb, view, 0x40000100u, 1) != NULL, (bool)write);
            } else {
                MF_ASSERT_FAULT(f, EXC_PF, PF_P | (write ? PF_W : 0) | (user ? PF_U : 0));
                cr_assert_eq(v->cr2, 0x40000100u);
                cr_assert_eq(mf_rd32(f, 0x300100), 0x11223344u);
                cr_assert_eq(mf_pte(f, 0x40000000u), 0x300000u | pte); /* A untouched */
                cr_assert_null(tlb_probe_read(&v->tlb, view, 0x40000100u, 1));
                n++;
            }
        }
    }
    /* User: reads fault in 24 of 32 cases (U/S clear in either level), writes
     * in 30 of 32; supervisor: only writes with WP=1 and R/W clear, 12. */
    cr_assert_eq(n, 66);
    mf_free(f);
}

Test(paging, permission_examples)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_map(f, 0x40000000u, 0x300000, P | RW | US, P);          /* supervisor read-only */
    mf_map(f, 0x40400000u, 0x301000, P | RW, P | RW | US);     /* PDE says supervisor */
    mf_map(f, 0x40800000u, 0x302000, P | US, P | RW | US);     /* PDE says read-only */
    /* WP=0: ring 0 may write a read-only page; the page then enters the TLB writable. */
    lin_write_slow(v, 0x40000000u, 0xab, 1, TLB_VIEW_SUP);
    cr_assert_eq(f->m.mem.ram[0x300000], 0xab);
    cr_assert_not_null(tlb_probe_write(&v->tlb, TLB_VIEW_SUP, 0x40000000u, 1));
    MF_TRY(f, lin_read_slow(v, 0x40000000u, 1, TLB_VIEW_USER, ACC_READ));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_U);
    MF_TRY(f, lin_read_slow(v, 0x40400000u, 1, TLB_VIEW_USER, ACC_READ));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_U);
    cr_assert_eq(v->cr2, 0x40400000u);
    cr_assert_eq(lin_read_slow(v, 0x40800000u, 1, TLB_VIEW_USER, ACC_READ), 0u);
    MF_TRY(f, lin_write_slow(v, 0x40800000u, 1, 1, TLB_VIEW_USER));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_W | PF_U);
    /* WP=1: now ring 0 faults too. */
    v->cr0 |= CR0_WP;
    tlb_flush_all(&v->tlb);
    MF_TRY(f, lin_write_slow(v, 0x40800004u, 1, 4, TLB_VIEW_SUP));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_W);
    cr_assert_eq(v->cr2, 0x40800004u);
    mf_free(f);
}

Test(paging, wp0_supervisor_write_fill_needs_dirty)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_map(f, 0x40000000u, 0x300000, P | US, P | US); /* read-only user page */
    lin_read_slow(v, 0x40000000u, 4, TLB_VIEW_SUP, ACC_READ);
    cr_assert_null(tlb_probe_write(&v->tlb, TLB_VIEW_SUP, 0x40000000u, 4)); /* D clear */
    struct walk_result w;
    cr_assert_eq(paging_walk(v, 0x40000000u, ACC_READ, &w), 0u);
    cr_assert(w.writable && !w.dirty);
    cr_assert_eq(paging_walk(v, 0x40000000u, ACC_READ | ACC_USER, &w), 0u);
    cr_assert(!w.writable);
    lin_write_slow(v, 0x40000000u, 1, 4, TLB_VIEW_SUP);
    cr_assert_eq(mf_pte(f, 0x40000000u), 0x300000u | P | US | A | D);
    cr_assert_not_null(tlb_probe_write(&v->tlb, TLB_VIEW_SUP, 0x40000000u, 4));
    /* The user view gets a read-only entry even though D is set. */
    lin_read_slow(v, 0x40000000u, 4, TLB_VIEW_USER, ACC_READ);
    cr_assert_not_null(tlb_probe_read(&v->tlb, TLB_VIEW_USER, 0x40000000u, 4));
    cr_assert_null(tlb_probe_write(&v->tlb, TLB_VIEW_USER, 0x40000000u, 4));
    mf_free(f);
}

/* --- TLB coherence with the guest's tables --- */

Test(paging, stale_mapping_until_invlpg)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_wr32(f, 0x300000, 0x1111);
    mf_wr32(f, 0x400000, 0x2222);
    mf_map(f, 0x40000000u, 0x300000, P | RW, P | RW | D);
    cr_assert_eq(lin_read_slow(v, 0x40000000u, 4, TLB_VIEW_SUP, ACC_READ), 0x1111u);
    mf_map(f, 0x40000000u, 0x400000, P | RW, P | RW | D);
    cr_assert_eq(lin_read(v, 0x40000000u, 4), 0x1111u); /* the TLB still says 0x300000 */
    lin_write(v, 0x40000000u, 0x3333, 4);
    cr_assert_eq(mf_rd32(f, 0x300000), 0x3333u);
    tlb_flush_page(&v->tlb, 0x40000abcu);
    cr_assert_eq(lin_read(v, 0x40000000u, 4), 0x2222u);
    /* Not present now: the old entry keeps working until flushed. */
    mf_map(f, 0x40000000u, 0x300000, P | RW, 0);
    cr_assert_eq(lin_read(v, 0x40000000u, 4), 0x2222u);
    tlb_flush_nonglobal(&v->tlb);
    MF_TRY(f, lin_read(v, 0x40000000u, 4));
    MF_ASSERT_FAULT(f, EXC_PF, 0);
    mf_free(f);
}

Test(paging, global_entries_survive_cr3_flush)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, CR4_PGE);
    mf_wr32(f, 0x300000, 0x1111);
    mf_wr32(f, 0x301000, 0x5555);
    mf_wr32(f, 0x400000, 0x2222);
    mf_map(f, 0xc0000000u, 0x300000, P | RW, P | RW | G);
    mf_map(f, 0x08048000u, 0x301000, P | RW | US, P | RW | US);
    cr_assert_eq(lin_read(v, 0xc0000000u, 4), 0x1111u);
    cr_assert_eq(lin_read(v, 0x08048000u, 4), 0x5555u);
    mf_map(f, 0xc0000000u, 0x400000, P | RW, P | RW | G);
    mf_map(f, 0x08048000u, 0x400000, P | RW | US, P | RW | US);
    tlb_flush_nonglobal(&v->tlb);
    cr_assert_eq(lin_read(v, 0xc0000000u, 4), 0x1111u); /* G kept */
    cr_assert_eq(lin_read(v, 0x08048000u, 4), 0x2222u); /* non-G refetched */
    tlb_flush_all(&v->tlb);
    cr_assert_eq(lin_read(v, 0xc0000000u, 4), 0x2222u);
    /* Without CR4.PGE the G bit means nothing. */
    v->cr4 = 0;
    mf_map(f, 0xc0000000u, 0x300000, P | RW, P | RW | G);
    tlb_flush_all(&v->tlb);
    cr_assert_eq(lin_read(v, 0xc0000000u, 4), 0x1111u);
    mf_map(f, 0xc0000000u, 0x400000, P | RW, P | RW | G);
    tlb_flush_nonglobal(&v->tlb);
    cr_assert_eq(lin_read(v, 0xc0000000u, 4), 0x2222u);
    mf_free(f);
}

/* --- page crossing --- */

Test(paging, crossing_write_faults_on_second_page_first_untouched)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_map(f, 0x40000000u, 0x300000, P | RW | US, P | RW | US);
    mf_wr32(f, 0x300ffc, 0x44332211);
    MF_TRY(f, lin_write_slow(v, 0x40000ffeu, 0xddccbbaau, 4, TLB_VIEW_USER));
    MF_ASSERT_FAULT(f, EXC_PF, PF_W | PF_U);
    cr_assert_eq(v->cr2, 0x40001000u);
    cr_assert_eq(mf_rd32(f, 0x300ffc), 0x44332211u);
    /* Same with a byte range (a FXSAVE-like store). */
    uint8_t buf[32];
    memset(buf, 0xee, sizeof(buf));
    MF_TRY(f, lin_write_bytes(v, 0x40000ff0u, buf, 32, TLB_VIEW_SUP));
    MF_ASSERT_FAULT(f, EXC_PF, PF_W);
    cr_assert_eq(v->cr2, 0x40001000u);
    cr_assert_eq(mf_rd32(f, 0x300ff0), 0u);
    /* Second page present but read-only for the user. */
    mf_map(f, 0x40001000u, 0x500000, P | RW | US, P | US);
    MF_TRY(f, lin_write_slow(v, 0x40000fffu, 0xddccbbaau, 2, TLB_VIEW_USER));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_W | PF_U);
    cr_assert_eq(v->cr2, 0x40001000u);
    cr_assert_eq(mf_rd32(f, 0x300ffc), 0x44332211u);
    /* Now both writable: the bytes land in two discontiguous frames. */
    mf_map(f, 0x40001000u, 0x500000, P | RW | US, P | RW | US);
    lin_write_slow(v, 0x40000ffeu, 0xddccbbaau, 4, TLB_VIEW_USER);
    cr_assert_eq(mf_rd32(f, 0x300ffc), 0xbbaa2211u);
    cr_assert_eq(mf_rd32(f, 0x500000), 0x0000ddccu);
    cr_assert_eq(lin_read_slow(v, 0x40000ffdu, 4, TLB_VIEW_USER, ACC_READ), 0xccbbaa22u);
    cr_assert_eq(lin_read(v, 0x40000ffeu, 4), 0xddccbbaau); /* fast probe refuses, slow path reads */
    mf_free(f);
}

Test(paging, crossing_read_fault_on_second_page)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_map(f, 0x40000000u, 0x300000, P | RW, P | RW);
    MF_TRY(f, lin_read_slow(v, 0x40000fffu, 2, TLB_VIEW_SUP, ACC_READ));
    MF_ASSERT_FAULT(f, EXC_PF, 0);
    cr_assert_eq(v->cr2, 0x40001000u);
    uint8_t buf[16];
    MF_TRY(f, lin_read_bytes(v, 0x40000ff8u, buf, 16, TLB_VIEW_USER));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_U); /* first page is supervisor-only */
    cr_assert_eq(v->cr2, 0x40000ff8u);
    mf_free(f);
}

Test(paging, byte_ranges_many_pages)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    /* 24 pages mapped backwards, so a range through them is discontiguous. */
    for (uint32_t i = 0; i < 24; i++) mf_map(f, 0x40000000u + i * 0x1000, 0x600000 + (23 - i) * 0x1000, P | RW, P | RW);
    static uint8_t src[24 * 4096 - 100], dst[24 * 4096 - 100];
    for (size_t i = 0; i < sizeof(src); i++) src[i] = (uint8_t)(i * 13 + 1);
    lin_write_bytes(v, 0x40000032u, src, sizeof(src), TLB_VIEW_SUP);
    cr_assert_eq(f->m.mem.ram[0x600000 + 23 * 0x1000 + 0x32], src[0]);
    cr_assert_eq(f->m.mem.ram[0x600000 + 22 * 0x1000], src[0x1000 - 0x32]);
    lin_read_bytes(v, 0x40000032u, dst, sizeof(dst), TLB_VIEW_SUP);
    cr_assert_arr_eq(dst, src, sizeof(src));
    mf_free(f);
}

/* --- code pages, ROM, MMIO --- */

Test(paging, code_page_write_calls_hook_before_write)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_map(f, 0x40000000u, 0x300000, P | RW, P | RW | D);
    mf_wr32(f, 0x300010, 0x90909090);
    f->m.mem.code_pages[0x300] = 1;
    cr_assert_eq(lin_read_slow(v, 0x40000010u, 4, TLB_VIEW_SUP, ACC_READ), 0x90909090u);
    cr_assert_null(tlb_probe_write(&v->tlb, TLB_VIEW_SUP, 0x40000010u, 4)); /* D set, but code */
    lin_write(v, 0x40000010u, 0xcccccccc, 4);
    cr_assert_eq(f->code_writes, 1);
    cr_assert_eq(f->cw_pa, 0x300010u);
    cr_assert_eq(f->cw_size, 4u);
    cr_assert_eq(f->cw_seen, 0x90909090u);
    cr_assert_eq(mf_rd32(f, 0x300010), 0xccccccccu);
    /* Byte ranges too. */
    lin_write_bytes(v, 0x40000020u, "\xc3\xc3", 2, TLB_VIEW_SUP);
    cr_assert_eq(f->code_writes, 2);
    cr_assert_eq(f->cw_pa, 0x300020u);
    cr_assert_eq(f->cw_size, 2u);
    cr_assert_eq(f->m.mem.ram[0x300021], 0xc3);
    mf_free(f);
}

static uint32_t mmio_rd(void *o, uint32_t off, int size) { (void)size; *(uint32_t *)o = off; return 0x12345678; }
static void mmio_wr(void *o, uint32_t off, uint32_t val, int size) { (void)size; *(uint32_t *)o = off ^ val; }

Test(paging, rom_and_mmio_fills)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    static uint8_t rom[0x1000] = { 0xea, 0x5b, 0xe0 };
    cr_assert_eq(phys_add_rom(&f->m.mem, 0xffff0000u, rom, sizeof(rom)), 0);
    uint32_t last = 0;
    struct mmio_region r = { .base = 0xfec00000u, .size = 0x1000, .read = mmio_rd, .write = mmio_wr, .opaque = &last };
    cr_assert_eq(phys_add_mmio(&f->m.mem, &r), 0);
    /* ROM: read-only fill; writes dropped. */
    cr_assert_eq(lin_read_slow(v, 0xffff0001u, 2, TLB_VIEW_SUP, ACC_READ), 0xe05bu);
    cr_assert_not_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0xffff0000u, 1));
    lin_write(v, 0xffff0000u, 0, 1);
    cr_assert_eq(lin_read(v, 0xffff0000u, 1), 0xeau);
    cr_assert_null(tlb_probe_write(&v->tlb, TLB_VIEW_SUP, 0xffff0000u, 1));
    /* MMIO: never filled, every access dispatched. */
    cr_assert_eq(lin_read(v, 0xfec00010u, 4), 0x12345678u);
    cr_assert_eq(last, 0x10u);
    cr_assert_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0xfec00010u, 4));
    lin_write(v, 0xfec00020u, 0x1, 4);
    cr_assert_eq(last, 0x21u);
    /* Fetch pointers. */
    uint32_t avail = 99, pa = 0;
    cr_assert_null(lin_fetch_ptr(v, 0xfec00000u, TLB_VIEW_SUP, &avail, &pa));
    cr_assert_eq(avail, 0u);
    cr_assert_eq(pa, 0xfec00000u);
    const uint8_t *p = lin_fetch_ptr(v, 0xffff0ff0u, TLB_VIEW_SUP, &avail, &pa);
    cr_assert_not_null(p);
    cr_assert_eq(avail, 0x10u);
    cr_assert_eq(pa, 0xffff0ff0u);
    cr_assert_eq(p - 0xff0, f->m.mem.rom[0].data);
    /* Unassigned space behind a mapping reads ones and is never filled. */
    mf_paging_on(f, 0);
    mf_map(f, 0x40000000u, 0x80000000u, P | RW, P | RW | D);
    cr_assert_eq(lin_read(v, 0x40000000u, 4), 0xffffffffu);
    lin_write(v, 0x40000000u, 0, 4);
    cr_assert_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x40000000u, 4));
    mf_free(f);
}

Test(paging, fetch_ptr_avail_and_faults)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_paging_on(f, 0);
    mf_map(f, 0x08048000u, 0x300000, P | US, P | US);
    uint32_t avail = 0, pa = 0;
    const uint8_t *p = lin_fetch_ptr(v, 0x08048123u, TLB_VIEW_USER, &avail, &pa);
    cr_assert_eq(p, ram_host(&f->m.mem, 0x300123));
    cr_assert_eq(avail, 0x1000u - 0x123u);
    cr_assert_eq(pa, 0x300123u);
    cr_assert_eq(mf_pte(f, 0x08048000u), 0x300000u | P | US | A);
    MF_TRY(f, lin_fetch_ptr(v, 0x08049000u, TLB_VIEW_USER, &avail, &pa));
    MF_ASSERT_FAULT(f, EXC_PF, PF_U);
    cr_assert_eq(v->cr2, 0x08049000u);
    mf_map(f, 0xc0000000u, 0x301000, P | RW, P | RW);
    MF_TRY(f, lin_fetch_ptr(v, 0xc0000ffeu, TLB_VIEW_USER, &avail, &pa));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_U);
    cr_assert_eq(v->cr2, 0xc0000ffeu);
    mf_free(f);
}

/* --- alignment check --- */

Test(paging, ac_view_checks_alignment)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    mf_wr32(f, 0x2000, 0x87654321);
    cr_assert_eq(lin_read_slow(v, 0x2000, 4, TLB_VIEW_AC, ACC_READ), 0x87654321u);
    cr_assert_eq(lin_read_slow(v, 0x2002, 2, TLB_VIEW_AC, ACC_READ), 0x8765u);
    cr_assert_eq(lin_read_slow(v, 0x2003, 1, TLB_VIEW_AC, ACC_READ), 0x87u);
    MF_TRY(f, lin_read_slow(v, 0x2001, 2, TLB_VIEW_AC, ACC_READ));
    MF_ASSERT_FAULT(f, EXC_AC, 0);
    MF_TRY(f, lin_write_slow(v, 0x2002, 0, 4, TLB_VIEW_AC));
    MF_ASSERT_FAULT(f, EXC_AC, 0);
    cr_assert_eq(mf_rd32(f, 0x2000), 0x87654321u);
    uint8_t q[8];
    MF_TRY(f, lin_read_bytes(v, 0x2004, q, 8, TLB_VIEW_AC));
    MF_ASSERT_FAULT(f, EXC_AC, 0);
    lin_read_bytes(v, 0x2000, q, 8, TLB_VIEW_AC);
    cr_assert_eq(q[0], 0x21);
    /* Through the inline paths with mem_view = AC: the AC table never hits. */
    v->mem_view = TLB_VIEW_AC;
    cr_assert_eq(lin_read(v, 0x2000, 4), 0x87654321u);
    cr_assert_null(tlb_probe_read(&v->tlb, TLB_VIEW_AC, 0x2000, 4));
    MF_TRY(f, lin_read(v, 0x2001, 4));
    MF_ASSERT_FAULT(f, EXC_AC, 0);
    /* #AC comes before #PF, and user permissions apply. */
    mf_paging_on(f, 0);
    mf_map(f, 0x40000000u, 0x300000, P | RW, P | RW);
    MF_TRY(f, lin_read(v, 0x40000001u, 4));
    MF_ASSERT_FAULT(f, EXC_AC, 0);
    MF_TRY(f, lin_read(v, 0x40000000u, 4));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_U);
    mf_free(f);
}

/* --- cpu/mem.c --- */

Test(mem, segment_checks_and_sys_access)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    v->cr0 = CR0_PE | CR0_ET;
    for (int s = 0; s < S_COUNT; s++)
        v->seg[s] = (struct seg_cache){ .sel = 0x10, .attr = 0x4093, .base = 0x10000, .limit = 0xfff,
                                        .lo = 0, .hi = 0xfff, .rd = true, .wr = true };
    v->seg[S_CS].wr = false;
    mem_write_bytes(v, S_DS, 0xffc, "abcd", 4);
    cr_assert_eq(mf_rd32(f, 0x10ffc), 0x64636261u);
    char b[4];
    MF_TRY(f, mem_read_bytes(v, S_DS, 0xffd, b, 4));
    MF_ASSERT_FAULT(f, EXC_GP, 0);
    MF_TRY(f, mem_write_bytes(v, S_SS, 0xffe, "xyz", 3));
    MF_ASSERT_FAULT(f, EXC_SS, 0);
    cr_assert_eq(mf_rd32(f, 0x10ffc), 0x64636261u);
    MF_TRY(f, mem_write_bytes(v, S_CS, 0, "x", 1));
    MF_ASSERT_FAULT(f, EXC_GP, 0);
    MF_TRY(f, mem_read(v, S_SS, 0xfff, 2));
    MF_ASSERT_FAULT(f, EXC_SS, 0);
    MF_TRY(f, mem_read_bytes(v, S_ES, 0xffffffffu, b, 2)); /* offset wraps: still outside */
    MF_ASSERT_FAULT(f, EXC_GP, 0);
    mem_read_bytes(v, S_ES, 0, b, 0); /* empty range: nothing to check */
    /* Supervisor-view accesses from a user context. */
    mf_paging_on(f, 0);
    mf_map(f, 0x1000u, 0x1000u, P | RW | US, P | RW | US);  /* the directory itself */
    mf_map(f, 0xc0000000u, 0x300000, P | RW, P | RW);
    v->cpl = 3;
    v->mem_view = TLB_VIEW_USER;
    sys_write(v, 0xc0000008u, 0xdeadbeef, 4);
    cr_assert_eq(sys_read(v, 0xc0000008u, 4), 0xdeadbeefu);
    cr_assert_eq(sys_read(v, 0xc000000bu, 1), 0xdeu);
    MF_TRY(f, lin_read(v, 0xc0000008u, 4));
    MF_ASSERT_FAULT(f, EXC_PF, PF_P | PF_U);
    MF_TRY(f, sys_read(v, 0xc0400000u, 4));
    MF_ASSERT_FAULT(f, EXC_PF, 0);
    cr_assert_eq(v->cr2, 0xc0400000u);
    mf_free(f);
}

/* --- containment --- */

/* Every TLB entry must point at a whole page of guest RAM (or, read-only, of a ROM). */
static void assert_tlb_contained(struct mf *f)
{
    const struct tlb *t = &f->v->tlb;
    const struct phys_mem *pm = &f->m.mem;
    for (int view = 0; view < 3; view++) {
        for (uint32_t i = 0; i <= t->mask; i++) {
            const struct tlb_entry *e = &t->view[view][i];
            cr_assert(view < 2 || e->tag_r == TLB_TAG_NONE);
            if (e->tag_r == TLB_TAG_NONE) {
                cr_assert_eq(e->tag_w, TLB_TAG_NONE);
                continue;
            }
            uintptr_t host = (uintptr_t)e->tag_r + e->addend;
            uint32_t pa = 0;
            bool in_ram = phys_host_pa(pm, (const uint8_t *)host, &pa) && pa + 0x1000 <= pm->ram_size;
            bool in_rom = host >= (uintptr_t)pm->rom[0].data && host + 0x1000 <= (uintptr_t)pm->rom[0].data + pm->rom[0].size;
            cr_assert(in_ram || in_rom, "entry %u of view %d points outside guest memory", i, view);
            if (e->tag_w != TLB_TAG_NONE) {
                cr_assert_eq(e->tag_w, e->tag_r);
                cr_assert(in_ram);
                cr_assert(!pm->code_pages[pa >> 12]);
            }
        }
    }
}

/* One access of a random kind; faults are caught (and must be #PF or #AC). */
static int random_access(struct mf *f, uint32_t lin, int view, int size, int op, uint32_t val, uint32_t len)
{
    struct vcpu *v = f->v;
    uint8_t buf[64];
    MF_TRY(f, {
        switch (op) {
        case 0: lin_read_slow(v, lin, size, view, ACC_READ); break;
        case 1: lin_write_slow(v, lin, val, size, view); break;
        case 2: lin_read_bytes(v, lin, buf, len, view); break;
        default: { uint32_t av, pa; lin_fetch_ptr(v, lin, view, &av, &pa); break; }
        }
    });
    return mf_faulted;
}

Test(paging, random_tables_stay_contained)
{
    struct mf *f = mf_new();
    struct vcpu *v = f->v;
    static uint8_t rom[0x2000];
    cr_assert_eq(phys_add_rom(&f->m.mem, 0xfffe0000u, rom, sizeof(rom)), 0);
    uint32_t seed = 12345;
    int nfaults = 0;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 16) | (seed << 16))
    for (int round = 0; round < 20; round++) {
        mf_paging_on(f, (round & 1 ? CR4_PSE : 0) | (round & 2 ? CR4_PGE : 0));
        if (round & 4) v->cr0 |= CR0_WP;
        f->m.a20_mask = round & 8 ? 0xffefffffu : 0xffffffffu;
        /* Random directory entries, half pointing at page tables in RAM. */
        for (uint32_t i = 0; i < 1024; i++) {
            uint32_t e = RND();
            if (e & 0x80000000u) e = MF_PT(i & 0x3ff) | (e & 0xfff);
            mf_wr32(f, MF_PD + i * 4, e);
        }
        /* The first 16 page tables are filled completely; accesses mostly go there. */
        for (uint32_t i = 0; i < 16 * 1024; i++) {
            uint32_t e = RND();
            if ((e & 3) == 0) e = (e & 0x00fff000u) | 0x7;       /* in RAM */
            else if ((e & 3) == 1) e = 0xfffe0000u | (e & 0x1fff); /* ROM */
            mf_wr32(f, MF_PT(0) + i * 4, e);
        }
        f->m.mem.code_pages[RND() % (MF_RAM >> 12)] = 1;
        for (int k = 0; k < 2000; k++) {
            uint32_t lin = RND();
            if (k & 7) lin &= 0x03ffffffu; /* PDE 0-15 */
            int view = RND() % 3, size = 1 << (RND() % 3), op = RND() % 4;
            uint32_t val = RND(), len = 1 + RND() % 64;
            nfaults += random_access(f, lin, view, size, op, val, len);
            if (mf_faulted) cr_assert(v->fault_vec == EXC_PF || v->fault_vec == EXC_AC);
        }
        assert_tlb_contained(f);
        memset(f->m.mem.code_pages, 0, MF_RAM >> 12);
    }
#undef RND
    /* Both outcomes were exercised (40000 accesses). */
    cr_assert_gt(nfaults, 1000);
    cr_assert_lt(nfaults, 39000);
    cr_assert_gt(v->tlb.fills, 1000u);
    mf_free(f);
}

/* --- through the run loop (tests/unit/harness.h) --- */

/* Identity-map the first 16 MiB with 4 MiB user pages; PD at 0x30000. */
static void guest_paging_on(struct harness *h)
{
    struct vcpu *v = h->v;
    for (uint32_t i = 0; i < 1024; i++) harness_write32(h, 0x30000 + i * 4, 0);
    for (uint32_t i = 0; i < 4; i++) harness_write32(h, 0x30000 + i * 4, (i << 22) | PS | US | RW | P);
    v->cr3 = 0x30000;
    v->cr4 |= CR4_PSE;
    v->cr0 |= CR0_PG;
    tlb_flush_all(&v->tlb);
}

Test(paging_guest, page_fault_delivered_with_cr2)
{
    struct harness *h = harness_new(H_PROT32);
    cr_assert_not_null(h);
    guest_paging_on(h);
    static const uint8_t code[] = {
        0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, /* mov dword [0x1000], 1: works */
        0xc7, 0x05, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0x00, /* mov dword [0x40000000], 1 */
    };
    cr_assert_eq(harness_run(h, code, sizeof(code)), HR_EXCEPTION);
    cr_assert_eq(h->vector, EXC_PF);
    cr_assert_eq(h->v->cr2, 0x40000000u);
    cr_assert_eq(harness_stack(h, 0), PF_W);                 /* error code */
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 10);    /* saved EIP: the faulting MOV */
    cr_assert_eq(harness_read32(h, 0x1000), 1u);
    cr_assert_eq(harness_read32(h, 0x30000) & (A | D), A | D);
    harness_free(h);
}

Test(paging_guest, self_modifying_code_through_tlb)
{
    struct harness *h = harness_new(H_PROT32);
    cr_assert_not_null(h);
    guest_paging_on(h);
    uint32_t imm = HARNESS_CODE + 7 + 1; /* the immediate of the MOV EAX below */
    uint8_t code[] = {
        0xc6, 0x05, (uint8_t)imm, (uint8_t)(imm >> 8), (uint8_t)(imm >> 16), (uint8_t)(imm >> 24), 0x05, /* mov byte [imm], 5 */
        0xb8, 0x01, 0x00, 0x00, 0x00,                                                                   /* mov eax, 1 */
    };
    cr_assert_eq(harness_run(h, code, sizeof(code)), HR_DONE);
    cr_assert_eq(h->v->r[R_EAX], 5u);
    harness_free(h);
}
