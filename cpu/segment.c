/* Segmentation: descriptor reads, descriptor caches, segment-register loads in
 * real, VM86 and protected mode with the architected checks (Intel SDM vol. 3
 * ch. 5 and the MOV/POP/LDS pages), and the mode fields derived from CS/SS. */
#include "cpu/segment.h"

#include "cpu/fault.h"
#include "cpu/mem.h"
#include "cpu/trap_engine.h"
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
    if (unlikely(v->trap != NULL)) trap_update_mode(v);
    v->req |= REQ_BLOCK_END;
}

/* Linear address of the descriptor for sel, or false when the selector lies
 * outside its table (or names the LDT while LDTR is null). */
static bool desc_addr(const struct vcpu *v, uint16_t sel, uint32_t *lin)
{
    uint32_t off = sel & 0xfff8u;
    uint32_t base, limit;
    if (sel & 4) {
        if (!(v->ldtr.attr & SEG_ATTR_P)) return false; /* null LDTR: no LDT */
        base = v->ldtr.base;
        limit = v->ldtr.limit;
    } else {
        base = v->gdtr.base;
        limit = v->gdtr.limit;
    }
    if (off + 7 > limit) return false;
    *lin = base + off;
    return true;
}

bool desc_read(struct vcpu *v, uint16_t sel, uint32_t *lo, uint32_t *hi)
{
    uint32_t lin;
    if (!desc_addr(v, sel, &lin)) return false;
    *lo = sys_read(v, lin, 4);
    *hi = sys_read(v, lin + 4, 4);
    if (unlikely(v->trap != NULL)) trap_shadow_desc(v, hi); /* -engine trap's shadow GDT/LDT */
    return true;
}

void desc_to_cache(struct seg_cache *s, uint16_t sel, uint32_t lo, uint32_t hi)
{
    uint32_t limit = (lo & 0xffffu) | (hi & 0x000f0000u);
    s->sel = sel;
    s->attr = (uint16_t)((hi >> 8) & 0xf0ffu);
    s->base = (lo >> 16) | ((hi & 0xffu) << 16) | (hi & 0xff000000u);
    s->limit = (s->attr & SEG_ATTR_G) ? (limit << 12) | 0xfffu : limit;
    seg_cache_refresh(s, true);
}

/* Set the accessed bit (type bit 0) of a code/data descriptor in memory, as the
 * CPU does when it loads a segment register; skipped when already set so that
 * descriptor tables in read-only pages still work. *hi is updated too. The
 * selector must have been read with desc_read. */
void desc_set_accessed(struct vcpu *v, uint16_t sel, uint32_t *hi)
{
    uint32_t lin;
    if (*hi & 0x100u) return;
    *hi |= 0x100u;
    if (desc_addr(v, sel, &lin)) sys_write(v, lin + 5, (*hi >> 8) & 0xffu, 1);
}

void seg_load_real(struct vcpu *v, int seg, uint16_t sel)
{
    struct seg_cache *s = &v->seg[seg];
    s->sel = sel;
    s->base = (uint32_t)sel << 4;
    if (vcpu_protected(v) && vcpu_vm86(v)) {
        /* VM86: every load gives a 64 KiB, ring-3, read/write data segment. */
        s->limit = 0xffff;
        s->attr = 0x00f3;
    }
    /* Real mode keeps the cached limit and attributes ("unreal" mode). */
    seg_cache_refresh(s, false);
}

/* Mark a data segment register unusable after loading a null selector. */
static void seg_set_null(struct vcpu *v, int seg, uint16_t sel)
{
    struct seg_cache *s = &v->seg[seg];
    *s = (struct seg_cache){ .sel = sel };
    seg_cache_refresh(s, true);
}

void seg_load_protected(struct vcpu *v, int seg, uint16_t sel)
{
    uint32_t lo, hi;
    uint16_t err = sel & 0xfffcu;
    unsigned rpl = sel & 3, cpl = v->cpl;
    if (seg == S_SS) {
        if (err == 0 && !(sel & 4)) cpu_gp(v, 0);
        if (!desc_read(v, sel, &lo, &hi)) cpu_gp(v, err);
        unsigned attr = (hi >> 8) & 0xffu;
        /* Writable data segment (S=1, code bit clear, W set), RPL == DPL == CPL. */
        if (rpl != cpl || (attr & 0x1a) != 0x12 || SEG_ATTR_DPL(attr) != cpl) cpu_gp(v, err);
        if (!(attr & SEG_ATTR_P)) cpu_fault_err(v, EXC_SS, err);
    } else {
        if ((sel & 0xfffcu) == 0) {
            seg_set_null(v, seg, sel);
            return;
        }
        if (!desc_read(v, sel, &lo, &hi)) cpu_gp(v, err);
        unsigned attr = (hi >> 8) & 0xffu;
        unsigned type = attr & 0xf;
        if (!(attr & SEG_ATTR_S)) cpu_gp(v, err);
        if ((type & 0xa) == 0x8) cpu_gp(v, err);       /* execute-only code */
        bool conforming_code = (type & 0xc) == 0xc;
        if (!conforming_code) {
            unsigned dpl = SEG_ATTR_DPL(attr);
            if (dpl < cpl || dpl < rpl) cpu_gp(v, err);
        }
        if (!(attr & SEG_ATTR_P)) cpu_fault_err(v, EXC_NP, err);
    }
    desc_set_accessed(v, sel, &hi);
    desc_to_cache(&v->seg[seg], sel, lo, hi);
}

void seg_load(struct vcpu *v, int seg, uint16_t sel)
{
    if (!vcpu_protected(v) || vcpu_vm86(v)) seg_load_real(v, seg, sel);
    else seg_load_protected(v, seg, sel);
}
