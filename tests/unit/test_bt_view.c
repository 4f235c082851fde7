/* Accesses through the physical view (memory/phys_view.c, bt_gen.c:
 * gen_view_probe, bt_fault.c): with paging off the translator reads and
 * writes guest memory at view + address with no check; a page that is not
 * plain RAM faults, and so does a write to a page holding decoded code
 * (read-only in the view), and the SIGSEGV handler sends the access to its
 * cold path (the interpreter's handler for the whole instruction). Each test runs the same
 * ring-0 code (harness: 16 MiB of RAM, paging off) under the interpreter
 * and the translator and requires the same state; a counting MMIO device
 * at 0x800000 (inside RAM, so hidden from the view) shows that each read
 * reached the device exactly once. Snippets are assembled for HARNESS_CODE
 * (GNU as --32, Intel syntax; the source is above each array). */
#include <criterion/criterion.h>
#include <signal.h>
#include <unistd.h>

#include "bt_pair.h"
#include "cpu/interp.h"
#include "cpu/machine.h"
#include "harness.h"
#include "translator/bt.h"

#define DEV_BASE 0x800000u

struct dev {
    uint32_t reads, writes;
    uint32_t last_off, last_val;
    int last_size;
};

static uint32_t dev_read(void *opaque, uint32_t off, int size)
{
    struct dev *d = opaque;
    d->reads++;
    return 0x5a000000u | off << 8 | (uint32_t)size;
}

static void dev_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct dev *d = opaque;
    d->writes++;
    d->last_off = off;
    d->last_val = val;
    d->last_size = size;
}

/* The pair, each machine with its own device. */
static void setup(struct pair *p, const uint8_t *code, size_t len, struct dev d[2])
{
    bt_pair_setup(p, H_PROT32, code, len);
    struct harness *hs[2] = { p->hi, p->hb };
    for (int i = 0; i < 2; i++) {
        d[i] = (struct dev){ 0 };
        struct mmio_region r = { DEV_BASE, 0x1000, dev_read, dev_write, &d[i], "count" };
        cr_assert_eq(phys_add_mmio(&hs[i]->m.mem, &r), 0);
        cr_assert_not_null(hs[i]->m.mem.view);
        harness_write32(hs[i], 0x900000, 0x600dcafe); /* RAM above the device */
    }
}

/* The pair set up, run to its HLT and compared. */
static void run(struct pair *p, const uint8_t *code, size_t len, struct dev d[2])
{
    setup(p, code, len, d);
    bt_pair_run(p, 1000);
    bt_pair_compare_state(p);
}

/* mov eax, [0x800000]; mov ebx, [0x800004]; mov ecx, [0x900000]; hlt
 * Two device reads (each a fault, then the fallback) and a RAM read above
 * the device (through the view, no fault). */
static const uint8_t device_reads[] = { 0xa1, 0x00, 0x00, 0x80, 0x00, 0x8b, 0x1d, 0x04, 0x00,
                                        0x80, 0x00, 0x8b, 0x0d, 0x00, 0x00, 0x90, 0x00, 0xf4 };

/* The second and third accesses use the view's base the first one's MOVABS
 * left in r9, each after a device fault's cold path (which loads r9 again
 * before it resumes: ECX is the RAM's word, read through the view after the
 * second fault); with BT86_BT_NO_R9_VIEW=1 each loads it itself. */
static void device_reads_run(bool no_r9_view)
{
    if (no_r9_view) setenv("BT86_BT_NO_R9_VIEW", "1", 1);
    struct pair p;
    struct dev d[2];
    run(&p, device_reads, sizeof(device_reads), d);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 0x5a000004);
    cr_assert_eq(v->r[R_EBX], 0x5a000404);
    cr_assert_eq(v->r[R_ECX], 0x600dcafe);
    cr_assert_eq(d[0].reads, 2);
    cr_assert_eq(d[1].reads, 2);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_eq(st.view_faults, 2);
    cr_assert_eq(st.probes_direct, 3);
    cr_assert_eq(st.view_base_kept, no_r9_view ? 0u : 2u);
    bt_pair_free(&p);
    unsetenv("BT86_BT_NO_R9_VIEW");
}

