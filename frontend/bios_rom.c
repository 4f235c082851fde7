/* Loading and mapping a -bios ROM image (frontend/bios_rom.h). */
#include "frontend/bios_rom.h"

#include <stdio.h>
#include <stdlib.h>

#include "cpu/vcpu.h"
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

/* The PAM segment starting at a: 16 KiB below 0xF0000, 64 KiB from it. */
static uint32_t pam_segment_size(uint32_t a)
{
    return a < 0xf0000u ? 0x4000u : 0x10000u;
}

int bios_rom_map(struct phys_mem *pm, const uint8_t *data, uint32_t size, bool low_alias, char *err, size_t errlen)
{
    uint32_t isa = size < BIOS_ROM_ISA_MAX ? size : BIOS_ROM_ISA_MAX;
    /* Read-only copies of the same bytes are an alias: nothing can write
     * them, so they never disagree (shadowing writes the RAM underneath). */
    if (phys_add_rom(pm, (uint32_t)(0x100000000ull - size), data, size)) goto fail;
    if (!low_alias) return 0;
    for (uint32_t a = 0x100000u - isa; a < 0x100000u; a += pam_segment_size(a))
        if (phys_add_rom(pm, a, data + (size - (0x100000u - a)), pam_segment_size(a))) goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot map the BIOS image (out of ROM slots or memory)");
    return -1;
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

void bios_rom_pam_changed(void *opaque, const struct pci_host *p)
{
    struct machine *m = opaque;
    int changed = 0;
    for (uint32_t a = 0xc0000u; a < 0x100000u; a += pam_segment_size(a)) {
        unsigned attr = pci_host_pam_attr(p, a);
        changed += phys_rom_route(&m->mem, a, pam_segment_size(a), attr & PAM_RE, attr & PAM_WE);
    }
    if (!changed) return;
    /* TLB entries may hold ROM pointers (or read-only RAM ones), and code
     * decoded from these addresses may have come from the other side. */
    for (int i = 0; i < m->ncpu; i++) tlb_flush_all(&m->cpu[i]->tlb);
    if (m->mem.on_code_write) m->mem.on_code_write(m->mem.code_write_opaque, 0xc0000u, 0x40000u);
}
