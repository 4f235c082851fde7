/* Unit tests for QEMU's fw_cfg device (devices/fw_cfg.c): the port protocol
 * (16-bit select, byte reads, auto-increment, zeros past the end and for
 * unknown keys, accesses the device does not accept), the standard items,
 * the sorted file directory in its big-endian format, and the e820 file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "devices/iobus.h"

static struct fw_cfg f;
static struct iobus bus;

static void setup(void)
{
    fw_cfg_init(&f);
    iobus_init(&bus);
    cr_assert_eq(fw_cfg_register(&f, &bus), 0);
}

static void teardown(void)
{
    fw_cfg_destroy(&f);
}

static void sel(uint16_t key) { iobus_out(&bus, FW_CFG_PORT_SEL, key, 2); }
static uint8_t rd(void) { return (uint8_t)iobus_in(&bus, FW_CFG_PORT_DATA, 1); }
static void rd_n(uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) b[i] = rd();
}

TestSuite(fw_cfg, .init = setup, .fini = teardown);

Test(fw_cfg, key0_selected_at_reset)
{
    cr_assert_eq(rd(), 'Q');
    cr_assert_eq(rd(), 'E');
}

Test(fw_cfg, signature_then_zeros)
{
    uint8_t b[6];
    sel(FW_CFG_SIGNATURE);
    rd_n(b, 6);
    cr_assert_eq(memcmp(b, "QEMU\0\0", 6), 0);
}

Test(fw_cfg, reselect_restarts_and_byte_read_at_either_port)
{
    sel(FW_CFG_SIGNATURE);
    cr_assert_eq(rd(), 'Q');
    cr_assert_eq(rd(), 'E');
    sel(FW_CFG_SIGNATURE);
    cr_assert_eq(iobus_in(&bus, FW_CFG_PORT_SEL, 1), 'Q'); /* one 2-byte window, as QEMU */
    cr_assert_eq(rd(), 'E');
    iobus_out(&bus, FW_CFG_PORT_DATA, FW_CFG_SIGNATURE, 2); /* select through 0x511 */
    cr_assert_eq(rd(), 'Q');
}

Test(fw_cfg, id_is_traditional_only)
{
    uint8_t b[4];
    sel(FW_CFG_ID);
    rd_n(b, 4);
    cr_assert_eq(b[0], 1);
    cr_assert_eq(b[1] | b[2] | b[3], 0);
}

Test(fw_cfg, rejected_accesses)
{
    sel(FW_CFG_SIGNATURE);
    /* word/dword reads are not accepted: all ones, no data consumed */
    cr_assert_eq(iobus_in(&bus, FW_CFG_PORT_DATA, 2), 0xffff);
    cr_assert_eq(iobus_in(&bus, FW_CFG_PORT_SEL, 4), 0xffffffffu);
    /* byte and dword writes do not select */
    iobus_out(&bus, FW_CFG_PORT_SEL, FW_CFG_ID, 1);
    iobus_out(&bus, FW_CFG_PORT_SEL, FW_CFG_ID, 4);
    cr_assert_eq(rd(), 'Q');
    cr_assert_eq(f.item[FW_CFG_SIGNATURE].len, 4); /* nothing was written */
}

Test(fw_cfg, unknown_and_arch_local_keys_read_zero)
{
    sel(0x3000);
    cr_assert_eq(rd(), 0);
    sel(FW_CFG_ARCH_LOCAL | FW_CFG_SIGNATURE);
    cr_assert_eq(rd(), 0);
    sel(FW_CFG_KEYS);
    cr_assert_eq(rd(), 0);
    sel(0xffff);
    cr_assert_eq(rd(), 0);
    /* the write-channel bit is ignored when selecting, as in QEMU */
    sel(FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE);
    cr_assert_eq(rd(), 'Q');
}

Test(fw_cfg, integers_are_little_endian)
{
    cr_assert_eq(fw_cfg_add_i64(&f, FW_CFG_RAM_SIZE, 0x0000000112345678ull), 0);
    cr_assert_eq(fw_cfg_add_i16(&f, FW_CFG_NB_CPUS, 0x0102), 0);
    uint8_t b[9];
    sel(FW_CFG_RAM_SIZE);
    rd_n(b, 9);
    const uint8_t want[9] = { 0x78, 0x56, 0x34, 0x12, 0x01, 0, 0, 0, 0 };
    cr_assert_eq(memcmp(b, want, 9), 0);
    sel(FW_CFG_NB_CPUS);
    rd_n(b, 3);
    cr_assert_eq(b[0], 0x02);
    cr_assert_eq(b[1], 0x01);
    cr_assert_eq(b[2], 0);
    /* replacing an item */
    cr_assert_eq(fw_cfg_add_i16(&f, FW_CFG_NB_CPUS, 4), 0);
    sel(FW_CFG_NB_CPUS);
    cr_assert_eq(rd(), 4);
}

Test(fw_cfg, string_item_with_nul)
{
    cr_assert_eq(fw_cfg_add_string(&f, FW_CFG_CMDLINE_DATA, "ro quiet"), 0);
    cr_assert_eq(f.item[FW_CFG_CMDLINE_DATA].len, 9);
    uint8_t b[9];
    sel(FW_CFG_CMDLINE_DATA);
    rd_n(b, 9);
    cr_assert_eq(memcmp(b, "ro quiet", 9), 0);
}

