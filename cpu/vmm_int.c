/* VMM handlers for software interrupts, IRET (real, VM86, protected to the
 * same or an outer level, to VM86, and nested-task returns) and
 * SYSENTER/SYSEXIT: the instructions that change CS:EIP together with the
 * privilege level. Handlers called from an instruction return the new EIP in
 * v->next_eip, as every interpreter handler does. */
#include "cpu/fault.h"
#include "cpu/interrupt.h"
#include "cpu/intr_util.h"
#include "cpu/mem.h"
#include "cpu/segment.h"
#include "cpu/task.h"
#include "cpu/trap_engine.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"

void vmm_int_sw(struct vcpu *v, uint32_t vector, uint32_t kind)
{
    if (trap_deprived(v)) trap_int_sw(v, kind); /* -engine trap: the real IDT is the VMM's */
    switch (kind) {
    case INTSW_INT3:
        vector = EXC_BP;
        break;
    case INTSW_INTO:
        if (!(v->eflags & F_OF)) return;
        vector = EXC_OF;
        break;
    case INTSW_ICEBP:
        /* INT1 behaves like a hardware #DB trap: no gate DPL check, EXT=1. */
        vmm_count(v, EXIT_EXCEPTION);
        v->exceptions[EXC_DB]++;
        cpu_interrupt(v, EXC_DB, INT_EXCEPTION, false, 0, v->next_eip);
        return;
    default:
        /* INT n is IOPL-sensitive in VM86 (no CR4.VME redirection). INT3
         * and INTO are not. */
        if (vcpu_vm86(v) && vcpu_iopl(v) < 3) cpu_gp(v, 0);
        break;
    }
    if (kind == INTSW_INT3 || kind == INTSW_INTO) {
        vmm_count(v, EXIT_EXCEPTION);
        v->exceptions[vector]++;
    }
    /* Traps: the saved EIP is the next instruction. */
    cpu_interrupt(v, (int)(vector & 0xff), INT_SOFTWARE, false, 0, v->next_eip);
}

/* --- IRET --- */

/* Read slot i (of `size` bytes) above the stack pointer. */
static uint32_t iret_pop(struct vcpu *v, unsigned i, unsigned size)
{
    return stack_peek(v, i * size, size);
}

static void load_vm86_seg(struct vcpu *v, int s, uint16_t sel)
{
    struct seg_cache *c = &v->seg[s];
    *c = (struct seg_cache){ .sel = sel, .base = (uint32_t)sel << 4, .limit = 0xffff,
                             .attr = SEG_ATTR_P | SEG_ATTR_S | (3u << 5) | (s == S_CS ? 0xbu : 0x3u) };
    seg_cache_refresh(c, false);
}

static void iret_real(struct vcpu *v, unsigned size)
{
    uint32_t eip = iret_pop(v, 0, size);
    uint16_t cs = (uint16_t)iret_pop(v, 1, size);
    uint32_t fl = iret_pop(v, 2, size);
    if (size == 2) eip &= 0xffff;
    if (eip > v->seg[S_CS].limit) cpu_gp(v, 0);
    if (size == 4) fl = (fl & 0x257fd5u) | (v->eflags & 0x1a0000u);
    else fl = (v->eflags & 0xffff0000u) | (fl & 0x7fd5u);
    sp_set(v, sp_get(v) + 3 * size);
    v->seg[S_CS].sel = cs;
    v->seg[S_CS].base = (uint32_t)cs << 4;
    seg_cache_refresh(&v->seg[S_CS], false);
    v->next_eip = eip;
    v->eflags = fl | F_FIXED1;
}

/* IRET in VM86: allowed only with IOPL 3; IOPL (and VM, VIF, VIP) unchanged. */
static void iret_vm86(struct vcpu *v, unsigned size)
{
    if (vcpu_iopl(v) < 3) cpu_gp(v, 0);
    uint32_t eip = iret_pop(v, 0, size);
    uint16_t cs = (uint16_t)iret_pop(v, 1, size);
    uint32_t fl = iret_pop(v, 2, size);
    if (size == 2) eip &= 0xffff;
    if (eip > v->seg[S_CS].limit) cpu_gp(v, 0);
    uint32_t keep = F_IOPL | F_VM | F_VIF | F_VIP | (size == 2 ? 0xffff0000u : 0);
    uint32_t nf = (v->eflags & keep) | (fl & ~keep & 0x003f7fd5u);
    sp_set(v, sp_get(v) + 3 * size);
    load_vm86_seg(v, S_CS, cs);
    v->next_eip = eip;
    v->eflags = nf | F_FIXED1;
}

