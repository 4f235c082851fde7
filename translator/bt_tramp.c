/* Hand-emitted trampolines at the start of each code cache: the entry from C
 * into translated code (callee-saved host registers saved, guest registers
 * and arithmetic flags loaded), the two exits back to C, and the shared
 * "fallback" stub through which translated code calls an interpreter handler
 * with the guest state spilled to struct vcpu. */
#include <stddef.h>

#include "translator/bt_internal.h"
#include "translator/emit.h"

#define OFF_R(g)   ((int32_t)(offsetof(struct vcpu, r) + 4 * (g)))
#define OFF_EFL    ((int32_t)offsetof(struct vcpu, eflags))
#define OFF_ICOUNT ((int32_t)offsetof(struct vcpu, icount))
#define OFF_VIEW   ((int32_t)offsetof(struct vcpu, tlb.view))
#define OFF_MVIEW  ((int32_t)offsetof(struct vcpu, mem_view))
#define OFF_VBT    ((int32_t)offsetof(struct vcpu, bt))
#define OFF_BUDGET ((int32_t)offsetof(struct bt_vcpu, budget))
#define OFF_BASE   ((int32_t)offsetof(struct bt_vcpu, icount_base))

static void store_regs(struct emit *e)
{
    for (int g = 0; g < 8; g++) mov_rm_r(e, 4, rm_mem(HR_V, OFF_R(g)), host_reg(g));
}

static void load_regs(struct emit *e)
{
    for (int g = 0; g < 8; g++) mov_r_rm(e, 4, host_reg(g), rm_mem(HR_V, OFF_R(g)));
}

/* r14 = v->tlb.view[v->mem_view] (scratch: tmp). */
static void load_view(struct emit *e, int tmp)
{
    emit_op2(e, 4, 0x0f, 0xb6, tmp, rm_mem(HR_V, OFF_MVIEW)); /* movzx tmp, byte */
    mov_r_rm(e, 8, HR_TLB, rm_sib(HR_V, tmp, 3, OFF_VIEW));
}

/* Host flags -> v->eflags arithmetic bits. Called after store_regs: clobbers
 * rax, rcx, rdx (guest registers already in *v). LAHF/SETO rather than
 * PUSHFQ (and SAHF rather than POPFQ below, which costs ~8 ns here). */
static void save_flags(struct emit *e)
{
    eb(e, 0x9f);                                     /* lahf */
    eb(e, 0x0f); eb(e, 0x90); eb(e, 0xc0);           /* seto al */
    eb(e, 0x0f); eb(e, 0xb6); eb(e, 0xcc);           /* movzx ecx, ah */
    eb(e, 0x0f); eb(e, 0xb6); eb(e, 0xc0);           /* movzx eax, al */
    emit_op1(e, 4, 0xc1, 4, rm_reg(RAX));            /* shl eax, 11: OF */
    eb(e, 11);
    emit_op1(e, 4, 0x09, RAX, rm_reg(RCX));          /* or ecx, eax */
    emit_op1(e, 4, 0x81, 4, rm_reg(RCX));            /* and ecx, F_ARITH (LAHF's bit 1) */
    e32(e, F_ARITH);
    mov_r_rm(e, 4, RDX, rm_mem(HR_V, OFF_EFL));
    emit_op1(e, 4, 0x81, 4, rm_reg(RDX));            /* and edx, ~F_ARITH */
    e32(e, ~F_ARITH);
    emit_op1(e, 4, 0x09, RCX, rm_reg(RDX));          /* or edx, ecx */
    mov_rm_r(e, 4, rm_mem(HR_V, OFF_EFL), RDX);
}

/* v->eflags arithmetic bits -> host flags; never TF/DF/AC/IF. Called
 * before load_regs: clobbers rax and tmp. */
