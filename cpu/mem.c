/* Segmented and implicit-supervisor memory accesses that are not inline in
 * cpu/mem.h: the segment-check fault, byte ranges through a segment, and the
 * supervisor-view accesses used for descriptor tables and the TSS. */
#include "cpu/mem.h"

_Noreturn void seg_check_fail(struct vcpu *v, int seg)
{
    if (seg == S_SS) cpu_fault_err(v, EXC_SS, 0);
    cpu_gp(v, 0);
}

/* Check [off, off+len) against the segment (len >= 1); returns the linear address. */
static uint32_t seg_range(struct vcpu *v, int seg, uint32_t off, uint32_t len, bool write)
{
    const struct seg_cache *s = &v->seg[seg];
    if (!(write ? s->wr : s->rd) || off < s->lo || (uint64_t)off + len - 1 > s->hi)
        seg_check_fail(v, seg);
    return s->base + off;
}

void mem_read_bytes(struct vcpu *v, int seg, uint32_t off, void *dst, uint32_t len)
{
    if (len == 0) return;
    lin_read_bytes(v, seg_range(v, seg, off, len, false), dst, len, v->mem_view);
}

void mem_write_bytes(struct vcpu *v, int seg, uint32_t off, const void *src, uint32_t len)
{
    if (len == 0) return;
    lin_write_bytes(v, seg_range(v, seg, off, len, true), src, len, v->mem_view);
}

uint32_t sys_read(struct vcpu *v, uint32_t lin, unsigned size)
{
    const uint8_t *p = tlb_probe_read(&v->tlb, TLB_VIEW_SUP, lin, size);
    if (likely(p != 0)) {
        switch (size) {
        case 1: return *p;
        case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
        default: { uint32_t x; memcpy(&x, p, 4); return x; }
        }
    }
    return lin_read_slow(v, lin, (int)size, TLB_VIEW_SUP, ACC_READ);
}

void sys_write(struct vcpu *v, uint32_t lin, uint32_t val, unsigned size)
{
    uint8_t *p = tlb_probe_write(&v->tlb, TLB_VIEW_SUP, lin, size);
    if (likely(p != 0)) {
        switch (size) {
        case 1: *p = (uint8_t)val; return;
        case 2: { uint16_t x = (uint16_t)val; memcpy(p, &x, 2); return; }
        default: memcpy(p, &val, 4); return;
        }
    }
    lin_write_slow(v, lin, val, (int)size, TLB_VIEW_SUP);
}
