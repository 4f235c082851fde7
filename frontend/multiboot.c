/* The Multiboot v1 loader (frontend/multiboot.h). Everything in the image is
 * untrusted; every guest address is checked against RAM before use. */
#include "frontend/multiboot.h"
#include "frontend/bios_data.h"
#include "frontend/memmap.h"
#include "frontend/errfmt.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/machine.h"
#include "cpu/segment.h"
#include "cpu/vcpu.h"
#include "frontend/file.h"
#include "frontend/flat32_entry.h"
#include "frontend/loader_elf.h"

#define PAGE 4096u


static void put32(struct phys_mem *pm, uint32_t pa, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    phys_copy_in(pm, pa, b, 4);
}

/* Find the header: 4-byte aligned, wholly inside the first 8192 bytes, with
 * magic + flags + checksum == 0. Returns its offset or -1 (message in err). */
static long find_header(const uint8_t *img, size_t len, const char *name, char *err, size_t errlen)
{
    size_t lim = len < MB_SEARCH_BYTES ? len : MB_SEARCH_BYTES;
    bool bad_sum = false;
    for (size_t off = 0; off + 12 <= lim; off += 4) {
        if (rd32le(img + off) != MB_HEADER_MAGIC) continue;
        if ((uint32_t)(rd32le(img + off) + rd32le(img + off + 4) + rd32le(img + off + 8)) == 0) return (long)off;
        bad_sum = true;
    }
    if (bad_sum) errfmt(err, errlen, "%s: bad Multiboot header checksum", name);
    else errfmt(err, errlen, "%s: not a Multiboot kernel (no Multiboot header in the first 8192 bytes)", name);
    return -1;
}

static bool overlaps(uint64_t lo, uint64_t hi, uint64_t rlo, uint64_t rhi)
{
    return lo < rhi && hi > rlo;
}

/* Header flag 16: the header gives the load addresses (any file format). */
static int load_aout_kludge(struct phys_mem *pm, const uint8_t *img, size_t len, size_t hoff,
                            const char *name, struct mb_boot *out, char *err, size_t errlen)
{
    if (hoff + 32 > len) return errfmt(err, errlen, "%s: truncated Multiboot header (address fields missing)", name);
    uint32_t header_addr = rd32le(img + hoff + 12), load_addr = rd32le(img + hoff + 16);
    uint32_t load_end = rd32le(img + hoff + 20), bss_end = rd32le(img + hoff + 24), entry = rd32le(img + hoff + 28);
    if (load_addr > header_addr || header_addr - load_addr > hoff)
        return errfmt(err, errlen, "%s: Multiboot header addresses are inconsistent (load_addr 0x%x, header_addr 0x%x)",
                    name, load_addr, header_addr);
    uint64_t file_off = hoff - (header_addr - load_addr);
    uint64_t size;
    if (load_end == 0) {
        size = len - file_off;
    } else {
        if (load_end < load_addr) return errfmt(err, errlen, "%s: Multiboot load_end_addr is below load_addr", name);
        size = load_end - load_addr;
        if (file_off + size > len) return errfmt(err, errlen, "%s: Multiboot load range lies outside the file", name);
    }
    uint64_t end = (uint64_t)load_addr + size;
    if (bss_end != 0) {
        if (bss_end < end) return errfmt(err, errlen, "%s: Multiboot bss_end_addr is below the loaded image", name);
        end = bss_end;
    }
    if (end > pm->ram_size)
        return errfmt(err, errlen, "%s: Multiboot image (0x%x-0x%llx) lies outside guest RAM (%u MiB; see -m)",
                    name, load_addr, (unsigned long long)end - 1, pm->ram_size >> 20);
    if (overlaps(load_addr, end, 0, MB_RESERVED_END))
        return errfmt(err, errlen, "%s: Multiboot image (0x%x-0x%llx) overlaps the loader's area 0x0-0x%x",
                    name, load_addr, (unsigned long long)end - 1, MB_RESERVED_END - 1);
    uint8_t *dst = phys_ram_span(pm, load_addr, (uint32_t)(end - load_addr));
    if (!dst) return errfmt(err, errlen, "%s: Multiboot image lies outside guest RAM", name);
    memcpy(dst, img + file_off, size);
    memset(dst + size, 0, (size_t)(end - load_addr - size));
    out->entry = entry;
    out->kernel_end = (uint32_t)end;
    return 0;
}

