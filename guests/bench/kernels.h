/* The CPU-bound benchmark kernels, shared by the bench guest and the native
 * harness (bench/native.c). Plain C with no library calls, so the guest and
 * the host build run exactly the same code. Each kernel does a fixed,
 * deterministic amount of work proportional to `scale` and returns a
 * checksum of what it computed. */
#ifndef GUESTS_BENCH_KERNELS_H
#define GUESTS_BENCH_KERNELS_H

#include <stdint.h>

struct bench_kernel {
    const char *name;
    uint32_t (*run)(uint32_t scale);
    uint32_t expect1;        /* checksum at scale 1 */
};

extern const struct bench_kernel bench_kernels[];
extern const unsigned bench_nkernels;

#endif
