/* The linear view (memory/lin_view.h, MODE_LIN_DIRECT in bt_gen.c): at CPL
 * 0 with paging on and CR4.PGE, translated code accesses memory at the
 * linear view's address plus the linear address; global supervisor TLB
 * entries are mapped there, everything else faults to the access's TLB
 * probe (and from there to the interpreter's handler). Each test runs the
 * same ring-0 code under the interpreter and the translator (harness:
 * identity paging of the first 4 MiB, page 0x50 not present, PTEs global
 * unless a test says otherwise) and requires the same state, then checks
 * the values and that the translator used the view. Snippets are
 * assembled for HARNESS_CODE (GNU as --32, Intel syntax; the source is above
 * each array). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "cpu/machine.h"
#include "cpu/segment.h"
#include "harness.h"
#include "memory/tlb.h"
#include "translator/bt.h"

#define PT 0x31000u /* the harness's page table */
#define G 0x100u    /* PTE global */

static void pte(struct pair *p, uint32_t page, uint32_t val)
{
    harness_write32(p->hi, PT + 4 * page, val);
    harness_write32(p->hb, PT + 4 * page, val);
}

static void poke32(struct pair *p, uint32_t pa, uint32_t val)
{
    harness_write32(p->hi, pa, val);
    harness_write32(p->hb, pa, val);
}

/* Both machines: identity paging with PTE flags `flags`, CR4.PGE on. */
static void setup_global(struct pair *p, const uint8_t *code, size_t len, uint32_t flags)
{
    bt_pair_setup(p, H_PROT32, code, len);
    struct harness *hs[2] = { p->hi, p->hb };
    for (int i = 0; i < 2; i++) {
        harness_identity_paging(hs[i], flags, 0x50);
        hs[i]->v->cr4 |= CR4_PGE;
        hs[i]->v->cr0 |= CR0_WP;
        tlb_flush_all(&hs[i]->v->tlb);
        cpu_update_mode(hs[i]->v);
    }
}

static void run_compare(struct pair *p)
{
    bt_pair_run(p, 100000);
    bt_pair_compare_state(p);
    bt_pair_compare_range(p, PT, 0x1000);
    bt_pair_compare_range(p, HARNESS_STACK0 - 0x100, 0x100);
}

/* mov esi, 0x20000; mov dword [esi], 0x11223344; mov ecx, 100
 * 1: add [esi+4], ecx; mov eax, [esi]; add ebx, eax; dec ecx; jnz 1b
 * mov edx, [esi+4]; hlt
 * The first write finds the page clean (read-only in the view until the
 * walk sets Dirty), the loop's read-modify-write and read then hit. */
Test(bt_linview, reads_and_writes_through_global_pages)
{
    static const uint8_t code[] = { 0xbe, 0x00, 0x00, 0x02, 0x00, 0xc7, 0x06, 0x44, 0x33, 0x22, 0x11, 0xb9, 0x64, 0x00, 0x00,
                                    0x00, 0x01, 0x4e, 0x04, 0x8b, 0x06, 0x01, 0xc3, 0x49, 0x75, 0xf6, 0x8b, 0x56, 0x04, 0xf4 };
    struct pair p;
    setup_global(&p, code, sizeof(code), G | 3);
    poke32(&p, 0x20004, 1000);
    uint32_t ebx = p.hb->v->r[R_EBX];
    run_compare(&p);
    bt_pair_compare_range(&p, 0x20000, 0x1000);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(harness_read32(p.hb, 0x20000), 0x11223344);
    cr_assert_eq(v->r[R_EDX], 1000 + 5050);
    cr_assert_eq(v->r[R_EBX], ebx + 100u * 0x11223344u);
    cr_assert_eq(harness_read32(p.hb, PT + 4 * 0x20), 0x20000u | G | 0x60 | 3, "PTE %#x", harness_read32(p.hb, PT + 0x80));
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.probes_lin, 4);
    cr_assert_geq(st.lin_maps, 2); /* the code's page, the data page (read-only, then writable) */
    bt_pair_free(&p);
}

/* mov eax, [0x21000]; mov ecx, [PTE 0x21]; mov dword [0x21000], 5; mov edx, [PTE 0x21]; hlt
 * Accessed after the read, Dirty only after the write, in both. */
