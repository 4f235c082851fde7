/* Guest physical address space: RAM from address 0 of the -m size, optional ROM
 * ranges, and MMIO regions dispatched to device callbacks. Every access is
 * bounds-checked here; nothing else turns a guest physical address into a host
 * pointer (DESIGN-BRIEF rule 1). Physical addresses are 32 bits; the A20 gate
 * mask is applied by the caller that models it (memory/paging.c). */
#ifndef BT86_MEMORY_PHYS_H
#define BT86_MEMORY_PHYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t (*mmio_read_fn)(void *opaque, uint32_t offset, int size);
typedef void (*mmio_write_fn)(void *opaque, uint32_t offset, uint32_t val, int size);

struct mmio_region {
    uint32_t base, size;
    mmio_read_fn read;
    mmio_write_fn write;
    void *opaque;
    const char *name;
};

struct rom_region {
    uint32_t base, size;
    uint8_t *data; /* owned by phys_mem */
    /* Chipset shadowing (the 440FX PAM registers): reads and/or writes of
     * the range may go to the RAM underneath instead (both false: a ROM). */
    bool read_ram, write_ram;
};

#define PHYS_MAX_MMIO 16
#define PHYS_MAX_ROM  8

/* Called when the guest writes a page that holds decoded code (the decode cache
 * registers itself here). */
typedef void (*code_write_fn)(void *opaque, uint32_t pa, unsigned size);

struct phys_mem {
    uint8_t *ram;
    uint32_t ram_size;       /* bytes, multiple of 4 KiB */
    uint8_t *code_pages;     /* one byte per RAM page: nonzero if decoded code lives there */
    uint8_t *overlaid;       /* one byte per RAM page: nonzero if an MMIO or ROM region overlaps it */
    struct mmio_region mmio[PHYS_MAX_MMIO];
    int nmmio;
    struct rom_region rom[PHYS_MAX_ROM];
    int nrom;
    code_write_fn on_code_write;
    void *code_write_opaque;
    uint64_t unassigned_reads, unassigned_writes; /* statistics */
    int ram_fd;              /* the memfd `ram` maps (-1: anonymous memory, no view) */
    /* RAM mapped a second time at its physical addresses (phys_view.c;
     * NULL: none): PHYS_VIEW_SIZE bytes, the pages of plain RAM (no MMIO or
     * ROM over them) readable and writable, everything else inaccessible.
     * phys_page_host hands out these addresses for plain RAM pages, so the
     * TLB, the decode cache and translated code all reach such a page
     * through one host address (a load after a store to the same memory
     * through another address is not forwarded from the store). */
    uint8_t *view;
    /* Pages holding decoded code are read-only in the view (phys_view_wp_on:
     * the translator then writes guest memory through the view too, and a
     * write to code must fault so that the code is dropped first). Set,
     * cleared and counted by phys_code_page_set/clear only. */
    bool view_wp;
    uint32_t view_wp_pages;
};

int  phys_init(struct phys_mem *pm, uint32_t ram_size); /* 0 or -1 (out of memory) */

/* The view (memory/phys_view.c): 4 GiB and a guard for an 8-byte access at
 * 0xffffffff. phys_init builds it (phys_view_build: 0, or -1: no memfd or
 * no address space, then there is none); phys_mark_overlaid, for each MMIO
 * or ROM region added, marks the RAM pages it overlaps and hides them from
 * the view. */
#define PHYS_VIEW_SIZE (0x100000000ull + 0x10000u)
int  phys_view_build(struct phys_mem *pm);
void phys_mark_overlaid(struct phys_mem *pm, uint32_t base, uint32_t size);
/* Code pages in the view: phys_view_wp_on makes every page that holds
 * decoded code (code_pages) read-only there, and from then on
 * phys_code_page_set/clear keep it so, page by page. It turns itself off
 * (phys_view_wp_off: the whole view writable again, view_wp false) when
 * the host refuses a protection change or past PHYS_VIEW_WP_MAX protected
 * pages (each can cost the host two more mappings; vm.max_map_count);
 * whoever writes through the view must then stop (bt_run.c checks
 * view_wp before every block). The decode cache marks and drops code
 * pages only through these; a C write to a code page first drops its code
 * (the on_code_write hook), which leaves the page writable. */
