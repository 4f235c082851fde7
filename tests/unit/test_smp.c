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
#include "frontend/smp_run.h"
#include "devices/lapic.h"

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
    char *argv[] = { "bt86", "-smp", "2", "-engine", "kvm", "-kernel", "k", NULL };
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

static struct pc *board(const char *smp)
{
    struct options o;
    char err[256];
    char *argv[] = { "bt86", "-smp", (char *)smp, "-serial", "none", "-kernel", "k", NULL };
    cr_assert_eq(cli_parse(7, argv, &o, err, sizeof(err)), 0, "%s", err);
    struct pc *pc = calloc(1, sizeof(*pc));
    cr_assert_eq(pc_init(pc, &o, err, sizeof(err)), 0, "%s", err);
    struct mb_boot b = { .entry = 0x100000, .info = 0, .kernel_end = 0x101000 };
    multiboot_enter(&pc->m, pc->m.cpu[0], &b);
    return pc;
}

static void poke(struct pc *pc, uint32_t pa, const uint8_t *p, size_t n)
{
    memcpy(phys_ram_ptr(&pc->m.mem, pa, (uint32_t)n), p, n);
}

static void done(struct pc *pc)
{
    pc_destroy(pc);
    free(pc);
}

/* mov dword [0xfee00310], (id << 24); mov dword [0xfee00300], lo */
#define ICR(id, lo)                                                                              \
    0xc7, 0x05, 0x10, 0x03, 0xe0, 0xfe, 0, 0, 0, (id),                                           \
    0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, (lo) & 0xff, ((lo) >> 8) & 0xff, ((lo) >> 16) & 0xff, 0

Test(smp_board, init_sipi_starts_an_ap)
{
    struct pc *pc = board("2,threads=single");
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
    poke(pc, 0x100000, bsp, sizeof(bsp));
    poke(pc, 0x8000, ap, sizeof(ap));
    enum vcpu_stop s = pc_run(pc, 1000000);
    cr_assert_eq(s, STOP_EXIT_PORT, "stop %d; AP waiting %d", s, pc->m.cpu[1]->wait_sipi);
    cr_assert_eq(pc->m.cpu[0]->exit_status, 0x43);
    struct vcpu *a = pc->m.cpu[1];
    cr_assert_eq(a->wait_sipi, 0);
    cr_assert_eq(a->seg[S_CS].sel, 0x0800);
    cr_assert_eq(a->seg[S_CS].base, 0x8000);
    cr_assert_eq(a->eip, 8);
    cr_assert_eq(a->halted, 1);
    done(pc);
}

Test(smp_board, nmi_wakes_an_ap_halted_with_if0)
{
    struct pc *pc = board("2,threads=single");
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
    poke(pc, 0x100000, bsp, sizeof(bsp));
    poke(pc, 0x8000, ap, sizeof(ap));
    poke(pc, 8, ivt2, sizeof(ivt2));
    cr_assert_eq(pc_run(pc, 1000000), STOP_EXIT_PORT);
    cr_assert_eq(pc->m.cpu[0]->exit_status, 0x0b);
    struct vcpu *a = pc->m.cpu[1];
    cr_assert_eq(a->nmi_blocked, 1, "in the NMI handler until IRET");
    cr_assert_eq(a->eip, 0x17);
    cr_assert_eq(a->eflags & F_IF, 0);
    done(pc);
}

Test(smp_board, all_halted_ends_the_run)
{
    struct pc *pc = board("3,threads=single");
    static const uint8_t bsp[] = { 0xfa, 0xf4 }; /* cli; hlt: APs never started */
    poke(pc, 0x100000, bsp, sizeof(bsp));
    cr_assert_eq(pc_run(pc, 1000000), STOP_HALT_FOREVER);
    cr_assert_eq(pc->m.cpu[1]->wait_sipi, 1);
    cr_assert_eq(pc->m.cpu[2]->wait_sipi, 1);
    done(pc);
}

Test(smp_board, max_insns_counts_every_vcpu)
{
    struct pc *pc = board("2,threads=single");
    static const uint8_t bsp[] = { ICR(1, 0x4500), ICR(1, 0x4608), 0xeb, 0xfe }; /* ...; jmp $ */
    static const uint8_t ap[] = { 0xeb, 0xfe };
    poke(pc, 0x100000, bsp, sizeof(bsp));
    poke(pc, 0x8000, ap, sizeof(ap));
    cr_assert_eq(pc_run(pc, 100000), STOP_INSN_LIMIT);
    uint64_t total = pc->m.cpu[0]->icount + pc->m.cpu[1]->icount;
    cr_assert_eq(total, 100000);
    cr_assert_gt(pc->m.cpu[1]->icount, 40000, "the AP got its share (%llu)",
                 (unsigned long long)pc->m.cpu[1]->icount);
    done(pc);
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
