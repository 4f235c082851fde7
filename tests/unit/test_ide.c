/* The IDE/ATA controller (devices/ide.c), suite `ide`: register-level
 * sequences through the I/O bus on temp-file images — IDENTIFY word by word,
 * READ/WRITE SECTORS and MULTIPLE with DRQ/IRQ sequencing, LBA and CHS,
 * count 0 = 256, IDNF, soft reset, nIEN, master/slave with missing devices,
 * 32-bit data transfers, the miscellaneous commands — and the boot-sector
 * guest (guests/bootsector) booted end to end by the interpreter. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/interp.h"
#include "cpu/machine.h"
#include "devices/debug_exit.h"
#include "devices/disk_image.h"
#include "devices/ide.h"
#include "devices/uart16550.h"
#include "frontend/boot_disk.h"

#define P 0x1f0   /* primary command block */
#define PC 0x3f6  /* primary control */
#define S 0x170
#define SC 0x376

static uint8_t pat(uint32_t lba, uint32_t i) { return (uint8_t)(lba * 7 + i * 13 + (i >> 8) + (lba >> 8)); }

struct fx {
    struct iobus bus;
    struct ide ide;
    struct disk_image *d[4];
    char path[4][64];
    int level[16], rises[16];
};

static void on_irq(void *opaque, int irq, int level)
{
    struct fx *f = opaque;
    cr_assert(irq == 14 || irq == 15);
    if (level && !f->level[irq]) f->rises[irq]++;
    f->level[irq] = level;
}

