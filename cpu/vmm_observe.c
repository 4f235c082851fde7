/* The observed path of vmm_call (cpu/vmm_trace.h): counts the entry, times
 * the handler with the host TSC when -stats is on, and prints the -trace
 * line. A handler that raises an exception longjmps out of the call; the
 * observer catches that jump on its way to the run loop, so faulting entries
 * (RDMSR of an unknown MSR, a CR4 bit the CPU lacks...) are timed, counted
 * as faulted and traced too, then the jump continues unchanged.
 *
 * Time source: RDTSC (about 10 ns per read on these hosts, against about
 * 25 ns for clock_gettime(CLOCK_MONOTONIC) through the vDSO), converted to
 * ns by a rate calibrated against CLOCK_MONOTONIC over the whole run. The
 * hosts have constant_tsc/nonstop_tsc; without them the rate is an average. */
#include "cpu/vmm_trace.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "cpu/vcpu.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct vmm_obs *vmm_obs_new(bool timing, const struct vmm_trace_cfg *trace, FILE *out)
{
    struct vmm_obs *o = calloc(1, sizeof(*o));
    if (!o) return NULL;
    o->timing = timing;
    if (trace) o->trace = *trace;
    if (!o->trace.classes) o->trace.classes = TRACE_ALL;
    o->out = out ? out : stderr;
    o->ns0 = mono_ns();
    o->tsc0 = __rdtsc();
    return o;
}

void vmm_obs_free(struct vmm_obs *o)
{
    free(o);
}

double vmm_obs_ns_per_tick(const struct vmm_obs *o)
{
    uint64_t ns = mono_ns() - o->ns0;
    while (ns < 2000000) ns = mono_ns() - o->ns0; /* too short a run to calibrate on */
    uint64_t ticks = __rdtsc() - o->tsc0;
    return ticks ? (double)ns / (double)ticks : 0;
}

/* The observed path's own work around a handler when only timing is on: the
 * fault catch (save, setjmp, restore the run loop's jump buffer) and two TSC
 * reads, the same steps as vmm_call_observed. */
static jmp_buf probe_env;

/* One round of what the observed path adds around a handler. */
static __attribute__((noinline)) uint64_t observe_steps(void)
{
    jmp_buf outer;
    memcpy(outer, probe_env, sizeof(jmp_buf));
    uint64_t t0 = __rdtsc();
    if (setjmp(probe_env)) return 0;
    memcpy(probe_env, outer, sizeof(jmp_buf));
    return __rdtsc() - t0;
}

double vmm_obs_overhead_ns(const struct vmm_obs *o)
{
    enum { BATCHES = 50, N = 1000 };
    volatile uint64_t sink = 0;
    uint64_t best = UINT64_MAX; /* the quietest batch: the machine is shared */
    for (int b = 0; b < BATCHES; b++) {
        uint64_t start = __rdtsc();
        for (int i = 0; i < N; i++) sink += observe_steps();
        uint64_t t = __rdtsc() - start;
        if (t < best) best = t;
    }
    return (double)best / N * vmm_obs_ns_per_tick(o);
}

static void account(struct vcpu *v, enum vmm_callout_id id, const uint32_t *args, uint64_t t0, bool faulted)
{
    struct vmm_obs *o = v->obs;
    enum exit_reason r = vmm_callouts[id].reason;
    if (o->timing) {
        o->ticks[r] += __rdtsc() - t0;
        o->timed[r]++;
    }
    if (faulted) {
        o->faulted[r]++;
        if (v->fault_vec == 13) o->gp[r]++;
    } else if (id == VMM_mov_to_cr && args && args[0] == 3) {
        o->cr3_writes++;
    }
}

uint64_t vmm_call_observed(struct vcpu *v, enum vmm_callout_id id, const uint32_t *args)
{
    struct vmm_obs *o = v->obs;
    vmm_count(v, vmm_callouts[id].reason);
    bool tr = o->trace.on && (o->trace.count == 0 || o->lines < o->trace.count) &&
              (vmm_trace_class(id) & o->trace.classes);
    struct vmm_trace_pre pre;
    if (tr) vmm_trace_before(v, id, args, &pre);

    /* Catch a fault raised inside the handler, then pass it on. */
    jmp_buf outer;
    memcpy(outer, v->fault_jmp, sizeof(jmp_buf));
    uint64_t t0 = o->timing ? __rdtsc() : 0;
    if (setjmp(v->fault_jmp)) {
        memcpy(v->fault_jmp, outer, sizeof(jmp_buf));
        account(v, id, args, t0, true);
        if (tr) vmm_trace_after(v, &pre, 0, true);
        longjmp(v->fault_jmp, 1);
    }
    uint64_t ret = vmm_invoke(v, id, args);
    memcpy(v->fault_jmp, outer, sizeof(jmp_buf));
    account(v, id, args, t0, false);
    if (tr) vmm_trace_after(v, &pre, ret, false);
    return ret;
}
