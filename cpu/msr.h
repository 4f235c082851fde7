/* Model-specific registers and the time-stamp counter. */
#ifndef BT86_CPU_MSR_H
#define BT86_CPU_MSR_H

#include <stdint.h>

#include "cpu/vcpu.h"

#define MSR_TSC              0x010u
#define MSR_PLATFORM_ID      0x017u
#define MSR_APIC_BASE        0x01bu
#define MSR_UCODE_REV        0x08bu /* IA32_BIOS_SIGN_ID: microcode revision in EDX */
#define MSR_SYSENTER_CS      0x174u
#define MSR_SYSENTER_ESP     0x175u
#define MSR_SYSENTER_EIP     0x176u
#define MSR_MISC_ENABLE      0x1a0u
#define MSR_PAT              0x277u

/* The guest TSC runs at a nominal 1 GHz of virtual time: the board's clock
 * (machine.now_ns: host time, or the instruction count under -icount), so it
 * agrees with the PIT, the PM timer and the APIC timer, which run on the same
 * clock. Without a board (unit tests) it is the retired-instruction count.
 * Writing the TSC MSR moves the offset. */
#define CPU_TSC_HZ 1000000000ull
uint64_t cpu_tsc_raw(const struct vcpu *v);
static inline uint64_t cpu_tsc(const struct vcpu *v)
{
    return cpu_tsc_raw(v) + v->msr.tsc_offset;
}

#endif
