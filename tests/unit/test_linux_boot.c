/* Unit tests for the Linux boot protocol loader (frontend/linux_boot.c): a
 * synthetic bzImage (setup header only, as the kernel's header.S lays it
 * out) is loaded and the zero page, the command line, the initrd placement,
 * the protected-mode kernel bytes and the vCPU entry state are checked, with
 * every rejection. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "frontend/linux_boot.h"

#define RAM (32u << 20)
#define SETUP_SECTS 4
#define PM_LEN 0x3000u

static struct machine *m;
static char err[512];
static uint8_t img[(SETUP_SECTS + 1) * 512 + PM_LEN];

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* A bzImage with protocol 2.15: setup_sects 4, LOADED_HIGH, the given
 * init_size, a 2 KiB command-line limit, initrd_addr_max 0x7fffffff. */
static void make_image(uint32_t init_size)
{
    memset(img, 0, sizeof(img));
    img[0x1f1] = SETUP_SECTS;
    put16(img + 0x1fe, 0xaa55);
    img[0x200] = 0xeb;
    img[0x201] = 0x6a; /* jump over the header: it ends at 0x26c */
    memcpy(img + 0x202, "HdrS", 4);
    put16(img + 0x206, 0x020f);
    img[0x211] = 0x01;
    put32(img + 0x214, 0x100000);
    put32(img + 0x22c, 0x7fffffff);
    put32(img + 0x230, 0x200000);
    put32(img + 0x238, 2047);
    put32(img + 0x260, init_size);
    for (uint32_t i = 0; i < PM_LEN; i++) img[(SETUP_SECTS + 1) * 512 + i] = (uint8_t)(i * 7 + 1);
}

static void setup(void)
{
    m = calloc(1, sizeof(*m));
    cr_assert(m && machine_init(m, RAM, 1) == 0);
    err[0] = '\0';
    make_image(0x100000);
}

static void teardown(void)
{
    machine_destroy(m);
    free(m);
}

TestSuite(linux_boot, .init = setup, .fini = teardown);

static uint32_t rd32(uint32_t pa)
{
    uint32_t v;
    memcpy(&v, m->mem.ram + pa, 4);
    return v;
}
static uint16_t rd16(uint32_t pa) { return (uint16_t)(m->mem.ram[pa] | m->mem.ram[pa + 1] << 8); }
static uint8_t rd8(uint32_t pa) { return m->mem.ram[pa]; }

Test(linux_boot, detects_bzimage)
{
    cr_assert(linux_is_bzimage(img, sizeof(img)));
    cr_assert_not(linux_is_bzimage(img, 0x200));
    img[0x203] = 'x';
    cr_assert_not(linux_is_bzimage(img, sizeof(img)));
}

Test(linux_boot, zero_page_and_kernel)
{
    static const uint8_t rd[5000] = { 0x1f, 0x8b };
    struct linux_boot b;
    cr_assert_eq(linux_load_image(m, img, sizeof(img), "bz", rd, sizeof(rd), "console=ttyS0 quiet", &b, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(b.entry, 0x100000);
    cr_assert_eq(b.params, LB_PARAMS_ADDR);
    const uint32_t p = LB_PARAMS_ADDR;
    /* The header is copied from the image; the loader's fields are set. */
    cr_assert_eq(rd16(p + 0x206), 0x020f);
    cr_assert_eq(rd32(p + 0x202), 0x53726448); /* "HdrS" */
    cr_assert_eq(rd8(p + 0x210), 0xff);
    cr_assert_eq(rd8(p + 0x211) & 1, 1);
    cr_assert_eq(rd32(p + 0x214), 0x100000);
    cr_assert_eq(rd32(p + 0x228), LB_CMDLINE_ADDR);
    cr_assert_str_eq((char *)m->mem.ram + LB_CMDLINE_ADDR, "console=ttyS0 quiet");
    /* The initrd: page aligned, at the top of RAM. */
    cr_assert_eq(rd32(p + 0x218), (RAM - sizeof(rd)) & ~0xfffu);
    cr_assert_eq(rd32(p + 0x21c), sizeof(rd));
    cr_assert_eq(memcmp(m->mem.ram + rd32(p + 0x218), rd, sizeof(rd)), 0);
    /* Text screen 80x25 VGA. */
    cr_assert_eq(rd8(p + 0x06), 3);
    cr_assert_eq(rd8(p + 0x07), 80);
    cr_assert_eq(rd8(p + 0x0e), 25);
    cr_assert_eq(rd8(p + 0x0f), 1);
    cr_assert_eq(rd16(p + 0x10), 16);
    cr_assert_eq(rd32(p + 0x1e0), (RAM - 0x100000) / 1024);
    /* E820: the board's seven entries, 20 bytes each. */
    cr_assert_eq(rd8(p + 0x1e8), 7);
    static const uint32_t map[7][3] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xe0000, 0x20000, 2 }, { 0x100000, RAM - 0x100000, 1 },
        { 0xfec00000u, 0x1000, 2 }, { 0xfee00000u, 0x1000, 2 }, { 0xfffc0000u, 0x40000, 2 },
    };
    for (uint32_t k = 0; k < 7; k++) {
        uint32_t e = p + 0x2d0 + 20 * k;
        cr_assert_eq(rd32(e), map[k][0], "entry %u base", k);
        cr_assert_eq(rd32(e + 4), 0);
        cr_assert_eq(rd32(e + 8), map[k][1], "entry %u length", k);
        cr_assert_eq(rd32(e + 12), 0);
        cr_assert_eq(rd32(e + 16), map[k][2], "entry %u type", k);
    }
    cr_assert_eq(rd8(p + 0x1ef), 0, "sentinel must stay 0");
    /* The protected-mode kernel: the bytes after the setup sectors, at 1 MiB. */
    cr_assert_eq(memcmp(m->mem.ram + 0x100000, img + (SETUP_SECTS + 1) * 512, PM_LEN), 0);
}

