/* Tests for the move/stack family (cpu/exec_move.c): exact registers, flags
 * and memory after each instruction; host comparison for CMPXCHG/XADD flags;
 * SDM known answers for PUSHA/POPA, ENTER and BOUND; stack and segment faults. */
#include "cpu_test_util.h"

#define D HARNESS_DATA
#define S HARNESS_STACK

/* --- MOV, MOVZX, MOVSX, XCHG, LEA --- */

Test(move, mov_gpr_imm_moffs_forms)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xc7, 0x44, 0x8b, 0x10, 0xef, 0xbe, 0xad, 0xde, /* mov dword [ebx+ecx*4+0x10], 0xdeadbeef */
        0xb8, 0x78, 0x56, 0x34, 0x12,             /* mov eax, 0x12345678 */
        0xb4, 0x9a,                               /* mov ah, 0x9a */
        0xa3, 0x00, 0x00, 0x02, 0x00,             /* mov [0x20000], eax */
        0x8b, 0x1d, 0x00, 0x00, 0x02, 0x00,       /* mov ebx, [0x20000] */
        0xa0, 0x02, 0x00, 0x02, 0x00,             /* mov al, [0x20002] */
        0x66, 0xb9, 0xef, 0xbe,                   /* mov cx, 0xbeef */
        0x66, 0x89, 0x16,                         /* mov [esi], dx */
        0x88, 0xf7,                               /* mov bh, dh */
        0x66, 0xa1, 0x00, 0x00, 0x02, 0x00,       /* mov ax, [0x20000] */
    };
    v->r[R_EBX] = D + 0x200;
    v->r[R_ECX] = 0x40000010;  /* upper half must survive MOV CX; ecx*4 wraps */
    v->r[R_EDX] = 0xaabbccdd;
    v->r[R_ESI] = D + 0x100;
    harness_write32(h, D + 0x104, 0x55555555);
    v->eflags = F_FIXED1 | F_CF | F_ZF;
    uint32_t target = D + 0x200 + 0x40000010u * 4 + 0x10; /* = D + 0x250 */
    RUN_OK(h, code);
    cr_assert_eq(harness_read32(h, target), 0xdeadbeef);
    cr_assert_eq(harness_read32(h, D), 0x12349a78);
    cr_assert_eq(v->r[R_EAX], 0x12349a78);       /* AL from [0x20002] = 0x34, then AX reloaded */
    cr_assert_eq(v->r[R_ECX], 0x4000beef);
    cr_assert_eq(harness_read32(h, D + 0x100) & 0xffff, 0xccdd);
    cr_assert_eq(harness_read32(h, D + 0x104), 0x55555555); /* 16-bit store wrote 2 bytes only */
    cr_assert_eq(v->r[R_EBX], 0x1234cc78);       /* bh = dh */
    cr_assert_eq(v->eflags, F_FIXED1 | F_CF | F_ZF, "MOV changes no flags");
    harness_free(h);
}

Test(move, mov_al_moffs_then_partial)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xa0, 0x02, 0x00, 0x02, 0x00,             /* mov al, [0x20002] */
        0xa2, 0x10, 0x00, 0x02, 0x00,             /* mov [0x20010], al */
    };
    harness_write32(h, D, 0x12345678);
    v->r[R_EAX] = 0xffffffff;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 0xffffff34);
    cr_assert_eq(harness_read32(h, D + 0x10), 0x34);
    harness_free(h);
}

Test(move, movzx_movsx)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x0f, 0xb6, 0x05, 0x00, 0x00, 0x02, 0x00, /* movzx eax, byte [0x20000] */
        0x0f, 0xbe, 0x1d, 0x00, 0x00, 0x02, 0x00, /* movsx ebx, byte [0x20000] */
        0x0f, 0xbf, 0x0d, 0x00, 0x00, 0x02, 0x00, /* movsx ecx, word [0x20000] */
        0x0f, 0xb7, 0x15, 0x00, 0x00, 0x02, 0x00, /* movzx edx, word [0x20000] */
        0x0f, 0xbe, 0xf4,                         /* movsx esi, ah */
        0x66, 0x0f, 0xb6, 0xfb,                   /* movzx di, bl */
    };
    harness_write32(h, D, 0x0000fe85);
    v->r[R_EDI] = 0x77777777;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 0x00000085);
    cr_assert_eq(v->r[R_EBX], 0xffffff85);
    cr_assert_eq(v->r[R_ECX], 0xfffffe85);
    cr_assert_eq(v->r[R_EDX], 0x0000fe85);
    cr_assert_eq(v->r[R_ESI], 0x00000000);       /* ah = 0 */
    cr_assert_eq(v->r[R_EDI], 0x77770085);
    harness_free(h);
}

