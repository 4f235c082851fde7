/* The 8254 PIT (devices/pit8254.h). Counter values and OUT levels are
 * functions of the ticks elapsed since the count was loaded; channel 0's
 * rising OUT edges are delivered as IRQ 0 by a virtual-time timer. */
#include "devices/pit8254.h"

#include "devices/iobus.h"

static uint64_t ticks_since(const struct pit *p, const struct pit_channel *c)
{
    uint64_t now = vclock_now(p->clock);
    if (now <= c->load_ns) return 0;
    /* Split to avoid overflow over long runs. */
    uint64_t d = now - c->load_ns;
    return (d / NS_PER_SEC) * PIT_HZ + (d % NS_PER_SEC) * PIT_HZ / NS_PER_SEC;
}

static uint64_t ns_for_ticks(uint64_t ticks)
{
    return (ticks / PIT_HZ) * NS_PER_SEC + ((ticks % PIT_HZ) * NS_PER_SEC + PIT_HZ - 1) / PIT_HZ;
}

/* Does the channel count right now? Only channel 2's gate is wired (port 0x61);
 * gate low stops modes 0, 2, 3 and 4. */
static bool counting(const struct pit_channel *c)
{
    return c->armed && (c->gate || c->mode == 1 || c->mode == 5);
}

uint32_t pit_counter(struct pit *p, int n)
{
    struct pit_channel *c = &p->ch[n];
    if (!counting(c)) return c->frozen & 0xffff;
    uint64_t t = ticks_since(p, c);
    uint32_t cnt = c->count;
    switch (c->mode) {
    case 2:
    case 6:
        return (uint32_t)(cnt - t % cnt) & 0xffff;
    case 3:
    case 7: {
        /* Decrements by two; reload each half period. */
        uint64_t half = (cnt + 1) / 2;
        uint64_t in = t % cnt;
        uint64_t pos = in < half ? in : in - half;
        return (uint32_t)((cnt - 2 * pos) & 0xfffe) & 0xffff;
    }
    default: /* 0, 1, 4, 5: count down once, then wrap */
        return (uint32_t)(cnt - t) & 0xffff;
    }
}

bool pit_out(struct pit *p, int n)
{
    struct pit_channel *c = &p->ch[n];
    if (!c->armed) return c->mode != 0;
    if (!counting(c)) return c->mode != 0 || c->frozen == 0; /* stopped: OUT holds (mode 0: high once the count ran out) */
    uint64_t t = ticks_since(p, c);
    uint32_t cnt = c->count;
    switch (c->mode) {
    case 0: return t >= cnt;                 /* high at terminal count */
    case 1: return t >= cnt;                 /* one-shot: low while counting */
    case 2: case 6: return (t % cnt) != cnt - 1; /* low for the last tick of each period */
    case 3: case 7: return (t % cnt) < (cnt + 1) / 2;
    default: return t != cnt;                /* 4, 5: low for one tick at terminal count */
    }
}

/* Ticks from load to channel 0's next rising OUT edge after tick t, or 0 if none. */
static uint64_t next_edge(const struct pit_channel *c, uint64_t t)
{
    uint32_t cnt = c->count;
    switch (c->mode) {
    case 0: case 1: return t < cnt ? cnt : 0;
    case 2: case 6: case 3: case 7: return (t / cnt + 1) * cnt;
    default: return t <= cnt ? cnt + 1 : 0;
    }
}

static void arm_irq0(struct pit *p)
{
    struct pit_channel *c = &p->ch[0];
    if (!counting(c)) {
        vtimer_disarm(&p->timer);
        return;
    }
    uint64_t edge = next_edge(c, ticks_since(p, c));
    if (!edge) vtimer_disarm(&p->timer);
    else vtimer_arm(&p->timer, c->load_ns + ns_for_ticks(edge));
}

static void irq0_fire(void *opaque, uint64_t now)
{
    (void)now;
    struct pit *p = opaque;
    p->irqs++;
    /* One rising edge (a pulse); ticks missed while the host was busy are coalesced. */
    if (p->set_irq0) {
        p->set_irq0(p->opaque, true);
        p->set_irq0(p->opaque, false);
    }
    arm_irq0(p);
}

static void load_count(struct pit *p, int n, uint32_t val)
{
    struct pit_channel *c = &p->ch[n];
    if (val == 0) val = c->bcd ? 10000 : 65536;
    if (val == 1 && (c->mode == 2 || c->mode == 3)) val = 2; /* 1 is illegal in modes 2/3 */
    c->count = val;
    c->armed = true;
    c->null_count = false;
    c->load_ns = vclock_now(p->clock);
    c->frozen = val & 0xffff;
    if (n == 0) {
        arm_irq0(p);
    }
}

static uint8_t make_status(struct pit *p, int n)
{
    struct pit_channel *c = &p->ch[n];
    return (uint8_t)((pit_out(p, n) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) | (c->rw << 4) |
                     (c->mode << 1) | (c->bcd ? 1 : 0));
}

static void latch_count(struct pit *p, int n)
{
    struct pit_channel *c = &p->ch[n];
    if (c->latched) return; /* a second latch before reading is ignored */
    c->latched = true;
    c->latch = (uint16_t)pit_counter(p, n);
    c->latched_msb_next = false;
}

