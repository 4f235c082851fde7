/* Segmentation: descriptor caches and the mode fields derived from them. */
#include "cpu/segment.h"

#include <stdlib.h>

#include "memory/tlb.h"

void seg_cache_refresh(struct seg_cache *s, bool protected_mode)
{
    unsigned type = SEG_ATTR_TYPE(s->attr);
    s->lo = 0;
    s->hi = s->limit;
    if (!protected_mode) {
        /* Real mode and VM86: no type checks, only the cached limit. */
        s->rd = s->wr = true;
        return;
    }
    if (!(s->attr & SEG_ATTR_P) || !(s->attr & SEG_ATTR_S)) {
        s->rd = s->wr = false; /* null or system descriptor: unusable for data */
        return;
    }
    if (type & 0x8) {          /* code: readable if R, never writable */
        s->rd = (type & 0x2) != 0;
        s->wr = false;
        return;
    }
    s->rd = true;              /* data: writable if W */
    s->wr = (type & 0x2) != 0;
    if (type & 0x4) {          /* expand-down: valid offsets lie above the limit */
        s->lo = s->limit + 1;
        s->hi = (s->attr & SEG_ATTR_DB) ? 0xffffffffu : 0xffffu;
        if (s->lo == 0) s->rd = s->wr = false; /* limit 0xffffffff: empty */
    }
}

void cpu_update_mode(struct vcpu *v)
{
    if (!vcpu_protected(v)) v->cpl = 0;
    else if (vcpu_vm86(v)) v->cpl = 3;
    v->code32 = (v->seg[S_CS].attr & SEG_ATTR_DB) != 0;
    v->stack32 = (v->seg[S_SS].attr & SEG_ATTR_DB) != 0;
    if (v->cpl != 3) v->mem_view = TLB_VIEW_SUP;
    else if ((v->cr0 & CR0_AM) && (v->eflags & F_AC)) v->mem_view = TLB_VIEW_AC;
    else v->mem_view = TLB_VIEW_USER;
    v->req |= REQ_BLOCK_END;
}

/* --- placeholders until the protected-mode segment loader lands --- */
void seg_load_real(struct vcpu *v, int seg, uint16_t sel) { (void)v; (void)seg; (void)sel; abort(); }
void seg_load_protected(struct vcpu *v, int seg, uint16_t sel) { (void)v; (void)seg; (void)sel; abort(); }
void seg_load(struct vcpu *v, int seg, uint16_t sel) { (void)v; (void)seg; (void)sel; abort(); }
bool desc_read(struct vcpu *v, uint16_t sel, uint32_t *lo, uint32_t *hi) { (void)v; (void)sel; (void)lo; (void)hi; abort(); }
void desc_to_cache(struct seg_cache *s, uint16_t sel, uint32_t lo, uint32_t hi) { (void)s; (void)sel; (void)lo; (void)hi; abort(); }