Test(move, xchg_forms)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x87, 0x05, 0x00, 0x00, 0x02, 0x00,       /* xchg [0x20000], eax */
        0x86, 0xe3,                               /* xchg bl, ah */
        0x87, 0xd1,                               /* xchg ecx, edx */
        0x66, 0x96,                               /* xchg ax, si */
        0x91,                                     /* xchg eax, ecx */
    };
    harness_write32(h, D, 0xcafef00d);
    v->r[R_EAX] = 0x11223344;
    v->r[R_EBX] = 0x55667788;
    v->r[R_ECX] = 0x99aabbcc;
    v->r[R_EDX] = 0xddeeff00;
    v->r[R_ESI] = 0x01020304;
    RUN_OK(h, code);
    cr_assert_eq(harness_read32(h, D), 0x11223344);
    /* after 1: eax=cafef00d; 2: bl<->ah: ebx=556677f0, eax=ca fe 88 0d;
     * 3: ecx=ddeeff00, edx=99aabbcc; 4: ax<->si: eax=cafe0304, esi=0102880d;
     * 5: eax<->ecx */
    cr_assert_eq(v->r[R_EBX], 0x556677f0);
    cr_assert_eq(v->r[R_EDX], 0x99aabbcc);
    cr_assert_eq(v->r[R_ESI], 0x0102880d);
    cr_assert_eq(v->r[R_EAX], 0xddeeff00);
    cr_assert_eq(v->r[R_ECX], 0xcafe0304);
    harness_free(h);
}

Test(move, lea_address_and_operand_size)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x8d, 0x84, 0xcb, 0x00, 0x01, 0x00, 0x00, /* lea eax, [ebx+ecx*8+0x100] */
        0x67, 0x8d, 0x50, 0x10,                   /* lea edx, [bx+si+0x10] (16-bit address) */
        0x66, 0x8d, 0x3c, 0x0b,                   /* lea di, [ebx+ecx] */
    };
    v->r[R_EBX] = 0x1234fff0;
    v->r[R_ECX] = 0x20000001;
    v->r[R_ESI] = 0xabcd0100;
    v->r[R_EDX] = 0xffffffff;
    v->r[R_EDI] = 0x88888888;
    v->eflags = F_FIXED1 | F_OF | F_SF;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 0x1234fff0u + 0x00000008u + 0x100u);  /* ecx*8 wraps to 8 */
    cr_assert_eq(v->r[R_EDX], 0x00000100);   /* (0xfff0 + 0x0100 + 0x10) & 0xffff */
    cr_assert_eq(v->r[R_EDI], 0x8888fff1);   /* low 16 bits of 0x3234fff1 */
    cr_assert_eq(v->eflags, F_FIXED1 | F_OF | F_SF);
    harness_free(h);
}

Test(move, nop_forms_touch_nothing)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x90,                                     /* nop */
        0x0f, 0x1f, 0x00,                         /* nop dword [eax] */
        0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,       /* nop word [eax+eax+0] */
        0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00, /* nop dword [eax+0] */
        0xf3, 0x90,                               /* pause */
        0x66, 0x90,                               /* xchg ax, ax = nop */
    };
    v->r[R_EAX] = 0xfffffff0; /* would fault or hit nothing if dereferenced */
    uint32_t regs[8];
    memcpy(regs, v->r, sizeof regs);
    v->eflags = F_FIXED1 | F_AF;
    RUN_OK(h, code);
    cr_assert_arr_eq(v->r, regs, sizeof regs);
    cr_assert_eq(v->eflags, F_FIXED1 | F_AF);
    harness_free(h);
}

/* --- PUSH / POP --- */

Test(move, push_pop_forms_32)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x6a, 0x80,                               /* push -128          [S-4]            */
        0x54,                                     /* push esp           [S-8] = S-4      */
        0xff, 0x33,                               /* push dword [ebx]   [S-12]           */
        0x66, 0x6a, 0xff,                         /* push word -1       [S-14], 2 bytes  */
        0x66, 0x58,                               /* pop ax                              */
        0x8f, 0x44, 0x24, 0x04,                   /* pop dword [esp+4]: ESP=S-8 first, writes [S-4] */
        0x68, 0x44, 0x33, 0x22, 0x11,             /* push 0x11223344    [S-12]           */
        0x5e,                                     /* pop esi                             */
    };
    v->r[R_EBX] = D;
    v->r[R_EAX] = 0x12345678;
    harness_write32(h, D, 0xfeedface);
    harness_write32(h, S - 16, 0xa5a5a5a5);
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 0x1234ffff);
    cr_assert_eq(harness_read32(h, S - 4), 0xfeedface, "POP m must address with the incremented ESP");
    cr_assert_eq(harness_read32(h, S - 8), S - 4, "PUSH ESP pushes the old ESP");
    cr_assert_eq(harness_read32(h, S - 12), 0x11223344);
    cr_assert_eq(harness_read32(h, S - 16), 0xffffa5a5, "16-bit push writes 2 bytes");
    cr_assert_eq(v->r[R_ESI], 0x11223344);
    cr_assert_eq(v->r[R_ESP], S - 8);
    harness_free(h);
}

