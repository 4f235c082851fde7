/* Unit tests for PCI configuration mechanism #1 and the 440FX host bridge
 * (devices/pci_host.c): CONFIG_ADDRESS (dword-only, masks, read back), the
 * data window at each offset and size, the enable bit, absent functions,
 * write masks (read-only IDs, QEMU's writable command bits), and the Linux
 * pci_check_type1() / pci_sanity_check() sequence. */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/iobus.h"
#include "devices/pci_host.h"

static struct pci_host p;
static struct iobus bus;

static void setup(void)
{
    pci_host_init(&p);
    iobus_init(&bus);
    cr_assert_eq(pci_host_register(&p, &bus), 0);
}

TestSuite(pci_host, .init = setup);

static uint32_t cfg_addr(unsigned b, unsigned d, unsigned f, unsigned r)
{
    return PCI_CONFIG_ENABLE | b << 16 | d << 11 | f << 8 | r;
}

static uint32_t rd(unsigned b, unsigned d, unsigned f, unsigned reg, int size)
{
    iobus_out(&bus, PCI_CONFIG_ADDRESS, cfg_addr(b, d, f, reg & 0xfc), 4);
    return iobus_in(&bus, (uint16_t)(PCI_CONFIG_DATA + (reg & 3)), size);
}

static void wr(unsigned b, unsigned d, unsigned f, unsigned reg, uint32_t v, int size)
{
    iobus_out(&bus, PCI_CONFIG_ADDRESS, cfg_addr(b, d, f, reg & 0xfc), 4);
    iobus_out(&bus, (uint16_t)(PCI_CONFIG_DATA + (reg & 3)), v, size);
}

Test(pci_host, address_register_reads_back)
{
    cr_assert_eq(iobus_in(&bus, PCI_CONFIG_ADDRESS, 4), 0);
    iobus_out(&bus, PCI_CONFIG_ADDRESS, 0x80000000u, 4);
    cr_assert_eq(iobus_in(&bus, PCI_CONFIG_ADDRESS, 4), 0x80000000u);
    /* reserved bits 30:24 and the type bits 1:0 read as 0 */
    iobus_out(&bus, PCI_CONFIG_ADDRESS, 0xffffffffu, 4);
    cr_assert_eq(iobus_in(&bus, PCI_CONFIG_ADDRESS, 4), 0x80fffffcu);
}

Test(pci_host, address_register_is_dword_only)
{
    iobus_out(&bus, PCI_CONFIG_ADDRESS, 0x80001234u, 4);
    iobus_out(&bus, 0xcfb, 0x01, 1); /* Linux's first probe write */
    iobus_out(&bus, PCI_CONFIG_ADDRESS, 0x0000, 2);
    iobus_out(&bus, 0xcfa, 0x0000, 2);
    cr_assert_eq(iobus_in(&bus, PCI_CONFIG_ADDRESS, 4), 0x80001234u);
    cr_assert_eq(iobus_in(&bus, PCI_CONFIG_ADDRESS, 1), 0xff);
    cr_assert_eq(iobus_in(&bus, 0xcfa, 2), 0xffff);
    cr_assert_eq(iobus_in(&bus, 0xcf9, 1), 0xff);
}

Test(pci_host, host_bridge_ids)
{
    cr_assert_eq(rd(0, 0, 0, 0x00, 4), 0x12378086u);
    cr_assert_eq(rd(0, 0, 0, 0x08, 4), 0x06000002u);
    cr_assert_eq(rd(0, 0, 0, 0x0c, 4), 0x00000000u); /* header type 0, single function */
    cr_assert_eq(rd(0, 0, 0, 0x2c, 4), 0x11001af4u);
    cr_assert_eq(rd(0, 0, 0, 0x04, 4), 0x00000000u); /* command, status */
    cr_assert_eq(rd(0, 0, 0, 0x72, 1), 0x02);        /* SMRAM */
}

Test(pci_host, sizes_and_offsets)
{
    cr_assert_eq(rd(0, 0, 0, 0x00, 1), 0x86);
    cr_assert_eq(rd(0, 0, 0, 0x01, 1), 0x80);
    cr_assert_eq(rd(0, 0, 0, 0x02, 1), 0x37);
    cr_assert_eq(rd(0, 0, 0, 0x03, 1), 0x12);
    cr_assert_eq(rd(0, 0, 0, 0x00, 2), 0x8086);
    cr_assert_eq(rd(0, 0, 0, 0x02, 2), 0x1237);
    cr_assert_eq(rd(0, 0, 0, 0x01, 2), 0x3780);      /* unaligned word at 0xcfd */
    cr_assert_eq(rd(0, 0, 0, 0x0a, 2), 0x0600);
    /* a word at 0xcff runs past the window: the high byte reads all ones */
    cr_assert_eq(rd(0, 0, 0, 0x03, 2), 0xff12);
    cr_assert_eq(rd(0, 0, 0, 0x0b, 1), 0x06);
}

