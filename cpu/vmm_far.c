/* VMM handlers for far transfers: JMP far, CALL far and RET far in real, VM86
 * and protected mode (Intel SDM vol. 2 JMP/CALL/RET pages, vol. 3 ch. 5.8):
 * conforming and non-conforming code segments, call gates (with the
 * privilege-raising stack switch through the TSS and the parameter copy), and
 * the return to an outer privilege level. JMP/CALL to a TSS or task gate
 * switch tasks through cpu/task.c.
 *
 * Every handler reads and checks everything that can fault before it changes
 * a register (cpu/fault.h); stack writes may land before a later fault, as on
 * hardware. On return v->next_eip holds the new EIP. */
#include "cpu/vmm.h"

#include <string.h>

#include "cpu/fault.h"
#include "cpu/mem.h"
#include "cpu/operand.h"
#include "cpu/segment.h"
#include "cpu/task.h"

/* Descriptor fields, from the high dword of a descriptor. */
static inline unsigned d_attr(uint32_t hi) { return (hi >> 8) & 0xffu; }
static inline unsigned d_type(uint32_t hi) { return (hi >> 8) & 0xfu; }
static inline unsigned d_dpl(uint32_t hi) { return (hi >> 13) & 3u; }
static inline bool d_present(uint32_t hi) { return (hi & 0x8000u) != 0; }
static inline bool d_code(uint32_t hi) { return (hi & 0x1800u) == 0x1800u; }   /* S=1, type bit 3 */
static inline bool d_conforming(uint32_t hi) { return (hi & 0x1c00u) == 0x1c00u; }
static inline bool d_system(uint32_t hi) { return (hi & 0x1000u) == 0; }

#define SYS_TSS16_AVAIL 0x1
#define SYS_CALLGATE16  0x4
#define SYS_TASKGATE    0x5
#define SYS_TSS32_AVAIL 0x9
#define SYS_CALLGATE32  0xc

/* A stack that is not (yet) v->seg[S_SS]: pushes are checked against its
 * cache and written with an explicit TLB view. `dry` only checks. */
struct stk {
    const struct seg_cache *ss;
    uint32_t sp, mask;
    int view;
    uint32_t err; /* #SS error code on a limit violation */
    bool dry;
};

static void stk_push(struct vcpu *v, struct stk *s, uint32_t val, unsigned size)
{
    s->sp = (s->sp - size) & s->mask;
    if (!s->ss->wr || s->sp < s->ss->lo || (uint64_t)s->sp + size - 1 > s->ss->hi)
        cpu_fault_err(v, EXC_SS, s->err);
    if (!s->dry) lin_write_view(v, s->ss->base + s->sp, val, size, s->view);
}

static uint32_t stack_mask_of(const struct seg_cache *ss)
{
    return (ss->attr & SEG_ATTR_DB) ? 0xffffffffu : 0xffffu;
}

/* Store a new stack pointer with the width of the stack segment it belongs to. */
static void set_sp_for(struct vcpu *v, const struct seg_cache *ss, uint32_t sp)
{
    if (ss->attr & SEG_ATTR_DB) v->r[R_ESP] = sp;
    else v->r[R_ESP] = (v->r[R_ESP] & 0xffff0000u) | (sp & 0xffffu);
}

/* Commit a new CS (protected mode) with RPL = cpl, and the CPL itself. */
static void commit_cs(struct vcpu *v, uint16_t sel, uint32_t lo, uint32_t hi, unsigned cpl)
{
    desc_to_cache(&v->seg[S_CS], (uint16_t)((sel & 0xfffcu) | cpl), lo, hi);
    v->cpl = (uint8_t)cpl;
}

/* Real mode and VM86: CS = sel, base = sel << 4, limit and attributes kept. */
static void real_cs(struct vcpu *v, uint16_t sel, uint32_t eip)
{
    seg_load_real(v, S_CS, sel);
    v->next_eip = eip;
    cpu_update_mode(v);
}

static inline bool real_like(const struct vcpu *v)
{
    return !vcpu_protected(v) || vcpu_vm86(v);
}

/* Read the code segment descriptor a far JMP/CALL/RET names (directly or
 * through a call gate): null is #GP(0), outside the table or not code is
 * #GP(sel). The privilege rules differ by instruction and are the caller's. */
