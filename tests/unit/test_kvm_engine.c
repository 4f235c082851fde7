/* Unit tests for -engine kvm's host-independent parts (frontend/kvm_engine.c):
 * the memory-slot plan (RAM minus ROM and MMIO pages, ROMs as their own
 * pieces), bt86's descriptor cache to KVM's segment and back, and how an I/O
 * or MMIO exit reaches the I/O bus and physical memory, using a kvm_run page
 * built in memory. The probe is checked against an independent open of
 * /dev/kvm. Nothing here needs KVM itself. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cpu/machine.h"
#include "devices/iobus.h"
#include "frontend/kvm_engine.h"
#include "memory/phys.h"

/* ---- memory plan ---- */

static struct phys_mem pm;
static uint8_t rom_lo[0x20000], rom_hi[0x20000];

static uint32_t mmio_rd(void *o, uint32_t off, int size) { (void)o; (void)off; (void)size; return 0; }
static void mmio_wr(void *o, uint32_t off, uint32_t val, int size) { (void)o; (void)off; (void)val; (void)size; }

static void add_mmio(uint32_t base, uint32_t size)
{
    struct mmio_region r = { base, size, mmio_rd, mmio_wr, NULL, "test" };
    cr_assert_eq(phys_add_mmio(&pm, &r), 0);
}

static void plan_setup(void) { cr_assert_eq(phys_init(&pm, 16u << 20), 0); }
static void plan_teardown(void) { phys_destroy(&pm); }

TestSuite(kvm_plan, .init = plan_setup, .fini = plan_teardown);

Test(kvm_plan, ram_only_with_mmio_above)
{
    add_mmio(0xfee00000u, 0x1000);
    struct kvm_mem_piece p[8];
    cr_assert_eq(kvm_engine_plan_memory(&pm, p, 8), 1);
    cr_assert_eq(p[0].gpa, 0);
    cr_assert_eq(p[0].size, 16u << 20);
    cr_assert_eq(p[0].host, pm.ram);
    cr_assert_not(p[0].rom);
}

Test(kvm_plan, mmio_inside_ram_splits_it_on_page_boundaries)
{
    add_mmio(0xa0000u, 0x20000);
    add_mmio(0x1800u, 0x10); /* not page aligned: its whole page becomes a hole */
    struct kvm_mem_piece p[8];
    cr_assert_eq(kvm_engine_plan_memory(&pm, p, 8), 3);
    cr_assert_eq(p[0].gpa, 0);
    cr_assert_eq(p[0].size, 0x1000);
    cr_assert_eq(p[1].gpa, 0x2000);
    cr_assert_eq(p[1].size, 0xa0000 - 0x2000);
    cr_assert_eq(p[1].host, pm.ram + 0x2000);
    cr_assert_eq(p[2].gpa, 0xc0000);
    cr_assert_eq(p[2].size, (16u << 20) - 0xc0000);
    cr_assert_eq(p[2].host, pm.ram + 0xc0000);
}

Test(kvm_plan, roms_are_their_own_pieces_over_ram)
{
    memset(rom_lo, 0x11, sizeof(rom_lo));
    memset(rom_hi, 0x22, sizeof(rom_hi));
    cr_assert_eq(phys_add_rom(&pm, 0xfffe0000u, rom_hi, sizeof(rom_hi)), 0);
    cr_assert_eq(phys_add_rom(&pm, 0xe0000u, rom_lo, sizeof(rom_lo)), 0);
    add_mmio(0xfee00000u, 0x1000);
    struct kvm_mem_piece p[8];
    cr_assert_eq(kvm_engine_plan_memory(&pm, p, 8), 4);
    cr_assert_eq(p[0].gpa, 0);
    cr_assert_eq(p[0].size, 0xe0000);
    cr_assert_not(p[0].rom);
    cr_assert_eq(p[1].gpa, 0xe0000);
    cr_assert_eq(p[1].size, 0x20000);
    cr_assert(p[1].rom);
    cr_assert_eq(p[1].host[0], 0x11); /* phys_add_rom keeps its own copy */
    cr_assert_eq(p[2].gpa, 0x100000);
    cr_assert_eq(p[2].size, (16u << 20) - 0x100000);
    cr_assert_eq(p[2].host, pm.ram + 0x100000);
    cr_assert_eq(p[3].gpa, 0xfffe0000u);
    cr_assert_eq(p[3].size, 0x20000);
    cr_assert(p[3].rom);
    cr_assert_eq(p[3].host[0x1ffff], 0x22);
}

Test(kvm_plan, too_many_pieces_is_an_error)
{
    add_mmio(0x10000u, 0x1000);
    add_mmio(0x30000u, 0x1000);
    struct kvm_mem_piece p[2];
    cr_assert_eq(kvm_engine_plan_memory(&pm, p, 2), -1);
}

