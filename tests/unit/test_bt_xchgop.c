/* CMPXCHG and XADD without LOCK translated natively (bt_gen.c: K_XCHGOP):
 * the host instruction on the probed operand, with the flags of CMP
 * EAX, dst or ADD dst, src (the memory form of CMPXCHG writes either way,
 * as the interpreter's and the CPU's do). Linux on one vCPU patches its
 * LOCK prefixes to DS, so its atomics take this path. Each test runs the
 * same code under the interpreter and the translator and requires the same
 * state and memory. Snippets are assembled for HARNESS_CODE (GNU as --32,
 * Intel syntax; the source is above each array). */
#include <criterion/criterion.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "cpu/segment.h"
#include "memory/tlb.h"
#include "harness.h"
#include "translator/bt.h"

/* mov [0x2000c], esi; jmp 1f (the TLB holds the page for writing from here
 * on: with paging off a read would not put it there, see test_bt_direct);
 * 1: mov eax, 5; mov ecx, 9; cmpxchg [0x20000], ecx; setz bl;
 * cmpxchg [0x20000], ecx; setz bh; xadd [0x20004], ecx; mov edx, 7;
 * mov edi, 7; cmpxchg di, dx; xadd edx, edx; hlt */
Test(bt_xchgop, cmpxchg_and_xadd)
{
    static const uint8_t code[] = { 0x89, 0x35, 0x0c, 0x00, 0x02, 0x00, 0xeb, 0x00, 0xb8, 0x05, 0x00, 0x00, 0x00,
                                    0xb9, 0x09, 0x00, 0x00, 0x00, 0x0f, 0xb1, 0x0d, 0x00, 0x00, 0x02, 0x00, 0x0f,
                                    0x94, 0xc3, 0x0f, 0xb1, 0x0d, 0x00, 0x00, 0x02, 0x00, 0x0f, 0x94, 0xc7, 0x0f,
                                    0xc1, 0x0d, 0x04, 0x00, 0x02, 0x00, 0xba, 0x07, 0x00, 0x00, 0x00, 0xbf, 0x07,
                                    0x00, 0x00, 0x00, 0x66, 0x0f, 0xb1, 0xd7, 0x0f, 0xc1, 0xd2, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    struct harness *hs[2] = { p.hi, p.hb };
    for (int i = 0; i < 2; i++) {
        harness_write32(hs[i], HARNESS_DATA, 5);
        harness_write32(hs[i], HARNESS_DATA + 4, 0x7fffffff);
    }
    bt_pair_run(&p, 1000);
    bt_pair_compare_state(&p);
    bt_pair_compare_range(&p, HARNESS_DATA, 16);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(harness_read32(p.hb, HARNESS_DATA), 9);            /* the first CMPXCHG stored ECX */
    cr_assert_eq(v->r[R_EBX] & 0xffff, 0x0001);                      /* ZF: set, then clear */
    cr_assert_eq(harness_read32(p.hb, HARNESS_DATA + 4), 0x80000008); /* XADD's sum */
    cr_assert_eq(v->r[R_ECX], 0x7fffffff);                           /* ... and the old value */
    cr_assert_eq(v->r[R_EAX], 7);                                    /* CMPXCHG DI, DX failed: AX = DI */
    cr_assert_eq(v->r[R_EDX], 14);                                   /* XADD EDX, EDX: the sum wins */
    cr_assert_eq(bt_pair_stats(&p).fallback, 1); /* (the HLT) */
    bt_pair_free(&p);
}

/* mov eax, 1; cmp eax, 2; cmpxchg [esi+0xff8], ecx
 * (user mode, page 0x4f read-only): #PF error 7 with EAX and the CMP's
 * flags unchanged, nothing written. */
Test(bt_xchgop, write_fault_changes_nothing)
{
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0x83, 0xf8, 0x02,
                                    0x0f, 0xb1, 0x8e, 0xf8, 0x0f, 0x00, 0x00, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_USER32, code, sizeof(code));
    struct harness *hs[2] = { p.hi, p.hb };
    for (int i = 0; i < 2; i++) {
        harness_identity_paging(hs[i], 7, 0x50);
        harness_write32(hs[i], 0x31000 + 4 * 0x4f, 0x4f000 | 5);
        harness_write32(hs[i], 0x4fff8, 1);
        hs[i]->v->cr0 |= CR0_WP;
        hs[i]->v->r[R_ESI] = 0x4f000;
    }
    bt_pair_run(&p, 1000);
    bt_pair_compare_state(&p);
    bt_pair_compare_range(&p, 0x4f000, 0x1000);
    bt_pair_assert_exc(&p, EXC_PF, 7, HARNESS_CODE + 8);
    cr_assert_eq(p.hb->v->cr2, 0x4fff8);
    cr_assert_eq(bt_pair_frame_flags(&p, true), F_CF | F_PF | F_AF | F_SF, "flags %#x", bt_pair_frame_flags(&p, true));
    cr_assert_eq(harness_read32(p.hb, 0x4fff8), 1);
    bt_pair_free(&p);
}

