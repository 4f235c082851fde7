/* A fault loop (cpu/interp.c, CPU_FAULT_LOOP_MAX): a guest whose fault
 * handler faults at once delivers exceptions forever without retiring an
 * instruction, as a CPU would; under an instruction limit the run stops
 * with STOP_FAULT_LOOP after CPU_FAULT_LOOP_MAX deliveries in a row, before
 * the next one, whatever the engine and however the run is cut up (one
 * run, single steps). Here: real mode, #UD's vector points at a UD2 and
 * the stack wraps inside its own 64 KiB segment (SS = 0x2000), away from
 * the vectors and the code. */
#include <criterion/criterion.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "cpu/segment.h"
#include "harness.h"

static void ud2_loop(struct harness *h)
{
    static const uint8_t ud2[] = { 0x0f, 0x0b };
    harness_poke(h, HARNESS_STUBS + 6 * 8, ud2, sizeof(ud2)); /* #UD's stub (IVT: 0x700:0x30) */
    struct vcpu *v = h->v;
    v->seg[S_SS].sel = 0x2000;
    v->seg[S_SS].base = 0x20000;
    seg_cache_refresh(&v->seg[S_SS], false);
    v->r[R_ESP] = 0xff00;
    v->seg[S_CS].sel = HARNESS_CODE >> 4;
    v->seg[S_CS].base = HARNESS_CODE;
    seg_cache_refresh(&v->seg[S_CS], false);
    v->eip = 0;
    harness_poke(h, HARNESS_CODE, ud2, sizeof(ud2));
}

static void assert_stopped_in_the_loop(const struct vcpu *v)
{
    cr_assert_eq(v->stop, STOP_FAULT_LOOP);
    cr_assert_eq(v->icount, 0);
    cr_assert_eq(v->exceptions[6], CPU_FAULT_LOOP_MAX);
    for (int i = 0; i < 32; i++)
        if (i != 6) cr_assert_eq(v->exceptions[i], 0, "exceptions[%d]", i);
    cr_assert_eq(v->eip, 0x30); /* the UD2 in the stub, about to fault again */
    cr_assert_eq(v->r[R_ESP] & 0xffff, (0xff00 - 6u * CPU_FAULT_LOOP_MAX) & 0xffff);
}

Test(fault_loop, stops_at_the_same_fault_under_each_engine)
{
    struct pair p;
    bt_pair_setup(&p, H_REAL16, (const uint8_t[]){ 0x0f, 0x0b }, 2);
    ud2_loop(p.hi);
    ud2_loop(p.hb);
    bt_pair_run(&p, 1000);
    bt_pair_compare_state(&p);
    bt_pair_compare_range(&p, 0x2f000, 0x1000);
    assert_stopped_in_the_loop(p.hi->v);
    assert_stopped_in_the_loop(p.hb->v);
    bt_pair_free(&p);
}

Test(fault_loop, single_steps_stop_where_one_run_does)
{
    struct harness *h = harness_new(H_REAL16);
    ud2_loop(h);
    enum vcpu_stop s;
    uint64_t steps = 0;
    while ((s = cpu_step(h->v)) == STOP_INSN_LIMIT) cr_assert_lt(++steps, 2u * CPU_FAULT_LOOP_MAX);
    cr_assert_eq(steps, CPU_FAULT_LOOP_MAX); /* each step delivered one */
    assert_stopped_in_the_loop(h->v);
    harness_free(h);
}

Test(fault_loop, a_retired_instruction_starts_the_count_again)
{
    /* 0x30: inc ax; ud2 — the handler retires an INC before faulting: no
     * loop as far as the count goes; the limit ends the run. */
    struct harness *h = harness_new(H_REAL16);
    ud2_loop(h);
    static const uint8_t inc_ud2[] = { 0x40, 0x0f, 0x0b };
    harness_poke(h, HARNESS_STUBS + 6 * 8, inc_ud2, sizeof(inc_ud2));
    cr_assert_eq(cpu_run(h->v, 100000), STOP_INSN_LIMIT);
    cr_assert_eq(h->v->icount, 100000);
    cr_assert_geq(h->v->exceptions[6], 100000);
    harness_free(h);
}