/* ---- segments ---- */

static struct seg_cache cache(uint16_t sel, uint32_t base, uint32_t limit, uint16_t attr)
{
    struct seg_cache s;
    memset(&s, 0, sizeof(s));
    s.sel = sel;
    s.base = base;
    s.limit = limit;
    s.attr = attr;
    return s;
}

Test(kvm_seg, flat_ring0_code)
{
    struct seg_cache s = cache(0x08, 0, 0xffffffffu, 0xc09b);
    struct kvm_segment k;
    kvm_engine_seg_to_kvm(&s, false, &k);
    cr_assert_eq(k.selector, 0x08);
    cr_assert_eq(k.base, 0);
    cr_assert_eq(k.limit, 0xffffffffu);
    cr_assert_eq(k.type, 0xb);
    cr_assert_eq(k.s, 1);
    cr_assert_eq(k.dpl, 0);
    cr_assert_eq(k.present, 1);
    cr_assert_eq(k.db, 1);
    cr_assert_eq(k.g, 1);
    cr_assert_eq(k.l, 0);
    cr_assert_eq(k.avl, 0);
    cr_assert_eq(k.unusable, 0);
}

Test(kvm_seg, ring3_data_with_avl_and_accessed_forced)
{
    struct seg_cache s = cache(0x23, 0x1000, 0xfffff, 0x10f2); /* P DPL3 S, type 2 (not accessed), AVL */
    struct kvm_segment k;
    kvm_engine_seg_to_kvm(&s, false, &k);
    cr_assert_eq(k.type, 3);
    cr_assert_eq(k.dpl, 3);
    cr_assert_eq(k.avl, 1);
    cr_assert_eq(k.db, 0);
    cr_assert_eq(k.g, 0);
    cr_assert_eq(k.base, 0x1000);
    cr_assert_eq(k.limit, 0xfffff);
}

Test(kvm_seg, not_present_is_unusable_in_protected_mode)
{
    struct seg_cache s = cache(0, 0, 0, 0);
    struct kvm_segment k;
    kvm_engine_seg_to_kvm(&s, false, &k);
    cr_assert_eq(k.present, 0);
    cr_assert_eq(k.unusable, 1);
}

Test(kvm_seg, real_mode_segments_are_usable)
{
    struct seg_cache d = cache(0xf000, 0xf0000, 0xffff, 0);
    struct seg_cache c = cache(0x0000, 0, 0xffff, 0x9a);
    struct kvm_segment kd, kc;
    kvm_engine_seg_to_kvm(&d, true, &kd);
    kvm_engine_seg_to_kvm(&c, true, &kc);
    cr_assert_eq(kd.present, 1);
    cr_assert_eq(kd.s, 1);
    cr_assert_eq(kd.type, 3);
    cr_assert_eq(kd.unusable, 0);
    cr_assert_eq(kd.base, 0xf0000);
    cr_assert_eq(kd.selector, 0xf000);
    cr_assert_eq(kc.type, 0xb);
    cr_assert_eq(kc.dpl, 0);
}

Test(kvm_seg, round_trip_keeps_the_cache)
{
    struct seg_cache s = cache(0x1b, 0x400000, 0xffffffffu, 0xd0fb), back;
    struct kvm_segment k;
    kvm_engine_seg_to_kvm(&s, false, &k);
    memset(&back, 0, sizeof(back));
    kvm_engine_seg_from_kvm(&k, &back);
    cr_assert_eq(back.sel, 0x1b);
    cr_assert_eq(back.base, 0x400000);
    cr_assert_eq(back.limit, 0xffffffffu);
    cr_assert_eq(back.attr, 0xd0fb);
}

Test(kvm_seg, unusable_comes_back_not_present)
{
    struct kvm_segment k;
    memset(&k, 0, sizeof(k));
    k.type = 3;
    k.s = 1;
    k.present = 1;
    k.unusable = 1;
    struct seg_cache back;
    kvm_engine_seg_from_kvm(&k, &back);
    cr_assert_eq(back.attr, 0x0013);
}

/* ---- exits ---- */

static struct machine m;
static _Alignas(8) uint8_t run_page[8192];
static struct kvm_run *run = (struct kvm_run *)run_page;
static uint32_t io_log[16][3]; /* port, value, size */
static int io_n;
static uint32_t mmio_log[16][3]; /* offset, value, size */
static int mmio_n;

static uint32_t io_rd(void *o, uint16_t port, int size)
{
    (void)o;
    return size == 1 ? 0x5a : size == 2 ? 0xbeef : 0xc0de0000u + port;
}

static void io_wr(void *o, uint16_t port, uint32_t val, int size)
{
    (void)o;
    if (io_n < 16) {
        io_log[io_n][0] = port;
        io_log[io_n][1] = val;
        io_log[io_n++][2] = (uint32_t)size;
    }
}