int multiboot_load_image(struct machine *m, const uint8_t *img, size_t len, const char *name,
                         const char *cmdline, const struct mb_module *mods, int nmods,
                         struct mb_boot *out, char *err, size_t errlen)
{
    struct phys_mem *pm = &m->mem;
    memset(out, 0, sizeof(*out));
    long h = find_header(img, len, name, err, errlen);
    if (h < 0) return -1;
    uint32_t flags = rd32le(img + h + 4);
    if (flags & 0xffffu & ~MBH_FLAGS_KNOWN)
        return errfmt(err, errlen, "%s: the kernel requires Multiboot features bt86 does not provide (header flags 0x%08x)", name, flags);
    if (nmods > MB_MAX_MODULES) return errfmt(err, errlen, "too many modules (%d; at most %d)", nmods, MB_MAX_MODULES);

    if (flags & MBH_AOUT_KLUDGE) {
        if (load_aout_kludge(pm, img, len, (size_t)h, name, out, err, errlen)) return -1;
    } else {
        struct elf_load_result r;
        if (!elf_has_magic(img, len))
            return errfmt(err, errlen, "%s: not an ELF file (bad magic) and the Multiboot header has no load addresses (flag 16)", name);
        if (elf32_load(pm, img, len, name, 0, MB_RESERVED_END, &r, err, errlen)) return -1;
        out->entry = r.entry;
        out->kernel_end = r.end;
    }

    /* Strings: the kernel command line, then each module's. */
    uint32_t str = MB_STRINGS_ADDR;
    size_t need = strlen(cmdline) + 1;
    for (int i = 0; i < nmods; i++) need += strlen(mods[i].cmdline) + 1;
    if (need > MB_RESERVED_END - MB_STRINGS_ADDR)
        return errfmt(err, errlen, "the kernel and module command lines are too long (%zu bytes; at most %u)",
                    need, MB_RESERVED_END - MB_STRINGS_ADDR);
    uint32_t cmdline_addr = str;
    phys_copy_in(pm, str, cmdline, strlen(cmdline) + 1);
    str += (uint32_t)strlen(cmdline) + 1;

