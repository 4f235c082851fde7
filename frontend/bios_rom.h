/* -bios FILE: a firmware ROM image mapped read-only at the top of the 4 GiB
 * physical space ([4G - size, 4G)), with its last 128 KiB (all of it if
 * smaller) also visible at [1M - that, 1M), i.e. 0xE0000-0xFFFFF, as QEMU's
 * pc machine maps its BIOS. Both copies sit over RAM (memory/phys.c gives
 * ROM priority over RAM); guest writes to either are dropped. With -bios and
 * no -kernel the vCPU starts from its RESET state, so the first instruction
 * is fetched at F000:FFF0 = physical 0xFFFFFFF0, the ROM's last 16 bytes.
 * With -kernel as well, bt86's direct boot stands in for the firmware and
 * keeps its own tables and interrupt stubs in RAM at 0xE0000-0xFFFFF, so only
 * the top copy is mapped then. The low copy is mapped as one ROM region per
 * PAM segment (16 KiB below 0xF0000, 64 KiB from it) so that the host
 * bridge's PAM registers can shadow it segment by segment: reads and/or
 * writes of a segment then go to the RAM underneath, as a BIOS expects when
 * it copies itself to RAM (bios_rom_pam_changed). */
#ifndef BT86_FRONTEND_BIOS_ROM_H
#define BT86_FRONTEND_BIOS_ROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/machine.h"
#include "devices/pci_host.h"

#define BIOS_ROM_MIN     (64u << 10)
#define BIOS_ROM_MAX     (2u << 20)
#define BIOS_ROM_ALIGN   (64u << 10)
#define BIOS_ROM_ISA_MAX (128u << 10) /* the part visible below 1 MiB */

/* Is size acceptable (64 KiB to 2 MiB, a multiple of 64 KiB)? 0, or -1 with
 * a one-line message naming path in err. */
int bios_rom_check_size(const char *path, uint64_t size, char *err, size_t errlen);
/* Map an image of an acceptable size at the top of 4 GiB and, if low_alias,
 * its last 128 KiB below 1 MiB. 0, or -1 with a message. */
int bios_rom_map(struct phys_mem *pm, const uint8_t *data, uint32_t size, bool low_alias, char *err, size_t errlen);
/* Read path, check its size and map it. 0, or -1 with a message. */
int bios_rom_load(struct machine *m, const char *path, bool low_alias, char *err, size_t errlen);
/* The PAM hook of the host bridge (opaque = struct machine *): route every
 * ROM segment in 0xC0000-0xFFFFF as PAM says, and if anything changed, flush
 * every vCPU's TLB and the code decoded from 0xC0000-0xFFFFF. */
void bios_rom_pam_changed(void *opaque, const struct pci_host *p);

#endif
