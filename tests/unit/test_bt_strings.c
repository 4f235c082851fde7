/* LODS, STOS and SCAS without REP translated natively (bt_gen.c:
 * K_STRING): the access through the TLB probe, then ESI or EDI moves by
 * the element size, down when EFLAGS.DF is set — known for every
 * instruction of a block from the TB key (MODE_DF) and the CLD/STD before
 * it. Each test runs the same ring-0 code under the interpreter and the
 * translator and requires the same state and memory. Snippets are
 * assembled for HARNESS_CODE (GNU as --32, Intel syntax; the source is
 * above each array). */
#include <criterion/criterion.h>
#include <string.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "harness.h"
#include "translator/bt.h"

static void strings(struct harness *h)
{
    harness_poke(h, HARNESS_DATA, "hello", 6);
    harness_poke(h, HARNESS_DATA + 0x100, "help", 5);
    for (uint32_t i = 0; i < 16; i += 4) harness_write32(h, HARNESS_DATA + 0x10 + i, 0x11223344u * (i + 1));
    for (uint32_t i = 0; i < 16; i += 4) harness_write32(h, HARNESS_DATA + 0x108 + i, 0x55667788u * (i + 1));
}

static void run(struct pair *p, const uint8_t *code, size_t len, uint32_t esi, uint32_t edi, bool df)
{
    bt_pair_setup(p, H_PROT32, code, len);
    struct harness *hs[2] = { p->hi, p->hb };
    for (int i = 0; i < 2; i++) {
        strings(hs[i]);
        hs[i]->v->r[R_ESI] = esi;
        hs[i]->v->r[R_EDI] = edi;
        if (df) hs[i]->v->eflags |= F_DF;
    }
    bt_pair_run(p, 10000);
    bt_pair_compare_state(p);
    bt_pair_compare_range(p, HARNESS_DATA, 0x200);
}

/* mov esi, 0x20000; mov edi, 0x20100; 1: lodsb; scasb; jne 2f;
 * test al, al; jne 1b; 2: hlt
 * The i386 kernel's strcmp loop: "hello" against "help" stops after the
 * 'l'/'p' pair. */
Test(bt_strings, strcmp_loop)
{
    static const uint8_t code[] = { 0xbe, 0x00, 0x00, 0x02, 0x00, 0xbf, 0x00, 0x01, 0x02, 0x00,
                                    0xac, 0xae, 0x75, 0x04, 0x84, 0xc0, 0x75, 0xf8, 0xf4 };
    struct pair p;
    run(&p, code, sizeof(code), 0, 0, false);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_ESI], HARNESS_DATA + 4);
    cr_assert_eq(v->r[R_EDI], HARNESS_DATA + 0x104);
    cr_assert_eq(v->r[R_EAX] & 0xff, 'l');
    cr_assert_eq(v->eflags & (F_ZF | F_CF | F_SF), F_CF | F_SF, "flags %#x", v->eflags); /* 'l' - 'p' */
    cr_assert_geq(bt_pair_stats(&p).probes, 2); /* (none while they called the interpreter) */
    bt_pair_free(&p);
}

/* std; lodsd; stosw; scasb; cld; lodsb; stosb; hlt
 * Steps of -4, -2, -1 after STD, +1 after CLD, in one block. */
Test(bt_strings, steps_follow_std_and_cld)
{
    static const uint8_t code[] = { 0xfd, 0xad, 0x66, 0xab, 0xae, 0xfc, 0xac, 0xaa, 0xf4 };
    struct pair p;
    run(&p, code, sizeof(code), HARNESS_DATA + 0x10, HARNESS_DATA + 0x110, false);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_ESI], HARNESS_DATA + 0xd);
    cr_assert_eq(v->r[R_EDI], HARNESS_DATA + 0x10e);
    cr_assert_eq(harness_read32(p.hb, HARNESS_DATA + 0x110) & 0xffff, 0x3344); /* the STOSW of the LODSD's AX */
    bt_pair_free(&p);
}

/* lodsb; lodsb; scasw; hlt, entered with DF set (the TB key's MODE_DF). */
Test(bt_strings, direction_flag_at_entry)
{
    static const uint8_t code[] = { 0xac, 0xac, 0x66, 0xaf, 0xf4 };
    struct pair p;
    run(&p, code, sizeof(code), HARNESS_DATA + 0x10, HARNESS_DATA + 0x110, true);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_ESI], HARNESS_DATA + 0xe);
    cr_assert_eq(v->r[R_EDI], HARNESS_DATA + 0x10e);
    bt_pair_free(&p);
}

/* lodsd; hlt with ESI = 0x4fffe and page 0x50 not present: #PF (CR2
 * 0x50000, supervisor read) with ESI unchanged. */
Test(bt_strings, fault_leaves_esi)
{
    static const uint8_t code[] = { 0xad, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    struct harness *hs[2] = { p.hi, p.hb };
    for (int i = 0; i < 2; i++) {
        harness_identity_paging(hs[i], 3, 0x50);
        hs[i]->v->r[R_ESI] = 0x4fffe;
    }
    bt_pair_run(&p, 10000);
    bt_pair_compare_state(&p);
    bt_pair_assert_exc(&p, EXC_PF, 0, HARNESS_CODE);
    cr_assert_eq(p.hb->v->cr2, 0x50000);
    cr_assert_eq(p.hb->v->r[R_ESI], 0x4fffe);
    bt_pair_free(&p);
}

/* 1: lodsb; cld; sub ecx, 1; jnz 1b; hlt, entered with DF set and ECX = 4
 * A self-loop whose body clears DF after its LODSB: the first pass steps
 * down, the others up (no in-block copy of the body, which would assume
 * the entry's DF). */
Test(bt_strings, loop_that_clears_df)
{
    static const uint8_t code[] = { 0xac, 0xfc, 0x83, 0xe9, 0x01, 0x75, 0xf9, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    struct harness *hs[2] = { p.hi, p.hb };
    for (int i = 0; i < 2; i++) {
        hs[i]->v->r[R_ESI] = HARNESS_DATA + 0x10;
        hs[i]->v->r[R_ECX] = 4;
        hs[i]->v->eflags |= F_DF;
    }
    bt_pair_run(&p, 10000);
    bt_pair_compare_state(&p);
    cr_assert_eq(p.hb->v->r[R_ESI], HARNESS_DATA + 0x10 + 2);
    bt_pair_free(&p);
}
