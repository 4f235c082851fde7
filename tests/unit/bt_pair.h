/* Two harness machines running the same code, one under the interpreter
 * and one under the translator, for the translator's tests (test_bt*.c):
 * set-up, running, and the comparison of what both must agree on. */
#ifndef BT86_TESTS_BT_PAIR_H
#define BT86_TESTS_BT_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "translator/bt.h"

struct pair {
    struct harness *hi, *hb; /* interpreter, translator */
};

/* Both machines in `mode` with `code` at HARNESS_CODE, the same seeded
 * general registers (ESP aside), EFLAGS CF|AF, EIP at the code. */
void bt_pair_setup(struct pair *p, enum harness_mode mode, const uint8_t *code, size_t len);
void bt_pair_free(struct pair *p);
/* cpu_run on one, bt_run on the other: the same stop reason. */
void bt_pair_run(struct pair *p, uint64_t max);
/* Registers, EIP, EFLAGS, instruction count, interrupt shadow, CPL,
 * segment selectors, CR2, HLT state, stop reason and exception counts. */
void bt_pair_compare_state(struct pair *p);
/* Guest physical memory [pa, pa + len), len <= 8 KiB. */
void bt_pair_compare_range(struct pair *p, uint32_t pa, uint32_t len);
struct bt_stats bt_pair_stats(struct pair *p);
/* Set up, identity paging with page 0x50 not present on both, run to the
 * end, compare the state and the ring-0 stack's top 256 bytes. */
void bt_pair_run_paged(struct pair *p, const uint8_t *code, size_t len);
/* The translator entered the #PF stub once for a read of a not-present
 * page at cr2 by the instruction at eip, with arithmetic flags arith in
 * the frame (error code, EIP, CS, EFLAGS on the ring-0 stack). */
void bt_pair_assert_pf(struct pair *p, uint32_t cr2, uint32_t eip, uint32_t arith);
/* The translator took exception `vector` once and no other, ended in its
 * stub, and the frame on the stack holds the error code err (none when
 * err < 0), then EIP eip. */
void bt_pair_assert_exc(struct pair *p, int vector, int err, uint32_t eip);
/* The arithmetic flags in that frame (after EIP and CS). */
uint32_t bt_pair_frame_flags(struct pair *p, bool has_err);

/* An interrupt controller for both machines: vector 0x40 becomes pending
 * at the third poll and is acknowledged once (then none). */
struct irq_board {
    int polls, acks;
};
void bt_pair_irq_board(struct pair *p, struct irq_board *bi, struct irq_board *bb);
/* The same, with IF set and EAX (the loop counter) 0 on both. */
void bt_pair_irq_loop(struct pair *p, struct irq_board *bi, struct irq_board *bb);

#endif
