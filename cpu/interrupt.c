/* Delivering exceptions and interrupts (Intel SDM vol. 3, ch. 6, and the
 * INT n pseudo-code): the real-mode IVT, the protected-mode IDT with
 * interrupt, trap and task gates (task switches in cpu/task.c), the stack
 * switch through the TSS, VM86 -> ring 0, and the double/triple fault rules.
 *
 * Known simplification: RF is not set in the EFLAGS image of fault-class
 * exceptions (the SDM sets it); the engines have no per-instruction RF clear
 * yet, so a set RF would stick after IRET. No instruction breakpoints exist
 * either, so RF has no other effect.
 *
 * Delivery is all-or-nothing for registers: every check and every stack
 * write happens before CS, SS, ESP, EIP or EFLAGS change, so a fault during
 * delivery leaves the interrupted state intact for the next event
 * (cpu_deliver_fault applies the #DF table then). */
#include "cpu/interrupt.h"

#include "cpu/fault.h"
#include "cpu/intr_util.h"
#include "cpu/mem.h"
#include "cpu/segment.h"
#include "cpu/task.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"

bool exception_has_error_code(int vector)
{
    return vector == EXC_DF || (vector >= EXC_TS && vector <= EXC_PF) || vector == EXC_AC;
}

static void chain_add(struct vcpu *v, int vector)
{
    int n = (int)(sizeof(v->fault_chain) / sizeof(v->fault_chain[0]));
    if (v->fault_chain_len < n) v->fault_chain[v->fault_chain_len++] = vector;
}

/* A stack frame in push order (first element goes to the highest address). */
struct frame {
    uint32_t val[10];
    int n;
    unsigned size; /* 2 or 4 bytes per slot */
};

static void frame_push(struct frame *f, uint32_t x)
{
    f->val[f->n++] = x;
}

/* Check that the whole frame fits below sp in stack segment ss (raising
 * fault_vec(fault_err) otherwise), then write it with the given TLB view.
 * Returns the new stack pointer (masked to the stack size). */
static uint32_t frame_write(struct vcpu *v, const struct seg_cache *ss, uint32_t sp, const struct frame *f,
                            int view, int fault_vec, uint32_t fault_err)
{
    uint32_t mask = (ss->attr & SEG_ATTR_DB) ? 0xffffffffu : 0xffffu;
    uint32_t off[10];
    sp &= mask;
    for (int i = 0; i < f->n; i++) {
        sp = (sp - f->size) & mask;
        off[i] = sp;
        if (!seg_write_ok(ss, sp, f->size)) cpu_fault_err(v, fault_vec, fault_err);
    }
    for (int i = 0; i < f->n; i++) intr_write(v, ss->base + off[i], f->val[i], f->size, view);
    return sp;
}

static uint32_t esp_merge(uint32_t old_esp, uint32_t sp, const struct seg_cache *ss)
{
    return (ss->attr & SEG_ATTR_DB) ? sp : ((old_esp & 0xffff0000u) | (sp & 0xffff));
}

/* Real mode: IVT entry vector*4 = IP, CS; push FLAGS, CS, IP. */
static void deliver_real(struct vcpu *v, int vector, uint32_t return_eip)
{
    if ((uint32_t)vector * 4 + 3 > v->idtr.limit) cpu_gp(v, 0);
    uint32_t ent = sys_read(v, v->idtr.base + (uint32_t)vector * 4, 4);
    struct frame f = { .size = 2 };
    frame_push(&f, v->eflags & 0xffff);
    frame_push(&f, v->seg[S_CS].sel);
    frame_push(&f, return_eip & 0xffff);
    uint32_t sp = frame_write(v, &v->seg[S_SS], v->r[R_ESP], &f, TLB_VIEW_SUP, EXC_SS, 0);
    v->r[R_ESP] = esp_merge(v->r[R_ESP], sp, &v->seg[S_SS]);
    struct seg_cache *cs = &v->seg[S_CS];
    cs->sel = (uint16_t)(ent >> 16);
    cs->base = (uint32_t)cs->sel << 4;
    seg_cache_refresh(cs, false);
    v->eip = ent & 0xffff;
    v->eflags &= ~(F_IF | F_TF | F_AC);
}

/* Load a segment cache from a descriptor read with desc_read. */
static void cache_from_desc(struct seg_cache *s, uint16_t sel, uint32_t lo, uint32_t hi)
{
    desc_to_cache(s, sel, lo, hi);
    seg_cache_refresh(s, true);
}

/* Read the ring-`dpl` stack pointer from the current TSS (32- or 16-bit). */
static void tss_stack(struct vcpu *v, unsigned dpl, uint32_t ext, uint16_t *ss, uint32_t *esp)
{
    const struct seg_cache *tr = &v->tr;
    bool tss32 = (SEG_ATTR_TYPE(tr->attr) & 0x8) != 0;
    if (tss32) {
        uint32_t a = (dpl << 3) + 4;
        if (a + 5 > tr->limit) cpu_fault_err(v, EXC_TS, sel_err(tr->sel, ext));
        *esp = sys_read(v, tr->base + a, 4);
        *ss = (uint16_t)sys_read(v, tr->base + a + 4, 2);
    } else {
        uint32_t a = (dpl << 2) + 2;
        if (a + 3 > tr->limit) cpu_fault_err(v, EXC_TS, sel_err(tr->sel, ext));
        *esp = sys_read(v, tr->base + a, 2);
        *ss = (uint16_t)sys_read(v, tr->base + a + 2, 2);
    }
}