#define PHYS_VIEW_WP_MAX 16384u
void phys_view_wp_on(struct phys_mem *pm);
void phys_view_wp_off(struct phys_mem *pm);
void phys_code_page_set(struct phys_mem *pm, uint32_t page);
void phys_code_page_clear(struct phys_mem *pm, uint32_t page);
void phys_code_pages_clear_all(struct phys_mem *pm);
void phys_destroy(struct phys_mem *pm);
int  phys_add_mmio(struct phys_mem *pm, const struct mmio_region *r);
int  phys_add_rom(struct phys_mem *pm, uint32_t base, const void *data, uint32_t size);
/* Route the ROM regions lying wholly inside [base, base+size): reads to the
 * RAM underneath (read_ram) or to the ROM, writes to that RAM (write_ram) or
 * dropped. Returns how many regions changed; the caller must then flush the
 * vCPUs' TLBs and the decoded code of the range (host pointers and decoded
 * bytes may now come from the other side). */
int  phys_rom_route(struct phys_mem *pm, uint32_t base, uint32_t size, bool read_ram, bool write_ram);

/* Host pointer to [pa, pa+len) if that range lies wholly in RAM, else NULL. */
static inline uint8_t *phys_ram_ptr(const struct phys_mem *pm, uint32_t pa, uint32_t len)
{
    if (pa < pm->ram_size && len <= pm->ram_size - pa)
        return pm->ram + pa;
    return NULL;
}
/* [pa, pa+len) through the view if it is all plain RAM (in RAM, on no
 * overlaid page) and there is a view, else NULL: the address the TLB holds
 * for that memory (a page reached through both mappings would be faulted
 * in twice, and a load through one after a store through the other is not
 * forwarded from the store). */
static inline uint8_t *phys_plain_ptr(const struct phys_mem *pm, uint32_t pa, uint32_t len)
{
    if (!pm->view || len == 0 || pa >= pm->ram_size || len > pm->ram_size - pa) return NULL;
    for (uint32_t p = pa >> 12; p <= (pa + len - 1) >> 12; p++)
        if (pm->overlaid[p]) return NULL;
    return pm->view + pa;
}
/* phys_plain_ptr, else phys_ram_ptr (bulk copies: loaders, DMA). */
static inline uint8_t *phys_ram_span(const struct phys_mem *pm, uint32_t pa, uint32_t len)
{
    uint8_t *p = phys_plain_ptr(pm, pa, len);
    return p ? p : phys_ram_ptr(pm, pa, len);
}
/* Host pointer for reading only: RAM or ROM. */
const uint8_t *phys_readable_ptr(const struct phys_mem *pm, uint32_t pa, uint32_t len);

/* Host pointer to the whole 4 KiB page at pa_page if it is all RAM (no ROM or
 * MMIO overlay; *is_ram = true) or all inside one ROM (*is_ram = false), else
 * NULL. Used by the paging unit to decide what may enter the TLB. A ROM whose
 * reads go to RAM gives the RAM, with *is_ram telling whether writes do too. */
const uint8_t *phys_page_host(const struct phys_mem *pm, uint32_t pa_page, bool *is_ram);

/* Slow, general accesses (RAM, ROM, MMIO, unassigned). size is 1, 2 or 4.
 * Unassigned reads return all ones; unassigned and ROM writes are dropped.
 * MMIO and ROM take precedence over RAM at the same address. An access that
 * straddles two kinds of memory is split into bytes. A write to a RAM page
 * holding decoded code calls on_code_write first (phys_copy_in too). */
uint32_t phys_read(struct phys_mem *pm, uint32_t pa, int size);
void     phys_write(struct phys_mem *pm, uint32_t pa, uint32_t val, int size);
/* Block copies for loaders and DMA; return 0, or -1 if any byte is outside RAM. */
int phys_copy_in(struct phys_mem *pm, uint32_t pa, const void *src, size_t len);
int phys_copy_out(struct phys_mem *pm, void *dst, uint32_t pa, size_t len);

/* The physical address of a host pointer into RAM, through `ram` or the
 * view (phys_page_host's pointers), or false. */
static inline bool phys_host_pa(const struct phys_mem *pm, const uint8_t *h, uint32_t *pa)
{
    uintptr_t x = (uintptr_t)h;
    /* (the view first: what the TLB holds for plain RAM) */
    if (pm->view && x >= (uintptr_t)pm->view && x - (uintptr_t)pm->view < pm->ram_size) {
        *pa = (uint32_t)(x - (uintptr_t)pm->view);
        return true;
    }
    if (x >= (uintptr_t)pm->ram && x - (uintptr_t)pm->ram < pm->ram_size) {
        *pa = (uint32_t)(x - (uintptr_t)pm->ram);
        return true;
    }
    return false;
}

static inline bool phys_is_code_page(const struct phys_mem *pm, uint32_t pa)
{
    return pa < pm->ram_size && pm->code_pages[pa >> 12];
}

#endif
