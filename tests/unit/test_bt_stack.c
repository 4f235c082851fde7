/* Same-page probes (bt_gen.c: gen_base_probe): after a full TLB probe of
 * an address through a base register, the accesses through that register
 * that follow in the block (moved only by PUSH/POP for ESP, ADD/SUB imm,
 * INC/DEC, LEA [reg+disp]) check only that they stay on that page; a write
 * needs a base probed for writing. Each test runs the
 * same user-mode code under the interpreter and the translator, requires
 * the same state, and checks the exact #PF a page crossing or a read-only
 * page gives. Snippets are assembled for HARNESS_CODE (GNU as --32, Intel
 * syntax; the source is above each array). */
#include <criterion/criterion.h>
#include <string.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "cpu/segment.h"
#include "harness.h"
#include "memory/tlb.h"
#include "translator/bt.h"

/* Identity paging, user pages; linear page 0x50 not present, page 0x4f
 * read-only when `ro` (CR0.WP set either way). ESP = esp, ESI = 0x4f000,
 * EDI = 0x50000 (base registers for the last two tests), and the words
 * below 0x50000 hold 0x11111111, 0x22222222. */
static void stack_paging(struct harness *h, uint32_t esp, bool ro)
{
    struct vcpu *v = h->v;
    harness_identity_paging(h, 7, 0x50);
    if (ro) harness_write32(h, 0x31000 + 4 * 0x4f, 0x4f000 | 5);
    harness_write32(h, 0x4fff8, 0x11111111);
    harness_write32(h, 0x4fffc, 0x22222222);
    v->cr0 |= CR0_WP;
    v->r[R_ESP] = esp;
    v->r[R_ESI] = 0x4f000;
    v->r[R_EDI] = 0x50000;
    tlb_flush_all(&v->tlb);
    cpu_update_mode(v);
}

/* Before the code under test, a block that fills the TLB for the stack
 * page, so that its probes hit (a probe that misses leaves the block after
 * its fallback when later accesses count on it): mov edx, [esp];
 * mov [esp-8], edx (WARM_RW only); cmp edx, edx; je +0 */
static const uint8_t warm_rw[] = { 0x8b, 0x14, 0x24, 0x89, 0x54, 0x24, 0xf8, 0x39, 0xd2, 0x74, 0x00 };
static const uint8_t warm_r[] = { 0x8b, 0x14, 0x24, 0x39, 0xd2, 0x74, 0x00 };
#define WARM_RW ((uint32_t)sizeof(warm_rw))
#define WARM_R  ((uint32_t)sizeof(warm_r))

static void run_stack(struct pair *p, const uint8_t *test, size_t len, uint32_t esp, bool ro)
{
    uint8_t code[64];
    const uint8_t *warm = ro ? warm_r : warm_rw;
    size_t wn = ro ? sizeof(warm_r) : sizeof(warm_rw);
    cr_assert_leq(wn + len, sizeof(code));
    memcpy(code, warm, wn);
    memcpy(code + wn, test, len);
    bt_pair_setup(p, H_USER32, code, wn + len);
    stack_paging(p->hi, esp, ro);
    stack_paging(p->hb, esp, ro);
    bt_pair_run(p, 100000);
    bt_pair_compare_state(p);
    bt_pair_compare_range(p, 0x4f000, 0x1000);
    bt_pair_compare_range(p, HARNESS_STACK0 - 0x100, 0x100);
}

/* The #PF frame on the ring-0 stack (from CPL 3): error code, EIP, CS,
 * EFLAGS, ESP. */
static void assert_pf(struct pair *p, uint32_t cr2, uint32_t err, uint32_t eip, uint32_t esp)
{
    bt_pair_assert_exc(p, EXC_PF, (int)err, eip);
    cr_assert_eq(p->hb->v->cr2, cr2, "cr2 %#x", p->hb->v->cr2);
    cr_assert_eq(harness_stack(p->hb, 4), esp, "pushed esp %#x", harness_stack(p->hb, 4));
}

/* pop eax; pop ebx; pop ecx
 * From ESP = 0x4fff8: the second POP is a same-page check against the
 * first's probe; the third leaves the page (0x50000, not present). */
Test(bt_stack, pop_off_the_page_faults_precisely)
{
    static const uint8_t code[] = { 0x58, 0x5b, 0x59, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, false);
    assert_pf(&p, 0x50000, 4, HARNESS_CODE + WARM_RW + 2, 0x50000); /* user read, not present */
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 0x11111111);
    cr_assert_eq(v->r[R_EBX], 0x22222222);
    cr_assert_geq(bt_pair_stats(&p).probes_samepage, 2);
    bt_pair_free(&p);
}