Test(bt_view, device_reads_fault_to_the_fallback) { device_reads_run(false); }
Test(bt_view, device_reads_with_every_access_loading_the_view_base) { device_reads_run(true); }

/* mov esi, 0x900000; mov edi, N; xor ebp, ebp; 1: add ebp, [esi]; (daa); sub edi, 1; jnz 1b; hlt
 * An in-block loop (gen_loop) whose body reads through the view: entered
 * with r9 = the view's base when its body leaves r9 so at the back edge
 * (its second body's access then loads no base), not when something after
 * the access writes r9 (DAA: a fallback, a C call); the RAM word added N
 * times either way. */
static void loop_view_base_run(bool with_daa)
{
    static const uint8_t plain[] = { 0xbe, 0x00, 0x00, 0x90, 0x00, 0xbf, 0x20, 0x00, 0x00, 0x00, 0x31,
                                     0xed, 0x03, 0x2e, 0x83, 0xef, 0x01, 0x75, 0xf9, 0xf4 };
    static const uint8_t daa[] = { 0xbe, 0x00, 0x00, 0x90, 0x00, 0xbf, 0x20, 0x00, 0x00, 0x00, 0x31,
                                   0xed, 0x03, 0x2e, 0x27, 0x83, 0xef, 0x01, 0x75, 0xf8, 0xf4 };
    struct pair p;
    struct dev d[2];
    setup(&p, with_daa ? daa : plain, with_daa ? sizeof(daa) : sizeof(plain), d);
    bt_pair_run(&p, 1000000); /* (far from the limit: the loop's second body runs) */
    bt_pair_compare_state(&p);
    struct vcpu *v = p.hb->v;
    cr_assert(v->halted);
    cr_assert_eq(v->r[R_EBP], 32u * 0x600dcafeu, "ebp %#x", v->r[R_EBP]);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.loops, 1);
    if (with_daa) cr_assert_eq(st.view_base_kept, 0);
    else cr_assert_geq(st.view_base_kept, 1);
    bt_pair_free(&p);
}

Test(bt_view, a_loop_keeps_the_view_base_across_its_back_edge) { loop_view_base_run(false); }
Test(bt_view, a_loop_that_writes_r9_loads_the_view_base_each_pass) { loop_view_base_run(true); }

/* mov eax, 0x5a000004; cmp [0x800000], eax; sete bl; cmp eax, [0x900000]; setb bh; hlt
 * Latched CMPs (their operand loaded into r11 once, the load itself the
 * view access's fault site): the device's word faults to the fallback,
 * which compares it (equal) and leaves; the RAM word is compared from r11
 * (below: CF). */
Test(bt_view, latched_cmps_load_their_operand_once)
{
    static const uint8_t code[] = { 0xb8, 0x04, 0x00, 0x00, 0x5a, 0x39, 0x05, 0x00, 0x00, 0x80, 0x00, 0x0f,
                                    0x94, 0xc3, 0x3b, 0x05, 0x00, 0x00, 0x90, 0x00, 0x0f, 0x92, 0xc7, 0xf4 };
    struct pair p;
    struct dev d[2];
    run(&p, code, sizeof(code), d);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EBX] & 0xffff, 0x0101, "ebx %#x", v->r[R_EBX]);
    cr_assert_eq(v->eflags & F_ARITH, F_CF | F_PF | F_AF | F_SF, "eflags %#x", v->eflags); /* 0x5a000004 - 0x600dcafe = 0xf9f23506 */
    cr_assert_eq(d[1].reads, 1);
    struct bt_stats st = bt_pair_stats(&p);
    /* (three latches translated: the block, then the one after the
     * fallback that left, from SETE on; each load fused) */
    cr_assert_eq(st.latched, 3, "latched %llu", (unsigned long long)st.latched);
    cr_assert_eq(st.view_faults, 1);
    cr_assert_eq(st.view_fused, 3, "fused %llu", (unsigned long long)st.view_fused);
    bt_pair_free(&p);
}

