/* 32-bit DIV translated natively (bt_gen.c: K_DIV): the host DIV after a
 * check for a zero divisor or a quotient above 2^32 - 1 (EDX >= divisor),
 * which go to the interpreter's DIV to raise #DE with the flags from
 * before. Each test runs the same ring-0 code under the interpreter and
 * the translator and requires the same state (the flags after DIV are the
 * host's in both). Snippets are assembled for HARNESS_CODE (GNU as --32,
 * Intel syntax; the source is above each array). */
#include <criterion/criterion.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "harness.h"
#include "translator/bt.h"

static void run(struct pair *p, const uint8_t *code, size_t len, uint32_t ecx)
{
    bt_pair_setup(p, H_PROT32, code, len);
    harness_write32(p->hi, HARNESS_DATA, 7);
    harness_write32(p->hb, HARNESS_DATA, 7);
    p->hi->v->r[R_ECX] = p->hb->v->r[R_ECX] = ecx;
    bt_pair_run(p, 1000);
    bt_pair_compare_state(p);
}

/* The #DE frame on the ring-0 stack (EIP, CS, EFLAGS) with the CMP's
 * flags (CF PF AF SF). */
static void assert_de(struct pair *p, uint32_t eip)
{
    bt_pair_assert_exc(p, EXC_DE, -1, eip);
    cr_assert_eq(bt_pair_frame_flags(p, false), F_CF | F_PF | F_AF | F_SF, "flags %#x", bt_pair_frame_flags(p, false));
}

/* mov eax, 0; mov edx, 1; mov ecx, 3; div ecx; mov ebx, eax; mov eax, 1000;
 * xor edx, edx; div dword [0x20000]; mov ecx, [0x20000]; hlt */
Test(bt_div, register_and_memory_divisors)
{
    static const uint8_t code[] = { 0xb8, 0x00, 0x00, 0x00, 0x00, 0xba, 0x01, 0x00, 0x00, 0x00, 0xb9, 0x03, 0x00,
                                    0x00, 0x00, 0xf7, 0xf1, 0x89, 0xc3, 0xb8, 0xe8, 0x03, 0x00, 0x00, 0x31, 0xd2,
                                    0xf7, 0x35, 0x00, 0x00, 0x02, 0x00, 0x8b, 0x0d, 0x00, 0x00, 0x02, 0x00, 0xf4 };
    struct pair p;
    run(&p, code, sizeof(code), 0);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EBX], 0x55555555);
    cr_assert_eq(v->r[R_EAX], 142);
    cr_assert_eq(v->r[R_EDX], 6);
    cr_assert_eq(v->r[R_ECX], 7);
    /* One call, the HLT's: both DIVs and the load run natively, in one
     * translation (the memory DIV reads its divisor through the view). */
    cr_assert_eq(bt_pair_stats(&p).fallback, 1, "%llu calls", (unsigned long long)bt_pair_stats(&p).fallback);
    cr_assert_eq(bt_pair_stats(&p).tbs, 1);
    cr_assert_eq(bt_pair_stats(&p).probes_direct_writes, 0);
    bt_pair_free(&p);
}

/* mov eax, 1; cmp eax, 2; mov eax, 5; mov edx, 0; div ecx; hlt, ECX = 0 */
Test(bt_div, zero_divisor_raises_de)
{
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0x83, 0xf8, 0x02, 0xb8, 0x05, 0x00,
                                    0x00, 0x00, 0xba, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xf1, 0xf4 };
    struct pair p;
    run(&p, code, sizeof(code), 0);
    assert_de(&p, HARNESS_CODE + 18);
    cr_assert_eq(p.hb->v->r[R_EAX], 5);
    bt_pair_free(&p);
}

/* mov ebx, [0x20000]; mov eax, 1; cmp eax, 2; mov edx, 7;
 * div dword [0x20000]; hlt
 * EDX:EAX / 7 with EDX = 7: the quotient does not fit, #DE. (The first
 * load fills the TLB, so the DIV's probe hits and its own check sees the
 * overflow.) */
Test(bt_div, quotient_overflow_raises_de)
{
    static const uint8_t code[] = { 0x8b, 0x1d, 0x00, 0x00, 0x02, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x83, 0xf8,
                                    0x02, 0xba, 0x07, 0x00, 0x00, 0x00, 0xf7, 0x35, 0x00, 0x00, 0x02, 0x00, 0xf4 };
    struct pair p;
    run(&p, code, sizeof(code), 0);
    assert_de(&p, HARNESS_CODE + 19);
    cr_assert_eq(p.hb->v->r[R_EDX], 7);
    bt_pair_free(&p);
}

/* mov eax, 0; mov edx, 1; mov ecx, 3; div ecx; hlt
 * The flags after DIV are the host's, which depend on the flags before it
 * (AMD keeps CF and OF): both engines run XOR, then DIV, so they agree. */
Test(bt_div, flags_after_div_are_the_interpreters)
{
    static const uint8_t code[] = { 0xb8, 0x00, 0x00, 0x00, 0x00, 0xba, 0x01, 0x00, 0x00,
                                    0x00, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xf7, 0xf1, 0xf4 };
    struct pair p;
    run(&p, code, sizeof(code), 0);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x55555555);
    cr_assert_eq(p.hb->v->r[R_EDX], 1);
    bt_pair_free(&p);
}

/* xor edx, edx; mov eax, 100; div dword [0x20000]; add eax, 1; hlt
 * The divisor's page is not in the TLB yet: the probe's fallback runs the
 * DIV and the block goes on after it (the probe's resume point as well as
 * the #DE check's). */
Test(bt_div, memory_divisor_after_a_tlb_miss)
{
    static const uint8_t code[] = { 0x31, 0xd2, 0xb8, 0x64, 0x00, 0x00, 0x00, 0xf7, 0x35,
                                    0x00, 0x00, 0x02, 0x00, 0x83, 0xc0, 0x01, 0xf4 };
    struct pair p;
    run(&p, code, sizeof(code), 0);
    cr_assert_eq(p.hb->v->r[R_EAX], 15);
    cr_assert_eq(p.hb->v->r[R_EDX], 2);
    bt_pair_free(&p);
}
