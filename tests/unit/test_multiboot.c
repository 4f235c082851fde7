/* Unit tests for the Multiboot v1 loader (frontend/multiboot.c,
 * frontend/loader_elf.c): what lands in guest memory, the information
 * structure, modules, the entry state of the vCPU, and every rejection. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "frontend/multiboot.h"
#include "mbimage.h"

#define RAM (16u << 20)

static struct machine *m;
static char err[512];

static void setup(void)
{
    m = calloc(1, sizeof(*m));
    cr_assert(m && machine_init(m, RAM, 1) == 0);
    err[0] = '\0';
}

static void teardown(void)
{
    machine_destroy(m);
    free(m);
}

TestSuite(multiboot, .init = setup, .fini = teardown);

static uint32_t rd32(uint32_t pa)
{
    uint32_t v;
    memcpy(&v, m->mem.ram + pa, 4);
    return v;
}

static uint16_t rd16(uint32_t pa)
{
    uint16_t v;
    memcpy(&v, m->mem.ram + pa, 2);
    return v;
}

static int load(const struct mbimage *im, struct mb_boot *b)
{
    return multiboot_load_image(m, im->b, im->len, "k.elf", "k.elf -x y", NULL, 0, b, err, sizeof(err));
}

static void expect_error(const struct mbimage *im, const char *needle)
{
    struct mb_boot b;
    cr_assert_eq(multiboot_load_image(m, im->b, im->len, "k.elf", "k.elf", NULL, 0, &b, err, sizeof(err)), -1);
    cr_assert(strstr(err, needle), "error '%s' should contain '%s'", err, needle);
    cr_assert(!strchr(err, '\n'), "one line");
}

Test(multiboot, elf_segment_loaded_and_bss_zeroed)
{
    struct mbimage im;
    uint8_t code[4] = { 0x90, 0x90, 0xf4, 0xeb };
    mbimage_elf(&im, code, sizeof(code), 0x1000);
    memset(m->mem.ram + MBI_LOAD_ADDR, 0xcc, 0x2000);
    struct mb_boot b;
    cr_assert_eq(load(&im, &b), 0, "%s", err);
    cr_assert_eq(memcmp(m->mem.ram + MBI_LOAD_ADDR, im.b, MBI_FILE_SIZE), 0);
    for (uint32_t i = MBI_FILE_SIZE; i < 0x1000; i++)
        cr_assert_eq(m->mem.ram[MBI_LOAD_ADDR + i], 0, "BSS byte %#x", i);
    cr_assert_eq(m->mem.ram[MBI_LOAD_ADDR + 0x1000], 0xcc, "nothing past memsz");
    cr_assert_eq(b.entry, MBI_LOAD_ADDR + MBI_CODE_OFF);
    cr_assert_eq(b.info, MB_INFO_ADDR);
    cr_assert_eq(b.kernel_end, MBI_LOAD_ADDR + 0x1000);
}

Test(multiboot, information_structure)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    struct mb_boot b;
    cr_assert_eq(load(&im, &b), 0, "%s", err);
    uint32_t i = MB_INFO_ADDR;
    cr_assert_eq(rd32(i + 0), 0x24d); /* mem, cmdline, mods, mmap, loader name */
    cr_assert_eq(rd32(i + 4), 639);
    cr_assert_eq(rd32(i + 8), (RAM - 0x100000) / 1024);
    cr_assert_eq(rd32(i + 12), 0);
    cr_assert_str_eq((char *)m->mem.ram + rd32(i + 16), "k.elf -x y");
    cr_assert_eq(rd32(i + 20), 0);
    cr_assert_eq(rd32(i + 24), MB_MODS_ADDR);
    cr_assert_eq(rd32(i + 44), 7 * 24);
    cr_assert_eq(rd32(i + 48), MB_MMAP_ADDR);
    cr_assert_str_eq((char *)m->mem.ram + rd32(i + 64), "bt86");
    /* The board's map (frontend/memmap.c): low RAM, EBDA, BIOS area (ACPI
     * tables, ROM), RAM above 1 MiB, the two APIC windows, the top-of-4G ROM. */
    static const uint32_t map[7][3] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xe0000, 0x20000, 2 }, { 0x100000, RAM - 0x100000, 1 },
        { 0xfec00000u, 0x1000, 2 }, { 0xfee00000u, 0x1000, 2 }, { 0xfffc0000u, 0x40000, 2 },
    };
    for (int k = 0; k < 7; k++) {
        uint32_t e = MB_MMAP_ADDR + 24u * (uint32_t)k;
        cr_assert_eq(rd32(e), 20);
        cr_assert_eq(rd32(e + 4), map[k][0], "entry %d base", k);
        cr_assert_eq(rd32(e + 8), 0);
        cr_assert_eq(rd32(e + 12), map[k][1], "entry %d length", k);
        cr_assert_eq(rd32(e + 16), 0);
        cr_assert_eq(rd32(e + 20), map[k][2], "entry %d type", k);
    }
}