/* mov eax, 0x80000001; shl eax, 1; mov edx, [0x800000]; pushfd;
 * mov eax, 0x80000001; shl eax, 1; mov [0x20004], edx; mov ecx, [0x800008]; pushfd;
 * mov eax, 1; cmp eax, 2; mov esi, [0x80000c]; pushfd; hlt
 * A faulting read with the guest flags in each place the main path keeps
 * them: live in RFLAGS (SHL's, which cannot be recomputed: the cold path
 * saves RFLAGS first), in r11 (saved there by the write's probe), and
 * recomputable (the CMP is run again). PUSHFD shows each. */
Test(bt_view, faults_keep_the_flags_wherever_they_are)
{
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x80, 0xd1, 0xe0, 0x8b, 0x15, 0x00, 0x00, 0x80, 0x00,
                                    0x9c, 0xb8, 0x01, 0x00, 0x00, 0x80, 0xd1, 0xe0, 0x89, 0x15, 0x04, 0x00, 0x02,
                                    0x00, 0x8b, 0x0d, 0x08, 0x00, 0x80, 0x00, 0x9c, 0xb8, 0x01, 0x00, 0x00, 0x00,
                                    0x83, 0xf8, 0x02, 0x8b, 0x35, 0x0c, 0x00, 0x80, 0x00, 0x9c, 0xf4 };
    struct pair p;
    struct dev d[2];
    run(&p, code, sizeof(code), d);
    bt_pair_compare_range(&p, HARNESS_STACK - 12, 12);
    bt_pair_compare_range(&p, HARNESS_DATA, 8);
    struct vcpu *v = p.hb->v;
    const uint32_t arith = F_CF | F_PF | F_ZF | F_SF | F_OF;
    cr_assert_eq(harness_read32(p.hb, HARNESS_STACK - 4) & arith, F_CF | F_OF);
    cr_assert_eq(harness_read32(p.hb, HARNESS_STACK - 8) & arith, F_CF | F_OF);
    cr_assert_eq(harness_read32(p.hb, HARNESS_STACK - 12) & (arith | F_AF), F_CF | F_PF | F_SF | F_AF);
    cr_assert_eq(v->r[R_EDX], 0x5a000004);
    cr_assert_eq(v->r[R_ECX], 0x5a000804);
    cr_assert_eq(v->r[R_ESI], 0x5a000c04);
    cr_assert_eq(d[0].reads, 3);
    cr_assert_eq(d[1].reads, 3);
    cr_assert_eq(bt_pair_stats(&p).view_faults, 3);
    bt_pair_free(&p);
}

/* mov ecx, 100; 1: add edx, [0x800010]; dec ecx; jnz 1b; hlt
 * A device register read in a loop: after BT86's BT_VIEW_FAULTS_MAX
 * (16) faults the site jumps to its cold path without faulting. */
Test(bt_view, a_site_that_keeps_faulting_stops_faulting)
{
    static const uint8_t code[] = { 0xb9, 0x64, 0x00, 0x00, 0x00, 0x03, 0x15, 0x10,
                                    0x00, 0x80, 0x00, 0x49, 0x75, 0xf7, 0xf4 };
    struct pair p;
    struct dev d[2];
    setup(&p, code, sizeof(code), d);
    uint32_t edx = p.hb->v->r[R_EDX];
    bt_pair_run(&p, 10000);
    bt_pair_compare_state(&p);
    cr_assert_eq(p.hb->v->r[R_EDX], edx + 100 * 0x5a001004u);
    cr_assert_eq(d[0].reads, 100);
    cr_assert_eq(d[1].reads, 100);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.view_sites_patched, 1);
    /* (the block's first run and the loop copy's sites: at most 16 each) */
    cr_assert_leq(st.view_faults, 2 * 16, "view faults %llu", (unsigned long long)st.view_faults);
    cr_assert_geq(st.view_faults, 16);
    bt_pair_free(&p);
}

/* movzx eax, byte [0xffffffff]; mov ebx, [0xfffffffc]; mov ecx, [0xfffffffe]; hlt
 * The top of the 4 GiB space: unassigned (all ones) through the fallback
 * after a fault in the view's reservation or its guard; the last read
 * wraps past 4 GiB, which the interpreter's handler decides. */
