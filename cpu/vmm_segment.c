/* VMM handlers for segment-register loads and the descriptor-table registers:
 * MOV/POP/LxS to a segment register, LGDT/LIDT/SGDT/SIDT, LLDT/LTR/SLDT/STR,
 * and the descriptor probes LAR/LSL/VERR/VERW (Intel SDM vol. 2 instruction
 * pages; vol. 3 ch. 5). Far transfers are in cpu/vmm_far.c. */
#include "cpu/vmm.h"

#include "cpu/fault.h"
#include "cpu/mem.h"
#include "cpu/segment.h"
#include "cpu/trap_engine.h"

#define CR4_UMIP 0x0800u

static inline unsigned d_type(uint32_t hi) { return (hi >> 8) & 0xfu; }
static inline unsigned d_dpl(uint32_t hi) { return (hi >> 13) & 3u; }
static inline bool d_present(uint32_t hi) { return (hi & 0x8000u) != 0; }
static inline bool d_system(uint32_t hi) { return (hi & 0x1000u) == 0; }

static inline bool real_like(const struct vcpu *v)
{
    return !vcpu_protected(v) || vcpu_vm86(v);
}

/* #UD in real and VM86 mode (LLDT, LTR, SLDT, STR, LAR, LSL, VERR, VERW). */
static void prot_only(struct vcpu *v)
{
    if (real_like(v)) cpu_ud(v);
}

/* #GP(0) unless CPL 0 (in VM86 CPL is 3, so this faults there too). */
static void cpl0_only(struct vcpu *v)
{
    if (vcpu_protected(v) && v->cpl != 0) cpu_gp(v, 0);
}

void vmm_load_seg(struct vcpu *v, uint32_t seg, uint32_t sel)
{
    if (seg >= S_COUNT || seg == S_CS) cpu_ud(v); /* MOV CS is #UD; nothing else loads CS here */
    seg_load(v, (int)seg, (uint16_t)sel);
    if (seg == S_SS) cpu_update_mode(v); /* SS.B decides the stack width */
}

/* LGDT / LIDT: 16-bit limit then 32-bit base; a 16-bit operand size keeps 24 bits of base. */
static void load_dtr(struct vcpu *v, struct dtr *d, uint32_t seg, uint32_t off, uint32_t opsize)
{
    cpl0_only(v);
    if (seg >= S_COUNT) cpu_ud(v);
    uint32_t limit = mem_read(v, (int)seg, off, 2);
    uint32_t base = mem_read(v, (int)seg, off + 2, 4);
    if (opsize == 2) base &= 0x00ffffffu;
    d->limit = (uint16_t)limit;
    d->base = base;
}

void vmm_lgdt(struct vcpu *v, uint32_t seg, uint32_t off, uint32_t opsize)
{
    load_dtr(v, &v->gdtr, seg, off, opsize);
}

void vmm_lidt(struct vcpu *v, uint32_t seg, uint32_t off, uint32_t opsize)
{
    load_dtr(v, &v->idtr, seg, off, opsize);
}

/* SGDT / SIDT store the limit and all 32 bits of the base (6 bytes), whatever
 * the operand size, as current processors do. CR4.UMIP makes them CPL-0 only. */
static void store_dtr(struct vcpu *v, const struct dtr *d, uint32_t seg, uint32_t off)
{
    if ((v->cr4 & CR4_UMIP) && vcpu_protected(v) && v->cpl != 0) cpu_gp(v, 0);
    if (seg >= S_COUNT) cpu_ud(v);
    uint8_t buf[6] = {
        (uint8_t)d->limit, (uint8_t)(d->limit >> 8),
        (uint8_t)d->base, (uint8_t)(d->base >> 8), (uint8_t)(d->base >> 16), (uint8_t)(d->base >> 24),
    };
    mem_write_bytes(v, (int)seg, off, buf, sizeof buf);
}

void vmm_sgdt(struct vcpu *v, uint32_t seg, uint32_t off)
{
    store_dtr(v, trap_real_gdtr(v), seg, off); /* -engine trap: the VMM's */
}

void vmm_sidt(struct vcpu *v, uint32_t seg, uint32_t off)
{
    store_dtr(v, trap_real_idtr(v), seg, off);
}

/* Read a system descriptor that must live in the GDT (LLDT, LTR). */
static void read_gdt_system(struct vcpu *v, uint16_t sel, uint32_t *lo, uint32_t *hi)
{
    uint16_t err = sel & 0xfffcu;
    if (sel & 4) cpu_gp(v, err);
    if (!desc_read(v, sel, lo, hi)) cpu_gp(v, err);
    if (!d_system(*hi)) cpu_gp(v, err);
}

void vmm_lldt(struct vcpu *v, uint32_t sel32)
{
    uint16_t sel = (uint16_t)sel32;
    uint32_t lo, hi;
    prot_only(v);
    cpl0_only(v);
    if ((sel & 0xfffcu) == 0) {
        /* A null selector leaves LDTR unusable: later LDT references #GP. */
        v->ldtr = (struct seg_cache){ .sel = sel };
        return;
    }
    read_gdt_system(v, sel, &lo, &hi);
    if (d_type(hi) != 0x2) cpu_gp(v, sel & 0xfffcu);
    if (!d_present(hi)) cpu_fault_err(v, EXC_NP, sel & 0xfffcu);
    desc_to_cache(&v->ldtr, sel, lo, hi);
}

