/* Merged translations (bt_gen.c: bt_merge_target, gen_transition): a block
 * ending in a forward Jcc or a direct JMP is translated together with the
 * block that follows it (the Jcc's fall-through, the JMP's target) when
 * both are on one page. Each test runs the same code under the interpreter
 * and the translator and requires the same state; the faults in the second
 * block must be as precise as anywhere else, and an instruction limit may
 * end between the two blocks. Snippets are assembled for HARNESS_CODE (GNU
 * as --32, Intel syntax; the source is above each array). */
#include <criterion/criterion.h>
#include <string.h>

#include "bt_pair.h"
#include "cpu/decode_cache.h"
#include "cpu/interp.h"
#include "cpu/segment.h"
#include "harness.h"
#include "memory/tlb.h"
#include "translator/bt.h"

/* mov eax, 5; cmp eax, 7; je 1f; mov edx, [0x50000]; 1: hlt
 * The JE falls through into the merged second block, whose load faults:
 * EIP of the load, the CMP's flags (5 - 7: CF SF AF). */
Test(bt_merge, fault_in_the_second_block_is_precise)
{
    static const uint8_t code[] = { 0xb8, 0x05, 0x00, 0x00, 0x00, 0x83, 0xf8, 0x07, 0x74,
                                    0x06, 0x8b, 0x15, 0x00, 0x00, 0x05, 0x00, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    bt_pair_assert_pf(&p, 0x50000, HARNESS_CODE + 10, F_CF | F_SF | F_AF);
    cr_assert_eq(p.hb->v->icount, 3 + 1); /* mov cmp je, the HLT in the stub */
    cr_assert_eq(bt_pair_stats(&p).merged, 1);
    bt_pair_free(&p);
}

/* The same with eax = 7: the JE is taken, out of the merged TB through its
 * own exit, and the load never runs. */
Test(bt_merge, taken_jcc_leaves_the_merged_block)
{
    static const uint8_t code[] = { 0xb8, 0x07, 0x00, 0x00, 0x00, 0x83, 0xf8, 0x07, 0x74,
                                    0x06, 0x8b, 0x15, 0x00, 0x00, 0x05, 0x00, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->exceptions[EXC_PF], 0);
    cr_assert(v->halted);
    cr_assert_eq(v->eip, HARNESS_CODE + 17);
    cr_assert_eq(v->eflags & F_ARITH, F_ZF | F_PF);
    cr_assert_eq(v->icount, 4);
    cr_assert_eq(bt_pair_stats(&p).merged, 1);
    bt_pair_free(&p);
}

/* mov eax, 0xffffffff; jmp 3f; int3; int3; 3: add eax, 2;
 * mov edx, [0x50000]; hlt
 * A direct JMP merged with its target: the load faults with the ADD's
 * flags (0xffffffff + 2 = 1: CF AF). */
Test(bt_merge, jmp_target_merged_fault_keeps_the_adds_flags)
{
    static const uint8_t code[] = { 0xb8, 0xff, 0xff, 0xff, 0xff, 0xeb, 0x02, 0xcc, 0xcc, 0x83,
                                    0xc0, 0x02, 0x8b, 0x15, 0x00, 0x00, 0x05, 0x00, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    bt_pair_assert_pf(&p, 0x50000, HARNESS_CODE + 12, F_CF | F_AF);
    cr_assert_eq(p.hb->v->r[R_EAX], 1);
    cr_assert_eq(bt_pair_stats(&p).merged, 1);
    bt_pair_free(&p);
}

/* mov ecx, 100; top: mov edx, [0x20000]; cmp ecx, 50; jb 2f;
 * add ebx, edx; 2: sub ecx, 1; jne top; hlt
 * The TB at "top" is two merged blocks closing an in-block loop. Every
 * instruction limit from 1 to 120 must stop both engines at the same
 * instruction with the same state: among them limits that run out exactly
 * between the two blocks (the budget check of gen_transition). */
Test(bt_merge, every_instruction_limit_stops_where_the_interpreter_does)
{
    static const uint8_t code[] = { 0xb9, 0x64, 0x00, 0x00, 0x00, 0x8b, 0x15, 0x00, 0x00, 0x02, 0x00, 0x83, 0xf9,
                                    0x32, 0x72, 0x02, 0x01, 0xd3, 0x83, 0xe9, 0x01, 0x75, 0xee, 0xf4 };
    bool at_transition = false;
    for (uint64_t max = 1; max <= 120; max++) {
        struct pair p;
        bt_pair_setup(&p, H_PROT32, code, sizeof(code));
        harness_write32(p.hi, HARNESS_DATA, 0x1234);
        harness_write32(p.hb, HARNESS_DATA, 0x1234);
        bt_pair_run(&p, max);
        bt_pair_compare_state(&p);
        struct vcpu *v = p.hb->v;
        cr_assert_eq(v->icount, max);
        if (v->eip == HARNESS_CODE + 16) at_transition = true; /* the ADD: first of the second block */
        if (max == 120) {
            struct bt_stats st = bt_pair_stats(&p);
            cr_assert_geq(st.merged, 1);
            cr_assert_gt(st.loops, 0);
        }
        bt_pair_free(&p);
    }
    cr_assert(at_transition);
}

/* nop; top: inc eax; cmp eax, 0x7fffffff; je 1f; add ebx, eax; jmp top; 1: hlt
 * A merged TB (the JE's fall-through) that is also an in-block loop, run
 * with interrupts on: vector 0x40 becomes pending at the third poll (every
 * CPU_POLL_INTERVAL instructions). The TB starts only when the budget covers its second
 * block too; when it is short of that (1-3 instructions to the poll), its
 * first block runs alone (its MODE_SINGLE TB). Poll points, the instruction the interrupt
 * arrives at and the whole state must be the interpreter's. */
Test(bt_merge, poll_points_inside_a_merged_loop_are_the_interpreters)
{
    static const uint8_t code[] = { 0x90, 0x40, 0x3d, 0xff, 0xff, 0xff, 0x7f, 0x74, 0x04, 0x01, 0xc3, 0xeb, 0xf4, 0xf4 };
    /* (The NOP puts the polls 1-3 instructions into an iteration: then the
     * budget left at an iteration's start is short of the merged TB.) */
    _Static_assert((CPU_POLL_INTERVAL - 1) % 5 >= 1 && (CPU_POLL_INTERVAL - 1) % 5 <= 3, "poll phase");
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    struct irq_board bi, bb;
    bt_pair_irq_loop(&p, &bi, &bb);
    bt_pair_run(&p, 10000000);
    bt_pair_compare_state(&p);
    bt_pair_compare_range(&p, HARNESS_STACK0 - 0x100, 0x100);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->stop, STOP_HALT_FOREVER);
    cr_assert_eq(v->eip, harness_stub_end(0x40));
    cr_assert_eq(bb.acks, 1);
    /* Five instructions an iteration: the third poll comes after 3/5 of
     * CPU_POLL_INTERVAL iterations. */
    cr_assert_geq(v->r[R_EAX], 3 * CPU_POLL_INTERVAL / 5 - 2);
    cr_assert_leq(v->r[R_EAX], 3 * CPU_POLL_INTERVAL / 5 + 2);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.merged, 1);
    cr_assert_gt(st.loops, 0);
    cr_assert_gt(st.single_runs, 0); /* a first block run alone, short of the budget */
    bt_pair_free(&p);
}