Test(move, pop_esp_and_push_segment)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x06,                                     /* push es: 16-bit write into a 4-byte slot */
        0x5c,                                     /* pop esp: ESP = popped value */
    };
    harness_write32(h, S - 4, 0xaaaaaaaa);
    RUN_OK(h, code);
    cr_assert_eq(harness_read32(h, S - 4), 0xaaaa0010);
    cr_assert_eq(v->r[R_ESP], 0xaaaa0010);
    harness_free(h);
}

Test(move, stack_wraps_at_64k_real_mode)
{
    struct harness *h = hnew(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x50,                                     /* push ax: SP 0 -> 0xfffe */
        0x5b,                                     /* pop bx: SP 0xfffe -> 0 */
        0x53,                                     /* push bx */
        0x66, 0x58,                               /* pop eax: 4 bytes at 0xfffe crosses the limit -> #SS */
    };
    v->r[R_ESP] = 0x12340000;
    v->r[R_EAX] = 0xdead1234;
    v->r[R_EBX] = 0xbeef0000;
    enum harness_result r = hrun(h, code, sizeof code);
    /* #SS(0) in real mode: delivered through the IVT; frame on the stack */
    cr_assert_eq(r, HR_EXCEPTION);
    cr_assert_eq(h->vector, EXC_SS);
    cr_assert_eq(peek16(h, 0xfffe), 0x1234);
    cr_assert_eq(v->r[R_EBX], 0xbeef1234);
    cr_assert_eq(v->r[R_EAX], 0xdead1234, "faulting POP must not change EAX");
    /* the fault frame (IP CS FLAGS) sits below SP=0xfffe */
    cr_assert_eq(v->r[R_ESP] & 0xffff, 0xfffe - 6);
    cr_assert_eq(v->r[R_ESP] >> 16, 0x1234, "upper ESP untouched by 16-bit stack ops");
    cr_assert_eq(peek16(h, 0xfffe - 6), 3, "saved IP is the faulting POP");
    harness_free(h);
}

Test(move, stack_wraps_at_64k_prot16)
{
    struct harness *h = hnew(H_PROT16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x66, 0x68, 0x78, 0x56, 0x34, 0x12,       /* push dword 0x12345678: SP 4 -> 0 */
        0x6a, 0xfe,                               /* push word -2: SP 0 -> 0xfffe */
        0x59,                                     /* pop cx */
        0x66, 0x5a,                               /* pop edx */
    };
    v->r[R_ESP] = 0xabcd0004;
    RUN_OK(h, code);
    cr_assert_eq(harness_read32(h, 0), 0x12345678);
    cr_assert_eq(peek16(h, 0xfffe), 0xfffe);
    cr_assert_eq(v->r[R_ECX] & 0xffff, 0xfffe);
    cr_assert_eq(v->r[R_EDX], 0x12345678);
    cr_assert_eq(v->r[R_ESP], 0xabcd0004);
    harness_free(h);
}

Test(move, push_beyond_ss_limit_is_ss_fault)
{
    /* CPL 3, so that delivery switches to the (valid) ring-0 stack. */
    struct harness *h = hnew(H_USER32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x50,                                     /* push eax: ESP-4 is beyond the SS limit */
    };
    v->seg[S_SS].limit = 0x1000;
    seg_cache_refresh(&v->seg[S_SS], true);
    v->r[R_ESP] = 0x2000;
    expect_exc(h, hrun(h, code, sizeof code), EXC_SS, 0, HARNESS_CODE);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK0 - 24, "ring-0 frame: err EIP CS EFLAGS ESP SS");
    cr_assert_eq(harness_stack(h, 4), 0x2000, "saved ESP unchanged by the faulting push");
    harness_free(h);
}

