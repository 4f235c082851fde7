/* Guest physical memory: RAM, ROM overlays and MMIO dispatch, every access
 * bounds-checked. Lookup priority is MMIO, then ROM, then RAM, so a device
 * window or the BIOS ROM may sit on top of RAM (the PC's 0xa0000-0xfffff hole).
 * A ROM's reads and writes can each be routed to the RAM underneath instead
 * (chipset shadowing, phys_rom_route).
 * Anything that hits none of them is unassigned: reads all ones, writes dropped. */
#include "memory/phys.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int phys_init(struct phys_mem *pm, uint32_t ram_size)
{
    memset(pm, 0, sizeof(*pm));
    ram_size &= ~0xfffu;
    if (ram_size == 0) return -1;
    /* A memfd, so that phys_view_build can map the same pages a second time;
     * anonymous memory where there is none. Either is zero-filled, and
     * untouched pages cost no host memory. */
    pm->ram_fd = memfd_create("bt86-ram", MFD_CLOEXEC);
    if (pm->ram_fd >= 0 && ftruncate(pm->ram_fd, ram_size) != 0) {
        close(pm->ram_fd);
        pm->ram_fd = -1;
    }
    void *p = pm->ram_fd >= 0
                  ? mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, pm->ram_fd, 0)
                  : mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        if (pm->ram_fd >= 0) close(pm->ram_fd);
        return -1;
    }
    pm->code_pages = calloc(ram_size >> 12, 1);
    pm->overlaid = calloc(ram_size >> 12, 1);
    if (!pm->code_pages || !pm->overlaid) {
        free(pm->code_pages);
        free(pm->overlaid);
        munmap(p, ram_size);
        if (pm->ram_fd >= 0) close(pm->ram_fd);
        return -1;
    }
    pm->ram = p;
    pm->ram_size = ram_size;
    phys_view_build(pm); /* (none is fine: everything goes through `ram`) */
    return 0;
}

void phys_destroy(struct phys_mem *pm)
{
    if (pm->ram) munmap(pm->ram, pm->ram_size);
    if (pm->view) munmap(pm->view, PHYS_VIEW_SIZE);
    if (pm->ram && pm->ram_fd >= 0) close(pm->ram_fd);
    free(pm->code_pages);
    free(pm->overlaid);
    for (int i = 0; i < pm->nrom; i++) free(pm->rom[i].data);
    memset(pm, 0, sizeof(*pm));
}

/* [base, base+size) fits in 32 bits and is not empty. */
static bool range_ok(uint32_t base, uint32_t size)
{
    return size != 0 && (uint64_t)base + size <= 0x100000000ull;
}

int phys_add_mmio(struct phys_mem *pm, const struct mmio_region *r)
{
    if (pm->nmmio >= PHYS_MAX_MMIO || !range_ok(r->base, r->size) || !r->read || !r->write) return -1;
    pm->mmio[pm->nmmio++] = *r;
    phys_mark_overlaid(pm, r->base, r->size);
    return 0;
}

int phys_add_rom(struct phys_mem *pm, uint32_t base, const void *data, uint32_t size)
{
    if (pm->nrom >= PHYS_MAX_ROM || !range_ok(base, size)) return -1;
    uint8_t *copy = malloc(size);
    if (!copy) return -1;
    memcpy(copy, data, size);
    pm->rom[pm->nrom++] = (struct rom_region){ .base = base, .size = size, .data = copy };
    phys_mark_overlaid(pm, base, size);
    return 0;
}

int phys_rom_route(struct phys_mem *pm, uint32_t base, uint32_t size, bool read_ram, bool write_ram)
{
    int changed = 0;
    for (int i = 0; i < pm->nrom; i++) {
        struct rom_region *r = &pm->rom[i];
        if (r->base < base || (uint64_t)r->base + r->size > (uint64_t)base + size) continue;
        if (r->read_ram == read_ram && r->write_ram == write_ram) continue;
        r->read_ram = read_ram;
        r->write_ram = write_ram;
        changed++;
    }
    return changed;
}

/* Does [pa, pa+len) (len >= 1, may wrap past 4 GiB) intersect [base, base+size)? */
static bool overlaps(uint32_t pa, uint32_t len, uint32_t base, uint32_t size)
{
    uint64_t a = pa, b = (uint64_t)pa + len;
    return a < (uint64_t)base + size && (uint64_t)base < b;
}

