/* Native harness for the benchmark kernels: runs the same C sources as the
 * bench guest (guests/bench/kernels.c) on the host, prints the same lines
 * (name, checksum, check result) plus the process CPU time per kernel in
 * nanoseconds and the host TSC cycles it took.
 * Usage: bench-native [scale] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../guests/bench/kernels.h"

static uint64_t tsc(void)
{
#if defined(__i386__) || defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
#else
    return 0;
#endif
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time, as bench/run.sh measures the emulators */
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    unsigned scale = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
    if (scale == 0)
        scale = 1;
    int bad = 0;
    printf("bt86 bench: scale=%u\n", scale);
    double t_all = now_ns();
    for (unsigned i = 0; i < bench_nkernels; i++) {
        const struct bench_kernel *k = &bench_kernels[i];
        double t0 = now_ns();
        uint64_t c0 = tsc();
        uint32_t sum = k->run(scale);
        uint64_t dc = tsc() - c0;
        double dt = now_ns() - t0;
        const char *verdict = scale != 1 ? "unchecked" : sum == k->expect1 ? "ok" : "MISMATCH";
        bad |= scale == 1 && sum != k->expect1;
        printf("%-8s checksum=%08x %s ns=%.0f cycles=%llu\n", k->name, (unsigned)sum, verdict, dt,
               (unsigned long long)dc);
    }
    printf("total ns=%.0f\n", now_ns() - t_all);
    return bad;
}