/* A sparse temp image of `sectors` sectors; the first `filled` carry pat(). */
static void make_image(char *path, uint32_t sectors, uint32_t filled)
{
    strcpy(path, "/tmp/bt86-ide-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    uint8_t buf[512];
    for (uint32_t s = 0; s < filled; s++) {
        for (uint32_t i = 0; i < 512; i++) buf[i] = pat(s, i);
        cr_assert_eq(write(fd, buf, 512), 512);
    }
    cr_assert_eq(ftruncate(fd, (off_t)sectors * 512), 0);
    close(fd);
}

/* A controller with disks of the given sizes at positions 0-3 (0 = none). */
static struct fx *fx_new(uint32_t s0, uint32_t s1, uint32_t s2, uint32_t s3, enum disk_open_mode mode)
{
    struct fx *f = calloc(1, sizeof(*f));
    cr_assert(f);
    iobus_init(&f->bus);
    cr_assert_eq(ide_init(&f->ide, &f->bus, on_irq, f), 0);
    uint32_t sz[4] = { s0, s1, s2, s3 };
    for (int i = 0; i < 4; i++) {
        if (!sz[i]) continue;
        char err[256];
        make_image(f->path[i], sz[i], sz[i] < 4096 ? sz[i] : 4096);
        f->d[i] = disk_image_open(f->path[i], mode, err, sizeof(err));
        cr_assert(f->d[i], "%s", err);
        cr_assert_eq(ide_attach(&f->ide, i, f->d[i]), 0);
    }
    return f;
}

static void fx_free(struct fx *f)
{
    for (int i = 0; i < 4; i++) {
        if (!f->d[i]) continue;
        disk_image_close(f->d[i]);
        unlink(f->path[i]);
    }
    free(f);
}

static uint8_t inb(struct fx *f, uint16_t port) { return (uint8_t)iobus_in(&f->bus, port, 1); }
static uint16_t inw(struct fx *f, uint16_t port) { return (uint16_t)iobus_in(&f->bus, port, 2); }
static uint32_t inl(struct fx *f, uint16_t port) { return iobus_in(&f->bus, port, 4); }
static void outb(struct fx *f, uint16_t port, uint8_t v) { iobus_out(&f->bus, port, v, 1); }
static void outw(struct fx *f, uint16_t port, uint16_t v) { iobus_out(&f->bus, port, v, 2); }
static void outl(struct fx *f, uint16_t port, uint32_t v) { iobus_out(&f->bus, port, v, 4); }

/* Task file + command, LBA28 on the device `dev` (0/1) of the channel at base. */
static void cmd_lba(struct fx *f, uint16_t base, int dev, uint32_t lba, uint8_t count, uint8_t cmd)
{
    outb(f, base + 6, (uint8_t)(0xe0 | (dev << 4) | ((lba >> 24) & 0xf)));
    outb(f, base + 2, count);
    outb(f, base + 3, (uint8_t)lba);
    outb(f, base + 4, (uint8_t)(lba >> 8));
    outb(f, base + 5, (uint8_t)(lba >> 16));
    outb(f, base + 7, cmd);
}

static uint32_t taskfile_lba(struct fx *f, uint16_t base)
{
    return ((uint32_t)(inb(f, base + 6) & 0xf) << 24) | ((uint32_t)inb(f, base + 5) << 16) |
           ((uint32_t)inb(f, base + 4) << 8) | inb(f, base + 3);
}

/* Read one 512-byte block with 16-bit reads and check it against sector lba. */
static void read_check_sector(struct fx *f, uint16_t base, uint32_t lba)
{
    for (uint32_t i = 0; i < 512; i += 2) {
        uint16_t w = inw(f, base);
        cr_assert_eq(w, pat(lba, i) | (pat(lba, i + 1) << 8), "LBA %u offset %u", lba, i);
    }
}

static void file_sector(struct fx *f, int i, uint32_t lba, uint8_t *out)
{
    int fd = open(f->path[i], O_RDONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(pread(fd, out, 512, (off_t)lba * 512), 512);
    close(fd);
}

/* ---- IDENTIFY ---- */

static void ata_string(const uint16_t *w, int first, int n, char *out)
{
    for (int i = 0; i < n; i++) {
        out[2 * i] = (char)(w[first + i] >> 8);
        out[2 * i + 1] = (char)w[first + i];
    }
    out[2 * n] = 0;
}

Test(ide, identify_device_words)
{
    struct fx *f = fx_new(0x123456, 0, 0, 0, DISK_OPEN_RW);
    outb(f, P + 6, 0xa0);
    outb(f, P + 7, 0xec);
    cr_assert_eq(inb(f, PC), 0x58, "DRDY DSC DRQ (alternate status)");
    cr_assert_eq(f->level[14], 1);
    cr_assert_eq(f->rises[14], 1);
    cr_assert_eq(inb(f, P + 7), 0x58);
    cr_assert_eq(f->level[14], 0, "reading the status acknowledges the interrupt");
    uint16_t w[256];
    for (int i = 0; i < 256; i++) {
        cr_assert_eq(inb(f, P + 7) & 0x88, 0x08, "DRQ during the block (word %d)", i);
        w[i] = inw(f, P);
    }
    cr_assert_eq(inb(f, P + 7), 0x50, "DRDY DSC, DRQ gone");
    cr_assert_eq(f->rises[14], 1, "no interrupt after the last data-in block");
    cr_assert_eq(inw(f, P), 0, "the data port reads 0 outside a transfer");

    uint32_t cyl = 0x123456 / (16 * 63);
    cr_assert_eq(w[0], 0x0040);
    cr_assert_eq(w[1], cyl);
    cr_assert_eq(w[3], 16);
    cr_assert_eq(w[6], 63);
    char s[41];
    ata_string(w, 10, 10, s);
    cr_assert_str_eq(s, "BT8600001           ");
    ata_string(w, 23, 4, s);
    cr_assert_str_eq(s, "1.0     ");
    ata_string(w, 27, 20, s);
    cr_assert_str_eq(s, "BT86 HARDDISK                           ");
    cr_assert_eq(w[47], 0x8010);
    cr_assert_eq(w[48], 0x0001);
    cr_assert_eq(w[49], 0x0a00, "LBA and IORDY, no DMA");
    cr_assert_eq(w[50], 0x4000);
    cr_assert_eq(w[53], 0x0003);
    cr_assert_eq(w[54], cyl);
    cr_assert_eq(w[55], 16);
    cr_assert_eq(w[56], 63);
    uint32_t chs_cap = cyl * 16 * 63;
    cr_assert_eq(w[57] | ((uint32_t)w[58] << 16), chs_cap);
    cr_assert_eq(w[59], 0x0110, "multiple mode on, 16 sectors (QEMU's reset value)");
    cr_assert_eq(w[60], 0x3456);
    cr_assert_eq(w[61], 0x0012);
    cr_assert_eq(w[62], 0);
    cr_assert_eq(w[63], 0, "no multiword DMA");
    cr_assert_eq(w[64], 0x0003);
    cr_assert_eq(w[67], 120);
    cr_assert_eq(w[68], 120);
    cr_assert_eq(w[80], 0x007e);
    cr_assert_eq(w[82], 0x4020);
    cr_assert_eq(w[83], 0x5000, "FLUSH CACHE; bit 10 (48-bit) clear");
    cr_assert_eq(w[84], 0x4000);
    cr_assert_eq(w[85], 0x4020);
    cr_assert_eq(w[86], 0x1000);
    cr_assert_eq(w[87], 0x4000);
    cr_assert_eq(w[88], 0);
    cr_assert_eq(w[255] & 0xff, 0xa5);
    uint8_t sum = 0;
    for (int i = 0; i < 256; i++) sum = (uint8_t)(sum + (w[i] & 0xff) + (w[i] >> 8));
    cr_assert_eq(sum, 0, "word 255 checksum");
    fx_free(f);
}

Test(ide, identify_small_disk_geometry_and_slave_serial)
{
    struct fx *f = fx_new(128, 64, 0, 0, DISK_OPEN_RW);
    outb(f, P + 6, 0xb0);
    outb(f, P + 7, 0xec);
    uint16_t w[256];
    for (int i = 0; i < 256; i++) w[i] = inw(f, P);
    cr_assert_eq(w[1], 2, "cylinders clamped to 2 as QEMU does");
    cr_assert_eq(w[60], 64);
    cr_assert_eq(w[61], 0);
    char s[41];
    ata_string(w, 10, 10, s);
    cr_assert_str_eq(s, "BT8600002           ");
    fx_free(f);
}

/* ---- READ / WRITE SECTORS ---- */

Test(ide, read_sectors_sequencing)
{
    struct fx *f = fx_new(1000, 0, 0, 0, DISK_OPEN_RW);
    cmd_lba(f, P, 0, 10, 3, 0x20);
    for (uint32_t s = 0; s < 3; s++) {
        cr_assert_eq(inb(f, PC), 0x58, "sector %u ready", s);
        cr_assert_eq(f->rises[14], (int)s + 1, "one interrupt per data-in block");
        cr_assert_eq(inb(f, P + 7), 0x58);
        cr_assert_eq(f->level[14], 0);
        read_check_sector(f, P, 10 + s);
    }
    cr_assert_eq(inb(f, PC), 0x50);
    cr_assert_eq(f->rises[14], 3);
    cr_assert_eq(inb(f, P + 2), 0, "sector count counted down");
    cr_assert_eq(taskfile_lba(f, P), 13, "address of the next sector");
    cr_assert_eq(inb(f, P + 1), 0, "no error");
    cr_assert_eq(f->ide.sectors_read, 3);
    fx_free(f);
}

Test(ide, write_sectors_sequencing)
{
    struct fx *f = fx_new(1000, 0, 0, 0, DISK_OPEN_RW);
    cmd_lba(f, P, 0, 4, 2, 0x30);
    cr_assert_eq(inb(f, PC), 0x58, "DRQ for the first block at once");
    cr_assert_eq(f->rises[14], 0, "no interrupt before the first data-out block");
    for (int i = 0; i < 256; i++) outw(f, P, (uint16_t)(0x1000 + i));
    cr_assert_eq(inb(f, PC), 0x58);
    cr_assert_eq(f->rises[14], 1, "interrupt after the first block");
    cr_assert_eq(inb(f, P + 7), 0x58);
    for (int i = 0; i < 256; i++) outw(f, P, (uint16_t)(0x2000 + i));
    cr_assert_eq(inb(f, PC), 0x50);
    cr_assert_eq(f->rises[14], 2, "interrupt at completion");
    cr_assert_eq(inb(f, P + 2), 0);
    cr_assert_eq(taskfile_lba(f, P), 6);
    uint8_t b[512];
    file_sector(f, 0, 4, b);
    for (int i = 0; i < 256; i++) cr_assert_eq(b[2 * i] | (b[2 * i + 1] << 8), 0x1000 + i);
    file_sector(f, 0, 5, b);
    for (int i = 0; i < 256; i++) cr_assert_eq(b[2 * i] | (b[2 * i + 1] << 8), 0x2000 + i);
    file_sector(f, 0, 6, b);
    for (int i = 0; i < 512; i++) cr_assert_eq(b[i], pat(6, (uint32_t)i));
    cr_assert_eq(f->ide.sectors_written, 2);
    fx_free(f);
}

Test(ide, sector_count_zero_means_256)
{
    struct fx *f = fx_new(1000, 0, 0, 0, DISK_OPEN_RW);
    cmd_lba(f, P, 0, 300, 0, 0x20);
    for (uint32_t s = 0; s < 256; s++) {
        cr_assert_eq(inb(f, P + 7), 0x58, "block %u", s);
        read_check_sector(f, P, 300 + s);
    }
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(f->rises[14], 256);
    cr_assert_eq(taskfile_lba(f, P), 556);
    cr_assert_eq(inb(f, P + 2), 0);
    fx_free(f);
}

Test(ide, chs_addressing)
{
    struct fx *f = fx_new(20160, 0, 0, 0, DISK_OPEN_RW);
    /* Cylinder 2, head 1, sector 5 with 16 heads, 63 sectors: LBA 2083. */
    outb(f, P + 6, 0xa1);
    outb(f, P + 2, 2);
    outb(f, P + 3, 5);
    outb(f, P + 4, 2);
    outb(f, P + 5, 0);
    outb(f, P + 7, 0x20);
    cr_assert_eq(inb(f, P + 7), 0x58);
    read_check_sector(f, P, 2083);
    read_check_sector(f, P, 2084);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(inb(f, P + 3), 7, "next sector, in CHS form");
    cr_assert_eq(inb(f, P + 4), 2);
    cr_assert_eq(inb(f, P + 6), 0xa1);
    /* The last sector of a track wraps to the next head. */
    outb(f, P + 6, 0xa1);
    outb(f, P + 2, 1);
    outb(f, P + 3, 63);
    outb(f, P + 4, 0);
    outb(f, P + 7, 0x20);
    read_check_sector(f, P, 16 * 63 * 0 + 1 * 63 + 62);
    cr_assert_eq(inb(f, P + 6), 0xa2);
    cr_assert_eq(inb(f, P + 3), 1);
    /* Sector 0 does not exist in CHS. */
    outb(f, P + 3, 0);
    outb(f, P + 7, 0x20);
    cr_assert_eq(inb(f, P + 7), 0x41);
    cr_assert_eq(inb(f, P + 1), IDE_ER_IDNF);
    /* INITIALIZE DEVICE PARAMETERS: 4 heads, 17 sectors per track. */
    outb(f, P + 6, 0xa3);
    outb(f, P + 2, 17);
    outb(f, P + 7, 0x91);
    cr_assert_eq(inb(f, P + 7), 0x50);
    outb(f, P + 6, 0xa2);        /* C1 H2 S3: (1*4 + 2)*17 + 2 = 104 */
    outb(f, P + 2, 1);
    outb(f, P + 3, 3);
    outb(f, P + 4, 1);
    outb(f, P + 7, 0x20);
    cr_assert_eq(inb(f, P + 7), 0x58);
    read_check_sector(f, P, 104);
    /* Head 4 is beyond the new translation. */
    outb(f, P + 6, 0xa4);
    outb(f, P + 3, 1);
    outb(f, P + 7, 0x20);
    cr_assert_eq(inb(f, P + 7), 0x41);
    cr_assert_eq(inb(f, P + 1), IDE_ER_IDNF);
    /* IDENTIFY words 54-58 follow the translation. */
    outb(f, P + 6, 0xa0);
    outb(f, P + 7, 0xec);
    uint16_t w[256];
    for (int i = 0; i < 256; i++) w[i] = inw(f, P);
    cr_assert_eq(w[54], 20160 / 68);
    cr_assert_eq(w[55], 4);
    cr_assert_eq(w[56], 17);
    cr_assert_eq(w[57], (20160 / 68) * 68);
    cr_assert_eq(w[1], 20);
    /* Zero sectors per track is refused. */
    outb(f, P + 2, 0);
    outb(f, P + 7, 0x91);
    cr_assert_eq(inb(f, P + 7), 0x41);
    cr_assert_eq(inb(f, P + 1), IDE_ER_ABRT);
    fx_free(f);
}

Test(ide, out_of_range_is_idnf)
{
    struct fx *f = fx_new(1000, 0, 0, 0, DISK_OPEN_RW);
    static const struct { uint32_t lba; uint8_t count; uint8_t cmd; } bad[] = {
        { 999, 2, 0x20 }, { 1000, 1, 0x20 }, { 0x0fffffff, 1, 0x20 }, { 900, 0, 0x20 },
        { 1000, 1, 0x30 }, { 999, 2, 0xc4 }, { 1000, 1, 0xc5 }, { 1000, 1, 0x40 }, { 1000, 1, 0x70 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int before = f->rises[14];
        cmd_lba(f, P, 0, bad[i].lba, bad[i].count, bad[i].cmd);
        cr_assert_eq(inb(f, PC), 0x41, "case %zu: DRDY ERR, no DRQ", i);
        cr_assert_eq(inb(f, P + 1), IDE_ER_IDNF, "case %zu", i);
        cr_assert_eq(f->rises[14], before + 1, "case %zu: completion interrupt", i);
        cr_assert_eq(inb(f, P + 7), 0x41);
        cr_assert_eq(inw(f, P), 0, "case %zu: no data", i);
    }
    cr_assert_eq(f->ide.sectors_read + f->ide.sectors_written, 0);
    /* The last sector itself is fine; READ VERIFY of the whole disk too. */
    cmd_lba(f, P, 0, 999, 1, 0x20);
    cr_assert_eq(inb(f, P + 7), 0x58);
    read_check_sector(f, P, 999);
    cmd_lba(f, P, 0, 744, 0, 0x40);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(inb(f, P + 1), 0);
    struct stat st;
    cr_assert_eq(stat(f->path[0], &st), 0);
    cr_assert_eq(st.st_size, 1000 * 512);
    fx_free(f);
}

/* ---- reset, interrupts, device selection ---- */

Test(ide, soft_reset_signature)
{
    struct fx *f = fx_new(100, 100, 0, 0, DISK_OPEN_RW);
    cmd_lba(f, P, 1, 7, 5, 0x20); /* slave, mid-transfer */
    cr_assert_eq(inb(f, P + 7), 0x58);
    outb(f, PC, IDE_CTL_SRST);
    cr_assert_eq(inb(f, PC), 0x90, "BSY while SRST is held");
    outb(f, P + 7, 0xec);         /* commands are refused while busy */
    cr_assert_eq(inb(f, PC), 0x90);
    outb(f, PC, 0);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(inb(f, P + 1), 0x01, "diagnostic code: no error");
    cr_assert_eq(inb(f, P + 2), 1);
    cr_assert_eq(inb(f, P + 3), 1);
    cr_assert_eq(inb(f, P + 4), 0);
    cr_assert_eq(inb(f, P + 5), 0);
    cr_assert_eq(inb(f, P + 6), 0xa0, "device 0 selected after reset");
    cr_assert_eq(inw(f, P), 0, "the transfer was abandoned");
    outb(f, P + 6, 0xb0);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(inb(f, P + 4), 0);
    cr_assert_eq(inw(f, P), 0);
    cr_assert_eq(f->rises[14], 1, "only the READ interrupt; reset raises none");
    fx_free(f);
}

Test(ide, nien_suppresses_the_interrupt)
{
    struct fx *f = fx_new(100, 0, 0, 0, DISK_OPEN_RW);
    outb(f, PC, IDE_CTL_NIEN);
    cmd_lba(f, P, 0, 1, 2, 0x20);
    cr_assert_eq(inb(f, PC), 0x58);
    cr_assert_eq(f->rises[14], 0);
    read_check_sector(f, P, 1);
    cr_assert_eq(f->rises[14], 0);
    outb(f, PC, 0); /* as QEMU: an interrupt suppressed by nIEN stays lost */
    cr_assert_eq(f->rises[14], 0);
    read_check_sector(f, P, 2);
    cr_assert_eq(inb(f, P + 7), 0x50);
    outb(f, P + 7, 0xe7); /* FLUSH CACHE with nIEN clear: interrupt */
    cr_assert_eq(f->rises[14], 1);
    cr_assert_eq(f->level[14], 1);
    outb(f, PC, IDE_CTL_NIEN);
    outb(f, P + 7, 0xe7); /* a new command lowers the line */
    cr_assert_eq(f->level[14], 0);
    cr_assert_eq(f->rises[14], 1);
    fx_free(f);
}

Test(ide, missing_slave_and_empty_channel)
{
    struct fx *f = fx_new(100, 0, 0, 0, DISK_OPEN_RW);
    outb(f, P + 6, 0xb0);
    outb(f, P + 2, 0x33);
    cr_assert_eq(inb(f, P + 7), 0x00, "missing slave: status 0 (as QEMU)");
    cr_assert_eq(inb(f, PC), 0x00);
    cr_assert_eq(inb(f, P + 1), 0x00);
    cr_assert_eq(inb(f, P + 2), 0x33, "the task file still reads back");
    cr_assert_eq(inb(f, P + 6), 0xb0);
    outb(f, P + 7, 0xec);
    cr_assert_eq(f->rises[14], 0, "a command to the missing device is ignored");
    cr_assert_eq(inw(f, P), 0);
    outb(f, P + 6, 0xa0);
    cr_assert_eq(inb(f, P + 7), 0x50, "the master is unaffected");
    cr_assert_eq(inb(f, P + 2), 0x33);
    /* After reset the missing device's signature is all ones. */
    outb(f, PC, IDE_CTL_SRST);
    outb(f, PC, 0);
    outb(f, P + 6, 0xb0);
    cr_assert_eq(inb(f, P + 4), 0xff);
    cr_assert_eq(inb(f, P + 5), 0xff);
    /* The secondary channel has no disk at all: everything reads 0. */
    outb(f, S + 6, 0xa0);
    outb(f, S + 2, 0x12);
    for (int r = 1; r < 8; r++) cr_assert_eq(inb(f, (uint16_t)(S + r)), 0, "register %d", r);
    cr_assert_eq(inb(f, SC), 0);
    cr_assert_eq(inw(f, S), 0);
    cr_assert_eq(inb(f, S), 0, "byte reads of the data port");
    outb(f, S + 7, 0xec);
    cr_assert_eq(f->rises[15], 0);
    fx_free(f);
}

Test(ide, secondary_channel_and_both_positions)
{
    struct fx *f = fx_new(0, 0, 50, 60, DISK_OPEN_RW);
    cmd_lba(f, S, 1, 59, 1, 0x20);
    cr_assert_eq(f->rises[15], 1);
    cr_assert_eq(f->rises[14], 0);
    cr_assert_eq(inb(f, S + 7), 0x58);
    read_check_sector(f, S, 59);
    cmd_lba(f, S, 0, 59, 1, 0x20);
    cr_assert_eq(inb(f, S + 7), 0x41, "the master is smaller");
    cr_assert_eq(inb(f, S + 1), IDE_ER_IDNF);
    cr_assert_eq(inb(f, P + 7), 0, "no disk on the primary channel");
    fx_free(f);
}

Test(ide, busy_or_drq_locks_the_task_file)
{
    struct fx *f = fx_new(100, 0, 0, 0, DISK_OPEN_RW);
    cmd_lba(f, P, 0, 10, 2, 0x20);
    cr_assert_eq(inb(f, P + 7), 0x58);
    outb(f, P + 3, 0x77);  /* ignored while DRQ */
    outb(f, P + 6, 0xb0);  /* so is a device switch */
    outb(f, P + 7, 0xec);  /* and a new command */
    cr_assert_eq(inb(f, P + 3), 10);
    cr_assert_eq(inb(f, P + 6), 0xe0);
    cr_assert_eq(f->rises[14], 1);
    /* A dword read that would run past the block gives 0 and consumes nothing. */
    for (uint32_t i = 0; i < 510; i += 2) (void)inw(f, P);
    cr_assert_eq(inl(f, P), 0);
    cr_assert_eq(inw(f, P), pat(10, 510) | (pat(10, 511) << 8));
    cr_assert_eq(f->rises[14], 2, "the next sector is ready");
    read_check_sector(f, P, 11);
    cr_assert_eq(inb(f, P + 7), 0x50);
    outb(f, P + 3, 0x77);
    cr_assert_eq(inb(f, P + 3), 0x77, "writable again once idle");
    fx_free(f);
}

Test(ide, data_port_32_bit)
{
    struct fx *f = fx_new(100, 0, 0, 0, DISK_OPEN_RW);
    cmd_lba(f, P, 0, 20, 1, 0x30);
    for (uint32_t i = 0; i < 128; i++) outl(f, P, 0xdead0000u + i);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cmd_lba(f, P, 0, 20, 2, 0x20);
    for (uint32_t i = 0; i < 128; i++) cr_assert_eq(inl(f, P), 0xdead0000u + i);
    for (uint32_t i = 0; i < 512; i += 4) {
        uint32_t want = pat(21, i) | (pat(21, i + 1) << 8) | (pat(21, i + 2) << 16) | ((uint32_t)pat(21, i + 3) << 24);
        cr_assert_eq(inl(f, P), want);
    }
    cr_assert_eq(inb(f, P + 7), 0x50);
    /* A byte read moves a word and returns its low half (as QEMU). */
    cmd_lba(f, P, 0, 0, 1, 0x20);
    cr_assert_eq(inb(f, P), pat(0, 0));
    cr_assert_eq(inw(f, P), pat(0, 2) | (pat(0, 3) << 8));
    for (uint32_t i = 4; i < 512; i += 2) cr_assert_eq(inw(f, P), pat(0, i) | (pat(0, i + 1) << 8));
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(inb(f, P), 0, "0 outside a transfer");
    /* A byte write stores a zero-extended word. */
    cmd_lba(f, P, 0, 30, 1, 0x30);
    for (int i = 0; i < 256; i++) outb(f, P, 0xab);
    cr_assert_eq(inb(f, P + 7), 0x50);
    uint8_t b[512];
    file_sector(f, 0, 30, b);
    for (int i = 0; i < 512; i++) cr_assert_eq(b[i], (i & 1) ? 0 : 0xab);
    fx_free(f);
}

/* ---- the other commands ---- */

Test(ide, read_write_multiple)
{
    struct fx *f = fx_new(200, 0, 0, 0, DISK_OPEN_RW);
    outb(f, P + 6, 0xe0);
    outb(f, P + 2, 8);
    outb(f, P + 7, 0xc6);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(f->rises[14], 1);
    cmd_lba(f, P, 0, 30, 20, 0xc4); /* blocks of 8, 8, 4 */
    uint32_t lba = 30;
    for (int b = 0; b < 3; b++) {
        cr_assert_eq(inb(f, P + 7), 0x58, "block %d", b);
        cr_assert_eq(f->rises[14], 2 + b);
        for (int s = 0; s < (b < 2 ? 8 : 4); s++) {
            read_check_sector(f, P, lba++);
            if (s < (b < 2 ? 7 : 3)) cr_assert_eq(inb(f, PC), 0x58, "DRQ stays set inside a block");
        }
    }
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(f->rises[14], 4);
    cr_assert_eq(taskfile_lba(f, P), 50);
    /* WRITE MULTIPLE of 10 sectors: blocks of 8 and 2. */
    cmd_lba(f, P, 0, 100, 10, 0xc5);
    cr_assert_eq(inb(f, P + 7), 0x58);
    cr_assert_eq(f->rises[14], 4);
    for (int i = 0; i < 8 * 256; i++) outw(f, P, (uint16_t)i);
    cr_assert_eq(f->rises[14], 5);
    cr_assert_eq(inb(f, P + 7), 0x58);
    for (int i = 8 * 256; i < 10 * 256; i++) outw(f, P, (uint16_t)i);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(f->rises[14], 6);
    uint8_t b[512];
    file_sector(f, 0, 109, b);
    cr_assert_eq(b[0] | (b[1] << 8), 9 * 256);
    /* Not a power of two, too big: abort. 0 disables, and then READ MULTIPLE aborts. */
    static const uint8_t bad[] = { 3, 32 };
    for (int i = 0; i < 2; i++) {
        outb(f, P + 2, bad[i]);
        outb(f, P + 7, 0xc6);
        cr_assert_eq(inb(f, P + 7), 0x41);
        cr_assert_eq(inb(f, P + 1), IDE_ER_ABRT);
    }
    outb(f, P + 2, 0);
    outb(f, P + 7, 0xc6);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cmd_lba(f, P, 0, 0, 1, 0xc4);
    cr_assert_eq(inb(f, P + 7), 0x41);
    cr_assert_eq(inb(f, P + 1), IDE_ER_ABRT);
    outb(f, P + 7, 0xec);
    uint16_t w[256];
    for (int i = 0; i < 256; i++) w[i] = inw(f, P);
    cr_assert_eq(w[59], 0, "multiple mode off");
    fx_free(f);
}

Test(ide, misc_commands)
{
    struct fx *f = fx_new(100, 0, 0, 0, DISK_OPEN_RW);
    outb(f, P + 6, 0xe0);
    /* Aborted: IDENTIFY PACKET, PACKET, READ SECTORS EXT, READ DMA, NOP, FLUSH CACHE EXT. */
    static const uint8_t abort_cmds[] = { 0xa1, 0xa0, 0x24, 0xc8, 0x00, 0xea };
    for (size_t i = 0; i < sizeof(abort_cmds); i++) {
        int before = f->rises[14];
        outb(f, P + 7, abort_cmds[i]);
        cr_assert_eq(inb(f, P + 7), 0x41, "command %02x", abort_cmds[i]);
        cr_assert_eq(inb(f, P + 1), IDE_ER_ABRT);
        cr_assert_eq(f->rises[14], before + 1);
        cr_assert_eq(inb(f, P + 4), 0, "IDENTIFY PACKET leaves the ATA signature");
    }
    /* FLUSH CACHE */
    outb(f, P + 7, 0xe7);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(inb(f, P + 1), 0, "a good command clears the error register");
    cr_assert_eq(f->ide.flushes, 1);
    /* SET FEATURES: PIO mode 4 yes, UDMA 5 no, write cache off, unknown no. */
    outb(f, P + 1, 0x03);
    outb(f, P + 2, 0x0c);
    outb(f, P + 7, 0xef);
    cr_assert_eq(inb(f, P + 7), 0x50);
    outb(f, P + 2, 0x45);
    outb(f, P + 7, 0xef);
    cr_assert_eq(inb(f, P + 7), 0x41);
    outb(f, P + 1, 0x82);
    outb(f, P + 7, 0xef);
    cr_assert_eq(inb(f, P + 7), 0x50);
    outb(f, P + 1, 0x99);
    outb(f, P + 7, 0xef);
    cr_assert_eq(inb(f, P + 7), 0x41);
    outb(f, P + 7, 0xec);
    uint16_t w[256];
    for (int i = 0; i < 256; i++) w[i] = inw(f, P);
    cr_assert_eq(w[85], 0x4000, "write cache reported off");
    /* CHECK POWER MODE */
    outb(f, P + 2, 0);
    outb(f, P + 7, 0xe5);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(inb(f, P + 2), 0xff);
    /* READ NATIVE MAX ADDRESS */
    cmd_lba(f, P, 0, 0, 0, 0xf8);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(taskfile_lba(f, P), 99);
    /* EXECUTE DEVICE DIAGNOSTIC */
    outb(f, P + 4, 0x55);
    outb(f, P + 7, 0x90);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cr_assert_eq(inb(f, P + 1), 0x01);
    cr_assert_eq(inb(f, P + 2), 1);
    cr_assert_eq(inb(f, P + 3), 1);
    cr_assert_eq(inb(f, P + 4), 0);
    /* RECALIBRATE, standby/idle */
    outb(f, P + 7, 0x10);
    cr_assert_eq(inb(f, P + 7), 0x50);
    outb(f, P + 7, 0xe1);
    cr_assert_eq(inb(f, P + 7), 0x50);
    fx_free(f);
}

Test(ide, read_only_image_aborts_writes)
{
    struct fx *f = fx_new(100, 0, 0, 0, DISK_OPEN_READONLY);
    cmd_lba(f, P, 0, 5, 1, 0x30);
    cr_assert_eq(inb(f, P + 7), 0x41, "no DRQ: aborted at once");
    cr_assert_eq(inb(f, P + 1), IDE_ER_ABRT);
    outw(f, P, 0x1234);
    uint8_t b[512];
    file_sector(f, 0, 5, b);
    for (int i = 0; i < 512; i++) cr_assert_eq(b[i], pat(5, (uint32_t)i));
    cmd_lba(f, P, 0, 5, 1, 0x20);
    read_check_sector(f, P, 5);
    outb(f, P + 7, 0xe7);
    cr_assert_eq(inb(f, P + 7), 0x50, "FLUSH CACHE of a read-only disk succeeds");
    fx_free(f);
}

Test(ide, snapshot_image_takes_writes_in_memory)
{
    struct fx *f = fx_new(100, 0, 0, 0, DISK_OPEN_SNAPSHOT);
    cmd_lba(f, P, 0, 7, 1, 0x30);
    for (int i = 0; i < 256; i++) outw(f, P, 0xbeef);
    cr_assert_eq(inb(f, P + 7), 0x50);
    cmd_lba(f, P, 0, 7, 1, 0x20);
    for (int i = 0; i < 256; i++) cr_assert_eq(inw(f, P), 0xbeef);
    uint8_t b[512];
    file_sector(f, 0, 7, b);
    for (int i = 0; i < 512; i++) cr_assert_eq(b[i], pat(7, (uint32_t)i));
    fx_free(f);
}

Test(ide, attach_rules)
{
    struct fx *f = fx_new(10, 0, 0, 0, DISK_OPEN_RW);
    cr_assert_eq(ide_attach(&f->ide, 0, f->d[0]), -1, "position taken");
    cr_assert_eq(ide_attach(&f->ide, 4, f->d[0]), -1);
    cr_assert_eq(ide_attach(&f->ide, -1, f->d[0]), -1);
    cr_assert_eq(ide_attach(&f->ide, 1, NULL), -1);
    fx_free(f);
}

Test(ide, host_read_error_aborts)
{
    struct fx *f = fx_new(100, 0, 0, 0, DISK_OPEN_RW);
    cr_assert_eq(truncate(f->path[0], 50 * 512), 0); /* shrunk under our feet */
    cmd_lba(f, P, 0, 60, 1, 0x20);
    cr_assert_eq(inb(f, PC), 0x41);
    cr_assert_eq(inb(f, P + 1), IDE_ER_ABRT);
    cr_assert_eq(f->rises[14], 1);
    cmd_lba(f, P, 0, 49, 2, 0x20); /* the first sector is there, the second is not */
    cr_assert_eq(inb(f, P + 7), 0x58);
    read_check_sector(f, P, 49);
    cr_assert_eq(inb(f, P + 7), 0x41);
    cr_assert_eq(inb(f, P + 1), IDE_ER_ABRT);
    cr_assert_eq(inw(f, P), 0);
    fx_free(f);
}

/* Random traffic on every IDE port: no crash, no access outside the image
 * (ASan), the file keeps its size, and the status never shows bits this
 * device does not implement. */
Test(ide, random_register_traffic_is_contained)
{
    struct fx *f = fx_new(64, 32, 16, 0, DISK_OPEN_RW);
    static const uint16_t ports[] = { 0x1f0, 0x1f1, 0x1f2, 0x1f3, 0x1f4, 0x1f5, 0x1f6, 0x1f7, 0x3f6,
                                      0x170, 0x171, 0x172, 0x173, 0x174, 0x175, 0x176, 0x177, 0x376 };
    static const uint8_t cmds[] = { 0x20, 0x21, 0x30, 0x31, 0xc4, 0xc5, 0xc6, 0xec, 0xe7, 0xef, 0x91,
                                    0x40, 0x90, 0xa1, 0x70, 0xf8, 0xe5, 0x10, 0x24, 0x00 };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint16_t port = ports[x % (sizeof(ports) / sizeof(ports[0]))];
        int size = 1 << ((x >> 8) % 3);
        uint32_t val = (uint32_t)(x >> 16);
        unsigned reg = port & 7;
        bool is_ctl = port == 0x3f6 || port == 0x376;
        if (!is_ctl && reg == 7 && ((x >> 40) & 1)) val = cmds[(x >> 41) % (sizeof(cmds) / sizeof(cmds[0]))];
        if (!is_ctl && reg == 6) val = (val & 0x5f) | 0xa0;
        if (is_ctl) val &= ((x >> 50) & 7) ? 0x02 : 0x06; /* SRST now and then */
        if ((x >> 60) & 1) {
            uint32_t r = iobus_in(&f->bus, port, size);
            if (size == 1 && (is_ctl || reg == 7))
                cr_assert_eq(r & 0x26, 0, "status %02x at op %d", r, i);
        } else {
            iobus_out(&f->bus, port, val, size);
        }
    }
    struct stat st;
    static const uint32_t sizes[3] = { 64, 32, 16 };
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(stat(f->path[i], &st), 0);
        cr_assert_eq(st.st_size, (off_t)sizes[i] * 512);
    }
    fx_free(f);
}

/* ---- the boot-sector guest, end to end ---- */

struct board {
    struct machine m;
    struct uart16550 com1;
    struct debug_exit dbg;
    struct ide ide;
    struct vcpu *cur;
    char out[4096];
    size_t nout;
};

static void board_tx(void *opaque, uint8_t byte)
{
    struct board *b = opaque;
    if (b->nout + 1 < sizeof(b->out)) b->out[b->nout++] = (char)byte;
}

static void copy_file(const char *from, char *to)
{
    FILE *in = fopen(from, "rb");
    cr_assert(in);
    strcpy(to, "/tmp/bt86-bootdisk-XXXXXX");
    int fd = mkstemp(to);
    cr_assert(fd >= 0);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) cr_assert_eq(write(fd, buf, n), (ssize_t)n);
    fclose(in);
    close(fd);
}