void vmm_ltr(struct vcpu *v, uint32_t sel32)
{
    uint16_t sel = (uint16_t)sel32;
    uint32_t lo, hi;
    prot_only(v);
    cpl0_only(v);
    if ((sel & 0xfffcu) == 0) cpu_gp(v, 0);
    read_gdt_system(v, sel, &lo, &hi);
    unsigned type = d_type(hi);
    if (type != 0x1 && type != 0x9) cpu_gp(v, sel & 0xfffcu); /* available 16- or 32-bit TSS */
    if (!d_present(hi)) cpu_fault_err(v, EXC_NP, sel & 0xfffcu);
    /* Mark the TSS busy in the GDT (type bit 1). */
    hi |= 0x200u;
    sys_write(v, v->gdtr.base + (sel & 0xfff8u) + 5, (hi >> 8) & 0xffu, 1);
    desc_to_cache(&v->tr, sel, lo, hi);
}

uint32_t vmm_sldt(struct vcpu *v)
{
    prot_only(v);
    if ((v->cr4 & CR4_UMIP) && v->cpl != 0) cpu_gp(v, 0);
    if (unlikely(v->trap != NULL)) return trap_real_ldtr(v);
    return v->ldtr.sel;
}

uint32_t vmm_str(struct vcpu *v)
{
    prot_only(v);
    if ((v->cr4 & CR4_UMIP) && v->cpl != 0) cpu_gp(v, 0);
    if (unlikely(v->trap != NULL)) return trap_real_tr(v);
    return v->tr.sel;
}

/* The common part of LAR/LSL/VERR/VERW: read the descriptor for sel and apply
 * the privilege rule (DPL >= CPL and DPL >= RPL, except conforming code).
 * Returns false when the selector fails (the instruction then clears ZF). */
static bool probe_desc(struct vcpu *v, uint16_t sel, uint32_t *lo, uint32_t *hi)
{
    if ((sel & 0xfffcu) == 0) return false;
    if (!desc_read(v, sel, lo, hi)) return false;
    bool conforming_code = !d_system(*hi) && (d_type(*hi) & 0xc) == 0xc;
    if (!conforming_code) {
        unsigned dpl = d_dpl(*hi);
        if (dpl < v->cpl || dpl < (sel & 3u)) return false;
    }
    return true;
}

static void set_zf(struct vcpu *v, bool zf)
{
    v->eflags = (v->eflags & ~F_ZF) | (zf ? F_ZF : 0);
}

/* System descriptor types LAR accepts: TSS (16/32, available/busy), LDT, call
 * gates and task gates. LSL accepts TSSs and LDTs only. */
#define LAR_SYS_TYPES ((1u << 0x1) | (1u << 0x2) | (1u << 0x3) | (1u << 0x4) | (1u << 0x5) | \
                       (1u << 0x9) | (1u << 0xb) | (1u << 0xc))
#define LSL_SYS_TYPES ((1u << 0x1) | (1u << 0x2) | (1u << 0x3) | (1u << 0x9) | (1u << 0xb))

uint64_t vmm_lar(struct vcpu *v, uint32_t sel)
{
    uint32_t lo, hi;
    prot_only(v);
    if (!probe_desc(v, (uint16_t)sel, &lo, &hi)) return 0;
    if (d_system(hi) && !(LAR_SYS_TYPES & (1u << d_type(hi)))) return 0;
    return (1ull << 32) | (hi & 0x00f0ff00u);
}

uint64_t vmm_lsl(struct vcpu *v, uint32_t sel)
{
    uint32_t lo, hi;
    prot_only(v);
    if (!probe_desc(v, (uint16_t)sel, &lo, &hi)) return 0;
    if (d_system(hi) && !(LSL_SYS_TYPES & (1u << d_type(hi)))) return 0;
    uint32_t limit = (lo & 0xffffu) | (hi & 0x000f0000u);
    if (hi & 0x00800000u) limit = (limit << 12) | 0xfffu;
    return (1ull << 32) | limit;
}

void vmm_verr(struct vcpu *v, uint32_t sel)
{
    uint32_t lo, hi;
    prot_only(v);
    bool ok = probe_desc(v, (uint16_t)sel, &lo, &hi) && !d_system(hi);
    /* Readable: any data segment, or code with R set. */
    if (ok && (d_type(hi) & 0xa) == 0x8) ok = false;
    set_zf(v, ok);
}

void vmm_verw(struct vcpu *v, uint32_t sel)
{
    uint32_t lo, hi;
    prot_only(v);
    bool ok = probe_desc(v, (uint16_t)sel, &lo, &hi) && !d_system(hi);
    /* Writable: data with W set; code never. */
    if (ok && (d_type(hi) & 0xa) != 0x2) ok = false;
    set_zf(v, ok);
}
