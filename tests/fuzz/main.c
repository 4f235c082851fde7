/* bt86-fuzz: run many seeded random instruction sequences under two engines
 * in lockstep and report any disagreement with a reproducer.
 *
 *   build/bt86-fuzz [-seed S] [-n N] [-engines A,B] [-chunk N] [-flags-mask M]
 *                   [-keep-going] [-q]
 *   build/bt86-fuzz -case SEED [-engines A,B] [-chunk N]   (one case, listed)
 *
 * Engines: run (cpu_run, decoded blocks), step (cpu_step), bt (the binary
 * translator, when linked). Default: bt,run when the translator is linked,
 * else run,step. Exit status 0 = no mismatch, 1 = mismatch, 2 = usage,
 * 3 = a case did not finish (HANG, with its seed). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: bt86-fuzz [-seed S] [-n N] [-engines A,B] [-chunk N] [-flags-mask M] [-keep-going] [-q]\n"
            "       bt86-fuzz -case SEED [-engines A,B] [-chunk N] [-flags-mask M]\n"
            "engines: run, step, bt (if linked)\n");
}

static int parse_engines(const char *s, const struct engine **a, const struct engine **b)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", s);
    char *comma = strchr(buf, ',');
    if (!comma) return -1;
    *comma = 0;
    *a = engine_by_name(buf);
    *b = engine_by_name(comma + 1);
    return *a && *b ? 0 : -1;
}

/* A case that never ends (an engine looping without retiring instructions)
 * is reported like a mismatch. */
static volatile uint64_t current_seed;
static void on_alarm(int sig)
{
    (void)sig;
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "\nHANG: case seed %#llx did not finish in 20 s\n",
                     (unsigned long long)current_seed);
    if (n > 0) (void)!write(2, msg, (size_t)n);
    _exit(3);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, n = 100000, one_case = 0;
    bool have_case = false, keep_going = false, quiet = false;
    struct fuzz_opts o = { .log = stdout };
    if (engine_bt()) {
        o.ea = engine_bt();
        o.eb = &engine_interp_run;
    } else {
        o.ea = &engine_interp_run;
        o.eb = &engine_interp_step;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-keep-going")) keep_going = true;
        else if (!strcmp(a, "-q")) quiet = true;
        else if (!val) {
            usage();
            return 2;
        } else if (!strcmp(a, "-seed")) seed = strtoull(val, NULL, 0), i++;
        else if (!strcmp(a, "-n")) n = strtoull(val, NULL, 0), i++;
        else if (!strcmp(a, "-case")) one_case = strtoull(val, NULL, 0), have_case = true, i++;
        else if (!strcmp(a, "-chunk")) o.chunk = strtoull(val, NULL, 0), i++;
        else if (!strcmp(a, "-flags-mask")) o.eflags_mask = (uint32_t)strtoul(val, NULL, 0), i++;
        else if (!strcmp(a, "-engines")) {
            if (parse_engines(val, &o.ea, &o.eb)) {
                fprintf(stderr, "bt86-fuzz: unknown or unavailable engine in '%s'\n", val);
                return 2;
            }
            i++;
        } else {
            usage();
            return 2;
        }
    }
    static struct fuzz_case c; /* large */
    struct fuzz_outcome out;
    signal(SIGALRM, on_alarm);
    if (have_case) {
        fuzz_generate(&c, one_case);
        fuzz_print_case(stdout, &c);
        fflush(stdout);
        current_seed = one_case;
        alarm(20);
        int r = fuzz_run_case(&c, &o, &out);
        if (r < 0) return 2;
        printf("%s: %s vs %s, %" PRIu64 " instructions, ended: %s", r ? "MISMATCH" : "same", o.ea->name, o.eb->name,
               out.insns, fuzz_end_name(out.end));
        if (out.end == FE_EXCEPTION) printf(" (vector %d)", out.vector);
        printf("\n");
        return r ? 1 : 0;
    }
    printf("bt86-fuzz: %" PRIu64 " cases from seed %#" PRIx64 ", %s vs %s\n", n, seed, o.ea->name, o.eb->name);
    uint64_t ends[FE_COUNT] = { 0 }, vectors[256] = { 0 }, insns = 0, mismatches = 0;
    double t0 = now();
    for (uint64_t i = 0; i < n; i++) {
        fuzz_generate(&c, fuzz_case_seed(seed, i));
        current_seed = c.seed;
        alarm(20);
        int r = fuzz_run_case(&c, &o, &out);
        alarm(0);
        if (r < 0) {
            fprintf(stderr, "bt86-fuzz: cannot build a machine\n");
            return 2;
        }
        ends[out.end]++;
        if (out.vector >= 0) vectors[out.vector & 0xff]++;
        insns += out.insns;
        if (r) {
            mismatches++;
            printf("(case %" PRIu64 " of the run from seed %#" PRIx64 ")\n", i, seed);
            if (!keep_going) break;
        }
        if (!quiet && (i + 1) % 10000 == 0)
            fprintf(stderr, "bt86-fuzz: %" PRIu64 " cases, %" PRIu64 " mismatches, %.1f s\n", i + 1, mismatches, now() - t0);
    }
    printf("bt86-fuzz: %" PRIu64 " instructions retired; ends:", insns);
    for (int e = 0; e < FE_COUNT; e++) printf(" %s=%" PRIu64, fuzz_end_name((enum fz_end)e), ends[e]);
    printf("\n  exception vectors:");
    for (int v = 0; v < 256; v++)
        if (vectors[v]) printf(" %d:%" PRIu64, v, vectors[v]);
    printf("\nbt86-fuzz: %" PRIu64 " mismatches (%.1f s)\n", mismatches, now() - t0);
    return mismatches ? 1 : 0;
}
