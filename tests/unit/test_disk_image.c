/* Raw disk images (devices/disk_image.c), suite `disk`: sector reads and
 * writes with bounds checks, writes reaching the file, read-only files
 * (fallback with a warning), readonly mode, -snapshot overlays leaving the
 * file byte-identical, image locking, and the error strings for files that
 * cannot be disks. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices/disk_image.h"

/* The byte at offset i of sector lba in the test images. */
static uint8_t pat(uint32_t lba, uint32_t i) { return (uint8_t)(lba * 7 + i * 13 + (i >> 8)); }

/* A temp file of `sectors` patterned sectors (plus `extra` bytes of 0xee). */
static void make_image(char *path, uint32_t sectors, uint32_t extra)
{
    strcpy(path, "/tmp/bt86-disk-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    uint8_t buf[512];
    for (uint32_t s = 0; s < sectors; s++) {
        for (uint32_t i = 0; i < 512; i++) buf[i] = pat(s, i);
        cr_assert_eq(write(fd, buf, 512), 512);
    }
    memset(buf, 0xee, sizeof(buf));
    if (extra) cr_assert_eq(write(fd, buf, extra), (ssize_t)extra);
    close(fd);
}

/* The whole file, with plain stdio. */
static uint8_t *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)*len + 1);
    cr_assert_eq(fread(p, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return p;
}

static void check_sector(const uint8_t *buf, uint32_t lba)
{
    for (uint32_t i = 0; i < 512; i++) cr_assert_eq(buf[i], pat(lba, i), "sector %u byte %u", lba, i);
}

/* Root ignores file modes: drop the capabilities that let it, so a 0444
 * file really cannot be opened for writing (this test process only). */
static void drop_dac_override(void)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    cr_assert_eq(syscall(SYS_capget, &hdr, data), 0);
    data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_FOWNER));
    cr_assert_eq(syscall(SYS_capset, &hdr, data), 0);
}

Test(disk, size_reads_and_bounds)
{
    char path[64], err[256];
    make_image(path, 8, 0);
    struct disk_image *d = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert(d, "%s", err);
    cr_assert_eq(disk_image_sectors(d), 8);
    cr_assert(!disk_image_read_only(d));
    cr_assert(!disk_image_snapshot(d));
    cr_assert_str_eq(disk_image_path(d), path);
    uint8_t buf[3 * 512 + 16];
    cr_assert_eq(disk_image_read(d, 5, 3, buf), 0);
    for (uint32_t s = 0; s < 3; s++) check_sector(buf + s * 512, 5 + s);
    /* Out of bounds: nothing read, nothing touched. */
    memset(buf, 0xcc, sizeof(buf));
    cr_assert_eq(disk_image_read(d, 8, 1, buf), -1);
    cr_assert_eq(disk_image_read(d, 7, 2, buf), -1);
    cr_assert_eq(disk_image_read(d, 0xffffffffu, 2, buf), -1);
    cr_assert_eq(disk_image_write(d, 6, 3, buf), -1);
    cr_assert_eq(disk_image_write(d, 0xfffffff0u, 0x20, buf), -1);
    for (size_t i = 0; i < sizeof(buf); i++) cr_assert_eq(buf[i], 0xcc);
    cr_assert_eq(disk_image_read(d, 8, 0, buf), 0); /* an empty range at the end is fine */
    disk_image_close(d);
    long len;
    uint8_t *f = slurp(path, &len);
    cr_assert_eq(len, 8 * 512);
    for (uint32_t s = 0; s < 8; s++) check_sector(f + s * 512, s);
    free(f);
    unlink(path);
}

