/* I/O APIC: registers through IOREGSEL/IOWIN, redirection programming,
 * masking, edge vs level inputs with remote IRR and EOI, and the path through
 * a local APIC and back. */
#include <criterion/criterion.h>

#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "memory/phys.h"

struct msg { int dest, dest_mode, dm, vector; bool level; };
static struct msg msgs[16];
static int nmsgs;

static void on_deliver(void *opaque, int dest, int dest_mode, int dm, int vector, bool level)
{
    (void)opaque;
    if (nmsgs < 16) msgs[nmsgs] = (struct msg){ dest, dest_mode, dm, vector, level };
    nmsgs++;
}

static void setup(struct ioapic *io)
{
    nmsgs = 0;
    ioapic_init(io, 2, on_deliver, NULL);
}

/* Through the MMIO window, as a guest does. */
static uint32_t reg_rd(struct ioapic *io, uint8_t reg)
{
    ioapic_mmio_write(io, IOAPIC_IOREGSEL, reg, 4);
    return ioapic_mmio_read(io, IOAPIC_IOWIN, 4);
}
static void reg_wr(struct ioapic *io, uint8_t reg, uint32_t v)
{
    ioapic_mmio_write(io, IOAPIC_IOREGSEL, reg, 4);
    ioapic_mmio_write(io, IOAPIC_IOWIN, v, 4);
}
static void program(struct ioapic *io, int pin, uint32_t lo, uint8_t dest)
{
    reg_wr(io, (uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
    reg_wr(io, (uint8_t)(0x10 + 2 * pin), lo);
}

Test(ioapic, identification_registers)
{
    struct ioapic io;
    setup(&io);
    cr_assert_eq(reg_rd(&io, 0), 0x02000000u);
    cr_assert_eq(reg_rd(&io, 1), 0x00170011u);
    cr_assert_eq(reg_rd(&io, 2), 0x02000000u);
    reg_wr(&io, 0, 0xffffffff);
    cr_assert_eq(reg_rd(&io, 0), 0x0f000000u);   /* 4-bit ID */
    cr_assert_eq(reg_rd(&io, 2), 0x0f000000u);
    reg_wr(&io, 1, 0);
    reg_wr(&io, 2, 0);
    cr_assert_eq(reg_rd(&io, 1), 0x00170011u);
    cr_assert_eq(reg_rd(&io, 2), 0x0f000000u);
    cr_assert_eq(reg_rd(&io, 3), 0);
    cr_assert_eq(reg_rd(&io, 0x40), 0);          /* past the last entry (0x3f) */
    cr_assert_eq(reg_rd(&io, 0xff), 0);
}

Test(ioapic, ioregsel_and_window_offsets)
{
    struct ioapic io;
    setup(&io);
    ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 0x1234, 1); /* a byte write */
    cr_assert_eq(ioapic_mmio_read(&io, IOAPIC_IOREGSEL, 4), 0x34);
    ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 0x01, 4);
    cr_assert_eq(ioapic_mmio_read(&io, IOAPIC_IOWIN, 4), 0x00170011u);
    cr_assert_eq(ioapic_mmio_read(&io, IOAPIC_IOWIN + 2, 2), 0x0017);
    cr_assert_eq(ioapic_mmio_read(&io, IOAPIC_IOWIN, 1), 0x11);
    cr_assert_eq(ioapic_mmio_read(&io, 0x20, 4), 0);  /* nothing else in the window */
    cr_assert_eq(ioapic_mmio_read(&io, 0x40, 4), 0);
    ioapic_mmio_write(&io, 0x20, 0xffffffff, 4);
    cr_assert_eq(ioapic_mmio_read(&io, IOAPIC_IOREGSEL, 4), 0x01);
    struct mmio_region r;
    ioapic_region(&io, &r);
    cr_assert_eq(r.base, 0xfec00000u);
    cr_assert_eq(r.size, 0x1000u);
    r.write(r.opaque, IOAPIC_IOREGSEL, 0, 4);
    cr_assert_eq(r.read(r.opaque, IOAPIC_IOWIN, 4), 0x02000000u);
}