Test(fw_cfg, file_keys_refused_by_add_bytes)
{
    cr_assert_eq(fw_cfg_add_bytes(&f, FW_CFG_FILE_FIRST, "x", 1), -1);
    cr_assert_eq(fw_cfg_add_bytes(&f, 0x1234, "x", 1), -1);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

Test(fw_cfg, directory_sorted_and_keys_follow)
{
    cr_assert_eq(fw_cfg_add_file(&f, "etc/e820", "AAAA", 4), 0);
    cr_assert_eq(fw_cfg_add_file(&f, "bootorder", "B", 1), 0);
    cr_assert_eq(fw_cfg_add_file(&f, "zz", "", 0), 0);
    cr_assert_eq(fw_cfg_add_file(&f, "etc/e820", "x", 1), -1); /* duplicate */
    cr_assert_eq(fw_cfg_file_key(&f, "bootorder"), 0x20);
    cr_assert_eq(fw_cfg_file_key(&f, "etc/e820"), 0x21);
    cr_assert_eq(fw_cfg_file_key(&f, "zz"), 0x22);
    cr_assert_eq(fw_cfg_file_key(&f, "nope"), -1);

    uint8_t d[4 + 3 * 64 + 1];
    sel(FW_CFG_FILE_DIR);
    rd_n(d, sizeof(d));
    cr_assert_eq(be32(d), 3);
    const char *names[3] = { "bootorder", "etc/e820", "zz" };
    const uint32_t sizes[3] = { 1, 4, 0 };
    for (int i = 0; i < 3; i++) {
        const uint8_t *e = d + 4 + 64 * i;
        cr_assert_eq(be32(e), sizes[i], "file %d size", i);
        cr_assert_eq(e[4] << 8 | e[5], 0x20 + i, "file %d select", i);
        cr_assert_eq(e[6] | e[7], 0, "file %d reserved", i);
        cr_assert_str_eq((const char *)e + 8, names[i]);
        for (int k = 8 + (int)strlen(names[i]); k < 64; k++) cr_assert_eq(e[k], 0);
    }
    cr_assert_eq(d[sizeof(d) - 1], 0); /* past the end */

    sel(0x21);
    uint8_t b[5];
    rd_n(b, 5);
    cr_assert_eq(memcmp(b, "AAAA\0", 5), 0);
    sel(0x20);
    cr_assert_eq(rd(), 'B');
    sel(0x22);
    cr_assert_eq(rd(), 0);
}

Test(fw_cfg, bad_file_names_and_full_table)
{
    char longname[FW_CFG_FILE_NAME_LEN + 1];
    memset(longname, 'a', FW_CFG_FILE_NAME_LEN);
    longname[FW_CFG_FILE_NAME_LEN] = 0;
    cr_assert_eq(fw_cfg_add_file(&f, longname, "x", 1), -1);
    longname[FW_CFG_FILE_NAME_LEN - 1] = 0; /* 55 characters + NUL fits */
    cr_assert_eq(fw_cfg_add_file(&f, longname, "x", 1), 0);
    cr_assert_eq(fw_cfg_add_file(&f, "", "x", 1), -1);
    for (int i = 1; i < FW_CFG_MAX_FILES; i++) {
        char n[16];
        snprintf(n, sizeof(n), "f%02d", i);
        cr_assert_eq(fw_cfg_add_file(&f, n, n, 3), 0);
    }
    cr_assert_eq(f.nfiles, FW_CFG_MAX_FILES);
    cr_assert_eq(fw_cfg_add_file(&f, "one-too-many", "x", 1), -1);
    /* the long "aaa..." name sorts first */
    cr_assert_eq(fw_cfg_file_key(&f, longname), FW_CFG_FILE_FIRST);
    cr_assert_eq(fw_cfg_file_key(&f, "f15"), FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES - 1);
    sel(FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES - 1);
    cr_assert_eq(rd(), 'f');
    cr_assert_eq(rd(), '1');
    cr_assert_eq(rd(), '5');
    cr_assert_eq(rd(), 0);
}

Test(fw_cfg, e820_entry_format)
{
    uint8_t e[FW_CFG_E820_ENTRY_LEN];
    cr_assert_eq(fw_cfg_e820_ram(e, 200u << 20), 20);
    const uint8_t want[20] = { 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x80, 0x0c, 0, 0, 0, 0, 1, 0, 0, 0 };
    cr_assert_eq(memcmp(e, want, 20), 0);
}

/* Containment: random selects and reads never leave the items (run under
 * ASan/UBSan), and every byte read is a byte of the selected item or 0. */
Test(fw_cfg, random_accesses_stay_inside)
{
    cr_assert_eq(fw_cfg_add_file(&f, "etc/e820", "0123456789abcdefghij", 20), 0);
    uint32_t x = 777;
    uint16_t key = 0;
    uint32_t off = 0;
    for (int i = 0; i < 200000; i++) {
        x = x * 1103515245u + 12345u;
        if ((x >> 24) < 16) {
            key = (uint16_t)(x >> 3);
            if ((x >> 20) & 1) key &= 0x3f;
            sel(key);
            off = 0;
        } else if ((x >> 24) < 20) {
            (void)iobus_in(&bus, FW_CFG_PORT_DATA, (x & 1) ? 2 : 4); /* rejected: nothing consumed */
        } else {
            uint8_t b = (uint8_t)iobus_in(&bus, (x & 1) ? FW_CFG_PORT_DATA : FW_CFG_PORT_SEL, 1);
            unsigned k = key & FW_CFG_ENTRY_MASK;
            uint8_t want = 0;
            if (!(key & FW_CFG_ARCH_LOCAL) && k < FW_CFG_KEYS && off < f.item[k].len) want = f.item[k].data[off];
            cr_assert_eq(b, want, "key %#x offset %u", key, off);
            off++;
        }
    }
}