Test(multiboot, modules_page_aligned_above_kernel)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0x1234);
    uint8_t a[5] = { 1, 2, 3, 4, 5 }, c[0x1001];
    memset(c, 0x77, sizeof(c));
    struct mb_module mods[2] = { { a, sizeof(a), "a.bin one two" }, { c, sizeof(c), "c.bin" } };
    struct mb_boot b;
    cr_assert_eq(multiboot_load_image(m, im.b, im.len, "k", "k ", mods, 2, &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rd32(MB_INFO_ADDR + 20), 2);
    uint32_t e = MB_MODS_ADDR;
    cr_assert_eq(rd32(e), 0x102000);
    cr_assert_eq(rd32(e + 4), 0x102005);
    cr_assert_str_eq((char *)m->mem.ram + rd32(e + 8), "a.bin one two");
    cr_assert_eq(rd32(e + 12), 0);
    cr_assert_eq(memcmp(m->mem.ram + 0x102000, a, 5), 0);
    cr_assert_eq(rd32(e + 16), 0x103000);
    cr_assert_eq(rd32(e + 20), 0x104001);
    cr_assert_str_eq((char *)m->mem.ram + rd32(e + 24), "c.bin");
    cr_assert_eq(m->mem.ram[0x104000], 0x77);
    cr_assert_str_eq((char *)m->mem.ram + rd32(MB_INFO_ADDR + 16), "k ");
}

Test(multiboot, module_too_big_for_ram)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    static uint8_t big[RAM];
    struct mb_module mods[1] = { { big, RAM - 0x100000, "big" } };
    struct mb_boot b;
    cr_assert_eq(multiboot_load_image(m, im.b, im.len, "k", "k", mods, 1, &b, err, sizeof(err)), -1);
    cr_assert(strstr(err, "module 'big'") && strstr(err, "does not fit"), "%s", err);
}

Test(multiboot, entry_state)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    struct mb_boot b;
    cr_assert_eq(load(&im, &b), 0, "%s", err);
    struct vcpu *v = m->cpu[0];
    v->r[R_ECX] = 0x1234;
    v->eflags = 0x202;
    multiboot_enter(m, v, &b);
    cr_assert_eq(v->r[R_EAX], 0x2BADB002u);
    cr_assert_eq(v->r[R_EBX], MB_INFO_ADDR);
    cr_assert_eq(v->r[R_ECX], 0);
    cr_assert_eq(v->eip, MBI_LOAD_ADDR + MBI_CODE_OFF);
    cr_assert_eq(v->eflags, 0x2);
    cr_assert_eq(v->cr0, CR0_PE | CR0_ET);
    cr_assert_eq(v->cpl, 0);
    cr_assert_eq(v->code32, 1);
    cr_assert_eq(v->stack32, 1);
    cr_assert_eq(v->seg[S_CS].sel, 0x08);
    cr_assert_eq(v->seg[S_CS].attr, 0xc09b);
    cr_assert_eq(v->seg[S_CS].base, 0);
    cr_assert_eq(v->seg[S_CS].limit, 0xffffffffu);
    for (int s = 0; s < S_COUNT; s++) {
        if (s == S_CS) continue;
        cr_assert_eq(v->seg[s].sel, 0x10, "seg %d", s);
        cr_assert_eq(v->seg[s].attr, 0xc093, "seg %d", s);
        cr_assert_eq(v->seg[s].base, 0);
        cr_assert_eq(v->seg[s].limit, 0xffffffffu);
        cr_assert(v->seg[s].rd && v->seg[s].wr);
        cr_assert_eq(v->seg[s].hi, 0xffffffffu);
    }
    cr_assert_eq(v->gdtr.base, MB_GDT_ADDR);
    cr_assert_eq(v->gdtr.limit, 0x17);
    cr_assert_eq(rd32(MB_GDT_ADDR + 8), 0x0000ffff);
    cr_assert_eq(rd32(MB_GDT_ADDR + 12), 0x00cf9b00);
    cr_assert_eq(rd32(MB_GDT_ADDR + 20), 0x00cf9300);
    cr_assert_eq(rd16(0x400), 0x3f8);
    cr_assert_eq(rd16(0x40e), 0x9fc0);
    cr_assert_eq(rd16(0x413), 639);
    cr_assert_eq(m->a20_mask, 0xffffffffu);
}

