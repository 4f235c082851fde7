/* The entry state boot loaders hand a 32-bit kernel (Multiboot, the Linux
 * 32-bit boot protocol): protected mode without paging, CPL 0, flat 4 GiB
 * code and data segments described by a small GDT the loader writes, IF=0,
 * A20 on, the BIOS data area filled. */
#ifndef BT86_FRONTEND_FLAT32_ENTRY_H
#define BT86_FRONTEND_FLAT32_ENTRY_H

#include <stdint.h>

struct machine;
struct vcpu;

/* Write a GDT at gdt_addr (null descriptors up to cs_sel, flat code at
 * cs_sel and flat data at ds_sel, accessed bits set to match the caches)
 * and put v in that state with every general register 0; the caller sets
 * EIP and the registers its protocol defines. ds_sel must be cs_sel + 8. */
void flat32_enter(struct machine *m, struct vcpu *v, uint32_t gdt_addr, uint16_t cs_sel, uint16_t ds_sel);

#endif