static void read_code_desc(struct vcpu *v, uint16_t sel, uint32_t *lo, uint32_t *hi)
{
    uint16_t err = sel & 0xfffcu;
    if (err == 0) cpu_gp(v, 0);
    if (!desc_read(v, sel, lo, hi)) cpu_gp(v, err);
    if (!d_code(*hi)) cpu_gp(v, err);
}

/* Direct JMP/CALL to a code segment: conforming needs DPL <= CPL,
 * non-conforming RPL <= CPL and DPL == CPL; then presence. */
static void check_direct_code(struct vcpu *v, uint16_t sel, uint32_t hi)
{
    uint16_t err = sel & 0xfffcu;
    unsigned cpl = v->cpl, dpl = d_dpl(hi), rpl = sel & 3;
    if (d_conforming(hi)) {
        if (dpl > cpl) cpu_gp(v, err);
    } else {
        if (rpl > cpl || dpl != cpl) cpu_gp(v, err);
    }
    if (!d_present(hi)) cpu_fault_err(v, EXC_NP, err);
}

static uint32_t desc_limit(uint32_t lo, uint32_t hi)
{
    uint32_t limit = (lo & 0xffffu) | (hi & 0x000f0000u);
    return (hi & 0x00800000u) ? (limit << 12) | 0xfffu : limit;
}

/* A call gate's checks common to JMP and CALL; returns the target code
 * selector and descriptor, the gate's offset and parameter count. */
struct gate_target {
    uint16_t cs_sel;
    uint32_t lo, hi;
    uint32_t off;
    unsigned nparams;
    unsigned size; /* 2 for a 16-bit gate, 4 for a 32-bit one */
};

static void read_call_gate(struct vcpu *v, uint16_t sel, uint32_t glo, uint32_t ghi, struct gate_target *t)
{
    uint16_t err = sel & 0xfffcu;
    unsigned dpl = d_dpl(ghi);
    if (dpl < v->cpl || dpl < (sel & 3u)) cpu_gp(v, err);
    if (!d_present(ghi)) cpu_fault_err(v, EXC_NP, err);
    t->size = d_type(ghi) == SYS_CALLGATE32 ? 4 : 2;
    t->cs_sel = (uint16_t)(glo >> 16);
    t->off = (glo & 0xffffu) | (t->size == 4 ? (ghi & 0xffff0000u) : 0);
    t->nparams = ghi & 0x1fu;
    read_code_desc(v, t->cs_sel, &t->lo, &t->hi);
    if (d_dpl(t->hi) > v->cpl) cpu_gp(v, t->cs_sel & 0xfffcu);
}

/* JMP or CALL to an available TSS or through a task gate (SDM JMP/CALL
 * pseudo-code): the privilege and presence checks, then the switch. */
static void far_task(struct vcpu *v, uint16_t sel, uint32_t lo, uint32_t hi, enum task_switch_reason reason)
{
    uint16_t err = sel & 0xfffcu;
    unsigned dpl = d_dpl(hi);
    if (dpl < v->cpl || dpl < (sel & 3u)) cpu_gp(v, err);
    if (!d_present(hi)) cpu_fault_err(v, EXC_NP, err);
    if (d_type(hi) == SYS_TASKGATE) {
        sel = (uint16_t)(lo >> 16);
        err = sel & 0xfffcu;
        if ((sel & 4) || !desc_read(v, sel, &lo, &hi)) cpu_gp(v, err);
        unsigned type = d_type(hi);
        if (!d_system(hi) || (type != SYS_TSS16_AVAIL && type != SYS_TSS32_AVAIL)) cpu_gp(v, err);
        if (!d_present(hi)) cpu_fault_err(v, EXC_NP, err);
    }
    task_switch(v, sel, lo, hi, reason, v->next_eip);
}

/* The descriptor a protected-mode far JMP or CALL names: #GP(0) for a null
 * selector, #GP(sel) past the table. Returns the selector's error code. */
static uint16_t far_target(struct vcpu *v, uint16_t sel, uint32_t *lo, uint32_t *hi)
{
    uint16_t err = sel & 0xfffcu;
    if (err == 0) cpu_gp(v, 0);
    if (!desc_read(v, sel, lo, hi)) cpu_gp(v, err);
    return err;
}

