/* Guest physical memory: RAM bounds, unassigned space, MMIO dispatch, ROM,
 * block copies and the code-page write hook. */
#include <errno.h>
#include <unistd.h>

#include "mem_fixture.h"

/* A recording MMIO device. */
struct dev {
    int nreads, nwrites;
    uint32_t r_off[8], w_off[8], w_val[8];
    int r_size[8], w_size[8];
};

static uint32_t dev_read(void *opaque, uint32_t off, int size)
{
    struct dev *d = opaque;
    if (d->nreads < 8) {
        d->r_off[d->nreads] = off;
        d->r_size[d->nreads] = size;
    }
    d->nreads++;
    return 0xa5a5a500u | (off & 0xff); /* wider than size on purpose: must be masked */
}

static void dev_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct dev *d = opaque;
    if (d->nwrites < 8) {
        d->w_off[d->nwrites] = off;
        d->w_val[d->nwrites] = val;
        d->w_size[d->nwrites] = size;
    }
    d->nwrites++;
}

static void add_dev(struct mf *f, struct dev *d, uint32_t base, uint32_t size)
{
    struct mmio_region r = { .base = base, .size = size, .read = dev_read, .write = dev_write, .opaque = d, .name = "test" };
    cr_assert_eq(phys_add_mmio(&f->m.mem, &r), 0);
}

Test(phys, ram_little_endian_sizes)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    cr_assert_eq(pm->ram_size, MF_RAM);
    phys_write(pm, 0x3000, 0x11223344, 4);
    cr_assert_eq(phys_read(pm, 0x3000, 1), 0x44);
    cr_assert_eq(phys_read(pm, 0x3001, 2), 0x2233);
    cr_assert_eq(phys_read(pm, 0x3000, 4), 0x11223344);
    phys_write(pm, 0x3002, 0xabcd, 2);
    phys_write(pm, 0x3000, 0x1ff, 1); /* only the low byte is stored */
    cr_assert_eq(mf_rd32(f, 0x3000), 0xabcd33ffu);
    /* Unaligned and crossing a page inside RAM. */
    phys_write(pm, 0x3ffe, 0xdeadbeef, 4);
    cr_assert_eq(phys_read(pm, 0x3ffe, 4), 0xdeadbeef);
    cr_assert_eq(f->m.mem.ram[0x4001], 0xde);
    mf_free(f);
}

Test(phys, past_ram_reads_ones_writes_dropped)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    cr_assert_eq(phys_read(pm, MF_RAM, 4), 0xffffffffu);
    cr_assert_eq(phys_read(pm, MF_RAM, 2), 0xffffu);
    cr_assert_eq(phys_read(pm, MF_RAM + 12345, 1), 0xffu);
    cr_assert_eq(phys_read(pm, 0xfffffffcu, 4), 0xffffffffu);
    cr_assert_eq(phys_read(pm, 0xfffffffeu, 4), 0xffffffffu); /* wraps past 4 GiB */
    /* Straddling the end of RAM: RAM bytes, then ones. */
    mf_wr32(f, MF_RAM - 4, 0x44332211);
    cr_assert_eq(phys_read(pm, MF_RAM - 2, 4), 0xffff4433u);
    uint64_t before = pm->unassigned_writes;
    phys_write(pm, MF_RAM, 0x12345678, 4);
    phys_write(pm, 0xffffffffu, 0x12345678, 4);
    cr_assert_gt(pm->unassigned_writes, before);
    phys_write(pm, MF_RAM - 1, 0xaabbccdd, 4); /* first byte kept, rest dropped */
    cr_assert_eq(mf_rd32(f, MF_RAM - 4), 0xdd332211u);
    cr_assert_gt(pm->unassigned_reads, 0);
    cr_assert_null(phys_ram_ptr(pm, MF_RAM - 2, 4));
    cr_assert_null(phys_readable_ptr(pm, MF_RAM, 1));
    cr_assert_eq(phys_readable_ptr(pm, MF_RAM - 4, 4), pm->ram + MF_RAM - 4);
    mf_free(f);
}

Test(phys, copy_in_out_bounds)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8];
    cr_assert_eq(phys_copy_in(pm, MF_RAM - 8, buf, 8), 0);
    cr_assert_eq(phys_copy_out(pm, out, MF_RAM - 8, 8), 0);
    cr_assert_arr_eq(out, buf, 8);
    uint8_t z[8] = { 0 };
    cr_assert_eq(phys_copy_in(pm, MF_RAM - 4, z, 8), -1);
    cr_assert_eq(mf_rd32(f, MF_RAM - 4), 0x08070605u); /* nothing written */
    cr_assert_eq(phys_copy_in(pm, 0xfffffff8u, z, 16), -1);
    cr_assert_eq(phys_copy_in(pm, 0, z, (size_t)MF_RAM + 1), -1);
    cr_assert_eq(phys_copy_out(pm, out, MF_RAM - 4, 8), -1);
    cr_assert_eq(phys_copy_out(pm, out, MF_RAM, 1), -1);
    cr_assert_eq(phys_copy_in(pm, MF_RAM, z, 0), 0);
    mf_free(f);
}

