/* PCI configuration mechanism #1 (ports 0xcf8-0xcff) with one device on it:
 * the host bridge at 00:00.0, an Intel 82441FX (440FX, 8086:1237, class
 * 060000, header type 0) as in QEMU's pc machine. 0xcf8 is the 32-bit
 * CONFIG_ADDRESS register (bit 31 enable, bus 23:16, device 15:11, function
 * 10:8, register 7:2); only dword accesses at 0xcf8 reach it (smaller ones
 * pass through to the ISA bus: reads all ones, writes dropped), as on the
 * PIIX chipsets. 0xcfc-0xcff is CONFIG_DATA: byte, word and dword accesses
 * at any offset reach register (addr & 0xfc) + (port & 3) of the selected
 * function. Absent functions and disabled cycles read all ones; writes go
 * through a per-byte write mask, so read-only fields keep their values. The
 * board is told when the PAM registers change (shadow RAM for the BIOS). */
#ifndef BT86_DEVICES_PCI_HOST_H
#define BT86_DEVICES_PCI_HOST_H

#include <stdint.h>

#include "devices/iobus.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_CONFIG_ENABLE  0x80000000u

#define PCI_HOST_VENDOR 0x8086
#define PCI_HOST_DEVICE 0x1237
#define PCI_HOST_REVISION 0x02
#define PCI_HOST_CLASS  0x060000u /* bridge, host bridge */
#define PCI_HOST_SUBSYS_VENDOR 0x1af4 /* what QEMU gives every device */
#define PCI_HOST_SUBSYS_ID     0x1100

/* Standard header offsets used here. */
#define PCI_VENDOR_ID   0x00
#define PCI_DEVICE_ID   0x02
#define PCI_COMMAND     0x04
#define PCI_STATUS      0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG  0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_HEADER_TYPE 0x0e

/* The 440FX's Programmable Attribute Map: registers 0x59-0x5f give each
 * segment of 0xC0000-0xFFFFF (16 KiB each below 0xF0000, then one of 64 KiB)
 * two bits: RE (reads go to DRAM instead of the PCI/ISA side, where the BIOS
 * ROM is) and WE (writes go to DRAM instead). */
#define I440FX_PAM0      0x59
#define I440FX_PAM_REGS  7
#define PAM_RE 1
#define PAM_WE 2

struct pci_host;
/* Called after a configuration write changed a PAM register. */
typedef void (*pci_host_pam_fn)(void *opaque, const struct pci_host *p);

struct pci_host {
    uint32_t addr;          /* CONFIG_ADDRESS (bits 1:0 read as 0) */
    uint8_t cfg[256];       /* the host bridge's configuration space */
    uint8_t wmask[256];     /* bits the guest may change */
    pci_host_pam_fn pam_changed; /* NULL: PAM is storage only */
    void *pam_opaque;
};

/* Reset state (PAM all 0: the ROM side for reads and writes). */
void pci_host_init(struct pci_host *p);
/* Have fn told of PAM changes (after pci_host_init). */
void pci_host_set_pam_hook(struct pci_host *p, pci_host_pam_fn fn, void *opaque);
/* The PAM_RE|PAM_WE bits of the segment holding physical address a, or 0
 * outside 0xC0000-0xFFFFF. */
unsigned pci_host_pam_attr(const struct pci_host *p, uint32_t a);
/* Claim 0xcf8 and 0xcfc-0xcff (two I/O bus slots). 0, or -1 if out of slots. */
int pci_host_register(struct pci_host *p, struct iobus *bus);

/* A configuration read / write of `size` bytes (1, 2, 4) at register `reg`
 * (0-255, may be unaligned; bytes past 255 read all ones) of bus:devfn. */
uint32_t pci_host_cfg_read(const struct pci_host *p, unsigned bus, unsigned devfn, unsigned reg, int size);
void pci_host_cfg_write(struct pci_host *p, unsigned bus, unsigned devfn, unsigned reg, uint32_t val, int size);

/* The port handlers (also for tests). */
uint32_t pci_host_port_read(void *opaque, uint16_t port, int size);
void pci_host_port_write(void *opaque, uint16_t port, uint32_t val, int size);

#endif
