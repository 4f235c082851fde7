/* Exception and interrupt delivery: vectors, error codes, saved EIP, the
 * ring-3 -> ring-0 stack switch, real-mode IVT delivery, IRET in each mode,
 * VM86 round trips, and the double/triple fault rules. */
#include <criterion/criterion.h>

#include "cpu/interp.h"
#include "cpu/interrupt.h"
#include "cpu/vmm.h"
#include "memory/paging.h"
#include "memory/tlb.h"
#include "sys_test_util.h"

/* A fault at CPL 0 in 32-bit protected mode: frame EIP, CS, EFLAGS on the same stack. */
Test(interrupt, ud2_ring0_frame)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    v->eflags |= F_IF | F_CF;
    static const uint8_t code[] = { 0x90, 0x0f, 0x0b };
    EXPECT_EXC(h, RUN(h, code), EXC_UD);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE + 1);
    cr_assert_eq(harness_stack(h, 1), 0x08);
    cr_assert_eq(harness_stack(h, 2), F_FIXED1 | F_IF | F_CF);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK - 12);
    cr_assert_eq(v->eflags & F_IF, 0, "interrupt gate clears IF");
    cr_assert_eq(v->exceptions[EXC_UD], 1);
    cr_assert_eq(v->exits[EXIT_EXCEPTION], 1);
    cr_assert_eq(v->delivering, -1);
    harness_free(h);
}

/* A trap gate keeps IF. */
Test(interrupt, trap_gate_keeps_if)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    sys_gate(h, EXC_UD, 0x08, HARNESS_STUBS + EXC_UD * 8, 0xf, 0, 1);
    v->eflags |= F_IF | F_TF;
    static const uint8_t code[] = { 0x0f, 0x0b };
    EXPECT_EXC(h, RUN(h, code), EXC_UD);
    cr_assert_eq(v->eflags & (F_IF | F_TF), F_IF);
    harness_free(h);
}

/* #GP(0) from a privileged instruction at CPL 3: stack switch to SS0:ESP0,
 * old SS:ESP pushed. */
Test(interrupt, gp_ring3_stack_switch)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    v->eflags |= F_IF;
    static const uint8_t code[] = { 0x90, 0xfa }; /* nop; cli */
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(v->cpl, 0);
    cr_assert_eq(v->seg[S_SS].sel, 0x10);
    cr_assert_eq(v->seg[S_CS].sel, 0x08);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK0 - 24);
    cr_assert_eq(harness_stack(h, 0), 0, "error code");
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 1, "saved EIP");
    cr_assert_eq(harness_stack(h, 2), 0x2b);
    cr_assert_eq(harness_stack(h, 3), F_FIXED1 | F_IF);
    cr_assert_eq(harness_stack(h, 4), HARNESS_STACK);
    cr_assert_eq(harness_stack(h, 5), 0x33);
    cr_assert_eq(v->exits[EXIT_BT_FLAGS], 1);
    cr_assert_eq(v->exits[EXIT_EXCEPTION], 1);
    cr_assert_eq(v->exceptions[EXC_GP], 1);
    harness_free(h);
}

/* #DE: saved EIP is the DIV itself. */
Test(interrupt, divide_error)
{
    struct harness *h = sys_new(H_PROT32);
    static const uint8_t code[] = { 0x31, 0xc9, 0xf7, 0xf1 }; /* xor ecx,ecx; div ecx */
    EXPECT_EXC(h, RUN(h, code), EXC_DE);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE + 2);
    cr_assert_eq(harness_stack(h, 1), 0x08);
    harness_free(h);
}

/* INT3 and INTO are traps: saved EIP is the next instruction; no error code. */
Test(interrupt, int3_ring3)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x90, 0xcc };
    EXPECT_EXC(h, RUN(h, code), EXC_BP);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE + 2);
    cr_assert_eq(harness_stack(h, 1), 0x2b);
    cr_assert_eq(harness_stack(h, 3), HARNESS_STACK);
    cr_assert_eq(harness_stack(h, 4), 0x33);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK0 - 20);
    cr_assert_eq(v->exceptions[EXC_BP], 1);
    cr_assert_eq(v->exits[EXIT_BT_INT], 1);
    harness_free(h);
}

