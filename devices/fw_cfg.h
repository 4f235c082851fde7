/* QEMU's firmware configuration device (fw_cfg), traditional I/O interface
 * only: a 16-bit write to port 0x510 selects an item by key, byte reads from
 * port 0x511 return the item's bytes in order (auto-incrementing; past the
 * end, and for keys with no item, reads give 0). Keys are numbered as in
 * QEMU (docs/specs/fw_cfg.txt): signature "QEMU", ID (bit 0: traditional
 * interface; bt86 has no DMA interface), RAM size, CPU counts, the file
 * directory (key 0x19) and named files at keys 0x20 and up. Everything the
 * guest can read is a copy owned by the device; it cannot write anything. */
#ifndef BT86_DEVICES_FW_CFG_H
#define BT86_DEVICES_FW_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/iobus.h"

#define FW_CFG_PORT_SEL  0x510
#define FW_CFG_PORT_DATA 0x511

/* Keys (QEMU's numbering). */
#define FW_CFG_SIGNATURE    0x0000
#define FW_CFG_ID           0x0001
#define FW_CFG_UUID         0x0002
#define FW_CFG_RAM_SIZE     0x0003
#define FW_CFG_NB_CPUS      0x0005
#define FW_CFG_MAX_CPUS     0x000f
#define FW_CFG_KERNEL_ADDR  0x0007
#define FW_CFG_KERNEL_SIZE  0x0008
#define FW_CFG_KERNEL_CMDLINE 0x0009
#define FW_CFG_CMDLINE_ADDR 0x0013
#define FW_CFG_CMDLINE_SIZE 0x0014
#define FW_CFG_CMDLINE_DATA 0x0015
#define FW_CFG_FILE_DIR     0x0019
#define FW_CFG_FILE_FIRST   0x0020
#define FW_CFG_MAX_FILES    16
#define FW_CFG_KEYS         (FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)
/* Selector bits: bit 15 selects the architecture-local key space (x86:
 * ACPI, SMBIOS, e820 of the old kind; none provided here, so such keys read
 * 0), bit 14 is the (obsolete) write channel. */
#define FW_CFG_ARCH_LOCAL   0x8000
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ENTRY_MASK   0x3fff

#define FW_CFG_ID_TRADITIONAL 0x1u
#define FW_CFG_FILE_NAME_LEN 56
#define FW_CFG_E820_ENTRY_LEN 20 /* u64 address, u64 length, u32 type (LE) */
#define FW_CFG_E820_RAM 1

struct fw_cfg_item {
    uint8_t *data; /* malloc'ed copy, or NULL */
    uint32_t len;
};

struct fw_cfg {
    struct fw_cfg_item item[FW_CFG_KEYS];
    char file_name[FW_CFG_MAX_FILES][FW_CFG_FILE_NAME_LEN];
    int nfiles;
    uint16_t sel;     /* the last key written */
    bool sel_valid;   /* sel names a slot of item[] */
    uint32_t offset;  /* next byte of the selected item */
};

/* Start with the signature and ID items, key 0 selected (QEMU's reset state). */
void fw_cfg_init(struct fw_cfg *f);
/* Claim ports 0x510-0x511. 0, or -1 if out of I/O bus slots. */
int fw_cfg_register(struct fw_cfg *f, struct iobus *bus);
void fw_cfg_destroy(struct fw_cfg *f);

/* Set item `key` (< FW_CFG_FILE_FIRST) to a copy of data. 0 or -1. */
int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len);
int fw_cfg_add_i16(struct fw_cfg *f, uint16_t key, uint16_t v); /* little-endian */
int fw_cfg_add_i32(struct fw_cfg *f, uint16_t key, uint32_t v);
int fw_cfg_add_i64(struct fw_cfg *f, uint16_t key, uint64_t v);
int fw_cfg_add_string(struct fw_cfg *f, uint16_t key, const char *s); /* with its NUL */
/* Add a named file (name shorter than 56 bytes, not yet present). As in
 * QEMU, the directory is kept sorted by name and the files' keys follow that
 * order (a later insertion moves the ones after it). 0 or -1. */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len);
/* The key of a named file, or -1. */
int fw_cfg_file_key(const struct fw_cfg *f, const char *name);

/* The "etc/e820" table of a PC whose RAM is [0, ram_bytes): one RAM entry,
 * as QEMU's pc machine gives under TCG with RAM below 4 GiB. Writes
 * FW_CFG_E820_ENTRY_LEN bytes to out; returns that length. */
uint32_t fw_cfg_e820_ram(uint8_t out[FW_CFG_E820_ENTRY_LEN], uint32_t ram_bytes);

/* The port handlers (also for tests). */
uint32_t fw_cfg_port_read(void *opaque, uint16_t port, int size);
void fw_cfg_port_write(void *opaque, uint16_t port, uint32_t val, int size);

#endif
