/* The dynamic binary translator (`-engine bt`): public entry points.
 * bt_run is the translator's run loop, a drop-in replacement for cpu_run:
 * same stop conditions, same exact instruction count, same fault and
 * interrupt delivery (it mirrors cpu/interp.c's run loop). Guest blocks from
 * the decode cache become x86-64 host code; instructions without a native
 * translation call the interpreter's handler from the translated code. */
#ifndef BT86_TRANSLATOR_BT_H
#define BT86_TRANSLATOR_BT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/vcpu.h"

/* Run v until a stop condition or max_insns guest instructions (0 = no
 * limit). Returns v->stop. The first call creates v->bt (the code cache and
 * lookup tables) and hooks the machine's code-write notification. */
enum vcpu_stop bt_run(struct vcpu *v, uint64_t max_insns);

/* Free v->bt (call before machine_destroy; safe when v->bt is NULL). */
void bt_vcpu_free(struct vcpu *v);

/* Code cache size in bytes for vCPUs created after the call (default 32 MiB;
 * tests use tiny caches to exercise the flush). */
void bt_set_cache_size(size_t bytes);

struct bt_stats {
    uint64_t tbs;         /* blocks translated */
    uint64_t flushes;     /* code cache flushes (cache full) */
    uint64_t chains;      /* exit jumps patched to their target */
    uint64_t invalidated; /* translations dropped by guest code writes */
    uint64_t dispatches;  /* returns to the dispatcher */
    uint64_t interp_blocks; /* blocks run by the interpreter path */
    uint64_t view_base_kept; /* view accesses that reuse the view base r9 holds (gen_view_probe) */
    uint64_t native, fallback; /* instructions translated natively / as calls */
    /* Translation cost: host nanoseconds (CLOCK_MONOTONIC) in the translator (decoding
     * is the decode cache's and not included), guest bytes translated and
     * host code bytes emitted for them (block headers and record copies
     * excluded). */
    uint64_t translate_ns, guest_bytes, code_bytes;
    /* Inline TLB probes emitted, and memory operands that reused the
     * previous probe of the same address instead (bt_gen.c). */
    uint64_t probes, probes_reused;
    uint64_t latched;      /* memory CMP/TEST latched in r11 for flag recomputation (mem_latch) */
    uint64_t probes_samepage; /* same-page checks against an earlier probe (gen_base_probe) */
    uint64_t probes_direct;   /* of the probes, MODE_PHYS_DIRECT accesses through the physical view (paging off) */
    uint64_t probes_direct_writes; /* ... of them writes */
    uint64_t view_fused;      /* ... whose instruction is its own fault site (view_fuse: no probe load or store) */
    uint64_t probes_lin;      /* of the probes, MODE_LIN_DIRECT/MODE_ULIN_DIRECT accesses through a linear view (paging on) */
    /* The linear view's upkeep (memory/lin_view.h): pages mapped, unmapped
     * by INVLPG, full unmaps (TLB flushes, the page cap), pages made
     * read-only as they became code, host calls refused. */
    uint64_t lin_maps, lin_unmaps, lin_clears, lin_revokes, lin_refusals;
    uint64_t ulin_maps, ulin_clears; /* the user view's pages mapped and full unmaps (MOV CR3) */
    /* Privileged/sensitive instructions (IF_SENSITIVE) translated inline
     * against the vCPU state / as calls reaching the VMM (-stats). */
    uint64_t sensitive_native, sensitive_called;
    /* Lookup and goto (bt_goto.c): block-leaving C calls that jumped to the
     * next translation directly, and those that found none in the jump
     * cache (the others went back for a reason the dispatcher acts on). */
    uint64_t gotos, goto_misses;
    /* Flag recomputations emitted instead of LAHF/SETO saves around probes
     * (bt_gen.c, gen_remat), and self-loops translated with their back
     * edge inside the block (gen_loop). */
    uint64_t remats, loops;
    /* Probes that found the guest flags already saved in r11 by an earlier
     * probe of the block (bt_gen.c, flags_r11). */
    uint64_t flags_kept;
    /* Translations that carry on into the block after their Jcc's
     * fall-through or JMP's target (bt_merge_target). */
    uint64_t merged;
    uint64_t straddling; /* single-instruction TBs of page-crossing instructions (straddle_tb) */
    uint64_t single_runs; /* dispatches that ran a merged TB's first block alone (MODE_SINGLE) */
    /* Accesses through the physical view (MODE_PHYS_DIRECT with a view)
     * that faulted to their cold path (bt_fault.c), and the sites that
     * faulted so often they now jump there directly. */
    uint64_t view_faults, view_sites_patched;
    uint64_t fast_dispatches; /* of the dispatches, those whose TB came from the jump cache alone (run_one) */
    uint64_t fast_chains;     /* of the chains, those into a TB's fast entry, past its budget check */
};
void bt_get_stats(const struct vcpu *v, struct bt_stats *out);
/* Print the statistics (one "name value" per line) to f. bt_vcpu_free does
 * so to stderr when the environment has BT86_BT_STATS=1 (bench/run.sh). */
void bt_print_stats(FILE *f, const struct bt_stats *s);

#endif
