/* A bare machine for the memory tests (phys, TLB, paging): RAM and one vCPU,
 * no decoder or decode cache, with a recording on_code_write hook, a helper
 * that builds 2-level page tables, and a macro that catches cpu_fault. */
#ifndef BT86_TESTS_MEM_FIXTURE_H
#define BT86_TESTS_MEM_FIXTURE_H

#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/machine.h"
#include "cpu/mem.h"
#include "cpu/vcpu.h"
#include "memory/paging.h"
#include "memory/phys.h"
#include "memory/tlb.h"

#define MF_RAM   (16u << 20)
#define MF_PD    0x1000u  /* page directory */
#define MF_PT(i) (0xc00000u + (uint32_t)(i) * 0x1000u) /* page table for PDE i: 0xc00000-0xffffff */

struct mf {
    struct machine m;
    struct vcpu *v;
    int code_writes;
    uint32_t cw_pa;
    unsigned cw_size;
    uint32_t cw_seen; /* dword at cw_pa when the hook ran (before the write?) */
};

/* The host address the TLB holds for plain RAM at pa: through the physical
 * view when there is one (phys_page_host). */
static inline uint8_t *ram_host(struct phys_mem *pm, uint32_t pa) { return (pm->view ? pm->view : pm->ram) + pa; }

static inline void mf_code_write(void *opaque, uint32_t pa, unsigned size)
{
    struct mf *f = opaque;
    f->code_writes++;
    f->cw_pa = pa;
    f->cw_size = size;
    memcpy(&f->cw_seen, f->m.mem.ram + (pa & ~3u), 4);
}

static inline struct mf *mf_new(void)
{
    struct mf *f = calloc(1, sizeof(*f));
    cr_assert(f);
    cr_assert_eq(phys_init(&f->m.mem, MF_RAM), 0);
    f->m.a20_mask = 0xffffffffu;
    f->v = vcpu_new(&f->m, 0);
    cr_assert(f->v);
    f->m.cpu[0] = f->v;
    f->m.ncpu = 1;
    f->m.mem.on_code_write = mf_code_write;
    f->m.mem.code_write_opaque = f;
    return f;
}

static inline void mf_free(struct mf *f)
{
    vcpu_free(f->v);
    phys_destroy(&f->m.mem);
    free(f);
}

static inline uint32_t mf_rd32(struct mf *f, uint32_t pa)
{
    uint32_t x;
    memcpy(&x, f->m.mem.ram + pa, 4);
    return x;
}

static inline void mf_wr32(struct mf *f, uint32_t pa, uint32_t x)
{
    memcpy(f->m.mem.ram + pa, &x, 4);
}

/* Turn on protected mode with paging, page directory at MF_PD (cleared). */
static inline void mf_paging_on(struct mf *f, uint32_t cr4)
{
    memset(f->m.mem.ram + MF_PD, 0, 0x1000);
    f->v->cr3 = MF_PD;
    f->v->cr4 = cr4;
    f->v->cr0 = CR0_PE | CR0_PG | CR0_ET;
    tlb_flush_all(&f->v->tlb);
}

/* Map the 4 KiB page at lin to pa with the given PDE and PTE flag bits
 * (P is not implied). The page table for lin's PDE is MF_PT(lin >> 22). */
static inline void mf_map(struct mf *f, uint32_t lin, uint32_t pa, uint32_t pde_flags, uint32_t pte_flags)
{
    uint32_t i = lin >> 22;
    mf_wr32(f, MF_PD + i * 4, MF_PT(i) | pde_flags);
    mf_wr32(f, MF_PT(i) + ((lin >> 12) & 0x3ff) * 4, (pa & ~0xfffu) | pte_flags);
}

static inline uint32_t mf_pde(struct mf *f, uint32_t lin) { return mf_rd32(f, MF_PD + (lin >> 22) * 4); }
static inline uint32_t mf_pte(struct mf *f, uint32_t lin)
{
    return mf_rd32(f, MF_PT(lin >> 22) + ((lin >> 12) & 0x3ff) * 4);
}

/* Run `code`; mf_faulted says whether cpu_fault longjmped out of it. */
static volatile int mf_faulted;
#define MF_TRY(f, ...)                                    \
    do {                                                  \
        mf_faulted = 0;                                   \
        if (setjmp((f)->v->fault_jmp) == 0) {             \
            __VA_ARGS__;                                  \
        } else {                                          \
            mf_faulted = 1;                               \
        }                                                 \
    } while (0)

#define MF_ASSERT_FAULT(f, vec, err)                      \
    do {                                                  \
        cr_assert(mf_faulted, "expected a fault");        \
        cr_assert_eq((f)->v->fault_vec, (vec));           \
        cr_assert_eq((f)->v->fault_err, (uint32_t)(err)); \
    } while (0)

#endif
