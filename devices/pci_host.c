/* PCI configuration mechanism #1 and the 440FX host bridge
 * (devices/pci_host.h). Register values and write masks follow QEMU's
 * i440fx device (checked against it by guests/pci): command and status
 * start at 0; the command bits I/O, memory, bus master, SERR and
 * INTx-disable, the cache line size, the interrupt line and the whole
 * device-specific area 0x40-0xff (PAM, SMRAM, ...) are writable; everything
 * else, the latency timer included, is read-only. A change to the PAM
 * registers is passed to the board's hook, which routes the BIOS ROM's
 * segments (frontend/bios_rom.c); SMRAM is storage only (no SMM). */
#include "devices/pci_host.h"

#include <stdbool.h>
#include <string.h>

#define I440FX_SMRAM 0x72

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void pci_host_init(struct pci_host *p)
{
    memset(p, 0, sizeof(*p));
    put16(p->cfg + PCI_VENDOR_ID, PCI_HOST_VENDOR);
    put16(p->cfg + PCI_DEVICE_ID, PCI_HOST_DEVICE);
    p->cfg[PCI_REVISION_ID] = PCI_HOST_REVISION;
    p->cfg[PCI_CLASS_PROG] = (uint8_t)PCI_HOST_CLASS;
    put16(p->cfg + PCI_CLASS_DEVICE, (uint16_t)(PCI_HOST_CLASS >> 8));
    p->cfg[PCI_HEADER_TYPE] = 0x00;
    put16(p->cfg + 0x2c, PCI_HOST_SUBSYS_VENDOR);
    put16(p->cfg + 0x2e, PCI_HOST_SUBSYS_ID);
    p->cfg[I440FX_SMRAM] = 0x02; /* SMRAM: compatible SMM space at 0xa0000, closed */

    put16(p->wmask + PCI_COMMAND, 0x0507); /* IO, MEM, MASTER, SERR, INTX_DISABLE */
    p->wmask[0x0c] = 0xff;                  /* cache line size */
    p->wmask[0x3c] = 0xff;                  /* interrupt line */
    memset(p->wmask + 0x40, 0xff, 0xc0);    /* device-specific registers */
}

void pci_host_set_pam_hook(struct pci_host *p, pci_host_pam_fn fn, void *opaque)
{
    p->pam_changed = fn;
    p->pam_opaque = opaque;
}

unsigned pci_host_pam_attr(const struct pci_host *p, uint32_t a)
{
    if (a < 0xc0000 || a > 0xfffff) return 0;
    if (a >= 0xf0000) return (p->cfg[I440FX_PAM0] >> 4) & 3u;
    unsigned seg = (a - 0xc0000) >> 14; /* 0..11, two per register from PAM1 */
    uint8_t r = p->cfg[I440FX_PAM0 + 1 + seg / 2];
    return (seg & 1 ? r >> 4 : r) & 3u;
}

/* Only device 0, function 0 of bus 0 exists. */
static bool present(unsigned bus, unsigned devfn)
{
    return bus == 0 && devfn == 0;
}

uint32_t pci_host_cfg_read(const struct pci_host *p, unsigned bus, unsigned devfn, unsigned reg, int size)
{
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        unsigned r = reg + (unsigned)i;
        uint32_t b = present(bus, devfn) && r < 256 ? p->cfg[r] : 0xff;
        v |= b << (8 * i);
    }
    return v;
}

void pci_host_cfg_write(struct pci_host *p, unsigned bus, unsigned devfn, unsigned reg, uint32_t val, int size)
{
    if (!present(bus, devfn)) return;
    bool pam = false;
    for (int i = 0; i < size; i++) {
        unsigned r = reg + (unsigned)i;
        if (r >= 256) break;
        uint8_t b = (uint8_t)(val >> (8 * i)), m = p->wmask[r];
        uint8_t old = p->cfg[r];
        p->cfg[r] = (uint8_t)((old & ~m) | (b & m));
        if (r >= I440FX_PAM0 && r < I440FX_PAM0 + I440FX_PAM_REGS && p->cfg[r] != old) pam = true;
    }
    if (pam && p->pam_changed) p->pam_changed(p->pam_opaque, p);
}

static uint32_t ones(int size)
{
    return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu;
}

uint32_t pci_host_port_read(void *opaque, uint16_t port, int size)
{
    struct pci_host *p = opaque;
    if (size != 1 && size != 2) size = 4;
    if (port < PCI_CONFIG_DATA) {
        if (port == PCI_CONFIG_ADDRESS && size == 4) return p->addr;
        return ones(size);
    }
    if (!(p->addr & PCI_CONFIG_ENABLE)) return ones(size);
    unsigned bus = (p->addr >> 16) & 0xff, devfn = (p->addr >> 8) & 0xff;
    unsigned reg = (p->addr & 0xfc) + (port & 3u);
    /* An access running past 0xcff reads all ones for the bytes beyond. */
    int n = size;
    if ((port & 3u) + (unsigned)n > 4) n = 4 - (int)(port & 3u);
    uint32_t v = pci_host_cfg_read(p, bus, devfn, reg, n);
    return (v | ~ones(n)) & ones(size);
}

void pci_host_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct pci_host *p = opaque;
    if (size != 1 && size != 2) size = 4;
    if (port < PCI_CONFIG_DATA) {
        /* Bits 30:24 are reserved and 1:0 are fixed at 0 (type 0 cycles). */
        if (port == PCI_CONFIG_ADDRESS && size == 4) p->addr = val & 0x80fffffcu;
        return;
    }
    if (!(p->addr & PCI_CONFIG_ENABLE)) return;
    unsigned bus = (p->addr >> 16) & 0xff, devfn = (p->addr >> 8) & 0xff;
    unsigned reg = (p->addr & 0xfc) + (port & 3u);
    int n = size;
    if ((port & 3u) + (unsigned)n > 4) n = 4 - (int)(port & 3u);
    pci_host_cfg_write(p, bus, devfn, reg, val, n);
}

int pci_host_register(struct pci_host *p, struct iobus *bus)
{
    /* 0xcf9-0xcfb stay unclaimed (0xcf9 is the PIIX reset control register
     * on real boards): only a dword access at 0xcf8 is CONFIG_ADDRESS. */
    return iobus_register(bus, PCI_CONFIG_ADDRESS, 1, pci_host_port_read, pci_host_port_write, p, "pci-conf1-addr") ||
           iobus_register(bus, PCI_CONFIG_DATA, 4, pci_host_port_read, pci_host_port_write, p, "pci-conf1-data");
}
