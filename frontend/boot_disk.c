/* Boot-sector hand-over (see boot_disk.h). */
#include "frontend/boot_disk.h"
#include "frontend/bios_data.h"

#include <stdio.h>
#include <string.h>

#include "cpu/segment.h"

static void set_real_seg(struct vcpu *v, int s, uint16_t attr)
{
    v->seg[s] = (struct seg_cache){ .sel = 0, .attr = attr, .base = 0, .limit = 0xffff };
    seg_cache_refresh(&v->seg[s], false);
}

int boot_disk_prepare(struct machine *m, struct vcpu *v, struct disk_image *d, char *err, size_t errlen)
{
    uint8_t sector[DISK_SECTOR_SIZE];
    const char *path = disk_image_path(d);
    if (disk_image_read(d, 0, 1, sector)) {
        snprintf(err, errlen, "disk image '%s': cannot read the boot sector", path);
        return -1;
    }
    if (sector[510] != 0x55 || sector[511] != 0xaa) {
        snprintf(err, errlen, "disk image '%s': disk has no boot signature (0x55 0xAA at bytes 510-511)", path);
        return -1;
    }
    if (phys_copy_in(&m->mem, BOOT_SECTOR_ADDR, sector, sizeof(sector))) {
        snprintf(err, errlen, "not enough RAM to load a boot sector at 0x%x", BOOT_SECTOR_ADDR);
        return -1;
    }
    /* The BIOS data area fields a boot sector may look at: COM1's port,
     * the EBDA segment and 639 KiB of base memory. */
    bios_data_area_fill(&m->mem);

    vcpu_reset(v);
    memset(v->r, 0, sizeof(v->r));
    v->r[R_EAX] = 0xaa55; /* what SeaBIOS leaves there (measured under QEMU) */
    v->r[R_EDX] = BOOT_DRIVE;
    v->r[R_ESP] = BOOT_STACK_TOP;
    v->eip = BOOT_SECTOR_ADDR;
    v->eflags = F_FIXED1; /* IF = 0: see boot_disk.h */
    v->idtr = (struct dtr){ 0, 0x3ff };
    for (int s = 0; s < S_COUNT; s++) set_real_seg(v, s, SEG_ATTR_P | SEG_ATTR_S | 0x3);
    set_real_seg(v, S_CS, SEG_ATTR_P | SEG_ATTR_S | 0xb);
    v->cpl = 0;
    cpu_update_mode(v);
    machine_set_a20(m, true);
    tlb_flush_all(&v->tlb);
    return 0;
}