Test(disk, writes_reach_the_file)
{
    char path[64], err[256];
    make_image(path, 16, 0);
    struct disk_image *d = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert(d, "%s", err);
    uint8_t w[2 * 512];
    for (int i = 0; i < (int)sizeof(w); i++) w[i] = (uint8_t)(0xa5 ^ i);
    cr_assert_eq(disk_image_write(d, 14, 2, w), 0);
    cr_assert_eq(disk_image_flush(d), 0);
    /* Another reader sees the data while the image is still open. */
    long len;
    uint8_t *f = slurp(path, &len);
    cr_assert_eq(len, 16 * 512);
    cr_assert_eq(memcmp(f + 14 * 512, w, sizeof(w)), 0);
    check_sector(f + 13 * 512, 13);
    free(f);
    uint8_t r[2 * 512];
    cr_assert_eq(disk_image_read(d, 14, 2, r), 0);
    cr_assert_eq(memcmp(r, w, sizeof(w)), 0);
    disk_flush_all();
    disk_image_close(d);
    unlink(path);
}

Test(disk, read_only_file_falls_back_with_a_warning, .init = cr_redirect_stderr)
{
    char path[64], err[256];
    make_image(path, 4, 0);
    cr_assert_eq(chmod(path, 0444), 0);
    drop_dac_override();
    int probe = open(path, O_RDWR);
    cr_assert_lt(probe, 0, "the test needs a file this process cannot write");
    struct disk_image *d = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert(d, "%s", err);
    cr_assert(disk_image_read_only(d));
    uint8_t buf[512];
    memset(buf, 0x11, sizeof(buf));
    cr_assert_eq(disk_image_write(d, 1, 1, buf), -1);
    cr_assert_eq(disk_image_flush(d), 0);
    cr_assert_eq(disk_image_read(d, 1, 1, buf), 0);
    check_sector(buf, 1);
    disk_image_close(d);
    fflush(stderr);
    char want[256];
    snprintf(want, sizeof(want),
             "bt86: warning: disk image '%s' is read-only; using it read-only (guest writes will fail)\n", path);
    cr_assert_stderr_eq_str(want);
    unlink(path);
}

Test(disk, readonly_mode_is_quiet_and_refuses_writes, .init = cr_redirect_stderr)
{
    char path[64], err[256];
    make_image(path, 4, 0);
    struct disk_image *d = disk_image_open(path, DISK_OPEN_READONLY, err, sizeof(err));
    cr_assert(d, "%s", err);
    cr_assert(disk_image_read_only(d));
    uint8_t buf[512] = { 0 };
    cr_assert_eq(disk_image_write(d, 0, 1, buf), -1);
    disk_image_close(d);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
    long len;
    uint8_t *f = slurp(path, &len);
    check_sector(f, 0);
    free(f);
    unlink(path);
}

Test(disk, snapshot_leaves_the_file_byte_identical)
{
    char path[64], err[256];
    make_image(path, 300, 0); /* three overlay chunks of 128 sectors, the last partial */
    long len0;
    uint8_t *before = slurp(path, &len0);
    struct disk_image *d = disk_image_open(path, DISK_OPEN_SNAPSHOT, err, sizeof(err));
    cr_assert(d, "%s", err);
    cr_assert(disk_image_snapshot(d));
    cr_assert(!disk_image_read_only(d));
    uint8_t w[4 * 512], r[6 * 512];
    for (int i = 0; i < (int)sizeof(w); i++) w[i] = (uint8_t)(i * 3 + 1);
    cr_assert_eq(disk_image_write(d, 126, 4, w), 0);      /* straddles chunks 0 and 1 */
    cr_assert_eq(disk_image_write(d, 299, 1, w), 0);      /* the last sector */
    cr_assert_eq(disk_image_write(d, 299, 2, w), -1);     /* past the end */
    cr_assert_eq(disk_image_read(d, 125, 6, r), 0);
    check_sector(r, 125);
    cr_assert_eq(memcmp(r + 512, w, sizeof(w)), 0);
    check_sector(r + 5 * 512, 130);
    cr_assert_eq(disk_image_read(d, 299, 1, r), 0);
    cr_assert_eq(memcmp(r, w, 512), 0);
    cr_assert_eq(disk_image_read(d, 298, 1, r), 0); /* same chunk, not written: from the file */
    check_sector(r, 298);
    cr_assert_eq(disk_image_flush(d), 0);
    disk_flush_all();
    long len1;
    uint8_t *during = slurp(path, &len1);
    cr_assert_eq(len1, len0);
    cr_assert_eq(memcmp(before, during, (size_t)len0), 0);
    disk_image_close(d);
    uint8_t *after = slurp(path, &len1);
    cr_assert_eq(len1, len0);
    cr_assert_eq(memcmp(before, after, (size_t)len0), 0);
    free(before);
    free(during);
    free(after);
    unlink(path);
}

