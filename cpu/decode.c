/* Capstone -> struct insn: decode one guest instruction and normalise it into
 * bt86's record (cpu/insn.h). Prefixes, escapes, opcode and ModRM are parsed
 * from the raw bytes (exact); Capstone supplies the instruction id and operands,
 * which are then corrected where Capstone is loose (operand sizes, immediates,
 * relative targets, default segments) and validated against what an i686 with
 * SSE/SSE2 accepts (anything else is #UD). Conventions: docs/DECODE.md. */
#include "cpu/decode.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/interp.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"

#define MAX_INSN_LEN 15

struct decoder {
    csh h[2];        /* [0] CS_MODE_16, [1] CS_MODE_32 */
    cs_insn *ci[2];  /* one cs_insn (with detail) per handle, allocated once */
};

/* ---- raw prefix / opcode parsing ---- */

struct raw {
    uint8_t prefix;  /* PFX_* */
    int seg;         /* override S_*, or -1 */
    int opc_pos;     /* index of the opcode byte (after escapes) */
    uint8_t opc, map;
    bool has_modrm;
    uint8_t modrm;
};

static bool modrm_map0(uint8_t o)
{
    if (o < 0x40) return (o & 7) < 4;
    if (o >= 0x80 && o <= 0x8f) return true;
    if (o >= 0xd0 && o <= 0xd3) return true;
    if (o >= 0xd8 && o <= 0xdf) return true;
    switch (o) {
    case 0x62: case 0x63: case 0x69: case 0x6b:
    case 0xc0: case 0xc1: case 0xc4: case 0xc5: case 0xc6: case 0xc7:
    case 0xf6: case 0xf7: case 0xfe: case 0xff:
        return true;
    default:
        return false;
    }
}

static bool modrm_map1(uint8_t o)
{
    /* UD1 (0F B9) and UD0 (0F FF) have a ModRM on hardware, but Capstone and
     * this decoder take them as two-byte #UD instructions. */
    if (o == 0xb9 || o == 0xff) return false;
    switch (o >> 4) {
    case 0x0: return o <= 0x03 || o == 0x0d || o == 0x0f;
    case 0x3: return false;
    case 0x7: return o != 0x77;
    case 0x8: return false;
    case 0xa: return o == 0xa3 || o == 0xa4 || o == 0xa5 || o >= 0xab;
    case 0xc: return o < 0xc8;
    default: return true;
    }
}

/* 1: parsed; 0: the bytes end before the opcode/ModRM are complete; -1: only
 * prefixes in 15 bytes. */
static int parse_raw(const uint8_t *b, size_t n, struct raw *r)
{
    size_t i = 0;
    r->prefix = 0;
    r->seg = -1;
    for (;; i++) {
        if (i >= MAX_INSN_LEN) return -1;
        if (i >= n) return 0;
        switch (b[i]) {
        case 0xf0: r->prefix |= PFX_LOCK; continue;
        case 0xf2: r->prefix = (uint8_t)((r->prefix & ~PFX_REP) | PFX_REPNE); continue;
        case 0xf3: r->prefix = (uint8_t)((r->prefix & ~PFX_REPNE) | PFX_REP); continue;
        case 0x26: r->seg = S_ES; r->prefix |= PFX_SEG; continue;
        case 0x2e: r->seg = S_CS; r->prefix |= PFX_SEG; continue;
        case 0x36: r->seg = S_SS; r->prefix |= PFX_SEG; continue;
        case 0x3e: r->seg = S_DS; r->prefix |= PFX_SEG; continue;
        case 0x64: r->seg = S_FS; r->prefix |= PFX_SEG; continue;
        case 0x65: r->seg = S_GS; r->prefix |= PFX_SEG; continue;
        case 0x66: r->prefix |= PFX_OPSIZE; continue;
        case 0x67: r->prefix |= PFX_ADSIZE; continue;
        default: break;
        }
        break;
    }
    r->map = 0;
    if (b[i] == 0x0f) {
        r->map = 1;
        if (++i >= n) return 0;
        if (b[i] == 0x38 || b[i] == 0x3a) {
            r->map = b[i] == 0x38 ? 2 : 3;
            if (++i >= n) return 0;
        }
    }
    r->opc_pos = (int)i;
    r->opc = b[i];
    r->has_modrm = r->map == 0 ? modrm_map0(r->opc) : r->map == 1 ? modrm_map1(r->opc) : true;
    r->modrm = 0;
    if (r->has_modrm) {
        if (i + 1 >= n) return 0;
        r->modrm = b[i + 1];
    }
    return 1;
}