Test(pci_host, enable_bit_clear_reads_ones_and_drops_writes)
{
    iobus_out(&bus, PCI_CONFIG_ADDRESS, 0x00000004u, 4);
    cr_assert_eq(iobus_in(&bus, PCI_CONFIG_DATA, 4), 0xffffffffu);
    cr_assert_eq(iobus_in(&bus, PCI_CONFIG_DATA + 1, 1), 0xff);
    iobus_out(&bus, PCI_CONFIG_DATA, 0x0007, 2);
    cr_assert_eq(rd(0, 0, 0, 0x04, 2), 0);
}

Test(pci_host, absent_functions_read_ones)
{
    cr_assert_eq(rd(0, 0, 1, 0x00, 4), 0xffffffffu);
    cr_assert_eq(rd(0, 1, 0, 0x00, 4), 0xffffffffu);
    cr_assert_eq(rd(0, 31, 7, 0xfc, 4), 0xffffffffu);
    cr_assert_eq(rd(1, 0, 0, 0x00, 4), 0xffffffffu);
    cr_assert_eq(rd(255, 0, 0, 0x08, 2), 0xffff);
    cr_assert_eq(rd(0, 2, 0, 0x0b, 1), 0xff);
    wr(0, 1, 0, 0x04, 0xffff, 2); /* dropped, and the bridge unchanged */
    cr_assert_eq(rd(0, 0, 0, 0x04, 2), 0);
    cr_assert_eq(rd(0, 1, 0, 0x04, 2), 0xffff);
}

Test(pci_host, read_only_fields_ignore_writes)
{
    wr(0, 0, 0, 0x00, 0xffffffffu, 4);
    wr(0, 0, 0, 0x08, 0x12345678u, 4);
    wr(0, 0, 0, 0x0e, 0xff, 1);
    wr(0, 0, 0, 0x2c, 0, 4);
    wr(0, 0, 0, 0x06, 0xffff, 2); /* status: no bits set, nothing to clear */
    wr(0, 0, 0, 0x0d, 0x40, 1);   /* latency timer: read-only in QEMU's bridge */
    cr_assert_eq(rd(0, 0, 0, 0x00, 4), 0x12378086u);
    cr_assert_eq(rd(0, 0, 0, 0x08, 4), 0x06000002u);
    cr_assert_eq(rd(0, 0, 0, 0x0c, 4), 0);
    cr_assert_eq(rd(0, 0, 0, 0x2c, 4), 0x11001af4u);
    cr_assert_eq(rd(0, 0, 0, 0x06, 2), 0);
}

Test(pci_host, writable_fields)
{
    wr(0, 0, 0, 0x04, 0xffff, 2);
    cr_assert_eq(rd(0, 0, 0, 0x04, 4), 0x00000507u); /* IO MEM MASTER SERR INTX_DISABLE */
    wr(0, 0, 0, 0x04, 0x0000, 2);
    cr_assert_eq(rd(0, 0, 0, 0x04, 2), 0);
    wr(0, 0, 0, 0x0c, 0x10, 1);
    cr_assert_eq(rd(0, 0, 0, 0x0c, 1), 0x10);
    wr(0, 0, 0, 0x3c, 0x0b, 1);
    cr_assert_eq(rd(0, 0, 0, 0x3c, 4), 0x0000000bu); /* interrupt pin stays 0 */
    wr(0, 0, 0, 0x59, 0x30, 1); /* PAM0 */
    cr_assert_eq(rd(0, 0, 0, 0x58, 4), 0x00003000u);
    wr(0, 0, 0, 0xfc, 0xdeadbeefu, 4);
    cr_assert_eq(rd(0, 0, 0, 0xfc, 4), 0xdeadbeefu);
}

Test(pci_host, direct_cfg_access_bounds)
{
    cr_assert_eq(pci_host_cfg_read(&p, 0, 0, 0xfe, 4), 0xffff0000u); /* bytes past 255 read ones */
    pci_host_cfg_write(&p, 0, 0, 0xff, 0x11223344u, 4);              /* only 0xff is written */
    cr_assert_eq(p.cfg[0xff], 0x44);
    cr_assert_eq(pci_host_cfg_read(&p, 0, 8, 0x00, 4), 0xffffffffu);
}

/* Linux 6.1 arch/x86/pci/direct.c, pci_check_type1() then the loop of
 * pci_sanity_check(): it must find a host bridge class at some devfn. */
