/* The Linux x86 32-bit boot protocol (frontend/linux_boot.h). Offsets are
 * those of struct boot_params and struct setup_header in the kernel's
 * arch/x86/include/uapi/asm/bootparam.h. */
#include "frontend/linux_boot.h"

#include <stdlib.h>
#include <string.h>

#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "frontend/errfmt.h"
#include "frontend/file.h"
#include "frontend/flat32_entry.h"
#include "frontend/memmap.h"

#define PAGE 4096u

/* Setup header fields, as offsets into the image and the zero page alike. */
#define H_SETUP_SECTS   0x1f1
#define H_BOOT_FLAG     0x1fe
#define H_JUMP          0x200
#define H_MAGIC         0x202
#define H_VERSION       0x206
#define H_LOADER_TYPE   0x210
#define H_LOADFLAGS     0x211
#define H_CODE32_START  0x214
#define H_RAMDISK_IMAGE 0x218
#define H_RAMDISK_SIZE  0x21c
#define H_HEAP_END      0x224
#define H_CMD_LINE_PTR  0x228
#define H_INITRD_MAX    0x22c
#define H_CMDLINE_SIZE  0x238
#define H_INIT_SIZE     0x260

/* Other zero-page fields. */
#define P_EXT_MEM_K     0x002  /* screen_info.ext_mem_k */
#define P_VIDEO_MODE    0x006
#define P_VIDEO_COLS    0x007
#define P_VIDEO_EGA_BX  0x00a
#define P_VIDEO_LINES   0x00e
#define P_VIDEO_ISVGA   0x00f
#define P_VIDEO_POINTS  0x010
#define P_ALT_MEM_K     0x1e0
#define P_E820_ENTRIES  0x1e8
#define P_E820_TABLE    0x2d0
#define E820_MAX        128

#define LOADED_HIGH     0x01
/* Lowmem a 32-bit kernel with the default 3G/1G split maps directly (896 MiB
 * less the vmalloc reserve): the initrd must sit below it. */
#define LOWMEM_LIMIT    0x37c00000u

bool linux_is_bzimage(const uint8_t *img, size_t len)
{
    return len >= 0x264 && rd16le(img + H_BOOT_FLAG) == 0xaa55 && !memcmp(img + H_MAGIC, "HdrS", 4);
}

static void put8(uint8_t *p, size_t off, uint8_t v) { p[off] = v; }
static void put16(uint8_t *p, size_t off, uint16_t v) { wr16le(p + off, v); }
static void put32(uint8_t *p, size_t off, uint32_t v) { wr32le(p + off, v); }

int linux_load_image(struct machine *m, const uint8_t *img, size_t len, const char *name,
                     const uint8_t *initrd, size_t initrd_len, const char *cmdline,
                     struct linux_boot *out, char *err, size_t errlen)
{
    struct phys_mem *pm = &m->mem;
    uint32_t ram = pm->ram_size;
    if (!linux_is_bzimage(img, len)) return errfmt(err, errlen, "%s: not a Linux bzImage (no setup header)", name);
    uint16_t version = rd16le(img + H_VERSION);
    if (version < LB_MIN_VERSION)
        return errfmt(err, errlen, "%s: Linux boot protocol %u.%02u is too old (bt86 needs 2.06 or later)", name,
                      version >> 8, version & 0xff);
    if (!(img[H_LOADFLAGS] & LOADED_HIGH))
        return errfmt(err, errlen, "%s: a zImage (loaded low) is not supported; use a bzImage", name);
    unsigned setup_sects = img[H_SETUP_SECTS] ? img[H_SETUP_SECTS] : 4;
    size_t setup_len = ((size_t)setup_sects + 1) * 512;
    if (setup_len >= len) return errfmt(err, errlen, "%s: truncated bzImage (setup code only)", name);
    size_t kern_len = len - setup_len;
    /* The decompressor works in place from the load address up to init_size. */
    uint64_t need = rd32le(img + H_INIT_SIZE);
    if (need < kern_len) need = kern_len;
    uint32_t cmdline_max = rd32le(img + H_CMDLINE_SIZE);
    uint32_t initrd_max = rd32le(img + H_INITRD_MAX);
    size_t clen = strlen(cmdline);
    if (clen > cmdline_max || clen >= LB_CMDLINE_MAX)
        return errfmt(err, errlen, "-append: the kernel command line is too long (%zu bytes; this kernel takes %u)", clen,
                      cmdline_max < LB_CMDLINE_MAX - 1 ? cmdline_max : LB_CMDLINE_MAX - 1);