Test(move, segment_limit_gp_prot16)
{
    struct harness *h = hnew(H_PROT16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x90,
        0x8b, 0x07,                               /* mov ax, [bx]: word at 0xffff crosses the limit */
    };
    v->r[R_EBX] = 0xffff;
    v->r[R_EAX] = 0x5555;
    expect_exc(h, hrun(h, code, sizeof code), EXC_GP, 0, 1);
    cr_assert_eq(v->r[R_EAX], 0x5555);
    harness_free(h);
}

/* --- PUSHA / POPA (SDM known answers: 64-bit hosts lack them) --- */

Test(move, pushad_popad)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x60 /* pushad */ };
    for (int r = 0; r < 8; r++) v->r[r] = 0x11111111u * (uint32_t)(r + 1);
    v->r[R_ESP] = S;
    RUN_OK(h, code);
    static const int order[8] = { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };
    for (int i = 0; i < 8; i++) {
        uint32_t expect = order[i] == R_ESP ? S : 0x11111111u * (uint32_t)(order[i] + 1);
        cr_assert_eq(harness_read32(h, S - 4 * (uint32_t)(i + 1)), expect, "slot %d", i);
    }
    cr_assert_eq(v->r[R_ESP], S - 32);

    static const uint8_t code2[] = { 0x61 /* popad */ };
    for (int i = 0; i < 8; i++) harness_write32(h, S - 32 + 4 * (uint32_t)i, 0xa0000000u + (uint32_t)i);
    RUN_OK(h, code2);
    /* memory from low to high: EDI ESI EBP (ESP skipped) EBX EDX ECX EAX */
    cr_assert_eq(v->r[R_EDI], 0xa0000000);
    cr_assert_eq(v->r[R_ESI], 0xa0000001);
    cr_assert_eq(v->r[R_EBP], 0xa0000002);
    cr_assert_eq(v->r[R_EBX], 0xa0000004);
    cr_assert_eq(v->r[R_EDX], 0xa0000005);
    cr_assert_eq(v->r[R_ECX], 0xa0000006);
    cr_assert_eq(v->r[R_EAX], 0xa0000007);
    cr_assert_eq(v->r[R_ESP], S);
    harness_free(h);
}

Test(move, pushaw_popaw_real16)
{
    struct harness *h = hnew(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t pusha[] = { 0x60 }, popa[] = { 0x61 }, pushad[] = { 0x66, 0x60 };
    for (int r = 0; r < 8; r++) v->r[r] = 0xabc00000u | (uint32_t)(0x1111 * (r + 1));
    v->r[R_ESP] = 0x00000010;
    RUN_OK(h, pusha);
    static const uint16_t expect[8] = { 0x1111, 0x2222, 0x3333, 0x4444, 0x0010, 0x6666, 0x7777, 0x8888 };
    for (int i = 0; i < 8; i++) cr_assert_eq(peek16(h, 0x0e - 2 * (uint32_t)i), expect[i], "slot %d", i);
    cr_assert_eq(v->r[R_ESP], 0);
    for (int i = 0; i < 8; i++) { uint16_t w = (uint16_t)(0xa000 + i); harness_poke(h, 2 * (uint32_t)i, &w, 2); }
    RUN_OK(h, popa);
    cr_assert_eq(v->r[R_EDI], 0xabc0a000);
    cr_assert_eq(v->r[R_ESI], 0xabc0a001);
    cr_assert_eq(v->r[R_EBP], 0xabc0a002);
    cr_assert_eq(v->r[R_EBX], 0xabc0a004);
    cr_assert_eq(v->r[R_EDX], 0xabc0a005);
    cr_assert_eq(v->r[R_ECX], 0xabc0a006);
    cr_assert_eq(v->r[R_EAX], 0xabc0a007);
    cr_assert_eq(v->r[R_ESP], 0x10);
    RUN_OK(h, pushad);
    /* 32 bytes below SP=0x10: EDI lands at 0xfff0 (SP wrapped) */
    cr_assert_eq(v->r[R_ESP], 0xfff0);
    cr_assert_eq(harness_read32(h, 0x0c), 0xabc0a007);
    cr_assert_eq(harness_read32(h, 0xfffc), 0x00000010, "saved ESP");
    cr_assert_eq(harness_read32(h, 0xfff0), 0xabc0a000);
    harness_free(h);
}

/* --- ENTER / LEAVE (SDM pseudocode known answers) --- */

Test(move, enter_level0_and_leave)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xc8, 0x10, 0x00, 0x00,                   /* enter 0x10, 0 */
        0x89, 0xe0,                               /* mov eax, esp */
        0xc9,                                     /* leave */
    };
    v->r[R_EBP] = 0x12345678;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], S - 4 - 0x10);
    cr_assert_eq(harness_read32(h, S - 4), 0x12345678);
    cr_assert_eq(v->r[R_EBP], 0x12345678);
    cr_assert_eq(v->r[R_ESP], S);
    harness_free(h);
}

