/* -smp: the command line, INIT / start-up IPI state changes of a vCPU, and
 * whole boards of 2-4 vCPUs run by frontend/smp_run.c (round robin) with
 * tiny hand-assembled programs: INIT-SIPI start-up through the APIC window,
 * an NMI IPI waking an AP halted with IF=0, the all-halted end of a run,
 * and -max-insns counted over all vCPUs. */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/segment.h"
#include "cpu/vcpu.h"
#include "frontend/cli.h"
#include "frontend/multiboot.h"
#include "frontend/pc.h"
#include "smp_board.h"
#include "frontend/smp_run.h"
#include "devices/lapic.h"
#include "translator/bt.h"

/* ---- command line ---- */

static int parse(const char *smp, struct options *o, char *err, size_t n)
{
    char *argv[] = { "bt86", "-smp", (char *)smp, "-kernel", "k", NULL };
    return cli_parse(5, argv, o, err, n);
}

Test(smp_cli, counts_and_modes)
{
    struct options o;
    char err[256];
    char *argv[] = { "bt86", "-kernel", "k", NULL };
    cr_assert_eq(cli_parse(3, argv, &o, err, sizeof(err)), 0);
    cr_assert_eq(o.smp, 1);
    cr_assert_eq(parse("4", &o, err, sizeof(err)), 0);
    cr_assert_eq(o.smp, 4);
    cr_assert(!o.smp_single_thread);
    cr_assert_eq(parse("2,threads=single", &o, err, sizeof(err)), 0);
    cr_assert_eq(o.smp, 2);
    cr_assert(o.smp_single_thread);
    cr_assert_eq(parse("cpus=8,threads=multi", &o, err, sizeof(err)), 0);
    cr_assert_eq(o.smp, 8);
    cr_assert(!o.smp_single_thread);
}

