/* Tests for near control flow (cpu/exec_branch.c): all 16 Jcc conditions in
 * rel8/rel16/rel32 forms against a reference, JMP/CALL relative and indirect,
 * RET/RET imm16, LOOP/LOOPE/LOOPNE and JCXZ/JECXZ by address size, 16-bit
 * target masking, and #GP(0) for a target beyond the CS limit (with the
 * branch's state untouched). */
#include "cpu_test_util.h"

#define D HARNESS_DATA
#define S HARNESS_STACK

/* Reference conditions, written from the SDM's Jcc table. */
static bool ref_cond(unsigned cc, uint32_t f)
{
    bool cf = f & F_CF, zf = f & F_ZF, sf = f & F_SF, of = f & F_OF, pf = f & F_PF;
    switch (cc) {
    case 0x0: return of;                 /* JO */
    case 0x1: return !of;                /* JNO */
    case 0x2: return cf;                 /* JB */
    case 0x3: return !cf;                /* JAE */
    case 0x4: return zf;                 /* JE */
    case 0x5: return !zf;                /* JNE */
    case 0x6: return cf || zf;           /* JBE */
    case 0x7: return !cf && !zf;         /* JA */
    case 0x8: return sf;                 /* JS */
    case 0x9: return !sf;                /* JNS */
    case 0xa: return pf;                 /* JP */
    case 0xb: return !pf;                /* JNP */
    case 0xc: return sf != of;           /* JL */
    case 0xd: return sf == of;           /* JGE */
    case 0xe: return zf || sf != of;     /* JLE */
    default:  return !zf && sf == of;    /* JG */
    }
}

static const uint32_t flag_bits[5] = { F_CF, F_PF, F_ZF, F_SF, F_OF };

static void check_jcc_all(enum harness_mode mode, int form)
{
    struct harness *h = hnew(mode);
    struct vcpu *v = h->v;
    for (unsigned cc = 0; cc < 16; cc++) {
        uint8_t code[8];
        size_t n = 0;
        if (form == 8) {
            code[n++] = (uint8_t)(0x70 + cc);
            code[n++] = 0x02;
        } else {
            code[n++] = 0x0f;
            code[n++] = (uint8_t)(0x80 + cc);
            code[n++] = 0x02;
            code[n++] = 0x00;
            if (form == 32) {
                code[n++] = 0x00;
                code[n++] = 0x00;
            }
        }
        code[n++] = 0xb0; /* mov al, 1: skipped when taken */
        code[n++] = 0x01;
        for (unsigned m = 0; m < 32; m++) {
            uint32_t f = F_FIXED1 | F_AF;
            for (int b = 0; b < 5; b++)
                if (m & (1u << b)) f |= flag_bits[b];
            v->eflags = f;
            v->r[R_EAX] = 0;
            cr_assert_eq(hrun(h, code, n), HR_DONE, "cc %x flags %#x", cc, f);
            bool taken = (v->r[R_EAX] & 0xff) == 0;
            cr_assert_eq(taken, ref_cond(cc, f), "cc %x flags %#x form %d: taken %d", cc, f, form, taken);
            cr_assert_eq(v->eflags, f, "Jcc changes no flags");
        }
    }
    harness_free(h);
}

Test(branch, jcc_all_conditions_rel8_rel32)
{
    check_jcc_all(H_PROT32, 8);
    check_jcc_all(H_PROT32, 32);
}

Test(branch, jcc_all_conditions_rel16_real_mode)
{
    check_jcc_all(H_REAL16, 8);
    check_jcc_all(H_REAL16, 16);
}

Test(branch, jcc_backward_and_not_taken_beyond_limit)
{
    /* A not-taken Jcc whose target would be beyond the limit does not fault. */
    struct harness *h = hnew(H_PROT16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x66, 0x0f, 0x84, 0x00, 0x00, 0x01, 0x00 /* je +0x10000 (32-bit) */ };
    v->eflags = F_FIXED1;
    cr_assert_eq(hrun(h, code, sizeof code), HR_DONE);
    v->eflags = F_FIXED1 | F_ZF;
    expect_exc(h, hrun(h, code, sizeof code), EXC_GP, 0, 0);
    harness_free(h);
}

/* --- JMP --- */

