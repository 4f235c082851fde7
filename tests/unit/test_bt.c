/* The binary translator (translator/): differential tests against the
 * interpreter. Each test loads the same code and state into two harness
 * machines, runs one with cpu_run and the other with bt_run, and requires
 * identical registers, EIP, flags, instruction count, exception counters and
 * memory; then checks what the test is about (chaining, faults inside a
 * translated block, self-modifying code, interrupts reaching a chained loop,
 * code cache flushes, exact instruction limits). The code snippets are
 * assembled for address HARNESS_CODE (GNU as --32, Intel syntax; the source
 * is in the comment above each array). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/decode_cache.h"
#include "cpu/interp.h"
#include "cpu/segment.h"
#include "bt_pair.h"
#include "harness.h"
#include "memory/tlb.h"
#include "translator/bt.h"
#include "translator/bt_internal.h"

/* clang-format off */
static const uint8_t code_alu[] = {
  0xb8, 0x78, 0x56, 0x34, 0x12, 0xbb, 0x00, 0x00, 0x02, 0x00, 0xb9, 0x07,
  0x00, 0x00, 0x00, 0x01, 0xc8, 0x11, 0x03, 0x80, 0x6b, 0x04, 0x80, 0x66,
  0x1b, 0x43, 0x08, 0x81, 0x63, 0x0c, 0x00, 0xff, 0x00, 0xff, 0x08, 0xe1,
  0x31, 0xd2, 0x3b, 0x03, 0x0f, 0x92, 0xc2, 0xf6, 0x43, 0x01, 0x10, 0x0f,
  0x95, 0xc6, 0xff, 0x43, 0x10, 0x66, 0x4e, 0xf7, 0xdf, 0x66, 0xf7, 0x53,
  0x14, 0xc1, 0xe0, 0x03, 0xd1, 0x6b, 0x18, 0xd2, 0xf9, 0xd1, 0xd0, 0xd3,
  0xda, 0x0f, 0xaf, 0xf7, 0x6b, 0x2d, 0x20, 0x00, 0x02, 0x00, 0xf9, 0x66,
  0x69, 0xc9, 0x2c, 0x01, 0x0f, 0xb6, 0x3d, 0x01, 0x00, 0x02, 0x00, 0x0f,
  0xbf, 0x2d, 0x02, 0x00, 0x02, 0x00, 0x0f, 0xbe, 0xc7, 0x8d, 0xb4, 0xa8,
  0x00, 0x01, 0x00, 0x00, 0x0f, 0x44, 0xc6, 0x0f, 0x45, 0x0d, 0x04, 0x00,
  0x02, 0x00, 0x92, 0x86, 0xfb, 0x99, 0x98, 0x50, 0x68, 0x34, 0x12, 0x00,
  0x00, 0x5b, 0x59, 0x54, 0x5a, 0x66, 0x89, 0x15, 0x40, 0x00, 0x02, 0x00,
  0x88, 0x25, 0x42, 0x00, 0x02, 0x00, 0xc6, 0x05, 0x43, 0x00, 0x02, 0x00,
  0x5a, 0x00, 0x0d, 0x44, 0x00, 0x02, 0x00, 0x66, 0x35, 0x01, 0x80, 0x04,
  0x7f, 0x2b, 0x35, 0x08, 0x00, 0x02, 0x00, 0x66, 0x19, 0x35, 0x0c, 0x00,
  0x02, 0x00, 0x66, 0xc1, 0x05, 0x10, 0x00, 0x02, 0x00, 0x09, 0xc1, 0xc9,
  0x1f, 0xd2, 0x25, 0x14, 0x00, 0x02, 0x00, 0x85, 0xfe, 0x0f, 0x94, 0xc3,
  0xfe, 0x0d, 0x15, 0x00, 0x02, 0x00, 0x66, 0xf7, 0x1d, 0x16, 0x00, 0x02,
  0x00, 0xc1, 0x3d, 0x18, 0x00, 0x02, 0x00, 0x04, 0x80, 0x3d, 0x19, 0x00,
  0x02, 0x00, 0x33, 0xf4
};
static const uint8_t code_calls[] = {
  0x31, 0xf6, 0xe8, 0x3b, 0x00, 0x00, 0x00, 0xb8, 0x44, 0x00, 0x01, 0x00,
  0x6a, 0x05, 0xff, 0xd0, 0xc7, 0x05, 0x00, 0x01, 0x02, 0x00, 0x4a, 0x00,
  0x01, 0x00, 0xff, 0x15, 0x00, 0x01, 0x02, 0x00, 0xb9, 0x39, 0x00, 0x01,
  0x00, 0x51, 0xc7, 0x05, 0x04, 0x01, 0x02, 0x00, 0x36, 0x00, 0x01, 0x00,
  0xff, 0x25, 0x04, 0x01, 0x02, 0x00, 0xff, 0xe1, 0xf4, 0x5a, 0x81, 0xc6,
  0xe8, 0x03, 0x00, 0x00, 0xeb, 0x0c, 0x46, 0xc3, 0x83, 0xc6, 0x0a, 0xc2,
  0x04, 0x00, 0x83, 0xc6, 0x64, 0xc3, 0x89, 0xe5, 0x68, 0x44, 0x33, 0x22,
  0x11, 0x58, 0xf4
};
static const uint8_t code_loop[] = {
  0xb9, 0xe8, 0x03, 0x00, 0x00, 0x31, 0xc0, 0xbe, 0x00, 0x00, 0x02, 0x00,
  0x03, 0x04, 0x8e, 0x83, 0xd2, 0x00, 0xd1, 0xc0, 0x49, 0x75, 0xf5, 0xf4
};
static const uint8_t code_smc[] = {
  0xc6, 0x05, 0x08, 0x00, 0x01, 0x00, 0x42, 0xb0, 0x11, 0xb9, 0x64, 0x00,
  0x00, 0x00, 0x31, 0xd2, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x01, 0xc2, 0x83,
  0xf9, 0x32, 0x75, 0x0a, 0xc7, 0x05, 0x11, 0x00, 0x01, 0x00, 0x02, 0x00,
  0x00, 0x00, 0x49, 0x75, 0xe7, 0xf4
};
static const uint8_t code_pf[] = {
  0xb8, 0x01, 0x00, 0x00, 0x00, 0xbb, 0x02, 0x00, 0x00, 0x00, 0x01, 0xd9,
  0x39, 0xd8, 0x8b, 0x15, 0x10, 0x00, 0x05, 0x00, 0x40, 0xf4
};
static const uint8_t code_pfw[] = {
  0xb8, 0x03, 0x00, 0x00, 0x00, 0x50, 0x29, 0xc1, 0xa3, 0xfe, 0x0f, 0x05,
  0x00, 0x40, 0xf4
};
static const uint8_t code_de[] = {
  0xb8, 0x05, 0x00, 0x00, 0x00, 0x01, 0xc3, 0x31, 0xc9, 0x83, 0xf8, 0x07,
  0xf7, 0xf1, 0x40, 0xf4
};
static const uint8_t code_spin[] = {
  0x40, 0x01, 0xc3, 0xeb, 0xfb
};

/* cr3: mov ebx, 0x400000; call ebx; mov esi, eax; mov ecx, 0x32000; mov cr3, ecx;
 * push eax; pop eax (refills the stack TLB entry, so the CALL below stays in
 * translated code); call ebx; mov edi, eax; mov ecx, 0x30000; mov cr3, ecx;
 * push eax; pop eax; call ebx; mov ebp, eax; hlt */
static const uint8_t code_cr3[] = {
  0xbb, 0x00, 0x00, 0x40, 0x00, 0xff, 0xd3, 0x89, 0xc6, 0xb9, 0x00, 0x20,
  0x03, 0x00, 0x0f, 0x22, 0xd9, 0x50, 0x58, 0xff, 0xd3, 0x89, 0xc7, 0xb9,
  0x00, 0x00, 0x03, 0x00, 0x0f, 0x22, 0xd9, 0x50, 0x58, 0xff, 0xd3, 0x89,
  0xc5, 0xf4
};
/* clang-format on */


static uint32_t seed_state = 12345;
static uint32_t rnd(void)
{
    seed_state = seed_state * 1103515245u + 12345u;
    return (seed_state >> 8) ^ (seed_state << 20);
}

/* Same code, registers, flags and data in both machines. */
static void pair_init(struct pair *p, enum harness_mode mode, const uint8_t *code, size_t len)
{
    bt_pair_setup(p, mode, code, len);
    seed_state = 12345;
    uint8_t data[0x200];
    for (size_t i = 0; i < sizeof(data); i++) data[i] = (uint8_t)rnd();
    harness_poke(p->hi, HARNESS_DATA, data, sizeof(data));
    harness_poke(p->hb, HARNESS_DATA, data, sizeof(data));
}

/* Everything architectural the snippets can touch. */
static void compare(struct pair *p)
{
    bt_pair_compare_state(p);
    bt_pair_compare_range(p, HARNESS_DATA, 0x1000);
    bt_pair_compare_range(p, HARNESS_STACK - 0x100, 0x200);
    bt_pair_compare_range(p, HARNESS_STACK0 - 0x100, 0x100);
    bt_pair_compare_range(p, HARNESS_CODE, 0x100);
}

Test(bt, alu_mov_flags_all_forms)
{
    struct pair p;
    pair_init(&p, H_PROT32, code_alu, sizeof(code_alu));
    bt_pair_run(&p, 100000);
    compare(&p);
    cr_assert_eq(p.hb->v->stop, STOP_HALT_FOREVER);
    cr_assert_eq(p.hb->v->eip, HARNESS_CODE + sizeof(code_alu));
    struct bt_stats s = bt_pair_stats(&p);
    cr_assert_gt(s.native, 40, "most of the snippet should be native (%lu)", (unsigned long)s.native);
    bt_pair_free(&p);
}

Test(bt, alu_user_mode)
{
    struct pair p;
    pair_init(&p, H_USER32, code_alu, sizeof(code_alu));
    bt_pair_run(&p, 100000);
    compare(&p);
    /* HLT at CPL 3 is #GP(0): both went to the stub. */
    cr_assert_eq(p.hb->v->exceptions[EXC_GP], 1);
    bt_pair_free(&p);
}

Test(bt, calls_returns_indirect_jumps)
{
    struct pair p;
    pair_init(&p, H_PROT32, code_calls, sizeof(code_calls));
    bt_pair_run(&p, 100000);
    compare(&p);
    cr_assert_eq(p.hb->v->r[R_ESI], 1111);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x11223344);
    cr_assert_eq(p.hb->v->r[R_EBP], HARNESS_STACK);
    bt_pair_free(&p);
}

Test(bt, hot_loop_is_chained)
{
    struct pair p;
    pair_init(&p, H_PROT32, code_loop, sizeof(code_loop));
    bt_pair_run(&p, 1000000);
    compare(&p);
    struct bt_stats s = bt_pair_stats(&p);
    cr_assert_geq(s.chains, 1);
    cr_assert_lt(s.dispatches, 20, "the loop should not return to the dispatcher (%lu)", (unsigned long)s.dispatches);
    cr_assert_eq(p.hb->v->icount, 3 + 5 * 1000 + 1);
    bt_pair_free(&p);
}

