/* -engine trap (cpu/trap_engine.c): the model of classic trap-and-emulate.
 * Sensitive unprivileged instructions give their ring-3 answers (POPF keeps
 * IF, PUSH CS shows RPL 3, SGDT/SMSW show the VMM's state, LAR/VERR see the
 * shadow DPL 3); privileged ones trap and are emulated at virtual CPL 0;
 * faults that are architected at CPL 0 too are reflected to the guest with
 * a virtual-state frame; the vCPU is back in the virtual view between runs;
 * real mode and a guest already at CPL 3 behave as the hardware does. */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/interp.h"
#include "cpu/segment.h"
#include "cpu/trap_engine.h"
#include "cpu/vmm.h"
#include "harness.h"

static struct harness *setup(enum harness_mode mode)
{
    cr_assert_eq(vmm_init(), 0);
    interp_init();
    struct harness *h = harness_new(mode);
    cr_assert_not_null(h);
    return h;
}

/* Like harness_run, one trap_engine_run step at a time. */
static enum harness_result run_trap(struct harness *h, const void *code, size_t len)
{
    struct vcpu *v = h->v;
    harness_poke(h, HARNESS_CODE, code, len);
    uint32_t start = h->mode == H_REAL16 ? 0 : HARNESS_CODE;
    if (h->mode == H_REAL16) {
        v->seg[S_CS].sel = HARNESS_CODE >> 4;
        v->seg[S_CS].base = HARNESS_CODE;
        seg_cache_refresh(&v->seg[S_CS], false);
    }
    v->eip = start;
    for (int i = 0; i < 1000; i++) {
        uint32_t lin = v->seg[S_CS].base + v->eip;
        if (v->eip == start + len) return HR_DONE;
        if (lin >= HARNESS_STUBS && lin < HARNESS_STUBS + 256 * 8) {
            h->vector = (int)((lin - HARNESS_STUBS) / 8);
            return HR_EXCEPTION;
        }
        if (trap_engine_run(v, 1) != STOP_INSN_LIMIT) return HR_STOPPED;
        /* Between steps the vCPU is always in the virtual view. */
        cr_assert(!v->trap->deprived);
    }
    return HR_TIMEOUT;
}

static const struct trap_state *ts(struct harness *h) { return h->v->trap; }

Test(trap_engine, popf_at_cpl0_silently_keeps_if)
{
    static const uint8_t code[] = { 0x6a, 0x02, 0x9d }; /* push 2; popf */
    struct harness *h = setup(H_PROT32);
    h->v->eflags = F_FIXED1 | F_IF | F_CF | F_ZF;
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    /* CF and ZF were popped (cleared); IF stayed 1: no fault, no trap. */
    cr_assert_eq(h->v->eflags, F_FIXED1 | F_IF);
    cr_assert_eq(ts(h)->traps, 0);
    cr_assert_eq(h->v->cpl, 0);
    harness_free(h);

    /* The interpreter runs the same code architecturally: IF cleared. */
    h = setup(H_PROT32);
    h->v->eflags = F_FIXED1 | F_IF | F_CF | F_ZF;
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(h->v->eflags, F_FIXED1);
    cr_assert_null(h->v->trap);
    harness_free(h);
}

Test(trap_engine, popf_iopl_change_is_lost)
{
    static const uint8_t code[] = { 0x68, 0x02, 0x30, 0x00, 0x00, 0x9d }; /* push 0x3002; popf */
    struct harness *h = setup(H_PROT32);
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    cr_assert_eq(h->v->eflags & F_IOPL, 0);
    cr_assert_eq(ts(h)->traps, 0);
    harness_free(h);
}

