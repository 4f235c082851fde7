/* The ACPI PM1a event/control registers and the PM timer (devices/acpi_pm.h). */
#include "devices/acpi_pm.h"

#include <stddef.h>

#include "devices/iobus.h"

#define EN_MASK  (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
#define CNT_MASK (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)
#define HALF_SHIFT (ACPI_PM_TIMER_BITS - 1) /* TMR_STS: bit 23 of the count changed */

/* Timer ticks since virtual time 0 (split so nothing overflows 64 bits). */
static uint64_t ticks_at(uint64_t ns)
{
    return (ns / NS_PER_SEC) * ACPI_PM_TIMER_HZ + (ns % NS_PER_SEC) * ACPI_PM_TIMER_HZ / NS_PER_SEC;
}

/* The first virtual ns at which ticks_at() reaches t. */
static uint64_t ns_of_tick(uint64_t t)
{
    return (t / ACPI_PM_TIMER_HZ) * NS_PER_SEC +
           ((t % ACPI_PM_TIMER_HZ) * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
}

uint32_t acpi_pm_timer(const struct acpi_pm *p)
{
    return (uint32_t)(ticks_at(vclock_now(p->clock)) & ((1u << ACPI_PM_TIMER_BITS) - 1));
}

/* Bring TMR_STS up to date: set if bit 23 has changed since the last look. */
static void update_tmr_sts(struct acpi_pm *p)
{
    uint64_t half = ticks_at(vclock_now(p->clock)) >> HALF_SHIFT;
    if (half != p->tmr_half) {
        p->tmr_half = half;
        p->sts |= ACPI_PM1_TMR;
    }
}

static void update_sci(struct acpi_pm *p)
{
    bool level = (p->cnt & ACPI_PM1_SCI_EN) && (p->sts & p->en & EN_MASK);
    if (level != p->sci) {
        p->sci = level;
        if (p->set_sci) p->set_sci(p->opaque, level);
    }
}

/* While TMR_EN is set, a timer wakes the device at the next toggle of bit 23. */
static void arm_timer(struct acpi_pm *p)
{
    if (!(p->en & ACPI_PM1_TMR)) {
        vtimer_disarm(&p->timer);
        return;
    }
    uint64_t next = (p->tmr_half + 1) << HALF_SHIFT;
    vtimer_arm(&p->timer, ns_of_tick(next));
}

static void timer_fire(void *opaque, uint64_t now)
{
    struct acpi_pm *p = opaque;
    (void)now;
    update_tmr_sts(p);
    update_sci(p);
    arm_timer(p);
}

int acpi_pm_init(struct acpi_pm *p, struct vclock *clock, void (*set_sci)(void *, bool),
                 void (*sleep)(void *, int), void *opaque)
{
    *p = (struct acpi_pm){ .clock = clock, .cnt = ACPI_PM1_SCI_EN, .set_sci = set_sci,
                           .sleep = sleep, .opaque = opaque };
    p->tmr_half = ticks_at(vclock_now(clock)) >> HALF_SHIFT;
    return vtimer_register(clock, &p->timer, timer_fire, p);
}

/* The byte at offset off of the 12-byte block; tmr is the timer value
 * sampled once per access so a wide read is coherent. */
static uint8_t block_byte(const struct acpi_pm *p, unsigned off, uint32_t tmr)
{
    switch (off) {
    case 0: return (uint8_t)p->sts;
    case 1: return (uint8_t)(p->sts >> 8);
    case 2: return (uint8_t)p->en;
    case 3: return (uint8_t)(p->en >> 8);
    case 4: return (uint8_t)p->cnt;          /* SLP_EN and GBL_RLS read as 0 */
    case 5: return (uint8_t)(p->cnt >> 8);
    case 8: case 9: case 10: case 11: return (uint8_t)(tmr >> (8 * (off - 8)));
    case 6: case 7: return 0;                /* reserved */
    default: return 0xff;                    /* past the block */
    }
}

uint32_t acpi_pm_read(struct acpi_pm *p, uint16_t port, int size)
{
    unsigned off = (unsigned)(uint16_t)(port - ACPI_PM_BASE);
    update_tmr_sts(p);
    update_sci(p);
    uint32_t tmr = acpi_pm_timer(p), v = 0;
    for (int i = 0; i < size && i < 4; i++) v |= (uint32_t)block_byte(p, off + (unsigned)i, tmr) << (8 * i);
    return v;
}

/* A 16-bit register written through some of its bytes: val holds the
 * written bytes in place, mask says which. */
static void write_sts(struct acpi_pm *p, uint16_t val, uint16_t mask)
{
    update_tmr_sts(p);
    p->sts &= (uint16_t)~(val & mask); /* write 1 to clear */
}

static void write_en(struct acpi_pm *p, uint16_t val, uint16_t mask)
{
    p->en = (uint16_t)((p->en & ~mask) | (val & mask & EN_MASK));
    update_tmr_sts(p);
    arm_timer(p);
}

static void write_cnt(struct acpi_pm *p, uint16_t val, uint16_t mask)
{
    p->cnt = (uint16_t)((p->cnt & ~(mask & CNT_MASK)) | (val & mask & CNT_MASK));
    if (val & mask & ACPI_PM1_SLP_EN) {
        int typ = (p->cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;
        p->sleeps++;
        /* Sleep states other than S5 are not offered (the DSDT has only
         * \_S5): the machine "wakes" at once so an OS waiting for WAK_STS
         * does not hang. */
        if (typ != ACPI_SLP_TYP_S5) p->sts |= ACPI_PM1_WAK_STS;
        if (p->sleep) p->sleep(p->opaque, typ);
    }
}

void acpi_pm_write(struct acpi_pm *p, uint16_t port, uint32_t val, int size)
{
    unsigned off = (unsigned)(uint16_t)(port - ACPI_PM_BASE);
    /* Gather the written bytes per 16-bit register (0 STS, 1 EN, 2 CNT). */
    uint16_t v[3] = { 0, 0, 0 }, m[3] = { 0, 0, 0 };
    for (int i = 0; i < size && i < 4; i++) {
        unsigned o = off + (unsigned)i;
        if (o >= 6) continue; /* reserved bytes and the read-only timer */
        unsigned shift = 8 * (o & 1);
        v[o / 2] |= (uint16_t)(((val >> (8 * i)) & 0xff) << shift);
        m[o / 2] |= (uint16_t)(0xffu << shift);
    }
    if (m[0]) write_sts(p, v[0], m[0]);
    if (m[1]) write_en(p, v[1], m[1]);
    if (m[2]) write_cnt(p, v[2], m[2]);
    update_sci(p);
}

static uint32_t pm_io_read(void *opaque, uint16_t port, int size) { return acpi_pm_read(opaque, port, size); }
static void pm_io_write(void *opaque, uint16_t port, uint32_t val, int size) { acpi_pm_write(opaque, port, val, size); }

int acpi_pm_register(struct acpi_pm *p, struct iobus *bus)
{
    return iobus_register(bus, ACPI_PM_BASE, ACPI_PM_PORTS, pm_io_read, pm_io_write, p, "acpi-pm");
}