Test(ide, boots_the_bootsector_guest)
{
    const char *dir = getenv("GUEST_DIR");
    char boot[512], data[512];
    snprintf(boot, sizeof(boot), "%s/bootdisk.img", dir && *dir ? dir : "build/guests");
    snprintf(data, sizeof(data), "%s/datadisk.img", dir && *dir ? dir : "build/guests");
    if (access(boot, R_OK) || access(data, R_OK))
        cr_skip_test("%s or %s missing: build them with make (guests/bootsector/bootsector.mk)", boot, data);
    char data_copy[64];
    copy_file(data, data_copy);

    struct board *b = calloc(1, sizeof(*b));
    cr_assert(b);
    cr_assert_eq(machine_init(&b->m, 16u << 20, 1), 0);
    uart_init(&b->com1, board_tx, b, NULL, NULL);
    cr_assert_eq(uart_attach(&b->com1, &b->m.io, 0x3f8), 0);
    cr_assert_eq(debug_exit_init(&b->dbg, &b->m.io, &b->cur), 0);
    cr_assert_eq(ide_init(&b->ide, &b->m.io, NULL, NULL), 0);
    char err[256];
    struct disk_image *d0 = disk_image_open(boot, DISK_OPEN_SNAPSHOT, err, sizeof(err));
    cr_assert(d0, "%s", err);
    struct disk_image *d1 = disk_image_open(data_copy, DISK_OPEN_RW, err, sizeof(err));
    cr_assert(d1, "%s", err);
    cr_assert_eq(ide_attach(&b->ide, 0, d0), 0);
    cr_assert_eq(ide_attach(&b->ide, 1, d1), 0);
    struct vcpu *v = b->m.cpu[0];
    cr_assert_eq(boot_disk_prepare(&b->m, v, d0, err, sizeof(err)), 0, "%s", err);
    b->cur = v;
    enum vcpu_stop s = STOP_NONE;
    uint64_t start = v->icount;
    while (s == STOP_NONE && v->icount - start < 20000000) s = cpu_run(v, 20000000);
    b->out[b->nout] = 0;
    cr_assert_eq(s, STOP_EXIT_PORT, "output so far:\n%s", b->out);
    cr_assert_eq(v->exit_status, 1, "output:\n%s", b->out);
    const char *want =
        "ok 1 - stage 2 loaded from the boot disk over IDE\r\n"
        "ok 2 - boot drive in DL is 0x80\r\n"
        "ok 3 - IDENTIFY DEVICE on the boot disk\r\n"
        "ok 4 - model is a HARDDISK\r\n"
        "ok 5 - boot disk capacity is 64 sectors\r\n"
        "ok 6 - IDENTIFY DEVICE on the data disk: 128 sectors\r\n"
        "ok 7 - WRITE SECTORS: 2 sectors at LBA 5 of the data disk\r\n"
        "ok 8 - READ SECTORS by LBA returns what was written\r\n"
        "ok 9 - READ SECTORS by CHS 0/0/7 returns LBA 6\r\n"
        "ok 10 - FLUSH CACHE completes without error\r\n"
        "ok 11 - a write past the end of the data disk fails\r\n"
        "1..11\r\n"
        "# PASS: all 11 checks passed\r\n";
    cr_assert_str_eq(b->out, want);
    cr_assert_eq(b->ide.flushes, 1);
    disk_image_close(d0);
    disk_image_close(d1);
    /* The guest's sectors reached the data image file. */
    FILE *fp = fopen(data_copy, "rb");
    cr_assert(fp);
    char tag[28];
    fseek(fp, 5 * 512, SEEK_SET);
    cr_assert_eq(fread(tag, 1, 27, fp), 27);
    tag[27] = 0;
    cr_assert_str_eq(tag, "bt86 bootsector guest data\n");
    fclose(fp);
    unlink(data_copy);
    machine_destroy(&b->m);
    free(b);
}