Test(multiboot, higher_half_entry_translated)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_OFF + 8, 0xC0100000u);       /* p_vaddr */
    mbimage_put32(&im, 24, 0xC0100000u + MBI_CODE_OFF);    /* e_entry */
    struct mb_boot b;
    cr_assert_eq(load(&im, &b), 0, "%s", err);
    cr_assert_eq(b.entry, MBI_LOAD_ADDR + MBI_CODE_OFF);
}

Test(multiboot, aout_kludge)
{
    struct mbimage im;
    mbimage_aout(&im, 0x200000, 0x201000);
    memset(m->mem.ram + 0x200000, 0xcc, 0x2000);
    struct mb_boot b;
    cr_assert_eq(load(&im, &b), 0, "%s", err);
    cr_assert_eq(b.entry, 0x200000 + MBI_CODE_OFF);
    cr_assert_eq(memcmp(m->mem.ram + 0x200000, im.b, MBI_FILE_SIZE), 0);
    cr_assert_eq(m->mem.ram[0x200000 + MBI_FILE_SIZE], 0);
    cr_assert_eq(m->mem.ram[0x200fff], 0);
    cr_assert_eq(m->mem.ram[0x201000], 0xcc);
    cr_assert_eq(b.kernel_end, 0x201000);
}

Test(multiboot, aout_kludge_errors)
{
    struct mbimage im;
    mbimage_aout(&im, 0x200000, 0);
    mbimage_put32(&im, MBI_HDR_OFF + 12, 0x200000 + MBI_HDR_OFF + 0x1000); /* header_addr past the file start */
    expect_error(&im, "inconsistent");
    mbimage_aout(&im, 0x200000, 0x1ff000);
    expect_error(&im, "bss_end_addr");
    mbimage_aout(&im, RAM - 0x80, 0);
    expect_error(&im, "outside guest RAM");
    mbimage_aout(&im, 0x8000, 0);
    expect_error(&im, "overlaps the loader's area");
}

Test(multiboot, no_header)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_HDR_OFF, 0);
    expect_error(&im, "no Multiboot header in the first 8192 bytes");
}

Test(multiboot, header_must_be_aligned_and_within_8192_bytes)
{
    static uint8_t big[8192 + 64];
    memset(big, 0, sizeof(big));
    uint32_t hdr[3] = { 0x1BADB002u, 0, (uint32_t)-0x1BADB002 };
    struct mb_boot b;
    memcpy(big + 8184, hdr, 12); /* runs past byte 8192 */
    cr_assert_eq(multiboot_load_image(m, big, sizeof(big), "k", "k", NULL, 0, &b, err, sizeof(err)), -1);
    cr_assert(strstr(err, "no Multiboot header"), "%s", err);
    memset(big, 0, sizeof(big));
    memcpy(big + 2, hdr, 12); /* misaligned */
    cr_assert_eq(multiboot_load_image(m, big, sizeof(big), "k", "k", NULL, 0, &b, err, sizeof(err)), -1);
    cr_assert(strstr(err, "no Multiboot header"), "%s", err);
}

Test(multiboot, bad_checksum)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_HDR_OFF + 8, 0x12345678);
    expect_error(&im, "bad Multiboot header checksum");
}

Test(multiboot, unsupported_required_flags)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_HDR_OFF + 4, 0x0000000b);
    mbimage_fix_checksum(&im);
    expect_error(&im, "header flags 0x0000000b");
}