Test(bt, exact_instruction_limit)
{
    struct pair p;
    pair_init(&p, H_PROT32, code_loop, sizeof(code_loop));
    /* Uneven steps that end inside blocks. */
    uint64_t steps[] = { 1, 2, 7, 1234, 3, 64, 65, 1, 999 };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        bt_pair_run(&p, steps[i]);
        cr_assert_eq(p.hb->v->stop, STOP_INSN_LIMIT);
        compare(&p);
    }
    bt_pair_run(&p, 0);
    compare(&p);
    bt_pair_free(&p);
}

Test(bt, page_fault_on_load_inside_block)
{
    struct pair p;
    pair_init(&p, H_PROT32, code_pf, sizeof(code_pf));
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    bt_pair_run(&p, 100000);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->exceptions[EXC_PF], 1);
    cr_assert_eq(v->eip, harness_stub_end(EXC_PF));
    cr_assert_eq(v->cr2, 0x50010);
    cr_assert_eq(harness_stack(p.hb, 0), 0);                 /* error code: read, not present */
    cr_assert_eq(harness_stack(p.hb, 1), HARNESS_CODE + 14); /* the faulting MOV */
    cr_assert_eq(v->r[R_EAX], 1);                            /* INC not executed */
    cr_assert_eq(v->icount, 4 + 1);                          /* 4 retired + HLT in the stub */
    /* The pushed EFLAGS hold CMP 1,2's flags (CF SF AF PF set). */
    cr_assert_eq(harness_stack(p.hb, 3) & F_ARITH, F_CF | F_SF | F_AF | F_PF);
    bt_pair_free(&p);
}

Test(bt, page_fault_on_store_inside_block)
{
    struct pair p;
    pair_init(&p, H_PROT32, code_pfw, sizeof(code_pfw));
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    bt_pair_run(&p, 100000);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->exceptions[EXC_PF], 1);
    cr_assert_eq(v->cr2, 0x50ffe);
    cr_assert_eq(harness_stack(p.hb, 0), 2);                /* write, not present */
    cr_assert_eq(harness_stack(p.hb, 1), HARNESS_CODE + 8); /* the faulting MOV */
    /* Nothing of the 4-byte store reached the present page 0x51000. */
    cr_assert_eq(harness_read32(p.hb, 0x51000), harness_read32(p.hi, 0x51000));
    bt_pair_free(&p);
}

/* Two address spaces: the low 4 MiB identity-mapped in both, linear 0x400000
 * mapped to physical 0x60000 (PD 0x30000) or 0x61000 (PD 0x32000). */
static void two_address_spaces(struct harness *h)
{
    static const uint8_t f1[] = { 0xb8, 1, 0, 0, 0, 0xc3 }; /* mov eax, 1; ret */
    static const uint8_t f2[] = { 0xb8, 2, 0, 0, 0, 0xc3 }; /* mov eax, 2; ret */
    harness_identity_paging(h, 3, 0x50);
    harness_write32(h, 0x30004, 0x33000 | 3);
    harness_write32(h, 0x32000, 0x31000 | 3);
    harness_write32(h, 0x32004, 0x34000 | 3);
    harness_write32(h, 0x33000, 0x60000 | 3);
    harness_write32(h, 0x34000, 0x61000 | 3);
    harness_poke(h, 0x60000, f1, sizeof(f1));
    harness_poke(h, 0x61000, f2, sizeof(f2));
}

Test(bt, cr3_switch_drops_stale_jump_targets)
{
    struct pair p;
    pair_init(&p, H_PROT32, code_cr3, sizeof(code_cr3));
    two_address_spaces(p.hi);
    two_address_spaces(p.hb);
    bt_pair_run(&p, 100000);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_ESI], 1);
    cr_assert_eq(v->r[R_EDI], 2);
    cr_assert_eq(v->r[R_EBP], 1);
    bt_pair_free(&p);
}

Test(bt, divide_error_inside_block)
{
    struct pair p;
    pair_init(&p, H_PROT32, code_de, sizeof(code_de));
    bt_pair_run(&p, 100000);
    compare(&p);
    cr_assert_eq(p.hb->v->exceptions[EXC_DE], 1);
    cr_assert_eq(harness_stack(p.hb, 0), HARNESS_CODE + 12); /* the DIV */
    bt_pair_free(&p);
}

Test(bt, self_modifying_code)
{
    struct pair p;
    pair_init(&p, H_PROT32, code_smc, sizeof(code_smc));
    bt_pair_run(&p, 100000);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX] & 0xff, 2);  /* last MOV EAX was the patched one */
    cr_assert_eq(v->r[R_EDX], 51 + 2 * 49); /* 51 iterations before the patch took effect */
    cr_assert_geq(bt_pair_stats(&p).invalidated, 2);
    bt_pair_free(&p);
}

Test(bt, self_modifying_next_instruction)
{
    /* mov byte [L+1], 0x42 ; L: mov al, 0x11 ; hlt: the first store patches
     * the very next instruction of the same translated block. */
    static const uint8_t code[] = { 0xc6, 0x05, 0x08, 0x00, 0x01, 0x00, 0x42, 0xb0, 0x11, 0xf4 };
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, 100);
    compare(&p);
    cr_assert_eq(p.hb->v->r[R_EAX] & 0xff, 0x42);
    bt_pair_free(&p);
}

Test(bt, decode_cache_flush_drops_translations)
{
    /* 10000: call f ; hlt
     * 10006: mov byte [f+1], 2 ; call f ; hlt
     * 11100: f: mov eax, 1 ; ret         (a page of its own)
     * Between the two runs the decode cache is flushed (as at its size limit):
     * f's page is no longer marked as code, so the store that patches f does
     * not go through the code-write hook; f must still be retranslated. */
    static uint8_t code[0x1106];
    memset(code, 0x90, sizeof(code));
    const uint8_t first[] = { 0xe8, 0xfb, 0x10, 0x00, 0x00, 0xf4 };
    const uint8_t second[] = { 0xc6, 0x05, 0x01, 0x11, 0x01, 0x00, 0x02, 0xe8, 0xee, 0x10, 0x00, 0x00, 0xf4 };
    const uint8_t f[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3 };
    memcpy(code, first, sizeof(first));
    memcpy(code + 6, second, sizeof(second));
    memcpy(code + 0x1100, f, sizeof(f));
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, 1000);
    compare(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], 1);
    struct harness *hs[2] = { p.hi, p.hb };
    for (int k = 0; k < 2; k++) {
        dcache_flush(hs[k]->m.dcache);
        hs[k]->v->halted = 0;
        hs[k]->v->eip = HARNESS_CODE + 6;
    }
    bt_pair_run(&p, 1000);
    compare(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], 2);
    bt_pair_free(&p);
}

Test(bt, an_indirect_call_reaches_the_rewritten_function)
{
    /* 10000: mov ebx, f; mov ecx, 100; xor edx, edx
     *     1: call ebx ; add edx, eax ; cmp ecx, 50 ; jne 2f
     *        mov byte [f+1], 2
     *     2: dec ecx ; jnz 1b ; hlt
     * 11100: f: mov eax, 1 ; ret          (a page of its own)
     * CALL EBX looks f up in the jump cache from translated code (ijc_ent,
     * a copy of the TB's key and entry): the store that patches f must
     * empty that slot, or the next 49 calls run f's old translation. (A
     * far limit: near one, every TB runs alone from the dispatcher.) */
    static uint8_t code[0x1106];
    memset(code, 0x90, sizeof(code));
    const uint8_t loop[] = { 0xbb, 0x00, 0x11, 0x01, 0x00, 0xb9, 0x64, 0x00, 0x00, 0x00, 0x31, 0xd2,
                             0xff, 0xd3, 0x01, 0xc2, 0x83, 0xf9, 0x32, 0x75, 0x07, 0xc6, 0x05, 0x01,
                             0x11, 0x01, 0x00, 0x02, 0x49, 0x75, 0xed, 0xf4 };
    const uint8_t f[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3 };
    memcpy(code, loop, sizeof(loop));
    memcpy(code + 0x1100, f, sizeof(f));
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, 10000000);
    compare(&p);
    cr_assert_eq(p.hb->v->r[R_EDX], 51 * 1 + 49 * 2);
    cr_assert_eq(p.hb->v->r[R_ECX], 0);
    cr_assert_geq(bt_pair_stats(&p).invalidated, 1);
    bt_pair_free(&p);
}

/* --- regressions found by the lockstep fuzzer (tests/fuzz) --- */

/* The translator's two ways to keep them: the host's IMUL alone where the
 * host keeps them too (AMD's), or its CF/OF merged into the old flags
 * (BT86_BT_NO_HOST_MUL=1, what Intel hosts get); each run on every host. */
static void imul_keeps_szap(bool merge)
{
    if (merge) setenv("BT86_BT_NO_HOST_MUL", "1", 1);
    /* cmp eax, ebx ; imul ecx, edx ; pushfd ; imul esi, edi, 3 ; mov edx, [0x50010] (#PF) */
    static const uint8_t code[] = { 0x39, 0xd8, 0x0f, 0xaf, 0xca, 0x9c, 0x6b, 0xf7, 0x03,
                                    0x8b, 0x15, 0x10, 0x00, 0x05, 0x00, 0xf4 };
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    bt_pair_run(&p, 1000);
    compare(&p); /* the PUSHFD image and the #PF frame's EFLAGS included */
    cr_assert_eq(p.hb->v->exceptions[EXC_PF], 1);
    bt_pair_free(&p);
    unsetenv("BT86_BT_NO_HOST_MUL");
}

Test(bt, imul_leaves_sf_zf_af_pf_as_the_interpreter_does) { imul_keeps_szap(false); }
Test(bt, imul_leaves_sf_zf_af_pf_when_merging_host_cf_of) { imul_keeps_szap(true); }

/* cmp eax, ebx ; mov ecx, [0x20000] ; mov edx, [0x50010] (#PF) ; cmp eax, ecx:
 * the loads' TLB probes clobber RFLAGS while the guest flags are dead (the
 * last CMP rewrites them), yet the fault must push CMP 1's flags. With warm,
 * a first block (mov ecx, [0x20000] ; jmp +0) fills the TLB so that the first
 * load of the second block takes the fast path; without, it takes the slow
 * path (the stash must then be written there). */