static void load_flags(struct emit *e, int tmp)
{
    mov_r_rm(e, 4, RAX, rm_mem(HR_V, OFF_EFL));
    mov_r_rm(e, 4, tmp, rm_reg(RAX));
    emit_op1(e, 4, 0xc1, 5, rm_reg(tmp));            /* shr tmp, 11 */
    eb(e, 11);
    emit_op1(e, 4, 0xc1, 4, rm_reg(RAX));            /* shl eax, 8: AH = flags 0-7 */
    eb(e, 8);
    mov_r_rm(e, 1, RAX, rm_reg(tmp));                /* mov al, tmpb */
    eb(e, 0x24); eb(e, 0x01);                        /* and al, 1: OF */
    eb(e, 0x04); eb(e, 0x7f);                        /* add al, 127: OF = (al == 1) */
    eb(e, 0x9e);                                     /* sahf */
}

/* No return-address frames (gen_ras_call): RSP back to the base the entry
 * set (or, at the entry, that base set), all the room free. */
static void ras_reset(struct emit *e, struct bt_vcpu *bt, bool entry)
{
    riprel(e, 8, entry ? 0x89 : 0x8b, RSP, &bt->ras->base_rsp, 0); /* mov [base_rsp], rsp / mov rsp, [base_rsp] */
    riprel(e, 4, 0xc7, 0, &bt->ras->room, 4);                       /* mov dword [room], BT_RAS_DEPTH */
    e32(e, BT_RAS_DEPTH);
}

