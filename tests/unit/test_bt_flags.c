/* The translator's flag rematerialisation and in-block loops (bt_gen.c:
 * gen_remat, gen_loop): where a TLB probe would clobber the guest flags,
 * translated code recomputes them from the last CMP/TEST/ADD/SUB instead of
 * saving them, and a self-loop's back edge stays inside its block. Each test
 * runs the same code under the interpreter and the translator, requires the
 * same state and memory, and checks the exact flags a page fault pushes (or
 * an instruction reads) and that the translator took the path under test.
 * Snippets are assembled for HARNESS_CODE (GNU as --32, Intel syntax; the
 * source is above each array). */
#include <criterion/criterion.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "cpu/segment.h"
#include "harness.h"
#include "memory/tlb.h"
#include "translator/bt.h"

/* mov ecx, 0x4fff0; mov esi, 0x50100
 * top: mov edx, [ecx]; add ecx, 4; cmp ecx, esi; jne top
 * hlt
 * The fifth load (ecx = 0x50000) faults inside the loop's own copy of the
 * body: the pushed flags are the CMP's of the fourth iteration. */
Test(bt_flags, fault_in_inner_loop_pushes_the_loops_cmp_flags)
{
    static const uint8_t code[] = { 0xb9, 0xf0, 0xff, 0x04, 0x00, 0xbe, 0x00, 0x01, 0x05, 0x00,
                                    0x8b, 0x11, 0x83, 0xc1, 0x04, 0x39, 0xf1, 0x75, 0xf7, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    /* CMP 0x50000, 0x50100 = 0xffffff00: CF SF PF */
    bt_pair_assert_pf(&p, 0x50000, HARNESS_CODE + 10, F_CF | F_SF | F_PF);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_ECX], 0x50000);
    cr_assert_eq(v->icount, 2 + 4 * 4 + 1); /* 4 iterations, the HLT in the stub */
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_gt(st.loops, 0);
    cr_assert_gt(st.remats, 0);
    bt_pair_free(&p);
}

/* mov edx, [0x4fff0]; call 1f; 1: push dword [0x4fff0]; rol edi, 17;
 * push esp; push dword [0x50000]; xor eax, eax; hlt
 * entered with ZF SF PF AF CF set; the first block warms the TLB (a probe
 * that misses leaves the block after its fallback). In the second TB, no
 * instruction reads the entry flags
 * before the XOR rewrites them, but a fault can push them: the TB's
 * prologue stashes them (the first probe would save them) and its budget
 * check clobbers
 * RFLAGS; the PUSH m32's source probe keeps the flags live, so the flags it
 * keeps in r11 must be the stash's, not RFLAGS' (a fuzzer case: the frame
 * had the budget check's flags). The last PUSH's source faults: the frame
 * holds the entry flags with ROL's CF and OF. */
