/* The BIOS data area as bt86's boot paths leave it (there is no BIOS): the
 * few fields guests read before they probe the hardware themselves. */
#ifndef BT86_FRONTEND_BIOS_DATA_H
#define BT86_FRONTEND_BIOS_DATA_H

struct phys_mem;

/* The EBDA (which also holds the MP table) is the last KiB of base memory. */
#define EBDA_ADDR 0x9fc00u

/* COM1's port at 0x400, the EBDA segment at 0x40e, base memory in KiB at 0x413. */
void bios_data_area_fill(struct phys_mem *pm);

#endif
