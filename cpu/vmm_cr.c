/* VMM handlers for control and debug registers and the other CPL-0-only
 * instructions that touch no memory: MOV CRn/DRn, CLTS, LMSW, SMSW, HLT,
 * INVLPG, INVD, WBINVD. */
#include "cpu/fault.h"
#include "cpu/segment.h"
#include "cpu/trap_engine.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"
#include "memory/paging.h"
#include "memory/tlb.h"

#define CR0_DEFINED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
/* CR4 bits bt86 implements (no VME/PVI, PAE, MCE); of these, only those
 * CPUID advertises can be set (cr4_allowed). */
#define CR4_SUPPORTED (CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT)

static void need_cpl0(struct vcpu *v)
{
    if (v->cpl != 0) cpu_gp(v, 0); /* also VM86, where CPL is 3 */
}

/* CPUID leaf 1 EDX bits that make CR4 bits exist. */
#define FEAT_VME  (1u << 1)
#define FEAT_DE   (1u << 2)
#define FEAT_PSE  (1u << 3)
#define FEAT_TSC  (1u << 4)
#define FEAT_PAE  (1u << 6)
#define FEAT_MCE  (1u << 7)
#define FEAT_PGE  (1u << 13)
#define FEAT_FXSR (1u << 24)
#define FEAT_SSE  (1u << 25)

/* The CR4 bits this CPU has: a bit whose feature CPUID (cpu/cpuid.c, the
 * one source of truth) does not advertise is reserved and setting it is
 * #GP(0), as on a CPU without the feature; PCE needs no CPUID bit (every
 * P6 has RDPMC). Only called on MOV to CR4, so running the CPUID handler on
 * saved registers costs nothing that matters. */
static uint32_t cr4_allowed(struct vcpu *v)
{
    uint32_t eax = v->r[R_EAX], ebx = v->r[R_EBX], ecx = v->r[R_ECX], edx = v->r[R_EDX];
    v->r[R_EAX] = 1;
    v->r[R_ECX] = 0;
    vmm_cpuid(v);
    uint32_t feat = v->r[R_EDX];
    v->r[R_EAX] = eax;
    v->r[R_EBX] = ebx;
    v->r[R_ECX] = ecx;
    v->r[R_EDX] = edx;
    uint32_t ok = CR4_PCE;
    if (feat & FEAT_VME) ok |= CR4_VME | CR4_PVI;
    if (feat & FEAT_TSC) ok |= CR4_TSD;
    if (feat & FEAT_DE) ok |= CR4_DE;
    if (feat & FEAT_PSE) ok |= CR4_PSE;
    if (feat & FEAT_PAE) ok |= CR4_PAE;
    if (feat & FEAT_MCE) ok |= CR4_MCE;
    if (feat & FEAT_PGE) ok |= CR4_PGE;
    if (feat & FEAT_FXSR) ok |= CR4_OSFXSR;
    if (feat & FEAT_SSE) ok |= CR4_OSXMMEXCPT;
    return ok & CR4_SUPPORTED;
}

/* Install a new CR0 value that has passed the checks. */
static void cr0_set(struct vcpu *v, uint32_t val)
{
    uint32_t old = v->cr0;
    v->cr0 = val;
    if ((old ^ val) & (CR0_PG | CR0_WP | CR0_PE)) tlb_flush_all(&v->tlb);
    if ((old ^ val) & CR0_PE) {
        /* Data-access rules of the cached segments depend on the mode. */
        for (int s = 0; s < S_COUNT; s++) seg_cache_refresh(&v->seg[s], (val & CR0_PE) != 0);
    }
    cpu_update_mode(v);
}

static void cr0_write(struct vcpu *v, uint32_t val)
{
    /* Reserved bits are ignored; ET is hardwired to 1 on the P6. */
    val = (val & CR0_DEFINED) | CR0_ET;
    if ((val & CR0_PG) && !(val & CR0_PE)) cpu_gp(v, 0);
    if ((val & CR0_NW) && !(val & CR0_CD)) cpu_gp(v, 0);
    cr0_set(v, val);
}

void vmm_mov_to_cr(struct vcpu *v, uint32_t cr, uint32_t val)
{
    if (cr != 0 && cr != 2 && cr != 3 && cr != 4) cpu_ud(v);
    need_cpl0(v);
    switch (cr) {
    case 0:
        cr0_write(v, val);
        break;
    case 2:
        v->cr2 = val;
        break;
    case 3: {
        uint32_t old = v->cr3;
        v->cr3 = val & 0xfffff018u; /* page-directory base, PCD, PWT */
        paging_switch_cr3(v, old);  /* non-global entries flushed; a cached set of the new space reused */
        v->req |= REQ_BLOCK_END;
        break;
    }
    default: {
        if (val & ~cr4_allowed(v)) cpu_gp(v, 0);
        uint32_t old = v->cr4;
        v->cr4 = val;
        if ((old ^ val) & (CR4_PSE | CR4_PGE)) tlb_flush_all(&v->tlb);
        cpu_update_mode(v);
        break;
    }
    }
}

uint32_t vmm_mov_from_cr(struct vcpu *v, uint32_t cr)
{
    if (cr != 0 && cr != 2 && cr != 3 && cr != 4) cpu_ud(v);
    need_cpl0(v);
    switch (cr) {
    case 0: return v->cr0;
    case 2: return v->cr2;
    case 3: return v->cr3;
    default: return v->cr4;
    }
}

void vmm_clts(struct vcpu *v)
{
    need_cpl0(v);
    v->cr0 &= ~CR0_TS;
}

/* LMSW loads PE, MP, EM, TS; it can set PE but never clear it. */
void vmm_lmsw(struct vcpu *v, uint32_t val)
{
    need_cpl0(v);
    uint32_t nv = (v->cr0 & ~0xeu) | (val & 0xfu);
    if (nv != v->cr0) cr0_set(v, nv);
}

/* SMSW is not privileged (no UMIP on this CPU). */
uint32_t vmm_smsw(struct vcpu *v)
{
    if (__builtin_expect(v->trap != NULL, 0)) return trap_real_cr0(v);
    return v->cr0;
}

/* DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD. */
static unsigned dr_index(struct vcpu *v, uint32_t dr)
{
    if (dr > 7) cpu_ud(v);
    need_cpl0(v);
    if (dr == 4 || dr == 5) {
        if (v->cr4 & CR4_DE) cpu_ud(v);
        return dr + 2;
    }
    return dr;
}

/* Breakpoints in DR0-3/DR7 are stored but not armed: bt86 raises no #DB for them yet. */
void vmm_mov_to_dr(struct vcpu *v, uint32_t dr, uint32_t val)
{
    unsigned i = dr_index(v, dr);
    if (i == 6) val = (val & 0x0000e00fu) | 0xffff0ff0u;  /* reserved bits read as the P6 has them */
    else if (i == 7) val = (val & 0xffff23ffu) | 0x400u;
    v->dr[i] = val;
}

uint32_t vmm_mov_from_dr(struct vcpu *v, uint32_t dr)
{
    return v->dr[dr_index(v, dr)];
}

void vmm_hlt(struct vcpu *v)
{
    need_cpl0(v);
    v->halted = 1;
    v->req |= REQ_BLOCK_END;
}

void vmm_invlpg(struct vcpu *v, uint32_t lin)
{
    need_cpl0(v);
    tlb_flush_page(&v->tlb, lin);
}

/* No caches are modelled: INVD and WBINVD only check privilege. */
void vmm_invd(struct vcpu *v)
{
    need_cpl0(v);
}

void vmm_wbinvd(struct vcpu *v)
{
    need_cpl0(v);
}
