/* QEMU's fw_cfg device, traditional I/O interface (devices/fw_cfg.h). As in
 * QEMU, the two ports form one 2-byte window: a byte read at either port
 * returns the next data byte, a 16-bit write at either port selects a key;
 * other accesses (word or dword reads, dword writes) are not accepted
 * (reads all ones, writes dropped), and byte writes (the removed write
 * channel) are ignored. */
#include "devices/fw_cfg.h"

#include <stdlib.h>
#include <string.h>

void fw_cfg_init(struct fw_cfg *f)
{
    memset(f, 0, sizeof(*f));
    fw_cfg_add_bytes(f, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_i32(f, FW_CFG_ID, FW_CFG_ID_TRADITIONAL);
    f->sel_valid = true; /* key 0 is selected at reset, as in QEMU */
}

void fw_cfg_destroy(struct fw_cfg *f)
{
    for (int i = 0; i < FW_CFG_KEYS; i++) free(f->item[i].data);
    memset(f, 0, sizeof(*f));
}

static int set_item(struct fw_cfg *f, unsigned key, const void *data, uint32_t len)
{
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy) return -1;
        memcpy(copy, data, len);
    }
    free(f->item[key].data);
    f->item[key] = (struct fw_cfg_item){ copy, len };
    return 0;
}

int fw_cfg_add_bytes(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len)
{
    if (key >= FW_CFG_FILE_FIRST) return -1; /* files go through fw_cfg_add_file */
    return set_item(f, key, data, len);
}

static int add_le(struct fw_cfg *f, uint16_t key, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_bytes(f, key, b, n);
}

int fw_cfg_add_i16(struct fw_cfg *f, uint16_t key, uint16_t v) { return add_le(f, key, v, 2); }
int fw_cfg_add_i32(struct fw_cfg *f, uint16_t key, uint32_t v) { return add_le(f, key, v, 4); }
int fw_cfg_add_i64(struct fw_cfg *f, uint16_t key, uint64_t v) { return add_le(f, key, v, 8); }

int fw_cfg_add_string(struct fw_cfg *f, uint16_t key, const char *s)
{
    return fw_cfg_add_bytes(f, key, s, (uint32_t)strlen(s) + 1);
}

static void put_be(uint8_t *p, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Rebuild item FW_CFG_FILE_DIR from the file table: BE32 count, then per file
 * BE32 size, BE16 select, BE16 reserved, char name[56]. */
static int rebuild_dir(struct fw_cfg *f)
{
    uint8_t dir[4 + FW_CFG_MAX_FILES * 64];
    memset(dir, 0, sizeof(dir));
    put_be(dir, (uint32_t)f->nfiles, 4);
    for (int i = 0; i < f->nfiles; i++) {
        uint8_t *e = dir + 4 + 64 * i;
        put_be(e, f->item[FW_CFG_FILE_FIRST + i].len, 4);
        put_be(e + 4, (uint32_t)(FW_CFG_FILE_FIRST + i), 2);
        memcpy(e + 8, f->file_name[i], FW_CFG_FILE_NAME_LEN);
    }
    return set_item(f, FW_CFG_FILE_DIR, dir, 4 + 64 * (uint32_t)f->nfiles);
}

int fw_cfg_file_key(const struct fw_cfg *f, const char *name)
{
    for (int i = 0; i < f->nfiles; i++)
        if (!strncmp(f->file_name[i], name, FW_CFG_FILE_NAME_LEN)) return FW_CFG_FILE_FIRST + i;
    return -1;
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len)
{
    size_t n = strlen(name);
    if (n == 0 || n >= FW_CFG_FILE_NAME_LEN || f->nfiles >= FW_CFG_MAX_FILES || fw_cfg_file_key(f, name) >= 0)
        return -1;
    int pos = 0;
    while (pos < f->nfiles && strcmp(f->file_name[pos], name) < 0) pos++;
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy) return -1;
        memcpy(copy, data, len);
    }
    /* Move the later files up one key, keeping keys in name order. */
    for (int i = f->nfiles; i > pos; i--) {
        f->item[FW_CFG_FILE_FIRST + i] = f->item[FW_CFG_FILE_FIRST + i - 1];
        memcpy(f->file_name[i], f->file_name[i - 1], FW_CFG_FILE_NAME_LEN);
    }
    f->item[FW_CFG_FILE_FIRST + pos] = (struct fw_cfg_item){ copy, len };
    memset(f->file_name[pos], 0, FW_CFG_FILE_NAME_LEN);
    memcpy(f->file_name[pos], name, n);
    f->nfiles++;
    return rebuild_dir(f);
}

uint32_t fw_cfg_e820_ram(uint8_t out[FW_CFG_E820_ENTRY_LEN], uint32_t ram_bytes)
{
    uint64_t fields[2] = { 0, ram_bytes };
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 8; i++) out[8 * k + i] = (uint8_t)(fields[k] >> (8 * i));
    for (int i = 0; i < 4; i++) out[16 + i] = (uint8_t)(FW_CFG_E820_RAM >> (8 * i));
    return FW_CFG_E820_ENTRY_LEN;
}

static void select_key(struct fw_cfg *f, uint16_t key)
{
    f->sel = key;
    f->offset = 0;
    /* The arch-local space (bit 15) holds nothing here: valid key, no data. */
    f->sel_valid = !(key & FW_CFG_ARCH_LOCAL) && (key & FW_CFG_ENTRY_MASK) < FW_CFG_KEYS;
}

static uint8_t next_byte(struct fw_cfg *f)
{
    if (!f->sel_valid) return 0;
    const struct fw_cfg_item *it = &f->item[f->sel & FW_CFG_ENTRY_MASK];
    if (f->offset >= it->len) return 0;
    return it->data[f->offset++];
}

uint32_t fw_cfg_port_read(void *opaque, uint16_t port, int size)
{
    (void)port;
    if (size != 1) return 0xffffffffu;
    return next_byte(opaque);
}

void fw_cfg_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)port;
    if (size == 2) select_key(opaque, (uint16_t)val);
}

int fw_cfg_register(struct fw_cfg *f, struct iobus *bus)
{
    return iobus_register(bus, FW_CFG_PORT_SEL, 2, fw_cfg_port_read, fw_cfg_port_write, f, "fw_cfg");
}