static void dead_flags_fault(bool warm)
{
    static const uint8_t body[] = { 0x39, 0xd8, 0x8b, 0x0d, 0x00, 0x00, 0x02, 0x00, 0x8b, 0x15,
                                    0x10, 0x00, 0x05, 0x00, 0x39, 0xc8, 0xf4 };
    static const uint8_t warmup[] = { 0x8b, 0x0d, 0x00, 0x00, 0x02, 0x00, 0xeb, 0x00 };
    uint8_t code[sizeof(warmup) + sizeof(body)];
    size_t n = 0;
    if (warm) {
        memcpy(code, warmup, sizeof(warmup));
        n = sizeof(warmup);
    }
    memcpy(code + n, body, sizeof(body));
    n += sizeof(body);
    struct pair p;
    pair_init(&p, H_PROT32, code, n);
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    p.hi->v->r[R_EAX] = p.hb->v->r[R_EAX] = 1;
    p.hi->v->r[R_EBX] = p.hb->v->r[R_EBX] = 2;
    bt_pair_run(&p, 1000);
    compare(&p);
    cr_assert_eq(p.hb->v->exceptions[EXC_PF], 1);
    cr_assert_eq(harness_stack(p.hb, 1), HARNESS_CODE + (warm ? sizeof(warmup) : 0) + 8);
    cr_assert_eq(harness_stack(p.hb, 3) & F_ARITH, F_CF | F_SF | F_AF | F_PF);
    bt_pair_free(&p);
}

Test(bt, flags_exact_at_a_fault_after_a_dead_flags_access) { dead_flags_fault(true); }
Test(bt, flags_exact_at_a_fault_after_a_dead_flags_slow_access) { dead_flags_fault(false); }

Test(bt, flags_restored_at_an_indirect_exit)
{
    /* mov edi, 0x10100 ; cmp eax, ebx ; mov ecx, [0x20000] ; inc edx ; jmp edi
     * 10100: setc bl ; hlt
     * The load's probe stashes the flags (nothing in the block reads them); the
     * exit merges INC's flags with the stash (CF from the CMP) without
     * disturbing the jump target. */
    static uint8_t code[0x104];
    memset(code, 0x90, sizeof(code));
    const uint8_t body[] = { 0xbf, 0x00, 0x01, 0x01, 0x00, 0x39, 0xd8, 0x8b, 0x0d, 0x00,
                             0x00, 0x02, 0x00, 0x42, 0xff, 0xe7 };
    const uint8_t tail[] = { 0x0f, 0x92, 0xc3, 0xf4 };
    memcpy(code, body, sizeof(body));
    memcpy(code + 0x100, tail, sizeof(tail));
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    p.hi->v->r[R_EAX] = p.hb->v->r[R_EAX] = 1;
    p.hi->v->r[R_EBX] = p.hb->v->r[R_EBX] = 2;
    p.hi->v->eip = p.hb->v->eip = HARNESS_CODE;
    bt_pair_run(&p, 1000);
    compare(&p);
    cr_assert_eq(p.hb->v->eip, HARNESS_CODE + 0x104);
    cr_assert_eq(p.hb->v->r[R_EBX] & 0xff, 1); /* CF of CMP 1, 2 survived INC */
    bt_pair_free(&p);
}

Test(bt, sign_extensions_follow_the_operand_size)
{
    /* 66 98 (CBW) ; 98 (CWDE) ; 66 99 (CWD) ; 99 (CDQ) ; 66 67 64 98 (CBW, named
     * "cwde" by Capstone) ; mov al, 0x80 ; 66 98 ; hlt */
    static const uint8_t code[] = { 0x66, 0x98, 0x98, 0x66, 0x99, 0x99, 0x66, 0x67, 0x64, 0x98,
                                    0xb0, 0x80, 0x66, 0x98, 0xf4 };
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    p.hi->v->r[R_EAX] = p.hb->v->r[R_EAX] = 0x12345678;
    bt_pair_run(&p, 1000);
    compare(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], 0xff80);
    bt_pair_free(&p);
}

/* --- interrupts reaching a chained loop --- */

/* A spin loop of three instructions; the timer must reach it. */
static void spin_until_interrupt(const uint8_t *code, size_t len, struct bt_stats *st)
{
    struct pair p;
    pair_init(&p, H_PROT32, code, len);
    struct irq_board bi, bb;
    bt_pair_irq_loop(&p, &bi, &bb);
    bt_pair_run(&p, 10000000);
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->stop, STOP_HALT_FOREVER);
    cr_assert_eq(v->eip, harness_stub_end(0x40));
    cr_assert_eq(bb.acks, 1); /* the gate cleared IF: no second acknowledge */
    /* Taken at the first block boundary after the third poll. */
    cr_assert_geq(v->r[R_EAX], 3 * CPU_POLL_INTERVAL / 3 - 3);
    cr_assert_lt(v->r[R_EAX], 3 * CPU_POLL_INTERVAL / 3 + 3);
    *st = bt_pair_stats(&p);
    bt_pair_free(&p);
}

/* inc eax; inc ebx; jmp back: INC leaves CF alone, so no in-block loop
 * (gen_loop): the back edge is a chained exit into the prologue. */
Test(bt, interrupt_reaches_chained_loop)
{
    static const uint8_t code[] = { 0x40, 0x43, 0xeb, 0xfc };
    struct bt_stats st;
    spin_until_interrupt(code, sizeof(code), &st);
    cr_assert_gt(st.chains, 0);
    cr_assert_eq(st.loops, 0);
}

/* inc eax; add ebx, eax; jmp back: the ADD's flags can be recomputed, so
 * the back edge stays inside the block (gen_loop) and its budget check is
 * what lets the interrupt in. */
Test(bt, interrupt_reaches_inner_loop)
{
    struct bt_stats st;
    spin_until_interrupt(code_spin, sizeof(code_spin), &st);
    cr_assert_gt(st.loops, 0);
}

/* --- code cache flush --- */

Test(bt, code_cache_flush_when_full)
{
    /* 300 blocks "add eax, i; jmp next", run three times round a loop. */
    static uint8_t code[16 + 300 * 7 + 16];
    size_t n = 0;
    code[n++] = 0xb9; /* mov ecx, 3 */
    code[n++] = 3; code[n++] = 0; code[n++] = 0; code[n++] = 0;
    size_t top = n;
    for (int i = 0; i < 300; i++) {
        code[n++] = 0x05; /* add eax, imm32 */
        code[n++] = (uint8_t)i; code[n++] = (uint8_t)(i >> 8); code[n++] = 0; code[n++] = 0;
        code[n++] = 0xeb; code[n++] = 0x00; /* jmp next */
    }
    code[n++] = 0x49; /* dec ecx */
    code[n++] = 0x0f; code[n++] = 0x85; /* jnz top */
    int32_t rel = (int32_t)top - (int32_t)(n + 4);
    memcpy(&code[n], &rel, 4);
    n += 4;
    code[n++] = 0xf4;
    bt_set_cache_size(64 * 1024);
    struct pair p;
    pair_init(&p, H_PROT32, code, n);
    bt_pair_run(&p, 1000000);
    bt_set_cache_size(32u << 20);
    compare(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], p.hi->v->r[R_EAX]);
    cr_assert_geq(bt_pair_stats(&p).flushes, 2);
    bt_pair_free(&p);
}

Test(bt, sixteen_bit_code_runs_interpreted)
{
    /* mov ax, 0x1234 ; add ax, bx ; push ax ; pop cx ; hlt (16-bit) */
    static const uint8_t code[] = { 0xb8, 0x34, 0x12, 0x01, 0xd8, 0x50, 0x59, 0xf4 };
    struct pair p;
    pair_init(&p, H_PROT16, code, sizeof(code));
    p.hi->v->eip = p.hb->v->eip = 0;
    p.hi->v->seg[S_CS].base = p.hb->v->seg[S_CS].base = HARNESS_CODE;
    seg_cache_refresh(&p.hi->v->seg[S_CS], true);
    seg_cache_refresh(&p.hb->v->seg[S_CS], true);
    bt_pair_run(&p, 1000);
    compare(&p);
    cr_assert_eq(p.hb->v->r[R_ECX] & 0xffff, (0x1234 + p.hb->v->r[R_EBX]) & 0xffff);
    cr_assert_eq(bt_pair_stats(&p).tbs, 0);
    bt_pair_free(&p);
}

/* The guest remaps its own code page without flushing the TLB, then a data
 * access evicts the code page's TLB entry. Which translation a later fetch
 * uses is the implementation's choice on hardware; the interpreter (the
 * reference) keeps running a block it has in its jump cache through the old
 * translation and fetches a new block through the new one, and the
 * translator must choose the same (fuzz case 0x708add4fd6763e5d: a REP STOS
 * over the page tables).
 *   0x00: xor ebx, ebx; jmp L1
 *   0x40: L1: add ebx, 1; cmp ebx, 2; je done
 *             mov dword [0x31040], 0x60003   ; code page -> 0x60000, no INVLPG
 *             mov eax, [edi]                 ; EDI: same TLB slot as the code page
 *             jmp L1
 *   0x80: done: mov esi, 0x55; hlt
 * and at 0x60040: mov ebx, 0x99; hlt; at 0x60080: mov esi, 0x66; hlt. */
static void stale_code_mapping(struct harness *h)
{
    static const uint8_t new40[] = { 0xbb, 0x99, 0, 0, 0, 0xf4 }, new80[] = { 0xbe, 0x66, 0, 0, 0, 0xf4 };
    harness_identity_paging(h, 3, 0x50);
    /* PD[1]: a page table mapping every page of 4-8 MiB to the data page. */
    harness_write32(h, 0x30004, 0x35000 | 3);
    for (uint32_t i = 0; i < 1024; i++) harness_write32(h, 0x35000 + 4 * i, HARNESS_DATA | 3);
    harness_poke(h, 0x60040, new40, sizeof(new40));
    harness_poke(h, 0x60080, new80, sizeof(new80));
    /* A linear page in 4-8 MiB with the code page's TLB slot. */
    h->v->r[R_EDI] = 0x400000u + (((h->v->tlb.mask + 1) + (HARNESS_CODE >> 12)) & 0x3ffu) * 0x1000u;
}

Test(bt, stale_code_translation_follows_the_interpreter)
{
    uint8_t code[0x86] = { 0x31, 0xdb, 0xeb, 0x3c };
    static const uint8_t l1[] = { 0x83, 0xc3, 0x01, 0x83, 0xfb, 0x02, 0x74, 0x38, 0xc7, 0x05, 0x40, 0x10, 0x03,
                                  0x00, 0x03, 0x00, 0x06, 0x00, 0x8b, 0x07, 0xeb, 0xea };
    static const uint8_t done[] = { 0xbe, 0x55, 0, 0, 0, 0xf4 };
    memcpy(code + 0x40, l1, sizeof(l1));
    memcpy(code + 0x80, done, sizeof(done));
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    stale_code_mapping(p.hi);
    stale_code_mapping(p.hb);
    cr_assert_eq(tlb_slot(&p.hb->v->tlb, 0, p.hb->v->r[R_EDI]), tlb_slot(&p.hb->v->tlb, 0, HARNESS_CODE));
    bt_pair_run(&p, 1000);
    compare(&p);
    bt_pair_compare_range(&p, 0x31000, 0x100);
    cr_assert_eq(p.hb->v->r[R_EBX], 2);    /* L1 ran twice from the old page */
    cr_assert_eq(p.hb->v->r[R_ESI], 0x66); /* `done` came from the new one */
    bt_pair_free(&p);
}

