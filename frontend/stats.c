/* Run statistics (frontend/stats.h). */
#include "frontend/stats.h"

#include <inttypes.h>

#include "cpu/exit_reason.h"
#include "frontend/pc.h"

static const char *const exc_names[32] = {
    "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", "15",
    "MF", "AC", "MC", "XM", "VE", "CP", "22", "23", "24", "25", "26", "27", "28", "29", "SX", "31",
};

void stats_print(FILE *f, const struct pc *pc, double host_seconds)
{
    const struct vcpu *v = pc->m.cpu[0];
    double ips = host_seconds > 0 ? (double)v->icount / host_seconds : 0;
    fprintf(f, "bt86 stats:\n");
    fprintf(f, "  guest instructions    %" PRIu64 "\n", v->icount);
    fprintf(f, "  host seconds          %.3f\n", host_seconds);
    fprintf(f, "  instructions/second   %.0f (%.2f MIPS)\n", ips, ips / 1e6);
    uint64_t total = 0;
    for (int r = 0; r < EXIT_COUNT; r++) total += v->exits[r];
    fprintf(f, "  VMM exits             %" PRIu64 "\n", total);
    for (int r = 0; r < EXIT_COUNT; r++) {
        if (!v->exits[r]) continue;
        fprintf(f, "    %3d  %-40s %" PRIu64 "\n", exit_reason_number((enum exit_reason)r),
                exit_reason_text((enum exit_reason)r), v->exits[r]);
    }
    uint64_t nexc = 0;
    for (int i = 0; i < 32; i++) nexc += v->exceptions[i];
    fprintf(f, "  exceptions            %" PRIu64 "\n", nexc);
    for (int i = 0; i < 32; i++) {
        if (!v->exceptions[i]) continue;
        fprintf(f, "    #%-4s (vector %2d)  %" PRIu64 "\n", exc_names[i], i, v->exceptions[i]);
    }
    fprintf(f, "  serial                %" PRIu64 " bytes out, %" PRIu64 " bytes in\n",
            pc->com1.tx_bytes, pc->com1.rx_bytes);
    fprintf(f, "  unclaimed I/O ports   %" PRIu64 " reads, %" PRIu64 " writes\n",
            pc->m.io.unclaimed_reads, pc->m.io.unclaimed_writes);
}