static void write_control(struct pit *p, uint8_t val)
{
    int sel = val >> 6;
    if (sel == 3) { /* read-back command */
        for (int n = 0; n < 3; n++) {
            if (!(val & (2u << n))) continue;
            if (!(val & 0x20)) latch_count(p, n);
            if (!(val & 0x10) && !p->ch[n].status_latched) {
                p->ch[n].status_latched = true;
                p->ch[n].status = make_status(p, n);
            }
        }
        return;
    }
    struct pit_channel *c = &p->ch[sel];
    int rw = (val >> 4) & 3;
    if (rw == 0) {
        latch_count(p, sel);
        return;
    }
    c->frozen = pit_counter(p, sel);
    c->rw = (uint8_t)rw;
    c->mode = (val >> 1) & 7;
    if (c->mode > 5) c->mode -= 4; /* 6 and 7 alias 2 and 3 */
    c->bcd = val & 1;
    c->armed = false;
    c->null_count = true;
    c->write_lsb_done = false;
    c->read_msb_next = false;
    if (sel == 0) {
        /* IRQ 0 is modelled as one pulse per rising OUT edge (the PIC input is
         * edge-triggered), so setting the mode does not touch the line. */
        vtimer_disarm(&p->timer);
    }
}

static uint8_t read_counter_port(struct pit *p, int n)
{
    struct pit_channel *c = &p->ch[n];
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t v;
    bool *msb_next;
    if (c->latched) {
        v = c->latch;
        msb_next = &c->latched_msb_next;
    } else {
        v = (uint16_t)pit_counter(p, n);
        msb_next = &c->read_msb_next;
    }
    uint8_t out;
    switch (c->rw) {
    case 1: out = v & 0xff; c->latched = false; break;
    case 2: out = v >> 8; c->latched = false; break;
    default:
        out = *msb_next ? v >> 8 : v & 0xff;
        if (*msb_next) c->latched = false;
        *msb_next = !*msb_next;
        break;
    }
    return out;
}

static void write_counter_port(struct pit *p, int n, uint8_t val)
{
    struct pit_channel *c = &p->ch[n];
    switch (c->rw) {
    case 1: load_count(p, n, val); break;
    case 2: load_count(p, n, (uint32_t)val << 8); break;
    default:
        if (!c->write_lsb_done) {
            c->write_lsb = val;
            c->write_lsb_done = true;
            if (c->mode == 0) c->frozen = pit_counter(p, n), c->armed = false; /* mode 0 stops on LSB */
        } else {
            c->write_lsb_done = false;
            load_count(p, n, c->write_lsb | ((uint32_t)val << 8));
        }
        break;
    }
}

static void set_gate2(struct pit *p, bool gate)
{
    struct pit_channel *c = &p->ch[2];
    if (gate == c->gate) return;
    if (!gate) {
        c->frozen = pit_counter(p, 2);
        c->gate = false;
        return;
    }
    c->gate = true;
    if (!c->armed) return;
    if (c->mode == 1 || c->mode == 5 || c->mode == 2 || c->mode == 3) {
        c->load_ns = vclock_now(p->clock); /* rising gate edge (re)triggers */
    } else {
        /* Modes 0 and 4 resume from the frozen value. */
        uint32_t remaining = c->frozen ? c->frozen : 65536;
        uint64_t done = c->count >= remaining ? c->count - remaining : 0;
        c->load_ns = vclock_now(p->clock) - ns_for_ticks(done);
    }
}

uint8_t pit_read(struct pit *p, uint16_t port)
{
    if (port == 0x61) {
        /* Bit 4 toggles with DRAM refresh every 15.085 us; bit 5 is OUT2. */
        uint64_t refresh = vclock_now(p->clock) / 15085;
        return (uint8_t)((p->ch[2].gate ? 1 : 0) | (p->speaker_data ? 2 : 0) | ((refresh & 1) ? 0x10 : 0) |
                         (pit_out(p, 2) ? 0x20 : 0));
    }
    if (port >= 0x40 && port <= 0x42) return read_counter_port(p, port - 0x40);
    return 0xff; /* the control word register is write-only */
}

void pit_write(struct pit *p, uint16_t port, uint8_t val)
{
    if (port == 0x61) {
        p->speaker_data = val & 2;
        set_gate2(p, val & 1);
    } else if (port == 0x43) {
        write_control(p, val);
    } else if (port >= 0x40 && port <= 0x42) {
        write_counter_port(p, port - 0x40, val);
    }
}

void pit_init(struct pit *p, struct vclock *clock, void (*set_irq0)(void *, bool), void *opaque)
{
    *p = (struct pit){ 0 };
    p->clock = clock;
    p->set_irq0 = set_irq0;
    p->opaque = opaque;
    for (int n = 0; n < 3; n++) {
        p->ch[n].gate = n != 2; /* channels 0 and 1 have their gates tied high */
        p->ch[n].count = 65536;
        p->ch[n].rw = 3;
    }
    vtimer_register(clock, &p->timer, irq0_fire, p);
}

static uint32_t pit_io_read(void *opaque, uint16_t port, int size)
{
    (void)size;
    return pit_read(opaque, port);
}

static void pit_io_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)size;
    pit_write(opaque, port, (uint8_t)val);
}

int pit_register(struct pit *p, struct iobus *bus)
{
    if (iobus_register(bus, 0x40, 4, pit_io_read, pit_io_write, p, "pit") ||
        iobus_register(bus, 0x61, 1, pit_io_read, pit_io_write, p, "port61"))
        return -1;
    return 0;
}
