/* The I/O APIC (devices/ioapic.h), after the 82093AA data sheet: ID,
 * version and arbitration registers, 24 redirection entries, edge and
 * level inputs with remote IRR. */
#include "devices/ioapic.h"

#include "memory/phys.h"

#define RTE_LO_MASK 0x0001afffu /* vector, delivery mode, dest mode, polarity, trigger, mask */
#define RTE_HI_MASK 0xff000000u /* destination */

static bool masked(uint64_t e) { return (e & IOAPIC_RTE_MASKED) != 0; }
static bool level_triggered(uint64_t e) { return (e & IOAPIC_RTE_LEVEL) != 0; }

static void send(struct ioapic *io, int pin)
{
    uint64_t e = io->redir[pin];
    io->messages++;
    if (io->deliver)
        io->deliver(io->opaque, (int)(e >> 56), (e & IOAPIC_RTE_DEST_LOGICAL) ? 1 : 0, (int)(e >> 8) & 7,
                    (int)(e & 0xff), level_triggered(e));
}

/* Send a level-triggered pin's message if it is asserted, unmasked and not
 * waiting for an EOI. Remote IRR is set before sending: the message may be
 * accepted and EOI'd before deliver returns. */
static void service_level(struct ioapic *io, int pin)
{
    uint64_t e = io->redir[pin];
    if (!level_triggered(e) || masked(e) || !((io->level >> pin) & 1) || (e & IOAPIC_RTE_REMOTE_IRR)) return;
    io->redir[pin] |= IOAPIC_RTE_REMOTE_IRR;
    send(io, pin);
}

void ioapic_set_irq(struct ioapic *io, int pin, bool level)
{
    if (pin < 0 || pin >= IOAPIC_NPINS) return;
    uint32_t bit = 1u << pin;
    bool was = (io->level & bit) != 0;
    if (level) io->level |= bit;
    else io->level &= ~bit;
    uint64_t e = io->redir[pin];
    if (level_triggered(e)) service_level(io, pin);
    else if (level && !was && !masked(e)) send(io, pin);
}

void ioapic_eoi(struct ioapic *io, int vector)
{
    for (int pin = 0; pin < IOAPIC_NPINS; pin++) {
        uint64_t e = io->redir[pin];
        if (!level_triggered(e) || !(e & IOAPIC_RTE_REMOTE_IRR) || (int)(e & 0xff) != vector) continue;
        io->redir[pin] &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
        service_level(io, pin);
    }
}

uint32_t ioapic_read_reg(struct ioapic *io, uint8_t reg)
{
    switch (reg) {
    case IOAPIC_REG_ID: return (uint32_t)(io->id & 0xf) << 24;
    case IOAPIC_REG_VERSION: return IOAPIC_VERSION;
    case IOAPIC_REG_ARB: return (uint32_t)(io->id & 0xf) << 24; /* arbitration ID follows the ID */
    default:
        if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_NPINS) {
            uint64_t e = io->redir[(reg - IOAPIC_REG_REDTBL) >> 1];
            return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
        }
        return 0;
    }
}

void ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t val)
{
    if (reg == IOAPIC_REG_ID) {
        io->id = (uint8_t)((val >> 24) & 0xf);
        return;
    }
    if (reg < IOAPIC_REG_REDTBL || reg >= IOAPIC_REG_REDTBL + 2 * IOAPIC_NPINS) return; /* read-only or absent */
    int pin = (reg - IOAPIC_REG_REDTBL) >> 1;
    uint64_t e = io->redir[pin];
    if (reg & 1) {
        e = (e & 0xffffffffull) | ((uint64_t)(val & RTE_HI_MASK) << 32);
    } else {
        uint32_t lo = (val & RTE_LO_MASK) | ((uint32_t)e & IOAPIC_RTE_REMOTE_IRR);
        if (!(lo & IOAPIC_RTE_LEVEL)) lo &= ~IOAPIC_RTE_REMOTE_IRR; /* edge entries have no remote IRR */
        e = (e & ~0xffffffffull) | lo;
    }
    io->redir[pin] = e;
    /* Unmasking (or switching to level) a pin whose level input is high sends it. */
    service_level(io, pin);
}

static uint32_t size_mask(int size)
{
    return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu;
}

uint32_t ioapic_mmio_read(struct ioapic *io, uint32_t offset, int size)
{
    offset &= IOAPIC_MMIO_SIZE - 1;
    unsigned sub = offset & 0xf;
    if (sub >= 4) return 0;
    uint32_t v;
    switch (offset & ~0xfu) {
    case IOAPIC_IOREGSEL: v = io->regsel; break;
    case IOAPIC_IOWIN: v = ioapic_read_reg(io, io->regsel); break;
    default: return 0;
    }
    return (v >> (8 * sub)) & size_mask(size);
}

void ioapic_mmio_write(struct ioapic *io, uint32_t offset, uint32_t val, int size)
{
    offset &= IOAPIC_MMIO_SIZE - 1;
    unsigned sub = offset & 0xf;
    if (sub >= 4) return;
    uint32_t v = (val & size_mask(size)) << (8 * sub);
    switch (offset & ~0xfu) {
    case IOAPIC_IOREGSEL: io->regsel = (uint8_t)v; break;
    case IOAPIC_IOWIN: ioapic_write_reg(io, io->regsel, v); break;
    default: break;
    }
}

static uint32_t region_read(void *opaque, uint32_t offset, int size) { return ioapic_mmio_read(opaque, offset, size); }
static void region_write(void *opaque, uint32_t offset, uint32_t val, int size)
{
    ioapic_mmio_write(opaque, offset, val, size);
}

void ioapic_region(struct ioapic *io, struct mmio_region *r)
{
    *r = (struct mmio_region){
        .base = IOAPIC_BASE_DEFAULT, .size = IOAPIC_MMIO_SIZE,
        .read = region_read, .write = region_write, .opaque = io, .name = "ioapic",
    };
}

void ioapic_reset(struct ioapic *io)
{
    io->regsel = 0;
    for (int i = 0; i < IOAPIC_NPINS; i++) io->redir[i] = IOAPIC_RTE_MASKED;
}

void ioapic_init(struct ioapic *io, uint8_t id, ioapic_deliver_fn deliver, void *opaque)
{
    *io = (struct ioapic){ 0 };
    io->id = id & 0xf;
    io->deliver = deliver;
    io->opaque = opaque;
    ioapic_reset(io);
}
