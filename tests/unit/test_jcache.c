/* The per-vCPU jump cache (cpu_find_block, cpu/interp.c) across TLB
 * flushes: an entry must live exactly as long as the TLB entry it was found
 * through. MOV CR3 keeps those found through global pages and drops the
 * rest, INVLPG drops its own page's, a full flush drops everything. Each
 * test remaps linear pages to different code without telling the TLB, then
 * flushes and checks which block every lookup returns. */
#include <criterion/criterion.h>

#include "cpu/decode_cache.h"
#include "cpu/interp.h"
#include "cpu/segment.h"
#include "memory/tlb.h"
#include "tests/unit/harness.h"

#define PD 0x30000u
#define PT 0x31000u
#define G  0x100u /* PTE global bit */

/* Code pages: each starts with a different instruction before HLT. */
static const uint32_t code_pa[] = { 0x40000, 0x41000, 0x42000, 0x43000 };

static struct harness *setup(void)
{
    struct harness *h = harness_new(H_PROT32);
    struct vcpu *v = h->v;
    for (uint32_t k = 0; k < 4; k++) {
        const uint8_t code[] = { 0x40 + (uint8_t)k, 0xf4 }; /* inc eax/ecx/edx/ebx ; hlt */
        harness_poke(h, code_pa[k], code, sizeof(code));
    }
    harness_write32(h, PD, PT | 3);
    for (uint32_t i = 0; i < 1024; i++) harness_write32(h, PT + 4 * i, (i << 12) | 3);
    v->cr3 = PD;
    v->cr4 |= CR4_PGE;
    v->cr0 |= CR0_PG;
    tlb_flush_all(&v->tlb);
    cpu_update_mode(v);
    return h;
}

static void map(struct harness *h, uint32_t lin, uint32_t pa, uint32_t flags)
{
    harness_write32(h, PT + 4 * (lin >> 12), pa | flags | 3);
}

/* Decode-cache lookups so far: a jump-cache hit makes none. */
static uint64_t lookups(struct harness *h)
{
    struct dcache_stats d;
    dcache_get_stats(h->v->m->dcache, &d);
    return d.lookups;
}

/* The physical address the block found at lin was decoded from. */
static uint32_t found(struct harness *h, uint32_t lin)
{
    uint32_t avail;
    struct block *b = cpu_find_block(h->v, lin, TLB_VIEW_SUP, &avail);
    cr_assert_not_null(b, "no block at %#x", lin);
    return b->pa;
}

Test(jcache, mov_cr3_keeps_global_pages_and_drops_the_rest)
{
    struct harness *h = setup();
    map(h, 0x70000, code_pa[0], G);
    map(h, 0x71000, code_pa[1], 0);
    cr_assert_eq(found(h, 0x70000), code_pa[0]);
    cr_assert_eq(found(h, 0x71000), code_pa[1]);
    map(h, 0x70000, code_pa[2], G);
    map(h, 0x71000, code_pa[3], 0);
    tlb_flush_nonglobal(&h->v->tlb); /* MOV CR3 */
    /* The non-global translation is walked afresh... */
    uint64_t n = lookups(h);
    cr_assert_eq(found(h, 0x71000), code_pa[3]);
    cr_assert_eq(lookups(h), n + 1);
    /* ...the global one survives in the TLB, and so does its jump-cache entry. */
    cr_assert_not_null(tlb_probe_read(&h->v->tlb, TLB_VIEW_SUP, 0x70000, 1));
    cr_assert_eq(found(h, 0x70000), code_pa[0]);
    cr_assert_eq(lookups(h), n + 1);
    harness_free(h);
}

Test(jcache, invlpg_drops_only_its_page)
{
    struct harness *h = setup();
    map(h, 0x70000, code_pa[0], G);
    map(h, 0x72000, code_pa[1], G);
    cr_assert_eq(found(h, 0x70000), code_pa[0]);
    cr_assert_eq(found(h, 0x72000), code_pa[1]);
    map(h, 0x70000, code_pa[2], G);
    map(h, 0x72000, code_pa[3], G);
    tlb_flush_page(&h->v->tlb, 0x70123); /* INVLPG */
    uint64_t n = lookups(h);
    cr_assert_eq(found(h, 0x70000), code_pa[2]);
    cr_assert_eq(found(h, 0x72000), code_pa[1]);
    cr_assert_eq(lookups(h), n + 1); /* only 0x70000 was looked up afresh */
    harness_free(h);
}