    /* The initrd goes as high as the kernel allows, page aligned. */
    uint64_t rd_top = ram;
    if ((uint64_t)initrd_max + 1 < rd_top) rd_top = (uint64_t)initrd_max + 1;
    if (rd_top > LOWMEM_LIMIT) rd_top = LOWMEM_LIMIT;
    uint64_t rd_addr = 0;
    if (initrd_len) {
        if (initrd_len > rd_top) rd_addr = 0;
        else rd_addr = (rd_top - initrd_len) & ~(uint64_t)(PAGE - 1);
        if (rd_addr < LB_KERNEL_ADDR + need)
            return errfmt(err, errlen, "the kernel (%llu bytes when unpacked) and the initrd (%zu bytes) do not fit in %u MiB of RAM "
                          "(try a larger -m)", (unsigned long long)need, initrd_len, ram >> 20);
    } else if (LB_KERNEL_ADDR + need > ram) {
        return errfmt(err, errlen, "the kernel (%llu bytes when unpacked) does not fit in %u MiB of RAM (try a larger -m)",
                      (unsigned long long)need, ram >> 20);
    }

    /* The zero page: all zero but the setup header (copied from the image up
     * to its end, given by the jump at 0x200) and the fields a loader sets. */
    uint8_t bp[PAGE];
    memset(bp, 0, sizeof(bp));
    size_t hdr_end = 0x202 + (size_t)img[H_JUMP + 1];
    if (hdr_end > len || hdr_end > PAGE) hdr_end = len < PAGE ? len : PAGE;
    memcpy(bp + H_SETUP_SECTS, img + H_SETUP_SECTS, hdr_end - H_SETUP_SECTS);
    put8(bp, H_LOADER_TYPE, 0xff); /* "undefined" boot loader */
    put8(bp, H_LOADFLAGS, (uint8_t)(img[H_LOADFLAGS] | LOADED_HIGH));
    put32(bp, H_CODE32_START, LB_KERNEL_ADDR);
    put32(bp, H_CMD_LINE_PTR, LB_CMDLINE_ADDR);
    put32(bp, H_RAMDISK_IMAGE, (uint32_t)rd_addr);
    put32(bp, H_RAMDISK_SIZE, (uint32_t)initrd_len);
    put16(bp, H_HEAP_END, 0);
    /* The screen a BIOS leaves: 80x25 colour text, VGA, 16-line font. */
    put8(bp, P_VIDEO_MODE, 3);
    put8(bp, P_VIDEO_COLS, 80);
    put8(bp, P_VIDEO_LINES, 25);
    put8(bp, P_VIDEO_ISVGA, 1);
    put16(bp, P_VIDEO_EGA_BX, 0x0003); /* INT 10h AH=12h: colour, 256 KiB */
    put16(bp, P_VIDEO_POINTS, 16);
    uint32_t ext_k = (ram - 0x100000) / 1024;
    put16(bp, P_EXT_MEM_K, (uint16_t)(ext_k > 0xfc00 ? 0xfc00 : ext_k));
    put32(bp, P_ALT_MEM_K, ext_k);
    struct memmap_entry map[MEMMAP_MAX];
    int n = pc_memory_map(ram, map);
    for (int i = 0; i < n && i < E820_MAX; i++) {
        size_t e = P_E820_TABLE + (size_t)i * 20;
        put32(bp, e, (uint32_t)map[i].base);
        put32(bp, e + 4, (uint32_t)(map[i].base >> 32));
        put32(bp, e + 8, (uint32_t)map[i].len);
        put32(bp, e + 12, (uint32_t)(map[i].len >> 32));
        put32(bp, e + 16, map[i].type);
    }
    put8(bp, P_E820_ENTRIES, (uint8_t)n);

    if (phys_copy_in(pm, LB_PARAMS_ADDR, bp, sizeof(bp)) ||
        phys_copy_in(pm, LB_CMDLINE_ADDR, cmdline, clen + 1) ||
        phys_copy_in(pm, LB_KERNEL_ADDR, img + setup_len, kern_len) ||
        (initrd_len && phys_copy_in(pm, (uint32_t)rd_addr, initrd, initrd_len)))
        return errfmt(err, errlen, "%s: cannot place the kernel in guest RAM", name);
    out->entry = LB_KERNEL_ADDR;
    out->params = LB_PARAMS_ADDR;
    return 0;
}

int linux_load(struct machine *m, const char *kernel, const char *append, const char *initrd,
               struct linux_boot *out, char *err, size_t errlen)
{
    uint8_t *img = NULL, *rd = NULL;
    size_t len = 0, rd_len = 0;
    int rc = -1;
    if (file_read_all(kernel, "kernel", (size_t)1 << 30, &img, &len, err, errlen)) return -1;
    if (initrd && file_read_all(initrd, "initrd", m->mem.ram_size, &rd, &rd_len, err, errlen)) goto out;
    rc = linux_load_image(m, img, len, kernel, rd, rd_len, append ? append : "", out, err, errlen);
out:
    free(img);
    free(rd);
    return rc;
}

void linux_enter(struct machine *m, struct vcpu *v, const struct linux_boot *b)
{
    /* GDT: two null entries, flat code (0x10), flat data (0x18): the
     * protocol's __BOOT_CS and __BOOT_DS. */
    flat32_enter(m, v, LB_GDT_ADDR, LB_BOOT_CS, LB_BOOT_DS);
    v->r[R_ESI] = b->params;
    v->r[R_ESP] = LB_GDT_ADDR; /* unspecified by the protocol; the kernel sets its own */
    v->eip = b->entry;
}