Test(phys, mmio_dispatch_offsets_and_sizes)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    struct dev d = { 0 };
    add_dev(f, &d, 0xfee00000u, 0x1000);
    cr_assert_eq(phys_read(pm, 0xfee00020u, 4), 0xa5a5a520u);
    cr_assert_eq(d.nreads, 1);
    cr_assert_eq(d.r_off[0], 0x20);
    cr_assert_eq(d.r_size[0], 4);
    cr_assert_eq(phys_read(pm, 0xfee00031u, 2), 0xa531u); /* masked to the size */
    cr_assert_eq(d.r_off[1], 0x31);
    cr_assert_eq(d.r_size[1], 2);
    cr_assert_eq(phys_read(pm, 0xfee00fffu, 1), 0xffu);
    cr_assert_eq(d.r_size[2], 1);
    phys_write(pm, 0xfee000b0u, 0x12345678, 2);
    cr_assert_eq(d.nwrites, 1);
    cr_assert_eq(d.w_off[0], 0xb0);
    cr_assert_eq(d.w_val[0], 0x5678);
    cr_assert_eq(d.w_size[0], 2);
    /* Straddling the region's end: byte accesses, the ones outside unassigned. */
    d.nreads = 0;
    cr_assert_eq(phys_read(pm, 0xfee00ffeu, 4), 0xfffffffeu);
    cr_assert_eq(d.nreads, 2);
    cr_assert_eq(d.r_off[0], 0xffe);
    cr_assert_eq(d.r_size[0], 1);
    cr_assert_eq(d.r_off[1], 0xfff);
    cr_assert_eq(phys_page_host(pm, 0xfee00000u, &(bool){ false }), NULL);
    cr_assert_null(phys_readable_ptr(pm, 0xfee00000u, 4));
    mf_free(f);
}

Test(phys, mmio_overlays_ram)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    struct dev d = { 0 };
    add_dev(f, &d, 0xa0000, 0x20000);
    mf_wr32(f, 0xa0000, 0x11111111);
    cr_assert_eq(phys_read(pm, 0xa0004, 1), 0x04);
    cr_assert_eq(d.nreads, 1);
    phys_write(pm, 0xa0000, 0x22, 1);
    cr_assert_eq(mf_rd32(f, 0xa0000), 0x11111111u); /* RAM underneath untouched */
    cr_assert_eq(d.nwrites, 1);
    bool is_ram = true;
    cr_assert_null(phys_page_host(pm, 0xbf000, &is_ram));
    cr_assert_not_null(phys_page_host(pm, 0xc0000, &is_ram));
    cr_assert(is_ram);
    /* A RAM read straddling into the device: first byte from RAM, second from the device. */
    f->m.mem.ram[0x9ffff] = 0x77;
    cr_assert_eq(phys_read(pm, 0x9ffff, 2), 0x0077u);
    mf_free(f);
}

/* Copy a byte from src to dst through a pipe: the kernel's copies fail
 * with EFAULT where the host may not read src or write dst. */
static bool pipe_copy(const uint8_t *src, uint8_t *dst)
{
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    ssize_t n = write(fd[1], src, 1);
    if (n == 1) n = read(fd[0], dst, 1);
    int err = errno;
    close(fd[0]);
    close(fd[1]);
    cr_assert(n == 1 || err == EFAULT);
    return n == 1;
}

/* Can the host read the byte at p? */
static bool host_readable(const uint8_t *p)
{
    uint8_t b;
    return pipe_copy(p, &b);
}

/* Can the host write the byte at p? (It is written with what it held.) */
static bool host_writable(uint8_t *p)
{
    uint8_t was = host_readable(p) ? *p : 0;
    return pipe_copy(&was, p);
}

/* The physical view (phys_view.c): the same pages as `ram` at their
 * physical addresses, plain RAM only; phys_page_host hands it out for
 * plain RAM and `ram` or the ROM for the rest. */
