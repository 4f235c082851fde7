/* The machine state a PC BIOS leaves behind, for the boot paths where bt86
 * stands in for the BIOS (-kernel): both 8259s initialised (vectors 0x08 and
 * 0x70, the slave cascaded on IRQ 2, masks as SeaBIOS leaves them under
 * QEMU), PIT channel 0 in mode 2 with count 0 (65536: 18.2 Hz, so IRQ 0
 * ticks as after POST), the RTC's register A written (0x26: its periodic
 * interrupt runs at 1024 Hz once a guest sets PIE), a real-mode IVT whose IRQ vectors (0x08-0x0F,
 * 0x70-0x77) point at small stubs in the F000 segment that acknowledge the
 * PIC(s) and IRET (IRQ 0's also counts the BDA tick at 0x46C and calls INT
 * 0x1C, IRQ 8's reads RTC register C, as a BIOS does), every other vector at
 * a plain IRET, and the BIOS data
 * area (frontend/bios_data.h). The stubs live in the firmware area
 * (0xE0000-0xFFFFF) that the memory maps report as reserved. */
#ifndef BT86_FRONTEND_BIOS_ENTRY_H
#define BT86_FRONTEND_BIOS_ENTRY_H

#include <stdint.h>

struct machine;

#define BIOS_SEG          0xf000u
#define BIOS_STUBS_ADDR   0xff000u  /* F000:F000 */
#define BIOS_STUBS_MAX    0x200u
#define BIOS_PIC_MASTER_BASE 0x08
#define BIOS_PIC_SLAVE_BASE  0x70
/* The interrupt masks SeaBIOS leaves under QEMU (read by guests/biosstate):
 * open on the master IRQ 0 (timer), 1 (keyboard), 2 (cascade), 6 (floppy);
 * on the slave IRQ 8 (RTC), 12 (mouse), 13 (FPU error). */
#define BIOS_PIC_MASTER_MASK 0xb8u
#define BIOS_PIC_SLAVE_MASK  0x8eu
#define BIOS_PIT_MODE     2         /* rate generator, count 0 = 65536 */
#define BIOS_TICKS_ADDR   0x46cu    /* BDA: timer ticks since midnight (32 bits) */

/* Program the PIC pair and the PIT through m's I/O bus (as the BIOS's POST
 * does) and write the IVT, the stubs and the BIOS data area into RAM. */
void bios_entry_setup(struct machine *m);

/* Offsets of the stubs from BIOS_STUBS_ADDR (for tests and guests). */
uint16_t bios_stub_iret(void);
uint16_t bios_stub_irq(int irq); /* 0..15 */

#endif