Test(interrupt, into_taken_and_not_taken)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xce };
    cr_assert_eq(RUN(h, code), HR_DONE, "INTO with OF=0 is a no-op");
    cr_assert_eq(v->exceptions[EXC_OF], 0);
    v->eflags |= F_OF;
    EXPECT_EXC(h, RUN(h, code), EXC_OF);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE + 1);
    cr_assert_eq(harness_stack(h, 2), F_FIXED1 | F_OF);
    cr_assert_eq(v->exceptions[EXC_OF], 1);
    harness_free(h);
}

/* INT n through a DPL-3 gate from ring 3. */
Test(interrupt, int_n_ring3)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xcd, 0x80 };
    EXPECT_EXC(h, RUN(h, code), 0x80);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE + 2);
    cr_assert_eq(harness_stack(h, 1), 0x2b);
    cr_assert_eq(v->exits[EXIT_BT_INT], 1);
    cr_assert_eq(v->exits[EXIT_EXCEPTION], 0, "INT n is not an exception");
    harness_free(h);
}

/* INT n through a DPL-0 gate from ring 3: #GP(n*8+2), EIP of the INT. */
Test(interrupt, int_n_gate_dpl)
{
    struct harness *h = sys_new(H_USER32);
    sys_gate(h, 0x40, 0x08, HARNESS_STUBS + 0x40 * 8, 0xe, 0, 1);
    static const uint8_t code[] = { 0x90, 0xcd, 0x40 };
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0x40 * 8 + 2);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 1);
    harness_free(h);
}

/* A hardware exception ignores the gate DPL. */
Test(interrupt, exception_ignores_gate_dpl)
{
    struct harness *h = sys_new(H_USER32);
    sys_gate(h, EXC_UD, 0x08, HARNESS_STUBS + EXC_UD * 8, 0xe, 0, 1);
    static const uint8_t code[] = { 0x0f, 0x0b };
    EXPECT_EXC(h, RUN(h, code), EXC_UD);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE);
    harness_free(h);
}

/* Not-present gate: #NP(vec*8+2); for an exception also EXT. */
Test(interrupt, gate_not_present)
{
    struct harness *h = sys_new(H_PROT32);
    sys_gate(h, 0x41, 0x08, HARNESS_STUBS + 0x41 * 8, 0xe, 3, 0);
    static const uint8_t code[] = { 0xcd, 0x41 };
    EXPECT_EXC(h, RUN(h, code), EXC_NP);
    cr_assert_eq(harness_stack(h, 0), 0x41 * 8 + 2);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE);
    harness_free(h);

    h = sys_new(H_PROT32);
    sys_gate(h, EXC_UD, 0x08, HARNESS_STUBS + EXC_UD * 8, 0xe, 3, 0);
    static const uint8_t ud[] = { 0x0f, 0x0b };
    EXPECT_EXC(h, RUN(h, ud), EXC_NP);
    cr_assert_eq(harness_stack(h, 0), EXC_UD * 8 + 3, "EXT set for an exception");
    harness_free(h);
}

/* A gate beyond the IDT limit, and a gate of a bad type: #GP(vec*8+2). */
Test(interrupt, gate_beyond_limit_and_bad_type)
{
    struct harness *h = sys_new(H_PROT32);
    h->v->idtr.limit = 0x40 * 8 - 1;
    static const uint8_t code[] = { 0xcd, 0x50 };
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0x50 * 8 + 2);
    harness_free(h);

    h = sys_new(H_PROT32);
    sys_gate(h, 0x30, 0x08, HARNESS_STUBS + 0x30 * 8, 0x9, 3, 1); /* a TSS type */
    static const uint8_t c2[] = { 0xcd, 0x30 };
    EXPECT_EXC(h, RUN(h, c2), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0x30 * 8 + 2);
    harness_free(h);
}

/* Target code segment checks: null selector -> #GP(0), data segment -> #GP(sel). */
Test(interrupt, gate_target_checks)
{
    struct harness *h = sys_new(H_PROT32);
    sys_gate(h, 0x31, 0x00, 0x1234, 0xe, 3, 1);
    static const uint8_t c1[] = { 0xcd, 0x31 };
    EXPECT_EXC(h, RUN(h, c1), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0);
    harness_free(h);

    h = sys_new(H_PROT32);
    sys_gate(h, 0x32, 0x10, 0x1234, 0xe, 3, 1);
    static const uint8_t c2[] = { 0xcd, 0x32 };
    EXPECT_EXC(h, RUN(h, c2), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0x10);
    harness_free(h);
}