void vmm_far_jmp(struct vcpu *v, uint32_t sel32, uint32_t off, uint32_t opsize)
{
    uint16_t sel = (uint16_t)sel32;
    if (opsize == 2) off &= 0xffffu;
    if (real_like(v)) {
        if (off > v->seg[S_CS].limit) cpu_gp(v, 0);
        real_cs(v, sel, off);
        return;
    }
    uint32_t lo, hi;
    uint16_t err = far_target(v, sel, &lo, &hi);
    if (!d_system(hi)) {
        if (!d_code(hi)) cpu_gp(v, err);
        check_direct_code(v, sel, hi);
        if (off > desc_limit(lo, hi)) cpu_gp(v, 0);
        desc_set_accessed(v, sel, &hi);
        commit_cs(v, sel, lo, hi, v->cpl);
        v->next_eip = off;
        cpu_update_mode(v);
        return;
    }
    switch (d_type(hi)) {
    case SYS_CALLGATE16:
    case SYS_CALLGATE32: {
        struct gate_target t;
        read_call_gate(v, sel, lo, hi, &t);
        /* JMP through a gate never changes privilege. */
        if (!d_conforming(t.hi) && d_dpl(t.hi) != v->cpl) cpu_gp(v, t.cs_sel & 0xfffcu);
        if (!d_present(t.hi)) cpu_fault_err(v, EXC_NP, t.cs_sel & 0xfffcu);
        if (t.off > desc_limit(t.lo, t.hi)) cpu_gp(v, 0);
        desc_set_accessed(v, t.cs_sel, &t.hi);
        commit_cs(v, t.cs_sel, t.lo, t.hi, v->cpl);
        v->next_eip = t.off;
        cpu_update_mode(v);
        return;
    }
    case SYS_TASKGATE:
    case SYS_TSS16_AVAIL:
    case SYS_TSS32_AVAIL:
        far_task(v, sel, lo, hi, TS_JMP);
        return;
    default:
        cpu_gp(v, err);
    }
}

/* Push the return address CS:EIP on the current stack with `size`-byte slots,
 * then switch to the new CS:EIP. */
static void call_same_privilege(struct vcpu *v, uint16_t cs_sel, uint32_t lo, uint32_t hi, uint32_t off,
                                unsigned size)
{
    struct stk s = { &v->seg[S_SS], sp_get(v), sp_mask(v), v->mem_view, 0, true };
    stk_push(v, &s, 0, size);
    stk_push(v, &s, 0, size);
    if (off > desc_limit(lo, hi)) cpu_gp(v, 0);
    desc_set_accessed(v, cs_sel, &hi);
    s.sp = sp_get(v);
    s.dry = false;
    stk_push(v, &s, v->seg[S_CS].sel, size);
    stk_push(v, &s, v->next_eip, size);
    sp_set(v, s.sp);
    commit_cs(v, cs_sel, lo, hi, v->cpl);
    v->next_eip = off;
    cpu_update_mode(v);
}

/* CALL through a call gate to a more privileged non-conforming code segment:
 * switch to the stack for the new CPL from the TSS, push the caller's SS:ESP,
 * copy nparams parameters, push CS:EIP (SDM vol. 3 5.8.5). */