Test(multiboot, elf_rejections)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    im.b[1] = 'X';
    expect_error(&im, "not an ELF file (bad magic)");
    mbimage_elf(&im, NULL, 0, 0);
    im.b[4] = 2;
    expect_error(&im, "not a 32-bit ELF file");
    mbimage_elf(&im, NULL, 0, 0);
    im.b[18] = 62;
    expect_error(&im, "not an i386 ELF file (machine 62)");
    mbimage_elf(&im, NULL, 0, 0);
    im.b[16] = 3;
    expect_error(&im, "not an ELF executable");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, 28, 0xfffffff0u);
    expect_error(&im, "program headers lie outside the file");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_OFFSET, 0xfffffff0u);
    expect_error(&im, "lies outside the file");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_FILESZ, MBI_FILE_SIZE + 1);
    expect_error(&im, "lies outside the file");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_PADDR, RAM - 0x80);
    expect_error(&im, "lies outside guest RAM");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_PADDR, 0xfffff000u);
    mbimage_put32(&im, MBI_PH_MEMSZ, 0x2000);
    expect_error(&im, "lies outside guest RAM");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_PADDR, 0x9000);
    expect_error(&im, "overlaps the loader's area");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_PADDR, 0x100);
    expect_error(&im, "overlaps the loader's area");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_OFF, 4); /* PT_NOTE: nothing to load */
    expect_error(&im, "no loadable segments");
}

Test(multiboot, rejected_image_leaves_ram_untouched)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, 44, 2); /* a second program header ... */
    mbimage_put32(&im, 28, 0xc0); /* ... table moved to 0xc0: entry 0 fine, entry 1 past RAM */
    memcpy(im.b + 0xc0, im.b + MBI_PH_OFF, 32);
    memcpy(im.b + 0xe0, im.b + MBI_PH_OFF, 32);
    mbimage_put32(&im, 0xe0 + 12, RAM);
    memset(m->mem.ram + MBI_LOAD_ADDR, 0xcc, 0x100);
    expect_error(&im, "segment 1");
    cr_assert_eq(m->mem.ram[MBI_LOAD_ADDR], 0xcc);
}

Test(multiboot, load_from_files_with_initrd_list)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    char *kpath = mbimage_write_temp(im.b, im.len);
    char *m1 = mbimage_write_temp("one", 3);
    char *m2 = mbimage_write_temp("two!", 4);
    cr_assert(kpath && m1 && m2);
    char initrd[256];
    snprintf(initrd, sizeof(initrd), "%s a,,b c,%s", m1, m2);
    struct mb_boot b;
    int rc = multiboot_load(m, kpath, NULL, initrd, &b, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    char want[300];
    snprintf(want, sizeof(want), "%s ", kpath);
    cr_assert_str_eq((char *)m->mem.ram + rd32(MB_INFO_ADDR + 16), want, "QEMU: path, space, -append");
    cr_assert_eq(rd32(MB_INFO_ADDR + 20), 2);
    snprintf(want, sizeof(want), "%s a,b c", m1);
    cr_assert_str_eq((char *)m->mem.ram + rd32(MB_MODS_ADDR + 8), want);
    cr_assert_str_eq((char *)m->mem.ram + rd32(MB_MODS_ADDR + 24), m2);
    cr_assert_eq(memcmp(m->mem.ram + rd32(MB_MODS_ADDR), "one", 3), 0);
    cr_assert_eq(memcmp(m->mem.ram + rd32(MB_MODS_ADDR + 16), "two!", 4), 0);
    cr_assert_eq(rd32(MB_MODS_ADDR + 20) - rd32(MB_MODS_ADDR + 16), 4);

    rc = multiboot_load(m, kpath, "quiet", "/nonexistent/mod", &b, err, sizeof(err));
    cr_assert_eq(rc, -1);
    cr_assert_str_eq(err, "cannot open module '/nonexistent/mod': No such file or directory");
    rc = multiboot_load(m, "/nonexistent/k", NULL, NULL, &b, err, sizeof(err));
    cr_assert_str_eq(err, "cannot open kernel '/nonexistent/k': No such file or directory");
    rc = multiboot_load(m, "/tmp", NULL, NULL, &b, err, sizeof(err));
    cr_assert_str_eq(err, "kernel '/tmp' is not a regular file");
    unlink(kpath);
    unlink(m1);
    unlink(m2);
    free(kpath);
    free(m1);
    free(m2);
}
