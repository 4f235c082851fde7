/* FS and GS operands translated natively (bt_gen.c: seg_based,
 * gen_seg_ea): a segment with a base, expand-up, limit 4 GiB, readable and
 * writable — Linux's per-CPU segment, user-space TLS — adds its base, read
 * from the vCPU, to the offset before the TLB probe. With a base that is
 * not page aligned only accesses whose offset cannot wrap past 4 GiB are
 * native (a byte, a constant offset); the others stay with the
 * interpreter, which raises #GP for the wrap. Each test runs the same
 * user-mode code under the interpreter and the translator, requires the
 * same state and memory, and checks the exact exception. Snippets are
 * assembled for HARNESS_CODE (GNU as --32, Intel syntax; the source is
 * above each array). */
#include <criterion/criterion.h>
#include <string.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "cpu/segment.h"
#include "harness.h"
#include "memory/tlb.h"
#include "translator/bt.h"

/* Identity paging, user pages, linear page 0x50 not present; the words
 * at 0x4fff8 and 0x4fffc hold 0x11111111, 0x22222222; FS or GS (seg) a
 * ring-3 read/write data segment with `base` and a 4 GiB limit; EBX = ebx. */
static bool paging_off; /* (run_seg_unpaged: no paging, no absent page) */

static void seg_setup(struct harness *h, int seg, uint32_t base, uint32_t ebx)
{
    struct vcpu *v = h->v;
    if (!paging_off) harness_identity_paging(h, 7, 0x50);
    harness_write32(h, 0x4fff8, 0x11111111);
    harness_write32(h, 0x4fffc, 0x22222222);
    v->seg[seg] = (struct seg_cache){ .sel = 0x33, .attr = 0xc0f3, .base = base, .limit = 0xffffffffu };
    seg_cache_refresh(&v->seg[seg], true);
    v->r[R_EBX] = ebx;
    tlb_flush_all(&v->tlb);
    cpu_update_mode(v);
}

static void run_seg(struct pair *p, const uint8_t *code, size_t len, int seg, uint32_t base, uint32_t ebx)
{
    bt_pair_setup(p, H_USER32, code, len);
    seg_setup(p->hi, seg, base, ebx);
    seg_setup(p->hb, seg, base, ebx);
    bt_pair_run(p, 100000);
    bt_pair_compare_state(p);
    bt_pair_compare_range(p, 0x4f000, 0x1000);
    bt_pair_compare_range(p, HARNESS_STACK0 - 0x100, 0x100);
}

/* mov eax, fs:[ebx]; inc dword ptr fs:[ebx+4]; add eax, fs:[ebx+4];
 * mov fs:[ebx], eax; mov ecx, fs:[ebx+8]
 * FS base 0x40000 (page aligned), EBX = 0xfff8: the four accesses are at
 * 0x4fff8/0x4fffc, the last at 0x50000 (not present): #PF, user read. */
Test(bt_seg, fs_with_a_page_aligned_base)
{
    static const uint8_t code[] = { 0x64, 0x8b, 0x03, 0x64, 0xff, 0x43, 0x04, 0x64, 0x03, 0x43, 0x04,
                                    0x64, 0x89, 0x03, 0x64, 0x8b, 0x4b, 0x08, 0xf4 };
    struct pair p;
    run_seg(&p, code, sizeof(code), S_FS, 0x40000, 0xfff8);
    bt_pair_assert_exc(&p, EXC_PF, 4, HARNESS_CODE + 14);
    cr_assert_eq(p.hb->v->cr2, 0x50000);
    cr_assert_eq(harness_read32(p.hb, 0x4fffc), 0x22222223);
    cr_assert_eq(harness_read32(p.hb, 0x4fff8), 0x33333334);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x33333334);
    cr_assert_geq(bt_pair_stats(&p).probes, 3); /* (none when the FS/GS operands call the interpreter) */
    bt_pair_free(&p);
}

/* mov eax, gs:[0xed5]; mov gs:[0xed9], eax; mov edx, gs:[0xedd]
 * GS base 0x4f123 (not page aligned): constant offsets are native; the
 * last access is at 0x50000: #PF. */
Test(bt_seg, gs_constant_offsets_with_an_unaligned_base)
{
    static const uint8_t code[] = { 0x65, 0xa1, 0xd5, 0x0e, 0x00, 0x00, 0x65, 0xa3, 0xd9, 0x0e, 0x00, 0x00,
                                    0x65, 0x8b, 0x15, 0xdd, 0x0e, 0x00, 0x00, 0xf4 };
    struct pair p;
    run_seg(&p, code, sizeof(code), S_GS, 0x4f123, 0);
    bt_pair_assert_exc(&p, EXC_PF, 4, HARNESS_CODE + 12);
    cr_assert_eq(p.hb->v->cr2, 0x50000);
    cr_assert_eq(harness_read32(p.hb, 0x4fffc), 0x11111111);
    cr_assert_geq(bt_pair_stats(&p).probes, 3); /* (none when the FS/GS operands call the interpreter) */
    bt_pair_free(&p);
}

