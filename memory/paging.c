/* The paging unit (see paging.h): the 2-level 32-bit page walk with the
 * architected permission checks, Accessed/Dirty updates and #PF error codes,
 * the A20 gate, TLB fills (with where each came from, so MOV CR3 can keep
 * them per address space), and the slow paths of linear accesses (TLB
 * misses, page crossings, MMIO, ROM, code-page writes, alignment checks). */
#include "memory/paging.h"

#include <string.h>

#include "cpu/fault.h"
#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "memory/phys.h"
#include "memory/tlb.h"

/* Page-table entry bits. */
#define PTE_P   0x001u
#define PTE_RW  0x002u
#define PTE_US  0x004u
#define PTE_A   0x020u
#define PTE_D   0x040u
#define PDE_PS  0x080u
#define PTE_G   0x100u
/* A 4 MiB PDE's bits 21:13 are reserved without PSE-36, which bt86 does not report. */
#define PDE4M_RSVD 0x003fe000u

uint32_t paging_walk(struct vcpu *v, uint32_t lin, int acc, struct walk_result *out)
{
    struct phys_mem *pm = &v->m->mem;
    uint32_t a20 = v->m->a20_mask;
    bool user = (acc & ACC_USER) != 0;
    bool write = (acc & 3) == ACC_WRITE;
    uint32_t err = (write ? PF_W : 0) | (user ? PF_U : 0);

    if (!vcpu_paging(v)) {
        out->pa = lin & a20;
        out->writable = true;
        out->dirty = true;
        out->global = false;
        out->large = false;
        out->pde_pa = out->pde = out->pte_pa = out->pte = 0;
        return 0;
    }

    uint32_t pde_pa = ((v->cr3 & 0xfffff000u) | ((lin >> 22) << 2)) & a20;
    uint32_t pde = phys_read(pm, pde_pa, 4);
    if (!(pde & PTE_P)) return WALK_FAULT | err;

    uint32_t leaf, leaf_pa, pa, rw, us;
    bool large = (v->cr4 & CR4_PSE) && (pde & PDE_PS);
    if (large) {
        if (pde & PDE4M_RSVD) return WALK_FAULT | err | PF_P | PF_RSVD;
        leaf = pde;
        leaf_pa = pde_pa;
        pa = (pde & 0xffc00000u) | (lin & 0x003fffffu);
        rw = pde & PTE_RW;
        us = pde & PTE_US;
    } else {
        leaf_pa = ((pde & 0xfffff000u) | (((lin >> 12) & 0x3ffu) << 2)) & a20;
        leaf = phys_read(pm, leaf_pa, 4);
        if (!(leaf & PTE_P)) return WALK_FAULT | err;
        pa = (leaf & 0xfffff000u) | (lin & 0xfffu);
        rw = pde & leaf & PTE_RW;
        us = pde & leaf & PTE_US;
    }

    /* Permissions: user accesses need U/S and (for writes) R/W in both levels;
     * supervisor writes need R/W only when CR0.WP is set. */
    bool writable = user ? (rw && us) : (rw || !(v->cr0 & CR0_WP));
    if (user && !us) return WALK_FAULT | err | PF_P;
    if (write && !writable) return WALK_FAULT | err | PF_P;

    /* The walk succeeded: set Accessed in every level used, Dirty in the leaf on writes. */
    if (!(pde & PTE_A) || (large && write && !(pde & PTE_D))) {
        pde |= PTE_A | (large && write ? PTE_D : 0);
        phys_write(pm, pde_pa, pde, 4);
    }
    if (!large) {
        if (!(leaf & PTE_A) || (write && !(leaf & PTE_D))) {
            leaf |= PTE_A | (write ? PTE_D : 0);
            phys_write(pm, leaf_pa, leaf, 4);
        }
    } else {
        leaf = pde;
    }

    out->pa = pa & a20;
    out->writable = writable;
    out->dirty = (leaf & PTE_D) != 0;
    out->global = (v->cr4 & CR4_PGE) && (leaf & PTE_G);
    out->large = large;
    out->pde_pa = pde_pa;
    out->pde = pde;
    out->pte_pa = large ? TLB_SRC_NONE : leaf_pa;
    out->pte = large ? 0 : leaf;
    return 0;
}

void paging_switch_cr3(struct vcpu *v, uint32_t old_cr3)
{
    if (!vcpu_paging(v)) tlb_flush_nonglobal(&v->tlb);
    else tlb_switch_cr3(&v->tlb, old_cr3, v->cr3, &v->m->mem);
}