Test(branch, jmp_forms_32)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xeb, 0x02,                               /* 0: jmp +2 -> 4 */
        0xb0, 0x01,                               /* 2: (skipped) */
        0xe9, 0x02, 0x00, 0x00, 0x00,             /* 4: jmp +2 -> 11 */
        0xb0, 0x02,                               /* 9: (skipped) */
        0xff, 0xe2,                               /* 11: jmp edx -> 15 */
        0xb0, 0x03,                               /* 13: (skipped) */
        0xff, 0x23,                               /* 15: jmp [ebx] -> 19 */
        0xb0, 0x04,                               /* 17: (skipped) */
        0xb1, 0x05,                               /* 19: mov cl, 5 */
    };
    v->r[R_EDX] = HARNESS_CODE + 15;
    v->r[R_EBX] = D;
    harness_write32(h, D, HARNESS_CODE + 19);
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 0);
    cr_assert_eq(v->r[R_ECX], 5);
    harness_free(h);
}

Test(branch, jmp_16bit_operand_size_masks_target)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t ind[] = { 0x66, 0xff, 0xe0 /* jmp ax */ };
    v->r[R_EAX] = 0xabcd1234;
    cr_assert_eq(hrun_max(h, ind, sizeof ind, 1), HR_TIMEOUT);
    cr_assert_eq(v->eip, 0x1234);
    static const uint8_t rel[] = { 0x66, 0xe9, 0x00, 0x10 /* jmp rel16 +0x1000: (0x10004+0x1000) & 0xffff */ };
    cr_assert_eq(hrun_max(h, rel, sizeof rel, 1), HR_TIMEOUT);
    cr_assert_eq(v->eip, 0x1004);
    harness_free(h);
}

Test(branch, jmp_wraps_ip_real_mode)
{
    struct harness *h = hnew(H_REAL16);
    static const uint8_t code[] = { 0xeb, 0xfc /* jmp -4: IP 2 - 4 = 0xfffe */ };
    static const uint8_t at_fffe[] = { 0xeb, 0x02 /* jmp +2: (0x10000 + 2) & 0xffff = 2 */ };
    harness_poke(h, HARNESS_CODE + 0xfffe, at_fffe, sizeof at_fffe);
    cr_assert_eq(hrun_max(h, code, sizeof code, 1), HR_TIMEOUT);
    cr_assert_eq(h->v->eip, 0xfffe);
    cr_assert_eq(hrun(h, code, sizeof code), HR_DONE, "second jump lands at IP 2");
    cr_assert_eq(h->v->icount, 1 + 2);
    harness_free(h);
}

Test(branch, jmp_beyond_cs_limit_gp_prot16)
{
    struct harness *h = hnew(H_PROT16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x90, 0x66, 0xe9, 0xfa, 0xff, 0x00, 0x00 /* jmp rel32 -> 0x10001 */ };
    expect_exc(h, hrun(h, code, sizeof code), EXC_GP, 0, 1);
    cr_assert_eq(v->r[R_ESP] & 0xffff, 0xff00 - 16);
    harness_free(h);
    /* a lower limit, 16-bit target */
    h = hnew(H_PROT16);
    h->v->seg[S_CS].limit = 0x0fff;
    static const uint8_t code2[] = { 0xe9, 0xfd, 0x1f /* jmp 0x2000 */ };
    expect_exc(h, hrun(h, code2, sizeof code2), EXC_GP, 0, 0);
    harness_free(h);
}

/* --- CALL / RET --- */

Test(branch, call_ret_32)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xe8, 0x05, 0x00, 0x00, 0x00,             /* 0: call +5 -> 10, pushes 5 */
        0xb8, 0x11, 0x11, 0x11, 0x11,             /* 5: (skipped) */
    };
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_ESP], S - 4);
    cr_assert_eq(harness_read32(h, S - 4), HARNESS_CODE + 5);
    cr_assert_eq(v->r[R_EAX], 0);

    static const uint8_t ret[] = { 0xc3, 0x90, 0x90 };
    v->r[R_ESP] = S;
    harness_write32(h, S, HARNESS_CODE + 3);
    RUN_OK(h, ret);
    cr_assert_eq(v->r[R_ESP], S + 4);

    static const uint8_t reti[] = { 0xc2, 0x08, 0x01, 0x90 /* ret 0x108 */ };
    v->r[R_ESP] = S;
    harness_write32(h, S, HARNESS_CODE + 4);
    RUN_OK(h, reti);
    cr_assert_eq(v->r[R_ESP], S + 4 + 0x108);
    harness_free(h);
}

