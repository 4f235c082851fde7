/* CPUID checks: EFLAGS.ID can be toggled (the i486-era presence test),
 * leaf 0 reports a max leaf >= 1 and a printable vendor, leaf 1 reports the
 * TSC and CMPXCHG8B this guest relies on. Values that differ between CPU
 * models are checked for plausibility only, so output is the same on bt86
 * and QEMU. Also RDTSC moving forward. */
#include "cpu.h"

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "0"(leaf), "2"(0));
}

static int printable(uint32_t w)
{
    for (int i = 0; i < 4; i++, w >>= 8)
        if ((w & 0xFF) < 0x20 || (w & 0xFF) > 0x7E)
            return 0;
    return 1;
}

void checks_cpuid(void)
{
    uint32_t before, after;
    __asm__ volatile("pushfl; popl %0; movl %0, %%ecx; xorl %2, %%ecx; pushl %%ecx; popfl;"
                     "pushfl; popl %1; pushl %0; popfl"
                     : "=&r"(before), "=&r"(after) : "i"(F_ID) : "ecx", "cc");
    check_u32((before ^ after) & F_ID, F_ID, "EFLAGS.ID toggles (CPUID present)");

    uint32_t r[4];
    cpuid(0, r);
    check_true(r[0] >= 1 && r[0] < 0x100, "cpuid 0: max basic leaf plausible");
    check_true(printable(r[1]) && printable(r[3]) && printable(r[2]), "cpuid 0: vendor printable");
    cpuid(1, r);
    check_true((r[3] >> 4) & 1, "cpuid 1: TSC");
    check_true((r[3] >> 8) & 1, "cpuid 1: CX8");
    check_true(((r[0] >> 8) & 0xF) >= 5, "cpuid 1: family >= 5");

    uint64_t t0 = rdtsc();
    for (volatile int i = 0; i < 100; i++)
        ;
    uint64_t t1 = rdtsc();
    check_true(t1 > t0, "rdtsc moves forward");
}