Test(bt_linview, the_first_write_sets_dirty)
{
    static const uint8_t code[] = { 0xa1, 0x00, 0x10, 0x02, 0x00, 0x8b, 0x0d, 0x84, 0x10, 0x03, 0x00, 0xc7, 0x05, 0x00,
                                    0x10, 0x02, 0x00, 0x05, 0x00, 0x00, 0x00, 0x8b, 0x15, 0x84, 0x10, 0x03, 0x00, 0xf4 };
    struct pair p;
    setup_global(&p, code, sizeof(code), G | 3);
    poke32(&p, 0x21000, 77);
    run_compare(&p);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 77);
    cr_assert_eq(v->r[R_ECX], 0x21000u | G | 0x20 | 3, "ecx %#x", v->r[R_ECX]);
    cr_assert_eq(v->r[R_EDX], 0x21000u | G | 0x60 | 3, "edx %#x", v->r[R_EDX]);
    cr_assert_eq(harness_read32(p.hb, 0x21000), 5);
    bt_pair_free(&p);
}

/* The remapping snippets below: read page 0x22 (frame 0x22 holds 0xaaaa)
 * into EAX, point its PTE at frame 0x23 (0xbbbb), do something, read it
 * again into EBX. Runs both machines; returns the translator's EBX. */
static uint32_t run_remap(struct pair *p, const uint8_t *code, size_t len)
{
    setup_global(p, code, len, G | 3);
    poke32(p, 0x22000, 0xaaaa);
    poke32(p, 0x23000, 0xbbbb);
    run_compare(p);
    cr_assert_eq(p->hb->v->r[R_EAX], 0xaaaa);
    return p->hb->v->r[R_EBX];
}

/* mov eax, [0x22000]; mov dword [PTE 0x22], 0x23000 | G | 3; invlpg [0x22000]; mov ebx, [0x22000]; hlt
 * INVLPG drops the global page from the view: the read after it sees the
 * new frame. */
Test(bt_linview, invlpg_unmaps_a_global_page)
{
    static const uint8_t code[] = { 0xa1, 0x00, 0x20, 0x02, 0x00, 0xc7, 0x05, 0x88, 0x10, 0x03, 0x00, 0x03, 0x31, 0x02, 0x00,
                                    0x0f, 0x01, 0x3d, 0x00, 0x20, 0x02, 0x00, 0x8b, 0x1d, 0x00, 0x20, 0x02, 0x00, 0xf4 };
    struct pair p;
    cr_assert_eq(run_remap(&p, code, sizeof(code)), 0xbbbb);
    cr_assert_geq(bt_pair_stats(&p).lin_unmaps, 1);
    bt_pair_free(&p);
}

/* mov eax, [0x22000]; mov dword [PTE 0x22], 0x23000 | G | 3;
 * mov ecx, cr4; and ecx, ~PGE; mov cr4, ecx; or ecx, PGE; mov cr4, ecx;
 * mov ebx, [0x22000]; hlt
 * Turning CR4.PGE off and on flushes global entries: the view is emptied. */
Test(bt_linview, toggling_pge_empties_the_view)
{
    static const uint8_t code[] = { 0xa1, 0x00, 0x20, 0x02, 0x00, 0xc7, 0x05, 0x88, 0x10, 0x03, 0x00, 0x03, 0x31, 0x02,
                                    0x00, 0x0f, 0x20, 0xe1, 0x81, 0xe1, 0x7f, 0xff, 0xff, 0xff, 0x0f, 0x22, 0xe1, 0x81,
                                    0xc9, 0x80, 0x00, 0x00, 0x00, 0x0f, 0x22, 0xe1, 0x8b, 0x1d, 0x00, 0x20, 0x02, 0x00, 0xf4 };
    struct pair p;
    cr_assert_eq(run_remap(&p, code, sizeof(code)), 0xbbbb);
    cr_assert_geq(bt_pair_stats(&p).lin_clears, 1);
    bt_pair_free(&p);
}

/* mov eax, [0x22000]; mov dword [PTE 0x22], 0x23000 | G | 3; mov ecx, cr3; mov cr3, ecx;
 * mov ebx, [0x22000]; hlt
 * MOV CR3 keeps global translations (as the processor's TLB does): both
 * engines still read the old frame, the interpreter from its TLB, the
 * translator from the view. */
Test(bt_linview, mov_cr3_keeps_global_translations)
{
    static const uint8_t code[] = { 0xa1, 0x00, 0x20, 0x02, 0x00, 0xc7, 0x05, 0x88, 0x10, 0x03, 0x00, 0x03, 0x31, 0x02,
                                    0x00, 0x0f, 0x20, 0xd9, 0x0f, 0x22, 0xd9, 0x8b, 0x1d, 0x00, 0x20, 0x02, 0x00, 0xf4 };
    struct pair p;
    cr_assert_eq(run_remap(&p, code, sizeof(code)), 0xaaaa);
    bt_pair_free(&p);
}

