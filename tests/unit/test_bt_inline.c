/* The translator's adaptive translation of sensitive instructions
 * (translator/bt_gen.c, gen_sensitive): CLI, STI, PUSHF, POPF and MOV from
 * CR0/2/3/4 inline at CPL 0. Each test runs the same code on two harness
 * machines, one with the interpreter (through the VMM) and one with the
 * translator, and requires identical architectural state, interrupt shadow
 * and exceptions; then checks which path the translator took (VMM entries
 * counted in v->exits, sensitive_native/sensitive_called) and the exact
 * values. Snippets are assembled for HARNESS_CODE (GNU as --32, Intel
 * syntax; the source is in the comment above each). */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/interp.h"
#include "cpu/segment.h"
#include "cpu/vmm_trace.h"
#include "bt_pair.h"
#include "harness.h"
#include "memory/tlb.h"
#include "translator/bt.h"

static void compare(struct pair *p)
{
    bt_pair_compare_state(p);
    bt_pair_compare_range(p, HARNESS_STACK - 0x100, 0x200);
}

/* Runs long enough that the translator is not stepping block by block
 * towards the limit (then STI must take the VMM path, see bt_gen.c). */
#define LONG 1000000

static uint64_t flag_exits(struct harness *h) { return h->v->exits[EXIT_BT_FLAGS]; }
#define flag_exits_eq(h, n) cr_assert_eq(flag_exits(h), (n), "VMM flag entries %lu, want %lu", (unsigned long)flag_exits(h), (unsigned long)(n))

/* An interrupt controller with vector 0x40 pending from the start. */
static int ack_once(struct machine *m, struct vcpu *v)
{
    (void)v;
    int *acks = m->board;
    return (*acks)++ == 0 ? 0x40 : -1;
}

static void pend_irq(struct pair *p, int *acks_i, int *acks_b)
{
    p->hi->m.board = acks_i;
    p->hb->m.board = acks_b;
    p->hi->m.irq_ack = ack_once;
    p->hb->m.irq_ack = ack_once;
    p->hi->v->irq_req = 1;
    p->hb->v->irq_req = 1;
}

/* mov ecx, 100; 1: cli; sti; dec ecx; jnz 1b; cli; pushfd; pop eax; hlt */
static const uint8_t code_loop[] = { 0xb9, 0x64, 0x00, 0x00, 0x00, 0xfa, 0xfb, 0x49, 0x75,
                                     0xfb, 0xfa, 0x9c, 0x58, 0xf4 };

Test(bt_inline, cli_sti_loop_stays_in_translated_code)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_loop, sizeof(code_loop));
    bt_pair_run(&p, LONG);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_ECX], 0);
    cr_assert_eq(v->r[R_EAX] & F_IF, 0); /* pushed after the last CLI */
    cr_assert_eq(v->eflags & F_IF, 0);
    cr_assert_eq(v->icount, 1 + 4 * 100 + 4);
    /* The interpreter entered the VMM for each CLI, STI and PUSHFD; the
     * translator never (paging off, the PUSHFD's stack write goes through
     * the physical view: no TLB miss to run it through the VMM). */
    flag_exits_eq(p.hi, 2 * 100 + 2);
    flag_exits_eq(p.hb, 0);
    struct bt_stats s = bt_pair_stats(&p);
    cr_assert_geq(s.sensitive_native, 4); /* CLI, STI, CLI, PUSHFD */
    cr_assert_eq(s.sensitive_called, 1);  /* the HLT */
    cr_assert_lt(s.dispatches, 20, "the loop should stay chained (%lu dispatches)", (unsigned long)s.dispatches);
    bt_pair_free(&p);
}

/* sti; inc eax; inc eax; hlt */
static const uint8_t code_sti[] = { 0xfb, 0x40, 0x40, 0xf4 };