    /* Modules: page-aligned, above the kernel and above 1 MiB. */
    uint64_t at = ((uint64_t)out->kernel_end + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    if (at < 0x100000) at = 0x100000;
    for (int i = 0; i < nmods; i++) {
        if (at + mods[i].len > pm->ram_size)
            return errfmt(err, errlen, "module '%s' (%zu bytes) does not fit in guest RAM (%u MiB; see -m)",
                        mods[i].cmdline, mods[i].len, pm->ram_size >> 20);
        if (mods[i].len && phys_copy_in(pm, (uint32_t)at, mods[i].data, mods[i].len))
            return errfmt(err, errlen, "module '%s' does not fit in guest RAM", mods[i].cmdline);
        uint32_t e = MB_MODS_ADDR + 16u * (uint32_t)i;
        put32(pm, e, (uint32_t)at);
        put32(pm, e + 4, (uint32_t)(at + mods[i].len));
        put32(pm, e + 8, str);
        put32(pm, e + 12, 0);
        size_t cl = strlen(mods[i].cmdline) + 1;
        phys_copy_in(pm, str, mods[i].cmdline, cl);
        str += (uint32_t)cl;
        at = (at + mods[i].len + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    }

    /* Memory map: the board's (frontend/memmap.h), as E820-style entries. */
    struct memmap_entry map[MEMMAP_MAX];
    int nmap = pc_memory_map(pm->ram_size, map);
    uint32_t mm = MB_MMAP_ADDR;
    for (int i = 0; i < nmap; i++) {
        put32(pm, mm, 20);                              /* size of the rest of the entry */
        put32(pm, mm + 4, (uint32_t)map[i].base);       /* base_addr low, high */
        put32(pm, mm + 8, (uint32_t)(map[i].base >> 32));
        put32(pm, mm + 12, (uint32_t)map[i].len);       /* length low, high */
        put32(pm, mm + 16, (uint32_t)(map[i].len >> 32));
        put32(pm, mm + 20, map[i].type);
        mm += 24;
    }

    phys_copy_in(pm, MB_NAME_ADDR, "bt86", 5);

    uint8_t zero[128] = { 0 };
    phys_copy_in(pm, MB_INFO_ADDR, zero, sizeof(zero));
    uint32_t iflags = MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER;
    put32(pm, MB_INFO_ADDR + 0, iflags);
    put32(pm, MB_INFO_ADDR + 4, EBDA_ADDR / 1024);                  /* mem_lower, KiB */
    put32(pm, MB_INFO_ADDR + 8, (pm->ram_size - 0x100000) / 1024);  /* mem_upper, KiB above 1 MiB */
    put32(pm, MB_INFO_ADDR + 16, cmdline_addr);
    put32(pm, MB_INFO_ADDR + 20, (uint32_t)nmods);
    put32(pm, MB_INFO_ADDR + 24, MB_MODS_ADDR);
    put32(pm, MB_INFO_ADDR + 44, mm - MB_MMAP_ADDR);               /* mmap_length */
    put32(pm, MB_INFO_ADDR + 48, MB_MMAP_ADDR);
    put32(pm, MB_INFO_ADDR + 64, MB_NAME_ADDR);
    out->info = MB_INFO_ADDR;
    return 0;
}

/* Split "-initrd a args,b,,c" into items; ",," is a literal comma. Returns a
 * malloc'ed array of malloc'ed strings, or NULL when out of memory. */
static char **split_initrd(const char *s, int *count)
{
    int cap = 4, n = 0;
    char **items = malloc(sizeof(char *) * (size_t)cap);
    char *cur = malloc(strlen(s) + 1);
    if (!items || !cur) goto oom;
    size_t k = 0;
    for (const char *p = s;; p++) {
        if (*p == ',' && p[1] == ',') {
            cur[k++] = ',';
            p++;
            continue;
        }
        if (*p == ',' || *p == '\0') {
            cur[k] = '\0';
            if (n == cap) {
                cap *= 2;
                char **ni = realloc(items, sizeof(char *) * (size_t)cap);
                if (!ni) goto oom;
                items = ni;
            }
            items[n] = strdup(cur);
            if (!items[n]) goto oom;
            n++;
            k = 0;
            if (*p == '\0') break;
            continue;
        }
        cur[k++] = *p;
    }
    free(cur);
    *count = n;
    return items;
oom:
    if (items)
        for (int i = 0; i < n; i++) free(items[i]);
    free(items);
    free(cur);
    return NULL;
}

int multiboot_load(struct machine *m, const char *kernel, const char *append, const char *initrd,
                   struct mb_boot *out, char *err, size_t errlen)
{
    uint8_t *img = NULL;
    size_t len = 0;
    int rc = -1, nitems = 0;
    char **items = NULL;
    struct mb_module *mods = NULL;
    uint8_t **bufs = NULL;
    char *cmdline = NULL;

    if (file_read_all(kernel, "kernel", (size_t)1 << 30, &img, &len, err, errlen)) return -1;
    if (initrd) {
        items = split_initrd(initrd, &nitems);
        if (!items) { errfmt(err, errlen, "out of memory"); goto out; }
        if (nitems > MB_MAX_MODULES) { errfmt(err, errlen, "too many -initrd modules (%d; at most %d)", nitems, MB_MAX_MODULES); goto out; }
        mods = calloc((size_t)nitems, sizeof(*mods));
        bufs = calloc((size_t)nitems, sizeof(*bufs));
        if (!mods || !bufs) { errfmt(err, errlen, "out of memory"); goto out; }
        for (int i = 0; i < nitems; i++) {
            /* The file name is the item up to the first space; the module's
             * command line is the whole item (QEMU's convention). */
            char path[4096];
            size_t pl = strcspn(items[i], " ");
            if (pl == 0) { errfmt(err, errlen, "empty module name in -initrd '%s'", initrd); goto out; }
            if (pl >= sizeof(path)) { errfmt(err, errlen, "module path too long in -initrd"); goto out; }
            memcpy(path, items[i], pl);
            path[pl] = '\0';
            if (file_read_all(path, "module", m->mem.ram_size, &bufs[i], &mods[i].len, err, errlen)) goto out;
            mods[i].data = bufs[i];
            mods[i].cmdline = items[i];
        }
    }
    const char *ap = append ? append : "";
    cmdline = malloc(strlen(kernel) + strlen(ap) + 2);
    if (!cmdline) { errfmt(err, errlen, "out of memory"); goto out; }
    sprintf(cmdline, "%s %s", kernel, ap);
    rc = multiboot_load_image(m, img, len, kernel, cmdline, mods, nitems, out, err, errlen);
out:
    free(cmdline);
    for (int i = 0; i < nitems; i++) {
        if (bufs) free(bufs[i]);
        free(items[i]);
    }
    free(bufs);
    free(mods);
    free(items);
    free(img);
    return rc;
}

void multiboot_enter(struct machine *m, struct vcpu *v, const struct mb_boot *b)
{
    /* GDT: null, flat 32-bit code (0x08), flat data (0x10). */
    flat32_enter(m, v, MB_GDT_ADDR, 0x08, 0x10);
    v->r[R_EAX] = MB_BOOT_MAGIC;
    v->r[R_EBX] = b->info;
    v->r[R_ESP] = MB_INITIAL_ESP;
    v->eip = b->entry;
}
