/* The 8259A PIC pair (devices/pic8259.h). Register semantics from Intel's
 * 8259A data sheet: ICW1-4 initialisation, OCW1 mask, OCW2 EOI/rotation,
 * OCW3 read-register/poll/special-mask; fully nested priority with rotation. */
#include "devices/pic8259.h"

#include "devices/iobus.h"

/* Priority rank (0 = highest) of the highest-priority bit set in mask, or 8. */
static int best_priority(const struct pic_chip *c, uint8_t mask)
{
    if (!mask) return 8;
    int pr = 0;
    while (!(mask & (1u << ((pr + c->prio_add) & 7)))) pr++;
    return pr;
}

/* The IRQ (0-7) this chip would present now, or -1. */
static int chip_pending_irq(const struct pic_chip *c, bool is_master)
{
    int pr = best_priority(c, c->irr & ~c->imr);
    if (pr == 8) return -1;
    uint8_t in_service = c->isr;
    if (c->special_mask) in_service &= ~c->imr;
    /* Special fully nested mode: a further interrupt from the slave may nest. */
    if (is_master && c->sfnm) in_service &= ~(1u << 2);
    if (pr < best_priority(c, in_service)) return (pr + c->prio_add) & 7;
    return -1;
}

static void update(struct pic *p)
{
    /* The slave's INTR is the master's IRQ 2 input (level). */
    bool slave_out = chip_pending_irq(&p->c[1], false) >= 0;
    struct pic_chip *m = &p->c[0];
    if (slave_out) m->irr |= 1u << 2;
    else m->irr &= ~(1u << 2);
    bool out = chip_pending_irq(m, true) >= 0;
    if (out != p->output) {
        p->output = out;
        if (p->set_output) p->set_output(p->opaque, out);
    }
}

static void chip_reset(struct pic_chip *c)
{
    uint8_t elcr = c->elcr, mask = c->elcr_mask;
    *c = (struct pic_chip){ 0 };
    c->elcr = elcr;
    c->elcr_mask = mask;
}

void pic_init(struct pic *p, void (*set_output)(void *, bool), void *opaque)
{
    *p = (struct pic){ 0 };
    p->c[0].elcr_mask = 0xf8; /* IRQ 0-2 are always edge */
    p->c[1].elcr_mask = 0xde; /* IRQ 8 and 13 are always edge */
    chip_reset(&p->c[0]);
    chip_reset(&p->c[1]);
    p->set_output = set_output;
    p->opaque = opaque;
}

static bool chip_level_triggered(const struct pic_chip *c, int irq)
{
    return c->ltim || (c->elcr & (1u << irq));
}

void pic_set_irq(struct pic *p, int irq, bool level)
{
    if (irq < 0 || irq > 15) return;
    struct pic_chip *c = &p->c[irq >> 3];
    uint8_t bit = 1u << (irq & 7);
    if (chip_level_triggered(c, irq & 7)) {
        if (level) c->irr |= bit;
        else c->irr &= ~bit;
    } else if (level && !(c->last_level & bit)) {
        c->irr |= bit; /* rising edge latches the request */
    }
    if (level) c->last_level |= bit;
    else c->last_level &= ~bit;
    update(p);
}

bool pic_pending(const struct pic *p)
{
    return p->output;
}

/* Acknowledge irq on chip c: move it from IRR to ISR (unless AEOI). */
static void chip_ack(struct pic_chip *c, int irq)
{
    uint8_t bit = 1u << irq;
    if (c->auto_eoi) {
        if (c->rotate_aeoi) c->prio_add = (irq + 1) & 7;
    } else {
        c->isr |= bit;
    }
    /* An edge-triggered request is consumed; a level one stays while the line is high. */
    if (!chip_level_triggered(c, irq)) c->irr &= ~bit;
}

int pic_intack(struct pic *p)
{
    struct pic_chip *m = &p->c[0], *s = &p->c[1];
    int vec;
    int irq = chip_pending_irq(m, true);
    if (irq < 0) {
        p->spurious++;
        vec = m->base | 7; /* spurious IRQ 7: no ISR bit set */
    } else if (irq == 2 && !m->single) {
        chip_ack(m, 2);
        int sirq = chip_pending_irq(s, false);
        if (sirq < 0) {
            p->spurious++;
            vec = s->base | 7; /* spurious IRQ 15: the master's ISR bit 2 stays set */
        } else {
            chip_ack(s, sirq);
            vec = s->base | sirq;
        }
    } else {
        chip_ack(m, irq);
        vec = m->base | irq;
    }
    update(p);
    return vec;
}

