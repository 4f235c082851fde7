/* The I/O APIC (Intel 82093AA): 24 interrupt inputs, each with a 64-bit
 * redirection entry that turns it into a message to local APICs (vector,
 * delivery mode, destination). Registered by the board at IOAPIC_BASE_DEFAULT;
 * IOREGSEL at +0x00 selects a register, IOWIN at +0x10 reads/writes it.
 *
 * Inputs are logical levels (true = asserted): the polarity bit is stored for
 * the guest but not applied, since the board drives asserted/deasserted.
 * Edge-triggered pins send one message per rising edge while unmasked (an
 * edge on a masked pin is lost). Level-triggered pins send a message while
 * asserted with remote IRR clear, set remote IRR, and wait for the EOI of
 * that vector (ioapic_eoi, from the local APIC's eoi callback). */
#ifndef BT86_DEVICES_IOAPIC_H
#define BT86_DEVICES_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct mmio_region;

#define IOAPIC_BASE_DEFAULT 0xfec00000u
#define IOAPIC_MMIO_SIZE    0x1000u
#define IOAPIC_NPINS        24
#define IOAPIC_VERSION      0x00170011u /* version 0x11, max redirection entry 23 */

/* Register indices (through IOREGSEL). */
enum { IOAPIC_REG_ID = 0x00, IOAPIC_REG_VERSION = 0x01, IOAPIC_REG_ARB = 0x02, IOAPIC_REG_REDTBL = 0x10 };
/* MMIO offsets. */
enum { IOAPIC_IOREGSEL = 0x00, IOAPIC_IOWIN = 0x10 };

/* Redirection entry bits (low dword; the destination is bits 56-63). */
#define IOAPIC_RTE_DEST_LOGICAL 0x00000800u
#define IOAPIC_RTE_DELIVS       0x00001000u /* delivery status: always idle here */
#define IOAPIC_RTE_ACTIVE_LOW   0x00002000u
#define IOAPIC_RTE_REMOTE_IRR   0x00004000u
#define IOAPIC_RTE_LEVEL        0x00008000u
#define IOAPIC_RTE_MASKED       0x00010000u

/* Sends one interrupt message: dest (8 bits), dest_mode (0 physical, 1
 * logical), delivery_mode (APIC_DM_*), vector, level (trigger mode is level).
 * lapic_route (devices/lapic.h) does the rest given the board's APIC list. */
typedef void (*ioapic_deliver_fn)(void *opaque, int dest, int dest_mode, int delivery_mode, int vector, bool level);

struct ioapic {
    uint8_t id;               /* 4-bit I/O APIC ID (bits 24-27 of register 0) */
    uint8_t regsel;           /* IOREGSEL */
    uint64_t redir[IOAPIC_NPINS];
    uint32_t level;           /* input lines asserted, one bit per pin */
    ioapic_deliver_fn deliver;
    void *opaque;
    uint64_t messages;        /* statistics: messages sent */
};

/* Reset state: every entry masked, edge, fixed, physical destination 0. The
 * ID should match the MP table's I/O APIC entry (frontend/mptable.h). */
void ioapic_init(struct ioapic *io, uint8_t id, ioapic_deliver_fn deliver, void *opaque);
void ioapic_reset(struct ioapic *io);
/* Drive input `pin` (0-23; others are ignored) to `level`. */
void ioapic_set_irq(struct ioapic *io, int pin, bool level);
/* EOI broadcast from a local APIC: clear remote IRR of the level-triggered
 * entries with this vector, and resend those whose input is still asserted. */
void ioapic_eoi(struct ioapic *io, int vector);

/* MMIO (offset 0-0xfff; any size, taken as part of the containing 32-bit
 * register; offsets other than IOREGSEL and IOWIN read 0). */
uint32_t ioapic_mmio_read(struct ioapic *io, uint32_t offset, int size);
void     ioapic_mmio_write(struct ioapic *io, uint32_t offset, uint32_t val, int size);
/* Register access by index, as through IOREGSEL/IOWIN. */
uint32_t ioapic_read_reg(struct ioapic *io, uint8_t reg);
void     ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t val);
/* An MMIO region at IOAPIC_BASE_DEFAULT with callbacks to this I/O APIC. */
void ioapic_region(struct ioapic *io, struct mmio_region *r);

#endif
