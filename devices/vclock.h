/* Virtual time for the devices, and the timers that run on it.
 * Real-time mode (the default): virtual time is host monotonic time since
 * start. Deterministic mode (-icount SHIFT, as QEMU's): virtual time is the
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
    struct vtimer *timers[VCLOCK_MAX_TIMERS];
    int ntimers;
};

void vclock_init(struct vclock *c, bool deterministic, unsigned shift, const uint64_t *icount);
uint64_t vclock_now(const struct vclock *c);
/* Host monotonic nanoseconds. */
uint64_t host_ns(void);

/* Timers: register once, then arm/disarm. */
int  vtimer_register(struct vclock *c, struct vtimer *t, void (*fire)(void *, uint64_t), void *opaque);
void vtimer_arm(struct vtimer *t, uint64_t deadline);
void vtimer_disarm(struct vtimer *t);
/* Fire every expired timer (each at most once per call); returns how many fired. */
int vclock_run_timers(struct vclock *c);
/* Earliest armed deadline, or UINT64_MAX. */
uint64_t vclock_next_deadline(const struct vclock *c);
/* Idle until `deadline` (or at most max_wait_ns of host time in real-time mode):
 * deterministic mode jumps virtual time forward; real-time mode sleeps.
 * Returns without sleeping if the deadline has passed. */
void vclock_wait_until(struct vclock *c, uint64_t deadline, uint64_t max_wait_ns);
/* Skip virtual time forward (deterministic mode). */
void vclock_skip_to(struct vclock *c, uint64_t t);

#endif
