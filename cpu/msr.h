/* Model-specific registers and the time-stamp counter. */
#ifndef BT86_CPU_MSR_H
#define BT86_CPU_MSR_H

#include <stdint.h>

#include "cpu/vcpu.h"

#define MSR_TSC              0x010u
#define MSR_APIC_BASE        0x01bu
#define MSR_SYSENTER_CS      0x174u
#define MSR_SYSENTER_ESP     0x175u
#define MSR_SYSENTER_EIP     0x176u
#define MSR_MISC_ENABLE      0x1a0u
#define MSR_PAT              0x277u

/* The guest TSC. The virtual clock is the retired-instruction count: one
 * instruction = one cycle of a nominal 1 GHz CPU, so runs are deterministic.
 * Writing the TSC MSR moves the offset. */
#define CPU_TSC_HZ 1000000000ull
static inline uint64_t cpu_tsc(const struct vcpu *v)
{
    return v->icount + v->msr.tsc_offset;
}

#endif
