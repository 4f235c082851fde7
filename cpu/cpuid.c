/* CPUID: bt86 presents itself as a plain i686 (family 6) with Intel's vendor
 * string (as QEMU's qemu32 CPU does: kernels print "unknown vendor ... your
 * system may be unstable" and take generic paths for anything else) and its
 * own brand string. Only features bt86 implements are advertised: no MMX,
 * SSE, PAE, PSE-36, MTRR, MCA. The APIC bit follows the board (a local APIC
 * exists when the board handles IA32_APIC_BASE) and the MSR's enable bit, as
 * on hardware. */
#include <string.h>

#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"

#define CPUID_VENDOR "GenuineIntel"     /* 12 bytes, returned in EBX, EDX, ECX */
#define CPUID_BRAND  "bt86 Virtual CPU" /* padded with NULs to 48 bytes */
#define CPUID_SIGNATURE 0x000006f1u      /* family 6, model 15, stepping 1 */
/* Leaves 2-0x14 read as zeros (no cache, topology or extended-feature
 * information); 0x15 gives the TSC and the crystal clock (below). */
#define CPUID_MAX_BASIC 0x15u
#define CPUID_MAX_EXT   0x80000004u

/* Leaf 1 EDX feature bits. */
#define FEAT_FPU  (1u << 0)
#define FEAT_DE   (1u << 2)
#define FEAT_PSE  (1u << 3)
#define FEAT_TSC  (1u << 4)
#define FEAT_MSR  (1u << 5)
#define FEAT_CX8  (1u << 8)
#define FEAT_APIC (1u << 9)
#define FEAT_SEP  (1u << 11)
#define FEAT_PGE  (1u << 13)
#define FEAT_CMOV (1u << 15)
#define FEAT_FXSR (1u << 24)
#define CPUID_FEATURES (FEAT_FPU | FEAT_DE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_CX8 | FEAT_SEP | FEAT_PGE | \
                        FEAT_CMOV | FEAT_FXSR)

static uint32_t str4(const char *s)
{
    uint32_t x;
    memcpy(&x, s, 4);
    return x;
}

void vmm_cpuid(struct vcpu *v)
{
    uint32_t leaf = v->r[R_EAX];
    uint32_t a = 0, b = 0, c = 0, d = 0;
    /* Leaves above the maximum return the highest basic leaf, as Intel CPUs do. */
    if ((leaf > CPUID_MAX_BASIC && leaf < 0x80000000u) || leaf > CPUID_MAX_EXT) leaf = CPUID_MAX_BASIC;
    if (leaf == 0) {
        const char *vend = CPUID_VENDOR;
        a = CPUID_MAX_BASIC;
        b = str4(vend);
        d = str4(vend + 4);
        c = str4(vend + 8);
    } else if (leaf == 1) {
        a = CPUID_SIGNATURE;
        b = (uint32_t)v->index << 24; /* initial APIC ID */
        d = CPUID_FEATURES;
        if (v->m && v->m->apic_base_written && (v->msr.apic_base & 0x800u)) d |= FEAT_APIC;
    } else if (leaf == 0x15) {
        /* TSC / crystal ratio EBX/EAX and the crystal in Hz (ECX): bt86's
         * TSC runs at 1 GHz of virtual time (cpu/msr.h) and so does the
         * local APIC timer's input clock before its divider
         * (devices/lapic.c). Linux then knows both frequencies without
         * timing the TSC against the PIT or PM timer and the APIC timer
         * against the PIT (~0.2 s of delay loops at boot), as on Intel
         * parts that report their crystal. */
        a = 1;
        b = 1;
        c = 1000000000u;
    } else if (leaf == 0x80000000u) {
        a = CPUID_MAX_EXT;
    } else if (leaf >= 0x80000002u) {
        char brand[48] = CPUID_BRAND;
        const char *p = brand + (leaf - 0x80000002u) * 16;
        a = str4(p);
        b = str4(p + 4);
        c = str4(p + 8);
        d = str4(p + 12);
    }
    /* 0x80000001: no extended features. */
    v->r[R_EAX] = a;
    v->r[R_EBX] = b;
    v->r[R_ECX] = c;
    v->r[R_EDX] = d;
}