static void call_inner_privilege(struct vcpu *v, const struct gate_target *t)
{
    unsigned dpl = d_dpl(t->hi);
    const struct seg_cache *tr = &v->tr;
    uint16_t tr_err = tr->sel & 0xfffcu;
    uint32_t new_esp, new_ss;
    unsigned tss_type = SEG_ATTR_TYPE(tr->attr);
    if (!(tr->attr & SEG_ATTR_P)) cpu_fault_err(v, EXC_TS, tr_err);
    if (tss_type == 0x9 || tss_type == 0xb) {
        uint32_t a = dpl * 8 + 4;
        if (a + 5 > tr->limit) cpu_fault_err(v, EXC_TS, tr_err);
        new_esp = sys_read(v, tr->base + a, 4);
        new_ss = sys_read(v, tr->base + a + 4, 2);
    } else {
        uint32_t a = dpl * 4 + 2;
        if (a + 3 > tr->limit) cpu_fault_err(v, EXC_TS, tr_err);
        new_esp = sys_read(v, tr->base + a, 2);
        new_ss = sys_read(v, tr->base + a + 2, 2);
    }
    uint16_t ss_err = (uint16_t)(new_ss & 0xfffcu);
    uint32_t slo, shi;
    if (ss_err == 0) cpu_fault_err(v, EXC_TS, 0);
    if (!desc_read(v, (uint16_t)new_ss, &slo, &shi)) cpu_fault_err(v, EXC_TS, ss_err);
    if ((new_ss & 3u) != dpl) cpu_fault_err(v, EXC_TS, ss_err);
    if (d_dpl(shi) != dpl || (d_attr(shi) & 0x1a) != 0x12) cpu_fault_err(v, EXC_TS, ss_err);
    if (!d_present(shi)) cpu_fault_err(v, EXC_SS, ss_err);

    struct seg_cache nss;
    desc_to_cache(&nss, (uint16_t)new_ss, slo, shi);
    uint32_t nmask = stack_mask_of(&nss);
    unsigned sz = t->size;
    /* Room for SS, ESP, the parameters, CS and EIP: #SS(new SS) first. */
    struct stk s = { &nss, new_esp & nmask, nmask, TLB_VIEW_SUP, ss_err, true };
    for (unsigned i = 0; i < 4 + t->nparams; i++) stk_push(v, &s, 0, sz);
    if (t->off > desc_limit(t->lo, t->hi)) cpu_gp(v, 0);

    /* Parameters from the caller's stack (read with the caller's privilege). */
    uint32_t params[32];
    for (unsigned i = 0; i < t->nparams; i++) params[i] = stack_peek(v, i * sz, sz);

    uint32_t shi_acc = shi, chi = t->hi;
    desc_set_accessed(v, (uint16_t)new_ss, &shi_acc);
    desc_set_accessed(v, t->cs_sel, &chi);
    s.sp = new_esp & nmask;
    s.dry = false;
    stk_push(v, &s, v->seg[S_SS].sel, sz);
    stk_push(v, &s, sz == 4 ? v->r[R_ESP] : (v->r[R_ESP] & 0xffffu), sz);
    for (unsigned i = t->nparams; i-- > 0;) stk_push(v, &s, params[i], sz);
    stk_push(v, &s, v->seg[S_CS].sel, sz);
    stk_push(v, &s, v->next_eip, sz);

    /* Commit: new SS:ESP, CS:EIP and CPL. */
    desc_to_cache(&v->seg[S_SS], (uint16_t)new_ss, slo, shi_acc);
    v->r[R_ESP] = new_esp;
    set_sp_for(v, &v->seg[S_SS], s.sp);
    commit_cs(v, t->cs_sel, t->lo, chi, dpl);
    v->next_eip = t->off;
    cpu_update_mode(v);
}

void vmm_far_call(struct vcpu *v, uint32_t sel32, uint32_t off, uint32_t opsize)
{
    uint16_t sel = (uint16_t)sel32;
    unsigned size = opsize == 2 ? 2 : 4;
    if (size == 2) off &= 0xffffu;
    if (real_like(v)) {
        if (off > v->seg[S_CS].limit) cpu_gp(v, 0);
        struct stk s = { &v->seg[S_SS], sp_get(v), sp_mask(v), v->mem_view, 0, false };
        stk_push(v, &s, v->seg[S_CS].sel, size);
        stk_push(v, &s, v->next_eip, size);
        sp_set(v, s.sp);
        real_cs(v, sel, off);
        return;
    }
    uint32_t lo, hi;
    uint16_t err = far_target(v, sel, &lo, &hi);
    if (!d_system(hi)) {
        if (!d_code(hi)) cpu_gp(v, err);
        check_direct_code(v, sel, hi);
        call_same_privilege(v, sel, lo, hi, off, size);
        return;
    }
    switch (d_type(hi)) {
    case SYS_CALLGATE16:
    case SYS_CALLGATE32: {
        struct gate_target t;
        read_call_gate(v, sel, lo, hi, &t);
        if (!d_present(t.hi)) cpu_fault_err(v, EXC_NP, t.cs_sel & 0xfffcu);
        if (!d_conforming(t.hi) && d_dpl(t.hi) < v->cpl) call_inner_privilege(v, &t);
        else call_same_privilege(v, t.cs_sel, t.lo, t.hi, t.off, t.size);
        return;
    }
    case SYS_TASKGATE:
    case SYS_TSS16_AVAIL:
    case SYS_TSS32_AVAIL:
        far_task(v, sel, lo, hi, TS_CALL);
        return;
    default:
        cpu_gp(v, err);
    }
}