static uint32_t dev_rd(void *o, uint32_t off, int size)
{
    (void)o;
    return 0x12345678u >> (8 * (4 - size)) ^ off;
}

static void dev_wr(void *o, uint32_t off, uint32_t val, int size)
{
    (void)o;
    if (mmio_n < 16) {
        mmio_log[mmio_n][0] = off;
        mmio_log[mmio_n][1] = val;
        mmio_log[mmio_n++][2] = (uint32_t)size;
    }
}

static void exit_setup(void)
{
    memset(&m, 0, sizeof(m));
    memset(run_page, 0, sizeof(run_page));
    io_n = mmio_n = 0;
    iobus_init(&m.io);
    cr_assert_eq(iobus_register(&m.io, 0x1230, 8, io_rd, io_wr, NULL, "test"), 0);
    cr_assert_eq(phys_init(&m.mem, 1u << 20), 0);
    struct mmio_region r = { 0xfee00000u, 0x1000, dev_rd, dev_wr, NULL, "dev" };
    cr_assert_eq(phys_add_mmio(&m.mem, &r), 0);
}

static void exit_teardown(void) { phys_destroy(&m.mem); }

TestSuite(kvm_exit, .init = exit_setup, .fini = exit_teardown);

Test(kvm_exit, string_out_reaches_the_bus_in_order)
{
    run->exit_reason = KVM_EXIT_IO;
    run->io.direction = KVM_EXIT_IO_OUT;
    run->io.size = 2;
    run->io.port = 0x1234;
    run->io.count = 3;
    run->io.data_offset = 4096;
    uint16_t data[3] = { 0x1111, 0x2222, 0x3333 };
    memcpy(run_page + 4096, data, sizeof(data));
    cr_assert(kvm_engine_do_io(&m, run, sizeof(run_page)));
    cr_assert_eq(io_n, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(io_log[i][0], 0x1234);
        cr_assert_eq(io_log[i][1], data[i]);
        cr_assert_eq(io_log[i][2], 2);
    }
}

Test(kvm_exit, in_fills_the_data_area)
{
    run->io.direction = KVM_EXIT_IO_IN;
    run->io.size = 4;
    run->io.port = 0x1231;
    run->io.count = 2;
    run->io.data_offset = 4096;
    cr_assert(kvm_engine_do_io(&m, run, sizeof(run_page)));
    uint32_t got[2];
    memcpy(got, run_page + 4096, sizeof(got));
    cr_assert_eq(got[0], 0xc0de1231u);
    cr_assert_eq(got[1], 0xc0de1231u);
    run->io.size = 1;
    run->io.count = 1;
    cr_assert(kvm_engine_do_io(&m, run, sizeof(run_page)));
    cr_assert_eq(run_page[4096], 0x5a);
    cr_assert_eq(run_page[4097], 0x12); /* untouched beyond the byte */
}

Test(kvm_exit, unclaimed_port_reads_all_ones)
{
    run->io.direction = KVM_EXIT_IO_IN;
    run->io.size = 2;
    run->io.port = 0x9999;
    run->io.count = 1;
    run->io.data_offset = 4096;
    cr_assert(kvm_engine_do_io(&m, run, sizeof(run_page)));
    cr_assert_eq(run_page[4096], 0xff);
    cr_assert_eq(run_page[4097], 0xff);
}

Test(kvm_exit, malformed_io_is_refused)
{
    run->io.direction = KVM_EXIT_IO_OUT;
    run->io.port = 0x1234;
    run->io.size = 3;
    run->io.count = 1;
    run->io.data_offset = 4096;
    cr_assert_not(kvm_engine_do_io(&m, run, sizeof(run_page)));
    run->io.size = 4;
    run->io.count = 1025; /* 4100 bytes from 4096: past the page */
    cr_assert_not(kvm_engine_do_io(&m, run, sizeof(run_page)));
    run->io.count = 1;
    run->io.data_offset = 9000;
    cr_assert_not(kvm_engine_do_io(&m, run, sizeof(run_page)));
    cr_assert_eq(io_n, 0);
}

Test(kvm_exit, mmio_write_and_read)
{
    run->exit_reason = KVM_EXIT_MMIO;
    run->mmio.phys_addr = 0xfee00080u;
    run->mmio.len = 4;
    run->mmio.is_write = 1;
    uint32_t v = 0x20;
    memcpy(run->mmio.data, &v, 4);
    kvm_engine_do_mmio(&m, run);
    cr_assert_eq(mmio_n, 1);
    cr_assert_eq(mmio_log[0][0], 0x80);
    cr_assert_eq(mmio_log[0][1], 0x20);
    cr_assert_eq(mmio_log[0][2], 4);
    run->mmio.is_write = 0;
    run->mmio.len = 2;
    run->mmio.phys_addr = 0xfee00390u;
    memset(run->mmio.data, 0xaa, 8);
    kvm_engine_do_mmio(&m, run);
    cr_assert_eq(run->mmio.data[0], (uint8_t)((0x1234u ^ 0x390u) & 0xff));
    cr_assert_eq(run->mmio.data[1], (uint8_t)((0x1234u ^ 0x390u) >> 8));
    cr_assert_eq(run->mmio.data[2], 0xaa);
}