/* mov eax, 0x11223344; mov esp, 0x8ff00; bswap eax; mov ebx, 0xaabbccdd;
 * bswap ebx; bswap esp; mov ecx, esp; bswap esp; bswap edi; hlt
 * BSWAP r32 natively (K_BSWAP), ESP (r12) included; flags untouched (the
 * seeded CF|AF come through). Linux's fork path ran ~100 per fork through
 * the interpreter's handler before. */
Test(bt_xchgop, bswap)
{
    static const uint8_t code[] = { 0xb8, 0x44, 0x33, 0x22, 0x11, 0xbc, 0x00, 0xff, 0x08, 0x00, 0x0f, 0xc8, 0xbb, 0xdd,
                                    0xcc, 0xbb, 0xaa, 0x0f, 0xcb, 0x0f, 0xcc, 0x89, 0xe1, 0x0f, 0xcc, 0x0f, 0xcf, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    uint32_t edi = p.hb->v->r[R_EDI];
    bt_pair_run(&p, 1000);
    bt_pair_compare_state(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 0x44332211);
    cr_assert_eq(v->r[R_EBX], 0xddccbbaa);
    cr_assert_eq(v->r[R_ECX], 0x00ff0800);
    cr_assert_eq(v->r[R_ESP], 0x8ff00);
    cr_assert_eq(v->r[R_EDI], __builtin_bswap32(edi));
    cr_assert_eq(v->eflags & (F_CF | F_AF), F_CF | F_AF);
    cr_assert_eq(bt_pair_stats(&p).fallback, 1, "only the HLT calls the interpreter (%llu)",
                 (unsigned long long)bt_pair_stats(&p).fallback);
    bt_pair_free(&p);
}

/* mov [0x2000c], esi; jmp 1f; 1: mov eax, 1; mov edx, 2; mov ebx, 0x33;
 * mov ecx, 0x44; cmpxchg8b [0x20000]; setz [0x20020]; cmpxchg8b [0x20000];
 * setz [0x20021]; mov esi, 0x20008; cmpxchg8b [esi]; setz [0x20022]; hlt
 * CMPXCHG8B natively (K_CX8): a match stores ECX:EBX, a mismatch loads
 * EDX:EAX; only ZF changes. With paging off (the physical view), paging on
 * (the TLB probe) and paging on with global pages (the linear view). */
static void cx8_case(int paging)
{
    static const uint8_t code[] = { 0x89, 0x35, 0x0c, 0x00, 0x02, 0x00, 0xeb, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00,
                                    0xba, 0x02, 0x00, 0x00, 0x00, 0xbb, 0x33, 0x00, 0x00, 0x00, 0xb9, 0x44, 0x00,
                                    0x00, 0x00, 0x0f, 0xc7, 0x0d, 0x00, 0x00, 0x02, 0x00, 0x0f, 0x94, 0x05, 0x20,
                                    0x00, 0x02, 0x00, 0x0f, 0xc7, 0x0d, 0x00, 0x00, 0x02, 0x00, 0x0f, 0x94, 0x05,
                                    0x21, 0x00, 0x02, 0x00, 0xbe, 0x08, 0x00, 0x02, 0x00, 0x0f, 0xc7, 0x0e, 0x0f,
                                    0x94, 0x05, 0x22, 0x00, 0x02, 0x00, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    struct harness *hs[2] = { p.hi, p.hb };
    for (int i = 0; i < 2; i++) {
        if (paging) {
            harness_identity_paging(hs[i], paging == 2 ? 0x103 : 3, 0x50);
            if (paging == 2) hs[i]->v->cr4 |= CR4_PGE;
            tlb_flush_all(&hs[i]->v->tlb);
            cpu_update_mode(hs[i]->v);
        }
        harness_write32(hs[i], HARNESS_DATA, 1);
        harness_write32(hs[i], HARNESS_DATA + 4, 2);
        harness_write32(hs[i], HARNESS_DATA + 8, 7);
    }
    uint32_t esi = p.hb->v->r[R_ESI];
    bt_pair_run(&p, 1000);
    bt_pair_compare_state(&p);
    bt_pair_compare_range(&p, HARNESS_DATA, 0x30);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(harness_read32(p.hb, HARNESS_DATA), 0x33);
    cr_assert_eq(harness_read32(p.hb, HARNESS_DATA + 4), 0x44);
    cr_assert_eq(harness_read32(p.hb, HARNESS_DATA + 0x20) & 0xffffff, 0x000001); /* ZF: set, clear, clear */
    cr_assert_eq(v->r[R_EAX], 7);
    cr_assert_eq(v->r[R_EDX], esi);
    cr_assert_eq(bt_pair_stats(&p).fallback, 1, "only the HLT calls the interpreter (%llu)",
                 (unsigned long long)bt_pair_stats(&p).fallback);
    bt_pair_free(&p);
}

Test(bt_xchgop, cmpxchg8b_paging_off) { cx8_case(0); }
Test(bt_xchgop, cmpxchg8b_paging_on) { cx8_case(1); }
Test(bt_xchgop, cmpxchg8b_global_pages) { cx8_case(2); }
