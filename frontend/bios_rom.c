/* Loading and mapping a -bios ROM image (frontend/bios_rom.h). */
#include "frontend/bios_rom.h"

#include <stdio.h>
#include <stdlib.h>

#include "frontend/file.h"

/* Larger files are refused while reading, before any size check. */
#define BIOS_ROM_READ_MAX (16u << 20)

int bios_rom_check_size(const char *path, uint64_t size, char *err, size_t errlen)
{
    if (size < BIOS_ROM_MIN || size > BIOS_ROM_MAX || size % BIOS_ROM_ALIGN) {
        snprintf(err, errlen, "BIOS image '%s' is %llu bytes: it must be 64 KiB to 2 MiB and a multiple of 64 KiB",
                 path, (unsigned long long)size);
        return -1;
    }
    return 0;
}

int bios_rom_map(struct phys_mem *pm, const uint8_t *data, uint32_t size, bool low_alias, char *err, size_t errlen)
{
    uint32_t isa = size < BIOS_ROM_ISA_MAX ? size : BIOS_ROM_ISA_MAX;
    /* Two read-only copies of the same bytes are an alias: nothing can write
     * either, so they never disagree. */
    if (phys_add_rom(pm, (uint32_t)(0x100000000ull - size), data, size) ||
        (low_alias && phys_add_rom(pm, 0x100000u - isa, data + (size - isa), isa))) {
        snprintf(err, errlen, "cannot map the BIOS image (out of ROM slots or memory)");
        return -1;
    }
    return 0;
}

int bios_rom_load(struct machine *m, const char *path, bool low_alias, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len;
    if (file_read_all(path, "BIOS image", BIOS_ROM_READ_MAX, &data, &len, err, errlen)) return -1;
    int r = bios_rom_check_size(path, len, err, errlen);
    if (r == 0) r = bios_rom_map(&m->mem, data, (uint32_t)len, low_alias, err, errlen);
    free(data);
    return r;
}