/* One-operand MUL/IMUL run natively: CF and OF from the product, SF ZF AF PF
 * kept from before (as the interpreter does), also when a fault observes them.
 *   cmp eax, ebx ; mul ecx ; pushfd ; cmp esi, edi ; imul dword [0x20010] ;
 *   pushfd ; cmp edx, eax ; mul bl ; pushfd ; cmp ebp, ecx ; imul cx ; pushfd ;
 *   mov edx, [0x50010] (#PF) */
static void one_operand_mul(bool merge)
{
    if (merge) setenv("BT86_BT_NO_HOST_MUL", "1", 1);
    static const uint8_t code[] = { 0x39, 0xd8, 0xf7, 0xe1, 0x9c, 0x39, 0xfe, 0xf7, 0x2d, 0x10, 0x00, 0x02, 0x00,
                                    0x9c, 0x39, 0xc2, 0xf6, 0xe3, 0x9c, 0x39, 0xcd, 0x66, 0xf7, 0xe9, 0x9c,
                                    0x8b, 0x15, 0x10, 0x00, 0x05, 0x00, 0xf4 };
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    struct vcpu *v = p.hb->v;
    uint32_t a = v->r[R_EAX], b = v->r[R_EBX], c = v->r[R_ECX], d = a - b;
    bt_pair_run(&p, 1000);
    compare(&p); /* the PUSHFD images and the #PF frame's EFLAGS included */
    cr_assert_eq(v->exceptions[EXC_PF], 1);
    /* Only the HLTs (after the MOV, in the #PF stub) call the interpreter:
     * the PUSHFDs are inline at CPL 0 (adaptive translation). */
    cr_assert_eq(bt_pair_stats(&p).fallback, 2, "fallbacks %lu", (unsigned long)bt_pair_stats(&p).fallback);
    /* The first PUSHFD (4 pushes and the #PF frame above it): CMP's SF ZF AF PF, MUL's CF OF. */
    uint64_t prod = (uint64_t)a * c;
    uint32_t want = (d >> 31 ? F_SF : 0) | (d == 0 ? F_ZF : 0) | ((a ^ b ^ d) & 0x10 ? F_AF : 0) |
                    (__builtin_parity(d & 0xff) ? 0 : F_PF) | (prod >> 32 ? F_CF | F_OF : 0);
    uint32_t esp0 = HARNESS_STACK;
    cr_assert_eq(harness_read32(p.hb, esp0 - 4) & F_ARITH, want, "pushed %#x, want %#x",
                 harness_read32(p.hb, esp0 - 4) & F_ARITH, want);
    bt_pair_free(&p);
    unsetenv("BT86_BT_NO_HOST_MUL");
}

Test(bt, one_operand_mul_keeps_sf_zf_af_pf) { one_operand_mul(false); }
Test(bt, one_operand_mul_keeps_sf_zf_af_pf_when_merging_host_cf_of) { one_operand_mul(true); }

/* A memory operand with the address of the previous probe reuses it (no
 * second probe), unless it writes after a read probe, is wider, or a base
 * register changed; when the first access misses the TLB (cold, the first
 * pass) its fallback leaves the block, since the reusing instructions
 * count on the probe's registers. Exact limits at every few instructions.
 *   mov edi, 3
 *   top: mov [0x20100], eax ; add eax, ebx ; mov ecx, [0x20100] (reuse)
 *        mov esi, 0x20200 ; mov [esi+4], ecx ; add esi, 4
 *        mov edx, [esi] ; add edx, [esi] (reuse) ; mov [esi], ebp (write: probe)
 *        mov ebx, [esi] (reuse) ; mov [esi], bl (probe) ; movzx ebp, word [esi] (wider: probe)
 *        dec edi ; jnz top ; hlt */
static const uint8_t code_reuse[] = {
    0xbf, 0x03, 0x00, 0x00, 0x00, 0xa3, 0x00, 0x01, 0x02, 0x00, 0x01, 0xd8, 0x8b, 0x0d, 0x00, 0x01,
    0x02, 0x00, 0xbe, 0x00, 0x02, 0x02, 0x00, 0x89, 0x4e, 0x04, 0x83, 0xc6, 0x04, 0x8b, 0x16, 0x03,
    0x16, 0x89, 0x2e, 0x8b, 0x1e, 0x88, 0x1e, 0x0f, 0xb7, 0x2e, 0x4f, 0x75, 0xd8, 0xf4
};

Test(bt, same_address_reuses_the_probe)
{
    for (uint64_t step = 1; step <= 64; step = step * 3 + 1) {
        struct pair p;
        pair_init(&p, H_PROT32, code_reuse, sizeof(code_reuse));
        harness_identity_paging(p.hi, 3, 0x50);
        harness_identity_paging(p.hb, 3, 0x50);
        for (int i = 0; i < 200 && !p.hb->v->halted; i++) {
            bt_pair_run(&p, step);
            compare(&p);
            bt_pair_compare_range(&p, 0x20100, 0x200);
        }
        cr_assert(p.hb->v->halted);
        cr_assert_eq(p.hb->v->r[R_EDI], 0);
        if (step >= 40) cr_assert_geq(bt_pair_stats(&p).probes_reused, 3); /* (shorter limits run it interpreted) */
        bt_pair_free(&p);
    }
}

/* Table lookups ([index*scale + disp]) predict their page: a load that
 * alternates between two pages mispredicts every time and, after
 * PRED_MISSES misses, stops predicting (its slot's miss count stays at 0); a
 * store that stays on one page keeps predicting, and still sees the page
 * remapped (PTE rewritten + INVLPG) halfway through, since the prediction
 * is checked against the live TLB entry.
 *   mov ecx, 600 ; xor esi, esi ; xor edi, edi
 *   top: mov eax, [esi*4 + 0x20000] ; add eax, ecx ; mov [edi*4 + 0x22000], eax
 *        xor esi, 0x400 ; inc edi ; and edi, 0x3ff ; cmp ecx, 300 ; jne skip
 *        mov dword [0x31088], 0x60003 ; invlpg [0x22000]
 *   skip: dec ecx ; jnz top ; hlt */
Test(bt, table_lookups_predict_their_page)
{
    static const uint8_t code[] = {
        0xb9, 0x58, 0x02, 0x00, 0x00, 0x31, 0xf6, 0x31, 0xff, 0x8b, 0x04, 0xb5, 0x00, 0x00, 0x02, 0x00, 0x01,
        0xc8, 0x89, 0x04, 0xbd, 0x00, 0x20, 0x02, 0x00, 0x81, 0xf6, 0x00, 0x04, 0x00, 0x00, 0x47, 0x81, 0xe7,
        0xff, 0x03, 0x00, 0x00, 0x81, 0xf9, 0x2c, 0x01, 0x00, 0x00, 0x75, 0x11, 0xc7, 0x05, 0x88, 0x10, 0x03,
        0x00, 0x03, 0x00, 0x06, 0x00, 0x0f, 0x01, 0x3d, 0x00, 0x20, 0x02, 0x00, 0x49, 0x75, 0xc7, 0xf4
    };
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    bt_pair_run(&p, 100000);
    compare(&p);
    bt_pair_compare_range(&p, 0x21000, 0x1000);
    bt_pair_compare_range(&p, 0x22000, 0x1000);
    bt_pair_compare_range(&p, 0x60000, 0x1000);
    struct vcpu *v = p.hb->v;
    cr_assert(v->halted);
    cr_assert_eq(v->r[R_ECX], 0);
    /* Both halves of the stores landed: the last one (ECX = 1, EDI = 599)
     * and loaded from 0x21000, in the new page; the first (ECX = 600, EDI = 0)
     * in the old one. */
    cr_assert_eq(harness_read32(p.hb, 0x60000 + 4 * 599), harness_read32(p.hb, 0x21000) + 1);
    cr_assert_eq(harness_read32(p.hb, 0x22000), harness_read32(p.hb, 0x20000) + 600);
    const struct bt_vcpu *bt = v->bt;
    int stopped = 0, predicting = 0;
    for (const uint32_t *q = bt->pred; q < bt->pred_next; q += 4) {
        if (q[2] == 0) stopped++;
        else if (q[0] == 0x22000) predicting++;
    }
    cr_assert_geq(stopped, 1);    /* the alternating load */
    cr_assert_geq(predicting, 1); /* the store */
    bt_pair_free(&p);
}

/* The dispatcher runs the TB the jump cache holds for CS:EIP without
 * looking up the decoded block (run_one's fast path), so that cache must
 * follow TLB flushes there as well. The code page is remapped (PTE write,
 * no INVLPG) to a copy whose ADD adds 0x10; MOV CR3 ends the block, and
 * the dispatcher starts the next one at the ADD:
 *   xor ebx, ebx; mov ecx, 2
 *   L: mov eax, cr3; mov cr3, eax; add ebx, 1; dec ecx; jz done
 *   mov dword [0x31040], 0x61003 (0x61103: global); jmp L; done: hlt
 * A non-global code page: the flush drops its entry and the copy runs the
 * second time (EBX 0x11); a global one (CR4.PGE): the TLB keeps the old
 * translation, and the dispatcher reruns its TB from the jump cache (EBX 2).
 * Both as the interpreter. */
static void remapped_code_run(bool global)
{
    uint8_t code[] = { 0x31, 0xdb, 0xb9, 0x02, 0x00, 0x00, 0x00, 0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8, 0x83, 0xc3, 0x01,
                       0x49, 0x74, 0x0c, 0xc7, 0x05, 0x40, 0x10, 0x03, 0x00, 0x03, 0x10, 0x06, 0x00, 0xeb, 0xe8, 0xf4 };
    if (global) code[26] = 0x11; /* the new PTE: 0x61103 */
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    struct harness *hs[2] = { p.hi, p.hb };
    for (int i = 0; i < 2; i++) {
        code[15] = 0x10;
        harness_poke(hs[i], 0x61000, code, sizeof(code));
        code[15] = 0x01;
        if (global) hs[i]->v->cr4 |= CR4_PGE;
        harness_identity_paging(hs[i], 3, 0x50);
        if (global) harness_write32(hs[i], 0x31000 + 4 * 0x10, HARNESS_CODE | 0x100 | 3);
    }
    bt_pair_run(&p, 1000);
    compare(&p);
    cr_assert_eq(p.hb->v->r[R_EBX], global ? 2u : 0x11u);
    if (global) cr_assert_geq(bt_pair_stats(&p).fast_dispatches, 1);
    bt_pair_free(&p);
}

Test(bt, dispatcher_jump_cache_drops_a_remapped_code_page) { remapped_code_run(false); }
Test(bt, dispatcher_jump_cache_keeps_a_global_code_page) { remapped_code_run(true); }

/* The indirect-jump cache across TLB flushes follows the TLB, as the
 * interpreter's lookups do: MOV CR3 keeps the entry of a global page (the
 * TLB keeps its stale translation), drops a non-global one (the new code is
 * seen), INVLPG drops its page's. Two routines at linear 0x70000 (global)
 * and 0x71000 (not), each remapped to other code without a flush:
 *   mov esi, 0x70000 ; call esi ; mov esi, 0x71000 ; call esi
 *   mov dword [pte 0x70], 0x61103 ; mov dword [pte 0x71], 0x63003
 *   mov eax, cr3 ; mov cr3, eax
 *   mov esi, 0x70000 ; call esi ; mov edi, ebx
 *   mov esi, 0x71000 ; call esi ; mov edx, ecx
 *   invlpg [0x70000] ; mov esi, 0x70000 ; call esi ; hlt */