static void write_ocw2(struct pic_chip *c, uint8_t val)
{
    int level = val & 7;
    switch (val >> 5) {
    case 0: c->rotate_aeoi = false; break;        /* clear rotate in AEOI mode */
    case 4: c->rotate_aeoi = true; break;         /* set rotate in AEOI mode */
    case 1:                                       /* non-specific EOI */
    case 5: {                                     /* rotate on non-specific EOI */
        int pr = best_priority(c, c->isr);
        if (pr == 8) break;
        int irq = (pr + c->prio_add) & 7;
        c->isr &= ~(1u << irq);
        if (val >> 5 == 5) c->prio_add = (irq + 1) & 7;
        break;
    }
    case 3: c->isr &= ~(1u << level); break;      /* specific EOI */
    case 7:                                       /* rotate on specific EOI */
        c->isr &= ~(1u << level);
        c->prio_add = (level + 1) & 7;
        break;
    case 6: c->prio_add = (level + 1) & 7; break; /* set priority: level becomes lowest */
    default: break;                               /* 2: no operation */
    }
}

/* Poll command: acknowledge the highest request and return it with bit 7 set. */
static uint8_t poll_read(struct pic *p, int chip)
{
    struct pic_chip *c = &p->c[chip];
    c->poll = false;
    int irq = chip_pending_irq(c, chip == 0);
    if (irq < 0) return 0;
    chip_ack(c, irq);
    update(p);
    return 0x80 | (uint8_t)irq;
}

uint8_t pic_read(struct pic *p, int chip, int addr)
{
    struct pic_chip *c = &p->c[chip];
    if (c->poll) return poll_read(p, chip);
    if (addr == 1) return c->imr;
    return c->read_isr ? c->isr : c->irr;
}

void pic_write(struct pic *p, int chip, int addr, uint8_t val)
{
    struct pic_chip *c = &p->c[chip];
    if (addr == 0) {
        if (val & 0x10) {                         /* ICW1: start initialisation */
            chip_reset(c);
            c->init_step = 1;
            c->icw4_needed = val & 1;
            c->single = val & 2;
            c->ltim = val & 8;
        } else if (val & 0x08) {                  /* OCW3 */
            if (val & 4) c->poll = true;
            if (val & 2) c->read_isr = val & 1;
            if (val & 0x40) c->special_mask = (val & 0x20) != 0;
        } else {                                  /* OCW2 */
            write_ocw2(c, val);
        }
    } else {
        switch (c->init_step) {
        case 0: c->imr = val; break;              /* OCW1 */
        case 1:                                   /* ICW2: vector base */
            c->base = val & 0xf8;
            c->init_step = c->single ? (c->icw4_needed ? 3 : 0) : 2;
            break;
        case 2:                                   /* ICW3: cascade wiring */
            c->icw3 = val;
            c->init_step = c->icw4_needed ? 3 : 0;
            break;
        default:                                  /* ICW4 */
            c->auto_eoi = val & 2;
            c->sfnm = val & 0x10;
            c->init_step = 0;
            break;
        }
    }
    update(p);
}

static uint32_t pic_io_read(void *opaque, uint16_t port, int size)
{
    (void)size;
    struct pic *p = opaque;
    if (port == 0x4d0 || port == 0x4d1) return p->c[port & 1].elcr;
    return pic_read(p, port >= 0xa0, port & 1);
}

static void pic_io_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)size;
    struct pic *p = opaque;
    if (port == 0x4d0 || port == 0x4d1) {
        struct pic_chip *c = &p->c[port & 1];
        c->elcr = (uint8_t)val & c->elcr_mask;
        update(p);
        return;
    }
    pic_write(p, port >= 0xa0, port & 1, (uint8_t)val);
}

int pic_register(struct pic *p, struct iobus *bus)
{
    if (iobus_register(bus, 0x20, 2, pic_io_read, pic_io_write, p, "pic-master") ||
        iobus_register(bus, 0xa0, 2, pic_io_read, pic_io_write, p, "pic-slave") ||
        iobus_register(bus, 0x4d0, 2, pic_io_read, pic_io_write, p, "elcr"))
        return -1;
    return 0;
}
