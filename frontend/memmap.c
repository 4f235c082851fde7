/* The board's memory map (frontend/memmap.h). */
#include "frontend/memmap.h"

#include "frontend/bios_data.h"

int pc_memory_map(uint32_t ram_size, struct memmap_entry *out)
{
    int n = 0;
    out[n++] = (struct memmap_entry){ 0, EBDA_ADDR, E820_RAM };             /* conventional memory */
    out[n++] = (struct memmap_entry){ EBDA_ADDR, 0x400, E820_RESERVED };    /* EBDA: MP table */
    out[n++] = (struct memmap_entry){ FIRMWARE_AREA_BASE, FIRMWARE_AREA_END - FIRMWARE_AREA_BASE,
                                      E820_RESERVED };                      /* BIOS area: ACPI, ROM */
    out[n++] = (struct memmap_entry){ 0x100000, (uint64_t)ram_size - 0x100000, E820_RAM };
    /* The APICs' MMIO windows and the top-of-4G ROM, as reserved. */
    out[n++] = (struct memmap_entry){ 0xfec00000u, 0x1000, E820_RESERVED };
    out[n++] = (struct memmap_entry){ 0xfee00000u, 0x1000, E820_RESERVED };
    out[n++] = (struct memmap_entry){ 0xfffc0000u, 0x40000, E820_RESERVED };
    return n;
}
