/* Direct physical reads (bt_gen.c: gen_view_probe with MODE_PHYS_DIRECT):
 * with paging off and A20 on, a read is at the physical view's address plus
 * the linear address, with no TLB lookup; one that is not all in plain RAM
 * (across the end of RAM, past it) faults, and its cold path runs the
 * fallback (test_bt_view has the devices and the flags).
 * Each test runs the same ring-0 code (harness: 16 MiB of RAM, paging off)
 * under the interpreter and the translator and requires the same state.
 * Snippets are assembled for HARNESS_CODE (GNU as --32, Intel syntax; the
 * source is above each array). */
#include <criterion/criterion.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "cpu/machine.h"
#include "harness.h"
#include "translator/bt.h"

static void fill(struct harness *h)
{
    harness_write32(h, 0x200000, 0x11111111);
    harness_write32(h, 0x200004, 0x22222222);
    harness_write32(h, 0xfffffc, 0xabcd1234); /* the last word of RAM */
    harness_write32(h, HARNESS_DATA, 5);
}

/* mov esi, 0x200000; mov eax, [esi]; add eax, [esi+4];
 * mov ebx, [0xfffffe]; mov ecx, 3; 1: add edx, [0x20000]; dec ecx; jnz 1b;
 * mov edi, [0x1000000]; movzx ebp, byte [0xffffff]; hlt
 * Reads above 1 MiB, one straddling the end of RAM (its upper half reads
 * as unassigned: 0xffff; a fault), one below 1 MiB three times, one past
 * RAM (a fault), and the last byte of RAM. */
Test(bt_direct, reads_in_ram_across_its_end_and_past_it)
{
    static const uint8_t code[] = { 0xbe, 0x00, 0x00, 0x20, 0x00, 0x8b, 0x06, 0x03, 0x46, 0x04, 0x8b, 0x1d, 0xfe,
                                    0xff, 0xff, 0x00, 0xb9, 0x03, 0x00, 0x00, 0x00, 0x03, 0x15, 0x00, 0x00, 0x02,
                                    0x00, 0x49, 0x75, 0xf7, 0x8b, 0x3d, 0x00, 0x00, 0x00, 0x01, 0x0f, 0xb6, 0x2d,
                                    0xff, 0xff, 0xff, 0x00, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    fill(p.hi);
    fill(p.hb);
    uint32_t edx = p.hb->v->r[R_EDX];
    bt_pair_run(&p, 1000);
    bt_pair_compare_state(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 0x33333333);
    cr_assert_eq(v->r[R_EBX], 0xffffabcd, "ebx %#x", v->r[R_EBX]);
    cr_assert_eq(v->r[R_EDX], edx + 15);
    cr_assert_eq(v->r[R_EDI], 0xffffffff);
    cr_assert_eq(v->r[R_EBP], 0xab);
    cr_assert_geq(bt_pair_stats(&p).probes_direct, 3);
    cr_assert_eq(bt_pair_stats(&p).view_faults, 2);
    bt_pair_free(&p);
}

/* mov eax, [0x120000]; mov ebx, [0x300000]; hlt
 * A20 off: address bit 20 is cleared, so these read 0x20000 and 0x200000;
 * no direct reads in that mode. */
Test(bt_direct, a20_off_wraps_through_the_tlb)
{
    static const uint8_t code[] = { 0xa1, 0x00, 0x00, 0x12, 0x00, 0x8b, 0x1d, 0x00, 0x00, 0x30, 0x00, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    fill(p.hi);
    fill(p.hb);
    machine_set_a20(&p.hi->m, false);
    machine_set_a20(&p.hb->m, false);
    bt_pair_run(&p, 1000);
    bt_pair_compare_state(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], 5);
    cr_assert_eq(p.hb->v->r[R_EBX], 0x11111111);
    cr_assert_eq(bt_pair_stats(&p).probes_direct, 0);
    bt_pair_free(&p);
}