/* EFLAGS after a protected-mode IRET, by the rules of the old CPL. */
static uint32_t iret_flags(const struct vcpu *v, uint32_t fl, unsigned size)
{
    uint32_t mask = F_CF | F_PF | F_AF | F_ZF | F_SF | F_TF | F_DF | F_OF | F_NT;
    if (size == 4) mask |= F_RF | F_AC | F_ID;
    if (v->cpl <= vcpu_iopl(v)) mask |= F_IF;
    if (v->cpl == 0) {
        mask |= F_IOPL;
        if (size == 4) mask |= F_VM | F_VIF | F_VIP;
    }
    return (v->eflags & ~mask) | (fl & mask) | F_FIXED1;
}

/* IRET from ring 0 to a VM86 task (32-bit frame with EFLAGS.VM set). */
static void iret_to_vm86(struct vcpu *v, uint32_t eip, uint16_t cs, uint32_t fl)
{
    uint32_t esp = iret_pop(v, 3, 4);
    uint16_t ss = (uint16_t)iret_pop(v, 4, 4);
    uint16_t es = (uint16_t)iret_pop(v, 5, 4);
    uint16_t ds = (uint16_t)iret_pop(v, 6, 4);
    uint16_t fs = (uint16_t)iret_pop(v, 7, 4);
    uint16_t gs = (uint16_t)iret_pop(v, 8, 4);
    v->eflags = (fl & 0x003f7fd5u) | F_FIXED1;
    load_vm86_seg(v, S_CS, cs);
    load_vm86_seg(v, S_SS, ss);
    load_vm86_seg(v, S_ES, es);
    load_vm86_seg(v, S_DS, ds);
    load_vm86_seg(v, S_FS, fs);
    load_vm86_seg(v, S_GS, gs);
    v->r[R_ESP] = esp;
    v->next_eip = eip & 0xffff;
    v->cpl = 3;
}

/* After a return to an outer level: data segment registers the new CPL may
 * not use are loaded with null. */
static void null_inaccessible(struct vcpu *v)
{
    static const int segs[] = { S_ES, S_FS, S_GS, S_DS };
    for (int i = 0; i < 4; i++) {
        struct seg_cache *s = &v->seg[segs[i]];
        unsigned dpl = SEG_ATTR_DPL(s->attr);
        bool code = (s->attr & SEG_ATTR_S) && (s->attr & 0x8);
        bool conforming = code && (s->attr & 0x4);
        if ((s->sel & 0xfffc) == 0 && !(s->attr & SEG_ATTR_P)) continue;
        if (conforming || dpl >= v->cpl) continue;
        *s = (struct seg_cache){ 0 };
        seg_cache_refresh(s, true);
    }
}

static void iret_protected(struct vcpu *v, unsigned size)
{
    if (v->eflags & F_NT) {
        /* Return to the task in the back link of the current TSS. */
        uint16_t link = (uint16_t)sys_read(v, v->tr.base, 2);
        uint32_t lo, hi;
        if ((link & 4) || !desc_read(v, link, &lo, &hi)) cpu_fault_err(v, EXC_TS, sel_err(link, 0));
        task_switch(v, link, lo, hi, TS_IRET, v->next_eip);
        return;
    }
    uint32_t eip = iret_pop(v, 0, size);
    uint16_t csel = (uint16_t)iret_pop(v, 1, size);
    uint32_t fl = iret_pop(v, 2, size);
    if (size == 2) eip &= 0xffff;
    if (size == 4 && (fl & F_VM) && v->cpl == 0) {
        iret_to_vm86(v, eip, csel, fl);
        return;
    }
    if ((csel & 0xfffc) == 0) cpu_gp(v, 0);
    uint32_t clo, chi;
    if (!desc_read(v, csel, &clo, &chi)) cpu_gp(v, sel_err(csel, 0));
    unsigned rpl = csel & 3;
    if (rpl < v->cpl || !dhi_code(chi)) cpu_gp(v, sel_err(csel, 0));
    unsigned dpl = dhi_dpl(chi);
    if (dhi_conforming(chi) ? dpl > rpl : dpl != rpl) cpu_gp(v, sel_err(csel, 0));
    if (!dhi_present(chi)) cpu_fault_err(v, EXC_NP, sel_err(csel, 0));
    struct seg_cache cs;
    desc_to_cache(&cs, csel, clo, chi);
    seg_cache_refresh(&cs, true);
    if (eip > cs.limit) cpu_gp(v, 0);

    if (rpl == v->cpl) {
        desc_set_accessed(v, csel, &chi);
        sp_set(v, sp_get(v) + 3 * size);
        v->eflags = iret_flags(v, fl, size);
        v->seg[S_CS] = cs;
        v->next_eip = eip;
        return;
    }

    /* Return to an outer level: SS:ESP from the frame too. */
    uint32_t esp = iret_pop(v, 3, size);
    uint16_t ssel = (uint16_t)iret_pop(v, 4, size);
    if ((ssel & 0xfffc) == 0) cpu_gp(v, 0);
    if ((ssel & 3) != rpl) cpu_gp(v, sel_err(ssel, 0));
    uint32_t slo, shi;
    if (!desc_read(v, ssel, &slo, &shi)) cpu_gp(v, sel_err(ssel, 0));
    if (!dhi_writable_data(shi) || dhi_dpl(shi) != rpl) cpu_gp(v, sel_err(ssel, 0));
    if (!dhi_present(shi)) cpu_fault_err(v, EXC_SS, sel_err(ssel, 0));
    struct seg_cache ss;
    desc_to_cache(&ss, ssel, slo, shi);
    seg_cache_refresh(&ss, true);
    desc_set_accessed(v, csel, &chi);
    desc_set_accessed(v, ssel, &shi);
    v->eflags = iret_flags(v, fl, size);
    v->seg[S_CS] = cs;
    v->seg[S_SS] = ss;
    v->r[R_ESP] = (ss.attr & SEG_ATTR_DB) ? esp : ((v->r[R_ESP] & 0xffff0000u) | (esp & 0xffff));
    v->next_eip = eip;
    v->cpl = (uint8_t)rpl;
    null_inaccessible(v);
}