Test(trap_engine, cli_sti_trap_and_are_emulated)
{
    static const uint8_t code[] = { 0xfa }; /* cli */
    struct harness *h = setup(H_PROT32);
    h->v->eflags = F_FIXED1 | F_IF;
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    cr_assert_eq(h->v->eflags, F_FIXED1);
    cr_assert_eq(ts(h)->traps, 1);
    cr_assert_eq(ts(h)->by_vector[EXC_GP], 1);
    cr_assert_eq(ts(h)->emulated, 1);
    cr_assert_eq(ts(h)->reflected, 0);
    cr_assert_eq(h->v->exceptions[EXC_GP], 0); /* nothing delivered to the guest */
    cr_assert_eq(h->v->icount, 1);
    static const uint8_t sti[] = { 0xfb };
    cr_assert_eq(run_trap(h, sti, sizeof sti), HR_DONE);
    cr_assert_eq(h->v->eflags, F_FIXED1 | F_IF);
    cr_assert_eq(ts(h)->emulated, 2);
    harness_free(h);
}

Test(trap_engine, pushf_shows_the_real_if_and_iopl)
{
    static const uint8_t code[] = { 0x9c, 0x58 }; /* pushf; pop eax */
    struct harness *h = setup(H_PROT32);
    h->v->eflags = F_FIXED1 | F_IOPL | F_CF; /* virtual IF 0, IOPL 3 */
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    cr_assert_eq(h->v->r[R_EAX], F_FIXED1 | F_IF | F_CF); /* the VMM's IF=1, IOPL 0 */
    cr_assert_eq(h->v->eflags, F_FIXED1 | F_IOPL | F_CF); /* virtual state unchanged */
    harness_free(h);
}

Test(trap_engine, sgdt_sidt_str_smsw_show_the_vmm)
{
    static const uint8_t code[] = {
        0x0f, 0x01, 0x05, 0x00, 0x00, 0x02, 0x00, /* sgdt [0x20000] */
        0x0f, 0x01, 0x0d, 0x10, 0x00, 0x02, 0x00, /* sidt [0x20010] */
        0x0f, 0x00, 0xcb,                         /* str ebx */
        0x0f, 0x00, 0xc2,                         /* sldt edx */
        0x0f, 0x01, 0xe0,                         /* smsw eax */
    };
    struct harness *h = setup(H_PROT32);
    h->v->ldtr.sel = 0x40; /* a guest LDT: the real LDTR is the VMM's shadow-LDT slot */
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    uint8_t g[6], i[6];
    harness_peek(h, 0x20000, g, 6);
    harness_peek(h, 0x20010, i, 6);
    static const uint8_t want_g[6] = { 0xff, 0x0f, 0x00, 0x10, 0xc0, 0xff };
    static const uint8_t want_i[6] = { 0xff, 0x07, 0x00, 0x00, 0xc0, 0xff };
    cr_assert_arr_eq(g, want_g, 6);
    cr_assert_arr_eq(i, want_i, 6);
    cr_assert_eq(h->v->r[R_EBX], TRAP_VMM_TSS_SEL);
    cr_assert_eq(h->v->r[R_EDX], TRAP_VMM_LDT_SEL);
    cr_assert_eq(h->v->r[R_EAX], TRAP_VMM_CR0);
    cr_assert_eq(ts(h)->traps, 0);
    /* The guest's own registers are untouched. */
    cr_assert_eq(h->v->gdtr.base, HARNESS_GDT);
    cr_assert_eq(h->v->tr.sel, 0x38);
    harness_free(h);
}

Test(trap_engine, push_cs_and_mov_from_ss_show_rpl3)
{
    static const uint8_t code[] = { 0x0e, 0x58, 0x8c, 0xd3, 0x8c, 0xd9 }; /* push cs; pop eax; mov bx,ss; mov cx,ds */
    struct harness *h = setup(H_PROT32);
    h->v->r[R_EBX] = h->v->r[R_ECX] = 0;
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    cr_assert_eq(h->v->r[R_EAX] & 0xffff, 0x0b);
    cr_assert_eq(h->v->r[R_EBX], 0x13);
    cr_assert_eq(h->v->r[R_ECX], 0x10);
    /* Virtual view again: CPL 0, RPL 0 selectors, supervisor data view. */
    cr_assert_eq(h->v->cpl, 0);
    cr_assert_eq(h->v->seg[S_CS].sel, 0x08);
    cr_assert_eq(h->v->seg[S_SS].sel, 0x10);
    cr_assert_eq(h->v->mem_view, TLB_VIEW_SUP);
    harness_free(h);
}