static void ijc_mappings(struct harness *h)
{
    static const uint8_t r60[] = { 0xbb, 0x11, 0, 0, 0, 0xc3 }, r61[] = { 0xbb, 0x22, 0, 0, 0, 0xc3 };
    static const uint8_t r62[] = { 0xb9, 0x33, 0, 0, 0, 0xc3 }, r63[] = { 0xb9, 0x44, 0, 0, 0, 0xc3 };
    harness_poke(h, 0x60000, r60, sizeof(r60));
    harness_poke(h, 0x61000, r61, sizeof(r61));
    harness_poke(h, 0x62000, r62, sizeof(r62));
    harness_poke(h, 0x63000, r63, sizeof(r63));
    h->v->cr4 |= CR4_PGE;
    harness_identity_paging(h, 3, 0x50);
    harness_write32(h, 0x31000 + 4 * 0x70, 0x60000 | 0x100 | 3);
    harness_write32(h, 0x31000 + 4 * 0x71, 0x62000 | 3);
}

Test(bt, indirect_jump_cache_follows_tlb_flushes)
{
    static const uint8_t code[] = {
        0xbe, 0x00, 0x00, 0x07, 0x00, 0xff, 0xd6, 0xbe, 0x00, 0x10, 0x07, 0x00, 0xff, 0xd6,
        0xc7, 0x05, 0xc0, 0x11, 0x03, 0x00, 0x03, 0x11, 0x06, 0x00,
        0xc7, 0x05, 0xc4, 0x11, 0x03, 0x00, 0x03, 0x30, 0x06, 0x00,
        0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8,
        0xbe, 0x00, 0x00, 0x07, 0x00, 0xff, 0xd6, 0x89, 0xdf,
        0xbe, 0x00, 0x10, 0x07, 0x00, 0xff, 0xd6, 0x89, 0xca,
        0x0f, 0x01, 0x3d, 0x00, 0x00, 0x07, 0x00, 0xbe, 0x00, 0x00, 0x07, 0x00, 0xff, 0xd6, 0xf4,
    };
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    ijc_mappings(p.hi);
    ijc_mappings(p.hb);
    bt_pair_run(&p, 1000000); /* (a small limit makes every block return to the dispatcher) */
    compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EDI], 0x11); /* global: the old translation survived MOV CR3 */
    cr_assert_eq(v->r[R_EDX], 0x44); /* non-global: walked afresh */
    cr_assert_eq(v->r[R_EBX], 0x22); /* INVLPG */
    bt_pair_free(&p);
}

/* SHLD/SHRD and BT/BTS/BTR/BTC are the host's instruction where the host's
 * undefined flags agree with the interpreter's (bt_hostflags.c; AMD's), the
 * interpreter's call elsewhere (BT86_BT_NO_BITOPS=1 forces that): register,
 * memory, immediate and CL forms, a CL count of 0 (nothing changes, flags
 * included) and of 37 (masked to 5), 16-bit forms, and a BT of a read-only
 * page (a read: no #PF, no dirty bit).
 *   mov esi, 0x20100 ; mov dword [esi], 0x8001f00f ; cmp eax, ebx
 *   shld edx, eax, 5 ; pushfd ; shrd ebp, ebx, 13 ; pushfd
 *   mov ecx, 37 ; shld edi, edx, cl ; pushfd
 *   xor ecx, ecx ; cmp eax, edx ; shrd edi, ebx, cl ; pushfd
 *   mov cl, 9 ; shrd dword [esi], eax, cl ; shld word [esi+4], bx, 3 ; pushfd
 *   cmp ebx, eax ; bt eax, 7 ; pushfd ; bts edx, ebx ; btr bp, 3 ; pushfd
 *   btc dword [esi], 31 ; bt dword [0x30000], 2 ; pushfd ; bts dword [esi+8], 5 ; hlt */
static const uint8_t code_bitops[] = {
    0xbe, 0x00, 0x01, 0x02, 0x00, 0xc7, 0x06, 0x0f, 0xf0, 0x01, 0x80, 0x39, 0xd8, 0x0f, 0xa4, 0xc2, 0x05, 0x9c,
    0x0f, 0xac, 0xdd, 0x0d, 0x9c, 0xb9, 0x25, 0x00, 0x00, 0x00, 0x0f, 0xa5, 0xd7, 0x9c, 0x31, 0xc9, 0x39, 0xd0,
    0x0f, 0xad, 0xdf, 0x9c, 0xb1, 0x09, 0x0f, 0xad, 0x06, 0x66, 0x0f, 0xa4, 0x5e, 0x04, 0x03, 0x9c, 0x39, 0xc3,
    0x0f, 0xba, 0xe0, 0x07, 0x9c, 0x0f, 0xab, 0xda, 0x66, 0x0f, 0xba, 0xf5, 0x03, 0x9c, 0x0f, 0xba, 0x3e, 0x1f,
    0x0f, 0xba, 0x25, 0x00, 0x00, 0x03, 0x00, 0x02, 0x9c, 0x0f, 0xba, 0x6e, 0x08, 0x05, 0xf4
};

/* Identity paging on both machines of a pair, page 0x30 (the page
 * directory's) read-only for supervisor writes too (CR0.WP). */
static void paging_with_ro_page_0x30(struct pair *p)
{
    struct harness *hs[2] = { p->hi, p->hb };
    for (int i = 0; i < 2; i++) {
        harness_identity_paging(hs[i], 3, 0x50);
        harness_write32(hs[i], 0x31000 + 4 * 0x30, 0x30000 | 1);
        hs[i]->v->cr0 |= CR0_WP;
    }
}

/* Runs a pair to its HLT `step` instructions at a time, comparing the
 * state and the memory ranges {start, length} after each. */
static void run_pair_compared(struct pair *p, uint64_t step, const uint32_t (*ranges)[2], unsigned nranges)
{
    for (int i = 0; i < 5000 && !p->hb->v->halted; i++) {
        bt_pair_run(p, step);
        compare(p);
        for (unsigned r = 0; r < nranges; r++) bt_pair_compare_range(p, ranges[r][0], ranges[r][1]);
    }
    cr_assert(p->hb->v->halted);
}

static void bitops(bool interp_calls, uint64_t step)
{
    if (interp_calls) setenv("BT86_BT_NO_BITOPS", "1", 1);
    struct pair p;
    pair_init(&p, H_PROT32, code_bitops, sizeof(code_bitops));
    paging_with_ro_page_0x30(&p);
    struct harness *hs[2] = { p.hi, p.hb };
    for (int i = 0; i < 2; i++) {
        hs[i]->v->r[R_EAX] = 0x9abcdef1u;
        hs[i]->v->r[R_EBX] = 0x13579bc5u; /* (bit 5 of EDX is clear for the BTS) */
        hs[i]->v->r[R_EDX] = 0x2468ace0u;
        hs[i]->v->r[R_EBP] = 0xfedcba98u;
        hs[i]->v->r[R_EDI] = 0x0f0f0f0fu;
    }
    static const uint32_t ranges[][2] = { { 0x20100, 0x10 }, { 0x31000, 0x1000 } }; /* (PTEs: accessed, dirty) */
    run_pair_compared(&p, step, ranges, 2);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->exceptions[EXC_PF], 0);
    cr_assert_eq(v->r[R_EDX], (0x2468ace0u << 5) | (0x9abcdef1u >> 27) | (1u << (0x13579bc5u & 31)));
    cr_assert_eq(harness_read32(p.hb, 0x31000 + 4 * 0x30) & 0x40, 0); /* not dirty */
    if (step == 1000) {
        uint64_t calls = bt_pair_stats(&p).fallback;
        /* (12 SHxD and BT* plus the HLT; the count is the translator's, from translation) */
        if (interp_calls || !bt_host_shxd_flags_pure() || !bt_host_bt_writes_only_cf()) cr_assert_geq(calls, 13);
        else cr_assert_leq(calls, 1, "calls %lu", (unsigned long)calls);
    }
    bt_pair_free(&p);
    unsetenv("BT86_BT_NO_BITOPS");
}

Test(bt, shxd_and_bt_forms_match_the_interpreter)
{
    bitops(false, 1000);
    bitops(false, 1);
    bitops(false, 3);
}

Test(bt, shxd_and_bt_forms_match_the_interpreter_through_its_handlers)
{
    bitops(true, 1000);
    bitops(true, 5);
}

/* cld ; cld ; std ; std ; pushfd ; cld ; pushfd ; hlt (DF clear at the
 * start): a CLD or STD that leaves DF as it is emits nothing (Linux's entry
 * code runs CLD with DF clear at every system call and interrupt); the two
 * that change it call the interpreter's handler, and the block goes on
 * with the new DF (native string instructions depend on it). */
Test(bt, cld_and_std_that_change_nothing_emit_nothing)
{
    static const uint8_t code[] = { 0xfc, 0xfc, 0xfd, 0xfd, 0x9c, 0xfc, 0x9c, 0xf4 };
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    p.hi->v->eflags &= ~F_DF;
    p.hb->v->eflags &= ~F_DF;
    bt_pair_run(&p, 1000);
    compare(&p);
    cr_assert(harness_stack(p.hb, 1) & F_DF);
    cr_assert(!(harness_stack(p.hb, 0) & F_DF));
    cr_assert(!(p.hb->v->eflags & F_DF));
    cr_assert_eq(bt_pair_stats(&p).fallback, 3); /* the STD and the CLD that change DF, the HLT */
    bt_pair_free(&p);
}

/* BSF and BSR are the host's instruction where the host's write ZF alone
 * and keep the destination for a zero source, as the interpreter's do
 * (bt_host_bscan_writes_only_zf; AMD's), the interpreter's call elsewhere:
 * register and memory sources, 32 and 16 bits, zero sources (the
 * destination is left as it was, ZF set), the other flags kept.
 *   mov esi, 0x20100 ; mov dword [esi], 0x00f00000 ; mov dword [esi+4], 0
 *   cmp eax, ebx ; bsf edx, eax ; pushfd ; bsr ebp, eax ; pushfd
 *   xor ecx, ecx ; cmp eax, edx ; bsf edi, ecx ; pushfd ; bsr edi, ecx ; pushfd
 *   bsf ebx, [esi] ; pushfd ; bsr eax, [esi+4] ; pushfd
 *   bsf bp, ax ; pushfd ; bsr dx, [esi+2] ; pushfd
 *   rep bsf esi, edx (F3 0F BC: TZCNT with BMI1, BSF on an i686) ; hlt */