/* mov ecx, gs:[ebx+0xed7]; mov al, gs:[ebx+0xedb]; mov eax, gs:[ebx]
 * GS base 0x4f123, EBX = 0xfffffffe: the first offset wraps to 0xed5
 * (linear 0x4fff8), a byte is native; the last reaches past the 4 GiB
 * limit: #GP(0), which the interpreter raises (not native: the base is not
 * page aligned). */
Test(bt_seg, offset_past_the_limit_with_an_unaligned_base)
{
    static const uint8_t code[] = { 0x65, 0x8b, 0x8b, 0xd7, 0x0e, 0x00, 0x00, 0x65, 0x8a, 0x83, 0xdb,
                                    0x0e, 0x00, 0x00, 0x65, 0x8b, 0x03, 0xf4 };
    struct pair p;
    run_seg(&p, code, sizeof(code), S_GS, 0x4f123, 0xfffffffe);
    bt_pair_assert_exc(&p, EXC_GP, 0, HARNESS_CODE + 14);
    cr_assert_eq(p.hb->v->r[R_ECX], 0x11111111);
    cr_assert_eq(p.hb->v->r[R_EAX] & 0xff, 0x22);
    bt_pair_free(&p);
}

/* mov ecx, fs:[ebx+0xeffa]; mov eax, fs:[ebx]
 * FS base 0x41000 (page aligned), EBX = 0xfffffffe: the first offset wraps
 * to 0xeff8 (linear 0x4fff8). The second reaches past the 4 GiB limit; its
 * linear bytes 0x40ffe..0x41001 cross a page, so the native probe misses
 * and the interpreter raises #GP(0). */
Test(bt_seg, offset_past_the_limit_with_a_page_aligned_base)
{
    static const uint8_t code[] = { 0x64, 0x8b, 0x8b, 0xfa, 0xef, 0x00, 0x00, 0x64, 0x8b, 0x03, 0xf4 };
    struct pair p;
    run_seg(&p, code, sizeof(code), S_FS, 0x41000, 0xfffffffe);
    bt_pair_assert_exc(&p, EXC_GP, 0, HARNESS_CODE + 7);
    cr_assert_eq(p.hb->v->r[R_ECX], 0x11111111);
    cr_assert_geq(bt_pair_stats(&p).probes, 2);
    bt_pair_free(&p);
}

/* With paging off (the translator's accesses then go through the physical
 * view, which has no page check to catch the wrap): the same wrapping
 * offsets. */
static void run_seg_unpaged(struct pair *p, const uint8_t *code, size_t len, uint32_t base, uint32_t ebx)
{
    paging_off = true;
    run_seg(p, code, len, S_FS, base, ebx);
    paging_off = false;
}

/* mov ecx, fs:[ebx+0xeffa]; mov eax, fs:[ebx] — as in
 * offset_past_the_limit_with_a_page_aligned_base, paging off: #GP(0) at
 * the second, and its bytes (0x40ffe..0x41001) unread. */
Test(bt_seg, offset_past_the_limit_paging_off)
{
    static const uint8_t code[] = { 0x64, 0x8b, 0x8b, 0xfa, 0xef, 0x00, 0x00, 0x64, 0x8b, 0x03, 0xf4 };
    struct pair p;
    run_seg_unpaged(&p, code, sizeof(code), 0x41000, 0xfffffffe);
    bt_pair_assert_exc(&p, EXC_GP, 0, HARNESS_CODE + 7);
    cr_assert_eq(p.hb->v->r[R_ECX], 0x11111111);
    cr_assert_neq(p.hb->v->r[R_EAX], 0x11111111);
    bt_pair_free(&p);
}

/* mov ecx, fs:[ebx+0xeffa]; mov fs:[ebx], ecx — the same for a write:
 * #GP(0), and the bytes at 0x40ffe..0x41001 unchanged (compared). */
Test(bt_seg, write_past_the_limit_paging_off)
{
    static const uint8_t code[] = { 0x64, 0x8b, 0x8b, 0xfa, 0xef, 0x00, 0x00, 0x64, 0x89, 0x0b, 0xf4 };
    struct pair p;
    run_seg_unpaged(&p, code, sizeof(code), 0x41000, 0xfffffffe);
    bt_pair_assert_exc(&p, EXC_GP, 0, HARNESS_CODE + 7);
    bt_pair_compare_range(&p, 0x40000, 0x2000);
    cr_assert_eq(harness_read32(p.hb, 0x40ffe), 0);
    bt_pair_free(&p);
}