Test(ioapic, redirection_entries)
{
    struct ioapic io;
    setup(&io);
    for (int pin = 0; pin < IOAPIC_NPINS; pin++) {
        cr_assert_eq(reg_rd(&io, (uint8_t)(0x10 + 2 * pin)), 0x00010000u, "pin %d", pin);
        cr_assert_eq(reg_rd(&io, (uint8_t)(0x11 + 2 * pin)), 0, "pin %d", pin);
    }
    reg_wr(&io, 0x10 + 2 * 5, 0xffffffff);
    cr_assert_eq(reg_rd(&io, 0x10 + 2 * 5), 0x0001afffu); /* delivery status, remote IRR read-only */
    reg_wr(&io, 0x11 + 2 * 5, 0xffffffff);
    cr_assert_eq(reg_rd(&io, 0x11 + 2 * 5), 0xff000000u);
    cr_assert_eq(io.redir[5], 0xff0000000001afffull);
    reg_wr(&io, 0x3f, 0x12000000);                        /* pin 23's destination */
    cr_assert_eq(reg_rd(&io, 0x3f), 0x12000000u);
    cr_assert_eq(reg_rd(&io, 0x3e), 0x00010000u);
    cr_assert_eq(nmsgs, 0);
}

Test(ioapic, edge_pins_send_on_rising_edges)
{
    struct ioapic io;
    setup(&io);
    program(&io, 4, 0x00000134, 3);                       /* vector 0x34, lowest priority, physical */
    ioapic_set_irq(&io, 4, true);
    cr_assert_eq(nmsgs, 1);
    cr_assert_eq(msgs[0].dest, 3);
    cr_assert_eq(msgs[0].dest_mode, 0);
    cr_assert_eq(msgs[0].dm, APIC_DM_LOWEST);
    cr_assert_eq(msgs[0].vector, 0x34);
    cr_assert_not(msgs[0].level);
    ioapic_set_irq(&io, 4, true);                         /* no edge */
    cr_assert_eq(nmsgs, 1);
    ioapic_set_irq(&io, 4, false);
    cr_assert_eq(nmsgs, 1);
    ioapic_set_irq(&io, 4, true);
    cr_assert_eq(nmsgs, 2);
    cr_assert_eq(reg_rd(&io, 0x18), 0x00000134u);         /* no remote IRR for edge */
    /* Masked: the edge is lost, unmasking does not replay it. */
    ioapic_set_irq(&io, 4, false);
    reg_wr(&io, 0x18, 0x00010134);
    ioapic_set_irq(&io, 4, true);
    reg_wr(&io, 0x18, 0x00000134);
    cr_assert_eq(nmsgs, 2);
    /* Other pins and out-of-range pins do nothing. */
    ioapic_set_irq(&io, 5, true);
    ioapic_set_irq(&io, 24, true);
    ioapic_set_irq(&io, -1, true);
    cr_assert_eq(nmsgs, 2);
    cr_assert_eq(io.messages, 2);
}

Test(ioapic, level_pins_wait_for_eoi)
{
    struct ioapic io;
    setup(&io);
    program(&io, 9, 0x0000a849, 0x01);                    /* level, logical, fixed, vector 0x49 */
    ioapic_set_irq(&io, 9, true);
    cr_assert_eq(nmsgs, 1);
    cr_assert_eq(msgs[0].dest, 1);
    cr_assert_eq(msgs[0].dest_mode, 1);
    cr_assert_eq(msgs[0].dm, APIC_DM_FIXED);
    cr_assert_eq(msgs[0].vector, 0x49);
    cr_assert(msgs[0].level);
    cr_assert_eq(reg_rd(&io, 0x22), 0x0000e849u);         /* remote IRR set */
    ioapic_set_irq(&io, 9, true);
    cr_assert_eq(nmsgs, 1);
    ioapic_eoi(&io, 0x48);                                /* another vector */
    cr_assert_eq(nmsgs, 1);
    ioapic_eoi(&io, 0x49);                                /* still asserted: again */
    cr_assert_eq(nmsgs, 2);
    cr_assert_eq(reg_rd(&io, 0x22), 0x0000e849u);
    ioapic_set_irq(&io, 9, false);
    ioapic_eoi(&io, 0x49);
    cr_assert_eq(nmsgs, 2);
    cr_assert_eq(reg_rd(&io, 0x22), 0x0000a849u);
    /* A guest write cannot set or clear remote IRR... */
    ioapic_set_irq(&io, 9, true);
    cr_assert_eq(nmsgs, 3);
    reg_wr(&io, 0x22, 0x0000a849);
    cr_assert_eq(reg_rd(&io, 0x22), 0x0000e849u);
    /* ...but switching the entry to edge clears it. */
    reg_wr(&io, 0x22, 0x00002849);
    cr_assert_eq(reg_rd(&io, 0x22), 0x00002849u);
    cr_assert_eq(nmsgs, 3);
}

