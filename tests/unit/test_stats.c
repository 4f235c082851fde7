/* -stats accounting of VMM entries (cpu/vmm_observe.c): every callout is
 * counted under its exit reason and, with timing on, timed; callouts whose
 * handler raised an exception are counted as faulted (#GP separately) and
 * the exception still reaches the guest with the right vector, error code
 * and saved EIP; MOV to CR3 is counted; the TSC rate is calibrated. And
 * -trace/-stats on the command line (frontend/cli.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/vmm_trace.h"
#include "frontend/cli.h"
#include "sys_test_util.h"

/* cpuid (eax=0) x3; mov eax,0x101000; mov cr3,eax; mov eax,0x20; mov cr4,eax (PAE: #GP) */
static const uint8_t code[] = {
    0x31, 0xc0, 0x0f, 0xa2,             /* 10000 xor eax,eax; cpuid */
    0x31, 0xc0, 0x0f, 0xa2,             /* 10004 */
    0x31, 0xc0, 0x0f, 0xa2,             /* 10008 */
    0xb8, 0x00, 0x10, 0x10, 0x00,       /* 1000c mov eax, 0x101000 */
    0x0f, 0x22, 0xd8,                   /* 10011 mov cr3, eax */
    0xb8, 0x20, 0x00, 0x00, 0x00,       /* 10014 mov eax, 0x20 */
    0x0f, 0x22, 0xe0,                   /* 10019 mov cr4, eax */
};

static void run_observed(bool timing)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    v->obs = vmm_obs_new(timing, NULL, stderr);
    cr_assert_not_null(v->obs);
    struct vmm_obs *o = v->obs;
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0, "error code");
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 0x19, "saved EIP");
    cr_assert_eq(v->cr4, 0);
    cr_assert_eq(v->exits[EXIT_CPUID], 3);
    cr_assert_eq(v->exits[EXIT_CR_ACCESS], 2);
    cr_assert_eq(v->exits[EXIT_EXCEPTION], 1);
    cr_assert_eq(v->exceptions[EXC_GP], 1);
    cr_assert_eq(o->faulted[EXIT_CR_ACCESS], 1);
    cr_assert_eq(o->gp[EXIT_CR_ACCESS], 1);
    cr_assert_eq(o->faulted[EXIT_CPUID], 0);
    cr_assert_eq(o->cr3_writes, 1);
    cr_assert_eq(o->lines, 0, "no trace without -trace");
    if (timing) {
        cr_assert_eq(o->timed[EXIT_CPUID], 3);
        cr_assert_eq(o->timed[EXIT_CR_ACCESS], 2, "the faulting entry is timed too");
        cr_assert_gt(o->ticks[EXIT_CPUID], 0);
        cr_assert_gt(o->ticks[EXIT_CR_ACCESS], 0);
    } else {
        for (int r = 0; r < EXIT_COUNT; r++) cr_assert_eq(o->timed[r] | o->ticks[r], 0);
    }

    /* The run loop's fault handling still works after a caught fault:
     * another #GP (RDMSR of an unknown MSR) is delivered the same way. */
    static const uint8_t rd[] = { 0xb9, 0x78, 0x56, 0x34, 0x12, 0x0f, 0x32 };
    EXPECT_EXC(h, RUN(h, rd), EXC_GP);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 5);
    cr_assert_eq(v->exceptions[EXC_GP], 2);
    cr_assert_eq(o->gp[EXIT_RDMSR], 1);
    vmm_obs_free(o);
    v->obs = NULL;
    harness_free(h);
}

Test(vmm_stats, timed_entries_and_faults)
{
    run_observed(true);
}

Test(vmm_stats, counts_without_timing)
{
    run_observed(false);
}

Test(vmm_stats, tsc_rate_and_overhead)
{
    struct vmm_obs *o = vmm_obs_new(true, NULL, stderr);
    cr_assert_not_null(o);
    double ns = vmm_obs_ns_per_tick(o);
    cr_assert(ns > 0.05 && ns < 5.0, "%.4f ns per TSC tick: a 0.2-20 GHz TSC", ns);
    double over = vmm_obs_overhead_ns(o);
    cr_assert(over > 0 && over < 10000, "%.1f ns", over);
    vmm_obs_free(o);
}

Test(vmm_stats, unobserved_vcpu_counts_only)
{
    struct harness *h = sys_new(H_PROT32);
    cr_assert_null(h->v->obs);
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(h->v->exits[EXIT_CPUID], 3);
    cr_assert_eq(h->v->exits[EXIT_CR_ACCESS], 2);
    harness_free(h);
}

Test(vmm_stats, cli_trace_option)
{
    struct options o;
    char err[256];
    char *argv[] = { "bt86", "-kernel", "k.elf", "-stats", "-trace", "sensitive,class=io,count=3", NULL };
    cr_assert_eq(cli_parse(6, argv, &o, err, sizeof(err)), 0, "%s", err);
    cr_assert(o.stats);
    cr_assert(o.trace.on);
    cr_assert_eq(o.trace.classes, TRACE_IO);
    cr_assert_eq(o.trace.count, 3);
    char *bad[] = { "bt86", "-kernel", "k.elf", "-trace", "all", NULL };
    cr_assert_eq(cli_parse(5, bad, &o, err, sizeof(err)), -1);
    cr_assert(strstr(err, "-trace: unknown trace kind 'all'"), "%s", err);
    char *none[] = { "bt86", "-kernel", "k.elf", NULL };
    cr_assert_eq(cli_parse(3, none, &o, err, sizeof(err)), 0);
    cr_assert(!o.trace.on, "off by default");
}
