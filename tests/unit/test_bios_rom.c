/* Unit tests for -bios ROM images (frontend/bios_rom.c): the size rules and
 * their message, the two mappings (top of 4 GiB; the last 128 KiB at
 * 0xE0000, or all of a 64 KiB image at 0xF0000), ROM over RAM, dropped
 * writes, and a vCPU leaving RESET that runs the ROM from F000:FFF0. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/interp.h"
#include "frontend/bios_rom.h"
#include "frontend/cli.h"
#include "tests/unit/harness.h"

Test(bios_rom, size_rules)
{
    char err[256];
    cr_assert_eq(bios_rom_check_size("x.bin", 64u << 10, err, sizeof(err)), 0);
    cr_assert_eq(bios_rom_check_size("x.bin", 2u << 20, err, sizeof(err)), 0);
    cr_assert_eq(bios_rom_check_size("x.bin", 192u << 10, err, sizeof(err)), 0);
    const uint64_t bad[] = { 0, 512, 32u << 10, (64u << 10) + 1, (128u << 10) - 512, (2u << 20) + (64u << 10), 4u << 20 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        cr_assert_eq(bios_rom_check_size("x.bin", bad[i], err, sizeof(err)), -1, "size %llu", (unsigned long long)bad[i]);
        cr_assert_eq(strchr(err, '\n'), NULL);
    }
    bios_rom_check_size("rom.img", 1000, err, sizeof(err));
    cr_assert_str_eq(err, "BIOS image 'rom.img' is 1000 bytes: it must be 64 KiB to 2 MiB and a multiple of 64 KiB");
}

static uint8_t *pattern(uint32_t size)
{
    uint8_t *d = malloc(size);
    cr_assert_not_null(d);
    for (uint32_t i = 0; i < size; i++) d[i] = (uint8_t)(i * 7 + (i >> 16));
    return d;
}

Test(bios_rom, maps_top_and_low_alias)
{
    struct phys_mem pm;
    char err[128];
    cr_assert_eq(phys_init(&pm, 16u << 20), 0);
    const uint32_t size = 256u << 10;
    uint8_t *d = pattern(size);
    phys_write(&pm, 0xe0000, 0x11223344u, 4); /* RAM under the alias */
    cr_assert_eq(bios_rom_map(&pm, d, size, true, err, sizeof(err)), 0);
    cr_assert_eq(phys_read(&pm, 0xfffc0000u, 4), d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24);
    cr_assert_eq(phys_read(&pm, 0xfffffff0u, 1), d[size - 16]);
    /* the last 128 KiB at 0xE0000-0xFFFFF */
    cr_assert_eq(phys_read(&pm, 0xe0000, 1), d[size - (128u << 10)]);
    cr_assert_eq(phys_read(&pm, 0xffff0, 1), d[size - 16]);
    cr_assert_eq(phys_read(&pm, 0xdffff, 1), 0);   /* RAM below it */
    cr_assert_eq(phys_read(&pm, 0xbffff000u, 4), 0xffffffffu); /* below the top copy: unassigned */
    /* writes dropped on both copies */
    phys_write(&pm, 0xf0000, 0, 4);
    phys_write(&pm, 0xfffffff0u, 0, 1);
    cr_assert_eq(phys_read(&pm, 0xf0000, 1), d[size - (64u << 10)]);
    cr_assert_eq(phys_read(&pm, 0xfffffff0u, 1), d[size - 16]);
    free(d);
    phys_destroy(&pm);
}

Test(bios_rom, small_image_alias_and_no_alias)
{
    struct phys_mem pm;
    char err[128];
    cr_assert_eq(phys_init(&pm, 16u << 20), 0);
    uint8_t *d = pattern(64u << 10);
    cr_assert_eq(bios_rom_map(&pm, d, 64u << 10, true, err, sizeof(err)), 0);
    cr_assert_eq(phys_read(&pm, 0xf0000, 1), d[0]);
    cr_assert_eq(phys_read(&pm, 0xe0000, 1), 0); /* 64 KiB image: 0xE0000 stays RAM */
    phys_destroy(&pm);

    cr_assert_eq(phys_init(&pm, 16u << 20), 0);
    cr_assert_eq(bios_rom_map(&pm, d, 64u << 10, false, err, sizeof(err)), 0);
    cr_assert_eq(phys_read(&pm, 0xffff0000u, 1), d[0]);
    cr_assert_eq(phys_read(&pm, 0xf0000, 1), 0); /* RAM: the -kernel case */
    free(d);
    phys_destroy(&pm);
}