Test(smp_cli, rejects)
{
    const char *bad[] = { "0", "9", "x", "", "2,threads=many", "2,3", "threads=single" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct options o;
        char err[256], want[256];
        cr_assert_eq(parse(bad[i], &o, err, sizeof(err)), -1, "-smp '%s' accepted", bad[i]);
        snprintf(want, sizeof(want),
                 "invalid -smp '%s' (expected N from 1 to 8, optionally N,threads=single|multi)", bad[i]);
        cr_assert_str_eq(err, want);
    }
    struct options o;
    char err[256];
    char *argv[] = { "bt86", "-smp", "2", "-engine", "trap", "-kernel", "k", NULL };
    cr_assert_eq(cli_parse(7, argv, &o, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "-smp 2 needs -engine interp or bt");
}

/* ---- INIT and start-up IPI on one vCPU ---- */

Test(smp_vcpu, init_then_sipi)
{
    struct vcpu *v = vcpu_new(NULL, 1);
    cr_assert_not_null(v);
    v->msr.sysenter_eip = 0x1234;
    v->fxstate[0] = 0x7f;
    v->eip = 0x5555;
    vcpu_init_ipi(v);
    cr_assert_eq(v->halted, 1);
    cr_assert_eq(v->wait_sipi, 1);
    cr_assert_eq(v->eip, 0xfff0);
    cr_assert_eq(v->msr.sysenter_eip, 0x1234, "INIT keeps the MSRs");
    cr_assert_eq(v->fxstate[0], 0x7f, "INIT keeps the x87 state");
    vcpu_sipi(v, 0x9a);
    cr_assert_eq(v->halted, 0);
    cr_assert_eq(v->wait_sipi, 0);
    cr_assert_eq(v->seg[S_CS].sel, 0x9a00);
    cr_assert_eq(v->seg[S_CS].base, 0x9a000);
    cr_assert_eq(v->seg[S_CS].limit, 0xffff);
    cr_assert_eq(v->eip, 0);
    cr_assert_eq(v->cr0 & CR0_PE, 0);
    v->eip = 0x42;
    vcpu_sipi(v, 0x10); /* not waiting: ignored */
    cr_assert_eq(v->seg[S_CS].base, 0x9a000);
    cr_assert_eq(v->eip, 0x42);
    vcpu_free(v);
}

Test(smp_vcpu, init_on_bsp_does_not_wait)
{
    struct vcpu *v = vcpu_new(NULL, 0);
    vcpu_init_ipi(v);
    cr_assert_eq(v->halted, 0);
    cr_assert_eq(v->wait_sipi, 0);
    cr_assert_eq(v->seg[S_CS].base, 0xffff0000);
    vcpu_free(v);
}

/* ---- boards ---- */

static struct pc *board(const char *smp) { return smp_board(smp, "bt"); }

/* max_insns 0: no limit, so "-smp 2" runs on host threads. */
static void init_sipi_starts_an_ap(const char *smp, uint64_t max_insns)
{
    struct pc *pc = board(smp);
    cr_assert_eq(pc->m.ncpu, 2);
    cr_assert_eq(pc->m.cpu[1]->wait_sipi, 1);
    static const uint8_t bsp[] = {
        ICR(1, 0x4500), /* INIT */
        ICR(1, 0x4608), /* STARTUP vector 8: 0x8000 */
        0x80, 0x3d, 0x00, 0x90, 0x00, 0x00, 0x5a, /* 1: cmp byte [0x9000], 0x5a */
        0x75, 0xf7,                               /* jne 1b */
        0xb0, 0x21, 0xe6, 0xf4,                   /* mov al, 0x21; out 0xf4, al */
    };
    static const uint8_t ap[] = {
        0x2e, 0xc6, 0x06, 0x00, 0x10, 0x5a, /* mov byte [cs:0x1000], 0x5a */
        0xfa, 0xf4,                         /* cli; hlt */
    };
    smp_board_poke(pc, 0x100000, bsp, sizeof(bsp));
    smp_board_poke(pc, 0x8000, ap, sizeof(ap));
    enum vcpu_stop s = pc_run(pc, max_insns);
    cr_assert_eq(s, STOP_EXIT_PORT, "stop %d; AP waiting %d", s, pc->m.cpu[1]->wait_sipi);
    cr_assert_eq(pc->m.cpu[0]->exit_status, 0x43);
    struct vcpu *a = pc->m.cpu[1];
    cr_assert_eq(a->wait_sipi, 0);
    cr_assert_eq(a->seg[S_CS].sel, 0x0800);
    cr_assert_eq(a->seg[S_CS].base, 0x8000);
    if (max_insns) { /* round robin: the AP's slice ran to its HLT before the BSP saw the mark */
        cr_assert_eq(a->eip, 8);
        cr_assert_eq(a->halted, 1);
    } else { /* threads: the run may end while the AP is between its mark and its HLT */
        cr_assert(a->eip >= 6 && a->eip <= 8, "AP EIP %#x", a->eip);
    }
    smp_board_free(pc);
}

Test(smp_board, init_sipi_starts_an_ap) { init_sipi_starts_an_ap("2,threads=single", 1000000); }
Test(smp_board, init_sipi_starts_an_ap_threads) { init_sipi_starts_an_ap("2", 0); }

static void nmi_wakes_an_ap(const char *smp, uint64_t max_insns)
{
    struct pc *pc = board(smp);
    static const uint8_t bsp[] = {
        ICR(1, 0x4500), ICR(1, 0x4608),
        0x80, 0x3d, 0x00, 0x90, 0x00, 0x00, 0x5a, 0x75, 0xf7, /* wait for the AP */
        ICR(1, 0x0400),                                       /* NMI */
        0x80, 0x3d, 0x01, 0x90, 0x00, 0x00, 0x77, 0x75, 0xf7, /* wait for its handler */
        0xb0, 0x05, 0xe6, 0xf4,
    };
    static const uint8_t ap[] = {
        0x2e, 0xc6, 0x06, 0x00, 0x10, 0x5a, 0xfa, 0xf4, 0xeb, 0xfe, /* mark; cli; hlt; jmp $ */
        [0x10] = 0x2e, 0xc6, 0x06, 0x01, 0x10, 0x77, 0xf4, /* NMI handler at 0800:0010: mark; hlt */
    };
    static const uint8_t ivt2[] = { 0x10, 0x00, 0x00, 0x08 }; /* vector 2 -> 0800:0010 */
    smp_board_poke(pc, 0x100000, bsp, sizeof(bsp));
    smp_board_poke(pc, 0x8000, ap, sizeof(ap));
    smp_board_poke(pc, 8, ivt2, sizeof(ivt2));
    cr_assert_eq(pc_run(pc, max_insns), STOP_EXIT_PORT);
    cr_assert_eq(pc->m.cpu[0]->exit_status, 0x0b);
    struct vcpu *a = pc->m.cpu[1];
    cr_assert_eq(a->nmi_blocked, 1, "in the NMI handler until IRET");
    if (max_insns) cr_assert_eq(a->eip, 0x17);
    else cr_assert(a->eip == 0x16 || a->eip == 0x17, "AP EIP %#x (threads: maybe not at its HLT yet)", a->eip);
    cr_assert_eq(a->eflags & F_IF, 0);
    smp_board_free(pc);
}

Test(smp_board, nmi_wakes_an_ap_halted_with_if0) { nmi_wakes_an_ap("2,threads=single", 1000000); }
Test(smp_board, nmi_wakes_an_ap_halted_with_if0_threads) { nmi_wakes_an_ap("2", 0); }

static void all_halted_ends_the_run(const char *smp, uint64_t max_insns)
{
    struct pc *pc = board(smp);
    static const uint8_t bsp[] = { 0xfa, 0xf4 }; /* cli; hlt: APs never started */
    smp_board_poke(pc, 0x100000, bsp, sizeof(bsp));
    cr_assert_eq(pc_run(pc, max_insns), STOP_HALT_FOREVER);
    cr_assert_eq(pc->m.cpu[1]->wait_sipi, 1);
    cr_assert_eq(pc->m.cpu[2]->wait_sipi, 1);
    smp_board_free(pc);
}

Test(smp_board, all_halted_ends_the_run) { all_halted_ends_the_run("3,threads=single", 1000000); }
Test(smp_board, all_halted_ends_the_run_threads) { all_halted_ends_the_run("3", 0); }

Test(smp_board, max_insns_counts_every_vcpu)
{
    struct pc *pc = board("2,threads=single");
    static const uint8_t bsp[] = { ICR(1, 0x4500), ICR(1, 0x4608), 0xeb, 0xfe }; /* ...; jmp $ */
    static const uint8_t ap[] = { 0xeb, 0xfe };
    smp_board_poke(pc, 0x100000, bsp, sizeof(bsp));
    smp_board_poke(pc, 0x8000, ap, sizeof(ap));
    cr_assert_eq(pc_run(pc, 100000), STOP_INSN_LIMIT);
    uint64_t total = pc->m.cpu[0]->icount + pc->m.cpu[1]->icount;
    cr_assert_eq(total, 100000);
    cr_assert_gt(pc->m.cpu[1]->icount, 40000, "the AP got its share (%llu)",
                 (unsigned long long)pc->m.cpu[1]->icount);
    smp_board_free(pc);
}

/* ---- IPI delivery in the local APIC ---- */

Test(smp_lapic, init_voids_an_earlier_sipi)
{
    struct lapic l;
    cr_assert_eq(lapic_init(&l, NULL, 1, NULL, NULL), 0);
    lapic_deliver(&l, APIC_DM_STARTUP, 0x12, false);
    lapic_deliver(&l, APIC_DM_INIT, 0, false);
    cr_assert(l.init_pending);
    cr_assert(!l.sipi_pending);
    lapic_deliver(&l, APIC_DM_STARTUP, 0x34, false);
    cr_assert(l.sipi_pending);
    cr_assert_eq(l.sipi_vector, 0x34);
}

Test(smp_lapic, shorthands_and_logical_destinations)
{
    struct lapic a[3];
    struct lapic *list[3];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(lapic_init(&a[i], NULL, i, NULL, NULL), 0);
        lapic_mmio_write(&a[i], LAPIC_REG_SVR, 0x1ff, 4);
        lapic_mmio_write(&a[i], LAPIC_REG_LDR, (1u << i) << 24, 4); /* flat model (DFR reset value) */
        list[i] = &a[i];
    }
    lapic_route_ipi(list, 3, 1, 0x000c0400, 0); /* NMI, all excluding self */
    cr_assert(a[0].nmi_pending && !a[1].nmi_pending && a[2].nmi_pending);
    lapic_route_ipi(list, 3, 0, 0x00000850, 6u << 24); /* fixed 0x50, logical 0b110 */
    cr_assert_eq(lapic_has_interrupt(&a[0]), -1);
    cr_assert_eq(lapic_has_interrupt(&a[1]), 0x50);
    cr_assert_eq(lapic_has_interrupt(&a[2]), 0x50);
    lapic_route_ipi(list, 3, 2, 0x00040061, 0); /* self */
    cr_assert_eq(lapic_has_interrupt(&a[2]), 0x61);
    cr_assert_eq(lapic_has_interrupt(&a[1]), 0x50);
    lapic_route_ipi(list, 3, 0, 0x00000170, 0xff000000u); /* lowest priority, broadcast: taken as fixed by one */
    cr_assert_eq(lapic_has_interrupt(&a[0]), 0x70);
    cr_assert_eq(lapic_has_interrupt(&a[1]), 0x50, "lowest priority goes to one APIC only");
    cr_assert_eq(lapic_has_interrupt(&a[2]), 0x61);
}

