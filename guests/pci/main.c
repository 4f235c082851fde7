/* PCI guest: configuration mechanism #1 (0xcf8 address, 0xcfc-0xcff data) as
 * an OS probes it. Checks the Linux probe sequence (0x80000000 written to
 * 0xcf8 reads back), that data reads with the enable bit clear and reads of
 * absent functions give all ones, byte/word/dword accesses at every data
 * port offset, and the host bridge at 00:00.0: its IDs (printed), read-only
 * fields that ignore writes, and writable ones (command bits, cache line
 * size, interrupt line). The bus scan counts functions without printing them: QEMU's pc
 * machine also has PIIX3, IDE, ACPI, VGA and a NIC; bt86 only the bridge.
 * The command register's initial value is not printed either (under QEMU,
 * SeaBIOS has already programmed it). */
#include "../lib/rt.h"

#define CONF_ADDR 0xcf8
#define CONF_DATA 0xcfc

static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static uint32_t addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    outl(CONF_ADDR, addr(bus, dev, fn, reg));
    return inl(CONF_DATA);
}

static uint16_t cfg_read16(unsigned dev, unsigned reg)
{
    outl(CONF_ADDR, addr(0, dev, 0, reg));
    return inw((uint16_t)(CONF_DATA + (reg & 2)));
}

static uint8_t cfg_read8(unsigned dev, unsigned reg)
{
    outl(CONF_ADDR, addr(0, dev, 0, reg));
    return inb((uint16_t)(CONF_DATA + (reg & 3)));
}

static void cfg_write16(unsigned dev, unsigned reg, uint16_t v)
{
    outl(CONF_ADDR, addr(0, dev, 0, reg));
    outw((uint16_t)(CONF_DATA + (reg & 2)), v);
}

static void cfg_write8(unsigned dev, unsigned reg, uint8_t v)
{
    outl(CONF_ADDR, addr(0, dev, 0, reg));
    outb((uint16_t)(CONF_DATA + (reg & 3)), v);
}