void vmm_iret(struct vcpu *v, uint32_t opsize)
{
    unsigned size = opsize == 4 ? 4 : 2;
    /* -engine trap: a task return would use the real TSS, the VMM's, whose
     * null back link faults (#TS) into the VMM. */
    if (trap_deprived(v) && (v->eflags & F_NT)) trap_to_vmm(v);
    if (!vcpu_protected(v)) iret_real(v, size);
    else if (vcpu_vm86(v)) iret_vm86(v, size);
    else iret_protected(v, size);
    cpu_update_mode(v); /* CPL, sizes, AC view; ends the block so a pending interrupt is seen */
}

/* --- SYSENTER / SYSEXIT: flat segments derived from IA32_SYSENTER_CS --- */

static void load_flat(struct vcpu *v, int s, uint16_t sel, unsigned dpl, bool code)
{
    /* What seg_cache_refresh would derive, written at once (this is on every
     * SYSENTER/SYSEXIT): execute/read accessed code, or read/write accessed
     * data, 4 GiB from 0 (test: sysenter_exit_segment_caches_are_refreshed). */
    v->seg[s] = (struct seg_cache){ .sel = sel, .base = 0, .limit = 0xffffffffu,
                                    .attr = (uint16_t)(SEG_ATTR_G | SEG_ATTR_DB | SEG_ATTR_P | SEG_ATTR_S | (dpl << 5) |
                                                       (code ? 0xbu : 0x3u)),
                                    .lo = 0, .hi = 0xffffffffu, .rd = true, .wr = !code };
}

void vmm_sysenter(struct vcpu *v)
{
    if (trap_deprived(v)) trap_to_vmm(v); /* the real SYSENTER MSRs are the VMM's */
    uint16_t cs = (uint16_t)v->msr.sysenter_cs;
    if (!vcpu_protected(v) || (cs & 0xfffc) == 0) cpu_gp(v, 0);
    v->eflags &= ~(F_VM | F_IF | F_RF);
    load_flat(v, S_CS, cs & 0xfffc, 0, true);
    load_flat(v, S_SS, (uint16_t)((cs & 0xfffc) + 8), 0, false);
    v->cpl = 0;
    v->r[R_ESP] = v->msr.sysenter_esp;
    v->next_eip = v->msr.sysenter_eip;
    cpu_update_mode(v);
}

void vmm_sysexit(struct vcpu *v)
{
    uint16_t cs = (uint16_t)v->msr.sysenter_cs;
    if (!vcpu_protected(v) || (cs & 0xfffc) == 0 || v->cpl != 0) cpu_gp(v, 0);
    load_flat(v, S_CS, (uint16_t)((cs + 16) | 3), 3, true);
    load_flat(v, S_SS, (uint16_t)((cs + 24) | 3), 3, false);
    v->cpl = 3;
    v->r[R_ESP] = v->r[R_ECX];
    v->next_eip = v->r[R_EDX];
    cpu_update_mode(v);
}