/* xor ecx, ecx; top: inc ecx; test ecx, 1; jz even; add ebx, 3; jmp join;
 * even: add esi, 5; join: cmp ecx, 0x7fffffff; jne top; hlt
 * The jumps to even and join go forward: chained, they enter past the
 * target's budget check (tb->fast). Far from the limit the chained code
 * may run on past a poll point; within BT_FAST_OVERSHOOT of it there are
 * no forward chains (bt->exact), and the run stops at the limit to the
 * instruction, in the interpreter's state. */
static void forward_chains_run(uint64_t max, bool no_fast)
{
    static const uint8_t code[] = { 0x31, 0xc9, 0x41, 0xf7, 0xc1, 0x01, 0x00, 0x00, 0x00, 0x74, 0x05, 0x83, 0xc3, 0x03,
                                    0xeb, 0x03, 0x83, 0xc6, 0x05, 0x81, 0xf9, 0xff, 0xff, 0xff, 0x7f, 0x75, 0xe7, 0xf4 };
    if (no_fast) setenv("BT86_BT_NO_FAST_CHAIN", "1", 1);
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, max);
    unsetenv("BT86_BT_NO_FAST_CHAIN");
    bt_pair_compare_state(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->stop, STOP_INSN_LIMIT);
    cr_assert_eq(v->icount, max);
    cr_assert_geq(v->r[R_ECX], max / 7); /* (7 instructions an iteration at most) */
    struct bt_stats st = bt_pair_stats(&p);
    if (no_fast || max < 4096 * 2 * BLOCK_MAX_INSNS) cr_assert_eq(st.fast_chains, 0); /* (BT_FAST_OVERSHOOT) */
    else cr_assert_geq(st.fast_chains, 1);
    bt_pair_free(&p);
}