Test(bios_rom, load_rejects_bad_files)
{
    struct harness *h = harness_new(H_REAL16);
    char err[256];
    cr_assert_eq(bios_rom_load(&h->m, "/nonexistent/rom.bin", true, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "cannot open BIOS image '/nonexistent/rom.bin'"));
    char path[] = "/tmp/bt86-biosrom-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "abc", 3), 3);
    close(fd);
    cr_assert_eq(bios_rom_load(&h->m, path, true, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "is 3 bytes: it must be 64 KiB to 2 MiB"));
    unlink(path);
    harness_free(h);
}

/* RESET state: CS=F000 base FFFF0000, IP=FFF0. The ROM's reset vector jumps
 * far to F000:0100 (now in the low alias), which loads AX and halts. */
Test(bios_rom, cpu_starts_at_reset_vector)
{
    struct harness *h = harness_new(H_REAL16);
    char err[128];
    uint8_t *rom = calloc(1, 64u << 10);
    const uint8_t reset[] = { 0xea, 0x00, 0x01, 0x00, 0xf0 }; /* jmp f000:0100 */
    const uint8_t body[] = { 0xb8, 0x34, 0x12, 0x8c, 0xcb, 0xf4 }; /* mov ax,1234h; mov bx,cs; hlt */
    memcpy(rom + 0xfff0, reset, sizeof(reset));
    memcpy(rom + 0x100, body, sizeof(body));
    cr_assert_eq(bios_rom_map(&h->m.mem, rom, 64u << 10, true, err, sizeof(err)), 0);
    free(rom);
    vcpu_reset(h->v);
    cr_assert_eq(h->v->seg[S_CS].base, 0xffff0000u);
    cr_assert_eq(h->v->eip, 0xfff0);
    cpu_run(h->v, 3);
    cr_assert_eq(h->v->r[R_EAX] & 0xffff, 0x1234);
    cr_assert_eq(h->v->r[R_EBX] & 0xffff, 0xf000);
    cr_assert_eq(h->v->seg[S_CS].base, 0xf0000u);
    cr_assert_eq(h->v->eip, 0x105);
    harness_free(h);
}

