/* The 8259A programmable interrupt controller pair of the PC: master at
 * 0x20/0x21 (IRQ 0-7), slave at 0xa0/0xa1 (IRQ 8-15) cascaded on IRQ 2, and
 * the edge/level control registers at 0x4d0/0x4d1 (ELCR). */
#ifndef BT86_DEVICES_PIC8259_H
#define BT86_DEVICES_PIC8259_H

#include <stdbool.h>
#include <stdint.h>

struct iobus;

struct pic_chip {
    uint8_t irr, isr, imr;
    uint8_t last_level;   /* input line levels, for edge detection */
    uint8_t elcr, elcr_mask;
    uint8_t base;         /* ICW2 & 0xf8 */
    uint8_t prio_add;     /* IRQ number with the highest priority (rotation) */
    uint8_t init_step;    /* 0 = operational; 1..3 = expecting ICW2..ICW4 */
    uint8_t icw3;
    bool icw4_needed, single, ltim, auto_eoi, rotate_aeoi, sfnm;
    bool read_isr, poll, special_mask;
};

struct pic {
    struct pic_chip c[2];  /* 0 master, 1 slave */
    bool output;           /* INTR line to the CPU */
    void (*set_output)(void *opaque, bool level);
    void *opaque;
    uint64_t spurious;     /* statistics: spurious IRQ 7 / 15 */
};

void pic_init(struct pic *p, void (*set_output)(void *, bool), void *opaque);
int  pic_register(struct pic *p, struct iobus *bus);
/* Drive input line irq (0-15) to level. */
void pic_set_irq(struct pic *p, int irq, bool level);
/* Is INTR asserted? */
bool pic_pending(const struct pic *p);
/* Interrupt acknowledge cycle: returns the vector (spurious IRQ 7/15 when
 * nothing is pending any more). */
int  pic_intack(struct pic *p);

/* Register access, for the bus and for tests: chip 0/1, addr 0/1. */
uint8_t pic_read(struct pic *p, int chip, int addr);
void    pic_write(struct pic *p, int chip, int addr, uint8_t val);

#endif
