/* Virtual time (devices/vclock.c): deterministic mode follows the
 * instruction count; real-time mode follows the host clock except for gaps
 * in which the vCPU thread did not run (they count VCLOCK_MAX_GAP_NS at most)
 * while idle waits count in full. */
#include <criterion/criterion.h>
#include <time.h>

#include "devices/vclock.h"

static void sleep_ms(long ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

Test(vclock, deterministic_is_instruction_count)
{
    uint64_t icount = 1000;
    struct vclock c;
    vclock_init(&c, true, 3, &icount);
    cr_assert_eq(vclock_now(&c), 8000);
    vclock_skip_to(&c, 10000);
    cr_assert_eq(vclock_now(&c), 10000);
    icount++;
    cr_assert_eq(vclock_now(&c), 10008);
}

/* A spin-wait hint moves real time ahead at once, for good; deterministic
 * time is the instruction count regardless. */
Test(vclock, realtime_skips_ahead_at_a_spin_hint)
{
    struct vclock c;
    vclock_init(&c, false, 0, NULL);
    uint64_t t0 = vclock_now(&c);
    vclock_skip_ahead(&c, 5000000);
    uint64_t t1 = vclock_now(&c);
    cr_assert_geq(t1 - t0, 5000000);
    cr_assert_lt(t1 - t0, 5000000 + VCLOCK_MAX_GAP_NS);
    cr_assert_geq(vclock_now(&c), t1);
    uint64_t icount = 10;
    struct vclock d;
    vclock_init(&d, true, 0, &icount);
    vclock_skip_ahead(&d, 5000000);
    cr_assert_eq(vclock_now(&d), 10);
}

Test(vclock, realtime_gap_counts_at_most_the_cap)
{
    struct vclock c;
    vclock_init(&c, false, 0, NULL);
    uint64_t t0 = vclock_now(&c);
    sleep_ms(20); /* as if the host had descheduled the vCPU thread */
    uint64_t t1 = vclock_now(&c);
    cr_assert_geq(t1, t0);
    cr_assert_leq(t1 - t0, VCLOCK_MAX_GAP_NS);
    cr_assert_geq(c.stolen_ns, 20000000ull - VCLOCK_MAX_GAP_NS);
}

Test(vclock, realtime_idle_wait_counts_in_full)
{
    struct vclock c;
    vclock_init(&c, false, 0, NULL);
    uint64_t t0 = vclock_now(&c);
    sleep_ms(20);
    vclock_idle_done(&c); /* the guest was halted, waiting for a timer */
    uint64_t t1 = vclock_now(&c);
    cr_assert_geq(t1 - t0, 20000000ull);
    /* vclock_wait_until sleeps and accounts the same way. */
    vclock_wait_until(&c, t1 + 5000000, 5000000);
    cr_assert_geq(vclock_now(&c), t1 + 5000000);
}
