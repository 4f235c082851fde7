/* The vCPU scheduler for -smp N (N > 1): runs the board's vCPUs either
 * round robin on one host thread (deterministic; -smp N,threads=single, and
 * always with -icount) or each on its own host thread. With one vCPU the
 * board runs vCPU 0 directly (frontend/pc.c) and none of this is used.
 *
 * It owns: the per-vCPU "current vCPU" (the local APIC window at 0xfee00000
 * reaches the APIC of the vCPU that accesses it), the idle rule (one halted
 * vCPU lets the others run; the run ends when all are halted for good), and
 * the device lock taken around device access in the threaded mode.
 * docs/SMP.md describes the design. */
#ifndef BT86_FRONTEND_SMP_RUN_H
#define BT86_FRONTEND_SMP_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "frontend/cli.h"

struct pc;

/* Instructions a vCPU runs before the next one gets the host thread
 * (round-robin mode); the switch happens at the run loop's next device
 * poll (every CPU_POLL_INTERVAL instructions) after this many. */
#define SMP_SLICE 8192

/* Can this engine run vCPUs on parallel host threads? (Otherwise -smp
 * runs round robin on one thread.) */
bool smp_threads_supported(enum engine_kind engine);
/* Take over the board's idle hook and set up per-vCPU state for ncpu > 1.
 * threaded: each vCPU on its own host thread. 0, or -1 with a message. */
int smp_init(struct pc *pc, bool threaded, char *err, size_t errlen);
/* Run every vCPU until the machine stops (max_insns: over all vCPUs, 0 = no
 * limit). The vCPU that stopped the machine is copied into vCPU 0's exit
 * fields (exit status, fault chain, EIP) so the caller reports it. */
enum vcpu_stop smp_run(struct pc *pc, uint64_t max_insns);
void smp_destroy(struct pc *pc);

/* The vCPU running on this host thread (NULL outside smp_run: the board's
 * pc->cur then applies). */
struct vcpu *smp_current(void);
/* v's interrupt state changed (called from pc.c's kick): wake it if its
 * thread sleeps in HLT. */
void smp_kick(struct vcpu *v);
/* The device lock: held around device access, timers and interrupt
 * controller queries in the threaded mode; no-ops otherwise. Recursive. */
void smp_dev_lock(struct machine *m);
void smp_dev_unlock(struct machine *m);

/* Round robin driven from outside, one bounded run of one vCPU at a time
 * (the lockstep checker, tests/fuzz/lockstep_guest.c; round-robin mode
 * only). smp_select makes v the vCPU that runs next: deterministic time
 * follows its instruction count, the APIC window and the debug-exit port are
 * its, and no time slice or kick preempts it (the caller bounds the run).
 * v NULL: none runs (device polling). smp_all_idle: every vCPU is halted;
 * wait for time or input as smp_run does (false: nothing can wake any). */
void smp_select(struct pc *pc, struct vcpu *v);
bool smp_all_idle(struct pc *pc);

#endif
