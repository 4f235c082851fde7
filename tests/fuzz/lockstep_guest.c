/* bt86-lockstep: boot one guest on two identical PCs and run them under two
 * engines in lockstep (cpu/lockstep.h), comparing the architectural state
 * after every chunk and guest RAM every -ram-every instructions. Time is
 * deterministic (-icount, default shift 4) and device polling happens at the
 * same instruction counts on both sides, so the machines see identical
 * device behaviour; machine B's serial output is discarded. With -smp N the
 * N vCPUs of each machine take turns (frontend/smp_run.h's smp_select), each
 * running -chunk instructions and being compared with its twin.
 *
 *   build/bt86-lockstep [-engines A,B] [-chunk N] [-ram-every N] <bt86 options> -kernel FILE
 *
 * Exit status: 99 on a divergence (described on stderr), else what bt86
 * would return for the way the guest stopped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/lockstep.h"
#include "frontend/cli.h"
#include "frontend/pc.h"
#include "frontend/smp_run.h"

#define EXIT_DIVERGED 99

static int status_of(const struct vcpu *v, enum vcpu_stop s)
{
    switch (s) {
    case STOP_EXIT_PORT: return v->exit_status;
    case STOP_SHUTDOWN: return EXIT_STATUS_OK;
    case STOP_TRIPLE_FAULT: return EXIT_STATUS_TRIPLE;
    case STOP_HALT_FOREVER: return EXIT_STATUS_HALT;
    case STOP_INSN_LIMIT: return EXIT_STATUS_INSN_LIMIT;
    default: return EXIT_STATUS_USAGE;
    }
}

/* The lockstep runner's scheduling hooks for -smp: the board's round robin. */
static void select_vcpu(void *opaque, struct machine *m, struct vcpu *v)
{
    (void)opaque;
    smp_select(m->board, v);
}

static bool all_idle(void *opaque, struct machine *m)
{
    (void)opaque;
    return smp_all_idle(m->board);
}

int main(int argc, char **argv)
{
    const struct engine *ea = engine_bt() ? engine_bt() : &engine_interp_run;
    const struct engine *eb = engine_bt() ? &engine_interp_run : &engine_interp_step;
    uint64_t chunk = 64, ram_every = 1000000;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    if (!rest) return EXIT_STATUS_USAGE;
    int nrest = 0;
    rest[nrest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-engines") && i + 1 < argc) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%s", argv[++i]);
            char *comma = strchr(buf, ',');
            if (comma) *comma = 0;
            ea = engine_by_name(buf);
            eb = comma ? engine_by_name(comma + 1) : NULL;
            if (!ea || !eb) {
                fprintf(stderr, "bt86-lockstep: bad or unavailable engines '%s' (run, step, bt)\n", argv[i]);
                return EXIT_STATUS_USAGE;
            }
        } else if (!strcmp(argv[i], "-chunk") && i + 1 < argc) {
            chunk = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "-ram-every") && i + 1 < argc) {
            ram_every = strtoull(argv[++i], NULL, 0);
        } else {
            rest[nrest++] = argv[i];
        }
    }
    struct options o;
    char err[1024];
    if (cli_parse(nrest, rest, &o, err, sizeof(err)) || o.action != CLI_RUN) {
        if (o.action == CLI_RUN) fprintf(stderr, "bt86-lockstep: %s\n", err);
        else cli_usage(stderr);
        free(rest);
        return EXIT_STATUS_USAGE;
    }
    free(rest);
    if (o.icount_shift < 0) o.icount_shift = 4;
    struct options ob = o;
    ob.serial = SERIAL_NONE;
    struct pc *pa = calloc(1, sizeof(*pa)), *pb = calloc(1, sizeof(*pb));
    int status = EXIT_STATUS_USAGE;
    if (!pa || !pb) goto out;
    if (pc_init(pa, &o, err, sizeof(err)) || pc_load(pa, &o, err, sizeof(err)) || pc_init(pb, &ob, err, sizeof(err)) ||
        pc_load(pb, &ob, err, sizeof(err))) {
        if (err[0]) fprintf(stderr, "bt86-lockstep: %s\n", err);
        goto out;
    }
    struct vcpu *a = pa->m.cpu[0], *b = pb->m.cpu[0];
    pa->cur = a;
    pb->cur = b;
    struct lockstep ls = { .a = a, .b = b, .ea = ea, .eb = eb, .chunk = chunk, .ram_every = ram_every, .log = stderr };
    if (pa->smp) {
        ls.ncpu = pa->m.ncpu;
        ls.select = select_vcpu;
        ls.all_idle = all_idle;
    }
    console_start(&pa->con);
    int r = lockstep_run(&ls, o.max_insns);
    console_stop(&pa->con);
    char cpus[32] = "";
    if (ls.ncpu > 1) snprintf(cpus, sizeof(cpus), " on %d vCPUs", ls.ncpu);
    fprintf(stderr, "bt86-lockstep: %s vs %s%s: %s after %llu instructions (%llu chunks), stop: %s\n", ea->name,
            eb->name, cpus, r ? "DIVERGED" : "agreed", (unsigned long long)ls.insns, (unsigned long long)ls.chunks,
            vcpu_stop_name(ls.stop));
    status = r ? EXIT_DIVERGED : status_of(pa->m.cpu[ls.stop_cpu], ls.stop);
    for (int i = 0; i < pa->m.ncpu; i++) engine_release(pa->m.cpu[i]);
    for (int i = 0; i < pb->m.ncpu; i++) engine_release(pb->m.cpu[i]);
out:
    if (pa) pc_destroy(pa);
    if (pb) pc_destroy(pb);
    free(pa);
    free(pb);
    return status;
}
