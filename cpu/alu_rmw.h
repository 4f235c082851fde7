/* Read-modify-write of a memory operand for the ALU and bit handlers (private
 * to cpu/exec_alu.c and cpu/exec_bits.c): one segment check and one TLB probe
 * serve both the read and the write. The write permission is checked before
 * the read, as hardware does for a RMW, and nothing that can fault happens
 * between rmw_read and rmw_write except on the slow path, which repeats the
 * full write checks. */
#ifndef BT86_CPU_ALU_RMW_H
#define BT86_CPU_ALU_RMW_H

#include <string.h>

#include "cpu/lock_atomic.h"
#include "cpu/mem.h"

struct rmw {
    uint8_t *p;    /* host pointer from the write TLB, or NULL: slow path */
    uint32_t lin;  /* linear address */
    unsigned size; /* 1, 2 or 4 */
    uint32_t old;  /* LOCKed (v->lock_rmw): the value read, for the compare-and-swap */
};

/* The LOCKed form: an atomic load through the host pointer, with the TLB
 * filled first. Without one (a misaligned or page-split operand, MMIO, a
 * page holding decoded code) the ordinary read, inside the exclusive
 * section (cpu/lock_atomic.h) that rmw_write's ordinary write ends in. */
static __attribute__((noinline)) uint32_t rmw_read_locked(struct vcpu *v, struct rmw *m)
{
    if (v->lock_rmw == LOCK_RMW_ATOMIC && !(m->lin & (m->size - 1))) {
        if (!m->p) m->p = lock_probe(v, m->lin, m->size);
        if (m->p) {
            m->old = lock_load(m->p, m->size);
            return m->old;
        }
    }
    lock_excl_enter(v);
    m->p = tlb_probe_write(&v->tlb, v->mem_view, m->lin, m->size); /* plain RAM misaligned in a page: the fast path */
    if (m->p) {
        switch (m->size) {
        case 1: return *m->p;
        case 2: { uint16_t x; memcpy(&x, m->p, 2); return x; }
        default: { uint32_t x; memcpy(&x, m->p, 4); return x; }
        }
    }
    return lin_read_slow(v, m->lin, (int)m->size, v->mem_view, ACC_WRITE);
}

static inline uint32_t rmw_read(struct vcpu *v, int seg, uint32_t ea, unsigned size, struct rmw *m)
{
    m->size = size;
    m->lin = seg_lin_write(v, seg, ea, size);
    m->p = tlb_probe_write(&v->tlb, v->mem_view, m->lin, size);
    if (unlikely(v->lock_rmw)) return rmw_read_locked(v, m);
    if (likely(m->p != 0)) {
        switch (size) {
        case 1: return *m->p;
        case 2: { uint16_t x; memcpy(&x, m->p, 2); return x; }
        default: { uint32_t x; memcpy(&x, m->p, 4); return x; }
        }
    }
    return lin_read_slow(v, m->lin, (int)size, v->mem_view, ACC_WRITE);
}

static inline void rmw_write(struct vcpu *v, const struct rmw *m, uint32_t val)
{
    if (unlikely(v->lock_rmw == LOCK_RMW_ATOMIC) && m->p) {
        uint32_t old = m->old;
        if (!lock_cas(m->p, m->size, &old, val)) cpu_fault(v, FAULT_LOCK_RETRY); /* another vCPU won: restart */
        return;
    }
    if (likely(m->p != 0)) {
        switch (m->size) {
        case 1: *m->p = (uint8_t)val; return;
        case 2: { uint16_t x = (uint16_t)val; memcpy(m->p, &x, 2); return; }
        default: memcpy(m->p, &val, 4); return;
        }
    }
    lin_write_slow(v, m->lin, val, (int)m->size, v->mem_view);
}

#endif