/* -bios on the command line (frontend/cli.c): enough to boot on its own. */
Test(bios_rom, cli_option)
{
    struct options o;
    char err[256];
    char *a1[] = { "bt86", "-bios", "rom.bin", NULL };
    cr_assert_eq(cli_parse(3, a1, &o, err, sizeof(err)), 0);
    cr_assert_str_eq(o.bios, "rom.bin");
    cr_assert_null(o.kernel);
    char *a2[] = { "bt86", "-bios", "", NULL };
    cr_assert_eq(cli_parse(3, a2, &o, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "-bios needs a file name");
    char *a3[] = { "bt86", "-bios", NULL };
    cr_assert_eq(cli_parse(2, a3, &o, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "option -bios needs an argument");
    char *a4[] = { "bt86", "-m", "64", NULL };
    cr_assert_eq(cli_parse(3, a4, &o, err, sizeof(err)), -1); /* still nothing to boot */
}

/* PAM shadowing: phys_rom_route through bios_rom_pam_changed, per segment,
 * with the four read/write combinations (WE alone as on the 440FX: reads
 * from the ROM, writes to the RAM underneath). */
Test(bios_rom, pam_shadowing_routes_segments)
{
    struct harness *h = harness_new(H_REAL16);
    struct phys_mem *pm = &h->m.mem;
    char err[128];
    uint8_t *d = pattern(128u << 10);
    cr_assert_eq(bios_rom_map(pm, d, 128u << 10, true, err, sizeof(err)), 0);
    cr_assert_eq(pm->nrom, 1 + 4 + 1); /* top copy, four 16 KiB E segments, the F segment */
    struct pci_host ph;
    pci_host_init(&ph);
    pci_host_set_pam_hook(&ph, bios_rom_pam_changed, &h->m);
    const uint32_t f = 0xf1234, e = 0xe4321;
    const uint8_t rom_f = d[f - 0xe0000], rom_e = d[e - 0xe0000];

    /* F segment: WE only: reads from the ROM, writes reach RAM */
    pci_host_cfg_write(&ph, 0, 0, 0x59, 0x20, 1);
    phys_write(pm, f, 0x11, 1);
    cr_assert_eq(phys_read(pm, f, 1), rom_f);
    cr_assert_eq(pm->ram[f], 0x11);
    /* RE|WE: RAM both ways */
    pci_host_cfg_write(&ph, 0, 0, 0x59, 0x30, 1);
    cr_assert_eq(phys_read(pm, f, 1), 0x11);
    phys_write(pm, f, 0x22, 1);
    cr_assert_eq(phys_read(pm, f, 1), 0x22);
    bool is_ram = false;
    cr_assert_eq(phys_page_host(pm, f, &is_ram), pm->ram + (f & ~0xfffu));
    cr_assert(is_ram);
    /* RE only: RAM read-only */
    pci_host_cfg_write(&ph, 0, 0, 0x59, 0x10, 1);
    phys_write(pm, f, 0x33, 1);
    cr_assert_eq(phys_read(pm, f, 1), 0x22);
    cr_assert_eq(phys_page_host(pm, f, &is_ram), pm->ram + (f & ~0xfffu));
    cr_assert(!is_ram);
    /* 0: the ROM again (the RAM keeps its bytes) */
    pci_host_cfg_write(&ph, 0, 0, 0x59, 0x00, 1);
    cr_assert_eq(phys_read(pm, f, 1), rom_f);
    const uint8_t *hp = phys_page_host(pm, f, &is_ram);
    cr_assert_not_null(hp);
    cr_assert_neq(hp, pm->ram + (f & ~0xfffu));
    cr_assert_eq(hp[f & 0xfffu], rom_f);
    cr_assert(!is_ram);
    cr_assert_eq(pm->ram[f], 0x22);

    /* E segments are separate: only 0xE4000-0xE7FFF opened */
    pci_host_cfg_write(&ph, 0, 0, 0x5e, 0x30, 1);
    phys_write(pm, e, 0x44, 1);
    phys_write(pm, 0xe0010, 0x55, 1);
    cr_assert_eq(phys_read(pm, e, 1), 0x44);
    cr_assert_eq(phys_read(pm, 0xe0010, 1), d[0x10]);
    cr_assert_eq(phys_read(pm, f, 1), rom_f);
    /* the top copy never changes */
    cr_assert_eq(phys_read(pm, 0xfffe0000u + (e - 0xe0000), 1), rom_e);
    free(d);
    harness_free(h);
}

/* A PAM change while code from the segment is cached: the vCPU must see the
 * RAM copy's bytes, not the decoded ROM bytes or a stale TLB entry. */
Test(bios_rom, pam_change_drops_decoded_code)
{
    struct harness *h = harness_new(H_REAL16);
    char err[128];
    uint8_t *rom = calloc(1, 64u << 10);
    const uint8_t reset[] = { 0xea, 0x00, 0x01, 0x00, 0xf0 };   /* jmp f000:0100 */
    const uint8_t body[] = { 0xb8, 0x11, 0x11, 0xf4 };           /* mov ax,1111h; hlt */
    memcpy(rom + 0xfff0, reset, sizeof(reset));
    memcpy(rom + 0x100, body, sizeof(body));
    cr_assert_eq(bios_rom_map(&h->m.mem, rom, 64u << 10, true, err, sizeof(err)), 0);
    free(rom);
    struct pci_host ph;
    pci_host_init(&ph);
    pci_host_set_pam_hook(&ph, bios_rom_pam_changed, &h->m);
    vcpu_reset(h->v);
    cpu_run(h->v, 2);
    cr_assert_eq(h->v->r[R_EAX] & 0xffff, 0x1111);
    /* the RAM under F000:0100 holds other code; open it and run there again */
    const uint8_t ram_body[] = { 0xb8, 0x22, 0x22, 0xf4 };       /* mov ax,2222h; hlt */
    memcpy(h->m.mem.ram + 0xf0100, ram_body, sizeof(ram_body));
    pci_host_cfg_write(&ph, 0, 0, 0x59, 0x30, 1);
    h->v->eip = 0x100;
    h->v->halted = 0;
    cpu_run(h->v, 1);
    cr_assert_eq(h->v->r[R_EAX] & 0xffff, 0x2222);
    harness_free(h);
}
