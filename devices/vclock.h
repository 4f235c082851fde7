/* Virtual time for the devices, and the timers that run on it.
 * Real-time mode (the default): virtual time is host monotonic time since
 * start, less the time the vCPU thread did not run without being idle: a gap
 * of more than VCLOCK_MAX_GAP_NS between two readings (the host descheduled
 * us, or the VMM worked long on the guest's behalf) counts as that much only,
 * so a guest on a loaded host sees a slower clock rather than lost timer
 * ticks and a TSC that disagrees with its tick count (VMware's "apparent
 * time"). Waits for a timer or input while the guest is halted do count. Deterministic mode (-icount SHIFT, as QEMU's): virtual time is the
 * guest instruction count times 2^SHIFT ns, plus the time skipped while every
 * vCPU was halted, so a run is repeatable to the instruction. */
#ifndef BT86_DEVICES_VCLOCK_H
#define BT86_DEVICES_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define VCLOCK_MAX_TIMERS 16
#define NS_PER_SEC 1000000000ull

struct vtimer {
    uint64_t deadline;                 /* virtual ns; UINT64_MAX when not armed */
    void (*fire)(void *opaque, uint64_t now);
    void *opaque;
};

struct vclock {
    bool deterministic;
    unsigned shift;                    /* ns per instruction = 1 << shift (deterministic) */
    const uint64_t *icount;            /* the counting vCPU's retired instructions */
    uint64_t skipped_ns;               /* deterministic: time jumped over while halted */
    uint64_t host_start_ns;            /* real-time: host time at start */
    uint64_t stolen_ns;                /* real-time: host time not given to the guest */
    uint64_t last_host_ns;             /* real-time: host time at the last reading */
    uint64_t ahead_ns;                 /* real-time: skipped at spin-wait hints (vclock_skip_ahead) */
    struct vtimer *timers[VCLOCK_MAX_TIMERS];
    int ntimers;
};

#define VCLOCK_MAX_GAP_NS 1000000ull

void vclock_init(struct vclock *c, bool deterministic, unsigned shift, const uint64_t *icount);
uint64_t vclock_now(struct vclock *c);
/* The host time since the last reading was spent idle on the guest's behalf
 * (waiting for a timer or for input): count all of it. */
void vclock_idle_done(struct vclock *c);
/* Real-time mode: the guest said it is spinning until time passes (PAUSE
 * in a delay loop): let ns of virtual time pass at once. The clock then runs
 * that much ahead of the host's for good, as after a stolen-time gap the
 * other way. (Deterministic mode: nothing; there a spin costs instructions.) */
void vclock_skip_ahead(struct vclock *c, uint64_t ns);
/* Host monotonic nanoseconds. */
uint64_t host_ns(void);

/* Timers: register once, then arm/disarm. */
int  vtimer_register(struct vclock *c, struct vtimer *t, void (*fire)(void *, uint64_t), void *opaque);
void vtimer_arm(struct vtimer *t, uint64_t deadline);
void vtimer_disarm(struct vtimer *t);
/* Fire every expired timer (each at most once per call); returns how many fired. */
int vclock_run_timers(struct vclock *c);
/* The same with `now` just read from vclock_now (one reading serves both). */
int vclock_run_timers_at(struct vclock *c, uint64_t now);
/* Earliest armed deadline, or UINT64_MAX. */
uint64_t vclock_next_deadline(const struct vclock *c);
/* Idle until `deadline` (or at most max_wait_ns of host time in real-time mode):
 * deterministic mode jumps virtual time forward; real-time mode sleeps.
 * Returns without sleeping if the deadline has passed. */
void vclock_wait_until(struct vclock *c, uint64_t deadline, uint64_t max_wait_ns);
/* Skip virtual time forward (deterministic mode). */
void vclock_skip_to(struct vclock *c, uint64_t t);

#endif
