/* Virtual time and timers (devices/vclock.h). */
#include "devices/vclock.h"

#include <time.h>

uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void vclock_init(struct vclock *c, bool deterministic, unsigned shift, const uint64_t *icount)
{
    *c = (struct vclock){ 0 };
    c->deterministic = deterministic;
    c->shift = shift > 20 ? 20 : shift;
    c->icount = icount;
    c->host_start_ns = host_ns();
    c->last_host_ns = c->host_start_ns;
}

/* Single host thread for now: the readings need no synchronisation. */
uint64_t vclock_now(struct vclock *c)
{
    if (c->deterministic)
        return ((c->icount ? *c->icount : 0) << c->shift) + c->skipped_ns;
    uint64_t now = host_ns();
    uint64_t gap = now - c->last_host_ns;
    if (gap > VCLOCK_MAX_GAP_NS) c->stolen_ns += gap - VCLOCK_MAX_GAP_NS;
    c->last_host_ns = now;
    return now - c->host_start_ns - c->stolen_ns + c->ahead_ns;
}

void vclock_skip_ahead(struct vclock *c, uint64_t ns)
{
    if (!c->deterministic) c->ahead_ns += ns;
}

void vclock_idle_done(struct vclock *c)
{
    if (!c->deterministic) c->last_host_ns = host_ns();
}

int vtimer_register(struct vclock *c, struct vtimer *t, void (*fire)(void *, uint64_t), void *opaque)
{
    if (c->ntimers == VCLOCK_MAX_TIMERS) return -1;
    t->deadline = UINT64_MAX;
    t->fire = fire;
    t->opaque = opaque;
    c->timers[c->ntimers++] = t;
    return 0;
}

void vtimer_arm(struct vtimer *t, uint64_t deadline) { t->deadline = deadline; }
void vtimer_disarm(struct vtimer *t) { t->deadline = UINT64_MAX; }

int vclock_run_timers(struct vclock *c) { return vclock_run_timers_at(c, vclock_now(c)); }

int vclock_run_timers_at(struct vclock *c, uint64_t now)
{
    int fired = 0;
    for (int i = 0; i < c->ntimers; i++) {
        struct vtimer *t = c->timers[i];
        if (t->deadline <= now) {
            t->deadline = UINT64_MAX; /* the callback re-arms a periodic timer */
            t->fire(t->opaque, now);
            fired++;
        }
    }
    return fired;
}

uint64_t vclock_next_deadline(const struct vclock *c)
{
    uint64_t d = UINT64_MAX;
    for (int i = 0; i < c->ntimers; i++)
        if (c->timers[i]->deadline < d) d = c->timers[i]->deadline;
    return d;
}

void vclock_skip_to(struct vclock *c, uint64_t t)
{
    uint64_t now = vclock_now(c);
    if (c->deterministic && t > now) c->skipped_ns += t - now;
}

void vclock_wait_until(struct vclock *c, uint64_t deadline, uint64_t max_wait_ns)
{
    uint64_t now = vclock_now(c);
    if (deadline <= now) return;
    if (c->deterministic) {
        vclock_skip_to(c, deadline);
        return;
    }
    uint64_t wait = deadline - now;
    if (wait > max_wait_ns) wait = max_wait_ns;
    struct timespec ts = { (time_t)(wait / NS_PER_SEC), (long)(wait % NS_PER_SEC) };
    nanosleep(&ts, NULL);
    vclock_idle_done(c);
}
