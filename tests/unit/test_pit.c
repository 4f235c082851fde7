/* 8254 PIT: counters, OUT pins, latches, read-back, port 0x61, IRQ 0 timing,
 * all against a deterministic virtual clock. */
#include <criterion/criterion.h>

#include "devices/pit8254.h"

static uint64_t fake_icount;
static int irq_edges;
static bool irq_level;
static void on_irq0(void *opaque, bool level)
{
    (void)opaque;
    if (level && !irq_level) irq_edges++;
    irq_level = level;
}

/* 1 ns per "instruction": the test moves time by setting fake_icount. */
static void setup(struct vclock *c, struct pit *p)
{
    fake_icount = 0;
    irq_edges = 0;
    irq_level = false;
    vclock_init(c, true, 0, &fake_icount);
    pit_init(p, c, on_irq0, NULL);
}

static uint64_t ns_of_ticks(uint64_t t) { return t * NS_PER_SEC / PIT_HZ; }

Test(pit, mode2_counts_down_and_reloads)
{
    struct vclock c; struct pit p;
    setup(&c, &p);
    pit_write(&p, 0x43, 0x34);              /* ch0, lsb/msb, mode 2 */
    pit_write(&p, 0x40, 100);
    pit_write(&p, 0x40, 0);
    cr_assert_eq(pit_counter(&p, 0), 100);
    fake_icount = ns_of_ticks(30) + 1;
    cr_assert_eq(pit_counter(&p, 0), 70);
    fake_icount = ns_of_ticks(130) + 1;
    cr_assert_eq(pit_counter(&p, 0), 70);   /* reloaded after 100 */
}

Test(pit, latch_command_freezes_read_value)
{
    struct vclock c; struct pit p;
    setup(&c, &p);
    pit_write(&p, 0x43, 0x34);
    pit_write(&p, 0x40, 0x00);
    pit_write(&p, 0x40, 0x10);              /* 0x1000 */
    fake_icount = ns_of_ticks(0x10) + 1;
    pit_write(&p, 0x43, 0x00);              /* latch ch0 */
    fake_icount = ns_of_ticks(0x200) + 1;
    cr_assert_eq(pit_read(&p, 0x40), 0xf0);
    cr_assert_eq(pit_read(&p, 0x40), 0x0f); /* 0x0ff0 */
    /* Unlatched reads follow the live counter again. */
    cr_assert_eq(pit_read(&p, 0x40), 0x00);
    cr_assert_eq(pit_read(&p, 0x40), 0x0e); /* 0x1000 - 0x200 = 0x0e00 */
}

Test(pit, readback_status)
{
    struct vclock c; struct pit p;
    setup(&c, &p);
    pit_write(&p, 0x43, 0xb0);              /* ch2, lsb/msb, mode 0 */
    pit_write(&p, 0x43, 0xe8);              /* read-back: status only, ch2 */
    cr_assert_eq(pit_read(&p, 0x42), 0x70); /* OUT low, null count, rw=3, mode 0 */
    pit_write(&p, 0x42, 0x34);
    pit_write(&p, 0x42, 0x12);
    pit_write(&p, 0x43, 0xe8);
    cr_assert_eq(pit_read(&p, 0x42), 0x30); /* count loaded */
}

Test(pit, channel2_gate_and_out_on_port61)
{
    struct vclock c; struct pit p;
    setup(&c, &p);
    /* Linux's calibration sequence: gate on, speaker off, ch2 mode 0. */
    pit_write(&p, 0x61, 0x01);
    pit_write(&p, 0x43, 0xb0);
    pit_write(&p, 0x42, 0xff);
    pit_write(&p, 0x42, 0x00);              /* count 255 */
    cr_assert_eq(pit_read(&p, 0x61) & 0x21, 0x01); /* gate 1, OUT2 low */
    fake_icount = ns_of_ticks(254);
    cr_assert_eq(pit_read(&p, 0x61) & 0x20, 0x00);
    fake_icount = ns_of_ticks(256);
    cr_assert_eq(pit_read(&p, 0x61) & 0x20, 0x20); /* terminal count reached */
    /* Gate low freezes channel 2. */
    setup(&c, &p);
    pit_write(&p, 0x61, 0x01);
    pit_write(&p, 0x43, 0xb0);
    pit_write(&p, 0x42, 0x00);
    pit_write(&p, 0x42, 0x10);
    fake_icount = ns_of_ticks(0x100) + 1;
    pit_write(&p, 0x61, 0x00);
    uint32_t frozen = pit_counter(&p, 2);
    cr_assert_eq(frozen, 0x0f00);
    fake_icount = ns_of_ticks(0x800);
    cr_assert_eq(pit_counter(&p, 2), frozen);
}

Test(pit, refresh_bit_toggles)
{
    struct vclock c; struct pit p;
    setup(&c, &p);
    uint8_t a = pit_read(&p, 0x61) & 0x10;
    fake_icount = 15085;
    uint8_t b = pit_read(&p, 0x61) & 0x10;
    cr_assert_neq(a, b);
}

Test(pit, irq0_periodic_edges)
{
    struct vclock c; struct pit p;
    setup(&c, &p);
    pit_write(&p, 0x43, 0x34);
    pit_write(&p, 0x40, 0x9c);
    pit_write(&p, 0x40, 0x2e);              /* 11932: ~100 Hz */
    uint64_t period = ns_of_ticks(11932);
    int fired = 0;
    for (int i = 1; i <= 5; i++) {
        fake_icount = period * (uint64_t)i + 2000;
        fired += vclock_run_timers(&c);
    }
    cr_assert_eq(fired, 5);
    cr_assert_eq(irq_edges, 5);
    cr_assert_eq(p.irqs, 5);
}

Test(pit, mode0_single_interrupt)
{
    struct vclock c; struct pit p;
    setup(&c, &p);
    pit_write(&p, 0x43, 0x30);              /* ch0 mode 0 */
    pit_write(&p, 0x40, 0x00);
    pit_write(&p, 0x40, 0x01);              /* 256 */
    cr_assert_not(pit_out(&p, 0));
    cr_assert_eq(vclock_next_deadline(&c), ns_of_ticks(256) + 1);
    fake_icount = ns_of_ticks(300);
    cr_assert_eq(vclock_run_timers(&c), 1);
    cr_assert(pit_out(&p, 0));
    cr_assert_eq(vclock_next_deadline(&c), UINT64_MAX);
    cr_assert_eq(irq_edges, 1);
}

Test(pit, square_wave_mode3_output)
{
    struct vclock c; struct pit p;
    setup(&c, &p);
    pit_write(&p, 0x43, 0x36);              /* ch0 mode 3 */
    pit_write(&p, 0x40, 10);
    pit_write(&p, 0x40, 0);
    fake_icount = ns_of_ticks(2) + 1;
    cr_assert(pit_out(&p, 0));
    cr_assert_eq(pit_counter(&p, 0), 6);
    fake_icount = ns_of_ticks(7) + 1;
    cr_assert_not(pit_out(&p, 0));
}