static const uint8_t code_bscan[] = {
    0xbe, 0x00, 0x01, 0x02, 0x00, 0xc7, 0x06, 0x00, 0x00, 0xf0, 0x00, 0xc7, 0x46, 0x04, 0x00, 0x00, 0x00, 0x00,
    0x39, 0xd8, 0x0f, 0xbc, 0xd0, 0x9c, 0x0f, 0xbd, 0xe8, 0x9c, 0x31, 0xc9, 0x39, 0xd0, 0x0f, 0xbc, 0xf9, 0x9c,
    0x0f, 0xbd, 0xf9, 0x9c, 0x0f, 0xbc, 0x1e, 0x9c, 0x0f, 0xbd, 0x46, 0x04, 0x9c, 0x66, 0x0f, 0xbc, 0xe8, 0x9c,
    0x66, 0x0f, 0xbd, 0x56, 0x02, 0x9c, 0xf3, 0x0f, 0xbc, 0xf2, 0xf4
};

static void bscan(bool interp_calls, uint64_t step)
{
    if (interp_calls) setenv("BT86_BT_NO_BITOPS", "1", 1);
    struct pair p;
    pair_init(&p, H_PROT32, code_bscan, sizeof(code_bscan));
    struct harness *hs[2] = { p.hi, p.hb };
    for (int i = 0; i < 2; i++) {
        hs[i]->v->r[R_EAX] = 0x9abcdef0u;
        hs[i]->v->r[R_EBX] = 0x13579bc5u;
        hs[i]->v->r[R_EDI] = 0x0f0f0f0fu;
    }
    static const uint32_t ranges[][2] = { { 0x20100, 0x10 } };
    run_pair_compared(&p, step, ranges, 1);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EDI], 0x0f0f0f0fu); /* zero sources: kept */
    cr_assert_eq(v->r[R_EAX], 0x9abcdef0u);
    cr_assert_eq(v->r[R_EBX], 20);
    cr_assert_eq(v->r[R_EBP], 4);           /* 31, then the low word: BSF of 0xdef0 */
    cr_assert_eq(v->r[R_EDX], 7);           /* 4, then the low word: BSR of 0x00f0 */
    cr_assert_eq(v->r[R_ESI], 0);           /* REP BSF of 7 */
    cr_assert(harness_stack(p.hb, 5) & F_ZF); /* bsf edi, ecx: a zero source */
    cr_assert(!(harness_stack(p.hb, 3) & F_ZF)); /* bsf ebx, [esi]: not zero */
    cr_assert_eq(harness_stack(p.hb, 7) & F_ARITH, F_SF | F_AF | F_PF); /* bsf edx, eax: CMP's kept, ZF clear */
    if (step == 1000) {
        uint64_t calls = bt_pair_stats(&p).fallback;
        if (interp_calls || !bt_host_bscan_writes_only_zf()) cr_assert_geq(calls, 8);
        else cr_assert_leq(calls, 1, "calls %lu", (unsigned long)calls); /* (the HLT) */
    }
    bt_pair_free(&p);
    unsetenv("BT86_BT_NO_BITOPS");
}

Test(bt, bsf_and_bsr_match_the_interpreter)
{
    bscan(false, 1000);
    bscan(false, 1);
    bscan(false, 2);
}

Test(bt, bsf_and_bsr_match_the_interpreter_through_its_handlers)
{
    bscan(true, 1000);
    bscan(true, 3);
}

/* MOVSB/MOVSW/MOVSD without REP are native (two probes, the value in the
 * red zone between them): both directions, a source that crosses a page,
 * and a destination on a read-only page (#PF for the write, CR2 = EDI, ESI
 * and EDI unchanged, nothing written), at every step size.
 *   mov esi, 0x20100 ; mov edi, 0x20200 ; movsb ; movsw ; movsd
 *   std ; movsd ; movsw ; movsb ; cld
 *   mov esi, 0x20ffe ; movsd ; cmp eax, ebx
 *   mov esi, 0x20100 ; mov edi, 0x30004 ; movsd (#PF) */
static const uint8_t code_movs[] = { 0xbe, 0x00, 0x01, 0x02, 0x00, 0xbf, 0x00, 0x02, 0x02, 0x00, 0xa4, 0x66, 0xa5,
                                     0xa5, 0xfd, 0xa5, 0x66, 0xa5, 0xa4, 0xfc, 0xbe, 0xfe, 0x0f, 0x02, 0x00, 0xa5,
                                     0x39, 0xd8, 0xbe, 0x00, 0x01, 0x02, 0x00, 0xbf, 0x04, 0x00, 0x03, 0x00, 0xa5, 0xf4 };

static uint32_t movs_init(uint32_t a) { return a * 0x9e3779b1u; }

/* Both machines with code, identity paging with page 0x30 read-only, and
 * 0x20000-0x210ff filled with movs_init's values. */
static void movs_pair(struct pair *p, const uint8_t *code, size_t len)
{
    pair_init(p, H_PROT32, code, len);
    paging_with_ro_page_0x30(p);
    struct harness *hs[2] = { p->hi, p->hb };
    for (int i = 0; i < 2; i++)
        for (uint32_t a = 0x20000; a < 0x21100; a += 4) harness_write32(hs[i], a, movs_init(a));
}

Test(bt, movs_without_rep_matches_the_interpreter)
{
    static const uint64_t steps[] = { 1, 2, 3, 7, 1000 };
    for (unsigned si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
        struct pair p;
        movs_pair(&p, code_movs, sizeof(code_movs));
        static const uint32_t ranges[][2] = { { 0x20000, 0x1100 } };
        run_pair_compared(&p, steps[si], ranges, 1);
        struct vcpu *v = p.hb->v;
        cr_assert_eq(v->exceptions[EXC_PF], 1);
        cr_assert_eq(v->cr2, 0x30004);
        cr_assert_eq(harness_stack(p.hb, 0), 3); /* present, write, supervisor */
        cr_assert_eq(v->r[R_ESI], 0x20100);
        cr_assert_eq(v->r[R_EDI], 0x30004);
        /* 0x20200: 4 bytes from 0x20ffe (the last forward MOVSD, EDI back
         * at 0x20200 after the backward ones), then 3 of the 7 copied
         * from 0x20100 */
        for (uint32_t i = 0; i < 7; i++) {
            uint8_t a, b;
            harness_peek(p.hb, (i < 4 ? 0x20ffe : 0x20100) + i, &a, 1);
            harness_peek(p.hb, 0x20200 + i, &b, 1);
            cr_assert_eq(a, b, "byte %u", i);
        }
        bt_pair_free(&p);
    }
}

/* ... and translated as such: only the HLT calls the interpreter.
 *   mov esi, 0x20100 ; mov edi, 0x20200 ; movsb ; movsw ; movsd ; hlt */
Test(bt, movs_without_rep_is_native)
{
    static const uint8_t code[] = { 0xbe, 0x00, 0x01, 0x02, 0x00, 0xbf, 0x00, 0x02, 0x02, 0x00, 0xa4, 0x66, 0xa5, 0xa5, 0xf4 };
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, 1000);
    compare(&p);
    bt_pair_compare_range(&p, 0x20100, 0x200);
    cr_assert_eq(p.hb->v->r[R_ESI], 0x20107);
    cr_assert_eq(p.hb->v->r[R_EDI], 0x20207);
    cr_assert_eq(bt_pair_stats(&p).fallback, 1, "calls %lu", (unsigned long)bt_pair_stats(&p).fallback);
    bt_pair_free(&p);
}

/* BT* m32, r32: the signed offset selects the dword at ea + 4 * (offset
 * SAR 5) — ahead, behind, on the page before, on a read-only page (BT
 * reads it, BTS faults there with CR2 = that dword) — probed there and
 * reached by the host's own BT (gen_bt_far), the CMP's other flags kept.
 *   mov esi, 0x20100 ; cmp eax, ebx
 *   mov ecx, 100 ; bts [esi], ecx ; pushfd
 *   mov ecx, -1 ; btr [esi], ecx ; pushfd
 *   mov ecx, -32763 ; btc [esi], ecx ; pushfd
 *   mov edx, 0x21000 ; mov ecx, -33 ; bt [edx], ecx ; pushfd
 *   mov edx, 0x2fff0 ; mov ecx, 0x200 ; bt [edx], ecx ; pushfd
 *   bts [edx], ecx (#PF at 0x30030) */
static const uint8_t code_bt_far[] = {
    0xbe, 0x00, 0x01, 0x02, 0x00, 0x39, 0xd8, 0xb9, 0x64, 0x00, 0x00, 0x00, 0x0f, 0xab, 0x0e, 0x9c, 0xb9, 0xff,
    0xff, 0xff, 0xff, 0x0f, 0xb3, 0x0e, 0x9c, 0xb9, 0x05, 0x80, 0xff, 0xff, 0x0f, 0xbb, 0x0e, 0x9c, 0xba, 0x00,
    0x10, 0x02, 0x00, 0xb9, 0xdf, 0xff, 0xff, 0xff, 0x0f, 0xa3, 0x0a, 0x9c, 0xba, 0xf0, 0xff, 0x02, 0x00, 0xb9,
    0x00, 0x02, 0x00, 0x00, 0x0f, 0xa3, 0x0a, 0x9c, 0x0f, 0xab, 0x0a, 0xf4
};

Test(bt, bt_with_a_register_offset_into_memory_matches_the_interpreter)
{
    static const uint64_t steps[] = { 1, 2, 5, 1000 };
    for (unsigned si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
        struct pair p;
        pair_init(&p, H_PROT32, code_bt_far, sizeof(code_bt_far));
        paging_with_ro_page_0x30(&p);
        struct harness *hs[2] = { p.hi, p.hb };
        for (int i = 0; i < 2; i++) {
            for (uint32_t a = 0x1f000; a < 0x21100; a += 4) harness_write32(hs[i], a, a * 0x9e3779b1u);
            harness_write32(hs[i], 0x30030, 0x80000001u); /* (bit 0: offset 0x200) */
        }
        static const uint32_t ranges[][2] = {
            { 0x1f000, 0x1000 }, { 0x20000, 0x1000 }, { 0x21000, 0x100 }, { 0x30000, 0x100 }, { 0x31000, 0x1000 }
        };
        run_pair_compared(&p, steps[si], ranges, 5);
        struct vcpu *v = p.hb->v;
        cr_assert_eq(v->exceptions[EXC_PF], 1);
        cr_assert_eq(v->cr2, 0x30030);
        cr_assert_eq(harness_stack(p.hb, 0), 3); /* present, write, supervisor */
        uint32_t w = 0x2010c * 0x9e3779b1u;
        cr_assert_eq(harness_read32(p.hb, 0x2010c), w | 0x10);                     /* BTS bit 100 */
        cr_assert_eq(harness_read32(p.hb, 0x200fc), (0x200fcu * 0x9e3779b1u) & ~0x80000000u); /* BTR bit -1 */
        cr_assert_eq(harness_read32(p.hb, 0x1f100), (0x1f100u * 0x9e3779b1u) ^ 0x20); /* BTC bit -32763 */
        /* the last PUSHFD (under the #PF frame): BT of 0x30030 bit 0, set: CF */
        cr_assert_eq(harness_read32(p.hb, HARNESS_STACK - 20) & F_CF, F_CF);
        bt_pair_free(&p);
    }
}