Test(bt_inline, sti_without_a_pending_interrupt_is_inline)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_sti, sizeof(code_sti));
    uint32_t eax = p.hb->v->r[R_EAX];
    bt_pair_run(&p, LONG);
    compare(&p);
    cr_assert_eq(p.hb->v->eflags & F_IF, F_IF);
    cr_assert_eq(p.hb->v->r[R_EAX], eax + 2);
    cr_assert_eq(p.hb->v->irq_shadow, 0);
    flag_exits_eq(p.hi, 1);
    flag_exits_eq(p.hb, 0);
    bt_pair_free(&p);
}

Test(bt_inline, sti_shadow_delays_a_pending_interrupt_by_one_instruction)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_sti, sizeof(code_sti));
    int ai = 0, ab = 0;
    pend_irq(&p, &ai, &ab);
    uint32_t eax = p.hb->v->r[R_EAX];
    bt_pair_run(&p, LONG);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->eip, harness_stub_end(0x40));
    cr_assert_eq(v->r[R_EAX], eax + 1); /* the shadowed INC ran, the second did not */
    cr_assert_eq(harness_stack(p.hb, 0), HARNESS_CODE + 2, "saved EIP %#x", harness_stack(p.hb, 0));
    cr_assert_eq(ab, 1);
    flag_exits_eq(p.hb, 1); /* IF 0 -> 1 with a request: the VMM's STI */
    bt_pair_free(&p);
}

Test(bt_inline, sti_at_the_instruction_limit_leaves_the_shadow_set)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_sti, sizeof(code_sti));
    bt_pair_run(&p, 1);
    compare(&p);
    cr_assert_eq(p.hb->v->irq_shadow, 1);
    cr_assert_eq(p.hb->v->eip, HARNESS_CODE + 1);
    /* The next instruction runs in the shadow, then the rest. */
    int ai = 0, ab = 0;
    pend_irq(&p, &ai, &ab);
    bt_pair_run(&p, LONG);
    compare(&p);
    cr_assert_eq(p.hb->v->eip, harness_stub_end(0x40));
    cr_assert_eq(harness_stack(p.hb, 0), HARNESS_CODE + 2);
    bt_pair_free(&p);
}

/* cmp eax, ebx; pushfd; pop edx; xor edx, 0x207cd5; push edx; popfd;
 * setc cl; seto ch; pushfd; pop esi; hlt */
static const uint8_t code_flags[] = { 0x39, 0xd8, 0x9c, 0x5a, 0x81, 0xf2, 0xd5, 0x7c, 0x20, 0x00, 0x52,
                                      0x9d, 0x0f, 0x92, 0xc1, 0x0f, 0x90, 0xc5, 0x9c, 0x5e, 0xf4 };

Test(bt_inline, pushf_popf_merge_arithmetic_and_system_flags)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_flags, sizeof(code_flags));
    struct vcpu *v = p.hb->v;
    uint32_t a = v->r[R_EAX], b = v->r[R_EBX], d = a - b;
    uint32_t arith = (d >> 31 ? F_SF : 0) | (d == 0 ? F_ZF : 0) | ((a ^ b ^ d) & 0x10 ? F_AF : 0) |
                     (__builtin_parity(d & 0xff) ? 0 : F_PF) | (a < b ? F_CF : 0) |
                     (((a ^ b) & (a ^ d)) >> 31 ? F_OF : 0);
    uint32_t pushed = F_FIXED1 | arith;
    uint32_t popped = pushed ^ 0x207cd5u; /* all six arithmetic flags, DF, IOPL, NT, ID */
    bt_pair_run(&p, LONG);
    compare(&p);
    cr_assert_eq(v->r[R_EDX], popped, "first PUSHFD %#x, want %#x", v->r[R_EDX] ^ 0x207cd5u, pushed);
    cr_assert_eq(v->r[R_ESI], popped, "second PUSHFD %#x, want %#x", v->r[R_ESI], popped);
    cr_assert_eq(v->eflags, popped);
    cr_assert_eq(v->r[R_ECX] & 0xffff, ((popped & F_OF) ? 0x100u : 0) | ((popped & F_CF) ? 1u : 0),
                 "SETC/SETO after POPFD read %#x", v->r[R_ECX] & 0xffff);
    flag_exits_eq(p.hi, 3);
    flag_exits_eq(p.hb, 0); /* (the stack writes go through the physical view) */
    bt_pair_free(&p);
}