Test(move, enter_nested_level3)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xc8, 0x08, 0x00, 0x03 /* enter 8, 3 */ };
    uint32_t B = D + 0x100;
    v->r[R_EBP] = B;
    harness_write32(h, B - 4, 0x0f0f0f01);
    harness_write32(h, B - 8, 0x0f0f0f02);
    harness_write32(h, B - 12, 0x0f0f0f03);
    RUN_OK(h, code);
    cr_assert_eq(harness_read32(h, S - 4), B);           /* old EBP */
    cr_assert_eq(harness_read32(h, S - 8), 0x0f0f0f01);  /* [EBP-4] */
    cr_assert_eq(harness_read32(h, S - 12), 0x0f0f0f02); /* [EBP-8] */
    cr_assert_eq(harness_read32(h, S - 16), S - 4);      /* frame pointer */
    cr_assert_eq(v->r[R_EBP], S - 4);
    cr_assert_eq(v->r[R_ESP], S - 16 - 8);
    harness_free(h);
}

Test(move, enter_nested_level1_and_level_mod32)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xc8, 0x04, 0x00, 0x21 /* enter 4, 33 -> level 1 */ };
    v->r[R_EBP] = 0x77777777;
    RUN_OK(h, code);
    cr_assert_eq(harness_read32(h, S - 4), 0x77777777);
    cr_assert_eq(harness_read32(h, S - 8), S - 4);
    cr_assert_eq(v->r[R_EBP], S - 4);
    cr_assert_eq(v->r[R_ESP], S - 12);
    harness_free(h);
}

Test(move, enter_16bit_operand_size)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x66, 0xc8, 0x04, 0x00, 0x02 /* enter 4, 2 (16-bit) */ };
    uint32_t B = D + 0x100;
    v->r[R_EBP] = B;
    harness_write32(h, B - 4, 0x9999beef); /* word at B-2 = 0x9999 */
    RUN_OK(h, code);
    cr_assert_eq(peek16(h, S - 2), (uint16_t)B);
    cr_assert_eq(peek16(h, S - 4), 0x9999);   /* [BP-2] */
    cr_assert_eq(peek16(h, S - 6), (uint16_t)(S - 2));
    cr_assert_eq(v->r[R_ESP], S - 6 - 4);
    cr_assert_eq(v->r[R_EBP], (B & 0xffff0000u) | ((S - 2) & 0xffff));
    harness_free(h);
}

Test(move, enter_leave_real16_stack_wrap)
{
    struct harness *h = hnew(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xc8, 0x02, 0x00, 0x02,                   /* enter 2, 2: SP 4 -> 2 (BP), 0 ([BP-2]), 0xfffe (frame), 0xfffc */
        0x89, 0xe0,                               /* mov ax, sp */
        0xc9,                                     /* leave: SP = BP = 2, pop BP */
    };
    v->r[R_ESP] = 0x77770004;
    v->r[R_EBP] = 0x66660100;
    uint16_t w = 0xbeef;
    harness_poke(h, 0x100 - 2, &w, 2);
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0xfffc);
    cr_assert_eq(peek16(h, 2), 0x0100);
    cr_assert_eq(peek16(h, 0), 0xbeef);
    cr_assert_eq(peek16(h, 0xfffe), 0x0002);
    cr_assert_eq(v->r[R_EBP], 0x66660100);
    cr_assert_eq(v->r[R_ESP], 0x77770004);
    harness_free(h);
}

Test(move, enter_faults_leave_registers)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xc8, 0x00, 0x00, 0x02 /* enter 0, 2 */ };
    /* SS limit: the frame read at [EBP-4] lies beyond it */
    v->seg[S_SS].limit = S + 0x100;
    seg_cache_refresh(&v->seg[S_SS], true);
    v->r[R_EBP] = S + 0x1000;
    enum harness_result r = hrun(h, code, sizeof code);
    cr_assert_eq(r, HR_EXCEPTION);
    cr_assert_eq(h->vector, EXC_SS);
    cr_assert_eq(v->r[R_EBP], S + 0x1000);
    harness_free(h);
}

/* --- CMPXCHG / CMPXCHG8B / XADD (host comparison) --- */

static uint32_t host_cmpxchg32(uint32_t *mem, uint32_t *eax, uint32_t src)
{
    uint64_t fl;
    __asm__ volatile(HOST_FLAGS_ASM("lock cmpxchgl %[src], %[m]")
                     : [fl] "=r"(fl), [m] "+m"(*mem), "+a"(*eax)
                     : [src] "r"(src)
                     : "cc", "memory");
    return (uint32_t)fl & ARITH;
}