/* pop eax; push ebx
 * Page 0x4f read-only: the POP's probe was for reading, so the PUSH
 * cannot use it and takes its own write probe, which faults. */
Test(bt_stack, push_after_pop_checks_write_access)
{
    static const uint8_t code[] = { 0x58, 0x53, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, true);
    assert_pf(&p, 0x4fff8, 7, HARNESS_CODE + WARM_R + 1, 0x4fffc); /* user write, protection */
    cr_assert_eq(p.hb->v->r[R_EAX], 0x11111111);
    bt_pair_free(&p);
}

/* mov eax, 1; cmp eax, 2; push eax; mov ecx, [esp+4]; add esp, 12;
 * mov edx, [esp-4]; mov edx, [esp]
 * ESP-relative operands after PUSH and ADD ESP: two same-page checks, then
 * [esp] = 0x50000 leaves the page: #PF with the ADD's flags (PF AF). */
Test(bt_stack, esp_operands_follow_push_and_add)
{
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0x83, 0xf8, 0x02, 0x50, 0x8b, 0x4c, 0x24,
                                    0x04, 0x83, 0xc4, 0x0c, 0x8b, 0x54, 0x24, 0xfc, 0x8b, 0x14, 0x24, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, false);
    assert_pf(&p, 0x50000, 4, HARNESS_CODE + WARM_RW + 20, 0x50000);
    cr_assert_eq(harness_stack(p.hb, 3) & F_ARITH, F_PF | F_AF, "pushed flags %#x", harness_stack(p.hb, 3));
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_ECX], 0x11111111);
    cr_assert_eq(v->r[R_EDX], 0x22222222);
    cr_assert_eq(harness_read32(p.hb, 0x4fff4), 1); /* the PUSH */
    cr_assert_geq(bt_pair_stats(&p).probes_samepage, 2);
    bt_pair_free(&p);
}

/* pop eax; mov ebx, [esp+2]
 * The load's first byte is on the base's page, its last (0x50001) is not:
 * the check is of the byte farthest from the base. */
Test(bt_stack, access_straddling_the_page_end_faults)
{
    static const uint8_t code[] = { 0x58, 0x8b, 0x5c, 0x24, 0x02, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, false);
    assert_pf(&p, 0x50000, 4, HARNESS_CODE + WARM_RW + 1, 0x4fffc);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x11111111);
    cr_assert_geq(bt_pair_stats(&p).probes_samepage, 1);
    bt_pair_free(&p);
}

/* mov eax, [esi+0xff8]; add esi, 4; mov ebx, [esi+0xff8]; dec esi; inc esi;
 * lea esi, [esi+2]; mov ecx, [esi+0xff8]
 * Through ESI = 0x4f000: the second load is a same-page check after ADD;
 * after DEC, INC and LEA the third (0x4fffe, 4 bytes) leaves the page. */
Test(bt_stack, base_register_moves_are_followed)
{
    static const uint8_t code[] = { 0x8b, 0x86, 0xf8, 0x0f, 0x00, 0x00, 0x83, 0xc6, 0x04, 0x8b, 0x9e, 0xf8, 0x0f, 0x00,
                                    0x00, 0x4e, 0x46, 0x8d, 0x76, 0x02, 0x8b, 0x8e, 0xf8, 0x0f, 0x00, 0x00, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, false);
    assert_pf(&p, 0x50000, 4, HARNESS_CODE + WARM_RW + 0x14, 0x4fff8);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 0x11111111);
    cr_assert_eq(v->r[R_EBX], 0x22222222);
    cr_assert_eq(v->r[R_ESI], 0x4f006);
    cr_assert_geq(bt_pair_stats(&p).probes_samepage, 2);
    bt_pair_free(&p);
}

/* mov eax, [esi+0xff8]; mov ebx, [edi]
 * Through another register the base probe does not count: EDI's load takes
 * its own probe and faults (0x50000). */
Test(bt_stack, another_register_takes_its_own_probe)
{
    static const uint8_t code[] = { 0x8b, 0x86, 0xf8, 0x0f, 0x00, 0x00, 0x8b, 0x1f, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, false);
    assert_pf(&p, 0x50000, 4, HARNESS_CODE + WARM_RW + 6, 0x4fff8);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x11111111);
    bt_pair_free(&p);
}

/* push dword [esi+0xffc]; push dword [esp+4]; pop eax; pop ebx;
 * push dword [edi]
 * PUSH m32 is native: a read probe, then the stack's write probe. The
 * last source (0x50000) is not present: #PF before anything is pushed. */