/* push 0x202; popfd; inc eax; inc eax; hlt */
static const uint8_t code_popf_if[] = { 0x68, 0x02, 0x02, 0x00, 0x00, 0x9d, 0x40, 0x40, 0xf4 };

Test(bt_inline, popf_setting_if_is_inline_without_a_request)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_popf_if, sizeof(code_popf_if));
    bt_pair_run(&p, LONG);
    compare(&p);
    cr_assert_eq(p.hb->v->eflags & ~F_ARITH, F_FIXED1 | F_IF);
    flag_exits_eq(p.hb, 0);
    bt_pair_free(&p);
}

Test(bt_inline, popf_setting_if_with_a_request_takes_the_interrupt_after_it)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_popf_if, sizeof(code_popf_if));
    int ai = 0, ab = 0;
    pend_irq(&p, &ai, &ab);
    uint32_t eax = p.hb->v->r[R_EAX];
    bt_pair_run(&p, LONG);
    compare(&p);
    cr_assert_eq(p.hb->v->eip, harness_stub_end(0x40));
    cr_assert_eq(p.hb->v->r[R_EAX], eax); /* no shadow after POPF */
    cr_assert_eq(harness_stack(p.hb, 0), HARNESS_CODE + 6);
    flag_exits_eq(p.hb, 1);
    bt_pair_free(&p);
}

/* pushfd; or dword [esp], 0x40100 (AC, TF); popfd; inc eax;
 * pushfd; and dword [esp], ~0x40100; popfd; inc eax; hlt */
static const uint8_t code_popf_ac[] = { 0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x04, 0x00, 0x9d, 0x40, 0x9c,
                                        0x81, 0x24, 0x24, 0xff, 0xfe, 0xfb, 0xff, 0x9d, 0x40, 0xf4 };

Test(bt_inline, popf_changing_ac_or_tf_goes_through_the_vmm)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_popf_ac, sizeof(code_popf_ac));
    bt_pair_run(&p, LONG);
    compare(&p);
    cr_assert_eq(p.hb->v->eflags & (F_AC | F_TF), 0);
    flag_exits_eq(p.hi, 4);
    flag_exits_eq(p.hb, 2); /* the two POPFDs */
    /* Each of them ended its block: the interpreter's handler ran and the
     * rest started from the dispatcher. */
    cr_assert_geq(bt_pair_stats(&p).dispatches, 3);
    /* Stopping right after the first POPFD: the same state. */
    struct pair q;
    bt_pair_setup(&q, H_PROT32, code_popf_ac, sizeof(code_popf_ac));
    bt_pair_run(&q, 3);
    compare(&q);
    cr_assert_eq(q.hb->v->eflags & (F_AC | F_TF), F_AC | F_TF);
    bt_pair_free(&q);
    bt_pair_free(&p);
}

/* inc eax; cli; inc eax; hlt */
static const uint8_t code_cpl3[] = { 0x40, 0xfa, 0x40, 0xf4 };

Test(bt_inline, cli_at_cpl3_keeps_the_vmm_call_and_its_gp)
{
    struct pair p;
    bt_pair_setup(&p, H_USER32, code_cpl3, sizeof(code_cpl3));
    bt_pair_run(&p, LONG);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->exceptions[EXC_GP], 1);
    cr_assert_eq(v->eip, harness_stub_end(EXC_GP));
    cr_assert_eq(harness_stack(p.hb, 0), 0);                /* error code */
    cr_assert_eq(harness_stack(p.hb, 1), HARNESS_CODE + 1); /* the CLI */
    cr_assert_eq(bt_pair_stats(&p).sensitive_native, 0);
    flag_exits_eq(p.hb, 1);
    bt_pair_free(&p);
}

