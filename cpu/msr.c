/* VMM handlers for RDMSR, WRMSR, RDTSC and RDPMC. Unknown MSRs raise #GP(0),
 * as on hardware, so guests probing with rdmsr_safe see a clean answer. */
#include "cpu/msr.h"

#include "cpu/fault.h"
#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"

static void need_cpl0(struct vcpu *v)
{
    if (v->cpl != 0) cpu_gp(v, 0);
}

static uint64_t edx_eax(const struct vcpu *v)
{
    return ((uint64_t)v->r[R_EDX] << 32) | v->r[R_EAX];
}

uint64_t cpu_tsc_raw(const struct vcpu *v)
{
    struct machine *m = v->m;
    return m && m->now_ns ? m->now_ns(m) : v->icount;
}

static void set_edx_eax(struct vcpu *v, uint64_t x)
{
    v->r[R_EAX] = (uint32_t)x;
    v->r[R_EDX] = (uint32_t)(x >> 32);
}

void vmm_rdmsr(struct vcpu *v)
{
    need_cpl0(v);
    uint64_t x;
    switch (v->r[R_ECX]) {
    case MSR_TSC: x = cpu_tsc(v); break;
    case MSR_APIC_BASE: x = v->msr.apic_base; break;
    case MSR_UCODE_REV: x = 0; break; /* no microcode loaded */
    case MSR_PLATFORM_ID: x = 0; break; /* platform 0 (read by microcode loaders) */
    case MSR_SYSENTER_CS: x = v->msr.sysenter_cs; break;
    case MSR_SYSENTER_ESP: x = v->msr.sysenter_esp; break;
    case MSR_SYSENTER_EIP: x = v->msr.sysenter_eip; break;
    case MSR_MISC_ENABLE: x = v->msr.misc_enable; break;
    case MSR_PAT: x = v->msr.pat; break;
    default: cpu_gp(v, 0);
    }
    set_edx_eax(v, x);
}

/* Each PAT entry must be a defined memory type: UC WC WT WP WB UC-. */
static bool pat_valid(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7) return false;
    }
    return true;
}

void vmm_wrmsr(struct vcpu *v)
{
    need_cpl0(v);
    uint64_t x = edx_eax(v);
    switch (v->r[R_ECX]) {
    case MSR_TSC:
        v->msr.tsc_offset = x - cpu_tsc_raw(v);
        break;
    case MSR_APIC_BASE:
        /* Bits 0-7, 9 and 10 (x2APIC) are reserved, as is anything above a
         * 36-bit physical address; the BSP flag is read-only. */
        if (x & 0xfffffff0000006ffull) cpu_gp(v, 0);
        v->msr.apic_base = (x & ~0x100ull) | (v->msr.apic_base & 0x100ull);
        if (v->m->apic_base_written) v->m->apic_base_written(v->m, v);
        break;
    case MSR_UCODE_REV: break; /* software writes 0 before CPUID to latch the revision */
    case MSR_SYSENTER_CS: v->msr.sysenter_cs = (uint32_t)x; break;
    case MSR_SYSENTER_ESP: v->msr.sysenter_esp = (uint32_t)x; break;
    case MSR_SYSENTER_EIP: v->msr.sysenter_eip = (uint32_t)x; break;
    case MSR_MISC_ENABLE: v->msr.misc_enable = x; break;
    case MSR_PAT:
        if (!pat_valid(x)) cpu_gp(v, 0);
        v->msr.pat = x;
        break;
    default: cpu_gp(v, 0);
    }
}

void vmm_rdtsc(struct vcpu *v)
{
    if ((v->cr4 & CR4_TSD) && v->cpl != 0) cpu_gp(v, 0);
    set_edx_eax(v, cpu_tsc(v));
}

/* No performance counters are modelled: every counter index is invalid. */
void vmm_rdpmc(struct vcpu *v)
{
    if (!(v->cr4 & CR4_PCE) && v->cpl != 0) cpu_gp(v, 0);
    cpu_gp(v, 0);
}