static uint32_t host_cmpxchg8(uint8_t *dst, uint8_t *al, uint8_t src)
{
    uint64_t fl;
    __asm__ volatile(HOST_FLAGS_ASM("cmpxchgb %[src], %[d]")
                     : [fl] "=r"(fl), [d] "+q"(*dst), "+a"(*al)
                     : [src] "q"(src)
                     : "cc");
    return (uint32_t)fl & ARITH;
}

static uint32_t host_xadd32(uint32_t *dst, uint32_t *src)
{
    uint64_t fl;
    __asm__ volatile(HOST_FLAGS_ASM("xaddl %[s], %[d]") : [fl] "=r"(fl), [d] "+r"(*dst), [s] "+r"(*src) : : "cc");
    return (uint32_t)fl & ARITH;
}

static uint32_t host_xadd16(uint16_t *dst, uint16_t *src)
{
    uint64_t fl;
    __asm__ volatile(HOST_FLAGS_ASM("xaddw %[s], %[d]") : [fl] "=r"(fl), [d] "+r"(*dst), [s] "+r"(*src) : : "cc");
    return (uint32_t)fl & ARITH;
}

Test(move, cmpxchg_mem32_vs_host)
{
    static const uint32_t cases[][3] = { /* eax, mem, src */
        { 5, 5, 9 }, { 5, 6, 9 }, { 0x80000000, 1, 2 }, { 0, 0xffffffff, 3 }, { 0x7fffffff, 0x80000000, 1 },
        { 0x10, 0x0f, 0 },
    };
    static const uint8_t code[] = { 0xf0, 0x0f, 0xb1, 0x0b /* lock cmpxchg [ebx], ecx */ };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct harness *h = hnew(H_PROT32);
        struct vcpu *v = h->v;
        v->r[R_EAX] = cases[i][0];
        v->r[R_EBX] = D;
        v->r[R_ECX] = cases[i][2];
        harness_write32(h, D, cases[i][1]);
        v->eflags = F_FIXED1 | (i & 1 ? ARITH : 0);
        RUN_OK(h, code);
        uint32_t mem = cases[i][1], eax = cases[i][0];
        uint32_t fl = host_cmpxchg32(&mem, &eax, cases[i][2]);
        cr_assert_eq(v->eflags & ARITH, fl, "case %u flags %#x host %#x", i, v->eflags & ARITH, fl);
        cr_assert_eq(v->r[R_EAX], eax, "case %u", i);
        cr_assert_eq(harness_read32(h, D), mem, "case %u", i);
        cr_assert_eq(v->r[R_ECX], cases[i][2]);
        harness_free(h);
    }
}

Test(move, cmpxchg_reg8_vs_host)
{
    static const uint8_t cases[][3] = { { 1, 1, 7 }, { 1, 2, 7 }, { 0x80, 0x7f, 0 }, { 0, 0x80, 0xff } };
    static const uint8_t code[] = { 0x0f, 0xb0, 0xcb /* cmpxchg bl, cl */ };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct harness *h = hnew(H_PROT32);
        struct vcpu *v = h->v;
        v->r[R_EAX] = 0x12345600u | cases[i][0];
        v->r[R_EBX] = 0xabcdef00u | cases[i][1];
        v->r[R_ECX] = 0x99999900u | cases[i][2];
        RUN_OK(h, code);
        uint8_t al = cases[i][0], bl = cases[i][1];
        uint32_t fl = host_cmpxchg8(&bl, &al, cases[i][2]);
        cr_assert_eq(v->eflags & ARITH, fl, "case %u", i);
        cr_assert_eq(v->r[R_EAX], 0x12345600u | al);
        cr_assert_eq(v->r[R_EBX], 0xabcdef00u | bl);
        harness_free(h);
    }
}

Test(move, cmpxchg_failure_writes_memory)
{
    /* A read-only DS: a failing compare still writes the destination -> #GP(0). */
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x0f, 0xb1, 0x0b /* cmpxchg [ebx], ecx */ };
    v->seg[S_DS].attr = 0xc091; /* data, read-only, accessed */
    seg_cache_refresh(&v->seg[S_DS], true);
    v->r[R_EAX] = 1;
    v->r[R_EBX] = D;
    harness_write32(h, D, 2);
    expect_exc(h, hrun(h, code, sizeof code), EXC_GP, 0, HARNESS_CODE);
    cr_assert_eq(v->r[R_EAX], 1, "EAX untouched by the faulting CMPXCHG");
    harness_free(h);
}