/* ---- Capstone register -> (class, number, size) ---- */

struct regmap { uint8_t ok, cls, num, size; };
#define G(r, n, s) [X86_REG_##r] = { 1, RC_GPR, n, s }
#define S(r, n) [X86_REG_##r] = { 1, RC_SEG, n, 2 }
static const struct regmap regmap[X86_REG_ENDING] = {
    G(AL, 0, 1), G(CL, 1, 1), G(DL, 2, 1), G(BL, 3, 1),
    G(AH, 4, 1), G(CH, 5, 1), G(DH, 6, 1), G(BH, 7, 1),
    G(AX, 0, 2), G(CX, 1, 2), G(DX, 2, 2), G(BX, 3, 2),
    G(SP, 4, 2), G(BP, 5, 2), G(SI, 6, 2), G(DI, 7, 2),
    G(EAX, 0, 4), G(ECX, 1, 4), G(EDX, 2, 4), G(EBX, 3, 4),
    G(ESP, 4, 4), G(EBP, 5, 4), G(ESI, 6, 4), G(EDI, 7, 4),
    S(ES, S_ES), S(CS, S_CS), S(SS, S_SS), S(DS, S_DS), S(FS, S_FS), S(GS, S_GS),
};
#undef G
#undef S

static bool map_reg(x86_reg r, uint8_t *cls, uint8_t *num, uint8_t *size)
{
    if (r <= X86_REG_INVALID || r >= X86_REG_ENDING) return false;
    if (regmap[r].ok) {
        *cls = regmap[r].cls;
        *num = regmap[r].num;
        *size = regmap[r].size;
        return true;
    }
    if (r >= X86_REG_CR0 && r <= X86_REG_CR7) { *cls = RC_CR; *num = (uint8_t)(r - X86_REG_CR0); *size = 4; return true; }
    if (r >= X86_REG_DR0 && r <= X86_REG_DR7) { *cls = RC_DR; *num = (uint8_t)(r - X86_REG_DR0); *size = 4; return true; }
    if (r >= X86_REG_ST0 && r <= X86_REG_ST7) { *cls = RC_ST; *num = (uint8_t)(r - X86_REG_ST0); *size = 10; return true; }
    if (r >= X86_REG_FP0 && r <= X86_REG_FP7) { *cls = RC_ST; *num = (uint8_t)(r - X86_REG_FP0); *size = 10; return true; }
    if (r >= X86_REG_MM0 && r <= X86_REG_MM7) { *cls = RC_MM; *num = (uint8_t)(r - X86_REG_MM0); *size = 8; return true; }
    if (r >= X86_REG_XMM0 && r <= X86_REG_XMM7) { *cls = RC_XMM; *num = (uint8_t)(r - X86_REG_XMM0); *size = 16; return true; }
    return false;
}

static uint8_t gpr_num(x86_reg r)
{
    if (r > X86_REG_INVALID && r < X86_REG_ENDING && regmap[r].ok && regmap[r].cls == RC_GPR && regmap[r].size > 1)
        return regmap[r].num;
    return REG_NONE;
}

/* ---- instruction classes ---- */

static bool is_jcc(unsigned id)
{
    switch (id) {
    case X86_INS_JAE: case X86_INS_JA: case X86_INS_JBE: case X86_INS_JB:
    case X86_INS_JE: case X86_INS_JGE: case X86_INS_JG: case X86_INS_JLE:
    case X86_INS_JL: case X86_INS_JNE: case X86_INS_JNO: case X86_INS_JNP:
    case X86_INS_JNS: case X86_INS_JO: case X86_INS_JP: case X86_INS_JS:
        return true;
    default:
        return false;
    }
}

/* String instruction element size, or 0. MOVSD/CMPSD ids are shared with the
 * SSE2 instructions of the same name: only the one-byte-map forms are strings. */
