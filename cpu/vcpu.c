/* Creating a vCPU and putting it in its power-on state. */
#include "cpu/vcpu.h"

#include <stdlib.h>
#include <string.h>

#include "cpu/segment.h"

struct vcpu *vcpu_new(struct machine *m, int index)
{
    struct vcpu *v = aligned_alloc(64, (sizeof(struct vcpu) + 63) & ~(size_t)63);
    if (!v) return NULL;
    memset(v, 0, sizeof(*v));
    if (tlb_init(&v->tlb, TLB_DEFAULT_BITS) != 0) {
        free(v);
        return NULL;
    }
    v->m = m;
    v->index = index;
    vcpu_reset(v);
    return v;
}

void vcpu_free(struct vcpu *v)
{
    if (!v) return;
    tlb_destroy(&v->tlb);
    free(v->trap);
    free(v->uc);
    free(v);
}

/* Power-on / RESET state (Intel SDM vol. 3, table 9-1). */
void vcpu_reset(struct vcpu *v)
{
    memset(v->r, 0, sizeof(v->r));
    v->r[R_EDX] = 0x000006f1; /* the CPUID leaf 1 signature (cpu/cpuid.c): family 6 */
    v->eip = 0xfff0;
    v->eflags = F_FIXED1;
    v->cr0 = CR0_ET | CR0_CD | CR0_NW;
    v->cr2 = v->cr3 = v->cr4 = 0;
    memset(v->dr, 0, sizeof(v->dr));
    v->dr[6] = 0xffff0ff0;
    v->dr[7] = 0x00000400;
    for (int s = 0; s < S_COUNT; s++) {
        v->seg[s] = (struct seg_cache){ .sel = 0, .attr = SEG_ATTR_P | SEG_ATTR_S | 0x3, .base = 0, .limit = 0xffff };
    }
    v->seg[S_CS].sel = 0xf000;
    v->seg[S_CS].base = 0xffff0000;
    v->seg[S_CS].attr = SEG_ATTR_P | SEG_ATTR_S | 0xb;
    for (int s = 0; s < S_COUNT; s++) seg_cache_refresh(&v->seg[s], false);
    v->gdtr = (struct dtr){ 0, 0xffff };
    v->idtr = (struct dtr){ 0, 0xffff };
    v->ldtr = (struct seg_cache){ .attr = SEG_ATTR_P | 0x2, .limit = 0xffff };
    v->tr = (struct seg_cache){ .attr = SEG_ATTR_P | 0xb, .limit = 0xffff };
    memset(&v->msr, 0, sizeof(v->msr));
    v->msr.apic_base = 0xfee00000u | 0x800u | (v->index == 0 ? 0x100u : 0);
    v->msr.misc_enable = 1; /* fast-string operations enabled, as a BIOS leaves it */
    v->msr.pat = 0x0007040600070406ull;
    memset(v->fxstate, 0, sizeof(v->fxstate));
    v->fxstate[0] = 0x40; /* FCW = 0x0040 after RESET (0x037f after FINIT) */
    v->fxstate[24] = 0x80; v->fxstate[25] = 0x1f; /* MXCSR = 0x1f80 */
    v->cpl = 0;
    v->halted = 0;
    v->wait_sipi = 0;
    v->nmi_blocked = 0;
    v->irq_shadow = 0;
    v->delivering = -1;
    v->fault_chain_len = 0;
    v->req = 0;
    v->irq_req = 0;
    v->stop = STOP_NONE;
    tlb_flush_all(&v->tlb);
    cpu_update_mode(v);
}

void vcpu_init_ipi(struct vcpu *v)
{
    /* INIT leaves the MSRs and the x87/SSE state alone (SDM 9.1.1). */
    struct vcpu_msrs msr = v->msr;
    uint8_t fx[sizeof(v->fxstate)];
    memcpy(fx, v->fxstate, sizeof(fx));
    vcpu_reset(v);
    v->msr = msr;
    memcpy(v->fxstate, fx, sizeof(fx));
    v->nmi_blocked = 0;
    if (v->index > 0) {
        v->halted = 1;
        v->wait_sipi = 1;
    }
}

void vcpu_sipi(struct vcpu *v, uint8_t vec)
{
    if (!v->wait_sipi) return;
    v->wait_sipi = 0;
    v->halted = 0;
    v->seg[S_CS].sel = (uint16_t)(vec << 8);
    v->seg[S_CS].base = (uint32_t)vec << 12;
    seg_cache_refresh(&v->seg[S_CS], false);
    v->eip = 0;
    v->req |= REQ_BLOCK_END;
}