Test(pci_host, linux_type1_probe)
{
    iobus_out(&bus, 0xcfb, 0x01, 1);
    uint32_t tmp = iobus_in(&bus, PCI_CONFIG_ADDRESS, 4);
    iobus_out(&bus, PCI_CONFIG_ADDRESS, 0x80000000u, 4);
    cr_assert_eq(iobus_in(&bus, PCI_CONFIG_ADDRESS, 4), 0x80000000u);
    int found = -1;
    for (unsigned devfn = 0; devfn < 0x100 && found < 0; devfn++) {
        iobus_out(&bus, PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | devfn << 8 | 0x08, 4);
        uint32_t cls = iobus_in(&bus, PCI_CONFIG_DATA + 2, 2);
        if (cls == 0x0600 || cls == 0x0300) found = (int)devfn;
    }
    iobus_out(&bus, PCI_CONFIG_ADDRESS, tmp, 4);
    cr_assert_eq(found, 0);
    cr_assert_eq(iobus_in(&bus, PCI_CONFIG_ADDRESS, 4), 0);
}

/* Containment: any sequence of guest accesses stays inside the device (run
 * under ASan/UBSan); the IDs survive, whatever was written. */
Test(pci_host, random_accesses_stay_inside)
{
    uint32_t x = 12345;
    static const int sizes[3] = { 1, 2, 4 };
    for (int i = 0; i < 200000; i++) {
        x = x * 1103515245u + 12345u;
        uint16_t port = (uint16_t)(0xcf8 + (x >> 8) % 8);
        int size = sizes[(x >> 16) % 3];
        uint32_t val = x * 2654435761u;
        if (i % 3 == 0) iobus_out(&bus, PCI_CONFIG_ADDRESS, (val & 0x8000fffcu) | (x & 1u) << 31, 4);
        else if (x & 0x80000000u) iobus_out(&bus, port, val, size);
        else (void)iobus_in(&bus, port, size);
    }
    cr_assert_eq(pci_host_cfg_read(&p, 0, 0, 0x00, 4), 0x12378086u);
    cr_assert_eq(pci_host_cfg_read(&p, 0, 0, 0x08, 4), 0x06000002u);
    cr_assert_eq(pci_host_cfg_read(&p, 0, 0, 0x0e, 1), 0);
}

struct pam_log {
    int calls;
    unsigned f_attr, e4_attr, c0_attr, dc_attr;
};

static void pam_hook(void *opaque, const struct pci_host *h)
{
    struct pam_log *l = opaque;
    l->calls++;
    l->f_attr = pci_host_pam_attr(h, 0xf8000);
    l->e4_attr = pci_host_pam_attr(h, 0xe4000);
    l->c0_attr = pci_host_pam_attr(h, 0xc0000);
    l->dc_attr = pci_host_pam_attr(h, 0xdffff);
}

Test(pci_host, pam_registers_and_hook)
{
    struct pam_log l = { 0 };
    pci_host_set_pam_hook(&p, pam_hook, &l);
    wr(0, 0, 0, 0x58, 0x00003000u, 4); /* PAM0 (0x59) = 0x30: F segment RE|WE */
    cr_assert_eq(l.calls, 1);
    cr_assert_eq(l.f_attr, PAM_RE | PAM_WE);
    wr(0, 0, 0, 0x5e, 0x10, 1);        /* PAM5 high nibble: 0xE4000 RE */
    cr_assert_eq(l.calls, 2);
    cr_assert_eq(l.e4_attr, PAM_RE);
    cr_assert_eq(pci_host_pam_attr(&p, 0xe0000), 0);
    wr(0, 0, 0, 0x5a, 0x02, 1);        /* PAM1 low nibble: 0xC0000 WE */
    cr_assert_eq(l.c0_attr, PAM_WE);
    wr(0, 0, 0, 0x5d, 0x30, 1);        /* PAM4 high nibble: 0xDC000-0xDFFFF */
    cr_assert_eq(l.dc_attr, 3);
    cr_assert_eq(l.calls, 4);
    /* unchanged values and other registers do not call the hook */
    wr(0, 0, 0, 0x5d, 0x30, 1);
    wr(0, 0, 0, 0x72, 0x0a, 1);
    wr(0, 0, 0, 0x04, 0x0007, 2);
    cr_assert_eq(l.calls, 4);
    /* only bits 1:0 of each nibble count */
    wr(0, 0, 0, 0x59, 0xc0, 1);
    cr_assert_eq(l.calls, 5);
    cr_assert_eq(l.f_attr, 0);
    cr_assert_eq(pci_host_pam_attr(&p, 0xbffff), 0);
    cr_assert_eq(pci_host_pam_attr(&p, 0x100000), 0);
}
