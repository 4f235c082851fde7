/* Lockstep comparison of execution engines: snapshots of a vCPU's
 * architectural state, a precise diff of two snapshots, a guest-RAM digest,
 * and a runner that drives two identically built machines with two engines
 * for the same number of retired instructions and compares them after every
 * chunk — with several vCPUs, each vCPU in turn (deterministic round robin).
 * Engine-agnostic: an engine is just a run function. */
#ifndef BT86_CPU_LOCKSTEP_H
#define BT86_CPU_LOCKSTEP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/vcpu.h"

struct machine;
struct phys_mem;

/* An execution engine: runs v until a stop or max_insns retired instructions
 * (0 = no limit) and returns v->stop, like cpu_run. */
struct engine {
    const char *name;
    enum vcpu_stop (*run)(struct vcpu *v, uint64_t max_insns);
};

extern const struct engine engine_interp_step; /* cpu_step repeatedly: no block execution */
extern const struct engine engine_interp_run;  /* cpu_run: decoded blocks */
/* The binary translator (translator/bt.h's bt_run), or NULL when it is not
 * linked into this program. */
const struct engine *engine_bt(void);
/* Free what an engine attached to v (the translator's per-vCPU state);
 * call before machine_destroy. Safe for any engine. */
void engine_release(struct vcpu *v);
/* "step", "run" (or "interp"), "bt"; NULL if unknown or not available. */
const struct engine *engine_by_name(const char *name);

/* A segment register's visible and cached part (the derived lo/hi/rd/wr are
 * functions of these). */
struct ls_seg {
    uint16_t sel, attr;
    uint32_t base, limit;
};

/* The architectural state of one vCPU at an instruction boundary. */
struct arch_state {
    uint32_t r[8];
    uint32_t eip, eflags;
    uint8_t cpl, halted, irq_shadow;
    uint8_t wait_sipi, nmi_blocked; /* -smp: an AP waiting for a start-up IPI; in an NMI handler */
    struct ls_seg seg[S_COUNT], ldtr, tr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    struct dtr gdtr, idtr;
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t icount;
    int stop;
    int exit_status;
    uint64_t exceptions[32];
    uint8_t fx[512];
    bool has_ram;
    uint64_t ram_digest;      /* of [ram_lo, ram_lo + ram_len) */
    uint32_t ram_lo, ram_len;
};

/* Snapshot v; when ram_len != 0 also digest guest RAM [ram_lo, ram_lo+ram_len)
 * (clamped to the RAM size). */
void lockstep_snapshot(const struct vcpu *v, struct arch_state *s, uint32_t ram_lo, uint32_t ram_len);
/* A 64-bit hash of guest RAM [lo, lo+len) (clamped). */
uint64_t lockstep_ram_digest(const struct phys_mem *pm, uint32_t lo, uint32_t len);

/* Compare two snapshots. EFLAGS bits outside eflags_mask are ignored (pass
 * ~0u to compare all). Each difference is printed to out (if not NULL) as
 * one line naming the register and both values, labelled na/nb, after a
 * header line with both EIPs and icounts. Returns the number of differences. */
int lockstep_compare(const struct arch_state *a, const struct arch_state *b, uint32_t eflags_mask,
                     FILE *out, const char *na, const char *nb);
/* Compare guest RAM of two machines byte for byte over [lo, lo+len); prints
 * up to max_report differing ranges. Returns the number of differing bytes. */
uint64_t lockstep_ram_diff(const struct phys_mem *a, const struct phys_mem *b, uint32_t lo, uint32_t len,
                           FILE *out, int max_report);

/* The runner. Machine A runs engine ea for `chunk` instructions; machine B
 * runs engine eb for exactly as many retired instructions as A did; both are
 * compared; repeat until A stops or max_insns.
 *
 * Several vCPUs (ncpu > 1; a and b are vCPU 0 of their machines, the others
 * are a->m->cpu[i] and b->m->cpu[i]): in every round each vCPU in index order
 * takes its chunk on A, then on B, and is compared with its twin. A vCPU that
 * is halted with no event pending (v->irq_req clear) sits the round out on
 * both sides. The machines' idle hook must make a halted vCPU leave the run
 * with STOP_YIELD (as frontend/smp_run.c's does), which ends its chunk early;
 * the machine stops when one vCPU stops it, and when every vCPU is halted the
 * runner calls all_idle on both machines. max_insns counts the instructions
 * of all vCPUs. */
struct lockstep {
    struct vcpu *a, *b;
    const struct engine *ea, *eb;
    uint64_t chunk;         /* instructions per step of A (0: BLOCK_MAX_INSNS) */
    uint32_t eflags_mask;   /* EFLAGS bits compared (0 is taken as ~0) */
    uint32_t ram_lo, ram_len; /* RAM compared (ram_len 0: all RAM) */
    uint64_t ram_every;     /* compare RAM every this many instructions (0: every chunk); always at the end */
    /* Called between chunks at the same instruction count on both machines
     * (with several vCPUs: after each vCPU's chunk, with that vCPU's twins).
     * The machines' own poll hooks (device timers) are disabled while an
     * engine runs and called by the runner between chunks instead, every
     * 4096 instructions, at the same instruction count on both sides. */
    void (*between)(void *opaque, struct vcpu *a, struct vcpu *b);
    void *opaque;
    FILE *log;              /* where a divergence is described (NULL: silent) */

    /* Several vCPUs (see above); 0 or 1: only a and b. */
    int ncpu;
    /* Called before vCPU v of machine m runs, and with v NULL before device
     * polling and all_idle: the board makes v its running vCPU (deterministic
     * time follows v's instruction count; the local APIC window is v's).
     * NULL: nothing to do. */
    void (*select)(void *opaque, struct machine *m, struct vcpu *v);
    /* Every vCPU of m is halted: let (virtual) time pass until something can
     * wake one; false if nothing ever can. NULL: nothing can. */
    bool (*all_idle)(void *opaque, struct machine *m);

    /* Results. */
    uint64_t chunks;
    uint64_t insns;         /* retired by A (all its vCPUs) */
    enum vcpu_stop stop;    /* how A stopped (STOP_INSN_LIMIT at max_insns) */
    bool diverged;
    uint64_t div_icount;    /* icount of the first compare that differed */
    uint32_t div_eip;       /* A's EIP there */
    uint32_t prev_eip;      /* A's EIP at the start of the chunk that diverged */
    uint64_t prev_icount;
    int div_cpu;            /* the vCPU whose chunk revealed the divergence */
    int stop_cpu;           /* the vCPU that stopped A (its exit_status applies) */
};

/* Run to completion. Returns 0 when the engines agreed throughout, 1 on a
 * divergence (described on ls->log). */
int lockstep_run(struct lockstep *ls, uint64_t max_insns);

const char *vcpu_stop_name(int stop);

#endif