/* Through a task gate: a task switch (cpu/task.c) saves the interrupted
 * task with return_eip; the error code, if any, goes on the new task's stack. */
static void deliver_task_gate(struct vcpu *v, uint16_t tsel, uint32_t ext, bool has_err, uint32_t err,
                              uint32_t return_eip)
{
    uint32_t lo, hi;
    if ((tsel & 4) || !desc_read(v, tsel, &lo, &hi)) cpu_gp(v, sel_err(tsel, ext));
    task_switch(v, tsel, lo, hi, TS_INT, return_eip);
    v->eip = v->next_eip;
    cpu_update_mode(v);
    if (v->eip > v->seg[S_CS].limit) cpu_gp(v, ext);
    if (has_err) stack_push(v, err, 4); /* 32-bit TSSs only: the push is 32 bits */
}

static void deliver_protected(struct vcpu *v, int vector, enum int_kind kind, bool has_err, uint32_t err,
                              uint32_t return_eip)
{
    uint32_t ext = kind == INT_SOFTWARE ? 0 : 1;
    uint32_t gerr = (uint32_t)vector * 8 + 2 + ext; /* IDT bit set */
    bool vm86 = vcpu_vm86(v);

    /* The gate. */
    if ((uint32_t)vector * 8 + 7 > v->idtr.limit) cpu_gp(v, gerr);
    uint32_t glo = sys_read(v, v->idtr.base + (uint32_t)vector * 8, 4);
    uint32_t ghi = sys_read(v, v->idtr.base + (uint32_t)vector * 8 + 4, 4);
    unsigned gtype = (ghi >> 8) & 0x1f; /* type and S */
    if (gtype != 0x05 && gtype != 0x06 && gtype != 0x07 && gtype != 0x0e && gtype != 0x0f) cpu_gp(v, gerr);
    if (kind == INT_SOFTWARE && dhi_dpl(ghi) < v->cpl) cpu_gp(v, gerr);
    if (!dhi_present(ghi)) cpu_fault_err(v, EXC_NP, gerr);
    if (gtype == 0x05) {
        deliver_task_gate(v, (uint16_t)(glo >> 16), ext, has_err, err, return_eip);
        return;
    }
    bool gate32 = (gtype & 0x08) != 0;
    bool trap = (gtype & 0x01) != 0;
    uint16_t sel = (uint16_t)(glo >> 16);
    uint32_t target = gate32 ? ((glo & 0xffff) | (ghi & 0xffff0000u)) : (glo & 0xffff);

    /* The target code segment. */
    if ((sel & 0xfffc) == 0) cpu_gp(v, ext);
    uint32_t clo, chi;
    if (!desc_read(v, sel, &clo, &chi)) cpu_gp(v, sel_err(sel, ext));
    unsigned dpl = dhi_dpl(chi);
    if (!dhi_code(chi) || dpl > v->cpl) cpu_gp(v, sel_err(sel, ext));
    if (!dhi_present(chi)) cpu_fault_err(v, EXC_NP, sel_err(sel, ext));
    bool conforming = dhi_conforming(chi);
    bool outer = !conforming && dpl < v->cpl;
    if (vm86 && (!outer || dpl != 0)) cpu_gp(v, sel_err(sel, ext));
    unsigned new_cpl = outer ? dpl : v->cpl;
    struct seg_cache cs;
    cache_from_desc(&cs, (uint16_t)((sel & ~3u) | new_cpl), clo, chi);

    struct frame f = { .size = gate32 ? 4u : 2u };
    uint32_t flags = v->eflags;
    struct seg_cache ss;
    uint32_t esp_base, sp;
    if (outer) {
        /* Inter-privilege: new stack from the TSS. */
        uint16_t nss;
        uint32_t nesp;
        tss_stack(v, dpl, ext, &nss, &nesp);
        if ((nss & 0xfffc) == 0) cpu_fault_err(v, EXC_TS, ext);
        if ((nss & 3) != dpl) cpu_fault_err(v, EXC_TS, sel_err(nss, ext));
        uint32_t slo, shi;
        if (!desc_read(v, nss, &slo, &shi)) cpu_fault_err(v, EXC_TS, sel_err(nss, ext));
        if (!dhi_writable_data(shi) || dhi_dpl(shi) != dpl) cpu_fault_err(v, EXC_TS, sel_err(nss, ext));
        if (!dhi_present(shi)) cpu_fault_err(v, EXC_SS, sel_err(nss, ext));
        if (target > cs.limit) cpu_gp(v, ext);
        cache_from_desc(&ss, nss, slo, shi);
        if (vm86) {
            frame_push(&f, v->seg[S_GS].sel);
            frame_push(&f, v->seg[S_FS].sel);
            frame_push(&f, v->seg[S_DS].sel);
            frame_push(&f, v->seg[S_ES].sel);
        }
        frame_push(&f, v->seg[S_SS].sel);
        frame_push(&f, v->r[R_ESP]);
        frame_push(&f, flags);
        frame_push(&f, v->seg[S_CS].sel);
        frame_push(&f, return_eip);
        if (has_err) frame_push(&f, err);
        esp_base = nesp;
        sp = frame_write(v, &ss, nesp, &f, TLB_VIEW_SUP, EXC_SS, sel_err(nss, ext));
        desc_set_accessed(v, nss, &shi);
    } else {
        /* Same privilege: push on the current stack. */
        if (target > cs.limit) cpu_gp(v, ext);
        ss = v->seg[S_SS];
        frame_push(&f, flags);
        frame_push(&f, v->seg[S_CS].sel);
        frame_push(&f, return_eip);
        if (has_err) frame_push(&f, err);
        esp_base = v->r[R_ESP];
        sp = frame_write(v, &ss, esp_base, &f, new_cpl == 3 ? TLB_VIEW_USER : TLB_VIEW_SUP, EXC_SS, ext);
    }
    desc_set_accessed(v, sel, &chi);

    /* Commit. */
    if (vm86) {
        /* The VM86 segment registers now hold paragraph values that mean
         * nothing in protected mode: load them with null. */
        static const int data_segs[] = { S_ES, S_DS, S_FS, S_GS };
        for (int i = 0; i < 4; i++) {
            v->seg[data_segs[i]] = (struct seg_cache){ 0 };
            seg_cache_refresh(&v->seg[data_segs[i]], true);
        }
    }
    v->seg[S_SS] = ss;
    v->r[R_ESP] = esp_merge(esp_base, sp, &ss);
    v->seg[S_CS] = cs;
    v->cpl = (uint8_t)new_cpl;
    v->eip = target;
    v->eflags &= ~(F_TF | F_NT | F_RF | F_VM);
    if (!trap) v->eflags &= ~F_IF;
}