/* Both vCPUs, on their own host threads, add to two shared counters with
 * LOCK INC and LOCK XADD 100000 times each; the BSP then checks both are
 * exactly 200000 (exit 0x11) or not (0x22). */
static void lock_counters_on_threads(const char *engine)
{
    struct pc *pc = smp_board("2", engine);
    cr_assert(pc->smp != NULL);
    static const uint8_t bsp[] = {
        ICR(1, 0x4500), ICR(1, 0x4608),
        0xb9, 0xa0, 0x86, 0x01, 0x00,                   /* mov ecx, 100000 */
        0xf0, 0xff, 0x05, 0x00, 0x90, 0x00, 0x00,       /* 1: lock inc dword [0x9000] */
        0xb8, 0x01, 0x00, 0x00, 0x00,                   /* mov eax, 1 */
        0xf0, 0x0f, 0xc1, 0x05, 0x08, 0x90, 0x00, 0x00, /* lock xadd [0x9008], eax */
        0x49, 0x75, 0xe9,                               /* dec ecx; jnz 1b */
        0x80, 0x3d, 0x04, 0x90, 0x00, 0x00, 0x01, 0x75, 0xf7, /* wait for the AP */
        0xa1, 0x00, 0x90, 0x00, 0x00, 0x3d, 0x40, 0x0d, 0x03, 0x00, 0x75, 0x10, /* [0x9000] == 200000? */
        0xa1, 0x08, 0x90, 0x00, 0x00, 0x3d, 0x40, 0x0d, 0x03, 0x00, 0x75, 0x04, /* [0x9008] == 200000? */
        0xb0, 0x11, 0xe6, 0xf4,
        0xb0, 0x22, 0xe6, 0xf4,
    };
    static const uint8_t ap[] = {
        0x66, 0xb9, 0xa0, 0x86, 0x01, 0x00,             /* mov ecx, 100000 */
        0xf0, 0x2e, 0x66, 0xff, 0x06, 0x00, 0x10,       /* 1: lock inc dword [cs:0x1000] */
        0x66, 0xb8, 0x01, 0x00, 0x00, 0x00,             /* mov eax, 1 */
        0xf0, 0x2e, 0x66, 0x0f, 0xc1, 0x06, 0x08, 0x10, /* lock xadd [cs:0x1008], eax */
        0x66, 0x49, 0x75, 0xe7,                         /* dec ecx; jnz 1b */
        0x2e, 0xc6, 0x06, 0x04, 0x10, 0x01,             /* mov byte [cs:0x1004], 1 */
        0xfa, 0xf4,
    };
    smp_board_poke(pc, 0x100000, bsp, sizeof(bsp));
    smp_board_poke(pc, 0x8000, ap, sizeof(ap));
    cr_assert_eq(pc_run(pc, 0), STOP_EXIT_PORT);
    cr_assert_eq(pc->m.cpu[0]->exit_status, 0x23, "counters %u %u", *(uint32_t *)phys_ram_ptr(&pc->m.mem, 0x9000, 4),
                 *(uint32_t *)phys_ram_ptr(&pc->m.mem, 0x9008, 4));
    /* The AP ran its loop and its mark (maybe not yet CLI, HLT: the run ends when the BSP exits). */
    uint64_t n = pc->m.cpu[1]->icount;
    cr_assert(n >= 1 + 500000 + 1 && n <= 1 + 500000 + 3, "the AP ran its loop (%llu)", (unsigned long long)n);
    smp_board_free(pc);
}