/* On a return to an outer privilege level, data segment registers the new CPL
 * may not use are made null (SDM RET: data or non-conforming code, DPL < CPL). */
static void null_inaccessible_segments(struct vcpu *v)
{
    static const int segs[] = { S_ES, S_DS, S_FS, S_GS };
    for (unsigned i = 0; i < 4; i++) {
        struct seg_cache *s = &v->seg[segs[i]];
        bool conforming_code = (s->attr & 0x1c) == 0x1c;
        if ((s->attr & SEG_ATTR_S) && !conforming_code && SEG_ATTR_DPL(s->attr) < v->cpl) {
            *s = (struct seg_cache){ .sel = 0 };
            seg_cache_refresh(s, true);
        }
    }
}

void vmm_far_ret(struct vcpu *v, uint32_t opsize, uint32_t release)
{
    unsigned size = opsize == 2 ? 2 : 4;
    release &= 0xffffu;
    uint32_t eip = stack_peek(v, 0, size);
    uint16_t sel = (uint16_t)stack_peek(v, size, size);
    if (size == 2) eip &= 0xffffu;
    if (real_like(v)) {
        if (eip > v->seg[S_CS].limit) cpu_gp(v, 0);
        sp_set(v, sp_get(v) + 2 * size + release);
        real_cs(v, sel, eip);
        return;
    }
    uint32_t lo, hi;
    uint16_t err = sel & 0xfffcu;
    unsigned rpl = sel & 3u;
    read_code_desc(v, sel, &lo, &hi);
    if (rpl < v->cpl) cpu_gp(v, err);
    if (d_conforming(hi) ? d_dpl(hi) > rpl : d_dpl(hi) != rpl) cpu_gp(v, err);
    if (!d_present(hi)) cpu_fault_err(v, EXC_NP, err);

    if (rpl == v->cpl) {
        if (eip > desc_limit(lo, hi)) cpu_gp(v, 0);
        desc_set_accessed(v, sel, &hi);
        sp_set(v, sp_get(v) + 2 * size + release);
        commit_cs(v, sel, lo, hi, rpl);
        v->next_eip = eip;
        cpu_update_mode(v);
        return;
    }

    /* Return to an outer level: the caller's SS:ESP lie above the released parameters. */
    uint32_t new_esp = stack_peek(v, 2 * size + release, size);
    uint16_t ss = (uint16_t)stack_peek(v, 3 * size + release, size);
    uint16_t ss_err = ss & 0xfffcu;
    uint32_t slo, shi;
    if (ss_err == 0) cpu_gp(v, 0);
    if (!desc_read(v, ss, &slo, &shi)) cpu_gp(v, ss_err);
    if ((ss & 3u) != rpl || (d_attr(shi) & 0x1a) != 0x12 || d_dpl(shi) != rpl) cpu_gp(v, ss_err);
    if (!d_present(shi)) cpu_fault_err(v, EXC_SS, ss_err);
    if (eip > desc_limit(lo, hi)) cpu_gp(v, 0);
    desc_set_accessed(v, sel, &hi);
    desc_set_accessed(v, ss, &shi);

    commit_cs(v, sel, lo, hi, rpl);
    desc_to_cache(&v->seg[S_SS], ss, slo, shi);
    if (size == 4) v->r[R_ESP] = new_esp;
    else v->r[R_ESP] = (v->r[R_ESP] & 0xffff0000u) | (new_esp & 0xffffu);
    set_sp_for(v, &v->seg[S_SS], (v->r[R_ESP] + release) & stack_mask_of(&v->seg[S_SS]));
    null_inaccessible_segments(v);
    v->next_eip = eip;
    cpu_update_mode(v);
}
