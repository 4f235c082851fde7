/* CMOS/RTC: time registers in BCD and binary, status registers, UIP window,
 * periodic interrupt, memory-size bytes, NMI mask bit. */
#include <criterion/criterion.h>

#include "devices/cmos_rtc.h"

static uint64_t fake_icount;
static int irq_rises;
static bool irq_level;
static void on_irq(void *opaque, bool level)
{
    (void)opaque;
    if (level && !irq_level) irq_rises++;
    irq_level = level;
}

/* 2024-02-29 23:59:58 UTC, a Thursday. */
#define BASE 1709251198

static void setup(struct vclock *c, struct cmos_rtc *r)
{
    fake_icount = 0;
    irq_rises = 0;
    irq_level = false;
    vclock_init(c, true, 0, &fake_icount);
    cmos_init(r, c, BASE, 128u << 20, on_irq, NULL);
}

static uint8_t rd(struct cmos_rtc *r, uint8_t idx)
{
    cmos_write(r, 0x70, idx);
    return cmos_read(r, 0x71);
}

static void wr(struct cmos_rtc *r, uint8_t idx, uint8_t val)
{
    cmos_write(r, 0x70, idx);
    cmos_write(r, 0x71, val);
}

Test(rtc, bcd_time_and_date)
{
    struct vclock c; struct cmos_rtc r;
    setup(&c, &r);
    cr_assert_eq(rd(&r, 0), 0x58);
    cr_assert_eq(rd(&r, 2), 0x59);
    cr_assert_eq(rd(&r, 4), 0x23);
    cr_assert_eq(rd(&r, 6), 0x05); /* Thursday = 5 (Sunday = 1) */
    cr_assert_eq(rd(&r, 7), 0x29);
    cr_assert_eq(rd(&r, 8), 0x02);
    cr_assert_eq(rd(&r, 9), 0x24);
    cr_assert_eq(rd(&r, 0x32), 0x20);
    /* Two seconds later: leap day rolls over to March 1st. */
    fake_icount = 2 * NS_PER_SEC;
    cr_assert_eq(rd(&r, 0), 0x00);
    cr_assert_eq(rd(&r, 7), 0x01);
    cr_assert_eq(rd(&r, 8), 0x03);
}

Test(rtc, binary_and_12_hour_modes)
{
    struct vclock c; struct cmos_rtc r;
    setup(&c, &r);
    wr(&r, 0x0b, 0x04);            /* binary, 12-hour */
    cr_assert_eq(rd(&r, 0), 58);
    cr_assert_eq(rd(&r, 4), 0x80 | 11); /* 11 PM */
    wr(&r, 0x0b, 0x00);            /* BCD, 12-hour */
    cr_assert_eq(rd(&r, 4), 0x91);
}

Test(rtc, guest_sets_time)
{
    struct vclock c; struct cmos_rtc r;
    setup(&c, &r);
    wr(&r, 0x0b, 0x82);            /* SET, 24h, BCD */
    wr(&r, 4, 0x10);
    wr(&r, 2, 0x30);
    wr(&r, 0x0b, 0x02);
    cr_assert_eq(rd(&r, 4), 0x10);
    cr_assert_eq(rd(&r, 2), 0x30);
    cr_assert_eq(rd(&r, 7), 0x29);
}

Test(rtc, status_registers_and_uip)
{
    struct vclock c; struct cmos_rtc r;
    setup(&c, &r);
    cr_assert_eq(rd(&r, 0x0a), 0x26);
    cr_assert_eq(rd(&r, 0x0b), 0x02);
    cr_assert_eq(rd(&r, 0x0d), 0x80);
    fake_icount = NS_PER_SEC - 100000;  /* inside the 244 us window */
    cr_assert_eq(rd(&r, 0x0a), 0xa6);
    fake_icount = NS_PER_SEC + 1000;
    cr_assert_eq(rd(&r, 0x0a), 0x26);
}

Test(rtc, periodic_interrupt_and_register_c)
{
    struct vclock c; struct cmos_rtc r;
    setup(&c, &r);
    wr(&r, 0x0a, 0x26);            /* 1024 Hz */
    wr(&r, 0x0b, 0x42);            /* PIE */
    fake_icount = 1000000;         /* 1 ms: one period of 976.5625 us */
    cr_assert_eq(vclock_run_timers(&c), 1);
    cr_assert(irq_level);
    cr_assert_eq(rd(&r, 0x0c), 0xc0); /* IRQF | PF */
    cr_assert_not(irq_level);
    cr_assert_eq(rd(&r, 0x0c), 0x00);
    fake_icount = 2000000;
    vclock_run_timers(&c);
    cr_assert_eq(irq_rises, 2);
}

Test(rtc, update_ended_interrupt)
{
    struct vclock c; struct cmos_rtc r;
    setup(&c, &r);
    wr(&r, 0x0b, 0x12);            /* UIE */
    fake_icount = NS_PER_SEC + 5;
    vclock_run_timers(&c);
    cr_assert(irq_level);
    cr_assert_eq(rd(&r, 0x0c), 0x90); /* IRQF | UF */
}

Test(rtc, memory_size_bytes_and_nmi_bit)
{
    struct vclock c; struct cmos_rtc r;
    setup(&c, &r);
    cr_assert_eq(rd(&r, 0x15) | (rd(&r, 0x16) << 8), 640);
    cr_assert_eq(rd(&r, 0x17) | (rd(&r, 0x18) << 8), 0xfc00);     /* capped at 63 MiB */
    cr_assert_eq(rd(&r, 0x34) | (rd(&r, 0x35) << 8), (112u << 20) >> 16);
    cmos_write(&r, 0x70, 0x8f);
    cr_assert(r.nmi_disabled);
    cr_assert_eq(r.index, 0x0f);
    cmos_write(&r, 0x71, 0x5a);
    cr_assert_eq(rd(&r, 0x0f), 0x5a);  /* plain CMOS byte */
}