Test(smp_board, lock_counters_on_threads) { lock_counters_on_threads("interp"); }
Test(smp_board, lock_counters_on_threads_bt) { lock_counters_on_threads("bt"); }

/* Cross-modifying code (SDM 8.1.3): the BSP (32-bit, translated under
 * -engine bt) calls a function on the page of its loop until the AP (real
 * mode, at FFFF:0111) has patched the function's immediate and set a flag;
 * then it serialises with CPUID and must run the patched function (exit
 * 0x11; the stale one: 0x22). The loop and the function are chained
 * translations when the patch lands, so the AP's write must reach the
 * BSP's translation cache from the AP's thread. */
static void cross_modifying_code(const char *smp, const char *engine, uint64_t max_insns)
{
    struct pc *pc = smp_board(smp, engine);
    static const uint8_t bsp[] = {
        0xbc, 0x00, 0x00, 0x08, 0x00,             /* mov esp, 0x80000 */
        ICR(1, 0x4500), ICR(1, 0x4608),           /* INIT, STARTUP 0x8000 */
        0xe8, 0xce, 0x00, 0x00, 0x00,             /* 45: call 0x100100 (translate it) */
        0xc6, 0x05, 0x08, 0x90, 0x00, 0x00, 0x01, /* 50: mov byte [0x9008], 1: AP, patch now */
        0xe8, 0xc2, 0x00, 0x00, 0x00,             /* 57: 1: call 0x100100 */
        0x80, 0x3d, 0x04, 0x90, 0x00, 0x00, 0x01, /* 62: cmp byte [0x9004], 1 */
        0x75, 0xf2,                               /* 69: jne 1b */
        0x0f, 0xa2,                               /* 71: cpuid */
        0xe8, 0xb2, 0x00, 0x00, 0x00,             /* 73: call 0x100100 */
        0x83, 0xf8, 0x02, 0x75, 0x04,             /* 78: cmp eax, 2; jne bad */
        0xb0, 0x11, 0xe6, 0xf4,                   /* 83: exit 0x11 */
        0xb0, 0x22, 0xe6, 0xf4,                   /* 87: bad: exit 0x22 */
    };
    static const uint8_t func[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3 }; /* mov eax, 1; ret */
    static const uint8_t ap[] = {
        0xb8, 0xff, 0xff, 0x8e, 0xd8,             /* mov ax, 0xffff; mov ds, ax */
        0x2e, 0x80, 0x3e, 0x08, 0x10, 0x01,       /* 1: cmp byte [cs:0x1008], 1 */
        0x75, 0xf8,                               /* jne 1b */
        0xc6, 0x06, 0x11, 0x01, 0x02,             /* mov byte [0x111], 2: the immediate at 0x100101 */
        0x2e, 0xc6, 0x06, 0x04, 0x10, 0x01,       /* mov byte [cs:0x1004], 1 */
        0xfa, 0xf4,                               /* cli; hlt */
    };
    smp_board_poke(pc, 0x100000, bsp, sizeof(bsp));
    smp_board_poke(pc, 0x100100, func, sizeof(func));
    smp_board_poke(pc, 0x8000, ap, sizeof(ap));
    cr_assert_eq(pc_run(pc, max_insns), STOP_EXIT_PORT);
    cr_assert_eq(pc->m.cpu[0]->exit_status, 0x23, "exit %#x (0x45: the stale function ran)", pc->m.cpu[0]->exit_status);
    cr_assert_eq(*phys_ram_ptr(&pc->m.mem, 0x100101, 1), 2);
    if (!strcmp(engine, "bt")) {
        struct bt_stats st;
        bt_get_stats(pc->m.cpu[0], &st);
        cr_assert_geq(st.invalidated, 2, "the BSP dropped its loop's and the function's TBs (%llu)",
                      (unsigned long long)st.invalidated);
    }
    smp_board_free(pc);
}