Test(jcache, full_flush_drops_global_pages)
{
    struct harness *h = setup();
    map(h, 0x70000, code_pa[0], G);
    cr_assert_eq(found(h, 0x70000), code_pa[0]);
    map(h, 0x70000, code_pa[1], G);
    tlb_flush_all(&h->v->tlb); /* CR4.PGE or CR0.PG written */
    cr_assert_eq(found(h, 0x70000), code_pa[1]);
    harness_free(h);
}

/* More INVLPGs than the TLB remembers: every entry is looked up afresh. */
Test(jcache, many_invlpgs_empty_it)
{
    struct harness *h = setup();
    struct vcpu *v = h->v;
    map(h, 0x70000, code_pa[0], G);
    cr_assert_eq(found(h, 0x70000), code_pa[0]);
    for (uint32_t k = 0; k < TLB_PAGE_LOG; k++) tlb_flush_page(&v->tlb, 0x200000 + k * 0x1000);
    uint64_t n = lookups(h);
    cr_assert_eq(found(h, 0x70000), code_pa[0]);
    cr_assert_eq(lookups(h), n, "kept after %d unrelated INVLPGs", TLB_PAGE_LOG);
    for (uint32_t k = 0; k <= TLB_PAGE_LOG; k++) tlb_flush_page(&v->tlb, 0x200000 + k * 0x1000);
    cr_assert_eq(found(h, 0x70000), code_pa[0]);
    cr_assert_eq(lookups(h), n + 1);
    harness_free(h);
}

/* A 4 MiB page's INVLPG drops every entry in its region. */
Test(jcache, invlpg_in_a_large_page_drops_the_region)
{
    struct harness *h = setup();
    struct vcpu *v = h->v;
    v->cr4 |= CR4_PSE;
    /* PD[1]: 4-8 MiB as one global 4 MiB page at physical 0 (PS | G). */
    harness_write32(h, PD + 4, 0x000000u | 0x80 | G | 3);
    cr_assert_eq(found(h, 0x400000 + code_pa[0]), code_pa[0]);
    cr_assert_eq(found(h, 0x400000 + code_pa[1]), code_pa[1]);
    /* Now at physical 4 MiB, where no code was decoded: different blocks. */
    harness_write32(h, PD + 4, 0x400000u | 0x80 | G | 3);
    const uint8_t code[] = { 0x48, 0xf4 }; /* dec eax ; hlt */
    harness_poke(h, 0x400000 + code_pa[1], code, sizeof(code));
    tlb_flush_page(&v->tlb, 0x400000 + code_pa[0]);
    cr_assert_eq(found(h, 0x400000 + code_pa[1]), 0x400000 + code_pa[1]);
    harness_free(h);
}

/* A code write drops the entries of its physical page only, under every
 * linear alias; more drops than the decode cache remembers drop them all. */