Test(bt_view, reads_at_the_top_of_4_gib)
{
    static const uint8_t code[] = { 0x0f, 0xb6, 0x05, 0xff, 0xff, 0xff, 0xff, 0x8b, 0x1d, 0xfc,
                                    0xff, 0xff, 0xff, 0x8b, 0x0d, 0xfe, 0xff, 0xff, 0xff, 0xf4 };
    struct pair p;
    struct dev d[2];
    run(&p, code, sizeof(code), d);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EAX], 0xff);
    cr_assert_eq(v->r[R_EBX], 0xffffffff);
    cr_assert_geq(bt_pair_stats(&p).view_faults, 2);
    bt_pair_free(&p);
}

/* mov [0x800000], eax; mov word [0x800006], bx; mov byte [0x80000b], cl;
 * add [0x900000], edx; hlt
 * Three device writes, each once (a fault on the probe's load: the device
 * page is hidden), and a read-modify-write of RAM through the view. */
Test(bt_view, device_writes_fault_to_the_fallback)
{
    static const uint8_t code[] = { 0xa3, 0x00, 0x00, 0x80, 0x00, 0x66, 0x89, 0x1d, 0x06, 0x00, 0x80, 0x00,
                                    0x88, 0x0d, 0x0b, 0x00, 0x80, 0x00, 0x01, 0x15, 0x00, 0x00, 0x90, 0x00, 0xf4 };
    struct pair p;
    struct dev d[2];
    setup(&p, code, sizeof(code), d);
    struct vcpu *v = p.hb->v;
    uint32_t edx = v->r[R_EDX], cl = v->r[R_ECX] & 0xff;
    bt_pair_run(&p, 1000);
    bt_pair_compare_state(&p);
    bt_pair_compare_range(&p, 0x900000, 16);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(d[i].reads, 0);
        cr_assert_eq(d[i].writes, 3);
        cr_assert_eq(d[i].last_off, 0xb);
        cr_assert_eq(d[i].last_size, 1);
        cr_assert_eq(d[i].last_val, cl);
    }
    cr_assert_eq(harness_read32(p.hb, 0x900000), 0x600dcafeu + edx);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_eq(st.view_faults, 3);
    cr_assert_eq(st.probes_direct_writes, 4);
    cr_assert_eq(st.view_fused, 4); /* (each instruction is its own fault site) */
    bt_pair_free(&p);
}

/* mov edx, esp; mov esp, 0x800010; push 0x1234; pop ebx; call 1f;
 * 1: pop ecx; mov esp, edx; hlt
 * The stack on the device: PUSH, POP, CALL and POP each fault at their own
 * store or load (fused: no probe load before them), and each reaches the
 * device once, in order. */
Test(bt_view, stack_accesses_on_a_device_fault_where_they_access)
{
    static const uint8_t code[] = { 0x89, 0xe2, 0xbc, 0x10, 0x00, 0x80, 0x00, 0x68, 0x34, 0x12, 0x00,
                                    0x00, 0x5b, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x59, 0x89, 0xd4, 0xf4 };
    struct pair p;
    struct dev d[2];
    run(&p, code, sizeof(code), d);
    struct vcpu *v = p.hb->v;
    cr_assert_eq(v->r[R_EBX], 0x5a000c04);
    cr_assert_eq(v->r[R_ECX], 0x5a000c04);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(d[i].reads, 2);
        cr_assert_eq(d[i].writes, 2);
        cr_assert_eq(d[i].last_off, 0xc);
        cr_assert_eq(d[i].last_val, HARNESS_CODE + 18); /* the CALL's return address */
    }
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_eq(st.view_faults, 4);
    cr_assert_eq(st.view_fused, st.probes_direct);
    bt_pair_free(&p);
}

/* mov byte [patch + 1], 7; jmp patch; patch: mov eax, 5; add eax, [0x900000]; hlt
 * Self-modifying code with paging off: the MOV's store hits the code page
 * (read-only in the view once decoded): a fault, the interpreter's handler
 * writes and drops the page's code, and the patched instruction runs. */
