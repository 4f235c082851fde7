/* Hardware task switches through a 32-bit TSS (Intel SDM vol. 3 7.3): check
 * the new TSS, read it whole, save the current task into its TSS, update the
 * busy bits and the back link, then load TR, CR3, EFLAGS, EIP, the GPRs, LDTR
 * and the segment registers. Segment faults after the commit point are #TS
 * (or #NP/#SS) raised in the new task's context, as on hardware.
 * Not implemented: 16-bit TSSs (#GP(sel)) and the TSS T (debug trap) bit. */
#include "cpu/task.h"

#include "cpu/fault.h"
#include "cpu/mem.h"
#include "cpu/segment.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"
#include "memory/tlb.h"

/* 32-bit TSS layout (byte offsets). */
#define TSS_LINK   0x00
#define TSS_CR3    0x1c
#define TSS_EIP    0x20
#define TSS_EFLAGS 0x24
#define TSS_EAX    0x28  /* EAX..EDI, 4 bytes each */
#define TSS_ES     0x48  /* ES CS SS DS FS GS, 4 bytes each */
#define TSS_LDT    0x60
#define TSS_MIN_LIMIT 0x67

/* EFLAGS bits a TSS image can set (the rest read as 0, bit 1 as 1). */
#define EFLAGS_LOADABLE 0x003f7fd7u

static inline bool d_present(uint32_t hi) { return (hi & 0x8000u) != 0; }
static inline unsigned d_dpl(uint32_t hi) { return (hi >> 13) & 3u; }
static inline unsigned d_attr(uint32_t hi) { return (hi >> 8) & 0xffu; }

static uint32_t desc_base(uint32_t lo, uint32_t hi)
{
    return (lo >> 16) | ((hi & 0xffu) << 16) | (hi & 0xff000000u);
}

static uint32_t desc_limit(uint32_t lo, uint32_t hi)
{
    uint32_t limit = (lo & 0xffffu) | (hi & 0x000f0000u);
    return (hi & 0x00800000u) ? (limit << 12) | 0xfffu : limit;
}

/* Set or clear the busy bit (type bit 1) of the TSS descriptor for sel in the GDT. */
static void set_busy(struct vcpu *v, uint16_t sel, bool busy)
{
    uint32_t lin = v->gdtr.base + (sel & 0xfff8u) + 5;
    uint32_t b = sys_read(v, lin, 1);
    sys_write(v, lin, busy ? (b | 2u) : (b & ~2u), 1);
}

static _Noreturn void ts_fault(struct vcpu *v, uint16_t sel)
{
    cpu_fault_err(v, EXC_TS, sel & 0xfffcu);
}

static void load_ldtr(struct vcpu *v, uint16_t sel)
{
    uint32_t lo, hi;
    if ((sel & 0xfffcu) == 0) {
        v->ldtr = (struct seg_cache){ .sel = sel };
        return;
    }
    if (sel & 4) ts_fault(v, sel);
    if (!desc_read(v, sel, &lo, &hi)) ts_fault(v, sel);
    if ((d_attr(hi) & 0x1f) != 0x02 || !d_present(hi)) ts_fault(v, sel);
    desc_to_cache(&v->ldtr, sel, lo, hi);
}

/* Load CS, SS or a data segment register of the new task: the rules of a
 * normal load with the new CPL, but #TS(sel) where those raise #GP. */
static void load_task_seg(struct vcpu *v, int seg, uint16_t sel)
{
    uint32_t lo, hi;
    uint16_t err = sel & 0xfffcu;
    unsigned cpl = v->cpl, rpl = sel & 3u;
    if (seg != S_CS && seg != S_SS && err == 0) {
        v->seg[seg] = (struct seg_cache){ .sel = sel };
        seg_cache_refresh(&v->seg[seg], true);
        return;
    }
    if (err == 0) ts_fault(v, 0);
    if (!desc_read(v, sel, &lo, &hi)) ts_fault(v, sel);
    unsigned attr = d_attr(hi), type = attr & 0xf, dpl = d_dpl(hi);
    if (!(attr & SEG_ATTR_S)) ts_fault(v, sel);
    if (seg == S_CS) {
        if (!(type & 0x8)) ts_fault(v, sel);
        if ((type & 0x4) ? dpl > rpl : dpl != rpl) ts_fault(v, sel);
        if (!d_present(hi)) cpu_fault_err(v, EXC_NP, err);
    } else if (seg == S_SS) {
        if ((attr & 0x1a) != 0x12 || rpl != cpl || dpl != cpl) ts_fault(v, sel);
        if (!d_present(hi)) cpu_fault_err(v, EXC_SS, err);
    } else {
        if ((type & 0xa) == 0x8) ts_fault(v, sel);               /* execute-only code */
        if ((type & 0xc) != 0xc && (dpl < cpl || dpl < rpl)) ts_fault(v, sel);
        if (!d_present(hi)) cpu_fault_err(v, EXC_NP, err);
    }
    desc_set_accessed(v, sel, &hi);
    desc_to_cache(&v->seg[seg], sel, lo, hi);
}