/* 16-bit interrupt gate from 32-bit code: 16-bit frame. */
Test(interrupt, gate16_frame)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    sys_gate(h, 0x33, 0x08, HARNESS_STUBS + 0x33 * 8, 0x6, 3, 1);
    v->eflags |= F_CF;
    static const uint8_t code[] = { 0xcd, 0x33 };
    EXPECT_EXC(h, RUN(h, code), 0x33);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK - 6);
    cr_assert_eq(harness_stack(h, 0), ((uint32_t)0x08 << 16) | ((HARNESS_CODE + 2) & 0xffff));
    cr_assert_eq(harness_stack(h, 1) & 0xffff, F_FIXED1 | F_CF);
    harness_free(h);
}

/* #DF: #GP while delivering #NP (the #NP gate lies beyond a small IDT limit). */
Test(interrupt, double_fault)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    v->idtr.limit = EXC_NP * 8 - 1;                                /* vectors 0-10 */
    sys_gate(h, 9, 0x08, HARNESS_STUBS + 9 * 8, 0xe, 0, 0);        /* INT 9 -> #NP */
    static const uint8_t code[] = { 0x90, 0xcd, 0x09 };
    EXPECT_EXC(h, RUN(h, code), EXC_DF);
    cr_assert_eq(harness_stack(h, 0), 0, "#DF error code");
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 1);
    cr_assert_eq(harness_stack(h, 2), 0x08);
    cr_assert_eq(v->fault_chain_len, 4);
    cr_assert_eq(v->fault_chain[0], 9);
    cr_assert_eq(v->fault_chain[1], EXC_NP);
    cr_assert_eq(v->fault_chain[2], EXC_GP);
    cr_assert_eq(v->fault_chain[3], EXC_DF);
    cr_assert_eq(v->exceptions[EXC_DF], 1);
    cr_assert_eq(v->exceptions[EXC_NP], 1);
    cr_assert_eq(v->stop, STOP_INSN_LIMIT);
    harness_free(h);
}

/* A benign exception during delivery is handled serially: #NP while delivering #UD. */
Test(interrupt, benign_then_contributory_is_serial)
{
    struct harness *h = sys_new(H_PROT32);
    sys_gate(h, EXC_UD, 0x08, HARNESS_STUBS + EXC_UD * 8, 0xe, 0, 0);
    static const uint8_t code[] = { 0x0f, 0x0b };
    EXPECT_EXC(h, RUN(h, code), EXC_NP);
    cr_assert_eq(harness_stack(h, 0), EXC_UD * 8 + 3);
    harness_free(h);
}

/* Triple fault: the IDT holds only vector 0, so #GP, then #DF, then fail. */
Test(interrupt, triple_fault_protected)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    v->idtr.limit = 7;
    uint32_t esp = v->r[R_ESP];
    static const uint8_t code[] = { 0xcd, 0x20 };
    cr_assert_eq(RUN(h, code), HR_STOPPED);
    cr_assert_eq(v->stop, STOP_TRIPLE_FAULT);
    cr_assert_eq(v->fault_chain_len, 4);
    cr_assert_eq(v->fault_chain[0], 0x20);
    cr_assert_eq(v->fault_chain[1], EXC_GP);
    cr_assert_eq(v->fault_chain[2], EXC_GP);
    cr_assert_eq(v->fault_chain[3], EXC_DF);
    cr_assert_eq(v->exits[EXIT_TRIPLE_FAULT], 1);
    cr_assert_eq(v->r[R_ESP], esp, "no state committed");
    cr_assert_eq(v->eip, HARNESS_CODE);
    harness_free(h);
}

Test(interrupt, triple_fault_real_mode)
{
    struct harness *h = sys_new(H_REAL16);
    struct vcpu *v = h->v;
    v->idtr.limit = 4 * 4 - 1;
    static const uint8_t code[] = { 0xcd, 0x10 };
    cr_assert_eq(RUN(h, code), HR_STOPPED);
    cr_assert_eq(v->stop, STOP_TRIPLE_FAULT);
    cr_assert_eq(v->fault_chain[0], 0x10);
    cr_assert_eq(v->fault_chain[3], EXC_DF);
    harness_free(h);
}

