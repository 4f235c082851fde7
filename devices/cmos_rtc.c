/* MC146818 RTC + CMOS (devices/cmos_rtc.h). The time registers are computed
 * from virtual time on every read; writes while SET is on move the clock. */
#include "devices/cmos_rtc.h"

#include <time.h>

#include "devices/iobus.h"

enum { REG_SEC = 0, REG_ASEC = 1, REG_MIN = 2, REG_AMIN = 3, REG_HOUR = 4, REG_AHOUR = 5,
       REG_WDAY = 6, REG_MDAY = 7, REG_MON = 8, REG_YEAR = 9,
       REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d, REG_CENTURY = 0x32 };
#define A_UIP 0x80
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_BIN 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define UIP_NS 244000u /* the update cycle's UIP window before each second */

static uint8_t to_bcd(const struct cmos_rtc *r, int v)
{
    return (r->ram[REG_B] & B_BIN) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int from_bcd(const struct cmos_rtc *r, uint8_t v)
{
    return (r->ram[REG_B] & B_BIN) ? v : (v >> 4) * 10 + (v & 0xf);
}

static int64_t now_unix(const struct cmos_rtc *r, uint32_t *frac_ns)
{
    uint64_t t = vclock_now(r->clock);
    if (frac_ns) *frac_ns = (uint32_t)(t % NS_PER_SEC);
    return r->base_unix + r->set_offset + (int64_t)(t / NS_PER_SEC);
}

static void update_irq(struct cmos_rtc *r)
{
    uint8_t c = r->ram[REG_C] & (C_PF | C_AF | C_UF);
    uint8_t en = r->ram[REG_B] & (B_PIE | B_AIE | B_UIE);
    bool irq = (c & en) != 0; /* the flag bits line up with the enable bits */
    if (irq) r->ram[REG_C] |= C_IRQF;
    if (r->set_irq) r->set_irq(r->opaque, irq);
}

/* Periodic interrupt rate from register A bits 0-3 (32.768 kHz time base). */
static uint64_t periodic_ns(const struct cmos_rtc *r)
{
    int rate = r->ram[REG_A] & 0xf;
    if (rate == 0) return 0;
    if (rate <= 2) rate += 7;
    return (NS_PER_SEC << (rate - 1)) / 32768;
}

static void arm_periodic(struct cmos_rtc *r)
{
    uint64_t p = periodic_ns(r);
    if (!p || (r->ram[REG_A] & 0x70) != 0x20) {
        vtimer_disarm(&r->periodic);
        return;
    }
    uint64_t now = vclock_now(r->clock);
    vtimer_arm(&r->periodic, (now / p + 1) * p);
}

static void periodic_fire(void *opaque, uint64_t now)
{
    (void)now;
    struct cmos_rtc *r = opaque;
    r->ram[REG_C] |= C_PF;
    update_irq(r);
    arm_periodic(r);
}

static void arm_update(struct cmos_rtc *r)
{
    uint64_t now = vclock_now(r->clock);
    vtimer_arm(&r->update, (now / NS_PER_SEC + 1) * NS_PER_SEC);
}

/* Once a second: update-ended flag, and the alarm compare. */
static void update_fire(void *opaque, uint64_t now)
{
    (void)now;
    struct cmos_rtc *r = opaque;
    if (!(r->ram[REG_B] & B_SET)) {
        r->ram[REG_C] |= C_UF;
        int64_t t = now_unix(r, NULL);
        struct tm tm;
        time_t tt = (time_t)t;
        gmtime_r(&tt, &tm);
        /* Alarm bytes with the two top bits set are "don't care". */
        bool match = ((r->ram[REG_ASEC] & 0xc0) == 0xc0 || from_bcd(r, r->ram[REG_ASEC]) == tm.tm_sec) &&
                     ((r->ram[REG_AMIN] & 0xc0) == 0xc0 || from_bcd(r, r->ram[REG_AMIN]) == tm.tm_min) &&
                     ((r->ram[REG_AHOUR] & 0xc0) == 0xc0 || from_bcd(r, r->ram[REG_AHOUR]) == tm.tm_hour);
        if (match) r->ram[REG_C] |= C_AF;
        update_irq(r);
    }
    arm_update(r);
}

static uint8_t read_time_reg(struct cmos_rtc *r, int reg)
{
    uint32_t frac;
    time_t tt = (time_t)now_unix(r, &frac);
    struct tm tm;
    gmtime_r(&tt, &tm);
    switch (reg) {
    case REG_SEC: return to_bcd(r, tm.tm_sec);
    case REG_MIN: return to_bcd(r, tm.tm_min);
    case REG_HOUR:
        if (r->ram[REG_B] & B_24H) return to_bcd(r, tm.tm_hour);
        return (uint8_t)(to_bcd(r, tm.tm_hour % 12 ? tm.tm_hour % 12 : 12) | (tm.tm_hour >= 12 ? 0x80 : 0));
    case REG_WDAY: return to_bcd(r, tm.tm_wday + 1);
    case REG_MDAY: return to_bcd(r, tm.tm_mday);
    case REG_MON: return to_bcd(r, tm.tm_mon + 1);
    case REG_YEAR: return to_bcd(r, tm.tm_year % 100);
    case REG_CENTURY: return to_bcd(r, 19 + tm.tm_year / 100);
    default: {
        uint8_t a = r->ram[REG_A] & 0x7f;
        if (!(r->ram[REG_B] & B_SET) && frac >= NS_PER_SEC - UIP_NS) a |= A_UIP;
        return a;
    }
    }
}

/* The guest wrote a time register: keep the other fields, move the clock. */
static void write_time_reg(struct cmos_rtc *r, int reg, uint8_t val)
{
    time_t tt = (time_t)now_unix(r, NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    int v = from_bcd(r, val & 0x7f);
    switch (reg) {
    case REG_SEC: tm.tm_sec = v; break;
    case REG_MIN: tm.tm_min = v; break;
    case REG_HOUR:
        if (r->ram[REG_B] & B_24H) tm.tm_hour = from_bcd(r, val);
        else tm.tm_hour = (v % 12) + ((val & 0x80) ? 12 : 0);
        break;
    case REG_WDAY: return; /* derived from the date */
    case REG_MDAY: tm.tm_mday = v; break;
    case REG_MON: tm.tm_mon = v - 1; break;
    case REG_YEAR: tm.tm_year = (tm.tm_year / 100) * 100 + from_bcd(r, val); break;
    default: tm.tm_year = (from_bcd(r, val) - 19) * 100 + tm.tm_year % 100; break;
    }
    time_t nt = timegm(&tm);
    if (nt != (time_t)-1) r->set_offset += (int64_t)nt - (int64_t)tt;
}

uint8_t cmos_read(struct cmos_rtc *r, uint16_t port)
{
    if (port == 0x70) return 0xff; /* the index register is write-only */
    int reg = r->index;
    switch (reg) {
    case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY: case REG_MDAY: case REG_MON:
    case REG_YEAR: case REG_CENTURY: case REG_A:
        return read_time_reg(r, reg);
    case REG_C: {
        uint8_t c = r->ram[REG_C];
        r->ram[REG_C] = 0; /* reading C clears the flags and the interrupt */
        update_irq(r);
        return c;
    }
    case REG_D: return 0x80; /* valid RAM and time */
    default: return r->ram[reg];
    }
}

void cmos_write(struct cmos_rtc *r, uint16_t port, uint8_t val)
{
    if (port == 0x70) {
        r->index = val & 0x7f;
        r->nmi_disabled = val & 0x80;
        return;
    }
    int reg = r->index;
    switch (reg) {
    case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY: case REG_MDAY: case REG_MON:
    case REG_YEAR: case REG_CENTURY:
        write_time_reg(r, reg, val);
        break;
    case REG_A:
        r->ram[REG_A] = val & 0x7f;
        arm_periodic(r);
        break;
    case REG_B:
        r->ram[REG_B] = (val & B_SET) ? (uint8_t)(val & ~B_UIE) : val;
        update_irq(r);
        break;
    case REG_C: case REG_D: break; /* read-only */
    default: r->ram[reg] = val; break;
    }
}

static void put_word(struct cmos_rtc *r, int reg, uint32_t v)
{
    r->ram[reg] = (uint8_t)v;
    r->ram[reg + 1] = (uint8_t)(v >> 8);
}

void cmos_init(struct cmos_rtc *r, struct vclock *clock, int64_t base_unix, uint32_t ram_bytes,
               void (*set_irq)(void *, bool), void *opaque)
{
    *r = (struct cmos_rtc){ 0 };
    r->clock = clock;
    r->base_unix = base_unix;
    r->set_irq = set_irq;
    r->opaque = opaque;
    r->ram[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
    r->ram[REG_B] = B_24H;
    r->ram[REG_D] = 0x80;
    /* Memory sizes as a BIOS records them. */
    uint32_t kb = ram_bytes / 1024;
    put_word(r, 0x15, 640);
    uint32_t ext = kb > 1024 ? kb - 1024 : 0;
    if (ext > 0xfc00) ext = 0xfc00;
    put_word(r, 0x17, ext);
    put_word(r, 0x30, ext);
    uint32_t above16 = ram_bytes > (16u << 20) ? (ram_bytes - (16u << 20)) >> 16 : 0;
    if (above16 > 0xffff) above16 = 0xffff;
    put_word(r, 0x34, above16);
    r->ram[0x14] = 0x06; /* equipment: FPU present, VGA */
    vtimer_register(clock, &r->periodic, periodic_fire, r);
    vtimer_register(clock, &r->update, update_fire, r);
    arm_update(r);
}

static uint32_t cmos_io_read(void *opaque, uint16_t port, int size)
{
    (void)size;
    return cmos_read(opaque, port);
}

static void cmos_io_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)size;
    cmos_write(opaque, port, (uint8_t)val);
}

int cmos_register(struct cmos_rtc *r, struct iobus *bus)
{
    return iobus_register(bus, 0x70, 2, cmos_io_read, cmos_io_write, r, "cmos-rtc");
}