/* Enter a successful walk into the TLB view it was made for. Only whole RAM
 * pages may be written through the fast path, and only once Dirty is set and
 * while the page holds no decoded code; ROM pages are entered read-only; MMIO
 * and unassigned pages never. */
static void fill(struct vcpu *v, uint32_t lin, int view, const struct walk_result *w)
{
    if (view != TLB_VIEW_SUP && view != TLB_VIEW_USER) return;
    struct phys_mem *pm = &v->m->mem;
    bool is_ram = false;
    const uint8_t *host = phys_page_host(pm, w->pa & ~0xfffu, &is_ram);
    if (!host) return;
    bool wr = w->writable && w->dirty && is_ram && !phys_is_code_page(pm, w->pa);
    const struct tlb_src src = { w->pde_pa, w->pde, w->pte_pa, w->pte };
    tlb_fill_src(&v->tlb, view, lin & ~0xfffu, (uint8_t *)host, wr, w->global, vcpu_paging(v) ? &src : NULL);
    if (w->large) tlb_note_large(&v->tlb, lin);
    if (wr && v->m->ncpu > 1) {
        /* Another vCPU may have made the page a code page since the check
         * above and revoked write entries before this one was made: look
         * again after the entry is visible (the decoder marks, fences, then
         * revokes; one of the two sees the other). */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (phys_is_code_page(pm, w->pa)) tlb_slot(&v->tlb, view, lin)->tag_w = TLB_TAG_NONE;
    }
}

/* Translate for `view` (fills the TLB) or raise #PF with CR2 = lin. */
static uint32_t translate(struct vcpu *v, uint32_t lin, int acc, int view)
{
    struct walk_result w;
    if (view != TLB_VIEW_SUP) acc |= ACC_USER;
    uint32_t e = paging_walk(v, lin, acc, &w);
    if (e & WALK_FAULT) {
        v->cr2 = lin;
        cpu_fault_err(v, EXC_PF, e & ~WALK_FAULT);
    }
    fill(v, lin, view, &w);
    return w.pa;
}

uint32_t paging_translate(struct vcpu *v, uint32_t lin, int acc)
{
    return translate(v, lin, acc & ~ACC_USER, (acc & ACC_USER) ? TLB_VIEW_USER : TLB_VIEW_SUP);
}

/* The alignment-checking view: #AC(0) on a misaligned access, then as the user view. */
static int check_ac(struct vcpu *v, uint32_t lin, uint32_t size, int view)
{
    if (view != TLB_VIEW_AC) return view;
    uint32_t align = size >= 8 ? 8 : size; /* m80 and wider: 8-byte alignment */
    if ((size == 2 || size == 4 || size == 8 || size == 10) && (lin & (align - 1)))
        cpu_fault_err(v, EXC_AC, 0);
    return TLB_VIEW_USER;
}

uint32_t lin_read_slow(struct vcpu *v, uint32_t lin, int size, int view, int acc)
{
    struct phys_mem *pm = &v->m->mem;
    if ((acc & 3) != ACC_FETCH) view = check_ac(v, lin, (uint32_t)size, view);
    else if (view == TLB_VIEW_AC) view = TLB_VIEW_USER;
    acc &= 3;
    uint32_t off = lin & 0xfffu;
    if (off + (uint32_t)size <= 0x1000u) return phys_read(pm, translate(v, lin, acc, view), size);
    /* Crosses a page: translate both before reading anything. */
    uint32_t lin2 = (lin | 0xfffu) + 1;
    uint32_t pa1 = translate(v, lin, acc, view);
    uint32_t pa2 = translate(v, lin2, acc, view);
    uint32_t val = 0;
    for (int i = 0; i < size; i++) {
        uint32_t a = lin + (uint32_t)i;
        uint32_t pa = (a & ~0xfffu) == (lin & ~0xfffu) ? pa1 + (uint32_t)i : pa2 + (a - lin2);
        val |= phys_read(pm, pa, 1) << (8 * i);
    }
    return val;
}

