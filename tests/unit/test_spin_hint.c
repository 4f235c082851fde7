/* PAUSE, the spin-wait hint: both engines run it as a NOP that calls the
 * board's spin_hint hook once per execution (frontend/pc.c lets virtual
 * time pass there: -spin-skip), the translator through its fallback. */
#include <criterion/criterion.h>

#include "bt_pair.h"
#include "cpu/machine.h"
#include "harness.h"

static int hints[2];

static void count_hint(struct machine *m, struct vcpu *v)
{
    (void)v;
    hints[m->board == (void *)&hints[1]]++;
}

/* mov ecx, 5; 1: pause; dec ecx; jnz 1b; hlt */
Test(spin_hint, pause_calls_the_hook_once_each_in_both_engines)
{
    static const uint8_t code[] = { 0xb9, 0x05, 0x00, 0x00, 0x00, 0xf3, 0x90, 0x49, 0x75, 0xfb, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    hints[0] = hints[1] = 0;
    p.hi->m.spin_hint = count_hint;
    p.hb->m.spin_hint = count_hint;
    p.hi->m.board = &hints[0];
    p.hb->m.board = &hints[1];
    bt_pair_run(&p, 100000);
    bt_pair_compare_state(&p);
    cr_assert(p.hb->v->halted);
    cr_assert_eq(p.hb->v->r[R_ECX], 0);
    cr_assert_eq(hints[0], 5);
    cr_assert_eq(hints[1], 5);
    p.hi->m.board = p.hb->m.board = NULL;
    bt_pair_free(&p);
}

/* Without a hook PAUSE does nothing at all. */
Test(spin_hint, pause_without_a_hook_is_a_nop)
{
    static const uint8_t code[] = { 0xb9, 0x05, 0x00, 0x00, 0x00, 0xf3, 0x90, 0x49, 0x75, 0xfb, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, 100000);
    bt_pair_compare_state(&p);
    cr_assert(p.hb->v->halted);
    cr_assert_eq(p.hb->v->icount, 1 + 5 * 3 + 1);
    bt_pair_free(&p);
}