Test(kvm_exit, eight_byte_mmio_write_goes_byte_by_byte)
{
    run->mmio.phys_addr = 0xfee00010u;
    run->mmio.len = 8;
    run->mmio.is_write = 1;
    for (int i = 0; i < 8; i++) run->mmio.data[i] = (uint8_t)(0x10 + i);
    kvm_engine_do_mmio(&m, run);
    cr_assert_eq(mmio_n, 8);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(mmio_log[i][0], 0x10u + (uint32_t)i);
        cr_assert_eq(mmio_log[i][1], 0x10u + (uint32_t)i);
        cr_assert_eq(mmio_log[i][2], 1);
    }
}

Test(kvm_exit, mmio_exit_on_ram_reads_ram_and_above_4g_reads_ones)
{
    m.mem.ram[0x5000] = 0x77;
    run->mmio.phys_addr = 0x5000;
    run->mmio.len = 1;
    run->mmio.is_write = 0;
    kvm_engine_do_mmio(&m, run);
    cr_assert_eq(run->mmio.data[0], 0x77);
    run->mmio.phys_addr = 0x100000000ull;
    run->mmio.len = 4;
    memset(run->mmio.data, 0, 8);
    kvm_engine_do_mmio(&m, run);
    cr_assert_eq(run->mmio.data[0], 0xff);
    cr_assert_eq(run->mmio.data[3], 0xff);
    run->mmio.is_write = 1;
    kvm_engine_do_mmio(&m, run); /* dropped, nothing reaches the device */
    cr_assert_eq(mmio_n, 0);
}

/* ---- probe ---- */

Test(kvm_probe, agrees_with_opening_dev_kvm)
{
    char err[256] = "";
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int e = errno;
    int rc = kvm_engine_probe(err, sizeof(err));
    if (fd < 0) {
        char want[256];
        snprintf(want, sizeof(want), "-engine kvm: /dev/kvm is not available (%s)", strerror(e));
        cr_assert_eq(rc, -1);
        cr_assert_str_eq(err, want);
    } else {
        close(fd);
        /* a /dev/kvm that opens is usable unless its API is not version 12 */
        if (rc != 0) cr_assert(strstr(err, "API version") || strstr(err, "KVM_CAP_USER_MEMORY"), "%s", err);
    }
}

Test(kvm_probe, missing_device_gives_the_one_line_reason)
{
    char err[256] = "";
    cr_assert_eq(kvm_engine_probe_dev("/nonexistent/kvm", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "-engine kvm: /nonexistent/kvm is not available (No such file or directory)");
}

Test(kvm_probe, a_device_that_is_not_kvm_is_refused)
{
    char err[256] = "";
    /* /dev/null opens, but KVM_GET_API_VERSION fails on it */
    cr_assert_eq(kvm_engine_probe_dev("/dev/null", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "-engine kvm: /dev/null is not available (API version -1, bt86 needs 12)");
}

/* ---- command line ---- */

#include "frontend/cli.h"

static int parse(char **argv, int argc, struct options *o, char *err, size_t n) { return cli_parse(argc, argv, o, err, n); }

Test(kvm_cli, engine_kvm_parses)
{
    char *argv[] = { "bt86", "-engine", "kvm", "-kernel", "k.elf" };
    struct options o;
    char err[256] = "";
    cr_assert_eq(parse(argv, 5, &o, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(o.engine, ENGINE_KVM);
}

Test(kvm_cli, kvm_refuses_instruction_counting_options)
{
    char *a1[] = { "bt86", "-engine", "kvm", "-max-insns", "1000", "-kernel", "k.elf" };
    char *a2[] = { "bt86", "-icount", "3", "-engine", "kvm", "-kernel", "k.elf" };
    struct options o;
    char err[256] = "";
    cr_assert_eq(parse(a1, 7, &o, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "-max-insns needs an engine that counts instructions (not -engine kvm)");
    cr_assert_eq(parse(a2, 7, &o, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "-icount needs an engine that counts instructions (not -engine kvm)");
    char *a3[] = { "bt86", "-engine", "kvm", "-smp", "2", "-kernel", "k.elf" };
    cr_assert_eq(parse(a3, 7, &o, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "-engine kvm runs one vCPU (-smp 1)");
}
