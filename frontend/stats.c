/* Run statistics and the -trace set-up (frontend/stats.h). */
#include "frontend/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cpu/exit_reason.h"
#include "cpu/trap_engine.h"
#include "cpu/vmm_trace.h"
#include "frontend/pc.h"
#include "cpu/decode_cache.h"
#include "translator/bt.h"

static const char *const exc_names[32] = {
    "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", "15",
    "MF", "AC", "MC", "XM", "VE", "CP", "22", "23", "24", "25", "26", "27", "28", "29", "SX", "31",
};

int stats_observe(struct pc *pc, const struct options *o, char *err, size_t errlen)
{
    struct vcpu *v = pc->m.cpu[0];
    if (!v || (!o->stats && !o->trace.on)) return 0;
    FILE *out = stderr;
    if (o->trace.on && o->trace.path) {
        out = fopen(o->trace.path, "w");
        if (!out) {
            snprintf(err, errlen, "cannot open trace file '%s': %s", o->trace.path, strerror(errno));
            return -1;
        }
    }
    v->obs = vmm_obs_new(o->stats, o->trace.on ? &o->trace : NULL, out);
    if (!v->obs) {
        if (out != stderr) fclose(out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void stats_unobserve(struct pc *pc)
{
    struct vcpu *v = pc->m.cpu[0];
    if (!v || !v->obs) return;
    if (v->obs->out && v->obs->out != stderr) fclose(v->obs->out);
    vmm_obs_free(v->obs);
    v->obs = NULL;
}

/* One VMM-entry row: number, name, count, then host time when it was measured. */
static void entry_row(FILE *f, enum exit_reason r, uint64_t count, const struct vmm_obs *o, double ns_per_tick)
{
    fprintf(f, "    %3d  %-40s %10" PRIu64, exit_reason_number(r), exit_reason_text(r), count);
    if (o && o->timing && o->timed[r]) {
        double ns = (double)o->ticks[r] * ns_per_tick;
        fprintf(f, " %11.3f %9.0f", ns / 1e6, ns / (double)o->timed[r]);
    }
    fputc('\n', f);
    if (o && o->faulted[r]) {
        fprintf(f, "           %-40s %10" PRIu64 "\n", "... of which raised #GP", o->gp[r]);
        if (o->faulted[r] != o->gp[r])
            fprintf(f, "           %-40s %10" PRIu64 "\n", "... of which raised another exception",
                    o->faulted[r] - o->gp[r]);
    }
}

static void translator_stats(FILE *f, const struct vcpu *v)
{
    struct bt_stats s;
    bt_get_stats(v, &s);
    uint64_t sensitive = s.sensitive_native + s.sensitive_called;
    fprintf(f, "  translator (-engine bt)\n");
    fprintf(f, "    blocks translated                  %" PRIu64 "\n", s.tbs);
    fprintf(f, "    instructions translated            %" PRIu64 " (%" PRIu64 " native, %" PRIu64
               " as calls of the interpreter's handlers)\n", s.native + s.fallback, s.native, s.fallback);
    fprintf(f, "    privileged/sensitive translated    %" PRIu64 " (%" PRIu64 " inline, %" PRIu64
               " calling the VMM)\n", sensitive, s.sensitive_native, s.sensitive_called);
    fprintf(f, "    host code emitted                  %" PRIu64 " bytes for %" PRIu64 " guest bytes\n", s.code_bytes,
            s.guest_bytes);
    fprintf(f, "    host time translating              %.3f ms\n", (double)s.translate_ns / 1e6);
    fprintf(f, "    block exits chained                %" PRIu64 "\n", s.chains);
    fprintf(f, "    returns to the dispatcher          %" PRIu64 "\n", s.dispatches);
    fprintf(f, "    lookup-and-goto jumps              %" PRIu64 " (block-ending calls going straight to the next"
               " block; %" PRIu64 " found none)\n", s.gotos, s.goto_misses);
    fprintf(f, "    blocks run by the interpreter      %" PRIu64 "\n", s.interp_blocks);
    fprintf(f, "    translations dropped (SMC)         %" PRIu64 "\n", s.invalidated);
    fprintf(f, "    code cache flushes                 %" PRIu64 "\n", s.flushes);
}

void stats_print(FILE *f, const struct pc *pc, double host_seconds)
{
    const struct vcpu *v = pc->m.cpu[0];
    const struct vmm_obs *o = v->obs;
    double ips = host_seconds > 0 ? (double)v->icount / host_seconds : 0;
    fprintf(f, "bt86 stats:\n");
    fprintf(f, "  guest instructions    %" PRIu64 "\n", v->icount);
    fprintf(f, "  host seconds          %.3f\n", host_seconds);
    fprintf(f, "  instructions/second   %.0f (%.2f MIPS)\n", ips, ips / 1e6);
    uint64_t total = 0;
    for (int r = 0; r < EXIT_COUNT; r++) total += v->exits[r];
    fprintf(f, "  VMM exits             %" PRIu64 "\n", total);
    double ns_per_tick = o && o->timing ? vmm_obs_ns_per_tick(o) : 0;
    fprintf(f, "    %3s  %-40s %10s %11s %9s\n", "#", "exit reason", "count",
            "host ms", "ns/entry");
    for (int r = 0; r < EXIT_COUNT; r++) {
        if (!v->exits[r]) continue;
        entry_row(f, (enum exit_reason)r, v->exits[r], o, ns_per_tick);
        if (r == EXIT_EXCEPTION) {
            for (int i = 0; i < 32; i++) {
                if (!v->exceptions[i]) continue;
                char name[24];
                snprintf(name, sizeof(name), "#%s (vector %d)", exc_names[i], i);
                fprintf(f, "           %-40s %10" PRIu64 "\n", name, v->exceptions[i]);
            }
        }
    }
    if (o && o->timing)
        fprintf(f, "    #: the VT-x basic exit reason; 100 and up are bt86's own (no VT-x exit).\n"
                   "    host time: handler only, by the host TSC (%.3f GHz against CLOCK_MONOTONIC);\n"
                   "    -stats itself adds about %.0f ns to each entry. Exceptions, interrupts and task\n"
                   "    switches are counted when delivered, not timed.\n",
                1.0 / ns_per_tick, vmm_obs_overhead_ns(o));
    uint64_t nexc = 0;
    for (int i = 0; i < 32; i++) nexc += v->exceptions[i];
    fprintf(f, "  exceptions            %" PRIu64 "\n", nexc);
    if (pc->m.dcache) {
        /* Capstone runs once per instruction of a decoded block; blocks are
         * decoded again only after a write to their page dropped them. */
        struct dcache_stats d;
        dcache_get_stats(pc->m.dcache, &d);
        fprintf(f, "  decoder (Capstone, shared by both engines)\n");
        fprintf(f, "    blocks decoded                     %" PRIu64 " (%" PRIu64 " instructions)\n", d.blocks, d.insns);
        fprintf(f, "    block lookups                      %" PRIu64 " (%" PRIu64 " misses)\n", d.lookups, d.misses);
        fprintf(f, "    blocks dropped by code writes      %" PRIu64 "\n", d.invalidations);
    }
    if (v->bt) translator_stats(f, v);
    if (v->trap) trap_stats_print(f, v);
    fprintf(f, "  shadow paging\n");
    fprintf(f, "    TLB fills                          %" PRIu64 "\n", v->tlb.fills);
    fprintf(f, "    TLB flushes (all or one page)      %" PRIu64 "\n", v->tlb.flushes);
    if (o) fprintf(f, "    MOV to CR3 (address-space switch)  %" PRIu64 "\n", o->cr3_writes);
    /* Cached address spaces (memory/tlb.h): a hit restores the new CR3's
     * entries whose PDE/PTE are unchanged (stale ones are left to refill). */
    fprintf(f, "    CR3 switches: cached space hit     %" PRIu64 ", %" PRIu64 " misses\n", v->tlb.cr3_hits, v->tlb.cr3_misses);
    fprintf(f, "    entries restored on a hit          %" PRIu64 " (%" PRIu64 " stale, not restored)\n", v->tlb.restored,
            v->tlb.stale);
    fprintf(f, "  serial                %" PRIu64 " bytes out, %" PRIu64 " bytes in\n",
            pc->com1.tx_bytes, pc->com1.rx_bytes);
    fprintf(f, "  unclaimed I/O ports   %" PRIu64 " reads, %" PRIu64 " writes\n",
            pc->m.io.unclaimed_reads, pc->m.io.unclaimed_writes);
}