Test(bt_flags, push_m32_after_a_stashing_prologue_keeps_the_entry_flags)
{
    static const uint8_t code[] = { 0x8b, 0x15, 0xf0, 0xff, 0x04, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00,
                                    0xff, 0x35, 0xf0, 0xff, 0x04, 0x00, 0xc1, 0xc7, 0x11, 0x54,
                                    0xff, 0x35, 0x00, 0x00, 0x05, 0x00, 0x31, 0xc0, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    struct harness *hs[2] = { p.hi, p.hb };
    for (int i = 0; i < 2; i++) {
        harness_identity_paging(hs[i], 3, 0x50);
        hs[i]->v->eflags |= F_ZF | F_SF | F_PF | F_AF | F_CF;
        hs[i]->v->r[R_EDI] = 0x12345679;
    }
    bt_pair_run(&p, 100000);
    bt_pair_compare_state(&p);
    bt_pair_compare_range(&p, HARNESS_STACK0 - 0x100, 0x100);
    uint32_t rol = 0x12345679u << 17 | 0x12345679u >> 15; /* CF = its bit 0 */
    uint32_t arith = bt_pair_frame_flags(&p, true);
    cr_assert_eq(arith & (F_ZF | F_SF | F_PF | F_AF | F_CF), F_ZF | F_SF | F_PF | F_AF | (rol & 1 ? F_CF : 0),
                 "pushed flags %#x", arith);
    bt_pair_assert_exc(&p, EXC_PF, 0, HARNESS_CODE + 21);
    bt_pair_free(&p);
}

/* mov ebx, 1; mov eax, 0xffffffff; add eax, ebx; mov edx, [0x4fff0];
 * mov edx, [0x50000]; hlt
 * ADD's flags recomputed (SUB then ADD again) for both probes: exact
 * flags in the frame, EAX not disturbed. */
Test(bt_flags, add_flags_recomputed_at_a_fault)
{
    static const uint8_t code[] = { 0xbb, 0x01, 0x00, 0x00, 0x00, 0xb8, 0xff, 0xff, 0xff, 0xff, 0x01, 0xd8, 0x8b,
                                    0x15, 0xf0, 0xff, 0x04, 0x00, 0x8b, 0x15, 0x00, 0x00, 0x05, 0x00, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    bt_pair_assert_pf(&p, 0x50000, HARNESS_CODE + 18, F_CF | F_ZF | F_AF | F_PF);
    cr_assert_eq(p.hb->v->r[R_EAX], 0);
    cr_assert_eq(p.hb->v->r[R_EBX], 1);
    cr_assert_gt(bt_pair_stats(&p).remats, 0);
    bt_pair_free(&p);
}

/* mov eax, 5; sub eax, 7; mov edx, [0x20000]; setc bl; sbb ecx, ecx; hlt
 * The flags are live across the probe: recomputed (ADD then SUB) on the
 * main path, then read by SETC and SBB. */
Test(bt_flags, sub_flags_live_across_a_probe)
{
    static const uint8_t code[] = { 0xb8, 0x05, 0x00, 0x00, 0x00, 0x83, 0xe8, 0x07, 0x8b, 0x15,
                                    0x00, 0x00, 0x02, 0x00, 0x0f, 0x92, 0xc3, 0x19, 0xc9, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, 100000);
    bt_pair_compare_state(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 0xfffffffe);
    cr_assert_eq(v->r[R_EBX] & 0xff, 1);
    cr_assert_eq(v->r[R_ECX], 0xffffffff);
    cr_assert_eq(v->eflags & (F_CF | F_ZF | F_SF | F_OF | F_PF), F_CF | F_SF | F_PF); /* SBB's: -1 */
    cr_assert_gt(bt_pair_stats(&p).remats, 0);
    bt_pair_free(&p);
}

/* mov eax, 0x8000; mov ecx, 0x50000; test ah, 0x80; mov dl, [ecx]; hlt
 * TEST of a high byte register, run again in the cold path. */
Test(bt_flags, test_of_high_byte_recomputed_at_a_fault)
{
    static const uint8_t code[] = { 0xb8, 0x00, 0x80, 0x00, 0x00, 0xb9, 0x00, 0x00,
                                    0x05, 0x00, 0xf6, 0xc4, 0x80, 0x8a, 0x11, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    /* (TEST leaves AF undefined: not checked beyond the engines agreeing) */
    bt_pair_assert_pf(&p, 0x50000, HARNESS_CODE + 13, harness_stack(p.hb, 3) & F_AF ? F_SF | F_AF : F_SF);
    bt_pair_free(&p);
}

/* mov eax, 0x20000; mov esi, 3; mov ecx, 5; cmp ecx, esi; mov ecx, [eax];
 * mov edx, [0x50000]; hlt
 * The load into ECX changes the CMP's input: the second probe must not
 * recompute CMP ([0x20000] = 1 would give CF SF AF), but keep 5 - 3's
 * flags (none set). */
Test(bt_flags, no_recompute_after_an_input_changes)
{
    static const uint8_t code[] = { 0xb8, 0x00, 0x00, 0x02, 0x00, 0xbe, 0x03, 0x00, 0x00,
                                    0x00, 0xb9, 0x05, 0x00, 0x00, 0x00, 0x39, 0xf1, 0x8b,
                                    0x08, 0x8b, 0x15, 0x00, 0x00, 0x05, 0x00, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    harness_write32(p.hi, 0x20000, 1);
    harness_write32(p.hb, 0x20000, 1);
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    bt_pair_run(&p, 100000);
    bt_pair_compare_state(&p);
    bt_pair_assert_pf(&p, 0x50000, HARNESS_CODE + 19, 0);
    cr_assert_eq(p.hb->v->r[R_ECX], 1);
    bt_pair_free(&p);
}

/* mov ecx, 0x80000003; and ecx, 0x80000001; mov edx, [0x4fff0];
 * mov edx, [0x50000]; hlt
 * After AND the flags follow from the result (this host's AND clears AF,
 * which bt_new checks): TEST ecx, ecx recomputes them, clearing the CF and
 * AF the run started with. */
Test(bt_flags, and_flags_recomputed_from_its_result)
{
    static const uint8_t code[] = { 0xb9, 0x03, 0x00, 0x00, 0x80, 0x81, 0xe1, 0x01, 0x00, 0x00, 0x80, 0x8b,
                                    0x15, 0xf0, 0xff, 0x04, 0x00, 0x8b, 0x15, 0x00, 0x00, 0x05, 0x00, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    bt_pair_assert_pf(&p, 0x50000, HARNESS_CODE + 17, F_SF);
    cr_assert_eq(p.hb->v->r[R_ECX], 0x80000001);
    cr_assert_gt(bt_pair_stats(&p).remats, 0);
    bt_pair_free(&p);
}

/* mov eax, 5; cmp eax, 7; jne next; next: mov edx, [0x50000]; add eax, 1; hlt
 * The second block's flags are not live (ADD rewrites them) but its first
 * load can fault: its prologue saves them (then checks the budget with
 * TEST/JS), and the fault pushes the CMP's. */
Test(bt_flags, prologue_saves_flags_for_the_first_probe)
{
    static const uint8_t code[] = { 0xb8, 0x05, 0x00, 0x00, 0x00, 0x83, 0xf8, 0x07, 0x75, 0x00,
                                    0x8b, 0x15, 0x00, 0x00, 0x05, 0x00, 0x83, 0xc0, 0x01, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    bt_pair_assert_pf(&p, 0x50000, HARNESS_CODE + 10, F_CF | F_SF | F_AF); /* 5 - 7 */
    cr_assert_eq(p.hb->v->r[R_EAX], 5);
    bt_pair_free(&p);
}

/* mov ecx, 100; top: mov edx, [0x20000]; sub ecx, 1; jmp mid;
 * mid: cmp ecx, 0x7f; jne top; hlt
 * The instruction limit runs out exactly at "top", entered by a chained
 * jump: the prologue that saved the flags leaves with them restored (the
 * CMP's: CF SF AF), as the interpreter stops there. */
Test(bt_flags, prologue_budget_exit_keeps_the_flags)
{
    static const uint8_t code[] = { 0xb9, 0x64, 0x00, 0x00, 0x00, 0x8b, 0x15, 0x00, 0x00, 0x02, 0x00,
                                    0x83, 0xe9, 0x01, 0xeb, 0x00, 0x83, 0xf9, 0x7f, 0x75, 0xf0, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, 6 + 5 * 40);
    bt_pair_compare_state(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->eip, HARNESS_CODE + 5);
    cr_assert_eq(v->r[R_ECX], 100 - 41);
    cr_assert_eq(v->eflags & F_ARITH, F_CF | F_SF | F_AF); /* 59 - 127 = 0xffffffbc */
    cr_assert_gt(bt_pair_stats(&p).chains, 0);
    bt_pair_free(&p);
}

/* mov eax, 0x80000001; shl eax, 1; mov edx, [0x20000]; mov [0x20004], edx;
 * push edx; mov ecx, [0x20008]; setc bl; seto bh; hlt
 * (paging on) SHL's flags (CF OF) are live across four probes and cannot
 * be recomputed: saved once into r11 by the first probe, kept there by the
 * next three, put back for SETC. (With paging off the reads would go
 * through the physical view, which needs no flags: test_bt_view.) */
Test(bt_flags, live_flags_kept_in_r11_across_probes)
{
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x80, 0xd1, 0xe0, 0x8b, 0x15, 0x00, 0x00,
                                    0x02, 0x00, 0x89, 0x15, 0x04, 0x00, 0x02, 0x00, 0x52, 0x8b, 0x0d,
                                    0x08, 0x00, 0x02, 0x00, 0x0f, 0x92, 0xc3, 0x0f, 0x90, 0xc7, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    bt_pair_compare_range(&p, HARNESS_DATA, 0x10);
    bt_pair_compare_range(&p, HARNESS_STACK - 0x10, 0x10);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 2);
    cr_assert_eq(v->r[R_EBX] & 0xffff, 0x0101); /* SETC, SETO */
    cr_assert_eq(v->eflags & (F_CF | F_OF | F_ZF | F_SF | F_PF), F_CF | F_OF);
    cr_assert_geq(bt_pair_stats(&p).flags_kept, 3);
    bt_pair_free(&p);
}

/* The same with the last load faulting: its cold path takes the flags from
 * r11, and the #PF frame holds SHL's. */
Test(bt_flags, fault_with_flags_kept_in_r11)
{
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x80, 0xd1, 0xe0, 0x8b, 0x15, 0x00,
                                    0x00, 0x02, 0x00, 0x89, 0x15, 0x04, 0x00, 0x02, 0x00, 0x52,
                                    0x8b, 0x0d, 0x00, 0x00, 0x05, 0x00, 0x0f, 0x92, 0xc3, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->exceptions[EXC_PF], 1);
    cr_assert_eq(v->cr2, 0x50000);
    cr_assert_eq(harness_stack(p.hb, 1), HARNESS_CODE + 20);
    cr_assert_eq(harness_stack(p.hb, 3) & (F_CF | F_OF | F_ZF | F_SF | F_PF), F_CF | F_OF);
    cr_assert_geq(bt_pair_stats(&p).flags_kept, 2);
    bt_pair_free(&p);
}

/* The paged pair (page 0x50 not present) with the dword at 0x20000 = 3, run
 * to the end and compared (state, top of the ring-0 stack). */
static void run_with_3_at_20000(struct pair *p, const uint8_t *code, size_t len)
{
    bt_pair_setup(p, H_PROT32, code, len);
    struct harness *hs[2] = { p->hi, p->hb };
    for (int i = 0; i < 2; i++) {
        harness_identity_paging(hs[i], 3, 0x50);
        harness_write32(hs[i], 0x20000, 3);
    }
    bt_pair_run(p, 100000);
    bt_pair_compare_state(p);
    bt_pair_compare_range(p, HARNESS_STACK0 - 0x100, 0x100);
}

/* mov esi, [0x20000]; cmp esi, esi; je +0 (fills the TLB for page 0x20);
 * mov eax, 5; cmp [0x20000], eax; mov edx, [0x20004]; mov edx, [0x50000]; hlt
 * A CMP with a memory operand is latched: its operand loaded into r11 and
 * compared from there, so the probes after it recompute its flags from
 * r11 instead of saving them; the last load faults and its cold path does
 * (3 - 5: CF SF AF). */
Test(bt_flags, memory_cmp_latched_flags_at_a_fault)
{
    static const uint8_t code[] = { 0x8b, 0x35, 0x00, 0x00, 0x02, 0x00, 0x39, 0xf6, 0x74, 0x00, 0xb8,
                                    0x05, 0x00, 0x00, 0x00, 0x39, 0x05, 0x00, 0x00, 0x02, 0x00, 0x8b,
                                    0x15, 0x04, 0x00, 0x02, 0x00, 0x8b, 0x15, 0x00, 0x00, 0x05, 0x00, 0xf4 };
    struct pair p;
    run_with_3_at_20000(&p, code, sizeof(code));
    bt_pair_compare_range(&p, HARNESS_STACK0 - 0x100, 0x100);
    bt_pair_assert_pf(&p, 0x50000, HARNESS_CODE + 0x1b, F_CF | F_SF | F_AF);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.latched, 1);
    cr_assert_eq(st.flags_kept, 0); /* recomputed, never saved */
    bt_pair_free(&p);
}

/* mov ecx, 40; top: cmp [0x20000], ecx; mov edx, [0x20004]; jl 2f;
 * add ebx, edx; 2: test [0x20008], ecx; mov esi, [0x2000c]; jz 3f; inc edi;
 * 3: dec ecx; jnz top; hlt
 * Latched CMP and TEST feeding Jccs across a load, in merged blocks; the
 * first pass misses the TLB (the latched instruction's fallback leaves the
 * block). Every instruction limit up to the end stops both engines in the
 * same state. */
Test(bt_flags, memory_cmp_latched_every_limit)
{
    static const uint8_t code[] = { 0xb9, 0x28, 0x00, 0x00, 0x00, 0x39, 0x0d, 0x00, 0x00, 0x02, 0x00, 0x8b, 0x15, 0x04,
                                    0x00, 0x02, 0x00, 0x7c, 0x02, 0x01, 0xd3, 0x85, 0x0d, 0x08, 0x00, 0x02, 0x00, 0x8b,
                                    0x35, 0x0c, 0x00, 0x02, 0x00, 0x74, 0x01, 0x47, 0x49, 0x75, 0xde, 0xf4 };
    uint64_t latched = 0;
    for (uint64_t max = 1; max <= 400; max += 3) {
        struct pair p;
        bt_pair_setup(&p, H_PROT32, code, sizeof(code));
        struct harness *hs[2] = { p.hi, p.hb };
        for (int i = 0; i < 2; i++) {
            harness_write32(hs[i], 0x20000, 20);
            harness_write32(hs[i], 0x20004, 0x100);
            harness_write32(hs[i], 0x20008, 5);
        }
        bt_pair_run(&p, max);
        bt_pair_compare_state(&p);
        latched += bt_pair_stats(&p).latched;
        if (max >= 397) {
            struct vcpu *v = p.hb->v;
            cr_assert(v->halted);
            cr_assert_eq(v->r[R_ECX], 0);
            cr_assert_eq(v->r[R_EDX], 0x100);
        }
        bt_pair_free(&p);
    }
    cr_assert_gt(latched, 0);
}

/* (page 0x20 filled as above) mov eax, 5; cmp [0x20000], eax;
 * mov edx, [0x40000]; mov esi, [0x20004]; hlt
 * The load between the latched CMP and the last load misses the TLB: its
 * fallback does not keep r11, so the block must be left after it rather
 * than recompute the flags at the last load from a clobbered r11. */
Test(bt_flags, memory_cmp_latched_then_a_tlb_miss)
{
    static const uint8_t code[] = { 0x8b, 0x35, 0x00, 0x00, 0x02, 0x00, 0x39, 0xf6, 0x74, 0x00, 0xb8, 0x05,
                                    0x00, 0x00, 0x00, 0x39, 0x05, 0x00, 0x00, 0x02, 0x00, 0x8b, 0x15, 0x00,
                                    0x00, 0x04, 0x00, 0x8b, 0x35, 0x04, 0x00, 0x02, 0x00, 0xf4 };
    struct pair p;
    run_with_3_at_20000(&p, code, sizeof(code));
    struct vcpu *v = p.hb->v;
    cr_assert(v->halted);
    cr_assert_eq(v->eflags & F_ARITH, F_CF | F_SF | F_AF); /* 3 - 5 */
    cr_assert_geq(bt_pair_stats(&p).latched, 1);
    bt_pair_free(&p);
}

/* mov ecx, [0x20000]; mov esi, 0x20000; mov edi, 0x50000; mov eax, 0x7fffffff;
 * add eax, 1; cpuid; movsb; and eax, eax; hlt (page 0x50 not present)
 * CPUID ends the block: the next starts at MOVSB with ADD's flags live in.
 * MOVSB's source probe hits the TLB (its compare clobbers RFLAGS), its
 * destination's misses and the write is #PF: the frame must hold ADD's
 * flags. The flags are dead after MOVSB (AND rewrites them all), but its
 * own second probe can still fault: the first probe must keep them (as
 * PUSH m32's does); dropping them there pushed the compare's ZF|PF (fuzz
 * case 0xc09fe500686212f3, seed 121). */
Test(bt_flags, movs_second_probe_faults_with_the_flags_of_before)
{
    static const uint8_t code[] = { 0x8b, 0x0d, 0x00, 0x00, 0x02, 0x00, 0xbe, 0x00, 0x00, 0x02, 0x00, 0xbf,
                                    0x00, 0x00, 0x05, 0x00, 0xb8, 0xff, 0xff, 0xff, 0x7f, 0x83, 0xc0, 0x01,
                                    0x0f, 0xa2, 0xa4, 0x21, 0xc0, 0xf4 };
    struct pair p;
    bt_pair_run_paged(&p, code, sizeof(code));
    bt_pair_assert_exc(&p, EXC_PF, 2, HARNESS_CODE + 0x1a); /* write, not present */
    cr_assert_eq(p.hb->v->cr2, 0x50000);
    cr_assert_eq(bt_pair_frame_flags(&p, true), F_OF | F_SF | F_AF | F_PF, "pushed flags %#x",
                 bt_pair_frame_flags(&p, true));
    bt_pair_free(&p);
}