/* mov dword [0x24000], 0x000001b8; mov dword [0x24004], 0x9090c300;
 * call 0x24000; mov ecx, eax; mov byte [0x24001], 2; call 0x24000; hlt
 * A data page written through the view (writable there) becomes code at
 * the first call (read-only in the view from then on); the byte written
 * after it must drop that code: the second call returns 2. */
Test(bt_linview, writing_a_page_that_became_code)
{
    static const uint8_t code[] = { 0xc7, 0x05, 0x00, 0x40, 0x02, 0x00, 0xb8, 0x01, 0x00, 0x00, 0xc7, 0x05, 0x04, 0x40,
                                    0x02, 0x00, 0x00, 0xc3, 0x90, 0x90, 0xe8, 0xe7, 0x3f, 0x01, 0x00, 0x89, 0xc1, 0xc6,
                                    0x05, 0x01, 0x40, 0x02, 0x00, 0x02, 0xe8, 0xd9, 0x3f, 0x01, 0x00, 0xf4 };
    struct pair p;
    setup_global(&p, code, sizeof(code), G | 3);
    run_compare(&p);
    bt_pair_compare_range(&p, 0x24000, 0x10);
    cr_assert_eq(p.hb->v->r[R_ECX], 1);
    cr_assert_eq(p.hb->v->r[R_EAX], 2);
    cr_assert_geq(bt_pair_stats(&p).lin_revokes, 1);
    bt_pair_free(&p);
}

/* mov dword [0x25000], 7; hlt — page 0x25 global and read-only, CR0.WP set:
 * #PF, error code P|W, CR2 the address, nothing written. */
Test(bt_linview, a_read_only_global_page_faults_on_write)
{
    static const uint8_t code[] = { 0xc7, 0x05, 0x00, 0x50, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0xf4 };
    struct pair p;
    setup_global(&p, code, sizeof(code), G | 3);
    pte(&p, 0x25, 0x25000u | G | 1);
    poke32(&p, 0x25000, 3);
    run_compare(&p);
    bt_pair_assert_exc(&p, EXC_PF, 3, HARNESS_CODE);
    cr_assert_eq(p.hb->v->cr2, 0x25000);
    cr_assert_eq(harness_read32(p.hb, 0x25000), 3);
    bt_pair_free(&p);
}

/* mov ecx, 40; 1: add eax, [0x26000]; dec ecx; jnz 1b; hlt — page 0x26 not
 * global: the view never holds it. Its one site is sent to the TLB probe
 * once the TLB holds the page as non-global, not after a fault per pass. */
Test(bt_linview, a_non_global_page_goes_through_the_tlb)
{
    static const uint8_t code[] = { 0xb9, 0x28, 0x00, 0x00, 0x00, 0x03, 0x05, 0x00, 0x60,
                                    0x02, 0x00, 0x49, 0x75, 0xf7, 0xf4 };
    struct pair p;
    setup_global(&p, code, sizeof(code), G | 3);
    pte(&p, 0x26, 0x26000u | 3);
    poke32(&p, 0x26000, 3);
    uint32_t eax = p.hb->v->r[R_EAX];
    run_compare(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], eax + 120);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.view_sites_patched, 1);
    cr_assert_leq(st.view_faults, 4, "%llu faults", (unsigned long long)st.view_faults);
    bt_pair_free(&p);
}

/* mov ecx, 40; 1: add eax, [0x26000]; add ebx, [0x20000]; dec ecx; jnz 1b; hlt
 * Page 0x26 (not global) maps frame 0x27: its access faults in the view
 * and the cold path finds it in the TLB; the access after it, to a global
 * page in the same block, goes through the view's base that the main path
 * keeps in r9 (no reload): the cold path must leave r9 the view's base
 * (the TLB entry's addend there would read frame 0x21 for [0x20000]). */
static void keeps_view_base_run(bool no_r9_view)
{
    static const uint8_t code[] = { 0xb9, 0x28, 0x00, 0x00, 0x00, 0x03, 0x05, 0x00, 0x60, 0x02, 0x00,
                                    0x03, 0x1d, 0x00, 0x00, 0x02, 0x00, 0x49, 0x75, 0xf1, 0xf4 };
    if (no_r9_view) setenv("BT86_BT_NO_R9_VIEW", "1", 1);
    struct pair p;
    setup_global(&p, code, sizeof(code), G | 3);
    pte(&p, 0x26, 0x27000u | 3);
    poke32(&p, 0x26000, 1);
    poke32(&p, 0x27000, 3);
    poke32(&p, 0x20000, 5);
    poke32(&p, 0x21000, 7000);
    uint32_t eax = p.hb->v->r[R_EAX], ebx = p.hb->v->r[R_EBX];
    run_compare(&p);
    unsetenv("BT86_BT_NO_R9_VIEW"); /* (read when the run starts) */
    cr_assert_eq(p.hb->v->r[R_EAX], eax + 40 * 3);
    cr_assert_eq(p.hb->v->r[R_EBX], ebx + 40 * 5, "ebx %#x", p.hb->v->r[R_EBX]);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.view_faults, 1);
    if (no_r9_view) cr_assert_eq(st.view_base_kept, 0);
    else cr_assert_geq(st.view_base_kept, 1);
    bt_pair_free(&p);
}