static void triple_fault(struct vcpu *v)
{
    v->stop = STOP_TRIPLE_FAULT;
    v->req |= REQ_STOP;
    v->delivering = -1;
    vmm_count(v, EXIT_TRIPLE_FAULT);
}

void cpu_interrupt(struct vcpu *v, int vector, enum int_kind kind, bool has_err, uint32_t err,
                   uint32_t return_eip)
{
    vector &= 0xff;
    if (v->delivering < 0) v->fault_chain_len = 0;
    chain_add(v, vector);
    v->delivering = vector;
    v->delivering_kind = (int)kind;
    if (vcpu_protected(v)) deliver_protected(v, vector, kind, has_err, err, return_eip);
    else deliver_real(v, vector, return_eip);
    v->delivering = -1;
    v->next_eip = v->eip; /* when called from an instruction handler */
    cpu_update_mode(v);   /* CPL, stack size, data view; ends the block */
}

/* Exception classes for the double-fault table (SDM vol. 3, table 6-5). */
enum exc_class { CLASS_BENIGN, CLASS_CONTRIBUTORY, CLASS_PAGE_FAULT };

static enum exc_class exc_class(int vector)
{
    switch (vector) {
    case EXC_DE: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: return CLASS_CONTRIBUTORY;
    case EXC_PF: return CLASS_PAGE_FAULT;
    default: return CLASS_BENIGN;
    }
}

/* Whether a second exception raised while delivering the first makes a #DF. */
static bool makes_double_fault(int first, int second)
{
    enum exc_class a = exc_class(first), b = exc_class(second);
    if (a == CLASS_CONTRIBUTORY) return b == CLASS_CONTRIBUTORY;
    if (a == CLASS_PAGE_FAULT) return b != CLASS_BENIGN;
    return false;
}

void cpu_deliver_fault(struct vcpu *v)
{
    int vec = v->fault_vec & 0xff;
    uint32_t err = v->fault_has_err ? v->fault_err : 0;
    if (v->delivering >= 0 && v->delivering_kind == INT_EXCEPTION) {
        int first = v->delivering;
        if (first == EXC_DF) {
            chain_add(v, vec);
            triple_fault(v);
            return;
        }
        if (makes_double_fault(first, vec)) {
            chain_add(v, vec);
            vec = EXC_DF;
            err = 0;
        }
    }
    /* Otherwise the new exception is handled serially: the first event is
     * lost (a fault) or re-raised when its instruction restarts. */
    bool has_err = exception_has_error_code(vec);
    vmm_count(v, EXIT_EXCEPTION);
    if (vec < 32) v->exceptions[vec]++;
    cpu_interrupt(v, vec, INT_EXCEPTION, has_err, has_err ? err : 0, v->insn_eip);
}
