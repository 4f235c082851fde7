/* Decoder and decode cache tests: exact instruction records in 16- and 32-bit
 * code (operands, sizes, segments, immediates, relative targets, flags), the
 * #UD validations, DECODE_SHORT, and decode-cache block boundaries and
 * invalidation. Conventions under test: docs/DECODE.md. */
#include <criterion/criterion.h>
#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/decode.h"
#include "cpu/decode_cache.h"
#include "cpu/interp.h"
#include "cpu/vcpu.h"
#include "memory/phys.h"

static struct decoder *D;

static void setup(void)
{
    D = decoder_new();
    cr_assert_not_null(D);
}

static void teardown(void)
{
    decoder_free(D);
}

TestSuite(decode, .init = setup, .fini = teardown);

static size_t unhex(const char *s, uint8_t *b)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ') { s++; continue; }
        unsigned v;
        cr_assert(sscanf(s, "%2x", &v) == 1);
        b[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

/* Decode hex bytes (all of them available) at eip. */
static int dec_at(const char *hex, bool c32, uint32_t eip, struct insn *in)
{
    uint8_t b[32];
    size_t n = unhex(hex, b);
    return decode_one(D, b, n, eip, c32, in);
}

static void dec_ok(const char *hex, bool c32, struct insn *in)
{
    int rc = dec_at(hex, c32, 0x1000, in);
    cr_assert_eq(rc, DECODE_OK, "%s: rc %d", hex, rc);
    uint8_t b[32];
    cr_assert_eq(in->len, unhex(hex, b), "%s: len %u", hex, in->len);
}

static int dec_rc(const char *hex, bool c32)
{
    struct insn in;
    return dec_at(hex, c32, 0x1000, &in);
}

static void chk_reg(const struct opnd *o, int cls, int reg, int size)
{
    cr_assert_eq(o->kind, OPND_REG);
    cr_assert_eq(o->rclass, cls);
    cr_assert_eq(o->reg, reg);
    cr_assert_eq(o->size, size, "reg size %u != %d", o->size, size);
}

static void chk_imm(const struct opnd *o, uint32_t val, int size)
{
    cr_assert_eq(o->kind, OPND_IMM);
    cr_assert_eq(o->disp, val, "imm %#x != %#x", o->disp, val);
    cr_assert_eq(o->size, size, "imm size %u != %d", o->size, size);
}

static void chk_mem(const struct opnd *o, int seg, int base, int index, int scale, uint32_t disp, int size)
{
    cr_assert_eq(o->kind, OPND_MEM);
    cr_assert_eq(o->seg, seg, "seg %u != %d", o->seg, seg);
    cr_assert_eq(o->base, base, "base %u != %d", o->base, base);
    cr_assert_eq(o->index, index, "index %u != %d", o->index, index);
    if (index != REG_NONE) cr_assert_eq(o->scale, scale);
    cr_assert_eq(o->disp, disp, "disp %#x != %#x", o->disp, disp);
    cr_assert_eq(o->size, size, "mem size %u != %d", o->size, size);
}

#define N REG_NONE

/* ---- ModRM / SIB ---- */

Test(decode, modrm_sib_32)
{
    struct insn in;
    dec_ok("8b 4c 4d 10", true, &in); /* mov ecx, [ebp+ecx*2+0x10] */
    cr_assert_eq(in.id, X86_INS_MOV);
    cr_assert_eq(in.opsize, 4);
    cr_assert_eq(in.addrsize, 4);
    cr_assert_eq(in.opc, 0x8b);
    cr_assert_eq(in.opc_map, 0);
    cr_assert_eq(in.modrm, 0x4c);
    cr_assert_eq(in.prefix, 0);
    cr_assert_eq(in.flags, 0);
    cr_assert_eq(in.nopnd, 2);
    chk_reg(&in.op[0], RC_GPR, R_ECX, 4);
    chk_mem(&in.op[1], S_SS, R_EBP, R_ECX, 1, 0x10, 4);

    dec_ok("8b 04 85 00 10 00 00", true, &in); /* mov eax, [eax*4+0x1000]: no base -> DS */
    chk_mem(&in.op[1], S_DS, N, R_EAX, 2, 0x1000, 4);
    dec_ok("8b 44 24 08", true, &in); /* [esp+8] -> SS */
    chk_mem(&in.op[1], S_SS, R_ESP, N, 0, 8, 4);
    dec_ok("8b 04 2c", true, &in); /* [esp+ebp] -> SS (base ESP) */
    chk_mem(&in.op[1], S_SS, R_ESP, R_EBP, 0, 0, 4);
    dec_ok("8b 04 28", true, &in); /* [eax+ebp] -> DS (base EAX) */
    chk_mem(&in.op[1], S_DS, R_EAX, R_EBP, 0, 0, 4);
    dec_ok("89 05 78 56 34 12", true, &in); /* mov [0x12345678], eax */
    chk_mem(&in.op[0], S_DS, N, N, 0, 0x12345678, 4);
    chk_reg(&in.op[1], RC_GPR, R_EAX, 4);
    dec_ok("88 63 fc", true, &in); /* mov [ebx-4], ah */
    chk_mem(&in.op[0], S_DS, R_EBX, N, 0, 0xfffffffc, 1);
    chk_reg(&in.op[1], RC_GPR, 4, 1);
    dec_ok("0f b6 c7", true, &in); /* movzx eax, bh */
    cr_assert_eq(in.opc_map, 1);
    cr_assert_eq(in.opc, 0xb6);
    chk_reg(&in.op[0], RC_GPR, R_EAX, 4);
    chk_reg(&in.op[1], RC_GPR, 7, 1);
    dec_ok("0f bf 06", true, &in); /* movsx eax, word [esi] */
    chk_mem(&in.op[1], S_DS, R_ESI, N, 0, 0, 2);
}

Test(decode, modrm_16bit_addressing)
{
    struct insn in;
    dec_ok("8b 42 10", false, &in); /* mov ax, [bp+si+0x10] -> SS */
    cr_assert_eq(in.opsize, 2);
    cr_assert_eq(in.addrsize, 2);
    chk_reg(&in.op[0], RC_GPR, R_EAX, 2);
    chk_mem(&in.op[1], S_SS, R_EBP, R_ESI, 0, 0x10, 2);
    dec_ok("8b 07", false, &in); /* [bx] -> DS */
    chk_mem(&in.op[1], S_DS, R_EBX, N, 0, 0, 2);
    dec_ok("8b 46 fe", false, &in); /* [bp-2] -> SS, disp 16-bit */
    chk_mem(&in.op[1], S_SS, R_EBP, N, 0, 0xfffe, 2);
    dec_ok("8b 1e 34 12", false, &in); /* mov bx, [0x1234] (mod 00 rm 110) -> DS */
    chk_mem(&in.op[1], S_DS, N, N, 0, 0x1234, 2);
    dec_ok("8b 01", false, &in); /* [bx+di] */
    chk_mem(&in.op[1], S_DS, R_EBX, R_EDI, 0, 0, 2);
    dec_ok("8a 23", false, &in); /* mov ah, [bp+di] */
    chk_reg(&in.op[0], RC_GPR, 4, 1);
    chk_mem(&in.op[1], S_SS, R_EBP, R_EDI, 0, 0, 1);
}

Test(decode, segment_overrides)
{
    struct insn in;
    dec_ok("26 8b 45 00", true, &in); /* mov eax, es:[ebp] */
    cr_assert_eq(in.prefix, PFX_SEG);
    chk_mem(&in.op[1], S_ES, R_EBP, N, 0, 0, 4);
    dec_ok("64 a1 00 00 00 00", true, &in); /* mov eax, fs:[0] */
    chk_mem(&in.op[1], S_FS, N, N, 0, 0, 4);
    dec_ok("3e 8b 42 02", false, &in); /* ds:[bp+si+2] */
    chk_mem(&in.op[1], S_DS, R_EBP, R_ESI, 0, 2, 2);
    dec_ok("26 65 89 18", true, &in); /* last override wins: gs */
    chk_mem(&in.op[0], S_GS, R_EAX, N, 0, 0, 4);
    dec_ok("2e d7", true, &in); /* xlat cs: */
    cr_assert_eq(in.id, X86_INS_XLATB);
    cr_assert_eq(in.nopnd, 1);
    chk_mem(&in.op[0], S_CS, R_EBX, N, 0, 0, 1);
}

Test(decode, opsize_addrsize_prefixes)
{
    struct insn in;
    dec_ok("66 8b 03", true, &in); /* mov ax, [ebx] */
    cr_assert_eq(in.opsize, 2);
    cr_assert_eq(in.addrsize, 4);
    cr_assert_eq(in.prefix, PFX_OPSIZE);
    chk_reg(&in.op[0], RC_GPR, R_EAX, 2);
    chk_mem(&in.op[1], S_DS, R_EBX, N, 0, 0, 2);
    dec_ok("67 8b 07", true, &in); /* mov eax, [bx] */
    cr_assert_eq(in.opsize, 4);
    cr_assert_eq(in.addrsize, 2);
    cr_assert_eq(in.prefix, PFX_ADSIZE);
    chk_mem(&in.op[1], S_DS, R_EBX, N, 0, 0, 4);
    dec_ok("66 b8 78 56 34 12", false, &in); /* 16-bit code: mov eax, imm32 */
    cr_assert_eq(in.opsize, 4);
    cr_assert_eq(in.addrsize, 2);
    chk_reg(&in.op[0], RC_GPR, R_EAX, 4);
    chk_imm(&in.op[1], 0x12345678, 4);
    dec_ok("67 8b 04 24", false, &in); /* 16-bit code: mov ax, [esp] */
    cr_assert_eq(in.addrsize, 4);
    chk_mem(&in.op[1], S_SS, R_ESP, N, 0, 0, 2);
    dec_ok("66 67 8b 46 fc", true, &in); /* mov ax, [bp-4] */
    cr_assert_eq(in.prefix, PFX_OPSIZE | PFX_ADSIZE);
    chk_mem(&in.op[1], S_SS, R_EBP, N, 0, 0xfffc, 2);
}

Test(decode, immediates)
{
    struct insn in;
    dec_ok("83 c0 ff", true, &in);
    chk_imm(&in.op[1], 0xffffffff, 4);
    dec_ok("83 c0 80", false, &in);
    chk_reg(&in.op[0], RC_GPR, R_EAX, 2);
    chk_imm(&in.op[1], 0xff80, 2);
    dec_ok("66 83 c0 ff", true, &in);
    chk_imm(&in.op[1], 0xffff, 2);
    dec_ok("83 e1 7f", true, &in);
    chk_imm(&in.op[1], 0x7f, 4);
    dec_ok("80 c0 ff", true, &in);
    chk_imm(&in.op[1], 0xff, 1);
    dec_ok("6a 80", true, &in);
    cr_assert_eq(in.id, X86_INS_PUSH);
    chk_imm(&in.op[0], 0xffffff80, 4);
    dec_ok("6a ff", false, &in);
    chk_imm(&in.op[0], 0xffff, 2);
    dec_ok("66 6a ff", true, &in);
    chk_imm(&in.op[0], 0xffff, 2);
    dec_ok("68 78 56 34 12", true, &in);
    chk_imm(&in.op[0], 0x12345678, 4);
    dec_ok("6b c0 fe", true, &in); /* imul eax, eax, -2 */
    cr_assert_eq(in.nopnd, 3);
    chk_imm(&in.op[2], 0xfffffffe, 4);
    dec_ok("69 c0 ff ff", false, &in);
    chk_imm(&in.op[2], 0xffff, 2);
    dec_ok("c1 e0 05", true, &in); /* shl eax, 5 */
    chk_reg(&in.op[0], RC_GPR, R_EAX, 4);
    chk_imm(&in.op[1], 5, 1);
    dec_ok("c8 10 02 01", true, &in); /* enter 0x210, 1 */
    cr_assert_eq(in.nopnd, 2);
    chk_imm(&in.op[0], 0x210, 2);
    chk_imm(&in.op[1], 1, 1);
    dec_ok("c2 08 00", false, &in);
    chk_imm(&in.op[0], 8, 2);
    dec_ok("ca fe ff", true, &in); /* retf 0xfffe */
    chk_imm(&in.op[0], 0xfffe, 2);
    dec_ok("cd 80", true, &in);
    chk_imm(&in.op[0], 0x80, 1);
    dec_ok("e4 80", true, &in);
    chk_reg(&in.op[0], RC_GPR, R_EAX, 1);
    chk_imm(&in.op[1], 0x80, 1);
    dec_ok("d5 10", true, &in); /* aad 16 */
    cr_assert_eq(in.id, X86_INS_AAD);
    chk_imm(&in.op[0], 0x10, 1);
    dec_ok("d4 0a", true, &in);
    chk_imm(&in.op[0], 0x0a, 1);
}

/* ---- relative branches ---- */

Test(decode, relative_branches)
{
    struct insn in;
    dec_ok("eb fe", true, &in);
    cr_assert_eq(in.id, X86_INS_JMP);
    cr_assert_eq(in.flags, IF_REL_BRANCH | IF_ENDS_BLOCK);
    cr_assert_eq(in.nopnd, 1);
    chk_imm(&in.op[0], 0xfffffffe, 4);
    dec_ok("e9 fb ff ff ff", true, &in);
    chk_imm(&in.op[0], 0xfffffffb, 4);
    dec_ok("0f 84 00 01 00 00", true, &in);
    cr_assert_eq(in.id, X86_INS_JE);
    chk_imm(&in.op[0], 0x100, 4);
    dec_ok("e8 00 00 00 00", true, &in);
    cr_assert_eq(in.id, X86_INS_CALL);
    cr_assert_eq(in.flags, IF_REL_BRANCH | IF_ENDS_BLOCK);
    chk_imm(&in.op[0], 0, 4);
    dec_ok("66 e8 fd ff", true, &in); /* call rel16 in 32-bit code */
    chk_imm(&in.op[0], 0xfffffffd, 2);
    dec_ok("66 0f 85 fc ff", true, &in);
    chk_imm(&in.op[0], 0xfffffffc, 2);
    dec_ok("e2 fe", true, &in);
    cr_assert_eq(in.id, X86_INS_LOOP);
    cr_assert_eq(in.flags, IF_REL_BRANCH | IF_ENDS_BLOCK);
    chk_imm(&in.op[0], 0xfffffffe, 4);
    dec_ok("67 e3 10", true, &in);
    cr_assert_eq(in.id, X86_INS_JCXZ);
    cr_assert_eq(in.addrsize, 2);
    chk_imm(&in.op[0], 0x10, 4);
    dec_ok("e3 10", true, &in);
    cr_assert_eq(in.id, X86_INS_JECXZ);
}

Test(decode, relative_branch_16bit_wrap)
{
    struct insn in;
    /* jmp near +0x20 at IP 0xfff0: target wraps to 0x0013; the record holds
     * only the displacement, independent of eip. */
    cr_assert_eq(dec_at("e9 20 00", false, 0xfff0, &in), DECODE_OK);
    chk_imm(&in.op[0], 0x20, 2);
    cr_assert_eq((0xfff0 + in.len + in.op[0].disp) & 0xffff, 0x0013);
    /* jmp short -128 at IP 0x10: target 0xff92 */
    cr_assert_eq(dec_at("eb 80", false, 0x10, &in), DECODE_OK);
    chk_imm(&in.op[0], 0xffffff80, 2);
    cr_assert_eq((0x10 + in.len + in.op[0].disp) & 0xffff, 0xff92);
    /* jz rel8 backwards from IP 0 */
    cr_assert_eq(dec_at("74 f0", false, 0, &in), DECODE_OK);
    chk_imm(&in.op[0], 0xfffffff0, 2);
    /* the same bytes at another eip give the same record */
    struct insn in2;
    cr_assert_eq(dec_at("74 f0", false, 0x8000, &in2), DECODE_OK);
    cr_assert_eq(memcmp(&in, &in2, sizeof(in)), 0);
}

/* ---- far pointers and special memory sizes ---- */

Test(decode, far_pointers)
{
    struct insn in;
    dec_ok("ea 78 56 34 12 10 00", true, &in);
    cr_assert_eq(in.id, X86_INS_LJMP);
    cr_assert_eq(in.flags, IF_ENDS_BLOCK | IF_SENSITIVE);
    cr_assert_eq(in.nopnd, 2);
    chk_imm(&in.op[0], 0x10, 2);
    chk_imm(&in.op[1], 0x12345678, 4);
    dec_ok("ea 34 12 00 f0", false, &in);
    chk_imm(&in.op[0], 0xf000, 2);
    chk_imm(&in.op[1], 0x1234, 2);
    dec_ok("66 ea 78 56 34 12 08 00", false, &in);
    chk_imm(&in.op[0], 8, 2);
    chk_imm(&in.op[1], 0x12345678, 4);
    dec_ok("9a 34 12 00 f0", false, &in);
    cr_assert_eq(in.id, X86_INS_LCALL);
    chk_imm(&in.op[0], 0xf000, 2);
    chk_imm(&in.op[1], 0x1234, 2);
    dec_ok("ff 2d 00 10 00 00", true, &in); /* jmp far [0x1000] */
    cr_assert_eq(in.id, X86_INS_LJMP);
    chk_mem(&in.op[0], S_DS, N, N, 0, 0x1000, 6);
    dec_ok("66 ff 1c 24", true, &in); /* call far [esp], m16:16 */
    cr_assert_eq(in.id, X86_INS_LCALL);
    chk_mem(&in.op[0], S_SS, R_ESP, N, 0, 0, 4);
    dec_ok("c4 06 34 12", false, &in); /* les ax, [0x1234] */
    cr_assert_eq(in.id, X86_INS_LES);
    chk_reg(&in.op[0], RC_GPR, R_EAX, 2);
    chk_mem(&in.op[1], S_DS, N, N, 0, 0x1234, 4);
    dec_ok("0f b2 20", true, &in); /* lss esp, [eax] */
    chk_reg(&in.op[0], RC_GPR, R_ESP, 4);
    chk_mem(&in.op[1], S_DS, R_EAX, N, 0, 0, 6);
    dec_ok("c5 5d 00", false, &in); /* lds bx, [di+0] */
    chk_mem(&in.op[1], S_DS, R_EDI, N, 0, 0, 4);
}

Test(decode, memory_operand_sizes)
{
    struct insn in;
    dec_ok("0f 01 15 00 10 00 00", true, &in); /* lgdt */
    cr_assert_eq(in.id, X86_INS_LGDT);
    chk_mem(&in.op[0], S_DS, N, N, 0, 0x1000, 6);
    dec_ok("0f 01 0e 00 20", false, &in); /* sidt [0x2000] */
    chk_mem(&in.op[0], S_DS, N, N, 0, 0x2000, 6);
    dec_ok("db 2d 00 10 00 00", true, &in); /* fld tbyte */
    chk_mem(&in.op[0], S_DS, N, N, 0, 0x1000, 10);
    dec_ok("dd 00", true, &in); /* fld qword */
    chk_mem(&in.op[0], S_DS, R_EAX, N, 0, 0, 8);
    dec_ok("d9 00", true, &in); /* fld dword */
    chk_mem(&in.op[0], S_DS, R_EAX, N, 0, 0, 4);
    dec_ok("df 2c 24", true, &in); /* fild qword */
    chk_mem(&in.op[0], S_SS, R_ESP, N, 0, 0, 8);
    dec_ok("0f ae 00", true, &in); /* fxsave: size 0 means 512 */
    cr_assert_eq(in.id, X86_INS_FXSAVE);
    chk_mem(&in.op[0], S_DS, R_EAX, N, 0, 0, 0);
    dec_ok("dd 30", true, &in);
    cr_assert_eq(in.id, X86_INS_FNSAVE);
    cr_assert_eq(in.op[0].size, 108);
    dec_ok("dd 20", false, &in);
    cr_assert_eq(in.id, X86_INS_FRSTOR);
    cr_assert_eq(in.op[0].size, 94);
    dec_ok("d9 30", true, &in);
    cr_assert_eq(in.id, X86_INS_FNSTENV);
    cr_assert_eq(in.op[0].size, 28);
    dec_ok("d9 20", false, &in);
    cr_assert_eq(in.id, X86_INS_FLDENV);
    cr_assert_eq(in.op[0].size, 14);
    dec_ok("62 06 00 10", false, &in); /* bound ax, [0x1000] */
    chk_mem(&in.op[1], S_DS, N, N, 0, 0x1000, 4);
    dec_ok("0f c7 0f", true, &in);
    chk_mem(&in.op[0], S_DS, R_EDI, N, 0, 0, 8);
    dec_ok("8e d0", true, &in); /* mov ss, ax (Capstone says eax) */
    chk_reg(&in.op[0], RC_SEG, S_SS, 2);
    chk_reg(&in.op[1], RC_GPR, R_EAX, 2);
    dec_ok("8e 18", true, &in); /* mov ds, [eax] */
    chk_reg(&in.op[0], RC_SEG, S_DS, 2);
    chk_mem(&in.op[1], S_DS, R_EAX, N, 0, 0, 2);
    dec_ok("8c d8", true, &in); /* mov eax, ds */
    chk_reg(&in.op[0], RC_GPR, R_EAX, 4);
    chk_reg(&in.op[1], RC_SEG, S_DS, 2);
    dec_ok("8c 18", true, &in); /* mov [eax], ds */
    chk_mem(&in.op[0], S_DS, R_EAX, N, 0, 0, 2);
    dec_ok("0f 00 d8", true, &in); /* ltr ax */
    chk_reg(&in.op[0], RC_GPR, R_EAX, 2);
    dec_ok("0f 00 08", true, &in); /* str [eax] */
    chk_mem(&in.op[0], S_DS, R_EAX, N, 0, 0, 2);
    dec_ok("0f 02 c1", true, &in); /* lar eax, cx */
    chk_reg(&in.op[1], RC_GPR, R_ECX, 2);
    dec_ok("ff 34", false, &in); /* push word [si] */
    chk_mem(&in.op[0], S_DS, R_ESI, N, 0, 0, 2);
    dec_ok("8f 00", true, &in); /* pop dword [eax] */
    chk_mem(&in.op[0], S_DS, R_EAX, N, 0, 0, 4);
    dec_ok("1e", true, &in); /* push ds */
    chk_reg(&in.op[0], RC_SEG, S_DS, 2);
    cr_assert_eq(in.flags, 0);
}

Test(decode, registers_other_classes)
{
    struct insn in;
    dec_ok("0f 22 d8", true, &in); /* mov cr3, eax */
    cr_assert_eq(in.id, X86_INS_MOV);
    cr_assert_eq(in.flags, IF_ENDS_BLOCK | IF_SENSITIVE);
    chk_reg(&in.op[0], RC_CR, 3, 4);
    chk_reg(&in.op[1], RC_GPR, R_EAX, 4);
    dec_ok("0f 20 c1", true, &in); /* mov ecx, cr0 */
    cr_assert_eq(in.flags, IF_SENSITIVE);
    chk_reg(&in.op[1], RC_CR, 0, 4);
    dec_ok("0f 23 fa", true, &in); /* mov dr7, edx */
    chk_reg(&in.op[0], RC_DR, 7, 4);
    chk_reg(&in.op[1], RC_GPR, R_EDX, 4);
    dec_ok("d9 c9", true, &in); /* fxch st(1) */
    chk_reg(&in.op[0], RC_ST, 1, 10);
    dec_ok("0f 6f c1", true, &in); /* movq mm0, mm1 */
    chk_reg(&in.op[0], RC_MM, 0, 8);
    chk_reg(&in.op[1], RC_MM, 1, 8);
    dec_ok("66 0f 58 ca", true, &in); /* addpd xmm1, xmm2 */
    chk_reg(&in.op[0], RC_XMM, 1, 16);
    chk_reg(&in.op[1], RC_XMM, 2, 16);
}

/* ---- string instructions ---- */

Test(decode, string_instructions)
{
    struct insn in;
    dec_ok("f3 a5", true, &in);
    cr_assert_eq(in.id, X86_INS_MOVSD);
    cr_assert_eq(in.prefix, PFX_REP);
    cr_assert_eq(in.addrsize, 4);
    chk_mem(&in.op[0], S_ES, R_EDI, N, 0, 0, 4);
    chk_mem(&in.op[1], S_DS, R_ESI, N, 0, 0, 4);
    dec_ok("64 a4", true, &in);
    cr_assert_eq(in.id, X86_INS_MOVSB);
    chk_mem(&in.op[0], S_ES, R_EDI, N, 0, 0, 1);
    chk_mem(&in.op[1], S_FS, R_ESI, N, 0, 0, 1);
    dec_ok("26 f3 a4", false, &in); /* es override hits the source only */
    cr_assert_eq(in.prefix, PFX_REP | PFX_SEG);
    cr_assert_eq(in.addrsize, 2);
    chk_mem(&in.op[0], S_ES, R_EDI, N, 0, 0, 1);
    chk_mem(&in.op[1], S_ES, R_ESI, N, 0, 0, 1);
    dec_ok("f3 a5", false, &in);
    cr_assert_eq(in.id, X86_INS_MOVSW);
    chk_mem(&in.op[0], S_ES, R_EDI, N, 0, 0, 2);
    dec_ok("67 f3 66 a5", true, &in); /* rep movsw with 16-bit addressing */
    cr_assert_eq(in.id, X86_INS_MOVSW);
    cr_assert_eq(in.addrsize, 2);
    cr_assert_eq(in.opsize, 2);
    chk_mem(&in.op[1], S_DS, R_ESI, N, 0, 0, 2);
    dec_ok("f2 ae", true, &in);
    cr_assert_eq(in.id, X86_INS_SCASB);
    cr_assert_eq(in.prefix, PFX_REPNE);
    chk_mem(&in.op[1], S_ES, R_EDI, N, 0, 0, 1);
    dec_ok("f3 ab", true, &in);
    cr_assert_eq(in.id, X86_INS_STOSD);
    chk_mem(&in.op[0], S_ES, R_EDI, N, 0, 0, 4);
    dec_ok("66 ad", true, &in);
    cr_assert_eq(in.id, X86_INS_LODSW);
    chk_mem(&in.op[1], S_DS, R_ESI, N, 0, 0, 2);
    dec_ok("2e a6", true, &in);
    cr_assert_eq(in.id, X86_INS_CMPSB);
    chk_mem(&in.op[0], S_CS, R_ESI, N, 0, 0, 1);
    chk_mem(&in.op[1], S_ES, R_EDI, N, 0, 0, 1);
    dec_ok("f3 6d", true, &in);
    cr_assert_eq(in.id, X86_INS_INSD);
    cr_assert_eq(in.flags, IF_SENSITIVE);
    chk_mem(&in.op[0], S_ES, R_EDI, N, 0, 0, 4);
    dec_ok("65 6e", true, &in);
    cr_assert_eq(in.id, X86_INS_OUTSB);
    cr_assert_eq(in.flags, IF_SENSITIVE | IF_ENDS_BLOCK);
    chk_mem(&in.op[1], S_GS, R_ESI, N, 0, 0, 1);
    /* F3 then F2: the last one counts */
    dec_ok("f3 f2 a6", true, &in);
    cr_assert_eq(in.prefix, PFX_REPNE);
    /* SSE2 MOVSD shares the id but is not a string op */
    dec_ok("f2 0f 10 c1", true, &in);
    cr_assert_eq(in.opc_map, 1);
    chk_reg(&in.op[0], RC_XMM, 0, 16);
}

/* ---- flags and id remaps ---- */

Test(decode, block_and_sensitive_flags)
{
    static const struct { const char *hex; uint8_t flags; } t[] = {
        { "fa", IF_ENDS_BLOCK | IF_SENSITIVE },        /* cli */
        { "fb", IF_ENDS_BLOCK | IF_SENSITIVE },        /* sti */
        { "9c", IF_SENSITIVE },                        /* pushfd */
        { "9d", IF_ENDS_BLOCK | IF_SENSITIVE },        /* popfd */
        { "0f a2", IF_ENDS_BLOCK | IF_SENSITIVE },     /* cpuid */
        { "8e d8", IF_ENDS_BLOCK | IF_SENSITIVE },     /* mov ds, ax */
        { "1f", IF_ENDS_BLOCK | IF_SENSITIVE },        /* pop ds */
        { "0f a9", IF_ENDS_BLOCK | IF_SENSITIVE },     /* pop gs */
        { "8c d8", 0 },                                /* mov eax, ds */
        { "01 d8", 0 },                                /* add eax, ebx */
        { "f4", IF_ENDS_BLOCK | IF_SENSITIVE },        /* hlt */
        { "ec", IF_SENSITIVE },                        /* in al, dx */
        { "ee", IF_ENDS_BLOCK | IF_SENSITIVE },        /* out dx, al */
        { "0f 31", IF_SENSITIVE },                     /* rdtsc */
        { "0f 32", IF_SENSITIVE },                     /* rdmsr */
        { "0f 30", IF_ENDS_BLOCK | IF_SENSITIVE },     /* wrmsr */
        { "c3", IF_ENDS_BLOCK },                       /* ret */
        { "cb", IF_ENDS_BLOCK | IF_SENSITIVE },        /* retf */
        { "ff e0", IF_ENDS_BLOCK },                    /* jmp eax */
        { "ff 10", IF_ENDS_BLOCK },                    /* call [eax] */
        { "cc", IF_ENDS_BLOCK | IF_SENSITIVE },        /* int3 */
        { "ce", IF_ENDS_BLOCK | IF_SENSITIVE },        /* into */
        { "f1", IF_ENDS_BLOCK | IF_SENSITIVE },        /* icebp */
        { "cf", IF_ENDS_BLOCK | IF_SENSITIVE },        /* iretd */
        { "0f 0b", IF_ENDS_BLOCK },                    /* ud2 */
        { "0f 01 10", IF_ENDS_BLOCK | IF_SENSITIVE },  /* lgdt */
        { "0f 01 00", IF_SENSITIVE },                  /* sgdt */
        { "0f 00 c0", IF_SENSITIVE },                  /* sldt eax */
        { "0f 00 d0", IF_ENDS_BLOCK | IF_SENSITIVE },  /* lldt ax */
        { "0f 01 e0", IF_SENSITIVE },                  /* smsw eax */
        { "0f 01 f0", IF_ENDS_BLOCK | IF_SENSITIVE },  /* lmsw ax */
        { "0f 06", IF_ENDS_BLOCK | IF_SENSITIVE },     /* clts */
        { "0f 01 38", IF_ENDS_BLOCK | IF_SENSITIVE },  /* invlpg [eax] */
        { "0f 34", IF_ENDS_BLOCK | IF_SENSITIVE },     /* sysenter */
        { "0f 35", IF_ENDS_BLOCK | IF_SENSITIVE },     /* sysexit */
        { "0f 09", IF_ENDS_BLOCK | IF_SENSITIVE },     /* wbinvd */
        { "0f 02 c1", IF_SENSITIVE },                  /* lar */
        { "0f 00 e0", IF_SENSITIVE },                  /* verr ax */
        { "0f aa", IF_ENDS_BLOCK },                    /* rsm */
        { "c5 18", IF_ENDS_BLOCK | IF_SENSITIVE },     /* lds ebx, [eax] */
        { "9b", 0 },                                   /* fwait */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct insn in;
        dec_ok(t[i].hex, true, &in);
        cr_assert_eq(in.flags, t[i].flags, "%s: flags %#x != %#x", t[i].hex, in.flags, t[i].flags);
    }
}

Test(decode, id_remaps_and_splits)
{
    struct insn in;
    dec_ok("f3 0f bc c1", true, &in);
    cr_assert_eq(in.id, X86_INS_BSF);
    chk_reg(&in.op[0], RC_GPR, R_EAX, 4);
    chk_reg(&in.op[1], RC_GPR, R_ECX, 4);
    dec_ok("f3 0f bd c1", true, &in);
    cr_assert_eq(in.id, X86_INS_BSR);
    dec_ok("f3 0f 1e fb", true, &in);
    cr_assert_eq(in.id, X86_INS_NOP);
    dec_ok("f3 0f 1e fa", true, &in); /* endbr64: a NOP here too */
    cr_assert_eq(in.id, X86_INS_NOP);
    dec_ok("0f 1e fb", true, &in);    /* hint NOP that Capstone rejects */
    cr_assert_eq(in.id, X86_INS_NOP);
    cr_assert_eq(in.opc, 0x1e);
    dec_ok("0f 19 44 24 08", true, &in);
    cr_assert_eq(in.id, X86_INS_NOP);
    /* 9B DF E0 (FSTSW AX) is two instructions: WAIT alone first */
    cr_assert_eq(dec_at("9b df e0", true, 0x1000, &in), DECODE_OK);
    cr_assert_eq(in.id, X86_INS_WAIT);
    cr_assert_eq(in.len, 1);
}

Test(decode, exec_from_table)
{
    interp_init();
    struct insn in;
    dec_ok("01 d8", true, &in);
    insn_exec_fn want = interp_exec_table[X86_INS_ADD] ? interp_exec_table[X86_INS_ADD] : exec_ud;
    cr_assert_eq(in.exec, want);
    dec_ok("0f 0b", true, &in);
    cr_assert_not_null(in.exec);
}

/* ---- validation ---- */

Test(decode, ud_validation)
{
    static const char *ud[] = {
        "8e c8", "8e 08", "8e f0", "8c f8",           /* mov cs / sreg 6-7 */
        "0f 20 c8", "0f 22 e8", "0f 22 f8",           /* cr1, cr5, cr7 */
        "f0 03 00", "f0 01 c0", "f0 90", "f0 8b 00",  /* lock: reg dest, reg-reg, nop, mov */
        "f0 0f a3 00", "f0 c7 00 01 00 00 00",        /* lock bt, lock mov */
        "f0 f6 00 01", "f0 38 00",                    /* lock test, lock cmp */
        "8d c0", "c5 c0", "c4 c0", "0f b2 c0", "0f b4 c0", "0f b5 c0", "62 c0",
        "0f c7 c8", "ff d8", "ff e8", "0f 01 f8",    /* cmpxchg8b reg, far reg, swapgs */
        "0f ae c0",                                   /* fxsave reg */
        "c5 f8 77", "c4 e2 79 18 00",                 /* VEX */
        "62 f1 7c 48 58 c1", "8f e9 78 c1 c0",        /* EVEX, XOP */
        "f3 0f b8 c0", "f2 0f 7c c1", "0f 38 00 c1",  /* popcnt, haddps, pshufb */
        "66 0f 38 00 c1", "0f 01 f9", "0f 05", "0f 07", /* rdtscp syscall sysret */
        "0f 38 f0 00", "0f 01 c8", "0f 01 d0",        /* movbe monitor xgetbv */
        "0f c7 f0", "df 08", "0f 0d 08",              /* rdrand, fisttp, prefetchw */
        "0f 04", "0f 0a", "0f ae 20",                 /* invalid, xsave */
        "0f 37", "0f 01 cf", "0f 01 d6", "0f a7 c0",  /* getsec enclu xtest xstore */
        "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", /* 15 prefixes */
    };
    for (size_t i = 0; i < sizeof(ud) / sizeof(ud[0]); i++) {
        cr_assert_eq(dec_rc(ud[i], true), DECODE_UD, "%s (32) should be #UD", ud[i]);
    }
    cr_assert_eq(dec_rc("8e c8", false), DECODE_UD);
    cr_assert_eq(dec_rc("f0 40", false), DECODE_UD);
    cr_assert_eq(dec_rc("8d c0", false), DECODE_UD);
    cr_assert_eq(dec_rc("c4 c0", false), DECODE_UD);
    /* the lockable forms are accepted */
    static const char *lockok[] = {
        "f0 01 00", "f0 87 03", "f0 86 18", "f0 0f c7 0f", "f0 0f ab 08", "f0 0f ba 28 05",
        "f0 ff 00", "f0 fe 08", "f0 f6 18", "f0 f7 10", "f0 80 00 01", "f0 83 30 ff",
        "f0 0f c1 08", "f0 0f b1 08", "f0 11 00", "f0 19 00", "f0 21 00", "f0 09 00",
        "f0 29 00", "f0 31 00", "f0 0f b3 08", "f0 0f bb 08",
    };
    for (size_t i = 0; i < sizeof(lockok) / sizeof(lockok[0]); i++) {
        struct insn in;
        cr_assert_eq(dec_at(lockok[i], true, 0, &in), DECODE_OK, "%s should decode", lockok[i]);
        cr_assert_eq(in.prefix & PFX_LOCK, PFX_LOCK);
    }
    /* 14 prefixes + opcode = 15 bytes is fine */
    struct insn in;
    dec_ok("66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", true, &in);
    cr_assert_eq(in.len, 15);
    /* i686 features that are accepted */
    dec_ok("0f 44 c1", true, &in);   /* cmove */
    dec_ok("0f 1f 00", true, &in);   /* nop [eax] */
    dec_ok("0f ae e8", true, &in);   /* lfence (SSE2) */
    dec_ok("0f 18 00", true, &in);   /* prefetchnta */
    dec_ok("0f c3 00", true, &in);   /* movnti */
    dec_ok("db e9", true, &in);      /* fucomi */
}

Test(decode, short_vs_ud)
{
    struct insn in;
    uint8_t b[16] = { 0 };
    cr_assert_eq(decode_one(D, b, 0, 0, true, &in), DECODE_SHORT);
    static const char *shortc[] = {
        "8b", "8b 04", "8b 04 a5", "8b 04 a5 00 10", "e9 00 00", "0f", "66", "f3 66",
        "0f c7", "b8 00", "0f 01", "c8 00 00", "ea 00 00 00 00 10", "d5", "69 c0 00",
        "0f 84 00", "0f 38",
    };
    for (size_t i = 0; i < sizeof(shortc) / sizeof(shortc[0]); i++) {
        cr_assert_eq(dec_rc(shortc[i], true), DECODE_SHORT, "%s should be SHORT", shortc[i]);
    }
    cr_assert_eq(dec_rc("e9 00", false), DECODE_SHORT);
    cr_assert_eq(dec_rc("8b 46", false), DECODE_SHORT);
    cr_assert_eq(dec_rc("8b 86 00", false), DECODE_SHORT);
    /* complete in 16-bit code */
    dec_ok("e9 00 00", false, &in);
    /* invalid no matter what follows */
    cr_assert_eq(dec_rc("0f 04", true), DECODE_UD);
    cr_assert_eq(dec_rc("0f 0b", true), DECODE_OK);
    /* avail beyond 15 is fine: only the instruction is consumed */
    memset(b, 0x90, sizeof(b));
    cr_assert_eq(decode_one(D, b, 16, 0, true, &in), DECODE_OK);
    cr_assert_eq(in.len, 1);
}

Test(decode, text)
{
    uint8_t b[8];
    char buf[64];
    size_t n = unhex("89 d8", b);
    cr_assert_eq(decode_text(D, b, n, 0, true, buf, sizeof(buf)), 2);
    cr_assert_str_eq(buf, "mov eax, ebx");
    n = unhex("89 d8", b);
    decode_text(D, b, n, 0, false, buf, sizeof(buf));
    cr_assert_str_eq(buf, "mov ax, bx");
    n = unhex("90", b);
    decode_text(D, b, n, 0, true, buf, sizeof(buf));
    cr_assert_str_eq(buf, "nop");
    n = unhex("0f 04", b);
    cr_assert_eq(decode_text(D, b, n, 0, true, buf, sizeof(buf)), -1);
}

/* ---- decode cache ---- */

static struct phys_mem PM;
static struct decode_cache *DC;
static int new_pages;
static const uint8_t *last_page;

static void on_new_page(void *opaque, const uint8_t *host_page)
{
    cr_assert_eq(opaque, &PM);
    new_pages++;
    last_page = host_page;
}

static void dc_setup(void)
{
    setup();
    cr_assert_eq(phys_init(&PM, 1u << 20), 0);
    DC = dcache_new(&PM, on_new_page, &PM);
    cr_assert_not_null(DC);
    new_pages = 0;
    last_page = NULL;
}

static void dc_teardown(void)
{
    dcache_free(DC);
    phys_destroy(&PM);
    teardown();
}

static void put(uint32_t pa, const char *hex)
{
    uint8_t b[64];
    size_t n = unhex(hex, b);
    memcpy(PM.ram + pa, b, n);
}

static struct block *get(uint32_t pa, bool c32)
{
    uint32_t avail = 0x1000 - (pa & 0xfff);
    return dcache_get(DC, D, PM.ram + pa, pa, avail, pa, c32);
}

Test(dcache, block_boundaries, .init = dc_setup, .fini = dc_teardown)
{
    /* mov eax,1; inc eax; jmp $; nop */
    put(0x2000, "b8 01 00 00 00 40 eb fe 90");
    struct block *b = get(0x2000, true);
    cr_assert_not_null(b);
    cr_assert_eq(b->n, 3);
    cr_assert_eq(b->bytes, 8);
    cr_assert_eq(b->pa, 0x2000);
    cr_assert_eq(b->host, PM.ram + 0x2000);
    cr_assert_eq(b->in[0].id, X86_INS_MOV);
    cr_assert_eq(b->in[1].id, X86_INS_INC);
    cr_assert_eq(b->in[2].id, X86_INS_JMP);
    cr_assert(!b->dead);
    /* the same bytes as 16-bit code: mov ax,1; add [bx+si],al; inc ax; jmp $ */
    struct block *b16 = get(0x2000, false);
    cr_assert_neq(b16, b);
    cr_assert_eq(b16->n, 4);
    cr_assert_eq(b16->in[0].len, 3);
    /* a hit returns the same block */
    cr_assert_eq(get(0x2000, true), b);
    struct dcache_stats st;
    dcache_get_stats(DC, &st);
    cr_assert_eq(st.lookups, 3);
    cr_assert_eq(st.misses, 2);
    cr_assert_eq(st.blocks, 2);
    cr_assert_eq(st.insns, 7);
}

Test(dcache, max_insns_and_page_end, .init = dc_setup, .fini = dc_teardown)
{
    memset(PM.ram + 0x3000, 0x90, 0x1000);
    struct block *b = get(0x3000, true);
    cr_assert_eq(b->n, BLOCK_MAX_INSNS);
    cr_assert_eq(b->bytes, BLOCK_MAX_INSNS);
    /* stops at the page end even if avail says more */
    b = dcache_get(DC, D, PM.ram + 0x3ffd, 0x3ffd, 100, 0x3ffd, true);
    cr_assert_eq(b->n, 3);
    cr_assert_eq(b->bytes, 3);
    /* an instruction that does not fit ends the block before it */
    put(0x4ffa, "90 90 90 90 b8 01");
    b = get(0x4ffa, true);
    cr_assert_eq(b->n, 4);
    cr_assert_eq(b->bytes, 4);
    /* a first instruction that does not fit: NULL */
    cr_assert_null(get(0x4ffe, true));
}

Test(dcache, invalid_instructions, .init = dc_setup, .fini = dc_teardown)
{
    interp_init();
    put(0x5000, "0f 04 90");
    struct block *b = get(0x5000, true);
    cr_assert_eq(b->n, 1);
    cr_assert_eq(b->bytes, 1);
    cr_assert_eq(b->in[0].exec, exec_ud);
    cr_assert_eq(b->in[0].len, 1);
    cr_assert(b->in[0].flags & IF_ENDS_BLOCK);
    put(0x5100, "90 90 f0 90 90");
    b = get(0x5100, true);
    cr_assert_eq(b->n, 2);
    cr_assert_eq(b->bytes, 2);
}

Test(dcache, code_pages_and_callback, .init = dc_setup, .fini = dc_teardown)
{
    put(0x6000, "c3");
    put(0x6010, "c3");
    put(0x7000, "c3");
    cr_assert_eq(PM.code_pages[6], 0);
    get(0x6000, true);
    cr_assert_eq(PM.code_pages[6], 1);
    cr_assert_eq(new_pages, 1);
    cr_assert_eq(last_page, PM.ram + 0x6000);
    get(0x6010, true);
    cr_assert_eq(new_pages, 1);
    get(0x7000, true);
    cr_assert_eq(new_pages, 2);
    cr_assert_eq(last_page, PM.ram + 0x7000);
    cr_assert_eq(PM.code_pages[7], 1);
}

Test(dcache, invalidation_drops_exact_page, .init = dc_setup, .fini = dc_teardown)
{
    put(0x8000, "c3");
    put(0x8800, "c3");
    put(0x9000, "c3");
    put(0xa000, "c3");
    struct block *a = get(0x8000, true), *a2 = get(0x8800, true);
    struct block *c = get(0x9000, true), *e = get(0xa000, true);
    struct block *a16 = get(0x8000, false);
    dcache_invalidate(DC, 0x8123, 1);
    cr_assert(a->dead);
    cr_assert(a2->dead);
    cr_assert(a16->dead);
    cr_assert(!c->dead);
    cr_assert(!e->dead);
    cr_assert_eq(PM.code_pages[8], 0);
    cr_assert_eq(PM.code_pages[9], 1);
    struct dcache_stats st;
    dcache_get_stats(DC, &st);
    cr_assert_eq(st.invalidations, 3);
    /* survivors are still found; the dropped page decodes anew, and the dead
     * block (not yet reaped) is not handed out again */
    cr_assert_eq(get(0x9000, true), c);
    put(0x8000, "90 c3");
    struct block *na = get(0x8000, true);
    cr_assert_neq(na, a);
    cr_assert(!na->dead);
    cr_assert_eq(na->n, 2);
    cr_assert_eq(a->n, 1); /* the dead block is intact until reaped */
    cr_assert_eq(PM.code_pages[8], 1);
    cr_assert_eq(new_pages, 4);
    dcache_reap(DC);
    /* a write straddling two pages drops both */
    dcache_invalidate(DC, 0x9fff, 2);
    cr_assert(c->dead);
    cr_assert(e->dead);
    cr_assert(!na->dead);
    /* out of RAM: ignored */
    dcache_invalidate(DC, 0xfffff000, 0x2000);
    dcache_reap(DC);
}

Test(dcache, rom_blocks_survive, .init = dc_setup, .fini = dc_teardown)
{
    static const uint8_t rom[16] = { 0x90, 0xc3 };
    struct block *b = dcache_get(DC, D, rom, 0xffff0000, 16, 0, true);
    cr_assert_eq(b->n, 2);
    cr_assert_eq(new_pages, 0);
    dcache_invalidate(DC, 0xffff0000, 16);
    cr_assert(!b->dead);
    cr_assert_eq(dcache_get(DC, D, rom, 0xffff0000, 16, 0, true), b);
}

Test(dcache, flush_drops_all, .init = dc_setup, .fini = dc_teardown)
{
    put(0xb000, "c3");
    struct block *b = get(0xb000, true);
    dcache_flush(DC);
    cr_assert(b->dead);
    cr_assert_eq(PM.code_pages[0xb], 0);
    struct block *n = get(0xb000, true);
    cr_assert_neq(n, b);
    dcache_reap(DC);
}

static uint64_t unfreed(void)
{
    struct dcache_stats st;
    dcache_get_stats(DC, &st);
    return st.unfreed;
}

/* -smp threads: a dropped block is freed once every vCPU thread has been
 * between blocks since (dcache_quiesce) or sleeps (dcache_offline). */
Test(dcache, threads_free_dropped_blocks_by_epoch, .init = dc_setup, .fini = dc_teardown)
{
    dcache_set_defer_free(DC, true, 3);
    put(0xc000, "c3");
    put(0xd000, "c3");
    (void)get(0xc000, true);
    (void)get(0xd000, true);
    dcache_quiesce(DC, 0);
    dcache_quiesce(DC, 1);
    dcache_quiesce(DC, 2);
    dcache_invalidate(DC, 0xc000, 1); /* dropped after everyone's epoch */
    dcache_reap(DC);
    cr_assert_eq(unfreed(), 1);
    dcache_quiesce(DC, 0);
    dcache_quiesce(DC, 1);
    dcache_reap(DC);
    cr_assert_eq(unfreed(), 1, "vCPU 2 may still run it");
    dcache_offline(DC, 2); /* vCPU 2 sleeps in HLT */
    dcache_invalidate(DC, 0xd000, 1);
    dcache_reap(DC);
    cr_assert_eq(unfreed(), 1, "the second drop is newer than vCPU 0 and 1's epochs");
    dcache_quiesce(DC, 0);
    dcache_quiesce(DC, 1);
    dcache_reap(DC);
    cr_assert_eq(unfreed(), 0);
    dcache_set_defer_free(DC, false, 0);
}