Test(trap_engine, lar_verr_see_the_shadow_dpl)
{
    static const uint8_t code[] = {
        0x0f, 0x02, 0xc1, /* lar eax, ecx (0x10: DPL-0 data) */
        0x0f, 0x00, 0xe2, /* verr dx (0x13: RPL 3) */
    };
    struct harness *h = setup(H_PROT32);
    uint32_t before = harness_read32(h, HARNESS_GDT + 0x10 + 4);
    h->v->r[R_ECX] = 0x10;
    h->v->r[R_EDX] = 0x13;
    h->v->r[R_EAX] = 0;
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    cr_assert_eq(h->v->r[R_EAX], 0x00c0f300); /* DPL 3 and accessed, in the shadow */
    cr_assert(h->v->eflags & F_ZF);            /* VERR accepted it (architected: ZF=0) */
    /* The guest's descriptor in memory is untouched. */
    cr_assert_eq(harness_read32(h, HARNESS_GDT + 0x10 + 4), before);
    harness_free(h);
}

Test(trap_engine, mov_ss_rpl0_traps_and_is_emulated)
{
    static const uint8_t code[] = { 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd0 }; /* mov ax,0x10; mov ss,ax */
    struct harness *h = setup(H_PROT32);
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    cr_assert_eq(ts(h)->traps, 1);
    cr_assert_eq(ts(h)->emulated, 1);
    cr_assert_eq(h->v->seg[S_SS].sel, 0x10);
    cr_assert_eq(SEG_ATTR_DPL(h->v->seg[S_SS].attr), 0); /* loaded from the guest's table */
    harness_free(h);
}

Test(trap_engine, mov_ds_rpl3_to_dpl0_loads_instead_of_faulting)
{
    static const uint8_t code[] = { 0x66, 0xb8, 0x13, 0x00, 0x8e, 0xd8 }; /* mov ax,0x13; mov ds,ax */
    struct harness *h = setup(H_PROT32);
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    cr_assert_eq(ts(h)->traps, 0);
    cr_assert_eq(h->v->seg[S_DS].sel, 0x13);
    harness_free(h);

    h = setup(H_PROT32);
    cr_assert_eq(harness_run(h, code, sizeof code), HR_EXCEPTION);
    cr_assert_eq(h->vector, EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0x10);
    harness_free(h);
}

Test(trap_engine, real_faults_are_reflected_with_a_virtual_frame)
{
    static const uint8_t code[] = { 0x0f, 0x0b }; /* ud2 */
    struct harness *h = setup(H_PROT32);
    h->v->eflags = F_FIXED1 | F_IF;
    cr_assert_eq(run_trap(h, code, sizeof code), HR_EXCEPTION);
    cr_assert_eq(h->vector, EXC_UD);
    cr_assert_eq(ts(h)->traps, 1);
    cr_assert_eq(ts(h)->by_vector[EXC_UD], 1);
    cr_assert_eq(ts(h)->reflected, 1);
    cr_assert_eq(ts(h)->emulated, 0);
    cr_assert_eq(h->v->exceptions[EXC_UD], 1);
    /* Same-level delivery at virtual CPL 0: EIP, CS 0x08, virtual EFLAGS. */
    cr_assert_eq(h->v->r[R_ESP], HARNESS_STACK - 12);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE);
    cr_assert_eq(harness_stack(h, 1), 0x08);
    cr_assert_eq(harness_stack(h, 2), F_FIXED1 | F_IF);
    harness_free(h);
}

