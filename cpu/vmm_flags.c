/* VMM handlers for the IF/IOPL-sensitive flag instructions: CLI, STI, PUSHF,
 * POPF. POPF is the classic Popek-Goldberg violation on x86: at CPL > IOPL
 * it does not trap but silently leaves IF alone, so a deprivileged guest
 * kernel cannot be trap-and-emulated; here it gets the exact silent rules. */
#include "cpu/fault.h"
#include "cpu/operand.h"
#include "cpu/segment.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"

/* CLI/STI: protected mode (and VM86, where CPL is 3) needs IOPL >= CPL.
 * CR4.VME/PVI virtual interrupt flags are not supported. */
static void check_iopl(struct vcpu *v)
{
    if (vcpu_protected(v) && vcpu_iopl(v) < v->cpl) cpu_gp(v, 0);
}

void vmm_cli(struct vcpu *v)
{
    check_iopl(v);
    v->eflags &= ~F_IF;
}

void vmm_sti(struct vcpu *v)
{
    check_iopl(v);
    if (!(v->eflags & F_IF)) {
        v->eflags |= F_IF;
        /* Interrupts stay blocked until after the next instruction; end the
         * block so the run loop sees the shadow and then pending interrupts. */
        v->irq_shadow = 1;
        v->req |= REQ_BLOCK_END;
    }
}

void vmm_pushf(struct vcpu *v, uint32_t opsize)
{
    if (vcpu_vm86(v) && vcpu_iopl(v) < 3) cpu_gp(v, 0);
    if (opsize == 4) stack_push(v, v->eflags & ~(F_VM | F_RF), 4);
    else stack_push(v, v->eflags & 0xffff, 2);
}

/* Flags POPF may change, by mode, CPL and operand size (SDM POPF). */
static uint32_t popf_mask(const struct vcpu *v, unsigned size)
{
    uint32_t m = F_ARITH | F_TF | F_IF | F_DF | F_NT;
    if (size == 4) m |= F_AC | F_ID;
    if (vcpu_vm86(v)) return m; /* IOPL 3 here; IOPL, VM, VIF, VIP unchanged */
    if (v->cpl == 0) m |= F_IOPL;
    if (v->cpl > vcpu_iopl(v)) m &= ~F_IF; /* silently kept: no fault */
    return m;
}

void vmm_popf(struct vcpu *v, uint32_t opsize)
{
    unsigned size = opsize == 4 ? 4 : 2;
    if (vcpu_vm86(v) && vcpu_iopl(v) < 3) cpu_gp(v, 0);
    uint32_t val = stack_pop(v, size);
    uint32_t m = popf_mask(v, size);
    uint32_t f = (v->eflags & ~m) | (val & m);
    if (size == 4) f &= ~F_RF;
    v->eflags = f | F_FIXED1;
    cpu_update_mode(v); /* AC changes the data view; ends the block so IF=1 is seen */
}