Test(phys, the_view_maps_plain_ram_only)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    cr_assert_not_null(pm->view);
    pm->ram[0x5000] = 0x42;
    cr_assert_eq(pm->view[0x5000], 0x42); /* one memory */
    pm->view[0x5001] = 0x43;
    cr_assert_eq(pm->ram[0x5001], 0x43);
    bool is_ram = false;
    cr_assert_eq(phys_page_host(pm, 0x5000, &is_ram), pm->view + 0x5000);
    cr_assert(is_ram);
    uint32_t pa = 0;
    cr_assert(phys_host_pa(pm, pm->view + 0x5123, &pa) && pa == 0x5123);
    cr_assert(phys_host_pa(pm, pm->ram + 0x6000, &pa) && pa == 0x6000);
    cr_assert(!phys_host_pa(pm, pm->view + MF_RAM, &pa));
    /* A device and a ROM go out of the view; past RAM and the guard never were in it. */
    struct dev d = { 0 };
    cr_assert(host_readable(pm->view + 0xa0000));
    add_dev(f, &d, 0xa0000, 0x20000);
    cr_assert(!host_readable(pm->view + 0xa0000));
    cr_assert(!host_readable(pm->view + 0xbffff));
    cr_assert(host_readable(pm->view + 0x9ffff));
    static const uint8_t rom[0x10000];
    cr_assert_eq(phys_add_rom(pm, 0xe0000, rom, sizeof(rom)), 0);
    cr_assert(!host_readable(pm->view + 0xe0000));
    cr_assert_eq(phys_rom_route(pm, 0xe0000, 0x10000, true, false), 1);
    cr_assert_eq(phys_page_host(pm, 0xe0000, &is_ram), pm->ram + 0xe0000); /* shadowed: through `ram` */
    cr_assert(!is_ram);
    cr_assert(host_readable(pm->view + MF_RAM - 1));
    cr_assert(!host_readable(pm->view + MF_RAM));
    cr_assert(!host_readable(pm->view + 0xffffffffu));
    cr_assert(!host_readable(pm->view + 0x100000000ull + 7));
    cr_assert_eq(d.nreads + d.nwrites, 0);
    mf_free(f);
}

/* With view_wp, code pages are read-only in the view, page by page, as
 * they become and stop being code; overlaid pages stay hidden; `ram` stays
 * writable. Without it nothing is protected. */
Test(phys, view_wp_keeps_code_pages_read_only)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    struct dev d = { 0 };
    add_dev(f, &d, 0xa0000, 0x1000);
    phys_code_page_set(pm, 5); /* before view_wp: no protection */
    cr_assert(host_writable(pm->view + 0x5000));
    phys_view_wp_on(pm);
    cr_assert(pm->view_wp);
    cr_assert_eq(pm->view_wp_pages, 1);
    cr_assert(!host_writable(pm->view + 0x5000)); /* protected when turned on */
    cr_assert(host_readable(pm->view + 0x5fff));
    cr_assert(host_writable(pm->view + 0x4fff));
    cr_assert(host_writable(pm->view + 0x6000));
    cr_assert(host_writable(pm->ram + 0x5000));
    phys_code_page_set(pm, 7);
    phys_code_page_set(pm, 7); /* (counted once) */
    phys_code_page_set(pm, 0xa0); /* overlaid: stays hidden */
    cr_assert_eq(pm->code_pages[7], 1);
    cr_assert_eq(pm->view_wp_pages, 2);
    cr_assert(!host_writable(pm->view + 0x7800));
    cr_assert(!host_readable(pm->view + 0xa0000));
    phys_code_page_clear(pm, 5);
    cr_assert_eq(pm->code_pages[5], 0);
    cr_assert(host_writable(pm->view + 0x5000));
    phys_code_page_clear(pm, 0xa0);
    cr_assert(!host_readable(pm->view + 0xa0000));
    cr_assert_eq(pm->view_wp_pages, 1);
    /* A whole flush: nothing protected, and it stays on. */
    phys_code_pages_clear_all(pm);
    cr_assert(pm->view_wp);
    cr_assert_eq(pm->view_wp_pages, 0);
    cr_assert(host_writable(pm->view + 0x7800));
    cr_assert(!host_readable(pm->view + 0xa0000));
    /* Off: everything plain is writable again, the device still hidden. */
    phys_code_page_set(pm, 9);
    cr_assert(!host_writable(pm->view + 0x9000));
    phys_view_wp_off(pm);
    cr_assert(!pm->view_wp);
    cr_assert(host_writable(pm->view + 0x9000));
    cr_assert_eq(pm->code_pages[9], 1);
    cr_assert(!host_readable(pm->view + 0xa0000));
    cr_assert_eq(d.nreads + d.nwrites, 0);
    mf_free(f);
}

/* Past PHYS_VIEW_WP_MAX protected pages (each one apart from the next, so
 * each costs the host mappings) view_wp turns itself off, leaving every
 * page writable, and stays off. */