/* An MMIO register that records writes: shows the write-back a failing
 * CMPXCHG does (invisible in RAM). */
struct mmio_log { uint32_t val; int reads, writes; uint32_t last_write; };
static uint32_t log_read(void *o, uint32_t off, int size) { (void)off; (void)size; struct mmio_log *l = o; l->reads++; return l->val; }
static void log_write(void *o, uint32_t off, uint32_t val, int size) { (void)off; (void)size; struct mmio_log *l = o; l->writes++; l->last_write = val; }

Test(move, cmpxchg_failure_writes_back_old_value_mmio)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static struct mmio_log log;
    log = (struct mmio_log){ .val = 0x1234 };
    struct mmio_region r = { .base = 0xe0000000u, .size = 0x1000, .read = log_read, .write = log_write, .opaque = &log, .name = "log" };
    cr_assert_eq(phys_add_mmio(&h->m.mem, &r), 0);
    static const uint8_t code[] = { 0x0f, 0xb1, 0x0b /* cmpxchg [ebx], ecx */ };
    v->r[R_EBX] = 0xe0000000u;
    v->r[R_EAX] = 1;
    v->r[R_ECX] = 0x5555;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 0x1234);
    cr_assert_eq(log.writes, 1, "the failing compare still writes the destination");
    cr_assert_eq(log.last_write, 0x1234);
    /* success writes the source */
    v->r[R_EAX] = 0x1234;
    RUN_OK(h, code);
    cr_assert_eq(log.writes, 2);
    cr_assert_eq(log.last_write, 0x5555);
    cr_assert(v->eflags & F_ZF);
    harness_free(h);
}

Test(move, cmpxchg8b)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x0f, 0xc7, 0x0e /* cmpxchg8b [esi] */ };
    v->r[R_ESI] = D + 0xffc; /* crosses a page */
    harness_write32(h, D + 0xffc, 0x11111111);
    harness_write32(h, D + 0x1000, 0x22222222);
    v->r[R_EAX] = 0x11111111;
    v->r[R_EDX] = 0x22222222;
    v->r[R_EBX] = 0x33333333;
    v->r[R_ECX] = 0x44444444;
    v->eflags = F_FIXED1 | F_CF | F_OF;
    RUN_OK(h, code);
    cr_assert_eq(harness_read32(h, D + 0xffc), 0x33333333);
    cr_assert_eq(harness_read32(h, D + 0x1000), 0x44444444);
    cr_assert_eq(v->eflags, F_FIXED1 | F_CF | F_OF | F_ZF);
    /* now it fails: EDX:EAX = old memory, ZF=0 */
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 0x33333333);
    cr_assert_eq(v->r[R_EDX], 0x44444444);
    cr_assert_eq(harness_read32(h, D + 0xffc), 0x33333333);
    cr_assert_eq(v->eflags, F_FIXED1 | F_CF | F_OF);
    harness_free(h);
}

Test(move, xadd_vs_host)
{
    static const uint32_t cases[][2] = {
        { 1, 2 }, { 0xffffffff, 1 }, { 0x7fffffff, 1 }, { 0x80000000, 0x80000000 }, { 0x0f, 0x01 }, { 0, 0 }, { 0x7fff, 1 }, { 0x8000, 0xffff },
    };
    static const uint8_t code[] = {
        0x0f, 0xc1, 0x0b,                         /* xadd [ebx], ecx */
    };
    static const uint8_t code16[] = {
        0x66, 0x0f, 0xc1, 0xd0,                   /* xadd ax, dx */
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct harness *h = hnew(H_PROT32);
        struct vcpu *v = h->v;
        v->r[R_EBX] = D;
        v->r[R_ECX] = cases[i][1];
        harness_write32(h, D, cases[i][0]);
        RUN_OK(h, code);
        uint32_t d = cases[i][0], s = cases[i][1];
        uint32_t fl = host_xadd32(&d, &s);
        cr_assert_eq(v->eflags & ARITH, fl, "case %u", i);
        cr_assert_eq(harness_read32(h, D), d);
        cr_assert_eq(v->r[R_ECX], s);

        v->r[R_EAX] = 0xaaaa0000u | (cases[i][0] & 0xffff);
        v->r[R_EDX] = 0xbbbb0000u | (cases[i][1] & 0xffff);
        RUN_OK(h, code16);
        uint16_t d16 = (uint16_t)cases[i][0], s16 = (uint16_t)cases[i][1];
        fl = host_xadd16(&d16, &s16);
        cr_assert_eq(v->eflags & ARITH, fl, "case %u (16)", i);
        cr_assert_eq(v->r[R_EAX], 0xaaaa0000u | d16);
        cr_assert_eq(v->r[R_EDX], 0xbbbb0000u | s16);
        harness_free(h);
    }
}