Test(ide, boot_disk_needs_a_signature)
{
    char path[64], err[256], want[256];
    make_image(path, 4, 4); /* patterned: bytes 510-511 are not 55 AA */
    struct disk_image *d = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert(d, "%s", err);
    struct machine m;
    cr_assert_eq(machine_init(&m, 1u << 20, 1), 0);
    cr_assert_eq(boot_disk_prepare(&m, m.cpu[0], d, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "disk image '%s': disk has no boot signature (0x55 0xAA at bytes 510-511)", path);
    cr_assert_str_eq(err, want);
    /* With the signature: loaded at 0x7c00, real mode at 0000:7C00, DL = 0x80. */
    uint8_t sec[512];
    for (int i = 0; i < 512; i++) sec[i] = pat(0, (uint32_t)i);
    sec[510] = 0x55;
    sec[511] = 0xaa;
    cr_assert_eq(disk_image_write(d, 0, 1, sec), 0);
    struct vcpu *v = m.cpu[0];
    v->r[R_EBX] = 0x1234;
    cr_assert_eq(boot_disk_prepare(&m, v, d, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memcmp(m.mem.ram + 0x7c00, sec, 512), 0);
    cr_assert_eq(v->eip, 0x7c00);
    cr_assert_eq(v->r[R_EDX], 0x80);
    cr_assert_eq(v->r[R_ESP], 0x7c00);
    cr_assert_eq(v->r[R_EBX], 0);
    cr_assert_eq(v->r[R_EAX], 0xaa55);
    cr_assert_eq(v->r[R_ECX] | v->r[R_ESI] | v->r[R_EDI] | v->r[R_EBP], 0);
    cr_assert_eq(v->eflags, 0x2);
    cr_assert_eq(v->cr0 & CR0_PE, 0);
    for (int s = 0; s < S_COUNT; s++) {
        cr_assert_eq(v->seg[s].sel, 0, "segment %d", s);
        cr_assert_eq(v->seg[s].base, 0, "segment %d", s);
        cr_assert_eq(v->seg[s].limit, 0xffff, "segment %d", s);
    }
    cr_assert_eq(v->code32, 0);
    cr_assert_eq(v->stack32, 0);
    cr_assert_eq(m.a20_mask, 0xffffffffu);
    uint16_t com1;
    memcpy(&com1, m.mem.ram + 0x400, 2);
    cr_assert_eq(com1, 0x3f8);
    machine_destroy(&m);
    disk_image_close(d);
    unlink(path);
}
