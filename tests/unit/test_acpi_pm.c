/* ACPI PM registers (devices/acpi_pm.c): PM1 status write-1-to-clear, enable
 * mask, SCI level, SLP_TYP/SLP_EN, the 24-bit PM timer against a
 * deterministic clock, and byte/word/dword accesses across the block. */
#include <criterion/criterion.h>

#include "devices/acpi_pm.h"
#include "devices/iobus.h"

static uint64_t fake_icount;     /* 1 ns per "instruction" */
static struct vclock clk;
static struct acpi_pm pm;
static bool sci;
static int sci_changes, sleeps, last_typ;

static void on_sci(void *o, bool level) { (void)o; sci = level; sci_changes++; }
static void on_sleep(void *o, int typ) { (void)o; sleeps++; last_typ = typ; }

static void setup(void)
{
    fake_icount = 0;
    sci = false;
    sci_changes = sleeps = 0;
    last_typ = -1;
    vclock_init(&clk, true, 0, &fake_icount);
    cr_assert_eq(acpi_pm_init(&pm, &clk, on_sci, on_sleep, NULL), 0);
}

/* First ns at which the timer has counted t ticks (independent formula). */
static uint64_t ns_at_tick(uint64_t t) { return (t * 1000000000ull + 3579545 - 1) / 3579545; }

TestSuite(acpi_pm, .init = setup);

Test(acpi_pm, reset_state_is_acpi_mode)
{
    cr_assert_eq(acpi_pm_read(&pm, 0x604, 2), 0x0001);  /* SCI_EN */
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0);
    cr_assert_eq(acpi_pm_read(&pm, 0x602, 2), 0);
    cr_assert_eq(acpi_pm_read(&pm, 0x608, 4), 0);
    cr_assert_eq(acpi_pm_read(&pm, 0x606, 2), 0);        /* reserved */
    cr_assert_not(sci);
}

Test(acpi_pm, timer_counts_at_3579545_hz_and_wraps_at_24_bits)
{
    fake_icount = 1000000000ull;                 /* 1 s */
    cr_assert_eq(acpi_pm_read(&pm, 0x608, 4), 3579545u);
    cr_assert_eq(acpi_pm_timer(&pm), 3579545u);
    fake_icount = ns_at_tick(1000) - 1;
    cr_assert_eq(acpi_pm_read(&pm, 0x608, 4), 999u);
    fake_icount = ns_at_tick(1000);
    cr_assert_eq(acpi_pm_read(&pm, 0x608, 4), 1000u);
    fake_icount = ns_at_tick((1u << 24) + 5);
    cr_assert_eq(acpi_pm_read(&pm, 0x608, 4), 5u);    /* 24 bits: wrapped */
    fake_icount = ns_at_tick(0x123456);
    cr_assert_eq(acpi_pm_read(&pm, 0x608, 1), 0x56);
    cr_assert_eq(acpi_pm_read(&pm, 0x609, 1), 0x34);
    cr_assert_eq(acpi_pm_read(&pm, 0x60a, 2), 0x0012);
    cr_assert_eq(acpi_pm_read(&pm, 0x60b, 1), 0x00);  /* bits 24-31 read 0 */
    /* a long run: 3 hours, no 64-bit overflow in the arithmetic */
    fake_icount = 3ull * 3600 * 1000000000ull;
    cr_assert_eq(acpi_pm_timer(&pm), (uint32_t)((3ull * 3600 * 3579545) & 0xffffff));
}

Test(acpi_pm, timer_writes_are_ignored)
{
    fake_icount = ns_at_tick(77);
    acpi_pm_write(&pm, 0x608, 0xffffffff, 4);
    cr_assert_eq(acpi_pm_read(&pm, 0x608, 4), 77u);
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 4), 0x00000000);
}

Test(acpi_pm, tmr_sts_sets_when_bit23_toggles_and_is_write_one_to_clear)
{
    fake_icount = ns_at_tick(1u << 23) - 1;
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0);
    fake_icount = ns_at_tick(1u << 23);
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0x0001);
    acpi_pm_write(&pm, 0x600, 0x0000, 2);               /* 0s do nothing */
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0x0001);
    acpi_pm_write(&pm, 0x600, 0x0001, 2);
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0);
    fake_icount = ns_at_tick(1u << 24);                  /* bit 23 toggles back: carry */
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 1), 0x01);
}