Test(move, xadd_same_register)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x0f, 0xc1, 0xc0 /* xadd eax, eax */ };
    v->r[R_EAX] = 21;
    RUN_OK(h, code);
    cr_assert_eq(v->r[R_EAX], 42);
    harness_free(h);
}

/* --- BOUND --- */

Test(move, bound_in_range_and_br)
{
    static const uint8_t code[] = { 0x90, 0x62, 0x03 /* bound eax, [ebx] */ };
    static const struct { int32_t idx; bool ok; } cases[] = {
        { -5, true }, { 10, true }, { 0, true }, { -6, false }, { 11, false }, { INT32_MIN, false },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct harness *h = hnew(H_PROT32);
        struct vcpu *v = h->v;
        harness_write32(h, D, (uint32_t)-5);
        harness_write32(h, D + 4, 10);
        v->r[R_EBX] = D;
        v->r[R_EAX] = (uint32_t)cases[i].idx;
        enum harness_result r = hrun(h, code, sizeof code);
        if (cases[i].ok) cr_assert_eq(r, HR_DONE, "case %u", i);
        else expect_exc(h, r, EXC_BR, -1, HARNESS_CODE + 1);
        harness_free(h);
    }
}

Test(move, bound16_signed_words)
{
    struct harness *h = hnew(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x62, 0x07 /* bound ax, [bx] */ };
    harness_write32(h, 0x100, 0x0010fff0); /* lower -16, upper 16 */
    v->r[R_EBX] = 0x100;
    v->r[R_EAX] = 0x1234fff0;              /* AX = -16: in range */
    cr_assert_eq(hrun(h, code, sizeof code), HR_DONE);
    v->r[R_EAX] = 0x00000011;              /* 17: out of range */
    expect_exc(h, hrun(h, code, sizeof code), EXC_BR, -1, 0);
    harness_free(h);
}

/* --- PUSH/POP Sreg (the load itself is the segment code's; end to end) --- */

Test(move, pop_segment_register)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x6a, 0x20,                               /* push 0x20 (data16 selector) */
        0x1f,                                     /* pop ds */
        0x68, 0x34, 0x12, 0x00, 0x00,             /* push 0x1234 (beyond the GDT limit) */
        0x07,                                     /* pop es -> #GP(0x1234) */
    };
    enum harness_result r = hrun(h, code, sizeof code);
    cr_assert_eq(v->seg[S_DS].sel, 0x20);
    cr_assert_eq(v->seg[S_DS].limit, 0xffff);
    expect_exc(h, r, EXC_GP, 0x1234, HARNESS_CODE + 8);
    cr_assert_eq(v->seg[S_ES].sel, 0x10, "ES unchanged");
    /* the faulting POP left ESP on the pushed selector: handler frame right below it */
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK - 4 - 16);
    harness_free(h);
}

Test(move, mov_sreg_forms_reach_the_segment_code)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x8e, 0xd8,                               /* mov ds, ax */
        0x8c, 0xc3,                               /* mov ebx, es (zero-extended) */
    };
    v->r[R_EAX] = 0xffff0020;
    v->r[R_EBX] = 0xffffffff;
    RUN_OK(h, code);
    cr_assert_eq(v->seg[S_DS].sel, 0x20);
    cr_assert_eq(v->r[R_EBX], 0x10);
    harness_free(h);
}

/* --- LOCK --- */

Test(move, lock_rules_end_to_end)
{
    struct harness *h = hnew(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t ok[] = { 0xf0, 0x87, 0x03 /* lock xchg [ebx], eax */ };
    v->r[R_EBX] = D;
    v->r[R_EAX] = 7;
    harness_write32(h, D, 9);
    RUN_OK(h, ok);
    cr_assert_eq(v->r[R_EAX], 9);
    cr_assert_eq(harness_read32(h, D), 7);
    static const uint8_t bad1[] = { 0xf0, 0x89, 0x03 /* lock mov [ebx], eax */ };
    expect_exc(h, hrun(h, bad1, sizeof bad1), EXC_UD, -1, HARNESS_CODE);
    harness_free(h);
    h = hnew(H_PROT32);
    static const uint8_t bad2[] = { 0xf0, 0x0f, 0xb1, 0xcb /* lock cmpxchg ebx, ecx (register) */ };
    expect_exc(h, hrun(h, bad2, sizeof bad2), EXC_UD, -1, HARNESS_CODE);
    harness_free(h);
}
