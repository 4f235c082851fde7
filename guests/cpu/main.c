/* cpu: a CPU self-check guest. Runs known-answer checks of instructions an
 * emulator easily gets wrong (string ops with both directions, BCD adjusts,
 * bit scans and double shifts, multiply/divide, compare-exchange, shifts,
 * flags, stack frames, CPUID),
 * one output line per check, and exits 0 only if all pass. The expected
 * values come from the Intel SDM and agree with QEMU and real hardware. */
#include "cpu.h"

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)info;
    serial_init();
    printf("bt86 cpu self-check\n");
    check_u32(magic, MB_BOOT_MAGIC, "booted by Multiboot");
    checks_string();
    checks_bcd();
    checks_bits();
    checks_muldiv();
    checks_atomic();
    checks_misc();
    checks_cpuid();
    return check_finish();
}