/* Real mode: INT n through the IVT pushes FLAGS, CS, IP and clears IF/TF. */
Test(interrupt, real_mode_int)
{
    struct harness *h = sys_new(H_REAL16);
    struct vcpu *v = h->v;
    v->eflags |= F_IF | F_CF | F_TF;
    static const uint8_t code[] = { 0x90, 0xcd, 0x21 };
    EXPECT_EXC(h, RUN(h, code), 0x21);
    cr_assert_eq(v->seg[S_CS].sel, HARNESS_STUBS >> 4);
    cr_assert_eq(v->eip & 0xffff, 0x21 * 8);
    cr_assert_eq(v->r[R_ESP], 0xff00 - 6);
    cr_assert_eq(sys_stack16(h, 0), 3);
    cr_assert_eq(sys_stack16(h, 1), HARNESS_CODE >> 4);
    cr_assert_eq(sys_stack16(h, 2), F_FIXED1 | F_IF | F_CF | F_TF);
    cr_assert_eq(v->eflags & (F_IF | F_TF), 0);
    cr_assert_eq(v->exits[EXIT_BT_INT], 1);
    harness_free(h);
}

/* Real mode exception: no error code pushed for #UD. */
Test(interrupt, real_mode_exception)
{
    struct harness *h = sys_new(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x0f, 0x0b };
    EXPECT_EXC(h, RUN(h, code), EXC_UD);
    cr_assert_eq(v->r[R_ESP], 0xff00 - 6);
    cr_assert_eq(sys_stack16(h, 0), 0);
    harness_free(h);
}

/* IRET in real mode: IP, CS, FLAGS popped. */
Test(interrupt, iret_real_mode)
{
    struct harness *h = sys_new(H_REAL16);
    struct vcpu *v = h->v;
    uint16_t frame[3] = { 1, HARNESS_CODE >> 4, 0x0ed7 };
    harness_poke(h, 0xff00 - 6, frame, 6);
    v->r[R_ESP] = 0xff00 - 6;
    static const uint8_t code[] = { 0xcf };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->r[R_ESP], 0xff00);
    cr_assert_eq(v->eflags, 0x0ed7);
    cr_assert_eq(v->exits[EXIT_BT_INT], 1);
    harness_free(h);
}

/* IRET at the same level in protected mode. */
Test(interrupt, iret_same_level)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    uint32_t frame[3] = { HARNESS_CODE + 1, 0x08, 0x3ed7 };
    harness_poke(h, HARNESS_STACK - 12, frame, 12);
    v->r[R_ESP] = HARNESS_STACK - 12;
    static const uint8_t code[] = { 0xcf };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK);
    cr_assert_eq(v->eflags, 0x3ed7, "CPL 0 restores IF and IOPL");
    harness_free(h);
}

/* IRET to ring 3: SS:ESP popped, DS (DPL 0) nulled, CPL 3; IOPL kept at CPL 3 later. */
Test(interrupt, iret_to_ring3)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    uint32_t frame[5] = { HARNESS_CODE + 1, 0x2b, 0x0202, 0x80000, 0x33 };
    harness_poke(h, HARNESS_STACK - 20, frame, 20);
    v->r[R_ESP] = HARNESS_STACK - 20;
    static const uint8_t code[] = { 0xcf };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->cpl, 3);
    cr_assert_eq(v->seg[S_CS].sel, 0x2b);
    cr_assert_eq(v->seg[S_SS].sel, 0x33);
    cr_assert_eq(v->r[R_ESP], 0x80000);
    cr_assert_eq(v->seg[S_DS].sel, 0, "DPL-0 data segment nulled");
    cr_assert_eq(v->seg[S_ES].sel, 0);
    cr_assert_eq(v->eflags, 0x0202);
    harness_free(h);
}

/* IRET to an outer level whose SS RPL does not match: #GP(ss). */
Test(interrupt, iret_bad_ss)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    uint32_t frame[5] = { HARNESS_CODE + 1, 0x2b, 0x0202, 0x80000, 0x10 };
    harness_poke(h, HARNESS_STACK - 20, frame, 20);
    v->r[R_ESP] = HARNESS_STACK - 20;
    static const uint8_t code[] = { 0xcf };
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0x10);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE);
    harness_free(h);
}