Test(disk, snapshot_of_a_read_only_file_is_writable, .init = cr_redirect_stderr)
{
    char path[64], err[256];
    make_image(path, 4, 0);
    cr_assert_eq(chmod(path, 0444), 0);
    drop_dac_override();
    struct disk_image *d = disk_image_open(path, DISK_OPEN_SNAPSHOT, err, sizeof(err));
    cr_assert(d, "%s", err);
    uint8_t w[512], r[512];
    memset(w, 0x77, sizeof(w));
    cr_assert_eq(disk_image_write(d, 3, 1, w), 0);
    cr_assert_eq(disk_image_read(d, 3, 1, r), 0);
    cr_assert_eq(memcmp(r, w, 512), 0);
    disk_image_close(d);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
    unlink(path);
}

Test(disk, largest_lba28_image_in_snapshot)
{
    /* 2^28 sectors (128 GiB), sparse: accepted; the last sector is writable
     * through the overlay's last leaf. One more sector is refused. */
    char path[64], err[256];
    make_image(path, 1, 0);
    cr_assert_eq(truncate(path, (off_t)DISK_MAX_SECTORS * 512), 0);
    struct disk_image *d = disk_image_open(path, DISK_OPEN_SNAPSHOT, err, sizeof(err));
    cr_assert(d, "%s", err);
    cr_assert_eq(disk_image_sectors(d), DISK_MAX_SECTORS);
    uint8_t w[512], r[512];
    memset(w, 0x3c, sizeof(w));
    cr_assert_eq(disk_image_write(d, DISK_MAX_SECTORS - 1, 1, w), 0);
    cr_assert_eq(disk_image_read(d, DISK_MAX_SECTORS - 1, 1, r), 0);
    cr_assert_eq(memcmp(r, w, 512), 0);
    cr_assert_eq(disk_image_read(d, DISK_MAX_SECTORS - 2, 1, r), 0);
    for (int i = 0; i < 512; i++) cr_assert_eq(r[i], 0);
    disk_image_close(d);
    cr_assert_eq(truncate(path, (off_t)DISK_MAX_SECTORS * 512 + 512), 0);
    d = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert_null(d);
    char want[256];
    snprintf(want, sizeof(want),
             "disk image '%s': size 137438953984 bytes is larger than 128 GiB, the most LBA28 can address", path);
    cr_assert_str_eq(err, want);
    unlink(path);
}

Test(disk, error_strings)
{
    char path[64], err[256], want[256];
    struct disk_image *d = disk_image_open("/nonexistent/bt86.img", DISK_OPEN_RW, err, sizeof(err));
    cr_assert_null(d);
    cr_assert_str_eq(err, "disk image '/nonexistent/bt86.img': No such file or directory");

    d = disk_image_open("/tmp", DISK_OPEN_RW, err, sizeof(err));
    cr_assert_null(d);
    cr_assert_str_eq(err, "disk image '/tmp': Is a directory");
    d = disk_image_open("/tmp", DISK_OPEN_SNAPSHOT, err, sizeof(err));
    cr_assert_null(d);
    cr_assert_str_eq(err, "disk image '/tmp': Is a directory");

    d = disk_image_open("/dev/null", DISK_OPEN_READONLY, err, sizeof(err));
    cr_assert_null(d);
    cr_assert_str_eq(err, "disk image '/dev/null': not a regular file");

    d = disk_image_open("", DISK_OPEN_RW, err, sizeof(err));
    cr_assert_null(d);
    cr_assert_str_eq(err, "disk image '': no file name given");

    make_image(path, 0, 0);
    d = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert_null(d);
    snprintf(want, sizeof(want), "disk image '%s': the file is empty", path);
    cr_assert_str_eq(err, want);
    unlink(path);

    make_image(path, 2, 100);
    d = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert_null(d);
    snprintf(want, sizeof(want), "disk image '%s': size 1124 bytes is not a multiple of 512-byte sectors", path);
    cr_assert_str_eq(err, want);
    unlink(path);
}