Test(bt_linview, a_tlb_hit_in_the_cold_path_keeps_the_view_base) { keeps_view_base_run(false); }
Test(bt_linview, a_tlb_hit_in_the_cold_path_with_every_access_loading_the_base) { keeps_view_base_run(true); }

/* mov dword [0x4f000], 1; mov dword [0x4fffe], 0x12345678; hlt — the second
 * write straddles into page 0x50, not present: #PF for a write (error 2)
 * at CR2 0x50000, and its first two bytes are not written. */
Test(bt_linview, a_write_into_an_absent_page_writes_nothing)
{
    static const uint8_t code[] = { 0xc7, 0x05, 0x00, 0xf0, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0xc7,
                                    0x05, 0xfe, 0xff, 0x04, 0x00, 0x78, 0x56, 0x34, 0x12, 0xf4 };
    struct pair p;
    setup_global(&p, code, sizeof(code), G | 3);
    poke32(&p, 0x4fffc, 0xcafebabe);
    run_compare(&p);
    bt_pair_compare_range(&p, 0x4f000, 0x1000);
    bt_pair_assert_exc(&p, EXC_PF, 2, HARNESS_CODE + 10);
    cr_assert_eq(p.hb->v->cr2, 0x50000);
    cr_assert_eq(harness_read32(p.hb, 0x4f000), 1);
    cr_assert_eq(harness_read32(p.hb, 0x4fffc), 0xcafebabe);
    bt_pair_free(&p);
}

/* mov eax, [0x3ff000]; mov dword [0x3ff004], 9; mov ebx, [0x3ff004]; hlt
 * A global page over unassigned physical memory (32 MiB, past RAM): never
 * in the view, reads see all ones and writes vanish, as in the
 * interpreter. */
Test(bt_linview, unassigned_memory_behind_a_global_page)
{
    static const uint8_t code[] = { 0xa1, 0x00, 0xf0, 0x3f, 0x00, 0xc7, 0x05, 0x04, 0xf0, 0x3f, 0x00,
                                    0x09, 0x00, 0x00, 0x00, 0x8b, 0x1d, 0x04, 0xf0, 0x3f, 0x00, 0xf4 };
    struct pair p;
    setup_global(&p, code, sizeof(code), G | 3);
    pte(&p, 0x3ff, 0x2000000u | G | 3);
    run_compare(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], 0xffffffff);
    cr_assert_eq(p.hb->v->r[R_EBX], 0xffffffff);
    bt_pair_free(&p);
}

/* push dword [0x20000]; push dword [0x20004]; push dword [0x20000]; pop eax; pop ebx; pop ecx; hlt
 * The stack's page is not global: each PUSH m32's stack write faults in
 * the view and its cold path finds the page in the TLB, with the value
 * read from memory waiting in the host's red zone (which the cold path's
 * own saves must leave alone). */
Test(bt_linview, push_m32_onto_a_non_global_stack)
{
    static const uint8_t code[] = { 0xff, 0x35, 0x00, 0x00, 0x02, 0x00, 0xff, 0x35, 0x04, 0x00, 0x02,
                                    0x00, 0xff, 0x35, 0x00, 0x00, 0x02, 0x00, 0x58, 0x5b, 0x59, 0xf4 };
    struct pair p;
    setup_global(&p, code, sizeof(code), G | 3);
    uint32_t sp = HARNESS_STACK >> 12;
    pte(&p, sp, sp << 12 | 0x60 | 3); /* dirty already: the TLB entry is writable at once */
    poke32(&p, 0x20000, 0x1234);
    poke32(&p, 0x20004, 0x5678);
    run_compare(&p);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x1234);
    cr_assert_eq(p.hb->v->r[R_EBX], 0x5678);
    cr_assert_eq(p.hb->v->r[R_ECX], 0x1234);
    cr_assert_geq(bt_pair_stats(&p).view_faults, 1);
    bt_pair_free(&p);
}