/* REP STOS with DF = 0 fills its range with the host's REP STOS when the
 * range is on one page, else (or for ECX = 0 at a page start, DF = 1, a
 * probe miss) runs the interpreter's handler: STOSD, STOSB, STOSW of 0,
 * a range into the next page, ECX = 0 at a page start, a downward STOSB,
 * and a STOSD into a read-only page (#PF after the first dword: ECX 3,
 * EDI 0x30000), at every step size; the CMP's flags pass through.
 *   mov [0x20000], eax ; mov [0x21000], eax ; mov [0x2f000], eax (the TLB warm)
 *   mov edi, 0x20100 ; mov eax, 0x11223344 ; mov ecx, 5 ; cmp eax, ebx
 *   rep stosd ; pushfd ; mov ecx, 3 ; rep stosb ; mov ecx, 0 ; rep stosw
 *   mov edi, 0x20ff0 ; mov ecx, 8 ; rep stosd
 *   mov edi, 0x21000 ; mov ecx, 0 ; rep stosb
 *   std ; mov edi, 0x20400 ; mov ecx, 4 ; rep stosb ; cld
 *   mov edi, 0x2fffc ; mov ecx, 4 ; rep stosd (#PF) */
static const uint8_t code_rep_stos[] = {
    0xa3, 0x00, 0x00, 0x02, 0x00, 0xa3, 0x00, 0x10, 0x02, 0x00, 0xa3, 0x00, 0xf0, 0x02, 0x00, /* (TLB warm-up) */
    0xbf, 0x00, 0x01, 0x02, 0x00, 0xb8, 0x44, 0x33, 0x22, 0x11, 0xb9, 0x05, 0x00, 0x00, 0x00, 0x39, 0xd8, 0xf3,
    0xab, 0x9c, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xf3, 0xaa, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x66, 0xf3, 0xab, 0xbf,
    0xf0, 0x0f, 0x02, 0x00, 0xb9, 0x08, 0x00, 0x00, 0x00, 0xf3, 0xab, 0xbf, 0x00, 0x10, 0x02, 0x00, 0xb9, 0x00,
    0x00, 0x00, 0x00, 0xf3, 0xaa, 0xfd, 0xbf, 0x00, 0x04, 0x02, 0x00, 0xb9, 0x04, 0x00, 0x00, 0x00, 0xf3, 0xaa,
    0xfc, 0xbf, 0xfc, 0xff, 0x02, 0x00, 0xb9, 0x04, 0x00, 0x00, 0x00, 0xf3, 0xab, 0xf4
};

Test(bt, rep_stos_on_one_page_is_the_hosts)
{
    static const uint64_t steps[] = { 1, 2, 3, 5, 1000 };
    for (unsigned si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
        struct pair p;
        pair_init(&p, H_PROT32, code_rep_stos, sizeof(code_rep_stos));
        paging_with_ro_page_0x30(&p);
        static const uint32_t ranges[][2] = { { 0x20000, 0x1000 }, { 0x21000, 0x100 }, { 0x2f000, 0x1000 } };
        run_pair_compared(&p, steps[si], ranges, 3);
        struct vcpu *v = p.hb->v;
        cr_assert_eq(v->exceptions[EXC_PF], 1);
        cr_assert_eq(v->cr2, 0x30000);
        cr_assert_eq(v->r[R_ECX], 3);
        cr_assert_eq(v->r[R_EDI], 0x30000);
        cr_assert_eq(harness_read32(p.hb, 0x2fffc), 0x11223344);
        cr_assert_eq(harness_read32(p.hb, 0x20110), 0x11223344);   /* the 5th dword */
        cr_assert_eq(harness_read32(p.hb, 0x20114) & 0xffffff, 0x444444); /* the 3 bytes */
        cr_assert_eq(harness_read32(p.hb, 0x2100c), 0x11223344);   /* the 8th dword from 0x20ff0 */
        cr_assert_eq(harness_read32(p.hb, 0x203fc) & 0xffffff00, 0x44444400); /* downward: 0x20400..0x203fd */
        cr_assert_eq(harness_read32(p.hb, 0x20400) & 0xff, 0x44);
        bt_pair_free(&p);
    }
}

/* REP MOVS with DF = 0 copies with the host's REP MOVS when the source
 * and the destination each lie on one page, else (a range into the next
 * page, DF = 1, a probe miss) runs the interpreter's handler: MOVSD, MOVSB,
 * MOVSW of 0, an overlap (destination 4 bytes above the source: the first
 * dword repeated, as element-by-element copying gives), a source and then
 * a destination running into the next page, a downward MOVSB, and a MOVSD
 * into a read-only page (#PF after the first dword: ECX 3, ESI 0x20104,
 * EDI 0x30000), at every step size; the CMP's flags pass through.
 *   mov [0x20000], eax ; mov [0x21000], eax ; mov [0x2f000], eax (the TLB warm)
 *   mov esi, 0x20100 ; mov edi, 0x20800 ; mov ecx, 5 ; cmp eax, ebx
 *   rep movsd ; pushfd ; mov ecx, 3 ; rep movsb ; mov ecx, 0 ; rep movsw
 *   mov esi, 0x20200 ; mov edi, 0x20204 ; mov ecx, 6 ; rep movsd
 *   mov esi, 0x20ff0 ; mov edi, 0x20900 ; mov ecx, 8 ; rep movsd
 *   mov esi, 0x20100 ; mov edi, 0x20ff8 ; mov ecx, 4 ; rep movsd
 *   std ; mov esi, 0x20400 ; mov edi, 0x20a00 ; mov ecx, 4 ; rep movsb ; cld
 *   mov esi, 0x20100 ; mov edi, 0x2fffc ; mov ecx, 4 ; rep movsd (#PF) */
static const uint8_t code_rep_movs[] = {
    0xa3, 0x00, 0x00, 0x02, 0x00, 0xa3, 0x00, 0x10, 0x02, 0x00, 0xa3, 0x00, 0xf0, 0x02, 0x00, /* (TLB warm-up) */
    0xbe, 0x00, 0x01, 0x02, 0x00, 0xbf, 0x00, 0x08, 0x02, 0x00, 0xb9, 0x05, 0x00, 0x00, 0x00, 0x39, 0xd8, 0xf3,
    0xa5, 0x9c, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xf3, 0xa4, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x66, 0xf3, 0xa5, 0xbe,
    0x00, 0x02, 0x02, 0x00, 0xbf, 0x04, 0x02, 0x02, 0x00, 0xb9, 0x06, 0x00, 0x00, 0x00, 0xf3, 0xa5, 0xbe, 0xf0,
    0x0f, 0x02, 0x00, 0xbf, 0x00, 0x09, 0x02, 0x00, 0xb9, 0x08, 0x00, 0x00, 0x00, 0xf3, 0xa5, 0xbe, 0x00, 0x01,
    0x02, 0x00, 0xbf, 0xf8, 0x0f, 0x02, 0x00, 0xb9, 0x04, 0x00, 0x00, 0x00, 0xf3, 0xa5, 0xfd, 0xbe, 0x00, 0x04,
    0x02, 0x00, 0xbf, 0x00, 0x0a, 0x02, 0x00, 0xb9, 0x04, 0x00, 0x00, 0x00, 0xf3, 0xa4, 0xfc, 0xbe, 0x00, 0x01,
    0x02, 0x00, 0xbf, 0xfc, 0xff, 0x02, 0x00, 0xb9, 0x04, 0x00, 0x00, 0x00, 0xf3, 0xa5, 0xf4
};

Test(bt, rep_movs_on_one_page_each_is_the_hosts)
{
    static const uint64_t steps[] = { 1, 2, 3, 5, 1000 };
    for (unsigned si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
        struct pair p;
        movs_pair(&p, code_rep_movs, sizeof(code_rep_movs));
        static const uint32_t ranges[][2] = { { 0x20000, 0x1100 }, { 0x2f000, 0x1000 } };
        run_pair_compared(&p, steps[si], ranges, 2);
        struct vcpu *v = p.hb->v;
        cr_assert_eq(v->exceptions[EXC_PF], 1);
        cr_assert_eq(v->cr2, 0x30000);
        cr_assert_eq(v->r[R_ECX], 3);
        cr_assert_eq(v->r[R_ESI], 0x20104);
        cr_assert_eq(v->r[R_EDI], 0x30000);
        cr_assert_eq(harness_read32(p.hb, 0x2fffc), movs_init(0x20100));
        cr_assert_eq(harness_read32(p.hb, 0x20810), movs_init(0x20110));              /* the 5th dword */
        cr_assert_eq(harness_read32(p.hb, 0x20814) & 0xffffff, movs_init(0x20114) & 0xffffff); /* 3 bytes */
        for (uint32_t a = 0x20204; a < 0x2021c; a += 4)
            cr_assert_eq(harness_read32(p.hb, a), movs_init(0x20200), "overlap at %#x", a);
        cr_assert_eq(harness_read32(p.hb, 0x20900), movs_init(0x20ff0)); /* (a source into the next page) */
        cr_assert_eq(harness_read32(p.hb, 0x2091c), movs_init(0x2100c));
        bt_pair_free(&p);
    }
}

/* ... and translated as such: only the HLT calls the interpreter; a source
 * on a page that is not present: #PF (read), nothing copied or changed.
 *   mov esi, 0x20100 ; mov edi, 0x20800 ; mov ecx, 5 ; rep movsd
 *   mov ecx, 3 ; rep movsb
 *   mov esi, 0x50000 ; mov edi, 0x20900 ; mov ecx, 2 ; rep movsd (#PF) ; hlt */
Test(bt, rep_movs_is_native)
{
    static const uint8_t code[] = { 0xbe, 0x00, 0x01, 0x02, 0x00, 0xbf, 0x00, 0x08, 0x02, 0x00, 0xb9, 0x05, 0x00, 0x00,
                                    0x00, 0xf3, 0xa5, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xf3, 0xa4, 0xbe, 0x00, 0x00, 0x05,
                                    0x00, 0xbf, 0x00, 0x09, 0x02, 0x00, 0xb9, 0x02, 0x00, 0x00, 0x00, 0xf3, 0xa5, 0xf4 };
    struct pair p;
    pair_init(&p, H_PROT32, code, sizeof(code));
    harness_identity_paging(p.hi, 3, 0x50);
    harness_identity_paging(p.hb, 3, 0x50);
    bt_pair_run(&p, 1000);
    compare(&p);
    bt_pair_compare_range(&p, 0x20800, 0x200);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->exceptions[EXC_PF], 1);
    cr_assert_eq(v->cr2, 0x50000);
    cr_assert_eq(harness_stack(p.hb, 0), 0); /* not present, read, supervisor */
    cr_assert_eq(v->r[R_ECX], 2);
    cr_assert_eq(v->r[R_ESI], 0x50000);
    cr_assert_eq(v->r[R_EDI], 0x20900);
    /* (the HLT after the copies and the one in the #PF stub) */
    cr_assert_eq(bt_pair_stats(&p).fallback, 2, "calls %lu", (unsigned long)bt_pair_stats(&p).fallback);
    bt_pair_free(&p);
}