/* mov eax, cr0; mov ebx, cr2; mov ecx, cr3; mov edx, cr4; mov edi, cr0; hlt */
static const uint8_t code_rdcr[] = { 0x0f, 0x20, 0xc0, 0x0f, 0x20, 0xd3, 0x0f, 0x20,
                                     0xd9, 0x0f, 0x20, 0xe2, 0x0f, 0x20, 0xc7, 0xf4 };

Test(bt_inline, mov_from_cr_reads_the_vcpu)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_rdcr, sizeof(code_rdcr));
    struct harness *hs[2] = { p.hi, p.hb };
    for (int k = 0; k < 2; k++) {
        hs[k]->v->cr2 = 0xdeadb000u;
        hs[k]->v->cr3 = 0x30000u;
        hs[k]->v->cr4 = 0x10u;
    }
    bt_pair_run(&p, LONG);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], v->cr0);
    cr_assert_eq(v->r[R_EDI], v->cr0);
    cr_assert_eq(v->r[R_EBX], 0xdeadb000u);
    cr_assert_eq(v->r[R_ECX], 0x30000u);
    cr_assert_eq(v->r[R_EDX], 0x10u);
    cr_assert_eq(p.hi->v->exits[EXIT_CR_ACCESS], 5);
    cr_assert_eq(v->exits[EXIT_CR_ACCESS], 0);
    bt_pair_free(&p);
}

/* cmp eax, ebx; mov esp, 0x50000; popfd; hlt */
static const uint8_t code_popf_pf[] = { 0x39, 0xd8, 0xbc, 0x00, 0x00, 0x05, 0x00, 0x9d, 0xf4 };

Test(bt_inline, popf_page_fault_pushes_the_exact_flags)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_popf_pf, sizeof(code_popf_pf));
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    struct vcpu *v = p.hb->v;
    uint32_t a = v->r[R_EAX], b = v->r[R_EBX];
    bt_pair_run(&p, LONG);
    compare(&p);
    cr_assert_eq(v->exceptions[EXC_PF], 1);
    cr_assert_eq(v->cr2, 0x50000u);
    cr_assert_eq(harness_stack(p.hb, 1), HARNESS_CODE + 7);  /* the POPFD */
    cr_assert_eq(harness_stack(p.hb, 3) & F_CF, a < b ? F_CF : 0); /* EFLAGS of the CMP */
    cr_assert_eq(harness_stack(p.hb, 3) & F_ZF, a == b ? F_ZF : 0);
    bt_pair_free(&p);
}

/* cmp eax, ebx; pushfd; pushfd; hlt: the first PUSHFD misses the (flushed)
 * TLB and runs through the VMM, the second is inline. */
static const uint8_t code_pushf_miss[] = { 0x39, 0xd8, 0x9c, 0x9c, 0xf4 };

Test(bt_inline, pushf_tlb_miss_takes_the_vmm_with_exact_flags)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_pushf_miss, sizeof(code_pushf_miss));
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    bt_pair_run(&p, LONG);
    compare(&p);
    struct vcpu *v = p.hb->v;
    uint32_t first = harness_read32(p.hb, HARNESS_STACK - 4), second = harness_read32(p.hb, HARNESS_STACK - 8);
    cr_assert_eq(first, second);
    cr_assert_eq(first & F_ARITH, v->eflags & F_ARITH);
    flag_exits_eq(p.hi, 2);
    flag_exits_eq(p.hb, 1);
    bt_pair_free(&p);
}

/* xor eax, eax; cpuid; mov esi, eax; pushfd; push 8; push 0x1000f; iretd;
 * (0x1000f:) int 0x40; hlt — CPUID, IRET and INT from translated code
 * through vmm_call (its direct, libffi-free path: no observer), counted
 * exactly as under the interpreter. */
