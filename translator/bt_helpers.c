/* C functions called from translated code. bt_helper_exec runs one guest
 * instruction with its interpreter handler, exactly as cpu/interp.c's
 * exec_one does, and says whether the translated block must be left. */
#include "cpu/interp.h"
#include "cpu/msr.h"
#include "translator/bt_internal.h"

/* The guest state (registers, flags, v->eip = this instruction, icount) is in
 * *v. Returns 0 to resume after the instruction; when translated code must
 * leave its block — control went elsewhere (branch, repeated string step),
 * the block ends here, the run loop has a request, or an interrupt can be
 * taken now — the translation to jump to (bt_goto_lookup), or 1 for the
 * dispatcher. */
uintptr_t bt_helper_exec(struct vcpu *v, const struct insn *in)
{
    uint32_t next = v->eip + in->len; /* translated blocks are 32-bit code */
    v->insn_eip = v->eip;
    v->next_eip = next;
    in->exec(v, in);
    v->eip = v->next_eip;
    v->icount++;
    if (v->eip != next || (in->flags & IF_ENDS_BLOCK) || v->req) return bt_goto_lookup(v);
    if (v->tlb.mask != ((const struct bt_vcpu *)v->bt)->tlb_mask) return 1; /* see run_one */
    return v->irq_req && (v->eflags & F_IF) && !v->irq_shadow;
}

/* RDTSC translated inline at CPL 0 (bt_gen.c, gen_sensitive): what the
 * interpreter's handler computes (vmm_rdtsc, whose CR4.TSD check only
 * applies at CPL > 0) without entering the VMM. v->icount is exact. */
uint64_t bt_rdtsc(struct vcpu *v)
{
    return cpu_tsc(v);
}
