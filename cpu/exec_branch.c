/* Interpreter handlers: near control flow. Jcc, JMP and CALL (relative and
 * indirect r/m), RET / RET imm16, LOOP/LOOPE/LOOPNE, JCXZ/JECXZ.
 *
 * A branch masks its target to the operand size and checks it against the CS
 * limit at the branch (#GP(0), with EIP still on the branch and no state
 * changed), then sets v->next_eip. Far forms (LJMP, LCALL, RETF) belong to the
 * segment handlers. */
#include <capstone/capstone.h>

#include "cpu/flags.h"
#include "cpu/interp.h"
#include "cpu/operand.h"

static inline uint32_t op_mask(const struct insn *in)
{
    return in->opsize == 2 ? 0xffffu : 0xffffffffu;
}

/* The target of a relative branch, masked to the operand size. */
static inline uint32_t rel_target(const struct vcpu *v, const struct insn *in)
{
    return (v->next_eip + in->op[0].disp) & op_mask(in);
}

/* Check a (masked) target against the CS limit. */
static inline void check_target(struct vcpu *v, uint32_t target)
{
    if (unlikely(target > v->seg[S_CS].limit)) cpu_gp(v, 0);
}

static inline void branch_to(struct vcpu *v, uint32_t target)
{
    check_target(v, target);
    v->next_eip = target;
}

/* The target of JMP/CALL: relative, or the r/m operand (register or memory,
 * read at the operand size). */
static inline uint32_t near_target(struct vcpu *v, const struct insn *in)
{
    if (in->flags & IF_REL_BRANCH) return rel_target(v, in);
    return opnd_read(v, in, &in->op[0]) & op_mask(in);
}

/* Jcc: the condition is the low nibble of the opcode (70-7F, 0F 80-8F). */
static void exec_jcc(struct vcpu *v, const struct insn *in)
{
    if (cond_true(v->eflags, in->opc & 0xf)) branch_to(v, rel_target(v, in));
}

static void exec_jmp(struct vcpu *v, const struct insn *in)
{
    branch_to(v, near_target(v, in));
}

/* CALL: target read and checked first, then the return address pushed
 * (stack_push commits ESP only after the write succeeded). */
static void exec_call(struct vcpu *v, const struct insn *in)
{
    uint32_t target = near_target(v, in);
    check_target(v, target);
    stack_push(v, v->next_eip, in->opsize);
    v->next_eip = target;
}

/* RET / RET imm16: ESP is committed only after the target passed the check. */
static void exec_ret(struct vcpu *v, const struct insn *in)
{
    unsigned size = in->opsize;
    uint32_t sp = sp_get(v);
    uint32_t target = mem_read(v, S_SS, sp, size) & op_mask(in);
    uint32_t release = in->nopnd >= 1 && in->op[0].kind == OPND_IMM ? (in->op[0].disp & 0xffff) : 0;
    check_target(v, target);
    sp_set(v, sp + size + release);
    v->next_eip = target;
}

/* The count register of LOOP and JCXZ is CX or ECX by the ADDRESS size. */
static inline uint32_t count_get(const struct vcpu *v, const struct insn *in)
{
    return in->addrsize == 2 ? (v->r[R_ECX] & 0xffff) : v->r[R_ECX];
}

static inline void count_set(struct vcpu *v, const struct insn *in, uint32_t c)
{
    gpr_set(v, R_ECX, in->addrsize, c);
}

/* LOOP/LOOPE/LOOPNE: ECX is decremented, but committed only after the
 * target check, so a #GP leaves the instruction restartable. */
static void exec_loop_common(struct vcpu *v, const struct insn *in, int zf_needed)
{
    uint32_t c = (count_get(v, in) - 1) & (in->addrsize == 2 ? 0xffffu : 0xffffffffu);
    bool take = c != 0;
    if (zf_needed >= 0) take = take && (((v->eflags & F_ZF) != 0) == (zf_needed != 0));
    if (take) check_target(v, rel_target(v, in));
    count_set(v, in, c);
    if (take) v->next_eip = rel_target(v, in);
}

static void exec_loop(struct vcpu *v, const struct insn *in) { exec_loop_common(v, in, -1); }
static void exec_loope(struct vcpu *v, const struct insn *in) { exec_loop_common(v, in, 1); }
static void exec_loopne(struct vcpu *v, const struct insn *in) { exec_loop_common(v, in, 0); }

static void exec_jcxz(struct vcpu *v, const struct insn *in)
{
    if (count_get(v, in) == 0) branch_to(v, rel_target(v, in));
}

void interp_register_branch(insn_exec_fn *t)
{
    static const uint16_t jcc[] = {
        X86_INS_JO, X86_INS_JNO, X86_INS_JB, X86_INS_JAE, X86_INS_JE, X86_INS_JNE,
        X86_INS_JBE, X86_INS_JA, X86_INS_JS, X86_INS_JNS, X86_INS_JP, X86_INS_JNP,
        X86_INS_JL, X86_INS_JGE, X86_INS_JLE, X86_INS_JG,
    };
    for (unsigned i = 0; i < sizeof jcc / sizeof jcc[0]; i++) t[jcc[i]] = exec_jcc;
    t[X86_INS_JMP] = exec_jmp;
    t[X86_INS_CALL] = exec_call;
    t[X86_INS_RET] = exec_ret;
    t[X86_INS_LOOP] = exec_loop;
    t[X86_INS_LOOPE] = exec_loope;
    t[X86_INS_LOOPNE] = exec_loopne;
    t[X86_INS_JCXZ] = exec_jcxz;
    t[X86_INS_JECXZ] = exec_jcxz;
}