Test(smp_board, cross_modifying_code_bt_threads) { cross_modifying_code("2", "bt", 0); }
Test(smp_board, cross_modifying_code_bt_single) { cross_modifying_code("2,threads=single", "bt", 1000000000); }
Test(smp_board, cross_modifying_code_interp_threads) { cross_modifying_code("2", "interp", 0); }

/* ---- LOCKed instructions on one vCPU (the host-atomic paths) ---- */

#include "tests/unit/cpu_test_util.h"

Test(smp_lock, adc_xchg_bts_cmpxchg8b)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    const uint32_t D = 0x3000;
    static const uint8_t adc[] = { 0xf0, 0x11, 0x0b };       /* lock adc [ebx], ecx */
    v->r[R_EBX] = D;
    v->r[R_ECX] = 0x7fffffff;
    harness_write32(h, D, 0);
    v->eflags = F_FIXED1 | F_CF;
    RUN_OK(h, adc);
    cr_assert_eq(harness_read32(h, D), 0x80000000u);
    cr_assert_eq(v->eflags & ARITH, F_OF | F_SF | F_AF | F_PF, "flags %#x", v->eflags & ARITH);

    static const uint8_t xchg[] = { 0x87, 0x0b };             /* xchg [ebx], ecx */
    v->r[R_ECX] = 0x11223344;
    RUN_OK(h, xchg);
    cr_assert_eq(harness_read32(h, D), 0x11223344);
    cr_assert_eq(v->r[R_ECX], 0x80000000u);

    static const uint8_t bts[] = { 0xf0, 0x0f, 0xab, 0x0b };  /* lock bts [ebx], ecx */
    v->r[R_ECX] = 35;                                          /* bit 3 of the dword at D+4 */
    harness_write32(h, D + 4, 0x8);
    v->eflags = F_FIXED1;
    RUN_OK(h, bts);
    cr_assert_eq(v->eflags & F_CF, F_CF);
    cr_assert_eq(harness_read32(h, D + 4), 0x8);
    v->r[R_ECX] = 36;
    RUN_OK(h, bts);
    cr_assert_eq(v->eflags & F_CF, 0);
    cr_assert_eq(harness_read32(h, D + 4), 0x18);

    static const uint8_t c8b[] = { 0xf0, 0x0f, 0xc7, 0x0b };  /* lock cmpxchg8b [ebx] */
    harness_write32(h, D, 1);
    harness_write32(h, D + 4, 2);
    v->r[R_EAX] = 1; v->r[R_EDX] = 2; v->r[R_EBX] = D; v->r[R_ECX] = 4;
    /* ECX:EBX is the new value: EBX is also the address here */
    RUN_OK(h, c8b);
    cr_assert_eq(v->eflags & F_ZF, F_ZF);
    cr_assert_eq(harness_read32(h, D), D);
    cr_assert_eq(harness_read32(h, D + 4), 4);
    RUN_OK(h, c8b); /* EDX:EAX = 2:1 no longer matches: loaded from memory */
    cr_assert_eq(v->eflags & F_ZF, 0);
    cr_assert_eq(v->r[R_EAX], D);
    cr_assert_eq(v->r[R_EDX], 4);
    harness_free(h);
}

