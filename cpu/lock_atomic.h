/* LOCK semantics on guest RAM with several vCPUs on host threads (-smp):
 * a LOCKed read-modify-write (and XCHG with memory) is done with a host
 * atomic instruction on the RAM byte pointer the write TLB gives, so it is
 * atomic with respect to every other vCPU's accesses, plain ones included
 * (the host is x86 too: its TSO ordering is the guest's).
 *
 * lock_ptr finds that pointer (filling the TLB first if needed); NULL means
 * the operand is not plain writable RAM reachable that way — MMIO, a page
 * holding decoded code (writes go through the code-write check), a split
 * across pages, or a misaligned operand. The caller then calls
 * lock_excl_enter and does the ordinary read-then-write inside the
 * machine's exclusive section (cpu/exclusive.h: every other vCPU thread is
 * paused, like a bus lock); with one host thread there is no section and
 * the ordinary path is atomic as it is. The section ends with
 * lock_excl_leave: at the end of exec_locked (cpu/interp.c) or of the XCHG
 * handler, or in the run loop when the access faults.
 *
 * The ALU and bit-test RMW forms (ADD, OR, ..., INC, NEG, BTS, ...) run
 * their usual handler with v->lock_rmw set by exec_locked (cpu/interp.c):
 * rmw_write (cpu/alu_rmw.h) then stores with a compare-and-swap against the
 * value rmw_read saw, and a lost race restarts the instruction
 * (FAULT_LOCK_RETRY: nothing architectural has changed yet). */
#ifndef BT86_CPU_LOCK_ATOMIC_H
#define BT86_CPU_LOCK_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/exclusive.h"
#include "cpu/mem.h"
#include "memory/paging.h"

/* fault_vec of the pseudo-fault that restarts a LOCKed instruction. */
#define FAULT_LOCK_RETRY 256

/* v->lock_rmw while a LOCKed instruction runs: host atomics on RAM, or the
 * ordinary path inside the exclusive section (when the machine has one). */
#define LOCK_RMW_ATOMIC 1
#define LOCK_RMW_EXCL   2

_Noreturn void cpu_fault(struct vcpu *v, int vector);

/* The host pointer for a write of [lin, lin+size) through the write TLB
 * (filled first on a miss), or NULL. Touches no memory. */
static inline uint8_t *lock_probe(struct vcpu *v, uint32_t lin, unsigned size)
{
    uint8_t *p = tlb_probe_write(&v->tlb, v->mem_view, lin, size);
    if (!p && (v->mem_view == TLB_VIEW_SUP || v->mem_view == TLB_VIEW_USER)) {
        /* A TLB miss: walk (raising #PF as the access would) and fill the
         * TLB, without touching the memory (an MMIO read has effects). */
        (void)paging_translate(v, lin, ACC_WRITE | (v->mem_view == TLB_VIEW_USER ? ACC_USER : 0));
        p = tlb_probe_write(&v->tlb, v->mem_view, lin, size);
    }
    return p;
}

static inline uint8_t *lock_ptr(struct vcpu *v, int seg, uint32_t ea, unsigned size)
{
    uint32_t lin = seg_lin_write(v, seg, ea, size);
    if (lin & (size - 1)) return 0; /* misaligned: no host atomic (split-lock rules) */
    return lock_probe(v, lin, size);
}

/* No host atomic for this operand: do the ordinary access alone. Every
 * other vCPU is paused when this returns (no-op without a section). */
static inline void lock_excl_enter(struct vcpu *v)
{
    if (v->lock_rmw == LOCK_RMW_EXCL) return;
    if (v->m->excl) excl_begin(v->m->excl, v);
    v->lock_rmw = LOCK_RMW_EXCL;
}

/* The end of the LOCKed instruction (or its fault): let the others go. */
static inline void lock_excl_leave(struct vcpu *v)
{
    if (v->lock_rmw != LOCK_RMW_EXCL) return;
    v->lock_rmw = 0;
    if (v->m->excl) excl_end(v->m->excl, v);
}

/* The run loop saw REQ_EXCL: pause while another vCPU's section runs. */
static inline void lock_excl_pause(struct vcpu *v)
{
    if (v->m->excl) excl_pause(v->m->excl, v);
    else __atomic_and_fetch(&v->req, ~REQ_EXCL, __ATOMIC_SEQ_CST); /* stale: the threads are gone */
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