Test(bt_view, a_write_to_code_drops_it)
{
    static const uint8_t code[] = { 0xc6, 0x05, 0x0a, 0x00, 0x01, 0x00, 0x07, 0xeb, 0x00,
                                    0xb8, 0x05, 0x00, 0x00, 0x00, 0x03, 0x05, 0x00, 0x00, 0x90, 0x00, 0xf4 };
    cr_assert_eq(HARNESS_CODE, 0x10000);
    struct pair p;
    struct dev d[2];
    run(&p, code, sizeof(code), d);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x600dcafeu + 7);
    bt_pair_compare_range(&p, HARNESS_CODE, sizeof(code));
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_eq(st.view_faults, 1);
    cr_assert_geq(st.invalidated, 1);
    cr_assert(p.hb->m.mem.view_wp);
    bt_pair_free(&p);
}

/* mov ecx, 40; 1: mov [0x900004], ecx; add [0x900008], ecx; dec ecx; jnz 1b; hlt
 * The view stops keeping code read-only halfway (phys_view_wp_off, as when
 * the host refuses): before the next block the translator drops every
 * translation and writes through TLB probes from then on. */
Test(bt_view, writes_stop_when_the_view_stops_protecting_code)
{
    static const uint8_t code[] = { 0xb9, 0x28, 0x00, 0x00, 0x00, 0x89, 0x0d, 0x04, 0x00, 0x90, 0x00,
                                    0x01, 0x0d, 0x08, 0x00, 0x90, 0x00, 0x49, 0x75, 0xf2, 0xf4 };
    struct pair p;
    struct dev d[2];
    setup(&p, code, sizeof(code), d);
    cr_assert_eq(bt_run(p.hb->v, 41), STOP_INSN_LIMIT);
    cr_assert_eq(cpu_run(p.hi->v, 41), STOP_INSN_LIMIT);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_geq(st.probes_direct_writes, 2);
    uint64_t flushes = st.flushes;
    phys_view_wp_off(&p.hb->m.mem);
    bt_pair_run(&p, 10000);
    bt_pair_compare_state(&p);
    bt_pair_compare_range(&p, 0x900000, 16);
    cr_assert_eq(harness_read32(p.hb, 0x900008), 40 * 41 / 2);
    struct bt_stats st2 = bt_pair_stats(&p);
    cr_assert_eq(st2.flushes, flushes + 1);
    cr_assert_eq(st2.probes_direct_writes, st.probes_direct_writes); /* none translated since */
    cr_assert_gt(st2.tbs, st.tbs);
    bt_pair_free(&p);
}

/* The same device reads with BT86_BT_NO_VIEW=1: TLB probes (the device
 * through their cold path), no direct reads, no faults. */
Test(bt_view, no_view_switch)
{
    setenv("BT86_BT_NO_VIEW", "1", 1);
    struct pair p;
    struct dev d[2];
    run(&p, device_reads, sizeof(device_reads), d);
    cr_assert_eq(p.hb->v->r[R_EAX], 0x5a000004);
    cr_assert_eq(p.hb->v->r[R_ECX], 0x600dcafe);
    cr_assert_eq(d[1].reads, 2);
    cr_assert_eq(bt_pair_stats(&p).view_faults, 0);
    cr_assert_eq(bt_pair_stats(&p).probes_direct, 0);
    bt_pair_free(&p);
}

/* The device writes with BT86_BT_NO_VIEW_WRITES=1: reads through the view,
 * writes through TLB probes, code left writable in the view. */
Test(bt_view, no_view_writes_switch)
{
    setenv("BT86_BT_NO_VIEW_WRITES", "1", 1);
    static const uint8_t code[] = { 0xa3, 0x00, 0x00, 0x80, 0x00, 0x8b, 0x0d, 0x00, 0x00, 0x90, 0x00,
                                    0x01, 0x15, 0x00, 0x00, 0x90, 0x00, 0xf4 }; /* mov [dev], eax; mov ecx, [ram]; add [ram], edx */
    struct pair p;
    struct dev d[2];
    run(&p, code, sizeof(code), d);
    cr_assert_eq(d[1].writes, 1);
    cr_assert_eq(p.hb->v->r[R_ECX], 0x600dcafe);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_eq(st.probes_direct_writes, 0);
    cr_assert_eq(st.probes_direct, 1);
    cr_assert_eq(st.view_faults, 0);
    cr_assert(!p.hb->m.mem.view_wp);
    bt_pair_free(&p);
}

