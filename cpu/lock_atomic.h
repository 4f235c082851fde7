/* LOCK semantics on guest RAM with several vCPUs on host threads (-smp):
 * a LOCKed read-modify-write (and XCHG with memory) is done with a host
 * atomic instruction on the RAM byte pointer the write TLB gives, so it is
 * atomic with respect to every other vCPU's accesses, plain ones included
 * (the host is x86 too: its TSO ordering is the guest's).
 *
 * lock_ptr finds that pointer (filling the TLB first if needed); NULL means
 * the operand is not plain writable RAM reachable that way — MMIO, a page
 * holding decoded code (writes go through the code-write check), a split
 * across pages, or a misaligned operand — and the caller falls back to the
 * ordinary, non-atomic path (docs/SMP.md says what that means).
 *
 * The ALU and bit-test RMW forms (ADD, OR, ..., INC, NEG, BTS, ...) run
 * their usual handler with v->lock_rmw set by exec_locked (cpu/interp.c):
 * rmw_write (cpu/alu_rmw.h) then stores with a compare-and-swap against the
 * value rmw_read saw, and a lost race restarts the instruction
 * (cpu_lock_retry: nothing architectural has changed yet). */
#ifndef BT86_CPU_LOCK_ATOMIC_H
#define BT86_CPU_LOCK_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/mem.h"
#include "memory/paging.h"

/* fault_vec of the pseudo-fault that restarts a LOCKed instruction. */
#define FAULT_LOCK_RETRY 256

_Noreturn void cpu_fault(struct vcpu *v, int vector);

static inline uint8_t *lock_ptr(struct vcpu *v, int seg, uint32_t ea, unsigned size)
{
    uint32_t lin = seg_lin_write(v, seg, ea, size);
    if (lin & (size - 1)) return 0; /* misaligned: no host atomic (split-lock rules) */
    uint8_t *p = tlb_probe_write(&v->tlb, v->mem_view, lin, size);
    if (!p && (v->mem_view == TLB_VIEW_SUP || v->mem_view == TLB_VIEW_USER)) {
        /* A TLB miss: walk (raising #PF as the access would) and fill the
         * TLB, without touching the memory (an MMIO read has effects). */
        (void)paging_translate(v, lin, ACC_WRITE | (v->mem_view == TLB_VIEW_USER ? ACC_USER : 0));
        p = tlb_probe_write(&v->tlb, v->mem_view, lin, size);
    }
    return p;
}

static inline uint32_t lock_load(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: return __atomic_load_n(p, __ATOMIC_SEQ_CST);
    case 2: return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_SEQ_CST);
    default: return __atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_SEQ_CST);
    }
}

/* Compare-and-swap; on failure *old gets the current value. */
static inline bool lock_cas(uint8_t *p, unsigned size, uint32_t *old, uint32_t val)
{
    bool ok;
    switch (size) {
    case 1: {
        uint8_t o = (uint8_t)*old;
        ok = __atomic_compare_exchange_n(p, &o, (uint8_t)val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *old = o;
        break;
    }
    case 2: {
        uint16_t o = (uint16_t)*old;
        ok = __atomic_compare_exchange_n((uint16_t *)(void *)p, &o, (uint16_t)val, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST);
        *old = o;
        break;
    }
    default:
        ok = __atomic_compare_exchange_n((uint32_t *)(void *)p, old, val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        break;
    }
    return ok;
}

static inline uint32_t lock_xchg(uint8_t *p, unsigned size, uint32_t val)
{
    switch (size) {
    case 1: return __atomic_exchange_n(p, (uint8_t)val, __ATOMIC_SEQ_CST);
    case 2: return __atomic_exchange_n((uint16_t *)(void *)p, (uint16_t)val, __ATOMIC_SEQ_CST);
    default: return __atomic_exchange_n((uint32_t *)(void *)p, val, __ATOMIC_SEQ_CST);
    }
}

static inline uint32_t lock_fetch_add(uint8_t *p, unsigned size, uint32_t val)
{
    switch (size) {
    case 1: return __atomic_fetch_add(p, (uint8_t)val, __ATOMIC_SEQ_CST);
    case 2: return __atomic_fetch_add((uint16_t *)(void *)p, (uint16_t)val, __ATOMIC_SEQ_CST);
    default: return __atomic_fetch_add((uint32_t *)(void *)p, val, __ATOMIC_SEQ_CST);
    }
}

#endif