Test(branch, call_indirect_forms)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xff, 0xd0,                               /* 0: call eax -> 6 */
        0x90, 0x90, 0x90, 0x90,
        0xff, 0x13,                               /* 6: call [ebx] -> 10 */
        0x90, 0x90,
        0xff, 0x54, 0x24, 0xfc,                   /* 10: call [esp-4]: read before the push -> 16 */
        0x90, 0x90,
    };
    v->r[R_EAX] = HARNESS_CODE + 6;
    v->r[R_EBX] = D;
    harness_write32(h, D, HARNESS_CODE + 10);
    harness_write32(h, S - 12, HARNESS_CODE + 16); /* [ESP-4] at the third call */
    RUN_OK(h, code);
    cr_assert_eq(harness_read32(h, S - 4), HARNESS_CODE + 2);
    cr_assert_eq(harness_read32(h, S - 8), HARNESS_CODE + 8);
    cr_assert_eq(harness_read32(h, S - 12), HARNESS_CODE + 14);
    cr_assert_eq(v->r[R_ESP], S - 12);
    harness_free(h);
}

Test(branch, call_ret_16bit_operand_size)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t call16[] = { 0x66, 0xe8, 0x00, 0x00 /* call rel16 0: target (0x10004) & 0xffff */ };
    harness_write32(h, S - 4, 0xaaaaaaaa);
    cr_assert_eq(hrun_max(h, call16, sizeof call16, 1), HR_TIMEOUT);
    cr_assert_eq(v->eip, 0x0004);
    cr_assert_eq(v->r[R_ESP], S - 2);
    cr_assert_eq(harness_read32(h, S - 4), 0x0004aaaa, "2-byte return address (0x10004 & 0xffff)");

    static const uint8_t ret16[] = { 0x66, 0xc3 /* ret (16-bit) */ };
    v->r[R_ESP] = S;
    harness_write32(h, S, 0x12345678);
    cr_assert_eq(hrun_max(h, ret16, sizeof ret16, 1), HR_TIMEOUT);
    cr_assert_eq(v->eip, 0x5678);
    cr_assert_eq(v->r[R_ESP], S + 2);
    harness_free(h);
}

Test(branch, call_ret_real_mode_stack_wrap)
{
    struct harness *h = hnew(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xe8, 0x02, 0x00,                         /* 0: call +2 -> 5, pushes 3 */
        0x90, 0x90,
        0xc3,                                     /* 5: ret -> 3, then nops, then ret again... */
    };
    v->r[R_ESP] = 0x55550000; /* SP = 0: the push wraps to 0xfffe */
    cr_assert_eq(hrun_max(h, code, sizeof code, 1), HR_TIMEOUT);
    cr_assert_eq(v->eip, 5);
    cr_assert_eq(v->r[R_ESP], 0x5555fffe);
    cr_assert_eq(peek16(h, 0xfffe), 3);
    cr_assert_eq(hrun_max(h, code + 5, 1, 1), HR_TIMEOUT); /* ret */
    cr_assert_eq(v->eip, 3);
    cr_assert_eq(v->r[R_ESP], 0x55550000);
    harness_free(h);
}

Test(branch, ret_beyond_cs_limit_gp_keeps_esp)
{
    struct harness *h = hnew(H_PROT16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x66, 0xc2, 0x04, 0x00 /* ret 4 (32-bit operand) */ };
    v->r[R_ESP] = 0x8000;
    harness_write32(h, 0x8000, 0x00012345);
    expect_exc(h, hrun(h, code, sizeof code), EXC_GP, 0, 0);
    /* the handler's frame is below SP = 0x8000: EFLAGS CS EIP err */
    cr_assert_eq(v->r[R_ESP] & 0xffff, 0x8000 - 16, "RET did not move SP before faulting");
    harness_free(h);
}

Test(branch, call_beyond_cs_limit_gp_pushes_nothing)
{
    struct harness *h = hnew(H_PROT16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x66, 0xff, 0xd0 /* call eax */ };
    v->r[R_EAX] = 0x10000;
    v->r[R_ESP] = 0x8000;
    harness_write32(h, 0x8000 - 4, 0x77777777);
    expect_exc(h, hrun(h, code, sizeof code), EXC_GP, 0, 0);
    cr_assert_eq(v->r[R_ESP] & 0xffff, 0x8000 - 16);
    cr_assert_eq(harness_stack(h, 3) & 0xffff, F_FIXED1, "frame: err EIP CS EFLAGS directly below 0x8000");
    harness_free(h);
}

/* --- LOOP / JCXZ --- */

