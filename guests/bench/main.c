/* bench: the CPU-bound benchmark suite as a Multiboot guest. Runs every
 * kernel of kernels.c once at the size given by "scale=N" on the command
 * line (default 1), printing per kernel its name, checksum, whether the
 * checksum is right (known at scale 1 only) and the RDTSC delta in cycles.
 * bt86's TSC is virtual, so host wall time is measured outside
 * (bench/run.sh). "only=K" runs kernel K alone (1-based; a K past the last
 * kernel runs none: the start-up baseline bench/run.sh subtracts).
 * Exits 0 if every checked checksum matched. */
#include "../lib/rt.h"
#include "kernels.h"

int guest_main(uint32_t magic, const struct mb_info *info)
{
    serial_init();
    uint32_t scale = magic == MB_BOOT_MAGIC ? cmdline_uint(info, "scale", 1) : 1;
    if (scale == 0)
        scale = 1;
    uint32_t only = magic == MB_BOOT_MAGIC ? cmdline_uint(info, "only", 0) : 0;
    int bad = 0;
    printf("bt86 bench: scale=%u\n", scale);
    uint64_t t_all = rdtsc();
    for (unsigned i = 0; i < bench_nkernels; i++) {
        const struct bench_kernel *k = &bench_kernels[i];
        if (only != 0 && only != i + 1)
            continue;
        uint64_t t0 = rdtsc();
        uint32_t sum = k->run(scale);
        uint64_t dt = rdtsc() - t0;
        const char *verdict = scale != 1 ? "unchecked" : sum == k->expect1 ? "ok" : "MISMATCH";
        bad |= scale == 1 && sum != k->expect1;
        printf("%-8s checksum=%08x %s cycles=%llu\n", k->name, sum, verdict,
               (unsigned long long)dt);
    }
    printf("total cycles=%llu\n", (unsigned long long)(rdtsc() - t_all));
    return bad;
}