static unsigned string_size(unsigned id, const struct raw *r)
{
    if (r->map != 0) return 0;
    switch (id) {
    case X86_INS_MOVSB: case X86_INS_CMPSB: case X86_INS_STOSB: case X86_INS_LODSB:
    case X86_INS_SCASB: case X86_INS_INSB: case X86_INS_OUTSB:
        return 1;
    case X86_INS_MOVSW: case X86_INS_CMPSW: case X86_INS_STOSW: case X86_INS_LODSW:
    case X86_INS_SCASW: case X86_INS_INSW: case X86_INS_OUTSW:
        return 2;
    case X86_INS_MOVSD: case X86_INS_CMPSD: case X86_INS_STOSD: case X86_INS_LODSD:
    case X86_INS_SCASD: case X86_INS_INSD: case X86_INS_OUTSD:
        return 4;
    default:
        return 0;
    }
}

static bool is_lockable(unsigned id)
{
    switch (id) {
    case X86_INS_ADD: case X86_INS_ADC: case X86_INS_AND: case X86_INS_BTC:
    case X86_INS_BTR: case X86_INS_BTS: case X86_INS_CMPXCHG: case X86_INS_CMPXCHG8B:
    case X86_INS_DEC: case X86_INS_INC: case X86_INS_NEG: case X86_INS_NOT:
    case X86_INS_OR: case X86_INS_SBB: case X86_INS_SUB: case X86_INS_XOR:
    case X86_INS_XADD: case X86_INS_XCHG:
        return true;
    default:
        return false;
    }
}

/* Instructions whose ModRM operand must be memory (register form is #UD). */
static bool needs_memory(unsigned id, const struct raw *r)
{
    switch (id) {
    case X86_INS_LEA: case X86_INS_LDS: case X86_INS_LES: case X86_INS_LSS:
    case X86_INS_LFS: case X86_INS_LGS: case X86_INS_BOUND: case X86_INS_LGDT:
    case X86_INS_LIDT: case X86_INS_SGDT: case X86_INS_SIDT: case X86_INS_INVLPG:
    case X86_INS_CMPXCHG8B: case X86_INS_FXSAVE: case X86_INS_FXRSTOR:
    case X86_INS_CLFLUSH: case X86_INS_MOVNTI:
        return true;
    case X86_INS_LJMP: case X86_INS_LCALL:
        return r->map == 0 && r->opc == 0xff;
    default:
        return false;
    }
}

/* Beyond an i686 with SSE/SSE2 (or 64-bit only): #UD. */
static bool beyond_isa(const cs_insn *ci)
{
    const cs_detail *dt = ci->detail;
    /* In the VM group but bt86's hypercall instructions (cpu/vmm_hypercall.c). */
    if (ci->id == X86_INS_VMCALL || ci->id == X86_INS_VMMCALL) return false;
    for (int i = 0; i < dt->groups_count; i++) {
        switch (dt->groups[i]) {
        case X86_GRP_VM: case X86_GRP_3DNOW: case X86_GRP_AES: case X86_GRP_ADX:
        case X86_GRP_AVX: case X86_GRP_AVX2: case X86_GRP_AVX512: case X86_GRP_BMI:
        case X86_GRP_BMI2: case X86_GRP_F16C: case X86_GRP_FMA: case X86_GRP_FMA4:
        case X86_GRP_FSGSBASE: case X86_GRP_MODE64: case X86_GRP_RTM: case X86_GRP_SHA:
        case X86_GRP_SSE3: case X86_GRP_SSE41: case X86_GRP_SSE42: case X86_GRP_SSE4A:
        case X86_GRP_SSSE3: case X86_GRP_PCLMUL: case X86_GRP_XOP: case X86_GRP_CDI:
        case X86_GRP_ERI: case X86_GRP_TBM: case X86_GRP_SGX: case X86_GRP_DQI:
        case X86_GRP_BWI: case X86_GRP_PFI: case X86_GRP_VLX: case X86_GRP_SMAP:
        case X86_GRP_NOVLX:
            return true;
        default:
            break;
        }
    }
    switch (ci->id) {
    case X86_INS_POPCNT: case X86_INS_MOVBE: case X86_INS_RDRAND: case X86_INS_RDSEED:
    case X86_INS_CRC32: case X86_INS_XGETBV: case X86_INS_XSETBV: case X86_INS_XSAVE:
    case X86_INS_XSAVEC: case X86_INS_XSAVEOPT: case X86_INS_XSAVES: case X86_INS_XRSTOR:
    case X86_INS_XRSTORS: case X86_INS_RDTSCP: case X86_INS_SWAPGS: case X86_INS_CLAC:
    case X86_INS_STAC: case X86_INS_MONITOR: case X86_INS_MWAIT: case X86_INS_PREFETCHW:
    case X86_INS_PREFETCH: case X86_INS_CLFLUSHOPT: case X86_INS_CLWB: case X86_INS_FEMMS:
    case X86_INS_FISTTP: case X86_INS_INVPCID: case X86_INS_SYSCALL: case X86_INS_SYSRET:
    case X86_INS_FXSAVE64: case X86_INS_FXRSTOR64:
    case X86_INS_CMPXCHG16B: case X86_INS_GETSEC: case X86_INS_ENCLS: case X86_INS_ENCLU:
    case X86_INS_XTEST: case X86_INS_PCOMMIT: case X86_INS_MONTMUL: case X86_INS_XSHA1:
    case X86_INS_XSHA256: case X86_INS_XSTORE: case X86_INS_XCRYPTECB: case X86_INS_XCRYPTCBC:
    case X86_INS_XCRYPTCTR: case X86_INS_XCRYPTCFB: case X86_INS_XCRYPTOFB:
        return true;
    default:
        return false;
    }
}