Test(acpi_pm, enable_register_keeps_only_defined_bits)
{
    acpi_pm_write(&pm, 0x602, 0xffff, 2);
    cr_assert_eq(acpi_pm_read(&pm, 0x602, 2), 0x0721);  /* TMR GBL PWRBTN SLPBTN RTC */
    acpi_pm_write(&pm, 0x603, 0x00, 1);                  /* high byte only */
    cr_assert_eq(acpi_pm_read(&pm, 0x602, 2), 0x0021);
    /* one dword write: STS (w1c) in the low half, EN in the high half */
    acpi_pm_write(&pm, 0x600, 0x01000000, 4);
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 4), 0x01000000);
}

Test(acpi_pm, timer_interrupt_raises_sci_while_enabled)
{
    acpi_pm_write(&pm, 0x602, 0x0001, 2);                /* TMR_EN */
    cr_assert_not(sci);
    cr_assert_eq(vclock_next_deadline(&clk), ns_at_tick(1u << 23));
    fake_icount = ns_at_tick(1u << 23);
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert(sci);
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0x0001);
    acpi_pm_write(&pm, 0x600, 0x0001, 2);                /* handler clears it */
    cr_assert_not(sci);
    cr_assert_eq(vclock_next_deadline(&clk), ns_at_tick(1u << 24));
    acpi_pm_write(&pm, 0x602, 0x0000, 2);                /* TMR_EN off: no timer */
    cr_assert_eq(vclock_next_deadline(&clk), UINT64_MAX);
}

Test(acpi_pm, no_sci_without_sci_en)
{
    acpi_pm_write(&pm, 0x604, 0x0000, 2);                /* leave ACPI mode */
    cr_assert_eq(acpi_pm_read(&pm, 0x604, 2), 0);
    acpi_pm_write(&pm, 0x602, 0x0001, 2);
    fake_icount = ns_at_tick(1u << 23);
    vclock_run_timers(&clk);
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0x0001);   /* status still latches */
    cr_assert_not(sci);
    acpi_pm_write(&pm, 0x604, 0x0001, 2);                /* SCI_EN: now it fires */
    cr_assert(sci);
}

Test(acpi_pm, slp_en_with_s5_requests_poweroff)
{
    acpi_pm_write(&pm, 0x604, (5u << 10) | 0x2000 | 1, 2);
    cr_assert_eq(sleeps, 1);
    cr_assert_eq(last_typ, 5);
    cr_assert_eq(acpi_pm_read(&pm, 0x604, 2), (5u << 10) | 1); /* SLP_EN reads 0 */
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0);             /* no WAK_STS for S5 */
    /* the high byte alone carries SLP_TYP and SLP_EN */
    acpi_pm_write(&pm, 0x605, 0x20 | (5 << 2), 1);
    cr_assert_eq(sleeps, 2);
    cr_assert_eq(last_typ, 5);
    /* SLP_TYP written without SLP_EN: nothing happens */
    acpi_pm_write(&pm, 0x604, (5u << 10) | 1, 2);
    cr_assert_eq(sleeps, 2);
}

Test(acpi_pm, other_sleep_types_wake_at_once)
{
    acpi_pm_write(&pm, 0x604, (1u << 10) | 0x2000 | 1, 2);
    cr_assert_eq(sleeps, 1);
    cr_assert_eq(last_typ, 1);
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0x8000);        /* WAK_STS */
    acpi_pm_write(&pm, 0x601, 0x80, 1);
    cr_assert_eq(acpi_pm_read(&pm, 0x600, 2), 0);
}

Test(acpi_pm, registered_on_the_io_bus)
{
    struct iobus bus;
    iobus_init(&bus);
    cr_assert_eq(acpi_pm_register(&pm, &bus), 0);
    fake_icount = 1000000000ull;
    cr_assert_eq(iobus_in(&bus, 0x608, 4), 3579545u);
    cr_assert_eq(iobus_in(&bus, 0x604, 2), 1u);
    cr_assert_eq(iobus_in(&bus, 0x60c, 1), 0xffu);            /* past the block: unclaimed */
    iobus_out(&bus, 0x604, (5u << 10) | 0x2000 | 1, 2);
    cr_assert_eq(sleeps, 1);
}
