/* The paging unit: 2-level 32-bit paging (4 KiB pages, 4 MiB pages with
 * CR4.PSE), U/S and R/W checks with CR0.WP, Accessed/Dirty updates, #PF with
 * the architected error code and CR2, and the A20 gate. It fills the shadow
 * TLB (memory/tlb.h) and implements the slow paths of linear accesses. */
#ifndef BT86_MEMORY_PAGING_H
#define BT86_MEMORY_PAGING_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* Access kinds for translation; ACC_USER marks an access checked with user
 * privilege (CPL 3 and not an implicit supervisor access such as a descriptor
 * table or TSS read). */
#define ACC_READ  0
#define ACC_WRITE 1
#define ACC_FETCH 2
#define ACC_USER  4

/* #PF error code bits */
#define PF_P    0x01
#define PF_W    0x02
#define PF_U    0x04
#define PF_RSVD 0x08
#define PF_I    0x10

struct walk_result {
    uint32_t pa;       /* physical address (A20 mask applied) */
    bool writable;     /* a write with the same privilege would be allowed now */
    bool dirty;        /* the dirty bit is set (fast-path writes allowed) */
    bool global;       /* G bit and CR4.PGE */
    bool large;        /* mapped by a 4 MiB page */
    /* Paging on: where the translation came from (the PDE and, for a 4 KiB
     * page, the PTE: address and value after the A/D update), so a cached
     * TLB entry can be checked against the tables later (memory/tlb.h). */
    uint32_t pde_pa, pde, pte_pa, pte;
};

/* Translate a linear address. Paging off: identity (with the A20 mask).
 * Sets A (and D for writes) in the guest's tables, as hardware does.
 * Returns 0, or a #PF error code with bit 31 set (the fault is not raised). */
uint32_t paging_walk(struct vcpu *v, uint32_t lin, int acc, struct walk_result *out);
#define WALK_FAULT 0x80000000u

/* Translate or raise #PF (sets CR2, longjmps through cpu_fault). */
uint32_t paging_translate(struct vcpu *v, uint32_t lin, int acc);

/* Slow paths of linear-address accesses: TLB miss, page crossing, MMIO,
 * ROM, writes to code pages. size is 1, 2, 4 or 8 (8 only for read/write_n).
 * Raise #PF on a fault. view is TLB_VIEW_SUP or TLB_VIEW_USER (or 2, the
 * alignment-checking user view). */
uint32_t lin_read_slow(struct vcpu *v, uint32_t lin, int size, int view, int acc);
void     lin_write_slow(struct vcpu *v, uint32_t lin, uint32_t val, int size, int view);
/* Byte ranges (descriptor tables, FXSAVE areas, string moves). Both pages are
 * checked before anything is written. */
void lin_read_bytes(struct vcpu *v, uint32_t lin, void *dst, uint32_t len, int view);
void lin_write_bytes(struct vcpu *v, uint32_t lin, const void *src, uint32_t len, int view);
/* Host pointer for instruction fetch at lin, and how many bytes are valid from
 * it to the end of its page (RAM or ROM); NULL with *avail = 0 for MMIO/unassigned.
 * Raises #PF if not executable. */
const uint8_t *lin_fetch_ptr(struct vcpu *v, uint32_t lin, int view, uint32_t *avail, uint32_t *pa);

/* MOV CR3 (cpu/vmm_cr.c; v->cr3 already holds the new value): the vCPU's
 * TLB switches address space, reusing the new space's cached entries that
 * are still valid (memory/tlb.h "Cached address spaces"). */
void paging_switch_cr3(struct vcpu *v, uint32_t old_cr3);

#endif