Test(linux_boot, no_initrd)
{
    struct linux_boot b;
    cr_assert_eq(linux_load_image(m, img, sizeof(img), "bz", NULL, 0, "", &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rd32(LB_PARAMS_ADDR + 0x218), 0);
    cr_assert_eq(rd32(LB_PARAMS_ADDR + 0x21c), 0);
    cr_assert_eq(rd8(LB_CMDLINE_ADDR), 0);
}

Test(linux_boot, entry_state)
{
    struct linux_boot b;
    cr_assert_eq(linux_load_image(m, img, sizeof(img), "bz", NULL, 0, "", &b, err, sizeof(err)), 0, "%s", err);
    struct vcpu *v = m->cpu[0];
    v->r[R_EBX] = 0x1234;
    v->eflags = 0x202;
    linux_enter(m, v, &b);
    cr_assert_eq(v->r[R_ESI], LB_PARAMS_ADDR);
    cr_assert_eq(v->r[R_EBX], 0);
    cr_assert_eq(v->r[R_EBP], 0);
    cr_assert_eq(v->r[R_EDI], 0);
    cr_assert_eq(v->eip, 0x100000);
    cr_assert_eq(v->eflags, 0x2);
    cr_assert_eq(v->cr0, CR0_PE | CR0_ET);
    cr_assert_eq(v->cpl, 0);
    cr_assert_eq(v->code32, 1);
    cr_assert_eq(v->seg[S_CS].sel, LB_BOOT_CS);
    cr_assert_eq(v->seg[S_CS].attr, 0xc09b);
    cr_assert_eq(v->seg[S_DS].sel, LB_BOOT_DS);
    cr_assert_eq(v->seg[S_SS].sel, LB_BOOT_DS);
    cr_assert_eq(v->seg[S_SS].limit, 0xffffffffu);
    cr_assert_eq(v->gdtr.base, LB_GDT_ADDR);
    cr_assert_eq(v->gdtr.limit, 31);
    cr_assert_eq(rd32(LB_GDT_ADDR + 0x10), 0x0000ffff);
    cr_assert_eq(rd32(LB_GDT_ADDR + 0x14), 0x00cf9b00);
    cr_assert_eq(rd32(LB_GDT_ADDR + 0x18), 0x0000ffff);
    cr_assert_eq(rd32(LB_GDT_ADDR + 0x1c), 0x00cf9300);
}

Test(linux_boot, rejects_old_protocol)
{
    put16(img + 0x206, 0x0204);
    struct linux_boot b;
    cr_assert_eq(linux_load_image(m, img, sizeof(img), "bz", NULL, 0, "", &b, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "bz: Linux boot protocol 2.04 is too old (bt86 needs 2.06 or later)");
}

Test(linux_boot, rejects_zimage)
{
    img[0x211] = 0;
    struct linux_boot b;
    cr_assert_eq(linux_load_image(m, img, sizeof(img), "bz", NULL, 0, "", &b, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "bz: a zImage (loaded low) is not supported; use a bzImage");
}

Test(linux_boot, rejects_truncated)
{
    struct linux_boot b;
    cr_assert_eq(linux_load_image(m, img, (SETUP_SECTS + 1) * 512, "bz", NULL, 0, "", &b, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "bz: truncated bzImage (setup code only)");
}

Test(linux_boot, rejects_long_cmdline)
{
    char line[3000];
    memset(line, 'a', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    struct linux_boot b;
    cr_assert_eq(linux_load_image(m, img, sizeof(img), "bz", NULL, 0, line, &b, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "-append: the kernel command line is too long (2999 bytes; this kernel takes 2047)");
}

Test(linux_boot, rejects_what_does_not_fit)
{
    make_image(RAM); /* the unpacked kernel alone needs all of RAM above 1 MiB */
    struct linux_boot b;
    cr_assert_eq(linux_load_image(m, img, sizeof(img), "bz", NULL, 0, "", &b, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "the kernel (33554432 bytes when unpacked) does not fit in 32 MiB of RAM (try a larger -m)");
    make_image(0x100000);
    static uint8_t big[31u << 20];
    cr_assert_eq(linux_load_image(m, img, sizeof(img), "bz", big, sizeof(big), "", &b, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "the kernel (1048576 bytes when unpacked) and the initrd (32505856 bytes) do not fit in 32 MiB "
                          "of RAM (try a larger -m)");
}
