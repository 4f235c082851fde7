/* Native harness for the benchmark kernels: runs the same C sources as the
 * bench guest (guests/bench/kernels.c) on the host, prints the same lines
 * (name, checksum, check result) plus wall time per kernel in nanoseconds.
 * Usage: bench-native [scale] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../guests/bench/kernels.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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
        uint32_t sum = k->run(scale);
        double dt = now_ns() - t0;
        const char *verdict = scale != 1 ? "unchecked" : sum == k->expect1 ? "ok" : "MISMATCH";
        bad |= scale == 1 && sum != k->expect1;
        printf("%-8s checksum=%08x %s ns=%.0f\n", k->name, (unsigned)sum, verdict, dt);
    }
    printf("total ns=%.0f\n", now_ns() - t_all);
    return bad;
}
