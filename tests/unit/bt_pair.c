/* The interpreter/translator machine pair of the translator's tests
 * (tests/unit/bt_pair.h). */
#include "bt_pair.h"

#include <criterion/criterion.h>

#include "cpu/interp.h"

void bt_pair_setup(struct pair *p, enum harness_mode mode, const uint8_t *code, size_t len)
{
    p->hi = harness_new(mode);
    p->hb = harness_new(mode);
    cr_assert(p->hi && p->hb);
    struct harness *hs[2] = { p->hi, p->hb };
    for (int k = 0; k < 2; k++) {
        struct vcpu *v = hs[k]->v;
        harness_poke(hs[k], HARNESS_CODE, code, len);
        uint32_t s = 777;
        for (int r = 0; r < 8; r++) {
            s = s * 2654435761u + 1;
            if (r != R_ESP) v->r[r] = s;
        }
        v->eflags = F_FIXED1 | F_CF | F_AF;
        v->eip = HARNESS_CODE;
    }
}

void bt_pair_free(struct pair *p)
{
    bt_vcpu_free(p->hb->v);
    harness_free(p->hi);
    harness_free(p->hb);
}

void bt_pair_run(struct pair *p, uint64_t max)
{
    enum vcpu_stop si = cpu_run(p->hi->v, max);
    enum vcpu_stop sb = bt_run(p->hb->v, max);
    cr_assert_eq(si, sb, "stop: interp %d, bt %d", si, sb);
}

void bt_pair_compare_state(struct pair *p)
{
    struct vcpu *a = p->hi->v, *b = p->hb->v;
    for (int r = 0; r < 8; r++) cr_assert_eq(a->r[r], b->r[r], "reg %d: interp %#x, bt %#x", r, a->r[r], b->r[r]);
    cr_assert_eq(a->eip, b->eip, "eip: interp %#x, bt %#x", a->eip, b->eip);
    cr_assert_eq(a->eflags, b->eflags, "eflags: interp %#x, bt %#x", a->eflags, b->eflags);
    cr_assert_eq(a->icount, b->icount, "icount: interp %lu, bt %lu", (unsigned long)a->icount,
                 (unsigned long)b->icount);
    cr_assert_eq(a->irq_shadow, b->irq_shadow, "irq_shadow: interp %d, bt %d", a->irq_shadow, b->irq_shadow);
    cr_assert_eq(a->cpl, b->cpl);
    for (int s = 0; s < S_COUNT; s++) cr_assert_eq(a->seg[s].sel, b->seg[s].sel, "segment %d", s);
    cr_assert_eq(a->cr2, b->cr2);
    cr_assert_eq(a->halted, b->halted);
    cr_assert_eq(a->stop, b->stop);
    for (int i = 0; i < 32; i++) cr_assert_eq(a->exceptions[i], b->exceptions[i], "exceptions[%d]", i);
}

void bt_pair_compare_range(struct pair *p, uint32_t pa, uint32_t len)
{
    static uint8_t a[0x2000], b[0x2000];
    cr_assert(len <= sizeof(a));
    harness_peek(p->hi, pa, a, len);
    harness_peek(p->hb, pa, b, len);
    for (uint32_t i = 0; i < len; i++)
        cr_assert_eq(a[i], b[i], "memory at %#x: interp %#x, bt %#x", pa + i, a[i], b[i]);
}

struct bt_stats bt_pair_stats(struct pair *p)
{
    struct bt_stats s;
    bt_get_stats(p->hb->v, &s);
    return s;
}

static void irq_poll(struct machine *m, struct vcpu *v)
{
    struct irq_board *b = m->board;
    if (++b->polls == 3) v->irq_req = 1;
}

static int irq_ack(struct machine *m, struct vcpu *v)
{
    (void)v;
    struct irq_board *b = m->board;
    return b->acks++ == 0 ? 0x40 : -1;
}

void bt_pair_irq_board(struct pair *p, struct irq_board *bi, struct irq_board *bb)
{
    *bi = *bb = (struct irq_board){ 0, 0 };
    p->hi->m.board = bi;
    p->hb->m.board = bb;
    p->hi->m.poll = p->hb->m.poll = irq_poll;
    p->hi->m.irq_ack = p->hb->m.irq_ack = irq_ack;
}

void bt_pair_irq_loop(struct pair *p, struct irq_board *bi, struct irq_board *bb)
{
    bt_pair_irq_board(p, bi, bb);
    struct harness *hs[2] = { p->hi, p->hb };
    for (int k = 0; k < 2; k++) {
        hs[k]->v->eflags |= F_IF;
        hs[k]->v->r[R_EAX] = 0;
    }
}

void bt_pair_run_paged(struct pair *p, const uint8_t *code, size_t len)
{
    bt_pair_setup(p, H_PROT32, code, len);
    harness_identity_paging(p->hi, 3, 0x50);
    harness_identity_paging(p->hb, 3, 0x50);
    bt_pair_run(p, 100000);
    bt_pair_compare_state(p);
    bt_pair_compare_range(p, HARNESS_STACK0 - 0x100, 0x100);
}

void bt_pair_assert_exc(struct pair *p, int vector, int err, uint32_t eip)
{
    struct vcpu *v = p->hb->v;
    for (int i = 0; i < 32; i++) cr_assert_eq(v->exceptions[i], i == vector ? 1u : 0u, "exceptions[%d]", i);
    cr_assert_eq(v->eip, harness_stub_end(vector));
    int f = 0;
    if (err >= 0) cr_assert_eq(harness_stack(p->hb, f++), (uint32_t)err, "error code %#x", harness_stack(p->hb, 0));
    cr_assert_eq(harness_stack(p->hb, f), eip, "pushed eip %#x, want %#x", harness_stack(p->hb, f), eip);
}

uint32_t bt_pair_frame_flags(struct pair *p, bool has_err) { return harness_stack(p->hb, has_err ? 3 : 2) & F_ARITH; }

void bt_pair_assert_pf(struct pair *p, uint32_t cr2, uint32_t eip, uint32_t arith)
{
    bt_pair_assert_exc(p, EXC_PF, 0, eip); /* read, not present */
    cr_assert_eq(p->hb->v->cr2, cr2);
    cr_assert_eq(bt_pair_frame_flags(p, true), arith, "pushed flags %#x, want %#x", bt_pair_frame_flags(p, true), arith);
}