Test(phys, view_wp_turns_off_past_its_page_limit)
{
    struct phys_mem pm;
    uint32_t pages = 2 * PHYS_VIEW_WP_MAX + 4;
    cr_assert_eq(phys_init(&pm, pages << 12), 0);
    cr_assert_not_null(pm.view);
    phys_view_wp_on(&pm);
    for (uint32_t i = 0; i < PHYS_VIEW_WP_MAX; i++) phys_code_page_set(&pm, 2 * i);
    cr_assert(pm.view_wp);
    cr_assert_eq(pm.view_wp_pages, PHYS_VIEW_WP_MAX);
    cr_assert(!host_writable(pm.view + ((size_t)(2 * PHYS_VIEW_WP_MAX - 2) << 12)));
    phys_code_page_set(&pm, 2 * PHYS_VIEW_WP_MAX);
    cr_assert(!pm.view_wp);
    cr_assert_eq(pm.code_pages[2 * PHYS_VIEW_WP_MAX], 1);
    for (uint32_t i = 0; i <= PHYS_VIEW_WP_MAX; i += 997) cr_assert(host_writable(pm.view + ((size_t)(2 * i) << 12)));
    phys_code_page_set(&pm, 1);
    cr_assert(host_writable(pm.view + 0x1000));
    phys_destroy(&pm);
}

Test(phys, rom_reads_and_dropped_writes)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    static uint8_t img[0x2000];
    for (unsigned i = 0; i < sizeof(img); i++) img[i] = (uint8_t)(i * 7);
    cr_assert_eq(phys_add_rom(pm, 0xfffe0000u, img, sizeof(img)), 0);
    cr_assert_eq(phys_add_rom(pm, 0xf0000, img, 0x1000), 0); /* shadows RAM */
    img[0] = 0x99; /* the ROM keeps its own copy */
    cr_assert_eq(phys_read(pm, 0xfffe0000u, 1), 0);
    cr_assert_eq(phys_read(pm, 0xfffe0001u, 4), (uint32_t)(7 | 14 << 8 | 21 << 16 | 28 << 24));
    phys_write(pm, 0xfffe0001u, 0, 4);
    cr_assert_eq(phys_read(pm, 0xfffe0001u, 1), 7);
    mf_wr32(f, 0xf0000, 0xcafebabe);
    cr_assert_eq(phys_read(pm, 0xf0004, 1), 28);
    phys_write(pm, 0xf0004, 0x55, 1);
    cr_assert_eq(phys_read(pm, 0xf0004, 1), 28);
    cr_assert_eq(mf_rd32(f, 0xf0000), 0xcafebabeu);
    bool is_ram = true;
    const uint8_t *p = phys_page_host(pm, 0xfffe1000u, &is_ram);
    cr_assert_not_null(p);
    cr_assert(!is_ram);
    cr_assert_eq(p[1], (uint8_t)(0x1001 * 7));
    cr_assert_eq(phys_readable_ptr(pm, 0xfffe1ffeu, 2), p + 0xffe);
    cr_assert_null(phys_readable_ptr(pm, 0xfffe1ffeu, 4)); /* runs off the ROM */
    cr_assert_eq(phys_read(pm, 0xfffe2000u, 1), 0xff);     /* past the ROM: unassigned */
    mf_free(f);
}

Test(phys, region_registration_limits)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    struct dev d = { 0 };
    struct mmio_region r = { .base = 0xfffff000u, .size = 0x2000, .read = dev_read, .write = dev_write, .opaque = &d };
    cr_assert_eq(phys_add_mmio(pm, &r), -1); /* wraps past 4 GiB */
    r.size = 0;
    cr_assert_eq(phys_add_mmio(pm, &r), -1);
    r.size = 0x1000;
    for (int i = 0; i < PHYS_MAX_MMIO; i++) cr_assert_eq(phys_add_mmio(pm, &r), 0);
    cr_assert_eq(phys_add_mmio(pm, &r), -1);
    uint8_t b = 0;
    cr_assert_eq(phys_add_rom(pm, 0xffffffffu, &b, 2), -1);
    mf_free(f);
}

Test(phys, code_page_write_hook)
{
    struct mf *f = mf_new();
    struct phys_mem *pm = &f->m.mem;
    mf_wr32(f, 0x5010, 0x01020304);
    phys_write(pm, 0x5010, 0xaabbccdd, 4);
    cr_assert_eq(f->code_writes, 0);
    pm->code_pages[5] = 1;
    phys_write(pm, 0x5012, 0x1234, 2);
    cr_assert_eq(f->code_writes, 1);
    cr_assert_eq(f->cw_pa, 0x5012);
    cr_assert_eq(f->cw_size, 2);
    cr_assert_eq(f->cw_seen, 0xaabbccddu); /* called before the write */
    cr_assert_eq(mf_rd32(f, 0x5010), 0x1234ccddu);
    uint8_t z[4] = { 0 };
    cr_assert_eq(phys_copy_in(pm, 0x4ffe, z, 4), 0);
    cr_assert_eq(f->code_writes, 2);
    cr_assert(phys_is_code_page(pm, 0x5fff));
    cr_assert(!phys_is_code_page(pm, 0x6000));
    cr_assert(!phys_is_code_page(pm, MF_RAM + 0x5000));
    mf_free(f);
}
