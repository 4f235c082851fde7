/* Watching the VMM from outside: host-time accounting of VMM entries for
 * -stats, and -trace sensitive, one line per privileged or sensitive
 * instruction with what the VMM did. Both hang off vcpu->obs; when it is NULL
 * (the default) vmm_call pays one predictable branch and nothing else.
 *
 * Every callout goes through vmm_call (cpu/vmm.c) whichever engine runs the
 * guest: the interpreter's handlers call it, and the translator reaches the
 * same handlers through its fallback stub. So the observed path below is the
 * one place where VMM entries are timed and traced. */
#ifndef BT86_CPU_VMM_TRACE_H
#define BT86_CPU_VMM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/exit_reason.h"
#include "cpu/vmm.h"

struct vcpu;

/* Instruction classes for -trace sensitive,class=... */
#define TRACE_IO    0x01u /* IN, OUT, INS, OUTS */
#define TRACE_CR    0x02u /* MOV CRn/DRn, CLTS, LMSW, SMSW, INVLPG */
#define TRACE_INT   0x04u /* INT n, INT3, INTO, INT1, IRET, SYSENTER, SYSEXIT */
#define TRACE_FLAGS 0x08u /* CLI, STI, PUSHF, POPF */
#define TRACE_SEG   0x10u /* segment loads, far transfers, descriptor tables, LAR/LSL/VERR/VERW */
#define TRACE_MSR   0x20u /* RDMSR, WRMSR, RDTSC, RDPMC */
#define TRACE_MISC  0x40u /* CPUID, HLT, INVD, WBINVD, VMCALL */
#define TRACE_ALL   0x7fu

struct vmm_trace_cfg {
    bool on;
    unsigned classes;  /* TRACE_* */
    uint64_t count;    /* stop after this many lines; 0 = no limit */
    const char *path;  /* file:PATH, or NULL for stderr */
};

/* Parse "sensitive[,file:PATH][,class=C|C...][,count=N]" (C: io cr int flags
 * seg msr misc all; class= may repeat). 0, or -1 with a message in err. */
int vmm_trace_parse(const char *spec, struct vmm_trace_cfg *cfg, char *err, size_t errlen);

/* The trace class of a callout. */
unsigned vmm_trace_class(enum vmm_callout_id id);

struct vmm_obs {
    /* -stats: host time spent in callouts, in TSC ticks, by exit reason. */
    bool timing;
    uint64_t ticks[EXIT_COUNT];
    uint64_t timed[EXIT_COUNT];   /* callouts timed (== v->exits for callout-only reasons) */
    uint64_t faulted[EXIT_COUNT]; /* callouts that ended by raising an exception */
    uint64_t gp[EXIT_COUNT];      /* ... of which #GP */
    uint64_t cr3_writes;          /* MOV to CR3 (address-space switches) */
    uint64_t tsc0;                /* calibration: TSC and CLOCK_MONOTONIC at creation */
    uint64_t ns0;
    /* -trace */
    struct vmm_trace_cfg trace;
    FILE *out;
    uint64_t lines;
};

/* A new observer (timing: -stats; trace: may be NULL or off; out: where
 * trace lines go). NULL if out of memory. */
struct vmm_obs *vmm_obs_new(bool timing, const struct vmm_trace_cfg *trace, FILE *out);
void vmm_obs_free(struct vmm_obs *o);

/* Host nanoseconds per TSC tick, calibrated against CLOCK_MONOTONIC over the
 * observer's lifetime (at least 2 ms: it waits if the run was shorter). */
double vmm_obs_ns_per_tick(const struct vmm_obs *o);
/* What one timed entry adds for the timing itself, in ns (measured now). */
double vmm_obs_overhead_ns(const struct vmm_obs *o);

/* cpu/vmm.c: vmm_call's path when v->obs is set. */
uint64_t vmm_call_observed(struct vcpu *v, enum vmm_callout_id id, const uint32_t *args);
/* cpu/vmm.c: the bare libffi call of a handler (no accounting). */
uint64_t vmm_invoke(struct vcpu *v, enum vmm_callout_id id, const uint32_t *args);

/* cpu/vmm_trace.c: what the trace remembers from before the handler ran. */
struct vmm_trace_pre {
    enum vmm_callout_id id;
    uint32_t args[4];
    uint32_t lin, eflags, esp, r[8];
    uint32_t cr[5];
    uint64_t tlb_flushes;
    uint8_t cpl, stack32;
    char text[80];            /* Capstone disassembly */
};
void vmm_trace_before(struct vcpu *v, enum vmm_callout_id id, const uint32_t *args, struct vmm_trace_pre *pre);
/* Print the line: the effect, or the exception the handler raised. */
void vmm_trace_after(struct vcpu *v, const struct vmm_trace_pre *pre, uint64_t ret, bool faulted);

#endif