/* Round trip: INT 0x80 from ring 3, then IRET from the handler back to ring 3. */
Test(interrupt, int_iret_round_trip)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    v->eflags |= F_IF;
    /* Handler for 0x80 at HARNESS_CODE + 0x100: iretd. */
    static const uint8_t handler[] = { 0xcf };
    harness_poke(h, HARNESS_CODE + 0x100, handler, 1);
    sys_gate(h, 0x80, 0x08, HARNESS_CODE + 0x100, 0xe, 3, 1);
    static const uint8_t code[] = { 0xcd, 0x80 };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->cpl, 3);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK);
    cr_assert_eq(v->seg[S_SS].sel, 0x33);
    cr_assert_eq(v->eflags, F_FIXED1 | F_IF);
    cr_assert_eq(v->exits[EXIT_BT_INT], 2);
    harness_free(h);
}

/* IRET from ring 0 into VM86, then INT n from VM86 with IOPL 3 through the
 * IDT to ring 0: GS FS DS ES SS ESP EFLAGS CS EIP pushed, data segments nulled. */
Test(interrupt, vm86_iret_and_int)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    uint32_t frame[9] = { 1, HARNESS_CODE >> 4, 0x23202, 0xff00, 0x2000, 0x3000, 0x3100, 0x3200, 0x3300 };
    harness_poke(h, HARNESS_STACK - 36, frame, 36);
    v->r[R_ESP] = HARNESS_STACK - 36;
    static const uint8_t code[] = { 0xcf, 0xcd, 0x21 };
    harness_poke(h, HARNESS_CODE, code, sizeof(code));
    cr_assert_eq(sys_run_max(h, code, sizeof(code), 1), HR_TIMEOUT);
    cr_assert_eq(v->eflags & F_VM, F_VM);
    cr_assert_eq(v->cpl, 3);
    cr_assert_eq(v->seg[S_CS].base, HARNESS_CODE);
    cr_assert_eq(v->eip, 1);
    cr_assert_eq(v->seg[S_SS].base, 0x20000);
    cr_assert_eq(v->seg[S_DS].base, 0x31000);
    cr_assert_eq(v->seg[S_GS].sel, 0x3300);
    cr_assert_eq(v->r[R_ESP], 0xff00);
    cr_assert_eq(v->code32, 0);
    /* Continue: INT 0x21 in VM86 (IOPL 3). */
    for (int i = 0; i < 4 && !(v->seg[S_CS].base + v->eip >= HARNESS_STUBS && v->seg[S_CS].base + v->eip < HARNESS_STUBS + 2048); i++)
        cpu_step(v);
    cr_assert_eq(v->seg[S_CS].base + v->eip, HARNESS_STUBS + 0x21 * 8);
    cr_assert_eq(v->eflags & F_VM, 0);
    cr_assert_eq(v->cpl, 0);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK0 - 36);
    cr_assert_eq(harness_stack(h, 0), 3);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE >> 4);
    cr_assert_eq(harness_stack(h, 2), 0x23202);
    cr_assert_eq(harness_stack(h, 3), 0xff00);
    cr_assert_eq(harness_stack(h, 4), 0x2000);
    cr_assert_eq(harness_stack(h, 5), 0x3000);
    cr_assert_eq(harness_stack(h, 6), 0x3100);
    cr_assert_eq(harness_stack(h, 7), 0x3200);
    cr_assert_eq(harness_stack(h, 8), 0x3300);
    cr_assert_eq(v->seg[S_DS].sel, 0);
    cr_assert_eq(v->seg[S_GS].sel, 0);
    harness_free(h);
}

/* INT n in VM86 with IOPL < 3: #GP(0), EIP of the INT. */
Test(interrupt, vm86_int_iopl)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    uint32_t frame[9] = { 1, HARNESS_CODE >> 4, 0x20202, 0xff00, 0x2000, 0, 0, 0, 0 };
    harness_poke(h, HARNESS_STACK - 36, frame, 36);
    v->r[R_ESP] = HARNESS_STACK - 36;
    static const uint8_t code[] = { 0xcf, 0xcd, 0x21 };
    cr_assert_eq(sys_run_max(h, code, sizeof(code), 1), HR_TIMEOUT);
    for (int i = 0; i < 4 && !(v->seg[S_CS].base + v->eip >= HARNESS_STUBS && v->seg[S_CS].base + v->eip < HARNESS_STUBS + 2048); i++)
        cpu_step(v);
    cr_assert_eq((v->seg[S_CS].base + v->eip - HARNESS_STUBS) / 8, EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0);
    cr_assert_eq(harness_stack(h, 1), 1);
    harness_free(h);
}

