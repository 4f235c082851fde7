/* Instructions that cross a page end (translator/bt_run.c: straddle_tb):
 * no decoded block holds one, so the translator gives it a TB of its own
 * that runs it through cpu_exec_uncached_handler, fetching and decoding
 * it through the TLB at every run as the interpreter does. Each test runs
 * the same ring-0 code under the interpreter and the translator and
 * requires the same state; the loop is placed so that its ADD (5 bytes)
 * starts at 0x10ffe, two bytes before the page end. Snippets are
 * assembled at 0x10ff0 (GNU as --32, Intel syntax; source above each). */
#include <criterion/criterion.h>
#include <string.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "harness.h"
#include "translator/bt.h"

#define LOOP_AT 0x10ff0u

/* HARNESS_CODE: jmp LOOP_AT; the loop there. */
static void setup(struct pair *p, const uint8_t *loop, size_t len)
{
    static const uint8_t jmp[] = { 0xe9, 0xeb, 0x0f, 0x00, 0x00 };
    bt_pair_setup(p, H_PROT32, jmp, sizeof(jmp));
    harness_poke(p->hi, LOOP_AT, loop, len);
    harness_poke(p->hb, LOOP_AT, loop, len);
}

/* mov ecx, 100; xor eax, eax; 1: nop x7; add eax, 0x01020304; dec ecx;
 * jnz 1b; hlt */
Test(bt_straddle, loop_over_a_page_crossing_instruction)
{
    static const uint8_t loop[] = { 0xb9, 0x64, 0x00, 0x00, 0x00, 0x31, 0xc0, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
                                    0x90, 0x05, 0x04, 0x03, 0x02, 0x01, 0x49, 0x75, 0xf1, 0xf4 };
    struct pair p;
    setup(&p, loop, sizeof(loop));
    bt_pair_run(&p, 100000);
    bt_pair_compare_state(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x64c92d90);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_eq(st.straddling, 1);
    cr_assert_lt(st.interp_blocks, 10, "%llu blocks interpreted", (unsigned long long)st.interp_blocks);
    bt_pair_free(&p);
}

/* mov ecx, 100; xor eax, eax; 1: mov byte [0x11001], cl; nop;
 * add eax, 0x01020304; dec ecx; jnz 1b; hlt
 * The loop rewrites the ADD's immediate on the second page each time:
 * every run sees the new byte. */
Test(bt_straddle, page_crossing_instruction_rewritten_by_its_loop)
{
    static const uint8_t loop[] = { 0xb9, 0x64, 0x00, 0x00, 0x00, 0x31, 0xc0, 0x88, 0x0d, 0x01, 0x10, 0x01,
                                    0x00, 0x90, 0x05, 0x04, 0x03, 0x02, 0x01, 0x49, 0x75, 0xf1, 0xf4 };
    struct pair p;
    setup(&p, loop, sizeof(loop));
    bt_pair_run(&p, 100000);
    bt_pair_compare_state(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x77bb2d90, "eax %#x", p.hb->v->r[R_EAX]);
    bt_pair_free(&p);
}

/* The same loop as the first test with page 0x11 not present: the ADD's
 * fetch faults on its second page (#PF, CR2 = 0x11000, error 0, EIP =
 * the ADD). */
Test(bt_straddle, fetch_fault_on_the_second_page)
{
    static const uint8_t loop[] = { 0xb9, 0x64, 0x00, 0x00, 0x00, 0x31, 0xc0, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
                                    0x90, 0x05, 0x04, 0x03, 0x02, 0x01, 0x49, 0x75, 0xf1, 0xf4 };
    struct pair p;
    setup(&p, loop, sizeof(loop));
    harness_identity_paging(p.hi, 3, 0x11);
    harness_identity_paging(p.hb, 3, 0x11);
    bt_pair_run(&p, 100000);
    bt_pair_compare_state(&p);
    bt_pair_assert_exc(&p, EXC_PF, 0, 0x10ffe);
    cr_assert_eq(p.hb->v->cr2, 0x11000, "cr2 %#x", p.hb->v->cr2);
    bt_pair_free(&p);
}
