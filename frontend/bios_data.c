/* The BIOS data area (frontend/bios_data.h). */
#include "frontend/bios_data.h"

#include "memory/phys.h"

static void put16(struct phys_mem *pm, uint32_t pa, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    phys_copy_in(pm, pa, b, 2);
}

void bios_data_area_fill(struct phys_mem *pm)
{
    put16(pm, 0x400, 0x3f8);
    put16(pm, 0x40e, EBDA_ADDR >> 4);
    put16(pm, 0x413, EBDA_ADDR / 1024);
}
