/* Booting from a disk without -kernel: what a PC BIOS does last, done by
 * bt86 itself. Sector 0 of the first disk is loaded at 0000:7C00 and the CPU
 * is left in real mode at 0000:7C00 with DL = 0x80 (the first hard disk), as
 * SeaBIOS leaves it under QEMU: CS = DS = ES = SS = 0, AX = 0xAA55, DX =
 * 0x0080, the other general registers 0 (measured with a boot sector that
 * prints its registers). Two differences, both deliberate: SS:SP is
 * 0000:7C00 here (SeaBIOS: 0000:6F04, inside its own data), and IF = 0.
 *
 * bt86 has no BIOS: there are no INT 10h/13h/15h services and the IVT is
 * empty (all zeros), so the boot sector must not call BIOS interrupts; it
 * reaches the disks through the IDE ports (devices/ide.h) and the console
 * through COM1. For the same reason the CPU starts with IF = 0 (SeaBIOS
 * jumps with IF = 1, but with its own handlers behind the IVT): an interrupt
 * arriving before the guest has set up its own IVT would jump to 0000:0000.
 * A guest that wants interrupts programs the PIC, fills the IVT and runs STI
 * itself, which is what such guests do anyway. */
#ifndef BT86_FRONTEND_BOOT_DISK_H
#define BT86_FRONTEND_BOOT_DISK_H

#include <stddef.h>

#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "devices/disk_image.h"

#define BOOT_SECTOR_ADDR 0x7c00u
#define BOOT_DRIVE       0x80u
/* SS:SP = 0000:7C00, the stack grows down below the boot sector (the usual
 * convention; SeaBIOS's own stack is elsewhere and boot sectors set their own). */
#define BOOT_STACK_TOP   0x7c00u

/* Load sector 0 of d at 0x7c00 and put v in the state described above.
 * 0, or -1 with one line in err: the sector cannot be read, it lacks the
 * 0x55 0xAA signature at bytes 510-511 (SeaBIOS refuses such disks too), or
 * the RAM does not reach 0x7e00. */
int boot_disk_prepare(struct machine *m, struct vcpu *v, struct disk_image *d, char *err, size_t errlen);

#endif