Test(branch, loop_forms)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t loop[] = { 0x40 /* inc eax */, 0xe2, 0xfd /* loop -3 */ };
    v->r[R_ECX] = 5;
    RUN_OK(h, loop);
    cr_assert_eq(v->r[R_EAX], 5);
    cr_assert_eq(v->r[R_ECX], 0);

    static const uint8_t loope2[] = { 0xe1, 0x02, 0xb0, 0x01 /* loope +2 */ };
    v->r[R_EAX] = 0;
    v->r[R_ECX] = 2;
    v->eflags = F_FIXED1 | F_ZF;
    RUN_OK(h, loope2);
    cr_assert_eq(v->r[R_EAX] & 0xff, 0, "taken: ECX=1, ZF=1");
    cr_assert_eq(v->r[R_ECX], 1);
    v->eflags = F_FIXED1;
    RUN_OK(h, loope2);
    cr_assert_eq(v->r[R_EAX] & 0xff, 1, "not taken: ZF=0");
    cr_assert_eq(v->r[R_ECX], 0);

    static const uint8_t loopne2[] = { 0xe0, 0x02, 0xb0, 0x02 /* loopne +2 */ };
    v->r[R_EAX] = 0;
    v->r[R_ECX] = 2;
    v->eflags = F_FIXED1;
    RUN_OK(h, loopne2);
    cr_assert_eq(v->r[R_EAX] & 0xff, 0, "taken: ECX=1, ZF=0");
    v->eflags = F_FIXED1 | F_ZF;
    v->r[R_ECX] = 5;
    RUN_OK(h, loopne2);
    cr_assert_eq(v->r[R_EAX] & 0xff, 2, "not taken: ZF=1");
    cr_assert_eq(v->r[R_ECX], 4);
    v->eflags = F_FIXED1;
    v->r[R_EAX] = 0;
    v->r[R_ECX] = 1;
    RUN_OK(h, loopne2);
    cr_assert_eq(v->r[R_EAX] & 0xff, 2, "not taken: ECX reached 0");
    cr_assert_eq(v->eflags, F_FIXED1, "LOOP changes no flags");
    harness_free(h);
}

Test(branch, loop_count_by_address_size)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t loop16[] = { 0x67, 0xe2, 0x02, 0xb0, 0x01 /* loop +2 using CX */ };
    v->r[R_ECX] = 0x00010000; /* CX = 0 -> 0xffff: taken */
    RUN_OK(h, loop16);
    cr_assert_eq(v->r[R_ECX], 0x0001ffff);
    cr_assert_eq(v->r[R_EAX] & 0xff, 0);
    v->r[R_ECX] = 0x00010001; /* CX = 1 -> 0: not taken although ECX != 1 */
    RUN_OK(h, loop16);
    cr_assert_eq(v->r[R_ECX], 0x00010000);
    cr_assert_eq(v->r[R_EAX] & 0xff, 1);

    static const uint8_t jcxz[] = { 0x67, 0xe3, 0x02, 0xb0, 0x02 /* jcxz +2 */ };
    static const uint8_t jecxz[] = { 0xe3, 0x02, 0xb0, 0x03 /* jecxz +2 */ };
    v->r[R_EAX] = 0;
    v->r[R_ECX] = 0x00010000;
    RUN_OK(h, jcxz);
    cr_assert_eq(v->r[R_EAX] & 0xff, 0, "CX = 0: taken");
    RUN_OK(h, jecxz);
    cr_assert_eq(v->r[R_EAX] & 0xff, 3, "ECX != 0: not taken");
    v->r[R_EAX] = 0;
    v->r[R_ECX] = 0;
    RUN_OK(h, jecxz);
    cr_assert_eq(v->r[R_EAX] & 0xff, 0);
    cr_assert_eq(v->r[R_ECX], 0, "JECXZ does not decrement");
    harness_free(h);
}

Test(branch, loop_beyond_limit_gp_keeps_ecx)
{
    struct harness *h = hnew(H_PROT16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x66, 0xe2, 0x10 /* loop +0x10 */ };
    v->seg[S_CS].limit = 0x0008;
    v->r[R_ECX] = 0x12345678;
    expect_exc(h, hrun(h, code, sizeof code), EXC_GP, 0, 0);
    cr_assert_eq(v->r[R_ECX], 0x12345678);
    harness_free(h);
}

Test(branch, call_stack_fault_leaves_esp_and_eip)
{
    /* CPL 3 so that the #SS is delivered on the ring-0 stack. */
    struct harness *h = hnew(H_USER32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x90, 0xe8, 0x00, 0x00, 0x00, 0x00 /* call +0 */ };
    v->seg[S_SS].limit = 0x1000;
    seg_cache_refresh(&v->seg[S_SS], true);
    v->r[R_ESP] = 0x1002; /* ESP-4 = 0xffe: the dword crosses the limit */
    expect_exc(h, hrun(h, code, sizeof code), EXC_SS, 0, HARNESS_CODE + 1);
    cr_assert_eq(harness_stack(h, 4), 0x1002, "saved ESP: nothing pushed");
    harness_free(h);
}