/* External interrupt through cpu_interrupt: EXT=1 in a gate error code. */
Test(interrupt, external_ext_bit)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    /* Deliver directly with no run loop around: the gate is fine, so no fault. */
    cpu_interrupt(v, 0x50, INT_EXTERNAL, false, 0, HARNESS_CODE);
    cr_assert_eq(v->eip, HARNESS_STUBS + 0x50 * 8);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE);
    cr_assert_eq(v->delivering, -1);
    cr_assert(exception_has_error_code(EXC_PF));
    cr_assert(exception_has_error_code(EXC_DF));
    cr_assert(exception_has_error_code(EXC_AC));
    cr_assert(!exception_has_error_code(EXC_UD));
    cr_assert(!exception_has_error_code(EXC_MF));
    harness_free(h);
}

/* A second 32-bit TSS at GDT selector 0x40 whose task starts at `eip`. */
#define TSS2 0x21000u
static void add_task(struct harness *h, uint32_t eip)
{
    struct vcpu *v = h->v;
    uint8_t zero[0x68] = { 0 };
    harness_poke(h, TSS2, zero, sizeof(zero));
    harness_write32(h, TSS2 + 0x20, eip);
    harness_write32(h, TSS2 + 0x24, F_FIXED1);
    harness_write32(h, TSS2 + 0x38, 0x70000);                 /* ESP */
    static const uint32_t sels[6] = { 0x10, 0x08, 0x10, 0x10, 0x10, 0x10 };
    for (int i = 0; i < 6; i++) harness_write32(h, TSS2 + 0x48 + 4 * (uint32_t)i, sels[i]);
    harness_write32(h, HARNESS_GDT + 0x40, 0x0067 | (TSS2 << 16));
    harness_write32(h, HARNESS_GDT + 0x44, ((TSS2 >> 16) & 0xff) | 0x8900 | (TSS2 & 0xff000000u));
    v->gdtr.limit = 0x47;
    /* Mark the current TSS busy in the GDT, as LTR would have. */
    harness_write32(h, HARNESS_GDT + 0x3c, harness_read32(h, HARNESS_GDT + 0x3c) | 0x200);
}

/* An exception through a task gate: task switch, error code on the new stack. */
Test(interrupt, task_gate_exception)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    add_task(h, HARNESS_STUBS + 0x70 * 8);
    sys_gate(h, EXC_GP, 0x40, 0, 0x5, 0, 1);
    static const uint8_t code[] = { 0xb9, 0x45, 0x23, 0x01, 0x00, 0x0f, 0x32 }; /* rdmsr 0x12345: #GP(0) */
    EXPECT_EXC(h, RUN(h, code), 0x70);
    cr_assert_eq(v->tr.sel, 0x40);
    cr_assert_eq(v->r[R_ESP], 0x70000 - 4);
    cr_assert_eq(harness_stack(h, 0), 0, "error code pushed");
    cr_assert_eq(harness_read32(h, HARNESS_TSS + 0x20), HARNESS_CODE + 5, "old task saved at the faulting EIP");
    cr_assert_eq(harness_read32(h, TSS2) & 0xffff, 0x38, "back link");
    cr_assert_eq(v->eflags & F_NT, F_NT);
    harness_free(h);
}

/* INT n through a task gate and IRET (NT=1) back to the first task. */
Test(interrupt, task_gate_int_and_iret)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    add_task(h, HARNESS_CODE + 0x100);
    static const uint8_t iret[] = { 0xcf };
    harness_poke(h, HARNESS_CODE + 0x100, iret, 1);
    sys_gate(h, 0x60, 0x40, 0, 0x5, 3, 1);
    v->r[R_EBX] = 0xabcd;
    static const uint8_t code[] = { 0xcd, 0x60 };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->tr.sel, 0x38);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK);
    cr_assert_eq(v->r[R_EBX], 0xabcd);
    cr_assert_eq(v->eflags & F_NT, 0);
    cr_assert_eq(harness_read32(h, TSS2 + 0x20), HARNESS_CODE + 0x101, "task 2 saved after its IRET");
    harness_free(h);
}