/* Does [pa, pa+len) lie wholly inside [base, base+size)? */
static bool inside(uint32_t pa, uint32_t len, uint32_t base, uint32_t size)
{
    return pa >= base && (uint64_t)pa + len <= (uint64_t)base + size;
}

static bool any_mmio_overlap(const struct phys_mem *pm, uint32_t pa, uint32_t len)
{
    for (int i = 0; i < pm->nmmio; i++)
        if (overlaps(pa, len, pm->mmio[i].base, pm->mmio[i].size)) return true;
    return false;
}

/* Does a ROM whose reads come from the ROM overlap [pa, pa+len)? */
static bool any_rom_overlap(const struct phys_mem *pm, uint32_t pa, uint32_t len)
{
    for (int i = 0; i < pm->nrom; i++)
        if (!pm->rom[i].read_ram && overlaps(pa, len, pm->rom[i].base, pm->rom[i].size)) return true;
    return false;
}

/* The ROM holding all of [pa, pa+len), or NULL (any routing). */
static const struct rom_region *rom_for(const struct phys_mem *pm, uint32_t pa, uint32_t len)
{
    for (int i = 0; i < pm->nrom; i++)
        if (inside(pa, len, pm->rom[i].base, pm->rom[i].size)) return &pm->rom[i];
    return NULL;
}

const uint8_t *phys_readable_ptr(const struct phys_mem *pm, uint32_t pa, uint32_t len)
{
    if (len == 0) len = 1;
    if (any_mmio_overlap(pm, pa, len)) return NULL;
    const struct rom_region *r = rom_for(pm, pa, len);
    if (r && !r->read_ram) return r->data + (pa - r->base);
    if (any_rom_overlap(pm, pa, len)) return NULL;
    return phys_ram_ptr(pm, pa, len);
}

const uint8_t *phys_page_host(const struct phys_mem *pm, uint32_t pa_page, bool *is_ram)
{
    pa_page &= ~0xfffu;
    uint8_t *plain = phys_plain_ptr(pm, pa_page, 0x1000);
    if (plain) {
        *is_ram = true;
        return plain;
    }
    if (any_mmio_overlap(pm, pa_page, 0x1000)) return NULL;
    const struct rom_region *r = rom_for(pm, pa_page, 0x1000);
    if (r && !r->read_ram) {
        *is_ram = false;
        return r->data + (pa_page - r->base);
    }
    if (any_rom_overlap(pm, pa_page, 0x1000)) return NULL;
    uint8_t *p = phys_ram_ptr(pm, pa_page, 0x1000);
    /* Shadowed ROM (reads from RAM): writable only if writes go there too. */
    bool write_protected = false;
    for (int i = 0; i < pm->nrom; i++)
        if (!pm->rom[i].write_ram && overlaps(pa_page, 0x1000, pm->rom[i].base, pm->rom[i].size)) write_protected = true;
    *is_ram = p != NULL && !write_protected;
    return p;
}

static uint32_t load_le(const uint8_t *p, int size)
{
    switch (size) {
    case 1: return *p;
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    default: { uint32_t x; memcpy(&x, p, 4); return x; }
    }
}

static void store_le(uint8_t *p, uint32_t val, int size)
{
    switch (size) {
    case 1: *p = (uint8_t)val; break;
    case 2: { uint16_t x = (uint16_t)val; memcpy(p, &x, 2); break; }
    default: memcpy(p, &val, 4); break;
    }
}

