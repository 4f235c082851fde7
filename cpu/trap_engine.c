/* -engine trap: classic trap-and-emulate on x86, modelled on the interpreter
 * (see cpu/trap_engine.h and docs/POPEK-GOLDBERG.md). The interpreter runs
 * guest code with the vCPU in the real, deprivileged view; a fault there is
 * a trap into the VMM, which restores the virtual view and re-executes the
 * instruction (its emulation), or reflects the fault to the guest. */
#include "cpu/trap_engine.h"

#include <inttypes.h>
#include <stdlib.h>

#include "cpu/fault.h"
#include "cpu/interp.h"
#include "cpu/vmm.h"
#include "memory/tlb.h"

#define VIRT_FLAGS (F_IF | F_IOPL)

void trap_deprivilege(struct vcpu *v)
{
    struct trap_state *t = v->trap;
    if (!t || t->deprived || !vcpu_protected(v) || vcpu_vm86(v)) return;
    t->vcpl = v->cpl;
    t->vflags = v->eflags & VIRT_FLAGS;
    t->deprived = true;
    v->cpl = 3;
    for (int i = 0; i < 2; i++) {
        struct seg_cache *s = &v->seg[i == 0 ? S_CS : S_SS];
        t->vsel[i] = s->sel;
        t->rsel[i] = s->sel |= 3;
    }
    /* The VMM runs the guest with interrupts enabled and IOPL 0, so CLI,
     * STI, IN and OUT trap and the VMM keeps the interrupt flag. */
    v->eflags = (v->eflags & ~VIRT_FLAGS) | F_IF;
    /* mem_view is left as it is: the virtual CPL's view. */
}

void trap_privilege(struct vcpu *v)
{
    struct trap_state *t = v->trap;
    if (!t || !t->deprived) return;
    t->deprived = false;
    v->cpl = t->vcpl;
    /* CS/SS as the VMM last set them get their virtual RPL back; one the
     * guest loaded while deprivileged (a far JMP, an IRET to "ring 3")
     * keeps the RPL 3 the hardware gave it: the VMM never saw that load. */
    for (int i = 0; i < 2; i++) {
        struct seg_cache *s = &v->seg[i == 0 ? S_CS : S_SS];
        if (s->sel == t->rsel[i]) s->sel = t->vsel[i];
    }
    /* Whatever POPF/IRET at CPL 3 did to IF and IOPL never reached the
     * virtual state: that is the POPF problem. */
    v->eflags = (v->eflags & ~VIRT_FLAGS) | t->vflags;
}

void trap_update_mode(struct vcpu *v)
{
    if (v->trap->deprived && v->trap->vcpl != 3) v->mem_view = TLB_VIEW_SUP;
}

void trap_shadow_desc(const struct vcpu *v, uint32_t *hi)
{
    if (!v->trap->deprived) return;
    if (!(*hi & 0x1000u)) return;          /* system descriptors are not shadowed */
    *hi |= 0x6000u | 0x100u;               /* DPL 3, accessed */
}

static const struct dtr vmm_gdtr = { TRAP_VMM_GDT_BASE, TRAP_VMM_GDT_LIMIT };
static const struct dtr vmm_idtr = { TRAP_VMM_IDT_BASE, TRAP_VMM_IDT_LIMIT };

const struct dtr *trap_real_gdtr(const struct vcpu *v)
{
    return trap_deprived(v) ? &vmm_gdtr : &v->gdtr;
}

const struct dtr *trap_real_idtr(const struct vcpu *v)
{
    return trap_deprived(v) ? &vmm_idtr : &v->idtr;
}

uint32_t trap_real_ldtr(const struct vcpu *v)
{
    if (!trap_deprived(v)) return v->ldtr.sel;
    return (v->ldtr.sel & 0xfffcu) ? TRAP_VMM_LDT_SEL : 0;
}

uint32_t trap_real_tr(const struct vcpu *v)
{
    return trap_deprived(v) ? TRAP_VMM_TSS_SEL : v->tr.sel;
}

uint32_t trap_real_cr0(const struct vcpu *v)
{
    return trap_deprived(v) ? TRAP_VMM_CR0 : v->cr0;
}

_Noreturn void trap_to_vmm(struct vcpu *v)
{
    cpu_gp(v, 0);
}

void trap_int_sw(struct vcpu *v, uint32_t kind)
{
    if (kind == INTSW_INTO && !(v->eflags & F_OF)) return;
    trap_to_vmm(v);
}

/* The engine's run step: guest code runs deprivileged. */
static void trap_ops_run(struct vcpu *v, void *ctx, uint64_t to_poll, uint64_t left)
{
    (void)ctx;
    (void)to_poll;
    trap_deprivilege(v);
    interp_run_some(v, left);
    trap_privilege(v);
}

bool trap_fault(struct vcpu *v)
{
    struct trap_state *t = v->trap;
    if (t->emulating) {
        /* The instruction faults at virtual privilege too: the guest's fault. */
        t->emulating = false;
        t->reflected++;
        return false;
    }
    if (!t->deprived) return false; /* raised by the VMM's own work (delivery) */
    trap_privilege(v);
    t->traps++;
    t->by_vector[v->fault_vec & 31]++;
    /* Emulate: run the instruction once more, now at virtual privilege
     * against the virtual state. A fault there comes back here (above). */
    v->eip = v->insn_eip;
    /* The instruction retires here, so an interrupt shadow it sat in ends
     * (the run loop's own clearing was skipped by the fault); one it sets
     * itself (STI, MOV SS) stays. */
    v->irq_shadow = 0;
    t->emulating = true;
    cpu_exec_block(v, NULL, 1);
    t->emulating = false;
    t->emulated++;
    return true;
}

enum vcpu_stop trap_engine_run(struct vcpu *v, uint64_t max_insns)
{
    static const struct run_ops ops = { trap_ops_run, NULL, NULL };
    if (!v->trap) {
        v->trap = calloc(1, sizeof *v->trap);
        if (!v->trap) {
            v->stop = STOP_ERROR;
            return STOP_ERROR;
        }
    }
    return cpu_run_loop(v, max_insns, &ops);
}

void trap_stats_print(FILE *f, const struct vcpu *v)
{
    static const char *const names[32] = {
        "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", "15",
        "MF", "AC", "MC", "XM", "VE", "CP", "22", "23", "24", "25", "26", "27", "28", "29", "SX", "31",
    };
    const struct trap_state *t = v->trap;
    fprintf(f, "  trap-and-emulate (-engine trap)\n");
    fprintf(f, "    traps into the VMM (faults at CPL 3) %" PRIu64 "\n", t->traps);
    for (int i = 0; i < 32; i++) {
        if (!t->by_vector[i]) continue;
        char name[24];
        snprintf(name, sizeof(name), "#%s (vector %d)", names[i], i);
        fprintf(f, "      %-34s %" PRIu64 "\n", name, t->by_vector[i]);
    }
    fprintf(f, "    emulated at virtual privilege      %" PRIu64 "\n", t->emulated);
    fprintf(f, "    reflected to the guest             %" PRIu64 "\n", t->reflected);
}