/* ---------- the user view (MODE_ULIN_DIRECT) ---------- */

/* Both machines at CPL 3 with identity paging of user pages (flags 7), the
 * user view turned on at the second dispatch (BT86_BT_USER_VIEW_AFTER=0;
 * normally after 2M instructions of one address space). Each snippet
 * starts with two CPUIDs: each ends a block, so the view is on before the
 * code after them is translated. HLT at CPL 3 then ends it with #GP(0). */
static void setup_user(struct pair *p, const uint8_t *code, size_t len)
{
    setenv("BT86_BT_USER_VIEW_AFTER", "0", 1);
    bt_pair_setup(p, H_USER32, code, len);
    harness_identity_paging(p->hi, 7, 0x50);
    harness_identity_paging(p->hb, 7, 0x50);
}

/* cpuid; cpuid; mov ecx, 50; 1: add [0x20000], ecx; mov eax, [0x20000];
 * add ebx, [0x21000]; dec ecx; jnz 1b; mov edx, [0x20000]; mov esi, [PTE 0x20]; hlt */
Test(bt_linview, user_code_reads_and_writes_through_the_user_view)
{
    static const uint8_t code[] = { 0x0f, 0xa2, 0x0f, 0xa2, 0xb9, 0x32, 0x00, 0x00, 0x00, 0x01, 0x0d, 0x00, 0x00, 0x02,
                                    0x00, 0xa1, 0x00, 0x00, 0x02, 0x00, 0x03, 0x1d, 0x00, 0x10, 0x02, 0x00, 0x49, 0x75,
                                    0xec, 0x8b, 0x15, 0x00, 0x00, 0x02, 0x00, 0x8b, 0x35, 0x80, 0x10, 0x03, 0x00, 0xf4 };
    struct pair p;
    setup_user(&p, code, sizeof(code));
    poke32(&p, 0x20000, 1000);
    poke32(&p, 0x21000, 3);
    run_compare(&p);
    bt_pair_compare_range(&p, 0x20000, 0x1000);
    bt_pair_assert_exc(&p, EXC_GP, 0, HARNESS_CODE + sizeof(code) - 1);
    cr_assert_eq(p.hb->v->r[R_EDX], 1000 + 1275);
    cr_assert_eq(p.hb->v->r[R_ESI], 0x20000u | 0x60 | 7, "PTE %#x", p.hb->v->r[R_ESI]);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.probes_lin, 4);
    cr_assert_geq(st.ulin_maps, 3); /* the data pages and the page table */
    bt_pair_free(&p);
}

/* cpuid; cpuid; mov eax, [0x22000]; mov dword [0x22000], 7; hlt — page 0x22
 * user read-only: the read maps it read-only, the write is #PF with error
 * P|W|U, nothing written. */
Test(bt_linview, user_view_write_to_a_read_only_page)
{
    static const uint8_t code[] = { 0x0f, 0xa2, 0x0f, 0xa2, 0xa1, 0x00, 0x20, 0x02, 0x00, 0xc7,
                                    0x05, 0x00, 0x20, 0x02, 0x00, 0x07, 0x00, 0x00, 0x00, 0xf4 };
    struct pair p;
    setup_user(&p, code, sizeof(code));
    pte(&p, 0x22, 0x22000u | 5);
    poke32(&p, 0x22000, 41);
    run_compare(&p);
    bt_pair_assert_exc(&p, EXC_PF, 7, HARNESS_CODE + 9);
    cr_assert_eq(p.hb->v->cr2, 0x22000);
    cr_assert_eq(p.hb->v->r[R_EAX], 41);
    cr_assert_eq(harness_read32(p.hb, 0x22000), 41);
    cr_assert_geq(bt_pair_stats(&p).probes_lin, 2);
    bt_pair_free(&p);
}

/* cpuid; cpuid; mov eax, [0x23000]; hlt — page 0x23 supervisor only: a user
 * read is #PF with error P|U (the user view never maps it). */
Test(bt_linview, user_view_never_maps_a_supervisor_page)
{
    static const uint8_t code[] = { 0x0f, 0xa2, 0x0f, 0xa2, 0xa1, 0x00, 0x30, 0x02, 0x00, 0xf4 };
    struct pair p;
    setup_user(&p, code, sizeof(code));
    pte(&p, 0x23, 0x23000u | 3);
    run_compare(&p);
    bt_pair_assert_exc(&p, EXC_PF, 5, HARNESS_CODE + 4);
    cr_assert_eq(p.hb->v->cr2, 0x23000);
    cr_assert_geq(bt_pair_stats(&p).probes_lin, 1);
    bt_pair_free(&p);
}