Test(disk, one_writer_at_a_time)
{
    char path[64], err[256], want[256];
    make_image(path, 2, 0);
    struct disk_image *a = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert(a, "%s", err);
    struct disk_image *b = disk_image_open(path, DISK_OPEN_SNAPSHOT, err, sizeof(err));
    cr_assert_null(b);
    snprintf(want, sizeof(want),
             "disk image '%s': the image is in use (locked by another process or another -drive)", path);
    cr_assert_str_eq(err, want);
    disk_image_close(a);
    /* Readers share. */
    a = disk_image_open(path, DISK_OPEN_SNAPSHOT, err, sizeof(err));
    cr_assert(a, "%s", err);
    b = disk_image_open(path, DISK_OPEN_READONLY, err, sizeof(err));
    cr_assert(b, "%s", err);
    struct disk_image *c = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert_null(c);
    disk_image_close(a);
    disk_image_close(b);
    unlink(path);
}

Test(disk, open_image_limit)
{
    char path[DISK_MAX_OPEN + 1][64], err[256];
    struct disk_image *d[DISK_MAX_OPEN + 1];
    for (int i = 0; i <= DISK_MAX_OPEN; i++) make_image(path[i], 1, 0);
    for (int i = 0; i < DISK_MAX_OPEN; i++) {
        d[i] = disk_image_open(path[i], DISK_OPEN_RW, err, sizeof(err));
        cr_assert(d[i], "%s", err);
    }
    cr_assert_null(disk_image_open(path[DISK_MAX_OPEN], DISK_OPEN_RW, err, sizeof(err)));
    char want[256];
    snprintf(want, sizeof(want), "disk image '%s': too many disk images open", path[DISK_MAX_OPEN]);
    cr_assert_str_eq(err, want);
    disk_image_close(d[3]);
    d[3] = disk_image_open(path[DISK_MAX_OPEN], DISK_OPEN_RW, err, sizeof(err));
    cr_assert(d[3], "%s", err);
    disk_flush_all();
    for (int i = 0; i < DISK_MAX_OPEN; i++) disk_image_close(d[i]);
    for (int i = 0; i <= DISK_MAX_OPEN; i++) unlink(path[i]);
}

Test(disk, file_shrunk_under_us_is_an_io_error)
{
    char path[64], err[256];
    make_image(path, 8, 0);
    struct disk_image *d = disk_image_open(path, DISK_OPEN_SNAPSHOT, err, sizeof(err));
    cr_assert(d, "%s", err);
    cr_assert_eq(truncate(path, 4 * 512), 0);
    uint8_t buf[512];
    cr_assert_eq(disk_image_read(d, 6, 1, buf), -1);
    cr_assert_eq(disk_image_write(d, 6, 1, buf), -1); /* the overlay chunk cannot be filled */
    cr_assert_eq(disk_image_read(d, 2, 1, buf), 0);
    check_sector(buf, 2);
    disk_image_close(d);
    unlink(path);
}

Test(disk, unreadable_file_is_an_error)
{
    char path[64], err[256], want[256];
    make_image(path, 2, 0);
    cr_assert_eq(chmod(path, 0), 0);
    drop_dac_override();
    struct disk_image *d = disk_image_open(path, DISK_OPEN_RW, err, sizeof(err));
    cr_assert_null(d);
    snprintf(want, sizeof(want), "disk image '%s': Permission denied", path);
    cr_assert_str_eq(err, want);
    d = disk_image_open(path, DISK_OPEN_SNAPSHOT, err, sizeof(err));
    cr_assert_null(d);
    cr_assert_str_eq(err, want);
    unlink(path);
}