Test(bt_merge, forward_chains_stop_at_an_exact_limit)
{
    for (uint64_t max = 2000000; max < 2000000 + 14; max++) forward_chains_run(max, false); /* (every phase of an iteration) */
}
Test(bt_merge, forward_chains_near_the_limit_only) { for (uint64_t max = 1; max < 200; max++) forward_chains_run(max, false); }
Test(bt_merge, forward_chains_switched_off) { for (uint64_t max = 2000000; max < 2000000 + 14; max++) forward_chains_run(max, true); }

/* mov eax, ss; mov ss, eax; then forward_chains_run's loop. MOV SS blocks
 * interrupts for one instruction: the run loop runs exactly one (a limit
 * of 1), which is no exact limit coming near. Forward chains must still be
 * made after it (once they were off for good after the first STI or MOV
 * SS of a run: a Linux boot then made 2 in 51,000 chains, 42,000 now). */
Test(bt_merge, forward_chains_outlive_an_interrupt_shadow)
{
    static const uint8_t code[] = { 0x8c, 0xd0, 0x8e, 0xd0, 0x31, 0xc9, 0x41, 0xf7, 0xc1, 0x01, 0x00, 0x00, 0x00,
                                    0x74, 0x05, 0x83, 0xc3, 0x03, 0xeb, 0x03, 0x83, 0xc6, 0x05, 0x81, 0xf9, 0xff,
                                    0xff, 0xff, 0x7f, 0x75, 0xe7, 0xf4 };
    const uint64_t max = 2000003;
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, max);
    bt_pair_compare_state(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->stop, STOP_INSN_LIMIT);
    cr_assert_eq(v->icount, max);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.interp_blocks, 1); /* (the instruction in the shadow) */
    cr_assert_geq(st.fast_chains, 1);
    bt_pair_free(&p);
}

/* xor ecx, ecx; top: inc ecx; then 8 times: inc esi; 10 x nop;
 * test ecx, 0; jz +1; hlt; and cmp ecx, 0x7fffffff; jne top; hlt
 * Eight forward hops an iteration (each JZ taken, to a TB of 14
 * instructions), 114 instructions without a budget check once chained: far
 * more than the last dispatches near a limit allow. The limit must still
 * hold to the instruction, so the chains made before it came near must be
 * gone (a flush: run_one, bt->exact). */
Test(bt_merge, a_run_of_forward_chains_stops_at_an_exact_limit)
{
    uint8_t code[200];
    size_t n = 0;
    code[n++] = 0x31; code[n++] = 0xc9;                       /* xor ecx, ecx */
    code[n++] = 0x41;                                         /* top: inc ecx */
    for (int hop = 0; hop < 8; hop++) {
        code[n++] = 0x46;                                     /* inc esi */
        for (int i = 0; i < 10; i++) code[n++] = 0x90;        /* nop */
        static const uint8_t tail[] = { 0xf7, 0xc1, 0, 0, 0, 0, 0x74, 0x01, 0xf4 }; /* test ecx, 0; jz +1; hlt */
        memcpy(code + n, tail, sizeof(tail));
        n += sizeof(tail);
    }
    static const uint8_t cmp[] = { 0x81, 0xf9, 0xff, 0xff, 0xff, 0x7f, 0x0f, 0x85 }; /* cmp ecx, ...; jne rel32 */
    memcpy(code + n, cmp, sizeof(cmp));
    n += sizeof(cmp);
    int32_t rel = (int32_t)2 - (int32_t)(n + 4);
    memcpy(code + n, &rel, 4);
    n += 4;
    code[n++] = 0xf4;
    for (uint64_t max = 2000000; max < 2000000 + 120; max += 7) {
        struct pair p;
        bt_pair_setup(&p, H_PROT32, code, n);
        bt_pair_run(&p, max);
        bt_pair_compare_state(&p);
        cr_assert_eq(p.hb->v->stop, STOP_INSN_LIMIT);
        cr_assert_eq(p.hb->v->icount, max);
        cr_assert_geq(bt_pair_stats(&p).fast_chains, 8);
        bt_pair_free(&p);
    }
}