Test(trap_engine, int_n_goes_through_the_vmm)
{
    static const uint8_t code[] = { 0xcd, 0x30 }; /* int 0x30 (a DPL-3 gate in the harness) */
    struct harness *h = setup(H_PROT32);
    h->v->eflags = F_FIXED1 | F_IF;
    cr_assert_eq(run_trap(h, code, sizeof code), HR_EXCEPTION);
    cr_assert_eq(h->vector, 0x30);
    cr_assert_eq(ts(h)->traps, 1);
    cr_assert_eq(ts(h)->emulated, 1);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE + 2);
    cr_assert_eq(harness_stack(h, 1), 0x08);
    cr_assert_eq(harness_stack(h, 2), F_FIXED1 | F_IF);
    cr_assert_eq(h->v->eflags & F_IF, 0); /* interrupt gate, virtual IF */
    harness_free(h);
}

Test(trap_engine, io_traps_even_with_iopl3)
{
    static const uint8_t code[] = { 0xe6, 0x80 }; /* out 0x80, al */
    struct harness *h = setup(H_PROT32);
    h->v->eflags = F_FIXED1 | F_IOPL; /* virtual IOPL 3; the real one is 0 */
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    cr_assert_eq(ts(h)->traps, 1);
    cr_assert_eq(ts(h)->emulated, 1);
    cr_assert_eq(h->v->eflags, F_FIXED1 | F_IOPL);
    harness_free(h);
}

Test(trap_engine, a_user_guest_keeps_its_faults)
{
    static const uint8_t code[] = { 0xfa }; /* cli at virtual CPL 3 */
    struct harness *h = setup(H_USER32);
    h->v->eflags = F_FIXED1 | F_IF;
    cr_assert_eq(run_trap(h, code, sizeof code), HR_EXCEPTION);
    cr_assert_eq(h->vector, EXC_GP);
    cr_assert_eq(ts(h)->traps, 1);
    cr_assert_eq(ts(h)->reflected, 1);
    cr_assert_eq(h->v->cpl, 0); /* delivered to the ring-0 handler */
    cr_assert_eq(harness_stack(h, 0), 0);              /* error code */
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE);   /* EIP */
    cr_assert_eq(harness_stack(h, 2), 0x2b);           /* CS */
    harness_free(h);
}

Test(trap_engine, real_mode_runs_unmodified)
{
    static const uint8_t code[] = { 0xfa, 0x9c, 0x58 }; /* cli; pushf; pop ax */
    struct harness *h = setup(H_REAL16);
    h->v->eflags = F_FIXED1 | F_IF;
    cr_assert_eq(run_trap(h, code, sizeof code), HR_DONE);
    cr_assert_eq(h->v->r[R_EAX] & 0xffff, F_FIXED1);
    cr_assert_eq(ts(h)->traps, 0);
    harness_free(h);
}

Test(trap_engine, iret_task_return_goes_through_the_vmm)
{
    /* iret with NT=1: a task return through the TSS back link (null here).
     * Deprivileged it must not run against the guest's TSS: it traps, and
     * the guest gets exactly the fault the interpreter gives at CPL 0. */
    static const uint8_t code[] = { 0xcf };
    struct harness *ref = setup(H_PROT32);
    ref->v->eflags = F_FIXED1 | F_NT;
    cr_assert_eq(harness_run(ref, code, sizeof code), HR_EXCEPTION);
    struct harness *h = setup(H_PROT32);
    h->v->eflags = F_FIXED1 | F_NT;
    cr_assert_eq(run_trap(h, code, sizeof code), HR_EXCEPTION);
    cr_assert_eq(h->vector, ref->vector);
    cr_assert_eq(ts(h)->traps, 1);
    cr_assert_eq(ts(h)->by_vector[EXC_GP], 1);
    cr_assert_eq(ts(h)->reflected, 1);
    cr_assert_eq(harness_stack(h, 0), harness_stack(ref, 0)); /* error code */
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE);
    cr_assert_eq(h->v->r[R_ESP], ref->v->r[R_ESP]);
    harness_free(ref);
    harness_free(h);
}
