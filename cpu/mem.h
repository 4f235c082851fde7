/* Segmented guest memory access for instruction handlers: segment limit and
 * type checks against the descriptor cache, then the shadow TLB fast path, then
 * the slow path (memory/paging.c). Faults raise #GP/#SS/#PF/#AC and longjmp. */
#ifndef BT86_CPU_MEM_H
#define BT86_CPU_MEM_H

#include <string.h>

#include "cpu/fault.h"
#include "cpu/vcpu.h"
#include "memory/paging.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Raise the fault for a segment check failure: #SS(0) for SS, else #GP(0). */
_Noreturn void seg_check_fail(struct vcpu *v, int seg);

/* Offset check for [off, off+size) in segment `seg`; returns the linear address. */
static inline uint32_t seg_lin_read(struct vcpu *v, int seg, uint32_t off, unsigned size)
{
    const struct seg_cache *s = &v->seg[seg];
    if (unlikely(!s->rd || off < s->lo || (uint64_t)off + size - 1 > s->hi))
        seg_check_fail(v, seg);
    return s->base + off;
}

static inline uint32_t seg_lin_write(struct vcpu *v, int seg, uint32_t off, unsigned size)
{
    const struct seg_cache *s = &v->seg[seg];
    if (unlikely(!s->wr || off < s->lo || (uint64_t)off + size - 1 > s->hi))
        seg_check_fail(v, seg);
    return s->base + off;
}

/* Linear accesses with the current data view (CPL-dependent). */
static inline uint32_t lin_read(struct vcpu *v, uint32_t lin, unsigned size)
{
    const uint8_t *p = tlb_probe_read(&v->tlb, v->mem_view, lin, size);
    if (likely(p != 0)) {
        switch (size) {
        case 1: return *p;
        case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
        default: { uint32_t x; memcpy(&x, p, 4); return x; }
        }
    }
    return lin_read_slow(v, lin, (int)size, v->mem_view, ACC_READ);
}

/* A write through an explicit TLB view (stack pushes of interrupt and far
 * transfers use the view of the privilege level they switch to). */
static inline void lin_write_view(struct vcpu *v, uint32_t lin, uint32_t val, unsigned size, int view)
{
    uint8_t *p = tlb_probe_write(&v->tlb, view, lin, size);
    if (likely(p != 0)) {
        switch (size) {
        case 1: *p = (uint8_t)val; return;
        case 2: { uint16_t x = (uint16_t)val; memcpy(p, &x, 2); return; }
        default: memcpy(p, &val, 4); return;
        }
    }
    lin_write_slow(v, lin, val, (int)size, view);
}

static inline void lin_write(struct vcpu *v, uint32_t lin, uint32_t val, unsigned size)
{
    lin_write_view(v, lin, val, size, v->mem_view);
}

/* seg:off accesses of 1, 2 or 4 bytes. */
static inline uint32_t mem_read(struct vcpu *v, int seg, uint32_t off, unsigned size)
{
    return lin_read(v, seg_lin_read(v, seg, off, size), size);
}

static inline void mem_write(struct vcpu *v, int seg, uint32_t off, uint32_t val, unsigned size)
{
    lin_write(v, seg_lin_write(v, seg, off, size), val, size);
}

/* Read-modify-write helpers: check writability before reading so that a
 * read-only target faults with the write's error code, as hardware does. */
static inline uint32_t mem_read_for_write(struct vcpu *v, int seg, uint32_t off, unsigned size)
{
    uint32_t lin = seg_lin_write(v, seg, off, size);
    uint8_t *p = tlb_probe_write(&v->tlb, v->mem_view, lin, size);
    if (likely(p != 0)) {
        switch (size) {
        case 1: return *p;
        case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
        default: { uint32_t x; memcpy(&x, p, 4); return x; }
        }
    }
    return lin_read_slow(v, lin, (int)size, v->mem_view, ACC_WRITE);
}

/* Byte ranges through a segment (checks the whole range first). */
void mem_read_bytes(struct vcpu *v, int seg, uint32_t off, void *dst, uint32_t len);
void mem_write_bytes(struct vcpu *v, int seg, uint32_t off, const void *src, uint32_t len);

/* Implicit supervisor-privilege accesses (GDT/LDT/IDT/TSS), by linear address. */
uint32_t sys_read(struct vcpu *v, uint32_t lin, unsigned size);
void     sys_write(struct vcpu *v, uint32_t lin, uint32_t val, unsigned size);

#endif