Test(jcache, code_write_drops_its_physical_page)
{
    struct harness *h = setup();
    struct vcpu *v = h->v;
    map(h, 0x70000, code_pa[0], G);
    map(h, 0x71000, code_pa[0], 0); /* an alias */
    map(h, 0x72000, code_pa[1], G);
    cr_assert_eq(found(h, 0x70000), code_pa[0]);
    cr_assert_eq(found(h, 0x71000), code_pa[0]);
    cr_assert_eq(found(h, 0x72000), code_pa[1]);
    const uint8_t code[] = { 0x90, 0x90, 0xf4 }; /* nop ; nop ; hlt */
    harness_poke(h, code_pa[0], code, sizeof(code));
    dcache_invalidate(v->m->dcache, code_pa[0], sizeof(code)); /* what the code-write check does */
    uint64_t n = lookups(h);
    uint32_t avail;
    for (uint32_t lin = 0x70000; lin <= 0x71000; lin += 0x1000) {
        struct block *b = cpu_find_block(v, lin, TLB_VIEW_SUP, &avail);
        cr_assert_not_null(b);
        cr_assert_eq(b->n, 3); /* the new bytes, decoded afresh */
    }
    cr_assert_eq(found(h, 0x72000), code_pa[1]);
    cr_assert_eq(lookups(h), n + 2);
    for (uint32_t k = 0; k <= DCACHE_DROP_LOG; k++) {
        harness_poke(h, 0x50000 + k * 0x1000, code, sizeof(code));
        map(h, 0x100000 + k * 0x1000, 0x50000 + k * 0x1000, 0);
        (void)found(h, 0x100000 + k * 0x1000);
    }
    n = lookups(h);
    cr_assert_eq(found(h, 0x72000), code_pa[1]);
    cr_assert_eq(lookups(h), n);
    for (uint32_t k = 0; k <= DCACHE_DROP_LOG; k++) dcache_invalidate(v->m->dcache, 0x50000 + k * 0x1000, 1);
    cr_assert_eq(found(h, 0x72000), code_pa[1]);
    cr_assert_eq(lookups(h), n + 1);
    harness_free(h);
}

/* An instruction straddling the page end has no decoded block (it runs
 * uncached): the jump cache remembers that too, so the next lookup neither
 * searches nor decodes again. */
Test(jcache, an_instruction_crossing_the_page_end_is_remembered)
{
    struct harness *h = setup();
    struct vcpu *v = h->v;
    const uint8_t mov[] = { 0xb8, 0x11, 0x22, 0x33, 0x44 }; /* mov eax, 0x44332211 at 0x40ffe */
    harness_poke(h, 0x40ffe, mov, sizeof(mov));
    map(h, 0x70000, 0x40000, G);
    map(h, 0x71000, 0x41000, G);
    uint32_t avail;
    uint64_t n = lookups(h);
    cr_assert_null(cpu_find_block(v, 0x70ffe, TLB_VIEW_SUP, &avail));
    cr_assert_eq(avail, 2);
    cr_assert_eq(lookups(h), n + 1);
    cr_assert_null(cpu_find_block(v, 0x70ffe, TLB_VIEW_SUP, &avail));
    cr_assert_eq(avail, 2);
    cr_assert_eq(lookups(h), n + 1, "looked up again");
    /* INVLPG of its page forgets it, as any other entry. */
    tlb_flush_page(&v->tlb, 0x70000);
    cr_assert_null(cpu_find_block(v, 0x70ffe, TLB_VIEW_SUP, &avail));
    cr_assert_eq(lookups(h), n + 2);
    harness_free(h);
}

/* Such an instruction runs from both pages' bytes (one copy each when both
 * are in the TLB), and a change of its bytes on the second page is seen at
 * the next run (they are compared with the remembered decode). */
Test(jcache, an_instruction_crossing_the_page_end_runs_with_current_bytes)
{
    struct harness *h = setup();
    struct vcpu *v = h->v;
    const uint8_t mov[] = { 0xb8, 0x11, 0x22, 0x33, 0x44 }; /* mov eax, 0x44332211 at 0x40ffe */
    harness_poke(h, 0x40ffe, mov, sizeof(mov));
    map(h, 0x70000, 0x40000, G);
    map(h, 0x71000, 0x41000, G);
    for (int round = 0; round < 2; round++) {
        v->eip = 0x70ffe;
        cr_assert_eq(cpu_step(v), STOP_INSN_LIMIT);
        cr_assert_eq(v->eip, 0x71003);
        cr_assert_eq(v->r[R_EAX], round == 0 ? 0x44332211u : 0x44aa2211u, "round %d: eax %#x", round, v->r[R_EAX]);
        const uint8_t b = 0xaa;
        harness_poke(h, 0x41001, &b, 1); /* the immediate's third byte */
    }
    harness_free(h);
}