/* The device writes and reads with BT86_BT_NO_VIEW_FUSE=1: each access
 * keeps its probe load (and store), which fault instead. */
Test(bt_view, no_view_fuse_switch)
{
    setenv("BT86_BT_NO_VIEW_FUSE", "1", 1);
    static const uint8_t code[] = { 0xa3, 0x00, 0x00, 0x80, 0x00, 0x8b, 0x0d, 0x00, 0x00, 0x80, 0x00,
                                    0x01, 0x15, 0x00, 0x00, 0x90, 0x00, 0xf4 }; /* mov [dev], eax; mov ecx, [dev]; add [ram], edx */
    struct pair p;
    struct dev d[2];
    run(&p, code, sizeof(code), d);
    cr_assert_eq(d[1].writes, 1);
    cr_assert_eq(d[1].reads, 1);
    cr_assert_eq(p.hb->v->r[R_ECX], 0x5a000004);
    struct bt_stats st = bt_pair_stats(&p);
    cr_assert_eq(st.view_fused, 0);
    /* (the MOV from the device reuses the store's probe; after the store's
     * fallback the block is left and the rest translated again) */
    cr_assert_eq(st.probes_direct, 4, "%llu", (unsigned long long)st.probes_direct);
    cr_assert_eq(st.view_faults, 2);
    bt_pair_free(&p);
}

/* A fault that is not a view read still ends the process as a crash, after
 * the handler installed before (here none): the handler neither swallows
 * it nor loops on it. (Not under AddressSanitizer, whose own handler
 * reports the fault and exits instead.) */
#if !defined(__SANITIZE_ADDRESS__)
static void crash_after_a_view_fault(void)
{
    static const uint8_t code[] = { 0xa1, 0x00, 0x00, 0x80, 0x00, 0xf4 };
    struct pair p;
    struct dev d[2];
    run(&p, code, sizeof(code), d); /* (the handler is installed, and took this read's fault) */
    cr_assert_eq(bt_pair_stats(&p).view_faults, 1);
    *(volatile uint32_t *)(void *)(p.hb->m.mem.view + 0xfffff000u) = 1; /* inaccessible */
}

Test(bt_view, other_faults_still_crash, .signal = SIGSEGV, .timeout = 20) { crash_after_a_view_fault(); }

/* The same with a handler before ours that returns (the console's, which
 * restores the terminal): called once, then the default action. */
static volatile int earlier_calls;
static void earlier_handler(int sig)
{
    (void)sig;
    earlier_calls++;
    if (earlier_calls > 1) _exit(3); /* called again: the fault would loop */
}

Test(bt_view, a_handler_installed_before_runs_once, .signal = SIGSEGV, .timeout = 20)
{
    signal(SIGSEGV, earlier_handler);
    crash_after_a_view_fault();
}
#endif

/* mov eax, 0x2000000; 1: neg byte [eax]; jge 1b; hlt — past RAM (reads as
 * 0xff, writes vanish): NEG leaves 1, JGE loops until the instruction
 * limit. Every NEG faults in the view and runs in its fallback, which
 * leaves r8/r9 as its call left them. This was once an in-block loop whose
 * budget exit recomputed the flags from [r9 + r8], reading instruction 0 as
 * a CMP latched in r11 (fuzz case 0x8838226532618177, seed 28): bt86 died
 * of a SIGSEGV. */
Test(bt_view, a_loop_of_faulting_neg_runs_to_the_limit)
{
    static const uint8_t code[] = { 0xb8, 0x00, 0x00, 0x00, 0x02, 0xf6, 0x18, 0x7d, 0xfc, 0xf4 };
    struct pair p;
    bt_pair_setup(&p, H_PROT32, code, sizeof(code));
    bt_pair_run(&p, 100000);
    bt_pair_compare_state(&p);
    cr_assert_eq(p.hb->v->stop, STOP_INSN_LIMIT);
    cr_assert_eq(p.hb->v->eip, HARNESS_CODE + 7); /* 1 + 49999 pairs + a NEG */
    cr_assert_geq(bt_pair_stats(&p).view_faults, 1);
    bt_pair_free(&p);
}