void lin_write_slow(struct vcpu *v, uint32_t lin, uint32_t val, int size, int view)
{
    struct phys_mem *pm = &v->m->mem;
    view = check_ac(v, lin, (uint32_t)size, view);
    uint32_t off = lin & 0xfffu;
    if (off + (uint32_t)size <= 0x1000u) {
        /* phys_write tells the decode cache before it modifies a code page. */
        phys_write(pm, translate(v, lin, ACC_WRITE, view), val, size);
        return;
    }
    uint32_t lin2 = (lin | 0xfffu) + 1;
    uint32_t pa1 = translate(v, lin, ACC_WRITE, view);
    uint32_t pa2 = translate(v, lin2, ACC_WRITE, view);
    uint32_t n1 = lin2 - lin;
    for (int i = 0; i < size; i++) {
        uint32_t pa = (uint32_t)i < n1 ? pa1 + (uint32_t)i : pa2 + ((uint32_t)i - n1);
        phys_write(pm, pa, (val >> (8 * i)) & 0xff, 1);
    }
}

/* Byte ranges: translate every page first (faults leave memory untouched),
 * then copy page by page. Ranges of up to MAX_PAGES pages remember their
 * translations; longer ones (rare) are walked a second time. */
#define MAX_PAGES 18

static void range_read(struct vcpu *v, uint32_t pa, uint8_t *dst, uint32_t n)
{
    struct phys_mem *pm = &v->m->mem;
    bool is_ram;
    const uint8_t *host = phys_page_host(pm, pa, &is_ram);
    if (host) {
        memcpy(dst, host + (pa & 0xfffu), n);
        return;
    }
    for (uint32_t i = 0; i < n; i++) dst[i] = (uint8_t)phys_read(pm, pa + i, 1);
}

static void range_write(struct vcpu *v, uint32_t pa, const uint8_t *src, uint32_t n)
{
    struct phys_mem *pm = &v->m->mem;
    bool is_ram = false;
    const uint8_t *host = phys_page_host(pm, pa, &is_ram);
    if (host && is_ram) {
        if (phys_is_code_page(pm, pa) && pm->on_code_write) pm->on_code_write(pm->code_write_opaque, pa, n);
        memcpy((uint8_t *)host + (pa & 0xfffu), src, n);
        return;
    }
    for (uint32_t i = 0; i < n; i++) phys_write(pm, pa + i, src[i], 1);
}

static void range(struct vcpu *v, uint32_t lin, uint8_t *buf, uint32_t len, int view, bool write)
{
    if (len == 0) return;
    view = check_ac(v, lin, len, view);
    int acc = write ? ACC_WRITE : ACC_READ;
    uint32_t npages = (uint32_t)(((uint64_t)(lin & 0xfffu) + len + 0xfffu) >> 12);
    uint32_t pas[MAX_PAGES];
    /* Pass 1: translate every page. */
    uint32_t a = lin;
    for (uint32_t k = 0; k < npages; k++) {
        uint32_t pa = translate(v, a, acc, view);
        if (k < MAX_PAGES) pas[k] = pa;
        a = (a & ~0xfffu) + 0x1000u;
    }
    /* Pass 2: copy. */
    a = lin;
    uint32_t done = 0;
    for (uint32_t k = 0; k < npages; k++) {
        uint32_t n = 0x1000u - (a & 0xfffu);
        if (n > len - done) n = len - done;
        uint32_t pa = k < MAX_PAGES ? pas[k] : translate(v, a, acc, view);
        if (write) range_write(v, pa, buf + done, n);
        else range_read(v, pa, buf + done, n);
        done += n;
        a += n;
    }
}

void lin_read_bytes(struct vcpu *v, uint32_t lin, void *dst, uint32_t len, int view)
{
    range(v, lin, dst, len, view, false);
}

void lin_write_bytes(struct vcpu *v, uint32_t lin, const void *src, uint32_t len, int view)
{
    range(v, lin, (uint8_t *)src, len, view, true);
}

const uint8_t *lin_fetch_ptr(struct vcpu *v, uint32_t lin, int view, uint32_t *avail, uint32_t *pa)
{
    if (view == TLB_VIEW_AC) view = TLB_VIEW_USER;
    /* Fast path: a TLB hit on a RAM page (fetches need read permission only). */
    const uint8_t *h = tlb_probe_read(&v->tlb, view, lin, 1);
    const struct phys_mem *pm = &v->m->mem;
    if (h && phys_host_pa(pm, h, pa)) {
        *avail = 0x1000u - (lin & 0xfffu);
        return h;
    }
    uint32_t p = translate(v, lin, ACC_FETCH, view);
    *pa = p;
    bool is_ram;
    const uint8_t *host = phys_page_host(&v->m->mem, p, &is_ram);
    if (!host) {
        *avail = 0;
        return NULL;
    }
    *avail = 0x1000u - (lin & 0xfffu);
    return host + (p & 0xfffu);
}