/* Control transfers and instructions that may change the mode or code mapping. */
static bool ends_block(unsigned id, const struct raw *r, const struct insn *out)
{
    if (is_jcc(id)) return true;
    switch (id) {
    case X86_INS_JMP: case X86_INS_CALL: case X86_INS_RET: case X86_INS_RETF:
    case X86_INS_LJMP: case X86_INS_LCALL: case X86_INS_LOOP: case X86_INS_LOOPE:
    case X86_INS_LOOPNE: case X86_INS_JCXZ: case X86_INS_JECXZ: case X86_INS_INT:
    case X86_INS_INT1: case X86_INS_INT3: case X86_INS_INTO: case X86_INS_IRET:
    case X86_INS_IRETD: case X86_INS_SYSENTER: case X86_INS_SYSEXIT: case X86_INS_HLT:
    case X86_INS_LMSW: case X86_INS_CLTS: case X86_INS_LGDT: case X86_INS_LIDT:
    case X86_INS_LLDT: case X86_INS_LTR: case X86_INS_LDS: case X86_INS_LES:
    case X86_INS_LSS: case X86_INS_LFS: case X86_INS_LGS: case X86_INS_POPF:
    case X86_INS_POPFD: case X86_INS_STI: case X86_INS_CLI: case X86_INS_INVLPG:
    case X86_INS_WRMSR: case X86_INS_CPUID: case X86_INS_RSM: case X86_INS_UD2:
    case X86_INS_UD0: case X86_INS_INVD: case X86_INS_WBINVD: case X86_INS_OUT:
    case X86_INS_OUTSB: case X86_INS_OUTSW: case X86_INS_OUTSD: case X86_INS_FXRSTOR:
        return true;
    case X86_INS_MOV:
        /* to a segment register, a control or a debug register */
        return (r->map == 0 && r->opc == 0x8e) || (r->map == 1 && (r->opc == 0x22 || r->opc == 0x23));
    case X86_INS_POP:
        return out->op[0].kind == OPND_REG && out->op[0].rclass == RC_SEG;
    default:
        return false;
    }
}

/* The privileged / sensitive list of cpu/vmm_callouts.def. */
static bool sensitive(unsigned id, const struct raw *r, const struct insn *out)
{
    switch (id) {
    case X86_INS_CLI: case X86_INS_STI: case X86_INS_PUSHF: case X86_INS_PUSHFD:
    case X86_INS_POPF: case X86_INS_POPFD: case X86_INS_CLTS: case X86_INS_LMSW:
    case X86_INS_SMSW: case X86_INS_LGDT: case X86_INS_LIDT: case X86_INS_SGDT:
    case X86_INS_SIDT: case X86_INS_LLDT: case X86_INS_LTR: case X86_INS_SLDT:
    case X86_INS_STR: case X86_INS_LAR: case X86_INS_LSL: case X86_INS_VERR:
    case X86_INS_VERW: case X86_INS_LDS: case X86_INS_LES: case X86_INS_LSS:
    case X86_INS_LFS: case X86_INS_LGS: case X86_INS_LJMP: case X86_INS_LCALL:
    case X86_INS_RETF: case X86_INS_INT: case X86_INS_INT1: case X86_INS_INT3:
    case X86_INS_INTO: case X86_INS_IRET: case X86_INS_IRETD: case X86_INS_IN:
    case X86_INS_OUT: case X86_INS_INSB: case X86_INS_INSW: case X86_INS_INSD:
    case X86_INS_OUTSB: case X86_INS_OUTSW: case X86_INS_OUTSD: case X86_INS_HLT:
    case X86_INS_INVLPG: case X86_INS_CPUID: case X86_INS_RDMSR: case X86_INS_WRMSR:
    case X86_INS_RDTSC: case X86_INS_RDPMC: case X86_INS_SYSENTER: case X86_INS_SYSEXIT:
    case X86_INS_INVD: case X86_INS_WBINVD:
    case X86_INS_VMCALL: case X86_INS_VMMCALL: /* bt86's hypercall (cpu/vmm_hypercall.c) */
        return true;
    case X86_INS_MOV:
        return (r->map == 0 && r->opc == 0x8e) || (r->map == 1 && r->opc >= 0x20 && r->opc <= 0x23);
    case X86_INS_POP:
        return out->op[0].kind == OPND_REG && out->op[0].rclass == RC_SEG;
    default:
        return false;
    }
}