void bt_emit_trampolines(struct bt_vcpu *bt)
{
    struct emit e = { bt->cache, bt->cache + bt->cache_size, false };

    /* enter(v = rdi, bt = rsi, code = rdx); r15 = bt->budget */
    bt->enter = (void (*)(struct vcpu *, struct bt_vcpu *, const uint8_t *))(void *)e.p;
    push_r(&e, RBX);
    push_r(&e, RBP);
    push_r(&e, R12);
    push_r(&e, R13);
    push_r(&e, R14);
    push_r(&e, R15);
    /* sub rsp, 24: 16-byte alignment, and the stash slot at [rsp + 8]
     * where a return-address frame has its free word (gen_ras_call). */
    emit_op1(&e, 8, 0x83, 5, rm_reg(RSP));
    eb(&e, 24);
    ras_reset(&e, bt, true);
    mov_r_rm(&e, 8, R13, rm_reg(RDI));
    mov_r_rm(&e, 8, HR_BUDGET, rm_mem(RSI, OFF_BUDGET));
    lea(&e, 8, HR_BUDGET, rm_mem(HR_BUDGET, -1)); /* r15 = budget - 1 */
    mov_r_rm(&e, 8, R11, rm_reg(RDX));
    load_view(&e, RAX);
    load_flags(&e, R8);
    load_regs(&e);
    jmp_r(&e, R11);

    /* exit_regs: guest registers and flags still in host registers. */
    bt->exit_regs = e.p;
    store_regs(&e);
    save_flags(&e);
    /* exit_mem: everything already in struct vcpu; the budget goes back. */
    bt->exit_mem = e.p;
    mov_r_rm(&e, 8, R8, rm_mem(HR_V, OFF_VBT));
    lea(&e, 8, HR_BUDGET, rm_mem(HR_BUDGET, 1));
    mov_rm_r(&e, 8, rm_mem(R8, OFF_BUDGET), HR_BUDGET);
    riprel(&e, 8, 0x8b, RSP, &bt->ras->base_rsp, 0); /* mov rsp, [base_rsp]: frames dropped */
    emit_op1(&e, 8, 0x83, 0, rm_reg(RSP));            /* add rsp, 24 */
    eb(&e, 24);
    pop_r(&e, R15);
    pop_r(&e, R14);
    pop_r(&e, R13);
    pop_r(&e, R12);
    pop_r(&e, RBP);
    pop_r(&e, RBX);
    ret(&e);

    /* fallback: called with r8 = the record, r9 = instructions of the block
     * not retired yet (this one included). Makes v->icount exact, calls
     * bt_helper_exec, then either resumes (icount_base moved past the
     * instruction just retired), jumps to the translation it returned
     * (lookup and goto, bt_goto.c) or leaves through exit_mem. */
    while ((uintptr_t)e.p & 15) eb(&e, 0xcc);
    bt->fallback = e.p;
    store_regs(&e);
    save_flags(&e);
    mov_r_rm(&e, 8, R10, rm_mem(HR_V, OFF_VBT));
    mov_r_rm(&e, 8, R11, rm_mem(R10, OFF_BASE));
    emit_op1(&e, 8, 0x29, HR_BUDGET, rm_reg(R11)); /* sub r11, r15 */
    emit_op1(&e, 8, 0x29, R9, rm_reg(R11));        /* sub r11, r9 */
    lea(&e, 8, R11, rm_mem(R11, -1));              /* (r15 is budget - 1) */
    mov_rm_r(&e, 8, rm_mem(HR_V, OFF_ICOUNT), R11);
    push_r(&e, R9); /* kept across the call; aligns the stack */
    mov_r_rm(&e, 8, RDI, rm_reg(R13));
    mov_r_rm(&e, 8, RSI, rm_reg(R8));
    mov_r64_imm(&e, RAX, (uint64_t)(uintptr_t)bt_helper_exec);
    call_r(&e, RAX);
    pop_r(&e, R9);
    mov_r_rm(&e, 8, R10, rm_mem(HR_V, OFF_VBT));
    emit_op1(&e, 8, 0x85, RAX, rm_reg(RAX));       /* test rax, rax */
    uint8_t *jleave = jcc_rel32(&e, 0x5);          /* jnz */
    mov_r_rm(&e, 8, R11, rm_mem(HR_V, OFF_ICOUNT));
    lea(&e, 8, R11, rm_sib(R11, HR_BUDGET, 0, 1)); /* r11 = icount + budget */
    lea(&e, 8, R11, rm_sib(R11, R9, 0, -1));
    mov_rm_r(&e, 8, rm_mem(R10, OFF_BASE), R11);
    load_view(&e, R8);
    load_flags(&e, R8);
    load_regs(&e);
    ret(&e);
    patch_rel32(&e, jleave, e.p);
    emit_op1(&e, 8, 0x83, 0, rm_reg(RSP));         /* add rsp, 8: drop the return address */
    eb(&e, 8);
    emit_op1(&e, 8, 0x83, 7, rm_reg(RAX));         /* cmp rax, 1 */
    eb(&e, 1);
    uint8_t *jgoto = jcc_rel32(&e, 0x5);           /* jne: rax = a translation */
    mov_r_rm(&e, 8, R11, rm_mem(HR_V, OFF_ICOUNT));
    lea(&e, 8, R11, rm_sib(R11, HR_BUDGET, 0, 1));
    mov_rm_r(&e, 8, rm_mem(R10, OFF_BASE), R11);
    uint8_t *j = jmp_rel32(&e);
    patch_rel32(&e, j, bt->exit_mem);
    /* Lookup and goto: the block charged r9 - 1 instructions it will not
     * run; give them back (budget = what the dispatcher would set: the
     * target's prologue checks it as after a chained jump), then enter
     * the translation as the entry trampoline does. */
    patch_rel32(&e, jgoto, e.p);
    ras_reset(&e, bt, false); /* (the mode may have changed: a pad goes on in its own) */
    lea(&e, 8, HR_BUDGET, rm_sib(HR_BUDGET, R9, 0, -1));
    mov_r_rm(&e, 8, R11, rm_mem(HR_V, OFF_ICOUNT));
    lea(&e, 8, R11, rm_sib(R11, HR_BUDGET, 0, 1)); /* icount_base = icount + budget */
    mov_rm_r(&e, 8, rm_mem(R10, OFF_BASE), R11);
    mov_r_rm(&e, 8, R11, rm_reg(RAX));
    load_view(&e, R8);
    load_flags(&e, R8);
    load_regs(&e);
    jmp_r(&e, R11);

    while ((uintptr_t)e.p & 63) eb(&e, 0xcc);
    bt->tb_start = e.p;
    bt->free = e.p;
}