/* The ring-0 stack from the TSS is checked: #TS for a bad SS0, #SS when the
 * frame does not fit. The fault handlers here run at CPL 3 (DPL-3 code
 * target), on the user stack, so they do not need the broken ring-0 stack. */
static struct harness *bad_stack_harness(uint16_t ss0, uint32_t esp0)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    /* 0x40: ring-0 32-bit data segment, base 0x80000, limit 0xfff. */
    harness_write32(h, HARNESS_GDT + 0x40, 0x00000fff);
    harness_write32(h, HARNESS_GDT + 0x44, 0x00409208);
    v->gdtr.limit = 0x47;
    harness_write32(h, HARNESS_TSS + 4, esp0);
    harness_write32(h, HARNESS_TSS + 8, ss0);
    sys_gate(h, EXC_TS, 0x2b, HARNESS_STUBS + EXC_TS * 8, 0xe, 3, 1);
    sys_gate(h, EXC_SS, 0x2b, HARNESS_STUBS + EXC_SS * 8, 0xe, 3, 1);
    return h;
}

Test(interrupt, tss_stack_checks)
{
    static const uint8_t code[] = { 0x90, 0xcd, 0x80 };
    struct harness *h = bad_stack_harness(0x40, 8);
    struct vcpu *v = h->v;
    EXPECT_EXC(h, RUN(h, code), EXC_SS);
    cr_assert_eq(v->cpl, 3);
    cr_assert_eq(v->seg[S_SS].sel, 0x33);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK - 16);
    cr_assert_eq(harness_stack(h, 0), 0x40, "#SS(new SS), EXT=0 for INT n");
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 1);
    cr_assert_eq(harness_stack(h, 2), 0x2b);
    harness_free(h);

    h = bad_stack_harness(0x40, 0x800); /* fits: delivered normally */
    EXPECT_EXC(h, RUN(h, code), 0x80);
    cr_assert_eq(h->v->r[R_ESP], 0x800 - 20);
    cr_assert_eq(h->v->seg[S_SS].base, 0x80000);
    cr_assert_eq(harness_read32(h, 0x80000 + 0x800 - 20), HARNESS_CODE + 3);
    harness_free(h);

    h = bad_stack_harness(0x00, 0x800); /* null SS0 */
    EXPECT_EXC(h, RUN(h, code), EXC_TS);
    cr_assert_eq(harness_stack(h, 0), 0);
    harness_free(h);

    h = bad_stack_harness(0x43, 0x800); /* RPL 3 != DPL 0 */
    EXPECT_EXC(h, RUN(h, code), EXC_TS);
    cr_assert_eq(harness_stack(h, 0), 0x40);
    harness_free(h);

    h = bad_stack_harness(0x28, 0x800); /* a code segment */
    EXPECT_EXC(h, RUN(h, code), EXC_TS);
    cr_assert_eq(harness_stack(h, 0), 0x28);
    harness_free(h);
}

/* In VM86 with IOPL 0, CLI, PUSHF, POPF and IRET raise #GP(0). */
Test(interrupt, vm86_sensitive_instructions)
{
    static const uint8_t insns[][1] = { { 0xfa }, { 0x9c }, { 0x9d }, { 0xcf } };
    for (int k = 0; k < 4; k++) {
        struct harness *h = sys_new(H_PROT32);
        struct vcpu *v = h->v;
        uint32_t frame[9] = { 1, HARNESS_CODE >> 4, 0x20202, 0xff00, 0x2000, 0, 0, 0, 0 };
        harness_poke(h, HARNESS_STACK - 36, frame, 36);
        v->r[R_ESP] = HARNESS_STACK - 36;
        uint8_t code[2] = { 0xcf, insns[k][0] };
        cr_assert_eq(sys_run_max(h, code, sizeof(code), 1), HR_TIMEOUT);
        cr_assert_eq(v->eflags & F_VM, F_VM);
        cpu_step(v);
        cr_assert_eq((v->seg[S_CS].base + v->eip - HARNESS_STUBS) / 8, EXC_GP, "insn %02x", insns[k][0]);
        cr_assert_eq(harness_stack(h, 0), 0);
        cr_assert_eq(harness_stack(h, 1), 1);
        cr_assert_eq(harness_stack(h, 4), 0xff00);
        harness_free(h);
    }
}