static const uint8_t code_direct[] = { 0x31, 0xc0, 0x0f, 0xa2, 0x89, 0xc6, 0x9c, 0x6a, 0x08,
                                       0x68, 0x0f, 0x00, 0x01, 0x00, 0xcf, 0xcd, 0x40, 0xf4 };

Test(bt_inline, direct_vmm_entries_are_counted_as_vmm_call_counts_them)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_direct, sizeof(code_direct));
    bt_pair_run(&p, LONG);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->eip, harness_stub_end(0x40));
    cr_assert_eq(harness_stack(p.hb, 0), HARNESS_CODE + 17); /* after the INT */
    cr_assert_eq(v->r[R_ESI], p.hi->v->r[R_ESI]);
    /* (except the PUSHFD's: inline in translated code) */
    for (int r = 0; r < EXIT_COUNT; r++)
        if (r != EXIT_BT_FLAGS)
            cr_assert_eq(v->exits[r], p.hi->v->exits[r], "exits[%d]: interp %lu, bt %lu", r,
                         (unsigned long)p.hi->v->exits[r], (unsigned long)v->exits[r]);
    cr_assert_eq(p.hi->v->exits[EXIT_BT_FLAGS], 1);
    cr_assert_eq(v->exits[EXIT_BT_FLAGS], 0);
    cr_assert_eq(v->exits[EXIT_CPUID], 1);
    cr_assert_eq(v->exits[EXIT_BT_INT], 2); /* the IRET and the INT */
    bt_pair_free(&p);
}

/* cli; sti; pushfd; popfd; mov eax, cr0; hlt */
static const uint8_t code_observed[] = { 0xfa, 0xfb, 0x9c, 0x9d, 0x0f, 0x20, 0xc0, 0xf4 };

Test(bt_inline, nothing_is_inline_under_an_observer)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_observed, sizeof(code_observed));
    p.hi->v->obs = vmm_obs_new(false, NULL, stderr);
    p.hb->v->obs = vmm_obs_new(false, NULL, stderr);
    cr_assert(p.hi->v->obs && p.hb->v->obs);
    bt_pair_run(&p, LONG);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(bt_pair_stats(&p).sensitive_native, 0);
    /* CLI, STI, POPFD, MOV from CR0, HLT translated as VMM calls (the
     * PUSHFD runs alone in STI's shadow, through the interpreter path). */
    cr_assert_eq(bt_pair_stats(&p).sensitive_called, 5, "%lu", (unsigned long)bt_pair_stats(&p).sensitive_called);
    flag_exits_eq(p.hb, 4);
    cr_assert_eq(v->exits[EXIT_CR_ACCESS], 1);
    for (int r = 0; r < EXIT_COUNT; r++) cr_assert_eq(v->exits[r], p.hi->v->exits[r], "exits[%d]", r);
    vmm_obs_free(p.hi->v->obs);
    vmm_obs_free(p.hb->v->obs);
    p.hi->v->obs = p.hb->v->obs = NULL;
    bt_pair_free(&p);
}

/* push 2; popfd; hlt — POPF clearing IF (and every arithmetic flag) inline. */
static const uint8_t code_popf_cli[] = { 0x6a, 0x02, 0x9d, 0xf4 };

Test(bt_inline, popf_clearing_if_is_inline)
{
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code_popf_cli, sizeof(code_popf_cli));
    p.hi->v->eflags |= F_IF | F_OF | F_ZF;
    p.hb->v->eflags |= F_IF | F_OF | F_ZF;
    bt_pair_run(&p, LONG);
    compare(&p);
    cr_assert_eq(p.hb->v->eflags, F_FIXED1);
    cr_assert_eq(p.hb->v->stop, STOP_HALT_FOREVER);
    cr_assert_eq(p.hb->v->r[R_ESP], HARNESS_STACK);
    flag_exits_eq(p.hi, 1);
    /* The PUSH filled the TLB entry the POPFD uses: no VMM entry. */
    flag_exits_eq(p.hb, 0);
    bt_pair_free(&p);
}