static void cfg_write32(unsigned dev, unsigned reg, uint32_t v)
{
    outl(CONF_ADDR, addr(0, dev, 0, reg));
    outl(CONF_DATA, v);
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    (void)info;
    serial_init();
    printf("pci guest\n");

    /* Linux's pci_check_type1(). */
    outb(0xcfb, 0x01);
    uint32_t saved = inl(CONF_ADDR);
    outl(CONF_ADDR, 0x80000000u);
    check_u32(inl(CONF_ADDR), 0x80000000u, "0xcf8 reads back 0x80000000");
    outl(CONF_ADDR, saved);
    outl(CONF_ADDR, addr(0, 3, 5, 0x44));
    check_u32(inl(CONF_ADDR), addr(0, 3, 5, 0x44), "0xcf8 reads back bus/device/function/register");

    /* With the enable bit clear, the data port is not a configuration cycle. */
    outl(CONF_ADDR, 0x00000000u);
    check_u32(inl(CONF_DATA), 0xffffffffu, "data reads all ones with bit 31 clear");

    /* The bridge. */
    uint32_t id = cfg_read32(0, 0, 0, 0x00);
    uint32_t class_rev = cfg_read32(0, 0, 0, 0x08);
    uint32_t hdr = cfg_read32(0, 0, 0, 0x0c);
    uint32_t subsys = cfg_read32(0, 0, 0, 0x2c);
    printf("00:00.0 vendor %04x device %04x revision %02x class %06x header type %02x\n", id & 0xffff, id >> 16,
           class_rev & 0xff, class_rev >> 8, (hdr >> 16) & 0xff);
    printf("00:00.0 subsystem %04x:%04x\n", subsys & 0xffff, subsys >> 16);
    check_u32(id, 0x12378086u, "00:00.0 is the 440FX host bridge 8086:1237");
    check_u32(class_rev >> 8, 0x060000u, "00:00.0 class: host bridge");

    /* Smaller accesses at each data port offset. */
    check_u32(cfg_read8(0, 0x00), 0x86, "byte read at 0xcfc");
    check_u32(cfg_read8(0, 0x01), 0x80, "byte read at 0xcfd");
    check_u32(cfg_read8(0, 0x02), 0x37, "byte read at 0xcfe");
    check_u32(cfg_read8(0, 0x03), 0x12, "byte read at 0xcff");
    check_u32(cfg_read16(0, 0x00), 0x8086, "word read at 0xcfc");
    check_u32(cfg_read16(0, 0x02), 0x1237, "word read at 0xcfe");
    check_u32(cfg_read8(0, 0x0b), 0x06, "class byte at register 0x0b");

    /* Read-only fields. */
    cfg_write32(0, 0x00, 0xffffffffu);
    check_u32(cfg_read32(0, 0, 0, 0x00), 0x12378086u, "vendor/device ignore writes");
    cfg_write32(0, 0x08, 0xffffffffu);
    check_u32(cfg_read32(0, 0, 0, 0x08), class_rev, "class/revision ignore writes");
    cfg_write8(0, 0x0e, 0xff);
    check_u32(cfg_read8(0, 0x0e), (hdr >> 16) & 0xff, "header type ignores writes");

    /* Writable fields. */
    uint16_t cmd = cfg_read16(0, 0x04);
    cfg_write16(0, 0x04, 0xffff);
    printf("command after writing ffff: %04x\n", cfg_read16(0, 0x04));
    cfg_write16(0, 0x04, 0x0000);
    check_u32(cfg_read16(0, 0x04), 0, "command bits clear again");
    cfg_write16(0, 0x04, cmd);
    check_u32(cfg_read16(0, 0x04), cmd, "command restored");
    uint8_t cls = cfg_read8(0, 0x0c);
    cfg_write8(0, 0x0c, 0x10);
    check_u32(cfg_read8(0, 0x0c), 0x10, "cache line size is writable");
    cfg_write8(0, 0x0c, cls);
    uint8_t line = cfg_read8(0, 0x3c);
    cfg_write8(0, 0x3c, 0x0b);
    check_u32(cfg_read8(0, 0x3c), 0x0b, "interrupt line is writable");
    cfg_write8(0, 0x3c, line);
    /* QEMU's bridge keeps its latency timer at 0. */
    cfg_write8(0, 0x0d, 0x40);
    check_u32(cfg_read8(0, 0x0d), 0, "latency timer ignores writes");

    /* Absent functions and buses. */
    check_u32(cfg_read32(0, 31, 7, 0x00), 0xffffffffu, "absent 00:1f.7 reads all ones");
    check_u32(cfg_read32(0, 31, 7, 0x08), 0xffffffffu, "absent 00:1f.7 class reads all ones");
    check_u32(cfg_read32(1, 0, 0, 0x00), 0xffffffffu, "bus 1 reads all ones");
    check_u32(cfg_read32(255, 31, 7, 0xfc), 0xffffffffu, "ff:1f.7 register 0xfc reads all ones");

    /* A scan of bus 0 as an OS does it (function 0 first, the others only
     * for multi-function devices): every vendor ID is either all ones or a
     * real one, and the bridge is the first function found. */
    unsigned found = 0, first = 0xffff, bad = 0;
    for (unsigned dev = 0; dev < 32; dev++) {
        uint32_t v = cfg_read32(0, dev, 0, 0x00);
        if ((v & 0xffff) == 0xffff) continue;
        unsigned nfn = (cfg_read32(0, dev, 0, 0x0c) >> 16) & 0x80 ? 8 : 1;
        for (unsigned fn = 0; fn < nfn; fn++) {
            v = cfg_read32(0, dev, fn, 0x00);
            if ((v & 0xffff) == 0xffff) continue;
            if ((v & 0xffff) == 0) bad++;
            if (!found) first = dev << 3 | fn;
            found++;
        }
    }
    check_true(found >= 1, "bus 0 scan finds functions");
    check_u32(first, 0, "the first function is 00:00.0");
    check_u32(bad, 0, "no function reads vendor 0000");
    outl(CONF_ADDR, 0);
    return check_finish();
}