/* Identity-map the first 4 MiB (user, writable) except page 0x22000 (supervisor). */
static void setup_paging(struct harness *h)
{
    struct vcpu *v = h->v;
    const uint32_t pd = 0x30000, pt = 0x31000;
    uint8_t zero[4096] = { 0 };
    harness_poke(h, pd, zero, sizeof(zero));
    harness_write32(h, pd, pt | 0x7);
    for (uint32_t i = 0; i < 1024; i++) harness_write32(h, pt + 4 * i, (i << 12) | 0x7);
    harness_write32(h, pt + 4 * 0x22, 0x22000 | 0x3);
    v->cr3 = pd;
    v->cr0 |= CR0_PG;
    tlb_flush_all(&v->tlb);
}

/* #PF: error code, CR2 and the faulting EIP, at CPL 0 and CPL 3. */
Test(interrupt, page_fault)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    setup_paging(h);
    static const uint8_t rd[] = { 0x90, 0xa1, 0x34, 0x12, 0x40, 0x00 }; /* mov eax, [0x401234] */
    EXPECT_EXC(h, RUN(h, rd), EXC_PF);
    cr_assert_eq(v->cr2, 0x401234);
    cr_assert_eq(harness_stack(h, 0), 0, "not present, read, supervisor");
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 1);
    cr_assert_eq(v->exceptions[EXC_PF], 1);
    harness_free(h);

    h = sys_new(H_USER32);
    v = h->v;
    setup_paging(h);
    static const uint8_t wr[] = { 0xa3, 0x10, 0x20, 0x02, 0x00 }; /* mov [0x22010], eax */
    EXPECT_EXC(h, RUN(h, wr), EXC_PF);
    cr_assert_eq(v->cr2, 0x22010);
    cr_assert_eq(harness_stack(h, 0), PF_P | PF_W | PF_U);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE);
    cr_assert_eq(harness_stack(h, 2), 0x2b);
    cr_assert_eq(harness_stack(h, 4), HARNESS_STACK);
    harness_free(h);
}

/* #PF while pushing the frame of #GP (the ring-0 stack page is not present):
 * contributory then page fault is serial, so the #PF is delivered... on the
 * same missing stack, which makes #DF, which fails too: triple fault. */
Test(interrupt, page_fault_on_ring0_stack_triple)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    setup_paging(h);
    harness_write32(h, 0x31000 + 4 * 0x9f, 0); /* the page holding HARNESS_STACK0 */
    static const uint8_t code[] = { 0xfa }; /* cli: #GP(0) */
    cr_assert_eq(RUN(h, code), HR_STOPPED);
    cr_assert_eq(v->stop, STOP_TRIPLE_FAULT);
    cr_assert_eq(v->fault_chain[0], EXC_GP);
    cr_assert_eq(v->fault_chain[1], EXC_PF);
    cr_assert_eq(v->fault_chain[2], EXC_PF);
    cr_assert_eq(v->fault_chain[3], EXC_DF);
    cr_assert_eq(v->cpl, 3, "nothing committed");
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK);
    harness_free(h);
}

/* 16-bit IRET (66 CF) in 32-bit protected mode at the same level: IP, CS,
 * FLAGS are words; EFLAGS bits 16-31 are kept. The target is the stub of
 * vector 0x50 (below 64 KiB), so the harness reports the arrival. */
Test(interrupt, iret16_same_level)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    v->eflags |= F_AC;
    uint16_t frame[3] = { HARNESS_STUBS + 0x50 * 8, 0x08, 0x08d7 };
    harness_poke(h, HARNESS_STACK - 6, frame, 6);
    v->r[R_ESP] = HARNESS_STACK - 6;
    static const uint8_t code[] = { 0x66, 0xcf };
    EXPECT_EXC(h, RUN(h, code), 0x50);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK);
    cr_assert_eq(v->eflags, F_AC | 0x08d7);
    cr_assert_eq(v->eip, HARNESS_STUBS + 0x50 * 8);
    harness_free(h);
}