Test(smp_lock, misaligned_and_xadd_flags)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    const uint32_t D = 0x3ffe; /* a dword across two pages: the non-atomic path */
    static const uint8_t inc[] = { 0xf0, 0xff, 0x03 };        /* lock inc dword [ebx] */
    v->r[R_EBX] = D;
    harness_write32(h, D, 0xffffffffu);
    v->eflags = F_FIXED1 | F_CF;
    RUN_OK(h, inc);
    cr_assert_eq(harness_read32(h, D), 0);
    cr_assert_eq(v->eflags & ARITH, F_CF | F_ZF | F_AF | F_PF, "INC keeps CF; flags %#x", v->eflags & ARITH);
    static const uint8_t xadd[] = { 0xf0, 0x66, 0x0f, 0xc1, 0x0b }; /* lock xadd [ebx], cx */
    v->r[R_EBX] = 0x3000;
    v->r[R_ECX] = 0xabcd0001;
    harness_write32(h, 0x3000, 0x5555ffff);
    RUN_OK(h, xadd);
    cr_assert_eq(harness_read32(h, 0x3000), 0x55550000);
    cr_assert_eq(v->r[R_ECX], 0xabcdffff);
    cr_assert_eq(v->eflags & ARITH, F_CF | F_ZF | F_AF | F_PF, "flags %#x", v->eflags & ARITH);
    harness_free(h);
}