Test(bt_stack, push_memory_operands)
{
    static const uint8_t code[] = { 0xff, 0xb6, 0xfc, 0x0f, 0x00, 0x00, 0xff, 0x74, 0x24, 0x04,
                                    0x58, 0x5b, 0xff, 0x37, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, false);
    assert_pf(&p, 0x50000, 4, HARNESS_CODE + WARM_RW + 12, 0x4fff8);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 0x11111111);
    cr_assert_eq(v->r[R_EBX], 0x22222222);
    cr_assert_eq(harness_read32(p.hb, 0x4fff4), 0x22222222);
    cr_assert_eq(harness_read32(p.hb, 0x4fff0), 0x11111111);
    cr_assert_geq(bt_pair_stats(&p).probes, 4); /* (none while PUSH m32 called the interpreter) */
    bt_pair_free(&p);
}

/* push dword [esi+0xffc]
 * Page 0x4f read-only: the source reads, the push's write faults (#PF
 * error 7) with ESP unchanged (the pushed ESP). */
Test(bt_stack, push_memory_operand_to_a_read_only_stack)
{
    static const uint8_t code[] = { 0xff, 0xb6, 0xfc, 0x0f, 0x00, 0x00, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, true);
    assert_pf(&p, 0x4fff4, 7, HARNESS_CODE + WARM_R, 0x4fff8);
    bt_pair_free(&p);
}

/* lea ebp, [esi+0xff8]; leave; pop ecx; pop edx
 * LEAVE is native (a load through EBP, then ESP = EBP + 4); the POP after
 * it is a same-page check against the LEAVE's probe; the next POP leaves
 * the page (0x50000): #PF. */
Test(bt_stack, leave_then_pops)
{
    static const uint8_t code[] = { 0x8d, 0xae, 0xf8, 0x0f, 0x00, 0x00, 0xc9, 0x59, 0x5a, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, false);
    assert_pf(&p, 0x50000, 4, HARNESS_CODE + WARM_RW + 8, 0x50000);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EBP], 0x11111111);
    cr_assert_eq(v->r[R_ECX], 0x22222222);
    cr_assert_geq(bt_pair_stats(&p).probes_samepage, 1);
    bt_pair_free(&p);
}

/* lea ebp, [edi]; leave
 * The frame pointer's page (0x50000) is not present: #PF with ESP and EBP
 * unchanged. */
Test(bt_stack, leave_faults_precisely)
{
    static const uint8_t code[] = { 0x8d, 0x2f, 0xc9, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, false);
    assert_pf(&p, 0x50000, 4, HARNESS_CODE + WARM_RW + 2, 0x4fff8);
    cr_assert_eq(p.hb->v->r[R_EBP], 0x50000);
    bt_pair_free(&p);
}

/* push dword [0x3113c]; pop eax; pop ebx
 * The source (the page-table entry of page 0x4f) is not in the TLB: its
 * probe misses and the fallback pushes. The POPs count on the stack
 * probe's r8/r9, which the fallback did not set: the translation must
 * leave after it rather than resume (else the POPs read through stale
 * host registers). */
Test(bt_stack, push_memory_operand_after_a_tlb_miss)
{
    static const uint8_t code[] = { 0xff, 0x35, 0x3c, 0x11, 0x03, 0x00, 0x58, 0x5b, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, false);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX] & ~0xfffu, 0x4f000, "eax %#x", v->r[R_EAX]);
    cr_assert_eq(v->r[R_EBX], 0x11111111);
    cr_assert_eq(harness_stack(p.hb, 4), 0x4fffc); /* ESP in the #GP frame of the HLT */
    bt_pair_free(&p);
}

/* mov eax, 1; cmp eax, 2; push dword [esi+0xffc]; xor eax, eax
 * Page 0x4f read-only: the push faults with the CMP's flags (CF PF AF SF)
 * in the frame. They are dead after the PUSH (XOR rewrites them) but
 * exposed to its second probe, which must find them as they were, not as
 * the source probe left RFLAGS. */
Test(bt_stack, push_memory_operand_keeps_the_flags_for_its_stack_probe)
{
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0x83, 0xf8, 0x02, 0xff, 0xb6,
                                    0xfc, 0x0f, 0x00, 0x00, 0x31, 0xc0, 0xf4 };
    struct pair p;
    run_stack(&p, code, sizeof(code), 0x4fff8, true);
    assert_pf(&p, 0x4fff4, 7, HARNESS_CODE + WARM_R + 8, 0x4fff8);
    cr_assert_eq(harness_stack(p.hb, 3) & F_ARITH, F_CF | F_PF | F_AF | F_SF, "pushed flags %#x",
                 harness_stack(p.hb, 3));
    bt_pair_free(&p);
}