/* ---- decoder ---- */

struct decoder *decoder_new(void)
{
    struct decoder *d = calloc(1, sizeof(*d));
    if (!d) return NULL;
    static const cs_mode modes[2] = { CS_MODE_16, CS_MODE_32 };
    for (int i = 0; i < 2; i++) {
        if (cs_open(CS_ARCH_X86, modes[i], &d->h[i]) != CS_ERR_OK) goto fail;
        cs_option(d->h[i], CS_OPT_DETAIL, CS_OPT_ON);
        cs_option(d->h[i], CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL);
        d->ci[i] = cs_malloc(d->h[i]);
        if (!d->ci[i]) goto fail;
    }
    return d;
fail:
    decoder_free(d);
    return NULL;
}

void decoder_free(struct decoder *d)
{
    if (!d) return;
    for (int i = 0; i < 2; i++) {
        if (d->ci[i]) cs_free(d->ci[i], 1);
        if (d->h[i]) cs_close(&d->h[i]);
    }
    free(d);
}

static uint32_t size_mask(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/* Run Capstone on bytes[0..n). Returns DECODE_OK (ci filled), DECODE_SHORT or DECODE_UD. */
static int run_capstone(struct decoder *d, const uint8_t *bytes, size_t n, uint32_t eip, bool code32)
{
    csh h = d->h[code32];
    cs_insn *ci = d->ci[code32];
    const uint8_t *p = bytes;
    size_t sz = n;
    uint64_t addr = eip;
    if (cs_disasm_iter(h, &p, &sz, &addr, ci)) return DECODE_OK;
    if (n >= MAX_INSN_LEN) return DECODE_UD;
    /* Truncated or invalid? Decode again with zero padding: a longer instruction
     * that needs the missing bytes is SHORT. */
    uint8_t pad[MAX_INSN_LEN] = { 0 };
    memcpy(pad, bytes, n);
    p = pad;
    sz = MAX_INSN_LEN;
    addr = eip;
    if (cs_disasm_iter(h, &p, &sz, &addr, ci) && ci->size > n) return DECODE_SHORT;
    return DECODE_UD;
}

static void set_mem(struct opnd *o, const cs_x86_op *co, const struct raw *r, unsigned addrsize)
{
    o->kind = OPND_MEM;
    o->size = co->size;
    o->base = gpr_num(co->mem.base);
    o->index = gpr_num(co->mem.index);
    if (o->index == REG_NONE) o->scale = 0;
    else o->scale = co->mem.scale == 8 ? 3 : co->mem.scale == 4 ? 2 : co->mem.scale == 2 ? 1 : 0;
    o->disp = (uint32_t)co->mem.disp;
    if (addrsize == 2) o->disp &= 0xffff;
    if (r->seg >= 0) o->seg = (uint8_t)r->seg;
    else if (o->base == R_ESP || o->base == R_EBP) o->seg = S_SS;
    else o->seg = S_DS;
    o->rclass = 0;
    o->reg = 0;
}

/* Sign-extend the last `n` bytes (1, 2 or 4) of the instruction. */
static uint32_t tail_rel(const uint8_t *b, unsigned len, unsigned n)
{
    const uint8_t *p = b + len - n;
    if (n == 1) return (uint32_t)(int32_t)(int8_t)p[0];
    if (n == 2) return (uint32_t)(int32_t)(int16_t)(p[0] | p[1] << 8);
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int build(const cs_insn *ci, const struct raw *r, const uint8_t *bytes, bool code32, struct insn *out)
{
    const cs_x86 *x = &ci->detail->x86;
    unsigned id = ci->id;

    memset(out, 0, sizeof(*out));
    out->len = (uint8_t)ci->size;
    out->prefix = r->prefix;
    out->opsize = (code32 != !!(r->prefix & PFX_OPSIZE)) ? 4 : 2;
    out->addrsize = (code32 != !!(r->prefix & PFX_ADSIZE)) ? 4 : 2;
    out->opc = r->opc;
    out->opc_map = r->map;
    out->modrm = r->modrm;
    for (int i = 0; i < 3; i++) {
        out->op[i].base = REG_NONE;
        out->op[i].index = REG_NONE;
    }
    if (id == X86_INS_INVALID || id >= X86_INS_ENDING) return DECODE_UD;
    /* On an i686 F3 0F BC/BD are BSF/BSR with an ignored REP prefix. */
    if (id == X86_INS_TZCNT) id = X86_INS_BSF;
    else if (id == X86_INS_LZCNT) id = X86_INS_BSR;
    /* F3 0F 1E FB is a reserved hint NOP before CET (CET-enabled i386 code has it). */
    else if (id == X86_INS_ENDBR32 || id == X86_INS_ENDBR64) id = X86_INS_NOP;
    else if (beyond_isa(ci)) return DECODE_UD;
    /* VEX/EVEX/XOP forms (C4/C5/62 with mod=3 are VEX/EVEX in 32-bit code;
     * 8F /1-7 is XOP). The register forms of LES/LDS/BOUND are #UD anyway. */
    if (r->map == 0 && r->opc == 0x8f && (r->modrm & 0x38) != 0) return DECODE_UD;
    if (r->map == 0 && (r->opc == 0xc4 || r->opc == 0xc5 || r->opc == 0x62) && (r->modrm & 0xc0) == 0xc0)
        return DECODE_UD;
    out->id = (uint16_t)id;

    if (x->op_count > 3) return DECODE_UD;
    out->nopnd = x->op_count;
    for (int i = 0; i < x->op_count; i++) {
        const cs_x86_op *co = &x->operands[i];
        struct opnd *o = &out->op[i];
        switch (co->type) {
        case X86_OP_REG:
            o->kind = OPND_REG;
            if (!map_reg(co->reg, &o->rclass, &o->reg, &o->size)) return DECODE_UD;
            break;
        case X86_OP_IMM:
            o->kind = OPND_IMM;
            o->size = co->size ? co->size : out->opsize;
            if (o->size > 4) o->size = 4;
            o->disp = (uint32_t)co->imm & size_mask(o->size);
            break;
        case X86_OP_MEM:
            set_mem(o, co, r, out->addrsize);
            break;
        default:
            return DECODE_UD;
        }
    }

    struct opnd *op = out->op;
    bool has_mem = false;
    for (int i = 0; i < out->nopnd; i++) has_mem |= op[i].kind == OPND_MEM;

    /* ---- validation ---- */
    if (r->map == 0 && r->opc == 0x8e) {
        unsigned sreg = (r->modrm >> 3) & 7;
        if (sreg == S_CS || sreg >= S_COUNT) return DECODE_UD;
    }
    if (r->map == 0 && r->opc == 0x8c && ((r->modrm >> 3) & 7) >= S_COUNT) return DECODE_UD;
    if (r->map == 1 && (r->opc == 0x20 || r->opc == 0x22)) {
        unsigned cr = (r->modrm >> 3) & 7;
        if (cr == 1 || cr > 4) return DECODE_UD;
    }
    if (r->prefix & PFX_LOCK) {
        if (!is_lockable(id)) return DECODE_UD;
        if (id == X86_INS_XCHG ? !has_mem : op[0].kind != OPND_MEM) return DECODE_UD;
    }
    if (needs_memory(id, r) && !has_mem) return DECODE_UD;

    /* ---- normalisation ---- */
    unsigned ssz = string_size(id, r);
    if (is_jcc(id) || id == X86_INS_LOOP || id == X86_INS_LOOPE || id == X86_INS_LOOPNE ||
        id == X86_INS_JCXZ || id == X86_INS_JECXZ ||
        ((id == X86_INS_JMP || id == X86_INS_CALL) && op[0].kind == OPND_IMM)) {
        /* rel8 for short forms, rel16/32 by operand size otherwise; the
         * displacement is always the instruction's last bytes. */
        bool rel8 = r->map == 0 && r->opc != 0xe8 && r->opc != 0xe9;
        op[0].kind = OPND_IMM;
        op[0].size = out->opsize;
        op[0].disp = tail_rel(bytes, out->len, rel8 ? 1 : out->opsize);
        out->nopnd = 1;
        out->flags |= IF_REL_BRANCH;
    } else if (ssz) {
        /* Capstone lists the memory operands (destination first) and the
         * accumulator / DX; fix the sizes and the segments: (E)DI is always ES,
         * (E)SI is DS or the override. */
        for (int i = 0; i < out->nopnd; i++) {
            if (op[i].kind == OPND_MEM) {
                op[i].size = (uint8_t)ssz;
                op[i].seg = op[i].base == R_EDI ? S_ES : (r->seg >= 0 ? (uint8_t)r->seg : S_DS);
            }
        }
    }
    switch (id) {
    case X86_INS_XLATB:
        /* No operand from Capstone: op[0] = byte [EBX/BX] (DS or override); add AL. */
        out->nopnd = 1;
        op[0] = (struct opnd){ .kind = OPND_MEM, .size = 1, .seg = r->seg >= 0 ? (uint8_t)r->seg : S_DS,
                               .base = R_EBX, .index = REG_NONE };
        break;
    case X86_INS_AAD: case X86_INS_AAM:
        /* Capstone shows no operand: op[0] = the imm8 base (0x0a usually). */
        out->nopnd = 1;
        op[0] = (struct opnd){ .kind = OPND_IMM, .size = 1, .disp = bytes[out->len - 1],
                               .base = REG_NONE, .index = REG_NONE };
        break;
    case X86_INS_ENTER:
        op[0].size = 2;
        op[0].disp &= 0xffff;
        op[1].size = 1;
        op[1].disp &= 0xff;
        break;
    case X86_INS_RET: case X86_INS_RETF:
        if (out->nopnd == 1) {
            op[0].size = 2;
            op[0].disp &= 0xffff;
        }
        break;
    case X86_INS_INT:
        op[0].size = 1;
        op[0].disp &= 0xff;
        break;
    case X86_INS_PUSH:
        if (op[0].kind == OPND_IMM) {
            /* 6A sign-extends imm8, 68 takes imm16/32: to the operand size. */
            uint32_t v = r->opc == 0x6a ? tail_rel(bytes, out->len, 1) : op[0].disp;
            op[0].size = out->opsize;
            op[0].disp = v & size_mask(out->opsize);
        } else if (op[0].kind == OPND_MEM) {
            op[0].size = out->opsize;
        }
        break;
    case X86_INS_POP:
        if (op[0].kind == OPND_MEM) op[0].size = out->opsize;
        break;
    case X86_INS_LJMP: case X86_INS_LCALL:
        if (op[0].kind == OPND_MEM) op[0].size = (uint8_t)(out->opsize + 2);
        else if (out->nopnd == 2) { /* ptr16:16/32: op[0] selector, op[1] offset */
            op[0].size = 2;
            op[0].disp &= 0xffff;
            op[1].size = out->opsize;
            op[1].disp &= size_mask(out->opsize);
        }
        break;
    case X86_INS_LDS: case X86_INS_LES: case X86_INS_LSS: case X86_INS_LFS: case X86_INS_LGS:
        op[1].size = (uint8_t)(out->opsize + 2);
        break;
    case X86_INS_LGDT: case X86_INS_LIDT: case X86_INS_SGDT: case X86_INS_SIDT:
        op[0].size = 6;
        break;
    case X86_INS_BOUND:
        op[1].size = (uint8_t)(2 * out->opsize);
        break;
    case X86_INS_LEA:
        op[1].size = out->opsize;
        break;
    case X86_INS_INVLPG: case X86_INS_CLFLUSH:
        op[0].size = 1;
        break;
    case X86_INS_CMPXCHG8B:
        op[0].size = 8;
        break;
    case X86_INS_FXSAVE: case X86_INS_FXRSTOR:
        op[0].size = 0; /* 512 does not fit the byte: see docs/DECODE.md */
        break;
    case X86_INS_FNSAVE: case X86_INS_FRSTOR:
        op[0].size = out->opsize == 4 ? 108 : 94;
        break;
    case X86_INS_FLDENV: case X86_INS_FNSTENV:
        op[0].size = out->opsize == 4 ? 28 : 14;
        break;
    case X86_INS_FLDCW: case X86_INS_FNSTCW:
        op[0].size = 2;
        break;
    case X86_INS_FNSTSW:
        op[0].size = 2;
        break;
    case X86_INS_LLDT: case X86_INS_LTR: case X86_INS_LMSW: case X86_INS_VERR: case X86_INS_VERW:
        op[0].size = 2;
        break;
    case X86_INS_SLDT: case X86_INS_STR: case X86_INS_SMSW:
        op[0].size = op[0].kind == OPND_MEM ? 2 : out->opsize;
        break;
    case X86_INS_LAR: case X86_INS_LSL:
        op[1].size = 2;
        break;
    case X86_INS_ARPL:
        op[0].size = 2;
        op[1].size = 2;
        break;
    case X86_INS_MOV:
        if (r->map == 0 && r->opc == 0x8e) {         /* MOV Sreg, r/m16 */
            op[1].size = 2;
        } else if (r->map == 0 && r->opc == 0x8c) {  /* MOV r/m, Sreg */
            op[0].size = op[0].kind == OPND_MEM ? 2 : out->opsize;
        }
        break;
    default:
        break;
    }
    if (ends_block(id, r, out)) out->flags |= IF_ENDS_BLOCK;
    if (sensitive(id, r, out)) out->flags |= IF_SENSITIVE;
    insn_exec_fn fn = interp_exec_table[id];
    /* VMCALL/VMMCALL are not an instruction family of the interpreter but
     * the VMM's own door (cpu/vmm_hypercall.c). */
    if (id == X86_INS_VMCALL || id == X86_INS_VMMCALL) fn = exec_vmcall;
    out->exec = fn ? fn : exec_ud;
    if ((r->prefix & PFX_LOCK) && fn && fn != exec_ud) out->exec = exec_locked; /* atomic RMW (-smp) */
    return DECODE_OK;
}

int decode_one(struct decoder *d, const uint8_t *bytes, size_t avail, uint32_t eip, bool code32,
               struct insn *out)
{
    size_t n = avail < MAX_INSN_LEN ? avail : MAX_INSN_LEN;
    code32 = !!code32;
    if (n == 0) return DECODE_SHORT;
    struct raw r;
    int pr = parse_raw(bytes, n, &r);
    if (pr < 0) return DECODE_UD;
    if (pr == 0) return n < MAX_INSN_LEN ? DECODE_SHORT : DECODE_UD;
    int rc = run_capstone(d, bytes, n, eip, code32);
    if (rc == DECODE_UD && r.map == 1 && r.opc >= 0x19 && r.opc <= 0x1f) {
        /* 0F 19-1F /r are all hint NOPs on a P6; Capstone rejects some ModRM
         * forms (e.g. 0F 1E FB). Decode them as 0F 19 /r, which it takes. */
        uint8_t nb[MAX_INSN_LEN];
        memcpy(nb, bytes, n);
        nb[r.opc_pos] = 0x19;
        rc = run_capstone(d, nb, n, eip, code32);
    }
    if (rc != DECODE_OK) return rc;
    const cs_insn *ci = d->ci[code32];
    if (ci->size > n || ci->size <= (unsigned)r.opc_pos) return DECODE_UD;
    return build(ci, &r, bytes, code32, out);
}

int decode_text(struct decoder *d, const uint8_t *bytes, size_t avail, uint32_t eip, bool code32,
                char *buf, size_t bufsz)
{
    size_t n = avail < MAX_INSN_LEN ? avail : MAX_INSN_LEN;
    code32 = !!code32;
    if (bufsz == 0) return -1;
    buf[0] = 0;
    const uint8_t *p = bytes;
    size_t sz = n;
    uint64_t addr = eip;
    cs_insn *ci = d->ci[code32];
    if (n == 0 || !cs_disasm_iter(d->h[code32], &p, &sz, &addr, ci)) {
        snprintf(buf, bufsz, "(bad)");
        return -1;
    }
    if (ci->op_str[0]) snprintf(buf, bufsz, "%s %s", ci->mnemonic, ci->op_str);
    else snprintf(buf, bufsz, "%s", ci->mnemonic);
    return (int)ci->size;
}