/* RDTSC at CPL 0 is a direct C call (bt_rdtsc) from translated code, with
 * v->icount made exact first: without a board the TSC is the instruction
 * count, so each value read is the index of its RDTSC — in a block, in an
 * in-block loop and in the second part of a merged TB.
 *   cmp eax, ebx ; rdtsc ; mov esi, eax ; pushfd ; mov ecx, 3
 *   top: rdtsc ; add edi, eax ; dec ecx ; jnz top
 *   jmp fwd ; fwd: nop ; rdtsc ; hlt */
static const uint8_t code_rdtsc[] = { 0x39, 0xd8, 0x0f, 0x31, 0x89, 0xc6, 0x9c, 0xb9, 0x03, 0x00, 0x00, 0x00, 0x0f,
                                      0x31, 0x01, 0xc7, 0x49, 0x75, 0xf9, 0xeb, 0x00, 0x90, 0x0f, 0x31, 0xf4 };

Test(bt_inline, rdtsc_at_cpl0_is_a_direct_call_with_the_exact_count)
{
    static const uint64_t steps[] = { 1, 2, 3, 5, 7, 13, 40, LONG };
    for (unsigned si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
        uint64_t step = steps[si];
        struct pair p;
        bt_pair_setup(&p, H_PROT32, code_rdtsc, sizeof(code_rdtsc));
        struct vcpu *v = p.hb->v;
        uint32_t edi0 = v->r[R_EDI], a = v->r[R_EAX], b = v->r[R_EBX];
        for (int i = 0; i < 100 && !v->halted; i++) {
            bt_pair_run(&p, step);
            compare(&p);
        }
        cr_assert(v->halted);
        cr_assert_eq(v->r[R_ESI], 1);                 /* the first RDTSC is instruction 1 */
        cr_assert_eq(v->r[R_EDI], edi0 + 5 + 9 + 13); /* the loop's, 5 9 13 */
        cr_assert_eq(v->r[R_EAX], 19);
        cr_assert_eq(v->r[R_EDX], 0);
        uint32_t d = a - b, pushed = harness_stack(p.hb, 0) & (F_ZF | F_SF | F_CF);
        cr_assert_eq(pushed, (d == 0 ? F_ZF : 0) | (d >> 31 ? F_SF : 0) | (a < b ? F_CF : 0),
                     "the CMP's flags survive the call: %#x", pushed);
        cr_assert_eq(p.hi->v->exits[EXIT_RDTSC], 5);
        if (step == LONG) {
            cr_assert_eq(v->exits[EXIT_RDTSC], 0);
            cr_assert_eq(bt_pair_stats(&p).sensitive_called, 1); /* the HLT */
        }
        bt_pair_free(&p);
    }
}

/* mov ecx, 2 ; 1: rdtsc ; dec ecx ; jnz 1b ; hlt — at CPL 3 RDTSC stays a VMM
 * call (CR4.TSD may make it #GP there, and the TB key does not hold CR4). */
static const uint8_t code_rdtsc3[] = { 0xb9, 0x02, 0x00, 0x00, 0x00, 0x0f, 0x31, 0x49, 0x75, 0xfb, 0xf4 };

Test(bt_inline, rdtsc_at_cpl3_stays_a_vmm_call)
{
    struct pair p;
    bt_pair_setup(&p, H_USER32, code_rdtsc3, sizeof(code_rdtsc3));
    bt_pair_run(&p, LONG);
    compare(&p);
    cr_assert_eq(p.hb->v->exits[EXIT_RDTSC], 2);
    cr_assert_eq(bt_pair_stats(&p).sensitive_native, 0);
    bt_pair_free(&p);
}