/* With one vCPU a LOCKed read-modify-write is the plain host instruction
 * (nothing else writes guest RAM between its read and its write), and
 * XCHG with memory the host's XCHG: ADD, INC, XADD, CMPXCHG, BTS with LOCK
 * and XCHG, all native, with the interpreter's results and flags.
 *   mov esi, 0x20100 ; mov dword [esi], 5 ; mov dword [esi+4], 0x77
 *   mov dword [esi+8], 0x1234 ; mov dword [esi+12], 0 ; cmp eax, ebx
 *   lock add dword [esi], 3 ; pushfd ; lock inc dword [esi]
 *   lock xadd [esi], ecx ; mov eax, 0x77 ; lock cmpxchg [esi+4], edx ; pushfd
 *   xchg [esi+8], ebx ; lock bts dword [esi+12], 3 ; lock add dword [esp], 0 ; hlt */
Test(bt, locked_instructions_of_one_vcpu_are_native)
{
    static const uint8_t code[] = {
        0xbe, 0x00, 0x01, 0x02, 0x00, 0xc7, 0x06, 0x05, 0x00, 0x00, 0x00, 0xc7, 0x46, 0x04, 0x77, 0x00, 0x00, 0x00,
        0xc7, 0x46, 0x08, 0x34, 0x12, 0x00, 0x00, 0xc7, 0x46, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x39, 0xd8, 0xf0, 0x83,
        0x06, 0x03, 0x9c, 0xf0, 0xff, 0x06, 0xf0, 0x0f, 0xc1, 0x0e, 0xb8, 0x77, 0x00, 0x00, 0x00, 0xf0, 0x0f, 0xb1,
        0x56, 0x04, 0x9c, 0x87, 0x5e, 0x08, 0xf0, 0x0f, 0xba, 0x6e, 0x0c, 0x03, 0xf0, 0x83, 0x04, 0x24, 0x00, 0xf4
    };
    static const uint64_t steps[] = { 1, 2, 3, 1000 };
    for (unsigned si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
        struct pair p;
        pair_init(&p, H_PROT32, code, sizeof(code));
        struct harness *hs[2] = { p.hi, p.hb };
        for (int i = 0; i < 2; i++) {
            hs[i]->v->r[R_ECX] = 7;
            hs[i]->v->r[R_EDX] = 0xabcd;
            hs[i]->v->r[R_EBX] = 0x5678;
        }
        static const uint32_t ranges[][2] = { { 0x20100, 0x10 } };
        run_pair_compared(&p, steps[si], ranges, 1);
        struct vcpu *v = p.hb->v;
        cr_assert_eq(harness_read32(p.hb, 0x20100), 16); /* 5 + 3 + 1 + 7 */
        cr_assert_eq(v->r[R_ECX], 9);
        cr_assert_eq(harness_read32(p.hb, 0x20104), 0xabcd);
        cr_assert(harness_stack(p.hb, 0) & F_ZF);     /* CMPXCHG: equal */
        cr_assert_eq(harness_read32(p.hb, 0x20108), 0x5678);
        cr_assert_eq(v->r[R_EBX], 0x1234);
        cr_assert_eq(harness_read32(p.hb, 0x2010c), 8);
        if (steps[si] == 1000) cr_assert_eq(bt_pair_stats(&p).fallback, 1); /* (the HLT) */
        bt_pair_free(&p);
    }
}

/* Guest CALL and RET through host frames (gen_ras_call): returns with the
 * flags live across CALL and RET, a callee that moves its return address
 * (the pad's check fails), a RET used as a jump, recursion deeper than
 * BT_RAS_DEPTH (frames run out, then RETs meet other levels' frames), CALLs
 * that never return (200 leaked frames; CALL to the next instruction, which
 * pushes none), RET imm16, an indirect CALL; ends at the HLT three calls
 * deep, at every step size (each run enters from C: the frames start over).
 *   xor esi, esi ; cmp eax, eax ; call keep ; jnz bad
 *   xor ecx, ecx ; call is_zero ; jnz bad
 *   call skip5 ; mov esi, 0xbad (skipped) ; call jump_by_ret
 *   mov ecx, 300 ; call rec ; mov ebp, eax
 *   mov ecx, 200 ; 1: call 2f ; nop ; 2: pop edx ; loop 1b
 *   mov ecx, 3 ; 3: call 4f ; 4: pop edx ; loop 3b
 *   call keep ; push 7 ; call ret4 ; mov ebx, keep2 ; call ebx ; call d1 ; hlt
 * keep: lea esi, [esi + 10] ; ret          keep2: lea esi, [esi + 1000] ; ret
 * is_zero: test ecx, ecx ; ret             skip5: add dword [esp], 5 ; ret
 * jump_by_ret: push target ; ret           target: lea esi, [esi + 100] ; ret
 * rec: test ecx, ecx ; jz 5f ; push ecx ; dec ecx ; call rec ; pop ecx ;
 *      add eax, ecx ; ret ; 5: xor eax, eax ; ret
 * ret4: mov edi, [esp + 4] ; ret 4
 * d1: call d2 ; ret    d2: call d3 ; ret    d3: hlt    bad: mov esi, 0xdead ; hlt */
static const uint8_t code_ras[] = {
    0x31, 0xf6, 0x39, 0xc0, 0xe8, 0x62, 0x00, 0x00, 0x00, 0x0f, 0x85, 0x9f, 0x00, 0x00, 0x00, 0x31, 0xc9, 0xe8,
    0x60, 0x00, 0x00, 0x00, 0x0f, 0x85, 0x92, 0x00, 0x00, 0x00, 0xe8, 0x58, 0x00, 0x00, 0x00, 0xbe, 0xad, 0x0b,
    0x00, 0x00, 0xe8, 0x53, 0x00, 0x00, 0x00, 0xb9, 0x2c, 0x01, 0x00, 0x00, 0xe8, 0x53, 0x00, 0x00, 0x00, 0x89,
    0xc5, 0xb9, 0xc8, 0x00, 0x00, 0x00, 0xe8, 0x01, 0x00, 0x00, 0x00, 0x90, 0x5a, 0xe2, 0xf7, 0xb9, 0x03, 0x00,
    0x00, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x5a, 0xe2, 0xf8, 0xe8, 0x14, 0x00, 0x00, 0x00, 0x6a, 0x07, 0xe8,
    0x3c, 0x00, 0x00, 0x00, 0xbb, 0x6f, 0x00, 0x01, 0x00, 0xff, 0xd3, 0xe8, 0x37, 0x00, 0x00, 0x00, 0xf4, 0x8d,
    0x76, 0x0a, 0xc3, 0x8d, 0xb6, 0xe8, 0x03, 0x00, 0x00, 0xc3, 0x85, 0xc9, 0xc3, 0x83, 0x04, 0x24, 0x05, 0xc3,
    0x68, 0x84, 0x00, 0x01, 0x00, 0xc3, 0x8d, 0x76, 0x64, 0xc3, 0x85, 0xc9, 0x74, 0x0b, 0x51, 0x49, 0xe8, 0xf5,
    0xff, 0xff, 0xff, 0x59, 0x01, 0xc8, 0xc3, 0x31, 0xc0, 0xc3, 0x8b, 0x7c, 0x24, 0x04, 0xc2, 0x04, 0x00, 0xe8,
    0x01, 0x00, 0x00, 0x00, 0xc3, 0xe8, 0x01, 0x00, 0x00, 0x00, 0xc3, 0xf4, 0xbe, 0xad, 0xde, 0x00, 0x00, 0xf4
};
#define RAS_CALL_D1 0x65 /* the offset of "call d1" */

/* Both machines of a pair at code_ras's offset `at` again, the stack empty. */
static void ras_restart(struct pair *p, uint32_t at)
{
    struct harness *hs[2] = { p->hi, p->hb };
    for (int h = 0; h < 2; h++) {
        hs[h]->v->eip = HARNESS_CODE + at;
        hs[h]->v->r[R_ESP] = HARNESS_STACK;
        hs[h]->v->halted = false;
    }
}

static void ras_calls(bool off)
{
    if (off) setenv("BT86_BT_NO_RAS", "1", 1);
    static const uint64_t steps[] = { 1, 3, 7, 100000, 1000000 };
    for (unsigned si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
        struct pair p;
        pair_init(&p, H_PROT32, code_ras, sizeof(code_ras));
        /* Twice: the second run finds its translations (chained, their
         * frames kept) where the first translated as it went. */
        for (int run = 0; run < 2; run++) {
            ras_restart(&p, 0);
            static const uint32_t ranges[][2] = { { HARNESS_STACK - 0x1000, 0x1000 } };
            run_pair_compared(&p, steps[si], ranges, 1);
            struct vcpu *v = p.hb->v;
            cr_assert_eq(v->eip, HARNESS_CODE + sizeof(code_ras) - 6, "eip %#x", v->eip); /* after d3's HLT */
            cr_assert_eq(v->r[R_ESI], 10 + 100 + 10 + 1000);
            cr_assert_eq(v->r[R_EBP], 300 * 301 / 2);
            cr_assert_eq(v->r[R_EDI], 7);
            cr_assert_eq(v->r[R_EDX], HARNESS_CODE + 0x4f);
            cr_assert_eq(v->r[R_ESP], HARNESS_STACK - 12);
            cr_assert_eq(harness_read32(p.hb, HARNESS_STACK - 4), HARNESS_CODE + RAS_CALL_D1 + 5);
        }
        bt_pair_free(&p);
    }
    unsetenv("BT86_BT_NO_RAS");
}

Test(bt, guest_calls_and_returns_through_host_frames) { ras_calls(false); }
Test(bt, guest_calls_and_returns_without_host_frames) { ras_calls(true); }

/* Each CALL level holds one frame: at d3's HLT, entered at "call d1",
 * three of the room are taken (none with BT86_BT_NO_RAS). The second run:
 * the first translates and chains (every exit to the dispatcher drops the
 * frames). */
static void ras_depth(bool off)
{
    if (off) setenv("BT86_BT_NO_RAS", "1", 1);
    struct pair p;
    pair_init(&p, H_PROT32, code_ras, sizeof(code_ras));
    for (int run = 0; run < 2; run++) {
        ras_restart(&p, RAS_CALL_D1);
        bt_pair_run(&p, 100000); /* (a limit near enough runs each block alone) */
        compare(&p);
        cr_assert_eq(p.hb->v->eip, HARNESS_CODE + sizeof(code_ras) - 6);
    }
    cr_assert_eq(p.hb->v->bt->ras->room, off ? BT_RAS_DEPTH : BT_RAS_DEPTH - 3, "room %u", p.hb->v->bt->ras->room);
    bt_pair_free(&p);
    unsetenv("BT86_BT_NO_RAS");
}

Test(bt, each_call_level_holds_one_host_frame) { ras_depth(false); }
Test(bt, no_host_frames_with_bt86_bt_no_ras) { ras_depth(true); }