void task_switch(struct vcpu *v, uint16_t sel, uint32_t lo, uint32_t hi, enum task_switch_reason reason,
                 uint32_t saved_eip)
{
    uint16_t err = sel & 0xfffcu;
    unsigned type = (hi >> 8) & 0xfu;
    bool busy = (type & 2u) != 0;
    if (sel & 4) cpu_gp(v, err);                       /* TSS descriptors live in the GDT */
    if ((type & ~2u) != 0x9) cpu_gp(v, err);           /* 16-bit TSS: not implemented */
    if (reason == TS_IRET ? !busy : busy) {
        if (reason == TS_IRET) ts_fault(v, sel);
        cpu_gp(v, err);
    }
    if (!d_present(hi)) cpu_fault_err(v, EXC_NP, err);
    uint32_t base = desc_base(lo, hi);
    if (desc_limit(lo, hi) < TSS_MIN_LIMIT) ts_fault(v, sel);

    struct seg_cache *tr = &v->tr;
    unsigned tr_type = SEG_ATTR_TYPE(tr->attr);
    if (!(tr->attr & SEG_ATTR_P) || (tr_type & ~2u) != 0x9 || tr->limit < TSS_MIN_LIMIT) ts_fault(v, tr->sel);

    /* Read the whole new TSS first: a page fault here changes nothing. */
    uint32_t t[(TSS_MIN_LIMIT + 1) / 4];
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) t[i] = sys_read(v, base + 4 * i, 4);

    /* Save the current task. */
    uint32_t old_flags = v->eflags;
    if (reason == TS_IRET) old_flags &= ~F_NT;
    sys_write(v, tr->base + TSS_EIP, saved_eip, 4);
    sys_write(v, tr->base + TSS_EFLAGS, old_flags, 4);
    for (unsigned i = 0; i < 8; i++) sys_write(v, tr->base + TSS_EAX + 4 * i, v->r[i], 4);
    for (unsigned i = 0; i < S_COUNT; i++) sys_write(v, tr->base + TSS_ES + 4 * i, v->seg[i].sel, 2);

    /* Busy bits and the back link. */
    if (reason == TS_JMP || reason == TS_IRET) set_busy(v, tr->sel, false);
    uint32_t new_flags = (t[TSS_EFLAGS / 4] & EFLAGS_LOADABLE) | F_FIXED1;
    if (reason == TS_CALL || reason == TS_INT) {
        sys_write(v, base + TSS_LINK, tr->sel, 2);
        new_flags |= F_NT;
    }
    if (reason != TS_IRET) set_busy(v, sel, true);

    /* Commit point: from here on the new task is current. */
    vmm_count(v, EXIT_TASK_SWITCH);
    desc_to_cache(&v->tr, sel, lo, hi | 0x200u);
    v->cr0 |= CR0_TS;
    v->cr3 = t[TSS_CR3 / 4] & 0xfffff018u;
    tlb_flush_nonglobal(&v->tlb);
    v->eflags = new_flags;
    uint32_t eip = t[TSS_EIP / 4];
    for (unsigned i = 0; i < 8; i++) v->r[i] = t[TSS_EAX / 4 + i];
    uint16_t sels[S_COUNT];
    for (unsigned i = 0; i < S_COUNT; i++) {
        sels[i] = (uint16_t)t[TSS_ES / 4 + i];
        v->seg[i] = (struct seg_cache){ .sel = sels[i] }; /* unusable until loaded below */
        seg_cache_refresh(&v->seg[i], true);
    }
    v->insn_eip = eip;     /* faults from here on belong to the new task */
    v->next_eip = eip;
    v->cpl = (new_flags & F_VM) ? 3 : (sels[S_CS] & 3u);
    cpu_update_mode(v);

    load_ldtr(v, (uint16_t)t[TSS_LDT / 4]);
    if (new_flags & F_VM) {
        for (int i = 0; i < S_COUNT; i++) seg_load_real(v, i, sels[i]);
    } else {
        load_task_seg(v, S_CS, sels[S_CS]);
        load_task_seg(v, S_SS, sels[S_SS]);
        static const int data[] = { S_ES, S_DS, S_FS, S_GS };
        for (unsigned i = 0; i < 4; i++) load_task_seg(v, data[i], sels[data[i]]);
    }
    cpu_update_mode(v);
}
