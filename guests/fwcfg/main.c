/* fw_cfg guest: reads QEMU's firmware configuration device through its
 * traditional I/O interface (selector 0x510, data 0x511) and prints what the
 * command line decided: the signature, the RAM size (-m), the CPU counts
 * and the "etc/e820" file. The file
 * directory differs between machines (QEMU lists a dozen more files: ACPI,
 * SMBIOS, option ROMs), so only its form is checked here (count, sort order,
 * keys, sizes) and only etc/e820 is printed. Also checks that reads run past
 * an item's end as zeros and that unknown keys read as zeros.
 * Command line: "list" also prints every file name (not in the expected
 * output: the lists differ). */
#include "../lib/rt.h"

#define FW_SEL  0x510
#define FW_DATA 0x511

#define KEY_SIGNATURE 0x0000
#define KEY_ID        0x0001
#define KEY_RAM_SIZE  0x0003
#define KEY_NB_CPUS   0x0005
#define KEY_MAX_CPUS  0x000f
#define KEY_FILE_DIR  0x0019
#define KEY_FILE_FIRST 0x0020

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static void fw_select(uint16_t key) { outw(FW_SEL, key); }

static void fw_read(void *buf, uint32_t n)
{
    uint8_t *p = buf;
    while (n--) *p++ = inb(FW_DATA);
}

static uint32_t le(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t be(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

struct file_entry {
    uint32_t size;
    uint16_t select;
    char name[57];
};

#define MAX_FILES 64
static struct file_entry files[MAX_FILES];

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    serial_init();
    printf("fw_cfg guest\n");

    uint8_t b[8];
    fw_select(KEY_SIGNATURE);
    fw_read(b, 5);
    printf("signature: %c%c%c%c\n", b[0], b[1], b[2], b[3]);
    check_u32(le(b, 4), 0x554d4551u, "signature is \"QEMU\"");
    check_u32(b[4], 0, "a read past the end of an item gives 0");
    fw_select(KEY_SIGNATURE);
    fw_read(b, 1);
    check_u32(b[0], 'Q', "selecting a key again starts at its first byte");

    fw_select(KEY_ID);
    fw_read(b, 4);
    /* QEMU also sets bit 1 (DMA interface); bt86 has only the I/O one. */
    check_u32(le(b, 4) & 1u, 1u, "ID bit 0: traditional interface");

    fw_select(KEY_RAM_SIZE);
    fw_read(b, 8);
    uint32_t ram_lo = le(b, 4), ram_hi = le(b + 4, 4);
    /* (not compared with Multiboot's mem_upper: QEMU's loader leaves out
     * the top 128 KiB there) */
    printf("RAM size: 0x%08x%08x (%u MiB)\n", ram_hi, ram_lo, ram_lo >> 20);

    fw_select(KEY_NB_CPUS);
    fw_read(b, 2);
    printf("NB_CPUS: %u\n", le(b, 2));
    fw_select(KEY_MAX_CPUS);
    fw_read(b, 2);
    printf("MAX_CPUS: %u\n", le(b, 2));

    fw_select(0x3000);
    fw_read(b, 4);
    check_u32(le(b, 4), 0, "an unused key reads as zeros");

    /* The file directory. */
    fw_select(KEY_FILE_DIR);
    fw_read(b, 4);
    uint32_t count = be(b, 4);
    check_true(count >= 1 && count <= MAX_FILES, "file directory: 1 to 64 files");
    if (count > MAX_FILES) count = MAX_FILES;
    int sorted = 1, keys_ok = 1, e820 = -1, bootorder = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t e[64];
        fw_read(e, 64);
        files[i].size = be(e, 4);
        files[i].select = (uint16_t)be(e + 4, 2);
        memcpy(files[i].name, e + 8, 56);
        files[i].name[56] = 0;
        if (files[i].select < KEY_FILE_FIRST || files[i].select >= 0x4000) keys_ok = 0;
        if (i > 0 && (strcmp(files[i - 1].name, files[i].name) >= 0 || files[i - 1].select >= files[i].select))
            sorted = 0;
        if (!strcmp(files[i].name, "etc/e820")) e820 = (int)i;
        if (!strcmp(files[i].name, "bootorder")) bootorder = 1;
        if (cmdline_has(info, "list"))
            printf("  file 0x%04x %6u %s\n", files[i].select, files[i].size, files[i].name);
    }
    check_true(keys_ok, "file keys are 0x20 and up");
    check_true(sorted, "files sorted by name, keys in the same order");
    check_true(e820 >= 0, "etc/e820 is listed");
    check_true(bootorder, "bootorder is listed");

    if (e820 >= 0) {
        const struct file_entry *f = &files[e820];
        check_u32(f->size % 20, 0, "etc/e820 holds 20-byte entries");
        printf("etc/e820: %u entries\n", f->size / 20);
        fw_select(f->select);
        uint64_t ram_sum = 0;
        for (uint32_t i = 0; i < f->size / 20 && i < 16; i++) {
            uint8_t e[20];
            fw_read(e, 20);
            uint32_t type = le(e + 16, 4);
            printf("  base 0x%08x%08x length 0x%08x%08x type %u\n", le(e + 4, 4), le(e, 4), le(e + 12, 4),
                   le(e + 8, 4), type);
            if (type == 1) ram_sum += (uint64_t)le(e + 12, 4) << 32 | le(e + 8, 4);
        }
        check_u64(ram_sum, (uint64_t)ram_hi << 32 | ram_lo, "e820 RAM adds up to the RAM size");
    }
    return check_finish();
}