Test(ioapic, unmasking_an_asserted_level_pin_sends_it)
{
    struct ioapic io;
    setup(&io);
    program(&io, 11, 0x0001a05b, 0);                      /* level, active low, masked */
    ioapic_set_irq(&io, 11, true);
    cr_assert_eq(nmsgs, 0);
    reg_wr(&io, 0x10 + 2 * 11, 0x0000a05b);
    cr_assert_eq(nmsgs, 1);
    cr_assert_eq(msgs[0].vector, 0x5b);
    /* Masking does not clear remote IRR; the EOI still does. */
    reg_wr(&io, 0x10 + 2 * 11, 0x0001a05b);
    cr_assert_eq(reg_rd(&io, 0x10 + 2 * 11), 0x0001e05bu);
    ioapic_eoi(&io, 0x5b);
    cr_assert_eq(reg_rd(&io, 0x10 + 2 * 11), 0x0001a05bu);
    cr_assert_eq(nmsgs, 1);
}

/* ---- with a local APIC ---- */

static struct lapic *the_apic;
static struct ioapic *the_ioapic;
static void route(void *opaque, int dest, int dest_mode, int dm, int vector, bool level)
{
    (void)opaque;
    struct lapic *const list[1] = { the_apic };
    lapic_route(list, 1, dest, dest_mode, dm, vector, level);
}
static void to_ioapic(void *opaque, int vector) { (void)opaque; ioapic_eoi(the_ioapic, vector); }

Test(ioapic, level_interrupt_round_trip_through_the_local_apic)
{
    static uint64_t icount;
    struct vclock c;
    struct lapic l;
    struct ioapic io;
    vclock_init(&c, true, 0, &icount);
    cr_assert_eq(lapic_init(&l, &c, 0, NULL, NULL), 0);
    lapic_set_callbacks(&l, NULL, to_ioapic);
    lapic_mmio_write(&l, LAPIC_REG_SVR, 0x1ff, 4);
    ioapic_init(&io, 1, route, NULL);
    the_apic = &l;
    the_ioapic = &io;
    program(&io, 10, 0x0000806a, 0);                      /* level, physical APIC 0, vector 0x6a */
    program(&io, 1, 0x00000031, 0);                       /* edge, vector 0x31 */
    ioapic_set_irq(&io, 10, true);
    ioapic_set_irq(&io, 1, true);
    cr_assert_eq(lapic_has_interrupt(&l), 0x6a);
    cr_assert_eq(lapic_ack(&l), 0x6a);
    cr_assert_eq(reg_rd(&io, 0x24) & IOAPIC_RTE_REMOTE_IRR, IOAPIC_RTE_REMOTE_IRR);
    ioapic_set_irq(&io, 10, false);                       /* the handler quiets the device */
    lapic_mmio_write(&l, LAPIC_REG_EOI, 0, 4);
    cr_assert_eq(reg_rd(&io, 0x24) & IOAPIC_RTE_REMOTE_IRR, 0);
    cr_assert_eq(lapic_ack(&l), 0x31);
    lapic_mmio_write(&l, LAPIC_REG_EOI, 0, 4);
    cr_assert_eq(lapic_has_interrupt(&l), -1);
    /* Still asserted at EOI: delivered again. */
    ioapic_set_irq(&io, 10, true);
    cr_assert_eq(lapic_ack(&l), 0x6a);
    lapic_mmio_write(&l, LAPIC_REG_EOI, 0, 4);
    cr_assert_eq(lapic_has_interrupt(&l), 0x6a);
    /* A message to another APIC ID is not accepted here. */
    ioapic_set_irq(&io, 1, false);
    program(&io, 1, 0x00000032, 5);
    ioapic_set_irq(&io, 1, true);
    cr_assert_eq(lapic_ack(&l), 0x6a);
    lapic_mmio_write(&l, LAPIC_REG_EOI, 0, 4);
    ioapic_set_irq(&io, 10, false);
    cr_assert_eq(lapic_ack(&l), 0x6a);                    /* the redelivery from the EOI above */
    lapic_mmio_write(&l, LAPIC_REG_EOI, 0, 4);
    cr_assert_eq(lapic_has_interrupt(&l), -1);
}