static uint32_t ones(int size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* Read from one kind of memory; returns false if [pa, pa+size) straddles kinds. */
static bool read_whole(struct phys_mem *pm, uint32_t pa, int size, uint32_t *out)
{
    uint32_t len = (uint32_t)size;
    const uint8_t *p = phys_plain_ptr(pm, pa, len); /* (no region to look for) */
    if (p) {
        *out = load_le(p, size);
        return true;
    }
    for (int i = 0; i < pm->nmmio; i++) {
        const struct mmio_region *m = &pm->mmio[i];
        if (!overlaps(pa, len, m->base, m->size)) continue;
        if (!inside(pa, len, m->base, m->size)) return false;
        *out = m->read(m->opaque, pa - m->base, size) & ones(size);
        return true;
    }
    for (int i = 0; i < pm->nrom; i++) {
        const struct rom_region *r = &pm->rom[i];
        if (r->read_ram || !overlaps(pa, len, r->base, r->size)) continue;
        if (!inside(pa, len, r->base, r->size)) return false;
        *out = load_le(r->data + (pa - r->base), size);
        return true;
    }
    p = phys_ram_ptr(pm, pa, len);
    if (p) {
        *out = load_le(p, size);
        return true;
    }
    if (overlaps(pa, len, 0, pm->ram_size)) return false; /* straddles the end of RAM */
    pm->unassigned_reads++;
    *out = ones(size);
    return true;
}

uint32_t phys_read(struct phys_mem *pm, uint32_t pa, int size)
{
    uint32_t val;
    if (size != 1 && size != 2) size = 4;
    if (read_whole(pm, pa, size, &val)) return val;
    /* Straddles two kinds of memory: byte by byte (the address wraps at 4 GiB). */
    val = 0;
    for (int i = 0; i < size; i++) {
        uint32_t b;
        read_whole(pm, pa + (uint32_t)i, 1, &b);
        val |= b << (8 * i);
    }
    return val;
}

/* Tell the decode cache before bytes holding decoded code change. */
static void notify_code(struct phys_mem *pm, uint32_t pa, uint32_t len)
{
    if (!pm->on_code_write || pa >= pm->ram_size) return;
    uint32_t end = pa + len - 1;
    if (end < pa || end >= pm->ram_size) end = pm->ram_size - 1;
    for (uint32_t pg = pa >> 12; pg <= end >> 12; pg++) {
        if (pm->code_pages[pg]) {
            pm->on_code_write(pm->code_write_opaque, pa, (unsigned)(end - pa + 1));
            return;
        }
    }
}

static bool write_whole(struct phys_mem *pm, uint32_t pa, uint32_t val, int size)
{
    uint32_t len = (uint32_t)size;
    uint8_t *p = phys_plain_ptr(pm, pa, len); /* (no region to look for) */
    if (p) {
        notify_code(pm, pa, len);
        store_le(p, val, size);
        return true;
    }
    for (int i = 0; i < pm->nmmio; i++) {
        const struct mmio_region *m = &pm->mmio[i];
        if (!overlaps(pa, len, m->base, m->size)) continue;
        if (!inside(pa, len, m->base, m->size)) return false;
        m->write(m->opaque, pa - m->base, val & ones(size), size);
        return true;
    }
    for (int i = 0; i < pm->nrom; i++) {
        const struct rom_region *r = &pm->rom[i];
        if (r->write_ram || !overlaps(pa, len, r->base, r->size)) continue;
        if (!inside(pa, len, r->base, r->size)) return false;
        return true; /* ROM: dropped */
    }
    p = phys_ram_ptr(pm, pa, len);
    if (p) {
        notify_code(pm, pa, len);
        store_le(p, val, size);
        return true;
    }
    if (overlaps(pa, len, 0, pm->ram_size)) return false;
    pm->unassigned_writes++;
    return true;
}

void phys_write(struct phys_mem *pm, uint32_t pa, uint32_t val, int size)
{
    if (size != 1 && size != 2) size = 4;
    if (write_whole(pm, pa, val, size)) return;
    for (int i = 0; i < size; i++) write_whole(pm, pa + (uint32_t)i, (val >> (8 * i)) & 0xff, 1);
}

int phys_copy_in(struct phys_mem *pm, uint32_t pa, const void *src, size_t len)
{
    if (len == 0) return 0;
    if (len > pm->ram_size || pa > pm->ram_size - len) return -1;
    notify_code(pm, pa, (uint32_t)len);
    memcpy(phys_ram_span(pm, pa, (uint32_t)len), src, len);
    return 0;
}

int phys_copy_out(struct phys_mem *pm, void *dst, uint32_t pa, size_t len)
{
    if (len == 0) return 0;
    if (len > pm->ram_size || pa > pm->ram_size - len) return -1;
    memcpy(dst, phys_ram_span(pm, pa, (uint32_t)len), len);
    return 0;
}
