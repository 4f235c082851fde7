/* The post-BIOS machine state (frontend/bios_entry.h). The devices are set up
 * by writing their ports, exactly as POST code would, so their models need
 * no special entry points. */
#include "frontend/bios_entry.h"

#include <string.h>

#include "cpu/machine.h"
#include "frontend/bios_data.h"
#include "frontend/memmap.h"
#include "memory/phys.h"

_Static_assert(BIOS_STUBS_ADDR >= FIRMWARE_AREA_BASE && BIOS_STUBS_ADDR + BIOS_STUBS_MAX <= FIRMWARE_AREA_END &&
               (BIOS_STUBS_ADDR >> 4) >= BIOS_SEG && BIOS_STUBS_ADDR + BIOS_STUBS_MAX <= (BIOS_SEG << 4) + 0x10000u,
               "BIOS stubs outside the reserved firmware area or the F000 segment");

/* Stub layout from BIOS_STUBS_ADDR: the plain IRET at 0, IRQ n (1..15) at
 * 16 * n, IRQ 0 (the longer timer stub) at 0x100. */
#define STUB_IRET 0x000u
#define STUB_IRQ0 0x100u

uint16_t bios_stub_iret(void) { return (uint16_t)((BIOS_STUBS_ADDR & 0xffffu) + STUB_IRET); }

uint16_t bios_stub_irq(int irq)
{
    uint32_t off = irq == 0 ? STUB_IRQ0 : 16u * (uint32_t)(irq & 15);
    return (uint16_t)((BIOS_STUBS_ADDR & 0xffffu) + off);
}

/* 16-bit code of the stubs. */
static const uint8_t irq0_stub[] = {
    0x1e,                         /* push ds */
    0x50,                         /* push ax */
    0x31, 0xc0,                   /* xor ax, ax */
    0x8e, 0xd8,                   /* mov ds, ax */
    0x83, 0x06, 0x6c, 0x04, 0x01, /* add word [0x46c], 1 */
    0x83, 0x16, 0x6e, 0x04, 0x00, /* adc word [0x46e], 0 */
    0xcd, 0x1c,                   /* int 0x1c (the user timer hook) */
    0xb0, 0x20,                   /* mov al, 0x20 (non-specific EOI) */
    0xe6, 0x20,                   /* out 0x20, al */
    0x58,                         /* pop ax */
    0x1f,                         /* pop ds */
    0xcf,                         /* iret */
};
static const uint8_t master_stub[] = {
    0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf,             /* push ax; EOI master; pop ax; iret */
};
/* IRQ 8 also reads RTC register C, as a BIOS does: the RTC raises no
 * further interrupt until its flags are read. */
static const uint8_t rtc_stub[] = {
    0x50,                         /* push ax */
    0xb0, 0x0c, 0xe6, 0x70,       /* mov al, 0x0c; out 0x70, al */
    0xe4, 0x71,                   /* in al, 0x71 */
    0xb0, 0x20, 0xe6, 0xa0,       /* mov al, 0x20; out 0xa0, al */
    0xe6, 0x20,                   /* out 0x20, al */
    0x58, 0xcf,                   /* pop ax; iret */
};
static const uint8_t slave_stub[] = {
    0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf, /* push ax; EOI slave, master; pop ax; iret */
};

static void write_stubs_and_ivt(struct phys_mem *pm)
{
    uint8_t stubs[BIOS_STUBS_MAX];
    memset(stubs, 0xcf, sizeof(stubs)); /* IRET filler */
    memcpy(stubs + STUB_IRQ0, irq0_stub, sizeof(irq0_stub));
    for (int irq = 1; irq < 16; irq++) {
        if (irq < 8) memcpy(stubs + 16 * irq, master_stub, sizeof(master_stub));
        else if (irq == 8) memcpy(stubs + 16 * irq, rtc_stub, sizeof(rtc_stub));
        else memcpy(stubs + 16 * irq, slave_stub, sizeof(slave_stub));
    }
    phys_copy_in(pm, BIOS_STUBS_ADDR, stubs, sizeof(stubs));

    uint8_t ivt[256 * 4];
    for (int vec = 0; vec < 256; vec++) {
        uint16_t off = bios_stub_iret();
        if (vec >= BIOS_PIC_MASTER_BASE && vec < BIOS_PIC_MASTER_BASE + 8) off = bios_stub_irq(vec - BIOS_PIC_MASTER_BASE);
        if (vec >= BIOS_PIC_SLAVE_BASE && vec < BIOS_PIC_SLAVE_BASE + 8) off = bios_stub_irq(8 + vec - BIOS_PIC_SLAVE_BASE);
        ivt[4 * vec + 0] = (uint8_t)off;
        ivt[4 * vec + 1] = (uint8_t)(off >> 8);
        ivt[4 * vec + 2] = (uint8_t)BIOS_SEG;
        ivt[4 * vec + 3] = (uint8_t)(BIOS_SEG >> 8);
    }
    phys_copy_in(pm, 0, ivt, sizeof(ivt));
}

static void outb(struct machine *m, uint16_t port, uint8_t v) { iobus_out(&m->io, port, v, 1); }

void bios_entry_setup(struct machine *m)
{
    /* 8259 pair: edge triggered, cascade, ICW4 (8086 mode) */
    outb(m, 0x20, 0x11);
    outb(m, 0x21, BIOS_PIC_MASTER_BASE);
    outb(m, 0x21, 0x04);          /* slave on IRQ 2 */
    outb(m, 0x21, 0x01);
    outb(m, 0xa0, 0x11);
    outb(m, 0xa1, BIOS_PIC_SLAVE_BASE);
    outb(m, 0xa1, 0x02);          /* cascade identity 2 */
    outb(m, 0xa1, 0x01);
    outb(m, 0x21, BIOS_PIC_MASTER_MASK);
    outb(m, 0xa1, BIOS_PIC_SLAVE_MASK);
    /* PIT channel 0: LSB then MSB, binary, count 0 = 65536 */
    outb(m, 0x43, (uint8_t)(0x30 | BIOS_PIT_MODE << 1));
    outb(m, 0x40, 0);
    outb(m, 0x40, 0);
    /* RTC: 32.768 kHz time base, 1024 Hz periodic rate, 24-hour mode; flags
     * read (cleared), as SeaBIOS's POST leaves it. */
    outb(m, 0x70, 0x0a);
    outb(m, 0x71, 0x26);
    outb(m, 0x70, 0x0b);
    uint8_t b = (uint8_t)iobus_in(&m->io, 0x71, 1);
    outb(m, 0x70, 0x0b);
    outb(m, 0x71, (uint8_t)((b & ~0x01u) | 0x02u)); /* no DST, 24-hour */
    outb(m, 0x70, 0x0c);
    (void)iobus_in(&m->io, 0x71, 1);
    outb(m, 0x70, 0x0d);
    (void)iobus_in(&m->io, 0x71, 1);

    write_stubs_and_ivt(&m->mem);
    bios_data_area_fill(&m->mem);
    uint8_t zero[4] = { 0, 0, 0, 0 };
    phys_copy_in(&m->mem, BIOS_TICKS_ADDR, zero, sizeof(zero));
}
