/* The machine: what all vCPUs share — guest physical memory, the I/O bus, the
 * decode cache — and the hooks through which the CPU reaches the interrupt
 * controllers and the clock. Devices live in devices/ and are wired up by
 * frontend/pc.c. */
#ifndef BT86_CPU_MACHINE_H
#define BT86_CPU_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/iobus.h"
#include "memory/phys.h"

#define MAX_VCPUS 8

struct vcpu;
struct decode_cache;
struct decoder;

struct machine {
    struct phys_mem mem;
    struct iobus io;
    uint32_t a20_mask;            /* 0xffffffff, or 0xffefffff with A20 disabled */
    struct decode_cache *dcache;
    struct decoder *decoder;      /* one per host thread; single-threaded for now */
    struct vcpu *cpu[MAX_VCPUS];
    int ncpu;
    /* -smp with vCPUs on host threads (frontend/smp_run.c): the lock around
     * decode-cache lookups and invalidation; NULL with one host thread. */
    pthread_mutex_t *code_lock;
    /* -smp with vCPUs on host threads: the exclusive section for LOCKed
     * accesses host atomics cannot do (cpu/exclusive.h); NULL otherwise. */
    struct excl *excl;

    /* Interrupt controller hooks (NULL = no interrupt sources).
     * irq_pending: an external interrupt could be accepted by v if IF=1.
     * irq_ack: acknowledge the highest-priority one and return its vector, or -1. */
    bool (*irq_pending)(struct machine *m, struct vcpu *v);
    int  (*irq_ack)(struct machine *m, struct vcpu *v);
    /* INIT, start-up IPIs and NMIs for v (NULL = none): called by the run
     * loop whenever v->irq_req is set, before external interrupts. */
    void (*cpu_events)(struct machine *m, struct vcpu *v);
    /* Called when v is halted with nothing pending: advance or wait for time
     * and device input. Returns false if nothing can ever wake v. */
    bool (*idle)(struct machine *m, struct vcpu *v);
    /* Called every so often from the run loop (device polling, timers). */
    void (*poll)(struct machine *m, struct vcpu *v);
    /* The guest wrote IA32_APIC_BASE (NULL = no local APIC on this board). */
    void (*apic_base_written)(struct machine *m, struct vcpu *v);
    /* Virtual time in ns for the TSC (NULL: the instruction count). */
    uint64_t (*now_ns)(struct machine *m);
    /* v executed PAUSE, the spin-wait hint (NULL: nothing happens; see
     * pc.c, -spin-skip). */
    void (*spin_hint)(struct machine *m, struct vcpu *v);
    void *board;                  /* the PC's devices (frontend/pc.h) */
};

/* Set up memory, bus, decoder and decode cache. Returns 0 or -1 (with a message on stderr). */
int machine_init(struct machine *m, uint32_t ram_bytes, int ncpu);
void machine_destroy(struct machine *m);
void machine_set_a20(struct machine *m, bool enabled);

#endif
