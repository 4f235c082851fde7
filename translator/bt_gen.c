/* Translation of one decoded block (cpu/decode_cache.h) into host code.
 *
 * Layout of a translated block: a prologue that charges the block's
 * instruction count to the budget (leaving if it is exhausted), then each
 * guest instruction in order — natively where this file knows how, else a
 * call of the interpreter's handler through the fallback stub — then the exit
 * stubs, then the cold paths of inline memory accesses.
 *
 * Native memory accesses (flat ES/SS/DS, 32-bit addresses) probe the shadow
 * TLB inline; a miss runs the whole instruction through its interpreter
 * handler (which takes the slow path, raises the fault, or writes a code page)
 * and resumes after it. Guest flags stay in host RFLAGS: the probe saves them
 * with PUSHFQ and restores them with POPFQ only when they are live (a per-block
 * backward liveness pass); dead flags are kept in a stash slot until rewritten,
 * so a fault in between still pushes the exact EFLAGS. Undefined flags follow
 * the interpreter (the reference): IMUL keeps SF ZF AF PF. v->icount is made
 * exact at every call into C (see bt_internal.h). At CPL 0, CLI, STI,
 * PUSHF, POPF and MOV from CRn are translated inline against the vCPU
 * state (adaptive translation: gen_sensitive), RDTSC as a direct C call;
 * other sensitive
 * instructions call the interpreter's handler, which enters the VMM through
 * vmm_call. */
#include <capstone/capstone.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/decode_cache.h"
#include "translator/bt_internal.h"
#include "translator/emit.h"

#define OFF_R(g)   ((int32_t)(offsetof(struct vcpu, r) + 4 * (g)))
#define OFF_EIP    ((int32_t)offsetof(struct vcpu, eip))
#define OFF_ICOUNT ((int32_t)offsetof(struct vcpu, icount))
#define OFF_VBT    ((int32_t)offsetof(struct vcpu, bt))
#define OFF_LAST   ((int32_t)offsetof(struct bt_vcpu, last_exit))
#define OFF_BASE   ((int32_t)offsetof(struct bt_vcpu, icount_base))
#define OFF_IJCKEY  ((int32_t)offsetof(struct bt_ijc_ent, key))
#define OFF_IJCCODE ((int32_t)offsetof(struct bt_ijc_ent, code))
#define OFF_EFL    ((int32_t)offsetof(struct vcpu, eflags))
#define OFF_IRQREQ ((int32_t)offsetof(struct vcpu, irq_req))

#define FL_ALL F_ARITH

/* Prediction misses a probe site may take before it stops predicting. */
#define PRED_MISSES 256

struct cold {
    uint8_t *jfrom;  /* rel32 of the jne taken when the predicted page's TLB entry does not match */
    uint8_t *jfrom2; /* rel32 of the ja taken when the access is not in the predicted page */
    uint8_t *ok;     /* after the probe's addend load */
    uint32_t *pred;  /* the prediction {page, slot offset, misses left} */
    uint8_t *site;   /* the prediction check (14 bytes) */
    unsigned size;
    bool write;
    uint8_t *resume; /* where the native path continues */
    int k;           /* instruction index */
    bool stashed;    /* the flags were stashed before this instruction ... */
    uint32_t w_accum; /* ... and these bits were rewritten in RFLAGS since */
    bool stash_after; /* the native path has a stash after the probe */
    bool leave;       /* a later access reuses this probe's r8/r9: leave the block after the fallback */
    uint8_t *jx[2];   /* more rel32s into the same fallback (inline sensitive instructions' checks) */
    int remat1;       /* 1 + the instruction whose re-execution gives the flags (gen_remat), 0: none */
    bool latched;     /* ... a CMP/TEST latched in r11 (mem_latch) */
    bool r11_after;   /* the main path keeps the flags in r11 after the probe (flags_r11) */
    /* An access through the physical view (gen_view_probe): its MOVABS,
     * load and (a write) store, which bt_fault.c sends here when they
     * fault, and whether the cold path first saves RFLAGS into r11 (what a
     * checking probe would have done on its main path). */
    uint8_t *vstart, *vload, *vstore;
    bool vsave;
    bool fused;       /* ... its load and store gave way to the instruction's own access (view_fuse) */
};

/* Cold records a translation may have (two merged blocks; a loop emits
 * the body twice), and view fault sites: at most two for each (a view
 * write's probe load and store). */
#define GEN_COLDS (4 * BLOCK_MAX_INSNS)
#define BT_SITES_MAX (2 * GEN_COLDS)

struct gen {
    struct bt_vcpu *bt;
    struct emit e;
    struct tb *tb;
    uint32_t mode;
    int ncold;
    bool native[2 * BLOCK_MAX_INSNS];
    bool df[2 * BLOCK_MAX_INSNS]; /* EFLAGS.DF before each instruction: MODE_DF, then CLD/STD in the block */
    bool df_end;      /* ... and after the last */
    uint32_t eip[2 * BLOCK_MAX_INSNS + 1]; /* the guest EIP of each instruction, and the end of the last */
    bool keep_flags;  /* the next probe keeps the flags as if live: its instruction probes again (PUSH m32) */
    uint32_t writes[2 * BLOCK_MAX_INSNS]; /* flags each instruction writes */
    /* Flag stash (see gen_probe): the guest flags were saved to the slot at
     * [rsp + 8] (STASH) and RFLAGS holds them only for the bits in w_accum. */
    bool stashed;
    uint32_t w_accum;
    uint32_t live_before[2 * BLOCK_MAX_INSNS + 1];
    /* The last probe of a memory operand, while r8 (its address) and r9
     * (its TLB addend) still hold: a later operand with the same address
     * and registers, no wider, and no write after a read probe, is on the
     * same page and needs no probe (e.g. a spill and its reload). */
    int reuse_cold;           /* its cold path, -1: none */
    int32_t reuse_disp;       /* the operand is at r8 + this (probe_disp) */
    /* The last full probe through a base register (reg + offset, flat
     * segment; ESP for the stack instructions): while r8/r9 still hold its
     * address L and addend and the register moved only by known amounts, an
     * access through it at L + D checks only that it lies in L's page
     * (gen_probe with g->pdelta). base_rel = L - the register's value now. */
    int base_cold; /* its cold path, -1: none */
    int base_reg;  /* the guest register it was through (gen_base_probe) */
    int32_t base_rel;
    bool base_write;     /* it was probed for writing */
    bool pdelta;      /* the next gen_probe is a same-page check at r8 + pdelta_x */
    bool may_wrap;    /* the next gen_probe is of an operand that seg_may_wrap: not through the view */
    int32_t pdelta_x;
    /* The probed guest memory is [r9 + r8 + probe_disp]: the offset of a
     * same-page access from the probe that set r8/r9, else 0. */
    int32_t probe_disp;
    struct opnd reuse_op;
    bool reuse_write;
    /* Flag rematerialisation (gen_remat): fsrc is the last instruction that
     * wrote all six arithmetic flags (-1: unknown), whose inputs must be
     * unchanged from fsrc_from on; in remat_mode RFLAGS does not hold the
     * guest flags but fsrc recomputes them wherever they can be observed. */
    int fsrc, fsrc_from;
    bool remat_mode;
    /* Self-loop (gen_loop): the flag source at the back edge (-1: the block
     * is not translated as a loop), the back edges' rel32s to point at the
     * loop check, and whether the loop's copy of the body is being emitted. */
    int loop_w;
    int nloop;
    uint8_t *loop_jmp[2];
    bool in_loop;
    /* The loop check is entered with r9 = the view's base: the first body
     * had it there at each back edge (so the second body starts with it),
     * and the second body's back edges load it where it is not. */
    bool loop_r9;
    /* r9 holds the view's base (physical, linear or user), loaded by a
     * view probe's MOVABS and untouched since on the main path; the view
     * probes' cold paths leave it so (gen_view_probe, gen_colds). */
    bool r9_view;
    uint8_t *prologue_out; /* rel32 of the JS of a prologue that saved the flags */
    /* The guest flags are in r11 (lflags), RFLAGS is garbage: a probe with
     * live flags saves them once and they stay there across the probes
     * that follow, until an instruction needs them (gen_flags_home). */
    bool flags_r11;
    /* A 32-bit CMP or TEST with a memory operand loads it into r11 first
     * (mem_latch): while r11 still holds it, that instruction can be run
     * again from r11 to recompute the flags (gen_remat), as a register
     * CMP can. The instruction, or -1. */
    int r11_mem;
    int nslot;             /* chainable exits used (tb->exit) */
    int ndexit; /* taken exits of a merged Jcc, emitted after the body */
    uint8_t *dexit_at[2];
    uint32_t dexit_target[2];
    /* The physical view (MODE_PHYS_DIRECT: reads, and writes if
     * view_writes, at view + address, no check; NULL: TLB probes), or the
     * linear view (MODE_LIN_DIRECT, lin: a fault's cold path tries the TLB
     * first), and the fault sites of the translation's view accesses. */
    const uint8_t *view;
    bool view_writes;
    bool lin;
    int nvsite;
    int cur_k; /* the instruction gen_native is emitting */
    /* Last, and not cleared before a translation (28 KiB): each is cleared
     * when it is created (gen_probe, vmm_cold), or filled (gen_colds). */
    struct cold cold[GEN_COLDS];
    struct bt_fault_site vsite[BT_SITES_MAX]; /* [nvsite] */
};

/* Merged TBs (bt_merge_target): instructions [0, n1) are the first decoded
 * block, [n1, n) the second, each charged where it starts (gen_prologue,
 * gen_transition). The end of instruction k's part: */
static int part_end(const struct gen *g, int k) { return k < g->tb->n1 ? g->tb->n1 : g->tb->n; }

/* Is instruction k the Jcc or JMP ending a first block that another follows? */
static bool ends_first_block(const struct gen *g, int k) { return tb_merged(g->tb) && k == g->tb->n1 - 1; }

/* The guest EIP of instruction k (set up by bt_translate). */
static uint32_t insn_eip(const struct gen *g, int k) { return g->eip[k]; }

/* ---------- what can be translated natively ---------- */

static bool is_gpr(const struct opnd *o) { return o->kind == OPND_REG && o->rclass == RC_GPR && o->size <= 4 && o->size != 3; }

static bool seg_flat(uint32_t mode, int seg)
{
    switch (seg) {
    case S_ES: return mode & MODE_FLAT_ES;
    case S_SS: return mode & MODE_FLAT_SS;
    case S_DS: return mode & MODE_FLAT_DS;
    default: return false;
    }
}

static bool is_lods(const struct insn *in)
{
    return in->id == X86_INS_LODSB || in->id == X86_INS_LODSW || in->id == X86_INS_LODSD;
}

static bool is_scas(const struct insn *in)
{
    return in->id == X86_INS_SCASB || in->id == X86_INS_SCASW || in->id == X86_INS_SCASD;
}

/* Can the offset of operand o not wrap past 4 GiB: a byte, or a constant
 * offset that fits? */
static bool seg_nowrap(const struct opnd *o)
{
    return o->size == 1 || (o->base == REG_NONE && o->index == REG_NONE && o->disp <= 0xffffffffu - (o->size - 1));
}

/* An FS or GS operand whose segment base gen_seg_ea adds at run time
 * (MODE_BIG_FS/GS): with a page-aligned base any one; else only where the
 * offset cannot wrap past 4 GiB, a byte or a constant offset. */
static bool seg_based(uint32_t mode, const struct opnd *o)
{
    uint32_t big, paged;
    if (o->seg == S_FS) big = MODE_BIG_FS, paged = MODE_BIG_FS_PAGED;
    else if (o->seg == S_GS) big = MODE_BIG_GS, paged = MODE_BIG_GS_PAGED;
    else return false;
    if (!(mode & big)) return false;
    return (mode & paged) || seg_nowrap(o);
}

/* A native operand whose offset may wrap past 4 GiB (seg_based with a
 * page-aligned base): the #GP past its limit reaches the interpreter only
 * through the TLB probe's page check (base + offset then crosses a page),
 * so it is never a view access. */
static bool seg_may_wrap(uint32_t mode, const struct opnd *o) { return !seg_flat(mode, o->seg) && !seg_nowrap(o); }

/* A memory operand the translator can address: 32-bit addressing, a flat
 * segment or a 4 GiB one with a base (seg_based). */
static bool mem_addr_ok(const struct insn *in, const struct opnd *o, uint32_t mode)
{
    return o->kind == OPND_MEM && in->addrsize == 4 && (seg_flat(mode, o->seg) || seg_based(mode, o));
}

/* ... of 1, 2 or 4 bytes. */
static bool mem_ok(const struct insn *in, const struct opnd *o, uint32_t mode)
{
    return mem_addr_ok(in, o, mode) && (o->size == 1 || o->size == 2 || o->size == 4);
}

/* Byte registers 4-7 are AH..BH: encodable only without REX, so never
 * together with a memory operand (addressed through r9) or r12. */
static bool byte_hi(const struct opnd *o) { return o->kind == OPND_REG && o->size == 1 && o->reg >= 4; }

static unsigned mode_cpl(uint32_t mode) { return (mode >> MODE_CPL_SHIFT) & 3; }

static bool stack_ok(const struct insn *in, uint32_t mode)
{
    return in->opsize == 4 && (mode & MODE_STACK32) && (mode & MODE_FLAT_SS);
}

enum alu_kind { K_NONE, K_ALU, K_TEST, K_MOV, K_UNARY, K_SHIFT, K_IMUL, K_MUL1, K_MOVX, K_LEA, K_XCHG, K_CONV, K_NOP, K_BSWAP, K_CX8,
                K_SETCC, K_CMOV, K_PUSH, K_POP, K_LEAVE, K_CALL, K_RET, K_JMP, K_JCC, K_STRING, K_DIV, K_XCHGOP,
                K_SHXD, K_BITT, K_MOVS, K_REPSTOS, K_BSCAN, K_REPMOVS,
                /* sensitive instructions translated inline at CPL 0 (see gen_sensitive) */
                K_CLI, K_STI, K_PUSHF, K_POPF, K_RDCR, K_RDTSC };

static int alu_digit(unsigned id)
{
    switch (id) {
    case X86_INS_ADD: return 0;
    case X86_INS_OR: return 1;
    case X86_INS_ADC: return 2;
    case X86_INS_SBB: return 3;
    case X86_INS_AND: return 4;
    case X86_INS_SUB: return 5;
    case X86_INS_XOR: return 6;
    case X86_INS_CMP: return 7;
    default: return -1;
    }
}

static int shift_digit(unsigned id)
{
    switch (id) {
    case X86_INS_ROL: return 0;
    case X86_INS_ROR: return 1;
    case X86_INS_RCL: return 2;
    case X86_INS_RCR: return 3;
    case X86_INS_SHL: case X86_INS_SAL: return 4;
    case X86_INS_SHR: return 5;
    case X86_INS_SAR: return 7;
    default: return -1;
    }
}

/* The kind an instruction id alone gives (kind_of refines MOV, IMUL, MOVS*
 * and LODS/STOS by their encoding); K_NONE (0) for the rest. A table, not a
 * switch: kind_of runs several times per instruction in a translation's
 * passes, and as a switch it was 11% of the translator's instructions
 * (callgrind). */
static const uint8_t kind_table[X86_INS_ENDING] = {
    [X86_INS_ADD] = K_ALU, [X86_INS_OR] = K_ALU, [X86_INS_ADC] = K_ALU, [X86_INS_SBB] = K_ALU,
    [X86_INS_AND] = K_ALU, [X86_INS_SUB] = K_ALU, [X86_INS_XOR] = K_ALU, [X86_INS_CMP] = K_ALU,
    [X86_INS_ROL] = K_SHIFT, [X86_INS_ROR] = K_SHIFT, [X86_INS_RCL] = K_SHIFT, [X86_INS_RCR] = K_SHIFT,
    [X86_INS_SHL] = K_SHIFT, [X86_INS_SAL] = K_SHIFT, [X86_INS_SHR] = K_SHIFT, [X86_INS_SAR] = K_SHIFT,
    [X86_INS_CLI] = K_CLI, [X86_INS_RDTSC] = K_RDTSC, [X86_INS_STI] = K_STI,
    [X86_INS_PUSHF] = K_PUSHF, [X86_INS_PUSHFD] = K_PUSHF, [X86_INS_POPF] = K_POPF, [X86_INS_POPFD] = K_POPF,
    [X86_INS_TEST] = K_TEST, [X86_INS_MOV] = K_MOV,
    [X86_INS_INC] = K_UNARY, [X86_INS_DEC] = K_UNARY, [X86_INS_NOT] = K_UNARY, [X86_INS_NEG] = K_UNARY,
    [X86_INS_IMUL] = K_IMUL, [X86_INS_MUL] = K_MUL1, [X86_INS_DIV] = K_DIV,
    [X86_INS_CMPXCHG] = K_XCHGOP, [X86_INS_XADD] = K_XCHGOP,
    [X86_INS_MOVZX] = K_MOVX, [X86_INS_MOVSX] = K_MOVX, [X86_INS_LEA] = K_LEA, [X86_INS_XCHG] = K_XCHG,
    [X86_INS_CDQ] = K_CONV, [X86_INS_CWDE] = K_CONV, [X86_INS_CBW] = K_CONV, [X86_INS_CWD] = K_CONV,
    [X86_INS_NOP] = K_NOP, [X86_INS_CLD] = K_NOP, [X86_INS_STD] = K_NOP, [X86_INS_BSWAP] = K_BSWAP, [X86_INS_SHLD] = K_SHXD, [X86_INS_SHRD] = K_SHXD,
    [X86_INS_BSF] = K_BSCAN, [X86_INS_BSR] = K_BSCAN,
    [X86_INS_MOVSB] = K_MOVS, [X86_INS_MOVSW] = K_MOVS, [X86_INS_MOVSD] = K_MOVS,
    [X86_INS_BT] = K_BITT, [X86_INS_BTS] = K_BITT, [X86_INS_BTR] = K_BITT, [X86_INS_BTC] = K_BITT,
    [X86_INS_CMPXCHG8B] = K_CX8, [X86_INS_PUSH] = K_PUSH, [X86_INS_POP] = K_POP, [X86_INS_LEAVE] = K_LEAVE,
    [X86_INS_LODSB] = K_REPSTOS, [X86_INS_LODSW] = K_REPSTOS, [X86_INS_LODSD] = K_REPSTOS,
    [X86_INS_STOSB] = K_REPSTOS, [X86_INS_STOSW] = K_REPSTOS, [X86_INS_STOSD] = K_REPSTOS,
    [X86_INS_SCASB] = K_STRING, [X86_INS_SCASW] = K_STRING, [X86_INS_SCASD] = K_STRING,
    [X86_INS_CALL] = K_CALL, [X86_INS_RET] = K_RET, [X86_INS_JMP] = K_JMP,
};

static enum alu_kind kind_of(const struct insn *in)
{
    if (in->opc_map == 1 && (in->opc & 0xf0) == 0x90) return K_SETCC;
    if (in->opc_map == 1 && (in->opc & 0xf0) == 0x40) return K_CMOV;
    if ((in->opc_map == 1 && (in->opc & 0xf0) == 0x80) || (in->opc_map == 0 && (in->opc & 0xf0) == 0x70))
        return (in->flags & IF_REL_BRANCH) ? K_JCC : K_NONE;
    enum alu_kind k = in->id < X86_INS_ENDING ? (enum alu_kind)kind_table[in->id] : K_NONE;
    switch (k) {
    case K_MOV: return in->opc_map == 1 && in->opc == 0x20 ? K_RDCR : K_MOV;
    case K_IMUL: return in->nopnd == 1 ? K_MUL1 : K_IMUL;
    case K_MOVS: /* (MOVSD: also SSE2's, F2 0F 10) */
        if (in->opc_map != 0 || (in->opc != 0xa4 && in->opc != 0xa5)) return K_NONE;
        return (in->prefix & PFX_REP) ? K_REPMOVS : K_MOVS;
    case K_REPSTOS: return (in->prefix & PFX_REP) ? K_REPSTOS : K_STRING; /* (LODS and STOS) */
    default: return k;
    }
}

/* BT* m32, r32: the bit offset in the register is signed and selects the
 * dword at ea + 4 * (offset SAR 5), which is what is probed (gen_bt_far). */
static bool bt_far_form(const struct insn *in)
{
    return in->op[0].kind == OPND_MEM && in->op[1].kind == OPND_REG && in->op[0].size == 4 && in->addrsize == 4;
}

/* Operand pair check for two-operand forms dst, src (reg/mem/imm). */
static bool pair_ok(const struct insn *in, uint32_t mode, bool src_imm_ok)
{
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    bool dm = d->kind == OPND_MEM, sm = s->kind == OPND_MEM;
    if (dm && sm) return false;
    if (!(is_gpr(d) || (dm && mem_ok(in, d, mode)))) return false;
    if (!(is_gpr(s) || (sm && mem_ok(in, s, mode)) || (src_imm_ok && s->kind == OPND_IMM))) return false;
    if (s->kind != OPND_IMM && d->size != s->size) return false;
    if ((dm || sm) && (byte_hi(d) || byte_hi(s))) return false;
    return true;
}

/* Is instruction in (in a TB of `mode`, EFLAGS.DF = df there) emitted as
 * host code? Else it calls the interpreter's handler. */
static bool native_ok(const struct bt_vcpu *bt, const struct insn *in, uint32_t mode, bool df)
{
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    enum alu_kind kind = kind_of(in);
    /* (REP only on STOS and MOVS: gen_rep_stos, gen_rep_movs; and on BSF/BSR,
     * which it leaves as they are: TZCNT/LZCNT on an i686, as Linux's __ffs
     * writes BSF, are decoded as such) */
    uint8_t refused = PFX_REPNE | (kind == K_REPSTOS || kind == K_REPMOVS || kind == K_BSCAN ? 0 : PFX_REP);
    if (!(mode & MODE_CODE32) || (in->prefix & refused)) return false;
    /* LOCK (the decoder lets it through only on the lockable instructions
     * with a memory destination): with one vCPU nothing else writes guest
     * RAM between the host instruction's read and its write, so the plain
     * host instruction is atomic as it is (the host's TSO order is the
     * guest's); with several the interpreter's host atomics or exclusive
     * section (cpu/lock_atomic.h). Linux's smp_mb() is LOCK ADD to the
     * stack: ~15 interpreter calls per fork+exit+wait. */
    if ((in->prefix & PFX_LOCK) && bt->v->m->ncpu != 1) return false;
    /* Under -stats/-trace (v->obs) every sensitive instruction goes
     * through vmm_call, so that each VMM entry is counted and traced. */
    if ((in->flags & IF_SENSITIVE) && (bt->v->obs || bt->no_adaptive)) return false;
    bool flat_cs = (mode & MODE_FLAT_CS) != 0;
    switch (kind) {
    case K_ALU: case K_MOV:
        return in->nopnd == 2 && pair_ok(in, mode, true);
    case K_TEST:
        return in->nopnd == 2 && pair_ok(in, mode, true) && d->kind != OPND_IMM;
    case K_UNARY:
        return in->nopnd == 1 && (is_gpr(d) || (mem_ok(in, d, mode) && true));
    case K_SHIFT:
        if (!(is_gpr(d) || mem_ok(in, d, mode))) return false;
        if (in->nopnd == 1) return true;
        if (in->nopnd != 2) return false;
        if (s->kind == OPND_IMM) return true;
        return s->kind == OPND_REG && s->rclass == RC_GPR && s->size == 1 && s->reg == R_ECX && !byte_hi(d);
    case K_MUL1: /* EDX:EAX (DX:AX, AX) = EAX * r/m: the host instruction on the host registers */
        return in->nopnd == 1 && (is_gpr(d) || mem_ok(in, d, mode));
    case K_IMUL:
        if (in->nopnd < 2 || !is_gpr(d) || d->size == 1) return false;
        if (!(is_gpr(s) || mem_ok(in, s, mode)) || s->size != d->size) return false;
        return in->nopnd == 2 || in->op[2].kind == OPND_IMM;
    case K_MOVX:
        if (in->nopnd != 2 || !is_gpr(d) || d->size == 1) return false;
        if (s->kind == OPND_MEM) return mem_ok(in, s, mode);
        if (!is_gpr(s) || s->size >= d->size) return false;
        return !(byte_hi(s) && host_reg(d->reg) >= 8);
    case K_LEA:
        return in->nopnd == 2 && is_gpr(d) && d->size >= 2 && in->addrsize == 4 && s->kind == OPND_MEM;
    case K_XCHG: /* registers; or memory, 16/32-bit: the host's XCHG, locked itself */
        if (in->nopnd != 2 || !is_gpr(s) || d->size != s->size) return false;
        return is_gpr(d) || ((d->size == 2 || d->size == 4) && mem_ok(in, d, mode));
    case K_CONV:
        return true;
    case K_NOP: /* CLD and STD that leave DF as it is (Linux's entry code: CLD, DF already 0)
                 * do nothing; those that change it call out (g->df follows them) */
        if (in->id == X86_INS_CLD) return !df;
        if (in->id == X86_INS_STD) return df;
        return true;
    case K_BSCAN: /* BSF/BSR r, r/m (16/32), where the host's write ZF alone, as the interpreter's */
        return bt->bscan_native && in->nopnd == 2 && is_gpr(d) && (d->size == 2 || d->size == 4) &&
               s->size == d->size && (is_gpr(s) || mem_ok(in, s, mode));
    case K_SHXD: /* SHLD/SHRD r/m, r, imm8 or CL: the interpreter takes the host's result and flags
                  * (from the host it runs on: where they depend on more than the operands, calls) */
        if (!bt->shxd_native || in->nopnd != 3 || !(d->size == 2 || d->size == 4) || !(is_gpr(d) || mem_ok(in, d, mode))) return false;
        if (!is_gpr(s) || s->size != d->size) return false;
        return in->op[2].kind == OPND_IMM || (in->op[2].kind == OPND_REG && in->op[2].rclass == RC_GPR &&
                                              in->op[2].size == 1 && in->op[2].reg == R_ECX);
    case K_BITT: /* BT/BTS/BTR/BTC r/m, r or imm8, where the host writes only CF as the interpreter does.
                  * (A memory operand with a register offset addresses another word: bt_far_form, SARX.) */
        if (!bt->bt_native || in->nopnd != 2 || !(d->size == 2 || d->size == 4)) return false;
        if (s->kind == OPND_IMM) return is_gpr(d) || mem_ok(in, d, mode);
        if (!is_gpr(s) || s->size != d->size) return false;
        return is_gpr(d) || (bt_far_form(in) && bt->bmi2 && mem_ok(in, d, mode));
    case K_BSWAP: /* (the 16-bit form is undefined: left to the interpreter) */
        return in->nopnd == 1 && is_gpr(d) && d->size == 4;
    case K_CX8: /* CMPXCHG8B m64 without LOCK (excluded above): EDX:EAX and ECX:EBX are the host's */
        return in->nopnd == 1 && mem_addr_ok(in, d, mode) && d->size == 8;
    case K_SETCC:
        return in->nopnd == 1 && ((is_gpr(d) && d->size == 1) || mem_ok(in, d, mode));
    case K_CMOV:
        return in->nopnd == 2 && is_gpr(d) && d->size >= 2 && (is_gpr(s) || mem_ok(in, s, mode)) && s->size == d->size;
    case K_PUSH:
        return in->nopnd == 1 && stack_ok(in, mode) &&
               ((is_gpr(d) && d->size == 4) || d->kind == OPND_IMM || (mem_ok(in, d, mode) && d->size == 4));
    case K_POP:
        return in->nopnd == 1 && stack_ok(in, mode) && is_gpr(d) && d->size == 4;
    case K_LEAVE:
        return in->nopnd == 0 && stack_ok(in, mode);
    case K_XCHGOP: /* CMPXCHG, XADD r/m, r without LOCK (excluded above): the host's does the same */
        return in->nopnd == 2 && (d->size == 4 || d->size == 2) && (is_gpr(d) || mem_ok(in, d, mode)) &&
               is_gpr(s) && s->size == d->size;
    case K_DIV: /* EDX:EAX / r/m32 */
        return in->nopnd == 1 && d->size == 4 && (is_gpr(d) || mem_ok(in, d, mode));
    case K_STRING: { /* LODS, STOS, SCAS without REP (excluded above), flat segment */
        const struct opnd *m = d->kind == OPND_MEM ? d : s;
        return in->nopnd == 2 && m->kind == OPND_MEM && in->addrsize == 4 && seg_flat(mode, m->seg) &&
               m->size == insn_string_elem_size(in);
    }
    case K_REPSTOS: /* REP STOS upwards, flat ES (gen_rep_stos) */
        return !df && in->addrsize == 4 && d->kind == OPND_MEM && seg_flat(mode, d->seg) &&
               d->size == insn_string_elem_size(in);
    case K_REPMOVS: /* REP MOVS upwards, ES and the source segment flat (gen_rep_movs) */
        return !df && in->nopnd == 2 && d->kind == OPND_MEM && s->kind == OPND_MEM && in->addrsize == 4 &&
               seg_flat(mode, d->seg) && seg_flat(mode, s->seg) && d->size == insn_string_elem_size(in);
    case K_MOVS: /* MOVS without REP (excluded above): ES and the source segment flat */
        return in->nopnd == 2 && d->kind == OPND_MEM && s->kind == OPND_MEM && in->addrsize == 4 &&
               seg_flat(mode, d->seg) && seg_flat(mode, s->seg) && d->size == insn_string_elem_size(in);
    case K_CALL:
        if (!flat_cs || !stack_ok(in, mode) || in->nopnd != 1) return false;
        return (in->flags & IF_REL_BRANCH) || (is_gpr(d) && d->size == 4);
    case K_RET:
        return flat_cs && stack_ok(in, mode) && (in->nopnd == 0 || in->op[0].kind == OPND_IMM);
    case K_JMP:
        if (!flat_cs || in->opsize != 4 || in->nopnd != 1) return false;
        return (in->flags & IF_REL_BRANCH) || (is_gpr(d) && d->size == 4) || mem_ok(in, d, mode);
    case K_JCC:
        return flat_cs && in->opsize == 4;
    /* Adaptive translation: at CPL 0 (IOPL is not in the TB key, so at
     * CPL > 0 the IOPL check stays in the VMM) these only touch vCPU state. */
    case K_CLI: case K_STI:
        return mode_cpl(mode) == 0 && in->nopnd == 0;
    case K_PUSHF: case K_POPF:
        return mode_cpl(mode) == 0 && stack_ok(in, mode);
    case K_RDTSC: /* (CR4.TSD only faults at CPL > 0) */
        return mode_cpl(mode) == 0;
    case K_RDCR:
        return mode_cpl(mode) == 0 && in->nopnd == 2 && d->kind == OPND_REG && d->rclass == RC_GPR &&
               d->size == 4 && s->kind == OPND_REG && s->rclass == RC_CR &&
               (s->reg == 0 || s->reg == 2 || s->reg == 3 || s->reg == 4);
    default:
        return false;
    }
}

/* Flags read and written by a native instruction (fallbacks read all). */
static void flag_effects(const struct insn *in, bool native, uint32_t *r, uint32_t *w)
{
    *r = *w = 0;
    if (!native) {
        *r = FL_ALL;
        return;
    }
    switch (kind_of(in)) {
    case K_ALU:
        *w = FL_ALL;
        if (in->id == X86_INS_ADC || in->id == X86_INS_SBB) *r = F_CF;
        break;
    case K_TEST:
        *w = FL_ALL;
        break;
    case K_IMUL: case K_MUL1: /* the interpreter leaves the undefined SF ZF AF PF unchanged */
        *w = F_CF | F_OF;
        break;
    case K_UNARY:
        if (in->id == X86_INS_INC || in->id == X86_INS_DEC) *w = FL_ALL & ~F_CF;
        else if (in->id == X86_INS_NEG) *w = FL_ALL;
        break;
    case K_SHIFT: {
        int dg = shift_digit(in->id);
        if (in->nopnd == 2 && in->op[1].kind != OPND_IMM) { /* by CL: may be 0 */
            *r = FL_ALL;
            break;
        }
        uint32_t c = in->nopnd == 1 ? 1 : in->op[1].disp & 31;
        if (c == 0) break;
        if (dg == 2 || dg == 3) { *r = F_CF; *w = F_CF | F_OF; }
        else if (dg <= 1) *w = F_CF | F_OF;
        else *w = FL_ALL;
        break;
    }
    case K_SETCC: case K_CMOV: case K_JCC:
        *r = FL_ALL;
        break;
    case K_STRING:
        if (is_scas(in)) *w = FL_ALL;
        break;
    case K_XCHGOP: /* those of CMP EAX, dst or ADD dst, src */
        *w = FL_ALL;
        break;
    case K_BSCAN: /* ZF (bt_host_bscan_writes_only_zf) */
        *w = F_ZF;
        break;
    case K_SHXD: /* all six from the host, unless the count is 0 (none) */
        if (in->op[2].kind != OPND_IMM) *r = FL_ALL; /* by CL: may be 0 (as a shift by CL) */
        else if (in->op[2].disp & 31) *w = FL_ALL;
        break;
    case K_BITT:
        *w = F_CF;
        break;
    case K_CX8:
        *w = F_ZF;
        break;
    case K_DIV: /* the host's flags after DIV, as the interpreter's; a #DE pushes the old ones */
        *r = *w = FL_ALL;
        break;
    case K_CLI: case K_STI: case K_PUSHF: /* (CLI, STI: a block exit or a fallback sees them) */
        *r = FL_ALL;
        break;
    case K_POPF:
        *r = FL_ALL; /* a fault in its pop pushes them */
        *w = FL_ALL;
        break;
    default:
        break;
    }
}

/* ---------- emission helpers ---------- */

/* r8d = effective (= linear, flat segment) address of a memory operand. */
static void gen_ea(struct emit *e, const struct opnd *o, int dst)
{
    if (o->base == REG_NONE && o->index == REG_NONE) {
        mov_r32_imm(e, dst, o->disp);
        return;
    }
    int b = o->base == REG_NONE ? -1 : host_reg(o->base);
    int x = o->index == REG_NONE ? -1 : host_reg(o->index);
    lea(e, 4, dst, rm_sib(b, x, o->scale, (int32_t)o->disp));
}

/* r8d = the linear address of an FS/GS operand (seg_based): its offset
 * plus the segment base, read from the vCPU (the same TB serves every
 * base), without touching the flags. */
static void gen_seg_ea(struct emit *e, const struct opnd *o)
{
    mov_r_rm(e, 4, R10, rm_mem(HR_V, (int32_t)(offsetof(struct vcpu, seg) + o->seg * sizeof(struct seg_cache) +
                                               offsetof(struct seg_cache, base))));
    if (o->base == REG_NONE && o->index == REG_NONE) {
        lea(e, 4, R8, rm_mem(R10, (int32_t)o->disp));
        return;
    }
    gen_ea(e, o, R8);
    lea(e, 4, R8, rm_sib(R8, R10, 0, 0));
}

static bool probes_memory(const struct insn *in)
{
    switch (kind_of(in)) {
    case K_PUSH: case K_POP: case K_LEAVE: case K_STRING: case K_CALL: case K_RET: case K_PUSHF: case K_POPF:
        return true;
    case K_LEA: case K_NOP: return false;
    default: break;
    }
    for (int i = 0; i < in->nopnd && i < 3; i++)
        if (in->op[i].kind == OPND_MEM) return true;
    return false;
}

/* Can the flags after instruction k be observed (by a fault, a handler call
 * or the block's exit) before an instruction rewrites all six? */
static bool flags_exposed_after(const struct gen *g, int k)
{
    for (int j = k + 1; j < g->tb->n; j++) {
        const struct insn *in = &g->tb->in[j];
        if (!g->native[j] || probes_memory(in) || (in->flags & (IF_ENDS_BLOCK | IF_SENSITIVE))) return true;
        if (g->writes[j] == FL_ALL) return false;
    }
    return true;
}

/* The flag stash slot: [rsp + 8], a word of the entry trampoline's frame
 * or the free word of the return-address frame the block runs in
 * (gen_ras_call); [rsp] is that frame's return address. */
#define STASH rm_mem(RSP, 8)

/* Guest flags in a general register, "lflags" format: bits 8-15 = LAHF's AH
 * (SF ZF AF PF CF), bit 0 = OF. LAHF/SETO/SAHF cost a few cycles where
 * PUSHFQ/POPFQ cost ~25 (POPFQ is microcoded: ~8 ns on these hosts). The
 * stash slot holds lflags too. */
static uint32_t lf_of(uint32_t eflags) { return ((eflags & 0xd5u) << 8) | ((eflags >> 11) & 1u); }

static void xchg_rax(struct emit *e, int r)
{
    eb(e, (uint8_t)(0x48 | (r >= 8 ? 1 : 0)));
    eb(e, (uint8_t)(0x90 + (r & 7)));
}

/* opc (a 32-bit "op r, r/m" or "op r/m, r" without immediate) with a
 * RIP-relative memory operand at target. */
static void riprel_op(struct emit *e, uint8_t opc, int reg, const void *target)
{
    if (reg >= 8) eb(e, 0x44);
    eb(e, opc);
    eb(e, (uint8_t)(((reg & 7) << 3) | 5));
    e32(e, (uint32_t)(int32_t)((const uint8_t *)target - (e->p + 4)));
}

/* r = the arithmetic flags (lflags); RFLAGS unchanged. */
static void save_lflags(struct emit *e, int r)
{
    mov_r_rm(e, 8, r, rm_reg(RAX));
    eb(e, 0x9f);                         /* lahf */
    eb(e, 0x0f); eb(e, 0x90); eb(e, 0xc0); /* seto al */
    xchg_rax(e, r);
}

/* RFLAGS arithmetic flags = lflags in r (clobbers r). */
static void restore_lflags(struct emit *e, int r)
{
    xchg_rax(e, r);
    eb(e, 0x04); eb(e, 0x7f);            /* add al, 127: OF = (al == 1) */
    eb(e, 0x9e);                         /* sahf */
    xchg_rax(e, r);
}

/* a = (a & w) | (stash & ~w), lflags; w in EFLAGS bits. Clobbers b and RFLAGS. */
static void gen_stash_merge(struct emit *e, uint32_t w, int a, int b)
{
    uint32_t wl = lf_of(w);
    emit_op1(e, 4, 0x81, 4, rm_reg(a)); /* and a, wl */
    e32(e, wl);
    mov_r_rm(e, 8, b, STASH);
    emit_op1(e, 4, 0x81, 4, rm_reg(b)); /* and b, ~wl */
    e32(e, ~wl);
    emit_op1(e, 4, 0x09, b, rm_reg(a)); /* or a, b */
}

/* ---------- flag rematerialisation ---------- */

/* A TLB probe clobbers RFLAGS, so the guest flags must be kept wherever they
 * can still be read or observed (a fault pushes EFLAGS). Saving them costs
 * LAHF/SETO (4 instructions) and restoring them SAHF (4 more). When the
 * instruction that last wrote all six is a register-only CMP, TEST, ADD or
 * SUB whose inputs are still in their registers, running it again gives
 * them back instead (ADD and SUB first undone: SUB r, x / ADD r, x), and
 * after AND, OR or XOR so does TEST of the result while it is unchanged
 * (where the host clears AF for them, as these do: logic_af0): no
 * save at all, and the cold path, or the hot path where the flags are live,
 * recomputes them. (QEMU's lazy flags keep the last operation's inputs for
 * the same reason; here the registers are the record.) */
static void gen_pair(struct gen *g, const struct insn *in, uint8_t op_rm_r, uint8_t op_r_rm, uint8_t grp, int digit);
static void gen_test(struct gen *g, const struct insn *in);
static int gpr_full(const struct opnd *o);
static bool writes_gpr(const struct insn *in, int r);
static int reg_of(const struct opnd *o);

static bool remat_form(const struct gen *g, int w)
{
    if (w < 0 || !g->native[w]) return false;
    const struct insn *in = &g->tb->in[w];
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    if (g->r11_mem == w) return true; /* (a CMP or TEST latched in r11) */
    if (in->nopnd != 2 || !is_gpr(d) || !(is_gpr(s) || s->kind == OPND_IMM)) return false;
    switch (in->id) {
    case X86_INS_CMP: case X86_INS_TEST:
        return true;
    case X86_INS_ADD: case X86_INS_SUB:
        return s->kind == OPND_IMM || gpr_full(s) != gpr_full(d);
    case X86_INS_AND: case X86_INS_OR: case X86_INS_XOR:
        return g->bt->logic_af0;
    default:
        return false;
    }
}

static bool remat_is_logic(const struct insn *in)
{
    return in->id == X86_INS_AND || in->id == X86_INS_OR || in->id == X86_INS_XOR;
}

/* Might instruction i change a flag? (flag_effects says a shift by CL
 * writes none, as it may not; liveness wants that, this does not.) */
static bool may_write_flags(const struct gen *g, int i)
{
    const struct insn *in = &g->tb->in[i];
    if (!g->native[i] || g->writes[i] != 0) return true;
    return (kind_of(in) == K_SHIFT && in->nopnd == 2 && in->op[1].kind != OPND_IMM) ||
           (kind_of(in) == K_SHXD && in->op[2].kind != OPND_IMM);
}

/* Could instructions [from, to) have changed W's inputs or the flags? */
static bool remat_clobbered(const struct gen *g, int w, int from, int to)
{
    const struct insn *win = &g->tb->in[w];
    int rd = win->op[0].kind == OPND_REG ? gpr_full(&win->op[0]) : -1;
    /* (a logic instruction is recomputed from its result alone) */
    int rs = win->op[1].kind == OPND_REG && !remat_is_logic(win) ? gpr_full(&win->op[1]) : -1;
    for (int i = from; i < to; i++) {
        const struct insn *in = &g->tb->in[i];
        if (may_write_flags(g, i) || (in->flags & IF_SENSITIVE)) return true;
        if (writes_gpr(in, rd) || (rs >= 0 && writes_gpr(in, rs))) return true;
    }
    return false;
}

/* The instruction whose re-execution gives the guest flags before
 * instruction k, or -1. */
static int remat_source(const struct gen *g, int k)
{
    if (g->stashed || g->fsrc < 0 || !remat_form(g, g->fsrc)) return -1;
    return remat_clobbered(g, g->fsrc, g->fsrc_from, k) ? -1 : g->fsrc;
}

/* Can W stand for the flags until they are next rewritten whole, i.e. at
 * every later probe before that, with nothing else observing them? */
static bool remat_covers(const struct gen *g, int w, int k)
{
    for (int j = k + 1; j < g->tb->n; j++) {
        const struct insn *in = &g->tb->in[j];
        if (!g->native[j] || (in->flags & (IF_ENDS_BLOCK | IF_SENSITIVE))) return false;
        if (probes_memory(in) && remat_clobbered(g, w, g->fsrc_from, j)) return false;
        if (g->writes[j] == FL_ALL) return true;
    }
    return false;
}

/* RFLAGS' arithmetic flags = those instruction w left (remat_source). */
static void gen_latched(struct gen *g, const struct insn *in);

/* (latched: W is a CMP/TEST latched in r11 — g->r11_mem == w where W is
 * recomputed on the main path; recorded in the cold record for its path) */
static void gen_remat_from(struct gen *g, int w, bool latched)
{
    const struct insn *in = &g->tb->in[w];
    if (latched) {
        gen_latched(g, in);
        g->bt->st.remats++;
        return;
    }
    switch (in->id) {
    case X86_INS_CMP:
        gen_pair(g, in, 0x39, 0x3b, 0x81, 7);
        break;
    case X86_INS_TEST:
        gen_test(g, in);
        break;
    case X86_INS_AND: case X86_INS_OR: case X86_INS_XOR: { /* SF ZF PF of the result, CF OF AF clear */
        const struct opnd *d = &in->op[0];
        emit_op1(&g->e, d->size, d->size == 1 ? 0x84 : 0x85, reg_of(d), rm_reg(reg_of(d)));
        break;
    }
    case X86_INS_ADD:
        gen_pair(g, in, 0x29, 0x2b, 0x81, 5);
        gen_pair(g, in, 0x01, 0x03, 0x81, 0);
        break;
    default: /* SUB */
        gen_pair(g, in, 0x01, 0x03, 0x81, 0);
        gen_pair(g, in, 0x29, 0x2b, 0x81, 5);
        break;
    }
    g->bt->st.remats++;
}

static void gen_remat(struct gen *g, int w) { gen_remat_from(g, w, g->r11_mem == w); }

/* Inline TLB probe for [r8d, r8d+size): on a hit [r9 + r8] = host address and the
 * guest flags are back in RFLAGS if live; on a miss jump to the cold path of
 * instruction k (recorded; its resume point is set by end_mem). */
/* The full TLB lookup of [r8d, r8d+size): r9 = the entry's offset
 * ((lin >> 12) & mask) * 16 = (lin >> 8) & (mask << 4) — the mask this cache
 * was translated for (bt_vcpu.tlb_mask; a change flushes every translation)
 * — r10 = the page of the last byte, compared with the entry's tag: ZF set
 * on a hit. */
static void gen_tlb_lookup(struct gen *g, unsigned size, bool write)
{
    struct emit *e = &g->e;
    if (g->bt->bmi2) {
        rorx(e, 4, R9, R8, 8); /* (the bits rotated in are masked off) */
    } else {
        mov_r_rm(e, 4, R9, rm_reg(R8));
        emit_op1(e, 4, 0xc1, 5, rm_reg(R9)); /* shr r9d, 8 */
        eb(e, 8);
    }
    emit_op1(e, 4, 0x81, 4, rm_reg(R9)); /* and r9d, mask << 4 */
    e32(e, g->bt->tlb_mask << 4);
    if (size > 1) lea(e, 4, R10, rm_mem(R8, (int32_t)size - 1));
    else mov_r_rm(e, 4, R10, rm_reg(R8));
    emit_op1(e, 4, 0x81, 4, rm_reg(R10)); /* and r10d, ~0xfff */
    e32(e, 0xfffff000u);
    emit_op1(e, 4, 0x3b, R10, rm_sib(HR_TLB, R9, 0, write ? 4 : 0)); /* cmp r10d, tag */
}

/* A probe's cold-path record for instruction k: the flags come back from
 * instruction w run again (w >= 0, gen_remat), else from r11 and the stash
 * as they are now. (The fallback does not keep r11: a latched CMP cannot
 * be run again after it, so leave the block.) */
static struct cold *new_probe_cold(struct gen *g, int k, unsigned size, bool write, int w)
{
    struct cold *c = &g->cold[g->ncold++];
    memset(c, 0, sizeof(*c));
    c->size = size;
    c->write = write;
    c->k = k;
    c->remat1 = w + 1;
    c->latched = w >= 0 && g->r11_mem == w;
    if (g->r11_mem >= 0) c->leave = true;
    c->stashed = g->stashed;
    c->w_accum = g->w_accum;
    return c;
}

/* Does a probe that clobbers RFLAGS save the flags into r11 first: they
 * cannot be recomputed (w < 0), are not in r11 already, and are needed
 * after it, or not all in the stash? */
static bool probe_saves(const struct gen *g, int w, bool live)
{
    return w < 0 && !g->flags_r11 && (live || !g->stashed || g->w_accum != 0);
}

/* An access through the physical view (paging off): r9 = view, then a
 * load of the access's bytes into r10, which faults when they are not all
 * plain RAM, and for a write a store of them back, which faults when the
 * page holds decoded code (read-only in the view, phys_view_wp_on); with
 * one vCPU nothing can write the bytes in between. bt_fault.c then moves
 * RIP to the cold path. No compare, so RFLAGS and the flag bookkeeping
 * stay as they were: the cold path makes the flags exact as the checking
 * probe's would (saving RFLAGS into r11 first where that probe would have
 * saved them on its main path), runs the fallback (which drops the code a
 * write hits) and resumes with them exact in RFLAGS, and in r11 and the
 * stash where the main path keeps them. The fallback does not keep r11
 * (leave, as below). */
static bool view_access(const struct gen *g, unsigned size, bool write)
{
    return g->view && (!write || g->view_writes) && (size == 1 || size == 2 || size == 4 || size == 8);
}

static void gen_view_probe(struct gen *g, int k, unsigned size, bool write, int w, bool live)
{
    struct emit *e = &g->e;
    struct cold *c = new_probe_cold(g, k, size, write, w);
    c->vsave = probe_saves(g, w, live);
    c->r11_after = g->flags_r11;
    c->stash_after = g->stashed;
    g->bt->st.probes++;
    if (g->lin) {
        g->bt->st.probes_lin++;
    } else {
        g->bt->st.probes_direct++;
        if (write) g->bt->st.probes_direct_writes++;
    }
    c->vstart = e->p;
    if (g->r9_view && !g->bt->no_r9_view) {
        /* r9 still holds the view: a 5-byte NOP keeps the site's patch
         * point (bt_fault.c jumps over it to the cold path). (The view
         * probes' cold paths give r9 back before they resume: gen_colds.) */
        static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
        emit_bytes(e, nop5, 5);
        g->bt->st.view_base_kept++;
    } else {
        mov_r64_imm(e, R9, (uint64_t)(uintptr_t)g->view);
        g->r9_view = true;
    }
    c->vload = e->p;
    struct rm m = rm_sib(R9, R8, 0, 0);
    if (size == 1) emit_op2(e, 4, 0x0f, 0xb6, R10, m);      /* movzx r10d, byte [r9 + r8] */
    else if (size == 2) emit_op2(e, 4, 0x0f, 0xb7, R10, m); /* movzx r10d, word [r9 + r8] */
    else mov_r_rm(e, (int)size, R10, m);                    /* mov r10d / r10, [r9 + r8] */
    if (write) {
        c->vstore = e->p;
        mov_rm_r(e, (int)size, m, R10); /* mov [r9 + r8], r10b / r10w / r10d / r10 */
    }
    c->ok = e->p;
}

/* Just before the host instruction that does all of instruction k's
 * access to the probed memory (the whole operand, at [r9 + r8], one
 * instruction): if the last probe is k's through the view and nothing was
 * emitted after it, that instruction takes the place of the probe's load
 * (and store) as the fault site. A fault there leaves everything as the
 * probe's fault would (a faulting instruction has no effect), and then the
 * access costs nothing beyond the guest's own. */
static void view_fuse(struct gen *g)
{
    if (g->ncold == 0) return;
    struct cold *c = &g->cold[g->ncold - 1];
    if (!c->vload || c->fused || c->k != g->cur_k || c->ok != g->e.p || g->bt->no_view_fuse) return;
    g->e.p = c->vload;
    c->vstore = NULL;
    c->ok = g->e.p;
    c->fused = true;
    g->bt->st.view_fused++;
}

static void gen_probe(struct gen *g, int k, unsigned size, bool write, bool predict)
{
    struct emit *e = &g->e;
    if (!g->pdelta) g->base_cold = -1; /* r8/r9 change (gen_base_probe may make this the new base) */
    /* r11 = the flags when they are needed after the probe or by its cold
     * path (which merges r11 and the stash, see gen_colds). */
    bool live = g->live_before[k] != 0 || g->keep_flags;
    if (g->flags_r11) g->bt->st.flags_kept++;
    int w = g->flags_r11 ? -1 : remat_source(g, k);
    if (view_access(g, size, write) && !g->pdelta && !g->may_wrap) {
        gen_view_probe(g, k, size, write, w, live);
        return;
    }
    g->r9_view = false; /* (the TLB probe's r9) */
    bool saved = probe_saves(g, w, live);
    if (saved) {
        save_lflags(e, R11);
        g->r11_mem = -1;
    }
    /* Without predict: the full lookup, a miss goes to the cold path. With
     * it: the predicted page P and its TLB slot offset (the last page this
     * probe hit, learned by gen_colds' full probe); the hit path checks
     * that the TLB slot still holds P (a load that does not depend on the
     * address) and that [lin, lin+size) lies in P (lin ^ P < 4096 - size +
     * 1); then the addend is ready early and the access waits only for the
     * address, as on the host. */
    struct cold *c = new_probe_cold(g, k, size, write, w);
    if (g->pdelta) {
        /* [r8 + D, r8 + D + size) in the page of r8, the address of a probe
         * that hit for at least this access kind: its byte farthest from r8
         * (pdelta_x) on that page. A miss (page crossing) runs the
         * instruction in the fallback and leaves the block: later accesses
         * count on r8/r9. */
        g->pdelta = false;
        lea(e, 4, R10, rm_mem(R8, g->pdelta_x));
        emit_op1(e, 4, 0x31, R8, rm_reg(R10)); /* xor r10d, r8d */
        emit_op1(e, 4, 0x81, 7, rm_reg(R10));  /* cmp r10d, 0xfff */
        e32(e, 0xfff);
        c->jfrom = jcc_rel32(e, 0x7); /* ja */
        c->leave = true;
        c->ok = e->p;
        g->bt->st.probes_samepage++;
    } else if (!predict) {
        g->bt->st.probes++;
        gen_tlb_lookup(g, size, write);
        c->jfrom = jcc_rel32(e, 0x5); /* jne: TLB miss */
        mov_r_rm(e, 8, R9, rm_sib(HR_TLB, R9, 0, 8)); /* addend: the access is [r9 + r8] */
        c->ok = e->p;
    } else {
        g->bt->st.probes++;
        uint32_t *pred = g->bt->pred_next;
        g->bt->pred_next += 4;
        pred[0] = 0xffffffffu; /* no TLB tag ever equals it */
        pred[1] = 0;
        pred[2] = PRED_MISSES;
        c->pred = pred;
        c->site = e->p;
        riprel_op(e, 0x8b, R10, &pred[0]);                               /* mov r10d, [P] */
        riprel_op(e, 0x8b, R9, &pred[1]);                                /* mov r9d, [slot] */
        emit_op1(e, 4, 0x3b, R10, rm_sib(HR_TLB, R9, 0, write ? 4 : 0)); /* cmp r10d, tag */
        c->jfrom = jcc_rel32(e, 0x5);                                    /* jne */
        emit_op1(e, 4, 0x31, R8, rm_reg(R10));                           /* xor r10d, r8d */
        emit_op1(e, 4, 0x81, 7, rm_reg(R10));                            /* cmp r10d, 4096 - size */
        e32(e, 4096u - size);
        c->jfrom2 = jcc_rel32(e, 0x7);                                   /* ja */
        mov_r_rm(e, 8, R9, rm_sib(HR_TLB, R9, 0, 8));
        c->ok = e->p;
    }
    if (w >= 0) {
        /* Recompute the flags where they are needed: here when they are
         * live; else nowhere until they are rewritten whole if W covers
         * every probe before that (remat_mode: RFLAGS is garbage), or if
         * nothing can observe them. */
        c->stash_after = false;
        if (live) {
            gen_remat(g, w);
        } else if (!flags_exposed_after(g, k)) {
            g->fsrc = -1;
            g->remat_mode = false;
        } else if (remat_covers(g, w, k)) {
            g->remat_mode = true;
        } else {
            gen_remat(g, w);
        }
        return;
    }
    /* Restore the flags when they are live (read later in the block or at its
     * exit). When they are dead here they may still be observed by a fault
     * before the next instruction that rewrites them all (the exception frame
     * holds EFLAGS): keep them in the stash slot (STASH) until then. */
    if (live) {
        /* Leave them in r11 for the probes that follow (gen_flags_home
         * puts them back where an instruction needs them). Stashed, RFLAGS
         * held only the bits rewritten since (w_accum; the rest is what
         * the last probe or the prologue's check left): r11 becomes the
         * stash with those bits, as the cold path makes it. (A PUSH m32's
         * source probe keeps the flags live right after a prologue that
         * stashed them.) */
        if (saved && g->stashed) gen_stash_merge(e, g->w_accum, R11, R10);
        g->flags_r11 = true;
        c->r11_after = true;
    } else if (g->flags_r11) {
        g->flags_r11 = false;
        mov_rm_r(e, 8, STASH, R11);
        g->stashed = true;
        g->w_accum = 0;
    } else if (!flags_exposed_after(g, k)) {
        /* Rewritten before anything can observe them: drop them. */
        g->stashed = false;
    } else if (!g->stashed) {
        mov_rm_r(e, 8, STASH, R11);
        g->stashed = true;
        g->w_accum = 0;
    } else if (g->w_accum != 0) {
        gen_stash_merge(e, g->w_accum, R11, R10);
        mov_rm_r(e, 8, STASH, R11);
        g->w_accum = 0;
    }
    c->stash_after = g->stashed;
}

/* After the instruction whose probes made the last cold records: their
 * fallbacks (which run the whole instruction) resume here. */
static void end_mem(struct gen *g)
{
    int k = g->cold[g->ncold - 1].k;
    for (int i = g->ncold - 1; i >= 0 && g->cold[i].k == k; i--)
        if (!g->cold[i].resume) g->cold[i].resume = g->e.p;
}


/* The probe of an access [reg + off, + size) through a base register (ESP
 * for the stack instructions; reg as its host register holds it here, flat
 * segment): on the page of the last such probe (base_cold) when it was
 * through the same register and that register moved only by known amounts
 * since, a same-page check, the access then at [r9 + r8 + D] (probe_disp);
 * else the full probe of r8 = reg + off, which becomes the base for the
 * accesses that follow. A write needs a base that was probed for writing. */
static void gen_base_probe(struct gen *g, int k, int reg, int32_t off, unsigned size, bool write)
{
    struct emit *e = &g->e;
    int32_t d = off - g->base_rel;
    int32_t far = d < 0 ? d : d + (int32_t)size - 1;
    /* (A view access is cheaper than the same-page check: no flags.) */
    if (g->base_cold >= 0 && g->base_reg == reg && (!write || g->base_write) && d > -4096 && d < 4096 &&
        !(d < 0 && d + (int32_t)size - 1 > 0) && !g->bt->no_same_page && !view_access(g, size, write)) {
        g->pdelta = true;
        g->pdelta_x = far;
        g->cold[g->base_cold].leave = true; /* its fallback does not set r8/r9 */
        gen_probe(g, k, size, write, false);
        g->probe_disp = d;
        return;
    }
    if (off) lea(e, 4, R8, rm_mem(host_reg(reg), off));
    else mov_r_rm(e, 4, R8, rm_reg(host_reg(reg)));
    gen_probe(g, k, size, write, false);
    g->probe_disp = 0;
    g->base_cold = g->ncold - 1;
    g->base_reg = reg;
    g->base_rel = off;
    g->base_write = write;
}


/* The signed step of string instruction k (LODS, STOS, SCAS) by DF. */
static int32_t string_step(const struct gen *g, int k)
{
    int32_t es = (int32_t)insn_string_elem_size(&g->tb->in[k]);
    return g->df[k] ? -es : es;
}

/* After instruction k: the base register's move since the base probe, or
 * the base is gone (r8/r9 or the register changed in a way not followed
 * here: only PUSH/POP of ESP, ADD/SUB reg, imm, INC/DEC reg, LEA reg,
 * [reg + disp], LODS/STOS/SCAS and LEAVE are). */
static void base_update(struct gen *g, int k, bool native)
{
    const struct insn *in = &g->tb->in[k];
    if (g->base_cold < 0) return;
    enum alu_kind kind = kind_of(in);
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    int reg = g->base_reg;
    bool dreg = in->nopnd >= 1 && d->kind == OPND_REG && d->rclass == RC_GPR && d->reg == reg && d->size == 4;
    if (!native || (in->flags & IF_SENSITIVE) || kind == K_CALL || kind == K_RET || kind == K_REPSTOS ||
        kind == K_REPMOVS) {
        g->base_cold = -1;
    } else if (kind == K_PUSH) {
        if (reg == R_ESP) g->base_rel += 4;
    } else if (kind == K_POP) {
        if (d->reg == reg) g->base_cold = -1;
        else if (reg == R_ESP) g->base_rel -= 4;
    } else if (kind == K_STRING) {
        /* ESI (LODS) or EDI moved by the element size; LODS writes EAX */
        int sr = is_lods(in) ? R_ESI : R_EDI;
        if (reg == sr) g->base_rel -= string_step(g, k);
        else if (reg == R_EAX && sr == R_ESI) g->base_cold = -1;
    } else if (kind == K_MOVS) {
        /* its last probe was through EDI; ESI and EDI moved by the step */
        if (reg == R_ESI || reg == R_EDI) g->base_rel -= string_step(g, k);
    } else if (kind == K_LEAVE) {
        /* its probe was through EBP (gen_native), and ESP = that EBP + 4:
         * the RET that usually follows reads on the same page */
        if (reg == R_EBP) {
            g->base_reg = R_ESP;
            g->base_rel -= 4;
        } else {
            g->base_cold = -1;
        }
    } else if (writes_gpr(in, reg)) {
        bool imm = dreg && in->nopnd == 2 && s->kind == OPND_IMM;
        if (imm && in->id == X86_INS_ADD) g->base_rel -= (int32_t)s->disp;
        else if (imm && in->id == X86_INS_SUB) g->base_rel += (int32_t)s->disp;
        else if (dreg && in->nopnd == 1 && in->id == X86_INS_INC) g->base_rel -= 1;
        else if (dreg && in->nopnd == 1 && in->id == X86_INS_DEC) g->base_rel += 1;
        else if (dreg && kind == K_LEA && s->base == reg && s->index == REG_NONE) g->base_rel -= (int32_t)s->disp;
        else g->base_cold = -1;
        if (g->base_rel > 0x10000 || g->base_rel < -0x10000) g->base_cold = -1;
    }
}

/* The probed guest memory. */
static struct rm probed(const struct gen *g) { return rm_sib(R9, R8, 0, g->probe_disp); }

/* A register or the probed memory as an r/m operand. */
static struct rm rm_of(const struct gen *g, const struct opnd *o)
{
    if (o->kind == OPND_MEM) return probed(g);
    return rm_reg(o->size == 1 ? o->reg : host_reg(o->reg));
}
static int reg_of(const struct opnd *o) { return o->size == 1 ? o->reg : host_reg(o->reg); }

static void emit_imm(struct emit *e, unsigned size, uint32_t v)
{
    if (size == 1) eb(e, (uint8_t)v);
    else if (size == 2) e16(e, (uint16_t)v);
    else e32(e, v);
}

/* Leave for the guest EIP in r11d: jump straight to
 * its translation if the jump cache has one for this mode, else return to
 * the dispatcher. Flag-free (guest flags are live in RFLAGS): the key
 * comparison is a subtraction by LEA and a JRCXZ. */
static void gen_lookup_exit(struct gen *g)
{
    struct emit *e = &g->e;
    g->r9_view = false;
    if (g->mode & MODE_FLAT_CS) {
        if (bt_ijc_hashed(g->bt->bmi2, g->mode)) { /* r8d = bt_ijc_hash(r11d) */
            rorx(e, 4, R10, R11, 16);
            lea(e, 4, R10, rm_sib(R10, R10, 3, 0));                   /* lea r10d, [r10 + r10*8] */
            lea(e, 4, R8, rm_sib(R10, R11, 0, 0));                    /* lea r8d, [r10 + r11] */
            emit_op2(e, 4, 0x0f, 0xb7, R8, rm_reg(R8));               /* movzx r8d, r8w */
        } else {
            emit_op2(e, 4, 0x0f, 0xb7, R8, rm_reg(R11));              /* movzx r8d, r11w */
        }
        mov_r64_imm(e, R10, (uint64_t)(uintptr_t)g->bt->ijc_ent);     /* (this vCPU's: no load) */
        lea(e, 4, R8, rm_sib(R8, R8, 0, 0));                          /* (16-byte entries) */
        lea(e, 8, R10, rm_sib(R10, R8, 3, 0));                        /* r10 = &ijc_ent[..] */
        mov_r64_imm(e, R9, (uint64_t)g->mode << 32);
        lea(e, 8, R8, rm_sib(R9, R11, 0, 0));                         /* r8 = key */
        emit_op1(e, 8, 0xf7, 2, rm_reg(R8));                          /* not r8 */
        mov_r_rm(e, 8, R9, rm_reg(RCX));
        mov_r_rm(e, 8, RCX, rm_mem(R10, OFF_IJCKEY));
        lea(e, 8, RCX, rm_sib(RCX, R8, 0, 1));                        /* tb key - key */
        eb(e, 0xe3);                                                  /* jrcxz hit */
        uint8_t *rel8 = e->p;
        eb(e, 0);
        mov_r_rm(e, 8, RCX, rm_reg(R9));
        mov_rm_r(e, 4, rm_mem(HR_V, OFF_EIP), R11);
        uint8_t *j = jmp_rel32(e);
        patch_rel32(e, j, g->bt->exit_regs);
        if (rel8 < e->end) *rel8 = (uint8_t)(e->p - (rel8 + 1));
        mov_r_rm(e, 8, RCX, rm_reg(R9));
        emit_op1(e, 4, 0xff, 4, rm_mem(R10, OFF_IJCCODE));            /* jmp [r10 + code] */
        return;
    }
    mov_rm_r(e, 4, rm_mem(HR_V, OFF_EIP), R11);
    uint8_t *j = jmp_rel32(e);
    patch_rel32(e, j, g->bt->exit_regs);
}

/* Before leaving the block: the guest flags back into RFLAGS from the stash
 * (the bits in w_accum from RFLAGS, the rest from the slot). The liveness
 * pass makes the flags live at every exit, so the stash is normally empty
 * there; this keeps the exit exact regardless. */
/* RFLAGS = the guest flags kept in r11 (flags_r11). */
static void gen_flags_home(struct gen *g)
{
    if (!g->flags_r11) return;
    restore_lflags(&g->e, R11);
    g->flags_r11 = false;
}

static void gen_unstash(struct gen *g)
{
    struct emit *e = &g->e;
    gen_flags_home(g);
    if (!g->stashed) return;
    g->reuse_cold = g->base_cold = -1; /* (r9 is used here) */
    g->r9_view = false;
    /* (r11 holds a jump target) */
    if (g->w_accum == 0) {
        mov_r_rm(e, 8, R9, STASH);
    } else {
        save_lflags(e, R9);
        gen_stash_merge(e, g->w_accum, R9, R10);
    }
    restore_lflags(e, R9);
}

/* Exit to a known guest EIP:
 * a patchable jump when the target is on this page (chained by the
 * dispatcher once the target is translated), else the jump cache. */
/* at: a rel32 already emitted (a JMP's or a JCC's) to be the exit's patch
 * site, or NULL to emit a JMP here. Chaining rewrites it to the target's
 * code (a taken JCC then goes straight there, without a second jump). */
static void gen_exit_direct_at(struct gen *g, uint32_t target, int slot, uint8_t *at)
{
    struct emit *e = &g->e;
    g->r9_view = false;
    if (!at) gen_unstash(g);
    bool chain = (g->mode & MODE_FLAT_CS) && (target >> 12) == (g->tb->eip >> 12) && slot >= 0 && g->nslot < BT_EXITS;
    if (chain) slot = g->nslot++;
    if (!chain) {
        if (at) patch_rel32(e, at, e->p);
        mov_r32_imm(e, R11, target);
        gen_lookup_exit(g);
        return;
    }
    if (!at) at = jmp_rel32(e);
    patch_rel32(e, at, e->p);
    g->tb->exit[slot] = (struct tb_exit){ g->tb, at, target };
    mov_m_imm32(e, 4, rm_mem(HR_V, OFF_EIP), target);
    mov_r64_imm(e, R8, (uint64_t)(uintptr_t)&g->tb->exit[slot]);
    mov_r_rm(e, 8, R9, rm_mem(HR_V, OFF_VBT));
    mov_rm_r(e, 8, rm_mem(R9, OFF_LAST), R8);
    uint8_t *j = jmp_rel32(e);
    patch_rel32(e, j, g->bt->exit_regs);
}

static void gen_exit_direct(struct gen *g, uint32_t target, int slot)
{
    gen_exit_direct_at(g, target, slot, NULL);
}

/* Exit to the EIP in r11d. */
static void gen_exit_indirect(struct gen *g)
{
    gen_unstash(g);
    gen_lookup_exit(g);
}

/* ---------- the return-address stack ---------- */

/* Guest CALL and RET as host CALL and RET, so that the host's return
 * predictor serves guest returns: a RET is otherwise a jump-cache lookup
 * and an indirect jump, which mispredicts when a function is called from
 * several places (hash's ht_get: a third of its samples in its RETs).
 *
 * A guest CALL, once it has pushed its return address to the guest stack,
 * pushes a 16-byte frame on the host stack — the address of a landing pad
 * just after a host CALL, and a word that keeps RSP 16-byte aligned and is
 * the callee's stash slot (STASH) — then goes to its target as before. A
 * guest RET, once it has popped the guest's return address into r11d, pops
 * the frame with a host RET 8, and the pad checks r11d against the EIP
 * after its CALL: equal, it goes on there by a chained jump; not, it looks
 * r11d up as any indirect jump does. A frame can make a RET slower or
 * faster, never go wrong; a mismatched one (a context switch, a CALL that
 * never returns, a RET used as a jump) costs that check more.
 *
 * Frames live between an entry from C and the next exit or lookup and
 * goto: the entry trampoline sets the base RSP and the room (struct
 * bt_ras), the exits and the goto (which may change the mode: a pad goes on
 * in the mode of its own block) restore them. So a pad always runs in its
 * block's mode, and no frame outlives its code: a code cache flush or an
 * invalidation happens in run_one, outside translated code. `room` bounds
 * the frames (BT_RAS_DEPTH): a CALL with none left pushes nothing, a RET
 * with all of it left (no frames) takes the lookup. Both checks are
 * flag-free (JRCXZ, ECX kept in r10): guest flags may be live across a
 * CALL or RET. Only with a flat CS (the jump cache's condition, and the
 * pad's chained jump). BT86_BT_NO_RAS=1 turns it off. */
static bool ras_on(const struct gen *g) { return !g->bt->no_ras && (g->mode & MODE_FLAT_CS); }

/* Flag-free: unless room + bias is 0, room += step. Returns the rel8 of the
 * JRCXZ taken when it is 0, which the caller patches to where it goes on
 * (with ECX still in r10: MOV RCX, R10 there). */
static uint8_t *gen_ras_room(struct gen *g, int32_t bias, int32_t step)
{
    struct emit *e = &g->e;
    struct bt_ras *ras = g->bt->ras;
    mov_r_rm(e, 8, R10, rm_reg(RCX));
    riprel(e, 4, 0x8b, RCX, &ras->room, 0);   /* mov ecx, [room] */
    if (bias) lea(e, 4, RCX, rm_mem(RCX, bias));
    uint8_t *zero = jrcxz_rel8(e);
    lea(e, 4, RCX, rm_mem(RCX, step - bias));
    riprel(e, 4, 0x89, RCX, &ras->room, 0);   /* mov [room], ecx */
    mov_r_rm(e, 8, RCX, rm_reg(R10));
    return zero;
}

/* A guest CALL's transfer, after its push (r11d = the target when
 * indirect): next is the return address. */
static void gen_ras_call(struct gen *g, uint32_t next, bool direct, uint32_t target)
{
    struct emit *e = &g->e;
    gen_unstash(g);
    uint8_t *full = gen_ras_room(g, 0, -1);
    lea(e, 8, RSP, rm_mem(RSP, -8));
    uint8_t *call = call_rel32(e);
    /* The pad: r11d = the EIP the guest returned to. */
    mov_r_rm(e, 8, R10, rm_reg(RCX));
    lea(e, 4, RCX, rm_mem(R11, (int32_t)(0u - next)));
    uint8_t *hit = jrcxz_rel8(e);
    mov_r_rm(e, 8, RCX, rm_reg(R10));
    uint8_t *miss = jmp_rel32(e);
    patch_rel8(e, hit);
    mov_r_rm(e, 8, RCX, rm_reg(R10));
    uint8_t *go = jmp_rel32(e);
    /* No room: the CALL is a jump. */
    patch_rel8(e, full);
    mov_r_rm(e, 8, RCX, rm_reg(R10));
    patch_rel32(e, call, e->p);
    if (direct) gen_exit_direct(g, target, 0);
    else gen_lookup_exit(g);
    patch_rel32(e, miss, e->p);
    gen_lookup_exit(g);
    gen_exit_direct_at(g, next, 0, go);
}

/* A guest RET's transfer, after its pop (r11d = the return address). */
static void gen_ras_ret(struct gen *g)
{
    struct emit *e = &g->e;
    gen_unstash(g);
    uint8_t *none = gen_ras_room(g, -BT_RAS_DEPTH, 1);
    eb(e, 0xc2);                              /* ret 8: to the pad, dropping the frame */
    e16(e, 8);
    patch_rel8(e, none);
    mov_r_rm(e, 8, RCX, rm_reg(R10));
    gen_lookup_exit(g);
}

static void gen_fallback(struct gen *g, int k, uint32_t eip)
{
    struct emit *e = &g->e;
    g->r9_view = false; /* (r9: the instruction count; the stub keeps it) */
    mov_m_imm32(e, 4, rm_mem(HR_V, OFF_EIP), eip);
    mov_r64_imm(e, R8, (uint64_t)(uintptr_t)&g->tb->in[k]);
    mov_r32_imm(e, R9, (uint32_t)(part_end(g, k) - k));
    uint8_t *c = call_rel32(e);
    patch_rel32(e, c, g->bt->fallback);
}

/* ---------- native instructions ---------- */

/* Emit a two-operand ALU/MOV/TEST form. op_rm_r: opcode "op r/m, r" (size
 * 2/4; byte form = op-1); op_r_rm: "op r, r/m"; grp/digit: the immediate form. */
static void gen_pair(struct gen *g, const struct insn *in, uint8_t op_rm_r, uint8_t op_r_rm, uint8_t grp, int digit)
{
    struct emit *e = &g->e;
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    int sz = d->size;
    uint8_t adj = sz == 1 ? 1 : 0;
    if (s->kind == OPND_IMM) {
        if (grp == 0xc7 && d->kind == OPND_REG && sz == 4) {
            mov_r32_imm(e, host_reg(d->reg), s->disp);
            return;
        }
        if (d->kind == OPND_MEM) view_fuse(g);
        emit_op1(e, sz, (uint8_t)(grp - adj), digit, rm_of(g, d));
        emit_imm(e, (unsigned)sz, s->disp);
    } else if (s->kind == OPND_MEM) {
        view_fuse(g);
        emit_op1(e, sz, (uint8_t)(op_r_rm - adj), reg_of(d), rm_of(g, s));
    } else {
        if (d->kind == OPND_MEM) view_fuse(g);
        emit_op1(e, sz, (uint8_t)(op_rm_r - adj), reg_of(s), rm_of(g, d));
    }
}

/* The memory operand of an instruction that has one (and whether it is written). */
static const struct opnd *mem_opnd(const struct insn *in, bool *write, bool *read)
{
    *write = *read = false;
    for (int i = 0; i < in->nopnd && i < 3; i++) {
        if (in->op[i].kind != OPND_MEM) continue;
        enum alu_kind k = kind_of(in);
        if (k == K_LEA || k == K_NOP || k == K_MOVS || k == K_REPSTOS || k == K_REPMOVS)
            return NULL; /* (they probe themselves) */
        if (k == K_BITT && bt_far_form(in)) return NULL;          /* (and so does gen_bt_far) */
        if (i == 0) {
            /* (a one-operand MUL/DIV or a CALL only reads its operand) */
            *write = !(k == K_TEST || (k == K_ALU && in->id == X86_INS_CMP) || k == K_JMP || k == K_PUSH ||
                       k == K_MUL1 || k == K_DIV || k == K_CALL || (k == K_BITT && in->id == X86_INS_BT));
            *read = !(k == K_MOV || k == K_SETCC);
        } else {
            *read = true;
        }
        return &in->op[i];
    }
    return NULL;
}

/* The full register (0-7) a register operand is part of (AH..BH: EAX..EBX). */
static int gpr_full(const struct opnd *o) { return (o->size == 1 && o->reg >= 4) ? o->reg - 4 : o->reg; }

/* Does native instruction in write general register r? (Conservative.) */
static bool writes_gpr(const struct insn *in, int r)
{
    const struct opnd *d = &in->op[0];
    switch (kind_of(in)) {
    case K_TEST: case K_NOP: case K_JCC: case K_JMP:
        return false;
    case K_MOVS:
        return r == R_ESI || r == R_EDI;
    case K_REPSTOS:
        return r == R_ECX || r == R_EDI;
    case K_REPMOVS:
        return r == R_ECX || r == R_ESI || r == R_EDI;
    case K_ALU:
        if (in->id == X86_INS_CMP) return false;
        /* fall through */
    case K_BITT:
        if (in->id == X86_INS_BT) return false;
        /* fall through */
    case K_MOV: case K_UNARY: case K_SHIFT: case K_IMUL: case K_MOVX: case K_LEA: case K_SETCC: case K_CMOV:
    case K_SHXD: case K_BSCAN:
        return d->kind == OPND_REG && gpr_full(d) == r;
    case K_XCHG:
        return (d->kind == OPND_REG && gpr_full(d) == r) || gpr_full(&in->op[1]) == r;
    case K_CONV: case K_MUL1: case K_CX8:
        return r == R_EAX || r == R_EDX;
    case K_BSWAP:
        return gpr_full(d) == r;
    default:
        return true;
    }
}

static bool can_reuse(const struct gen *g, const struct opnd *m, bool write)
{
    const struct opnd *p = &g->reuse_op;
    return g->reuse_cold >= 0 && m->base == p->base && m->index == p->index && m->scale == p->scale &&
           m->disp == p->disp && m->seg == p->seg && m->size <= p->size && (g->reuse_write || !write);
}

/* After instruction k: does the reuse state survive it? */
static void reuse_update(struct gen *g, const struct insn *in, bool native)
{
    if (g->reuse_cold < 0) return;
    enum alu_kind kind = kind_of(in);
    if (!native || kind == K_PUSH || kind == K_POP || kind == K_CALL || kind == K_RET || kind == K_MOVS || kind == K_REPSTOS ||
        kind == K_REPMOVS ||
        (kind == K_BITT && bt_far_form(in)) || (in->flags & IF_SENSITIVE)) {
        g->reuse_cold = -1;
        return;
    }
    const struct opnd *p = &g->reuse_op;
    if ((p->base != REG_NONE && writes_gpr(in, p->base)) || (p->index != REG_NONE && writes_gpr(in, p->index)))
        g->reuse_cold = -1;
}

/* ---------- sensitive instructions inline (adaptive translation) ---------- */

/* VMware-style adaptive translation (Adams & Agesen 2006): at CPL 0, CLI,
 * STI, PUSHF, POPF and MOV from CR0/CR2/CR3/CR4 only read or write vCPU
 * state, so they are emitted against struct vcpu instead of calling the VMM
 * (the fallback stub, the handler and vmm_call); RDTSC at CPL 0 calls
 * bt_rdtsc directly, without the stub. Every case the VMM
 * handles with more than that — STI or POPF setting IF while an interrupt
 * may be pending, STI when the next block will not start (the budget is
 * used up: the run loop must see the interrupt shadow), POPF changing TF or
 * AC, a TLB miss on the stack — jumps to a cold path that runs the
 * instruction through its interpreter handler, i.e. the VMM, exactly as
 * before. Inline instructions are not VMM entries (v->exits does not count
 * them; bt_stats.sensitive_native does); under -stats/-trace nothing is
 * inlined (bt_translate), so every entry is still counted and traced.
 * The guest's arithmetic flags stay exact in RFLAGS: each sequence saves
 * them with LAHF/SETO into r11 and restores them with SAHF (nothing is left
 * stashed: gen_unstash first), and its cold paths enter with r11 = them.
 *
 * STI setting IF does not set v->irq_shadow: the shadow only delays an
 * interrupt already pending (then the VMM path runs) or one raised by the
 * next instruction itself, and bt_helper_exec checks for that after it —
 * after the shadow instruction, as the run loop would. (Unlike the run
 * loop, an exception raised by that next instruction is then delivered
 * without the shadow still set.) CLI, STI and POPF end decoded blocks: the
 * inline forms leave through a chainable exit, so a loop of them stays in
 * translated code instead of returning to the dispatcher at each one. */

static struct rm efl(void) { return rm_mem(HR_V, OFF_EFL); }

static int32_t cr_off(int cr)
{
    switch (cr) {
    case 0: return (int32_t)offsetof(struct vcpu, cr0);
    case 2: return (int32_t)offsetof(struct vcpu, cr2);
    case 3: return (int32_t)offsetof(struct vcpu, cr3);
    default: return (int32_t)offsetof(struct vcpu, cr4);
    }
}

/* A cold path into the VMM for instruction k (no probe): see gen_colds. */
static struct cold *vmm_cold(struct gen *g, int k)
{
    struct cold *c = &g->cold[g->ncold++];
    memset(c, 0, sizeof(*c));
    c->k = k;
    return c;
}

/* cmp dword [v->irq_req], 0 */
static void cmp_irq_req(struct emit *e)
{
    emit_op1(e, 4, 0x83, 7, rm_mem(HR_V, OFF_IRQREQ));
    eb(e, 0);
}

static void gen_sensitive(struct gen *g, int k, const struct insn *in, uint32_t eip)
{
    g->r9_view = false; /* (POPF's code and RDTSC's C call use r9) */
    struct emit *e = &g->e;
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    gen_unstash(g);
    g->stashed = false;
    g->r11_mem = -1;
    switch (kind_of(in)) {
    case K_RDCR:
        mov_r_rm(e, 4, host_reg(d->reg & 7), rm_mem(HR_V, cr_off(s->reg)));
        break;
    case K_RDTSC:
        /* EDX:EAX = bt_rdtsc(v), a direct C call instead of the fallback
         * stub, the handler and vmm_call (Linux reads the TSC ~150 times
         * per fork+exit+wait: sched_clock, the TSC clocksource). The
         * guest registers the call may clobber (ECX ESI EDI) and the flags
         * (r11) are pushed: four pushes keep RSP 16-byte aligned. v->icount
         * is made exact first, as the fallback stub does: under -icount
         * the clock is the instruction count. */
        save_lflags(e, R11);
        push_r(e, RCX);
        push_r(e, RSI);
        push_r(e, RDI);
        push_r(e, R11);
        mov_r_rm(e, 8, R10, rm_mem(HR_V, OFF_VBT));
        mov_r_rm(e, 8, R11, rm_mem(R10, OFF_BASE));
        emit_op1(e, 8, 0x29, HR_BUDGET, rm_reg(R11));  /* sub r11, r15 */
        lea(e, 8, R11, rm_mem(R11, -1 - (part_end(g, k) - k)));
        mov_rm_r(e, 8, rm_mem(HR_V, OFF_ICOUNT), R11);
        mov_r_rm(e, 8, RDI, rm_reg(HR_V));
        mov_r64_imm(e, RAX, (uint64_t)(uintptr_t)bt_rdtsc);
        call_r(e, RAX);
        mov_r_rm(e, 8, RDX, rm_reg(RAX));
        emit_op1(e, 8, 0xc1, 5, rm_reg(RDX));          /* shr rdx, 32 */
        eb(e, 32);
        mov_r_rm(e, 4, RAX, rm_reg(RAX));              /* (zero-extends) */
        pop_r(e, R11);
        pop_r(e, RDI);
        pop_r(e, RSI);
        pop_r(e, RCX);
        restore_lflags(e, R11);
        break;
    case K_CLI:
        save_lflags(e, R11);
        emit_op1(e, 4, 0x81, 4, efl()); /* and [eflags], ~IF */
        e32(e, ~F_IF);
        restore_lflags(e, R11);
        break;
    case K_STI: {
        save_lflags(e, R11);
        emit_op1(e, 4, 0xf7, 0, efl()); /* test [eflags], IF */
        e32(e, F_IF);
        uint8_t *set = jcc_rel32(e, 0x5);               /* jnz: IF already 1, nothing to do */
        struct cold *c = vmm_cold(g, k);
        cmp_irq_req(e);
        c->jfrom = jcc_rel32(e, 0x5);                   /* jne: maybe pending: the VMM */
        emit_op1(e, 8, 0x85, HR_BUDGET, rm_reg(HR_BUDGET)); /* test r15, r15 */
        c->jx[0] = jcc_rel32(e, 0x8);                   /* js: the run loop comes next */
        emit_op1(e, 4, 0x81, 1, efl());                 /* or [eflags], IF */
        e32(e, F_IF);
        patch_rel32(e, set, e->p);
        restore_lflags(e, R11);
        c->resume = e->p;
        break;
    }
    case K_PUSHF:
        /* [esp - 4] = v->eflags & ~(VM | RF) with the arithmetic flags of RFLAGS. */
        lea(e, 4, R8, rm_mem(R12, -4));
        gen_probe(g, k, 4, true, false);
        gen_flags_home(g);
        save_lflags(e, R11);
        push_r(e, R11);
        mov_r_rm(e, 4, R10, rm_reg(R11));
        emit_op1(e, 4, 0xc1, 5, rm_reg(R10)); /* shr r10d, 8: LAHF's byte */
        eb(e, 8);
        emit_op1(e, 4, 0x81, 4, rm_reg(R10)); /* and r10d, SF ZF AF PF CF */
        e32(e, 0xd5);
        emit_op1(e, 4, 0x83, 4, rm_reg(R11)); /* and r11d, 1: OF */
        eb(e, 1);
        emit_op1(e, 4, 0xc1, 4, rm_reg(R11)); /* shl r11d, 11 */
        eb(e, 11);
        emit_op1(e, 4, 0x09, R11, rm_reg(R10)); /* or r10d, r11d */
        mov_r_rm(e, 4, R11, efl());
        emit_op1(e, 4, 0x81, 4, rm_reg(R11));
        e32(e, ~(F_ARITH | F_VM | F_RF));
        emit_op1(e, 4, 0x09, R11, rm_reg(R10));
        mov_rm_r(e, 4, probed(g), R10);
        pop_r(e, R11);
        restore_lflags(e, R11);
        lea(e, 4, R12, rm_mem(R12, -4));
        end_mem(g);
        break;
    case K_POPF: {
        /* vmm_popf at CPL 0, 32-bit: every flag but VM, RF, VIF, VIP comes
         * from the stack. Checks first, nothing changed yet: TF or AC
         * changing, or IF going 0 -> 1 with an interrupt request, take the
         * VMM path (which ends the block through cpu_update_mode). */
        const uint32_t m = F_ARITH | F_TF | F_IF | F_DF | F_NT | F_AC | F_ID | F_IOPL;
        mov_r_rm(e, 4, R8, rm_reg(R12));
        gen_probe(g, k, 4, false, false);
        gen_flags_home(g);
        struct cold *c = &g->cold[g->ncold - 1];
        save_lflags(e, R11);
        mov_r_rm(e, 4, R10, probed(g));                  /* r10 = the popped value */
        mov_r_rm(e, 4, R9, efl());                      /* r9 = the old EFLAGS */
        mov_r_rm(e, 4, R8, rm_reg(R9));
        emit_op1(e, 4, 0x31, R10, rm_reg(R8));          /* r8 = changed bits */
        emit_op1(e, 4, 0xf7, 0, rm_reg(R8));
        e32(e, F_TF | F_AC);
        c->jx[0] = jcc_rel32(e, 0x5);                   /* jnz: the VMM */
        emit_op1(e, 4, 0x21, R10, rm_reg(R8));          /* r8 = bits the pop sets */
        emit_op1(e, 4, 0xf7, 0, rm_reg(R8));
        e32(e, F_IF);
        uint8_t *ok = jcc_rel32(e, 0x4);                /* jz: IF not set now */
        cmp_irq_req(e);
        c->jx[1] = jcc_rel32(e, 0x5);                   /* jne: the VMM */
        patch_rel32(e, ok, e->p);
        emit_op1(e, 4, 0x81, 4, rm_reg(R10));           /* r10 &= m */
        e32(e, m);
        emit_op1(e, 4, 0x81, 4, rm_reg(R9));            /* r9 &= ~(m | RF) */
        e32(e, ~(m | F_RF));
        emit_op1(e, 4, 0x09, R10, rm_reg(R9));
        emit_op1(e, 4, 0x83, 1, rm_reg(R9));            /* or r9d, FIXED1 */
        eb(e, (uint8_t)F_FIXED1);
        mov_rm_r(e, 4, efl(), R9);
        lea(e, 4, R12, rm_mem(R12, 4));
        /* RFLAGS = the new arithmetic flags (lflags in r11). */
        mov_r_rm(e, 4, R11, rm_reg(R9));
        emit_op1(e, 4, 0x81, 4, rm_reg(R11));
        e32(e, 0xd5);
        emit_op1(e, 4, 0xc1, 4, rm_reg(R11));           /* shl r11d, 8 */
        eb(e, 8);
        emit_op1(e, 4, 0xc1, 5, rm_reg(R9));            /* shr r9d, 11 */
        eb(e, 11);
        emit_op1(e, 4, 0x83, 4, rm_reg(R9));            /* and r9d, 1 */
        eb(e, 1);
        emit_op1(e, 4, 0x09, R9, rm_reg(R11));
        restore_lflags(e, R11);
        end_mem(g);
        break;
    }
    default:
        break;
    }
    if (in->flags & IF_ENDS_BLOCK) gen_exit_direct(g, eip + in->len, 0);
}

static void gen_test(struct gen *g, const struct insn *in)
{
    struct emit *e = &g->e;
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    if (s->kind == OPND_IMM) {
        if (d->kind == OPND_MEM) view_fuse(g);
        emit_op1(e, d->size, d->size == 1 ? 0xf6 : 0xf7, 0, rm_of(g, d));
        emit_imm(e, d->size, s->disp);
    } else if (d->kind == OPND_MEM) {
        view_fuse(g);
        emit_op1(e, d->size, d->size == 1 ? 0x84 : 0x85, reg_of(s), rm_of(g, d));
    } else if (s->kind == OPND_MEM) {
        view_fuse(g);
        emit_op1(e, d->size, d->size == 1 ? 0x84 : 0x85, reg_of(d), rm_of(g, s));
    } else {
        emit_op1(e, d->size, d->size == 1 ? 0x84 : 0x85, reg_of(s), rm_of(g, d));
    }
}

/* Is instruction in a CMP or TEST of a 32-bit memory operand with a
 * register or an immediate, which mem_latch runs from r11? (Not in a
 * loop's second copy: its back edge would enter with another r11.) */
static bool latchable(const struct gen *g, const struct insn *in)
{
    if (g->in_loop || g->bt->no_latch) return false;
    if (in->nopnd != 2 || (in->id != X86_INS_CMP && in->id != X86_INS_TEST)) return false;
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    if (d->kind == OPND_MEM) return d->size == 4 && (is_gpr(s) || s->kind == OPND_IMM) && s->size == 4;
    return s->kind == OPND_MEM && s->size == 4 && is_gpr(d) && d->size == 4;
}

/* The CMP or TEST with its memory operand replaced by r11d. */
static void gen_latched(struct gen *g, const struct insn *in)
{
    struct emit *e = &g->e;
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    bool cmp = in->id == X86_INS_CMP;
    if (d->kind == OPND_MEM && s->kind == OPND_IMM) {
        emit_op1(e, 4, cmp ? 0x81 : 0xf7, cmp ? 7 : 0, rm_reg(R11)); /* cmp/test r11d, imm */
        e32(e, s->disp);
    } else if (d->kind == OPND_MEM) {
        emit_op1(e, 4, cmp ? 0x39 : 0x85, host_reg(s->reg), rm_reg(R11)); /* cmp/test r11d, reg */
    } else {
        emit_op1(e, 4, cmp ? 0x3b : 0x85, host_reg(d->reg), rm_reg(R11)); /* cmp/test reg, r11d */
    }
}

/* A latchable CMP or TEST (after its probe): mov r11d, [mem], then the
 * instruction from r11. */
static void mem_latch(struct gen *g, int k, const struct insn *in)
{
    /* Its own probe's fallback runs the instruction without loading r11:
     * leave the block after it. */
    if (g->ncold && g->cold[g->ncold - 1].k == k) g->cold[g->ncold - 1].leave = true;
    view_fuse(g); /* (the load into r11 is the access: no probe load before it) */
    mov_r_rm(&g->e, 4, R11, probed(g));
    gen_latched(g, in);
    g->r11_mem = k;
    g->bt->st.latched++;
}

/* The start of REP STOS/MOVS (the paths after it join with the flags exact
 * in RFLAGS and nothing stashed or kept in r11: so they enter, and the
 * probes keep them): ECX = 0 does nothing and probes nothing (memset's REP
 * STOSB tail often points past its buffer, on a page nothing maps). The
 * returned jump goes past the instruction, for the caller to patch. */
static uint8_t *gen_rep_start(struct gen *g)
{
    struct emit *e = &g->e;
    gen_unstash(g);
    g->stashed = false;
    eb(e, 0x67); eb(e, 0xe3); eb(e, 5);                      /* jecxz +5 */
    uint8_t *go = jmp_rel32(e);
    uint8_t *none = jmp_rel32(e);
    patch_rel32(e, go, e->p);
    return none;
}

/* Probe the first byte at guest register reg (ESI or EDI) for REP
 * STOS/MOVS, the flags kept for the probe's cold path and then saved in
 * r11; then r10 = 0 when ECX elements of 2^sc bytes from there lie in one
 * page (r8's low 12 bits are the address's, whatever view r8 is relative
 * to). Returns the JNZ taken when they do not (r11: the flags). */
static uint8_t *gen_rep_probe(struct gen *g, int k, int reg, bool write, int sc)
{
    struct emit *e = &g->e;
    mov_r_rm(e, 4, R8, rm_reg(host_reg(reg)));
    g->keep_flags = true;
    gen_probe(g, k, 1, write, false);
    g->keep_flags = false;
    gen_flags_home(g);
    save_lflags(e, R11);
    mov_r_rm(e, 4, R10, rm_reg(RCX));                        /* r10 = ECX, zero-extended */
    lea(e, 8, R10, rm_sib(R8, R10, sc, -1));                 /* the last byte's address */
    emit_op1(e, 8, 0x31, R8, rm_reg(R10));                   /* xor r10, r8 */
    emit_op1(e, 8, 0xc1, 5, rm_reg(R10));                    /* shr r10, 12 */
    eb(e, 12);
    return jcc_rel32(e, 0x5);                                /* jnz: not one page */
}

/* The end of REP STOS/MOVS: the native path jumps past the interpreter's
 * handler, which the slow paths (r11: the flags) run. */
static void gen_rep_end(struct gen *g, int k, uint32_t eip, uint8_t *slow1, uint8_t *slow2, uint8_t *none)
{
    struct emit *e = &g->e;
    restore_lflags(e, R11);
    uint8_t *done = jmp_rel32(e);
    patch_rel32(e, slow1, e->p);
    if (slow2) patch_rel32(e, slow2, e->p);
    restore_lflags(e, R11);
    gen_fallback(g, k, eip);
    patch_rel32(e, done, e->p);
    patch_rel32(e, none, e->p);
    g->r11_mem = -1;
}

/* REP STOS with DF = 0 (Linux's memset: REP STOSL, then REP STOSB of the
 * 0-3 bytes left; ~70 interpreter calls per fork+exit+wait before): the
 * first byte at EDI probed for writing; when the last one, EDI + ECX *
 * size - 1, is on the same page, the host's REP STOS fills the range
 * through the probe's translation (RDI = the host address, RCX = ECX zero-
 * extended; EDI then advanced by ECX * size, ECX left 0 as the host's).
 * ECX = 0 does nothing (JECXZ, no probe). Anything else — a range into
 * the next page, a probe miss (MMIO, a code page, not present) — runs the
 * interpreter's handler, which does it all. The flags, which REP STOS
 * leaves alone, are saved across the page check. */
static void gen_rep_stos(struct gen *g, int k, const struct insn *in, uint32_t eip)
{
    struct emit *e = &g->e;
    unsigned es = insn_string_elem_size(in);
    int sc = es == 4 ? 2 : es == 2 ? 1 : 0;
    uint8_t *none = gen_rep_start(g);
    uint8_t *slow = gen_rep_probe(g, k, R_EDI, true, sc);
    lea(e, 4, R10, rm_sib(host_reg(R_EDI), RCX, sc, 0));     /* r10d = EDI + ECX * size */
    lea(e, 8, host_reg(R_EDI), rm_sib(R9, R8, 0, 0));        /* rdi = the host address */
    mov_r_rm(e, 4, RCX, rm_reg(RCX));                        /* (zero-extends) */
    eb(e, 0xf3);                                             /* rep stos */
    if (es == 2) eb(e, 0x66);
    eb(e, es == 1 ? 0xaa : 0xab);
    mov_r_rm(e, 4, host_reg(R_EDI), rm_reg(R10));
    gen_rep_end(g, k, eip, slow, NULL, none);
}

/* REP MOVS upwards (DF clear), flat segments: when ECX elements of the
 * source and of the destination each lie in one page, the host's REP MOVS
 * on the two host addresses (each probed at its first byte: a fault there
 * or a page the TLB cannot give goes to the probe's cold path, which runs
 * the whole instruction in the interpreter, nothing changed yet), else the
 * interpreter's handler (a page crossing, or ECX up to 2^32). The host's
 * REP MOVS is the architectural element-by-element copy, overlaps
 * included. Linux copies with it (memcpy, copy_page: ~68 calls of the
 * interpreter per fork+exit+wait before). The source's host address waits
 * in the red zone across the destination's probe, as gen_bt_far's count. */
static void gen_rep_movs(struct gen *g, int k, const struct insn *in, uint32_t eip)
{
    struct emit *e = &g->e;
    unsigned es = insn_string_elem_size(in);
    int sc = es == 4 ? 2 : es == 2 ? 1 : 0;
    uint8_t *none = gen_rep_start(g);
    uint8_t *slow1 = gen_rep_probe(g, k, R_ESI, false, sc);
    lea(e, 8, R10, rm_sib(R9, R8, 0, 0));
    mov_rm_r(e, 8, rm_mem(RSP, -8), R10);                    /* the source's host address */
    restore_lflags(e, R11);
    uint8_t *slow2 = gen_rep_probe(g, k, R_EDI, true, sc);
    lea(e, 4, R10, rm_sib(host_reg(R_EDI), RCX, sc, 0));     /* r10d = EDI + ECX * size */
    lea(e, 8, host_reg(R_EDI), rm_sib(R9, R8, 0, 0));        /* rdi = the destination's host address */
    lea(e, 4, R8, rm_sib(host_reg(R_ESI), RCX, sc, 0));      /* r8d = ESI + ECX * size */
    mov_r_rm(e, 8, host_reg(R_ESI), rm_mem(RSP, -8));        /* rsi = the source's */
    mov_r_rm(e, 4, RCX, rm_reg(RCX));                        /* (zero-extends) */
    eb(e, 0xf3);                                             /* rep movs */
    if (es == 2) eb(e, 0x66);
    eb(e, es == 1 ? 0xa4 : 0xa5);
    mov_r_rm(e, 4, host_reg(R_EDI), rm_reg(R10));
    mov_r_rm(e, 4, host_reg(R_ESI), rm_reg(R8));
    gen_rep_end(g, k, eip, slow1, slow2, none);
}

/* BT* m32, r32 (bt_far_form): probe the dword the bit is in, ea + 4 *
 * (offset SAR 5) in 32-bit guest arithmetic, then point r8 back by 4 *
 * (offset SAR 5) so that the host's BT, which adds that itself, lands on
 * it. Flag-free (SARX, NOT, LEA: the flags may be live); the word count
 * waits in the red zone across the probe, as PUSH m32's value does. */
static void gen_bt_far(struct gen *g, int k, const struct insn *in)
{
    struct emit *e = &g->e;
    const struct opnd *m = &in->op[0];
    int off = host_reg(in->op[1].reg);
    bool write = in->id != X86_INS_BT;
    if (seg_flat(g->mode, m->seg)) gen_ea(e, m, R8);
    else gen_seg_ea(e, m);
    emit_op1(e, 8, 0x63, R10, rm_reg(off));            /* movsxd r10, off */
    mov_r32_imm(e, R11, 5);
    sarx(e, 8, R10, R10, R11);                          /* r10 = words */
    lea(e, 4, R8, rm_sib(R8, R10, 2, 0));               /* r8d = ea + 4 * words */
    emit_op1(e, 8, 0xf7, 2, rm_reg(R10));               /* not r10 */
    lea(e, 8, R10, rm_mem(R10, 1));                     /* r10 = -words */
    mov_rm_r(e, 8, rm_mem(RSP, -8), R10);
    g->may_wrap = seg_may_wrap(g->mode, m);
    gen_probe(g, k, 4, write, false);
    g->may_wrap = false;
    gen_flags_home(g); /* (the probe may have left them in r11: the BT writes CF) */
    mov_r_rm(e, 8, R10, rm_mem(RSP, -8));
    lea(e, 8, R8, rm_sib(R8, R10, 2, 0));               /* r8 = the probed address - 4 * words */
}

/* At a back edge of a self-loop (gen_loop), just before its jump: the
 * first body's decide whether the loop check is entered with r9 = the
 * view's base (loop_r9); the second body's then make sure of it (a
 * MOVABS, flag-free, where something since wrote r9). */
static void loop_edge_r9(struct gen *g)
{
    if (!g->in_loop) {
        g->loop_r9 = g->loop_r9 && g->r9_view;
    } else if (g->loop_r9 && !g->r9_view) {
        mov_r64_imm(&g->e, R9, (uint64_t)(uintptr_t)g->view);
        g->r9_view = true;
    }
}

static void gen_native(struct gen *g, int k, const struct insn *in, uint32_t eip)
{
    g->cur_k = k;
    struct emit *e = &g->e;
    const struct opnd *d = &in->op[0], *s = &in->op[1];
    uint32_t next = eip + in->len;
    bool wr, rd;
    const struct opnd *m = mem_opnd(in, &wr, &rd);
    enum alu_kind kind = kind_of(in);
    bool probed_here = false;
    g->probe_disp = 0;
    g->keep_flags = kind == K_PUSH; /* (the stack probe follows the source's) */
    if (m && can_reuse(g, m, wr)) {
        g->cold[g->reuse_cold].leave = true; /* r8/r9 as that probe left them */
        g->probe_disp = g->reuse_disp;
        g->bt->st.probes_reused++;
    } else if (m && m->base != REG_NONE && m->index == REG_NONE && seg_flat(g->mode, m->seg)) {
        probed_here = true;
        gen_base_probe(g, k, m->base, (int32_t)m->disp, m->size, wr);
        g->reuse_cold = g->ncold - 1;
        g->reuse_op = *m;
        g->reuse_write = wr;
        g->reuse_disp = g->probe_disp; /* (a same-page check: the operand is at r8 + that) */
    } else if (m) {
        if (seg_flat(g->mode, m->seg)) gen_ea(e, m, R8);
        else gen_seg_ea(e, m);
        g->may_wrap = seg_may_wrap(g->mode, m);
        /* Predict the page of table lookups ([index*scale + disp], no base
         * register), whose address is often on the guest's critical path
         * (CRC tables, jump tables, bytecode); base-register accesses
         * (stack, pointers, array sweeps) keep the plain probe: the
         * prediction costs a load more, and they are mostly load-bound. */
        gen_probe(g, k, m->size, wr, m->base == REG_NONE);
        g->may_wrap = false;
        probed_here = true;
        g->reuse_cold = g->ncold - 1;
        g->reuse_op = *m;
        g->reuse_write = wr;
        g->reuse_disp = 0;
    }
    g->keep_flags = false;
    /* Flags kept in r11: back to RFLAGS before an instruction that reads
     * them, writes some of them, uses r11 or leaves the block (CALL and RET
     * after their own probes, below). */
    if (g->flags_r11 && kind != K_CALL && kind != K_RET) {
        uint32_t r, w;
        flag_effects(in, true, &r, &w);
        if (r || (w && w != FL_ALL) || may_write_flags(g, k) != (w != 0) || kind == K_JMP || kind == K_JCC ||
            (in->flags & (IF_ENDS_BLOCK | IF_SENSITIVE)))
            gen_flags_home(g);
    }
    switch (kind) {
    case K_ALU: {
        if (latchable(g, in)) {
            mem_latch(g, k, in);
            break;
        }
        int dg = alu_digit(in->id);
        gen_pair(g, in, (uint8_t)(dg * 8 + 1), (uint8_t)(dg * 8 + 3), 0x81, dg);
        break;
    }
    case K_MOV:
        gen_pair(g, in, 0x89, 0x8b, 0xc7, 0);
        break;
    case K_TEST:
        if (latchable(g, in)) {
            mem_latch(g, k, in);
            break;
        }
        gen_test(g, in);
        break;
    case K_UNARY: {
        int dg = in->id == X86_INS_INC ? 0 : in->id == X86_INS_DEC ? 1 : in->id == X86_INS_NOT ? 2 : 3;
        uint8_t op = dg <= 1 ? (d->size == 1 ? 0xfe : 0xff) : (d->size == 1 ? 0xf6 : 0xf7);
        if (d->kind == OPND_MEM) view_fuse(g);
        emit_op1(e, d->size, op, dg, rm_of(g, d));
        break;
    }
    case K_SHIFT: {
        int dg = shift_digit(in->id);
        uint8_t b = d->size == 1 ? 0 : 1;
        if (d->kind == OPND_MEM) view_fuse(g); /* (each form below is one instruction) */
        if (in->nopnd == 1) {
            emit_op1(e, d->size, (uint8_t)(0xd0 + b), dg, rm_of(g, d));
        } else if (s->kind == OPND_IMM) {
            emit_op1(e, d->size, (uint8_t)(0xc0 + b), dg, rm_of(g, d));
            eb(e, (uint8_t)s->disp);
        } else {
            emit_op1(e, d->size, (uint8_t)(0xd2 + b), dg, rm_of(g, d));
        }
        break;
    }
    case K_IMUL: case K_MUL1: {
        /* Only CF and OF change (as in the interpreter); when the other flags
         * are live afterwards, merge the host's CF/OF into the old flags:
         * r10's AH = the old flags (LAHF), then SAHF with AH's CF replaced by
         * the new CF (= the new OF for MUL/IMUL), whose OF is set by ADD.
         * Not needed where the host's MUL/IMUL keep them too (AMD's:
         * mul_keeps_szap, BT86_BT_NO_HOST_MUL=1 turns it off). */
        bool keep = !g->bt->mul_keeps_szap &&
                    ((g->live_before[k + 1] & (F_SF | F_ZF | F_AF | F_PF)) != 0 || flags_exposed_after(g, k));
        if (keep) {
            mov_r_rm(e, 8, R10, rm_reg(RAX));
            eb(e, 0x9f);                                   /* lahf */
            xchg_rax(e, R10);
        }
        if (kind == K_MUL1) {
            emit_op1(e, d->size, d->size == 1 ? 0xf6 : 0xf7, in->id == X86_INS_MUL ? 4 : 5, rm_of(g, d));
        } else if (in->nopnd == 2) {
            emit_op2(e, d->size, 0x0f, 0xaf, host_reg(d->reg), rm_of(g, s));
        } else {
            emit_op1(e, d->size, 0x69, host_reg(d->reg), rm_of(g, s));
            emit_imm(e, d->size, in->op[2].disp);
        }
        if (keep) {
            eb(e, 0x41); eb(e, 0x0f); eb(e, 0x90); eb(e, 0xc3); /* seto r11b */
            xchg_rax(e, R10);
            eb(e, 0x80); eb(e, 0xe4); eb(e, 0xfe);          /* and ah, 0xfe */
            eb(e, 0x44); eb(e, 0x88); eb(e, 0xd8);          /* mov al, r11b */
            eb(e, 0x08); eb(e, 0xc4);                       /* or ah, al */
            eb(e, 0x04); eb(e, 0x7f);                       /* add al, 127: OF */
            eb(e, 0x9e);                                    /* sahf */
            xchg_rax(e, R10);
        }
        break;
    }
    case K_BSCAN: /* (a zero source leaves the destination as it was: bt_host_bscan_writes_only_zf) */
        if (s->kind == OPND_MEM) view_fuse(g);
        emit_op2(e, d->size, 0x0f, in->id == X86_INS_BSF ? 0xbc : 0xbd, host_reg(d->reg), rm_of(g, s));
        break;
    case K_MOVX: {
        uint8_t op = (uint8_t)((in->id == X86_INS_MOVZX ? 0xb6 : 0xbe) + (s->size == 2 ? 1 : 0));
        if (s->kind == OPND_MEM) view_fuse(g);
        emit_op2(e, d->size, 0x0f, op, host_reg(d->reg), rm_of(g, s));
        break;
    }
    case K_LEA: {
        int b = s->base == REG_NONE ? -1 : host_reg(s->base);
        int x = s->index == REG_NONE ? -1 : host_reg(s->index);
        if (b < 0 && x < 0) {
            if (d->size == 4) mov_r32_imm(e, host_reg(d->reg), s->disp);
            else {
                emit_op1(e, 2, 0xc7, 0, rm_reg(host_reg(d->reg)));
                e16(e, (uint16_t)s->disp);
            }
        } else {
            lea(e, d->size, host_reg(d->reg), rm_sib(b, x, s->scale, (int32_t)s->disp));
        }
        break;
    }
    case K_XCHG:
        if (d->kind == OPND_MEM) view_fuse(g);
        emit_op1(e, d->size, d->size == 1 ? 0x86 : 0x87, reg_of(s), rm_of(g, d));
        break;
    case K_CONV:
        /* The width is the operand size (Capstone may name 66 98 "cwde"). */
        if (in->opsize == 2) eb(e, 0x66);
        eb(e, (in->id == X86_INS_CDQ || in->id == X86_INS_CWD) ? 0x99 : 0x98);
        break;
    case K_NOP:
        break;
    case K_BSWAP: /* no flags */
        bswap_r(e, 4, host_reg(d->reg));
        break;
    case K_SETCC:
        emit_op2(e, 1, 0x0f, (uint8_t)(0x90 | (in->opc & 0xf)), 0, rm_of(g, d));
        break;
    case K_CMOV:
        emit_op2(e, d->size, 0x0f, (uint8_t)(0x40 | (in->opc & 0xf)), host_reg(d->reg), rm_of(g, s));
        break;
    case K_SHXD: { /* 0F A4/A5 SHLD, 0F AC/AD SHRD: by imm8 / by CL */
        bool imm = in->op[2].kind == OPND_IMM;
        uint8_t op = (uint8_t)((in->id == X86_INS_SHLD ? 0xa4 : 0xac) + (imm ? 0 : 1));
        if (d->kind == OPND_MEM) view_fuse(g);
        emit_op2(e, d->size, 0x0f, op, host_reg(s->reg), rm_of(g, d));
        if (imm) eb(e, (uint8_t)in->op[2].disp);
        break;
    }
    case K_BITT: { /* 0F A3/AB/B3/BB r/m, r; 0F BA /4../7 r/m, imm8 */
        int dg = in->id == X86_INS_BT ? 4 : in->id == X86_INS_BTS ? 5 : in->id == X86_INS_BTR ? 6 : 7;
        uint8_t by_reg = (uint8_t)(0xa3 + 8 * (dg - 4));
        if (bt_far_form(in)) {
            gen_bt_far(g, k, in);
            emit_op2(e, 4, 0x0f, by_reg, host_reg(s->reg), probed(g));
            end_mem(g);
            return;
        }
        if (d->kind == OPND_MEM) view_fuse(g);
        if (s->kind == OPND_IMM) {
            emit_op2(e, d->size, 0x0f, 0xba, dg, rm_of(g, d));
            eb(e, (uint8_t)s->disp);
        } else {
            emit_op2(e, d->size, 0x0f, by_reg, host_reg(s->reg), rm_of(g, d));
        }
        break;
    }
    case K_PUSH: {
        /* PUSH m32: the value waits in the red zone below the host stack
         * (no calls or signals write there) while the stack is probed;
         * either probe's fallback runs the whole instruction, in its
         * order (read, then write). The source's then leaves the block:
         * the accesses that follow may count on the stack probe's r8/r9. */
        if (probed_here) g->cold[g->ncold - 1].leave = true;
        if (m) {
            mov_r_rm(e, 4, R10, probed(g));
            mov_rm_r(e, 4, rm_mem(RSP, -8), R10);
        }
        gen_base_probe(g, k, R_ESP, -4, 4, true);
        if (m) {
            mov_r_rm(e, 4, R10, rm_mem(RSP, -8));
            mov_rm_r(e, 4, probed(g), R10);
        } else if (d->kind == OPND_IMM) {
            view_fuse(g);
            mov_m_imm32(e, 4, probed(g), d->disp);
        } else {
            view_fuse(g);
            mov_rm_r(e, 4, probed(g), host_reg(d->reg));
        }
        lea(e, 4, R12, rm_mem(R12, -4));
        end_mem(g);
        return;
    }
    case K_POP:
        gen_base_probe(g, k, R_ESP, 0, 4, false);
        view_fuse(g);
        mov_r_rm(e, 4, R10, probed(g));
        lea(e, 4, R12, rm_mem(R12, 4));
        mov_r_rm(e, 4, host_reg(d->reg), rm_reg(R10));
        end_mem(g);
        return;
    case K_XCHGOP: /* (the memory form writes either way, as the interpreter's) */
        emit_op2(e, d->size, 0x0f, in->id == X86_INS_CMPXCHG ? 0xb1 : 0xc1, host_reg(s->reg), rm_of(g, d));
        break;
    case K_CX8: /* writes either way too (the old value back on a mismatch); only ZF changes */
        view_fuse(g);
        emit_op2(e, 4, 0x0f, 0xc7, 1, rm_of(g, d));
        break;
    case K_DIV: {
        /* A zero divisor or a quotient above 2^32 - 1 (EDX >= divisor) is a
         * #DE: the cold path runs the interpreter's DIV, which raises it,
         * with the flags from before (r11; they are live here: DIV reads
         * them in flag_effects). The host DIV leaves the flags the
         * interpreter's leaves: it runs the same XOR, then DIV (the flags
         * after DIV depend on those before it). */
        int dv = R10;
        if (m) mov_r_rm(e, 4, R10, probed(g));
        else dv = host_reg(d->reg);
        gen_flags_home(g);
        save_lflags(e, R11);
        g->r11_mem = -1;
        struct cold *c = vmm_cold(g, k);
        c->leave = true; /* (the fallback raises #DE: it does not come back) */
        emit_op1(e, 4, 0x85, dv, rm_reg(dv));           /* test dv, dv */
        c->jfrom = jcc_rel32(e, 0x4);                   /* jz */
        emit_op1(e, 4, 0x39, dv, rm_reg(RDX));          /* cmp edx, dv */
        c->jx[0] = jcc_rel32(e, 0x3);                   /* jae */
        emit_op1(e, 4, 0x31, R11, rm_reg(R11));         /* xor r11d, r11d: the flags the interpreter's */
        emit_op1(e, 4, 0xf7, 6, rm_reg(dv));            /* div dv      DIV starts from (DIV_PRE) */
        c->resume = e->p; /* (and the probe's, by end_mem below) */
        break;
    }
    case K_STRING: { /* the access (probed above), then ESI or EDI moves */
        unsigned es = insn_string_elem_size(in);
        bool lods = is_lods(in);
        uint8_t opc = lods ? 0x8a : is_scas(in) ? 0x3a : 0x88; /* mov al, m / cmp al, m / mov m, al (STOS) */
        view_fuse(g);
        emit_op1(e, (int)es, (uint8_t)(opc + (es > 1)), 0, probed(g));
        int r = host_reg(lods ? R_ESI : R_EDI);
        lea(e, 4, r, rm_mem(r, string_step(g, k)));
        break;
    }
    case K_REPSTOS:
        gen_rep_stos(g, k, in, eip);
        end_mem(g);
        return;
    case K_REPMOVS:
        gen_rep_movs(g, k, in, eip);
        end_mem(g);
        return;
    case K_MOVS: {
        /* MOVS without REP (Linux's inflate_fast copies with MOVSW, its
         * memcpy ends with MOVSW/MOVSB): the source probed through ESI and
         * read, the value waiting in the red zone while EDI's is probed (as
         * PUSH m32's), then written; either probe's fallback runs the whole
         * instruction, read then write, and the source's leaves the block
         * (what follows may count on the destination probe's r8/r9). */
        unsigned es = insn_string_elem_size(in);
        int32_t step = string_step(g, k);
        g->keep_flags = true; /* (the destination's probe may fault after this one: as PUSH m32's) */
        gen_base_probe(g, k, R_ESI, 0, es, false);
        g->keep_flags = false;
        g->cold[g->ncold - 1].leave = true;
        mov_r_rm(e, (int)es, R10, probed(g));
        mov_rm_r(e, 4, rm_mem(RSP, -8), R10);
        gen_base_probe(g, k, R_EDI, 0, es, true);
        mov_r_rm(e, 4, R10, rm_mem(RSP, -8));
        mov_rm_r(e, (int)es, probed(g), R10);
        lea(e, 4, host_reg(R_ESI), rm_mem(host_reg(R_ESI), step));
        lea(e, 4, host_reg(R_EDI), rm_mem(host_reg(R_EDI), step));
        end_mem(g);
        return;
    }
    case K_LEAVE: /* mov esp, ebp; pop ebp */
        gen_base_probe(g, k, R_EBP, 0, 4, false);
        view_fuse(g);
        mov_r_rm(e, 4, R10, probed(g));
        lea(e, 4, R12, rm_mem(host_reg(R_EBP), 4));
        mov_r_rm(e, 4, host_reg(R_EBP), rm_reg(R10));
        end_mem(g);
        return;
    case K_CALL:
        gen_base_probe(g, k, R_ESP, -4, 4, true); /* (clobbers r9-r11) */
        gen_flags_home(g);
        if (!(in->flags & IF_REL_BRANCH)) mov_r_rm(e, 4, R11, rm_reg(host_reg(d->reg)));
        view_fuse(g); /* (not after that MOV) */
        mov_m_imm32(e, 4, probed(g), next);
        lea(e, 4, R12, rm_mem(R12, -4));
        end_mem(g);
        /* (a CALL to the next instruction reads EIP: it never returns) */
        if (ras_on(g) && !((in->flags & IF_REL_BRANCH) && d->disp == 0))
            gen_ras_call(g, next, in->flags & IF_REL_BRANCH, next + d->disp);
        else if (in->flags & IF_REL_BRANCH) gen_exit_direct(g, next + d->disp, 0);
        else gen_exit_indirect(g);
        return;
    case K_RET:
        gen_base_probe(g, k, R_ESP, 0, 4, false);
        gen_flags_home(g);
        view_fuse(g); /* (not if gen_flags_home emitted something) */
        mov_r_rm(e, 4, R11, probed(g));
        lea(e, 4, R12, rm_mem(R12, (int32_t)(4 + (in->nopnd ? (in->op[0].disp & 0xffff) : 0))));
        end_mem(g);
        if (ras_on(g)) gen_ras_ret(g);
        else gen_exit_indirect(g);
        return;
    case K_JMP:
        if (in->flags & IF_REL_BRANCH) {
            if (ends_first_block(g, k)) { /* merged: the target block follows */
                gen_unstash(g);
                return;
            }
            if (k == g->tb->n - 1 && g->loop_w >= 0 && next + d->disp == g->tb->eip) { /* the back edge (gen_loop) */
                gen_unstash(g);
                loop_edge_r9(g);
                g->loop_jmp[g->nloop++] = jmp_rel32(e);
                return;
            }
            gen_exit_direct(g, next + d->disp, 0);
            return;
        }
        if (m) view_fuse(g);
        if (m) mov_r_rm(e, 4, R11, probed(g));
        else mov_r_rm(e, 4, R11, rm_reg(host_reg(d->reg)));
        if (probed_here) end_mem(g);
        gen_exit_indirect(g);
        return;
    case K_JCC: {
        gen_unstash(g); /* (the JCC reads all flags: nothing is stashed here) */
        g->stashed = false;
        bool merged = ends_first_block(g, k);
        bool back = !merged && k == g->tb->n - 1 && g->loop_w >= 0 && next + d->disp == g->tb->eip;
        if (back) loop_edge_r9(g);
        uint8_t *taken = jcc_rel32(e, in->opc & 0xf);
        if (merged) { /* merged: not taken goes on into the next block */
            /* (its exit stub goes after the body: gen_deferred_exits) */
            g->dexit_at[g->ndexit] = taken;
            g->dexit_target[g->ndexit++] = next + d->disp;
            return;
        }
        if (back) { /* the back edge (gen_loop) */
            g->loop_jmp[g->nloop++] = taken;
            gen_exit_direct(g, next, g->in_loop ? 0 : 1);
            return;
        }
        gen_exit_direct(g, next, 1);
        gen_exit_direct_at(g, next + d->disp, 0, taken);
        return;
    }
    case K_CLI: case K_STI: case K_PUSHF: case K_POPF: case K_RDCR: case K_RDTSC:
        gen_sensitive(g, k, in, eip);
        return;
    default:
        break;
    }
    if (probed_here) end_mem(g);
}

/* ---------- the block ---------- */

/* Are all of a native instruction's accesses through the view (no probe of
 * it saves the flags)? Its memory operands decide; the stack and string
 * instructions' implicit accesses are 2 or 4 bytes, flat. */
static bool view_only(const struct gen *g, const struct insn *in)
{
    if (!g->view || !g->view_writes) return false;
    for (int i = 0; i < in->nopnd && i < 3; i++) {
        const struct opnd *o = &in->op[i];
        if (o->kind != OPND_MEM) continue;
        if (!view_access(g, o->size, true) || seg_may_wrap(g->mode, o)) return false;
    }
    return true;
}

/* Is the first thing that can observe the entry flags a probe that would
 * have to save them (they are not live, only exposed to its fault)? */
static bool entry_probe_saves(const struct gen *g)
{
    if (g->live_before[0] != 0) return false;
    for (int j = 0; j < g->tb->n; j++) {
        const struct insn *in = &g->tb->in[j];
        if (!g->native[j] || (in->flags & IF_SENSITIVE)) return false;
        if (probes_memory(in)) return !view_only(g, in);
        if (in->flags & IF_ENDS_BLOCK) return false;
        if (g->writes[j] == FL_ALL || may_write_flags(g, j)) return false;
    }
    return false;
}

/* What a TB's entry checks: r15 >= need, i.e. the budget lets the
 * dispatcher start its first block and, for a merged TB, its second too
 * (budget - 1 - n1 >= 0): the check between them is then not needed.
 * When the budget is short of that, run_one runs the first block alone
 * (MODE_SINGLE). */
static int32_t entry_need(const struct gen *g) { return tb_merged(g->tb) ? g->tb->n1 : 0; }

/* r15 >= need, by the flags: TEST or CMP, then the Jcc code that leaves. */
static int budget_test(struct gen *g, int32_t need)
{
    struct emit *e = &g->e;
    if (!need) {
        emit_op1(e, 8, 0x85, HR_BUDGET, rm_reg(HR_BUDGET)); /* test r15, r15 */
        return 0x8;                                         /* js */
    }
    emit_op1(e, 8, 0x81, 7, rm_reg(HR_BUDGET)); /* cmp r15, need */
    e32(e, (uint32_t)need);
    return 0xc; /* jl */
}

/* The flag-free budget check: leave for `eip` unless r15 >= need, then
 * charge n — enter only while the budget is positive (the run loop's
 * "start a block if the poll point or limit is not reached yet"); r15
 * holds budget - 1, so "positive" is its sign bit clear. Guest flags may
 * be live here (a chained entry), so the high half of r15 - need goes to
 * ecx for a JECXZ (RORX, or BSWAP without BMI2; both measured far cheaper
 * than saving the flags, and cheaper than PEXT with a one-bit mask). */
static void gen_budget_check(struct gen *g, uint32_t eip, int32_t n, int32_t need)
{
    struct emit *e = &g->e;
    /* ecx = the high half of r15 - need: zero while that is in [0, 2^32)
     * (run_one keeps the budget below 2^31), not once it is negative. */
    mov_r_rm(e, 8, R8, rm_reg(RCX));
    if (need) lea(e, 8, RCX, rm_mem(HR_BUDGET, -need));
    if (g->bt->bmi2) {
        rorx(e, 8, RCX, need ? RCX : HR_BUDGET, 32);
    } else {
        if (!need) mov_r_rm(e, 8, RCX, rm_reg(HR_BUDGET));
        bswap_r(e, 8, RCX);
    }
    eb(e, 0x67); eb(e, 0xe3);                          /* jecxz ok */
    uint8_t *rel8 = e->p;
    eb(e, 0);
    mov_r_rm(e, 8, RCX, rm_reg(R8));
    mov_m_imm32(e, 4, rm_mem(HR_V, OFF_EIP), eip);
    uint8_t *j = jmp_rel32(e);
    patch_rel32(e, j, g->bt->exit_regs);
    if (rel8 < e->end) *rel8 = (uint8_t)(e->p - (rel8 + 1));
    mov_r_rm(e, 8, RCX, rm_reg(R8));
    g->tb->fast = e->p; /* (the charge, without the check: run_one's forward chains) */
    lea(e, 8, HR_BUDGET, rm_mem(HR_BUDGET, -n));
}

static void gen_prologue(struct gen *g)
{
    struct emit *e = &g->e;
    int32_t n = g->tb->n1;
    if (entry_probe_saves(g)) {
        /* The first probe would save the flags anyway: save them here, into
         * the stash, and the budget check may clobber RFLAGS (TEST/JS, not
         * the JRCXZ sequence); gen_prologue_out leaves with them. */
        save_lflags(e, R11);
        int cc = budget_test(g, entry_need(g));
        g->prologue_out = jcc_rel32(e, cc);
        mov_rm_r(e, 8, STASH, R11);
        g->stashed = true;
        g->w_accum = 0;
        lea(e, 8, HR_BUDGET, rm_mem(HR_BUDGET, -n));
        return;
    }
    gen_budget_check(g, g->tb->eip, n, entry_need(g));
}

/* Between merged blocks: the second block's charge. The entry checked
 * that the budget covers its start (entry_need), as the dispatcher would
 * have checked here; RFLAGS is left alone. */
static void gen_transition(struct gen *g)
{
    lea(&g->e, 8, HR_BUDGET, rm_mem(HR_BUDGET, -(int32_t)(g->tb->n - g->tb->n1)));
}

/* The taken exits of merged Jccs (their not-taken path runs on inline). */
static void gen_deferred_exits(struct gen *g)
{
    for (int i = 0; i < g->ndexit; i++) gen_exit_direct_at(g, g->dexit_target[i], 0, g->dexit_at[i]);
}

/* The budget check of a prologue that saved the flags: leave at the
 * block's start with them (r11). */
static void gen_prologue_out(struct gen *g)
{
    struct emit *e = &g->e;
    if (!g->prologue_out) return;
    patch_rel32(e, g->prologue_out, e->p);
    restore_lflags(e, R11);
    mov_m_imm32(e, 4, rm_mem(HR_V, OFF_EIP), g->tb->eip);
    uint8_t *j = jmp_rel32(e);
    patch_rel32(e, j, g->bt->exit_regs);
}

/* The end of a linear-view site's TLB try (gen_colds): r10 and RFLAGS back
 * as the fault left them. */
static void lin_cold_restore(struct emit *e)
{
    pop_r(e, R10);
    popfq(e);
    lea(e, 8, RSP, rm_mem(RSP, 16));
}

static void gen_colds(struct gen *g)
{
    struct emit *e = &g->e;
    for (int i = 0; i < g->ncold; i++) {
        struct cold *c = &g->cold[i];
        if (c->pred) {
            /* The prediction failed. A site whose page changes all the time
             * (a hash table) would mispredict this branch at every access:
             * after PRED_MISSES misses its check becomes a jump to `full`
             * (8 bytes: JMP rel32 + the 3 bytes that were there). */
            patch_rel32(e, c->jfrom, e->p);
            patch_rel32(e, c->jfrom2, e->p);
            eb(e, 0x83); eb(e, 0x2d);                                        /* sub dword [rip + misses], 1 */
            e32(e, (uint32_t)(int32_t)((const uint8_t *)&c->pred[2] - (e->p + 5)));
            eb(e, 1);
            uint8_t *jnz = jcc_rel32(e, 0x5);
            uint8_t *patch_at = e->p;
            mov_r64_imm(e, R10, 0); /* (the 8 bytes, filled in below) */
            eb(e, 0x4c); eb(e, 0x89); eb(e, 0x15);                           /* mov [rip + site], r10 */
            e32(e, (uint32_t)(int32_t)(c->site - (e->p + 4)));
            patch_rel32(e, jnz, e->p);
            /* The full probe; a hit predicts this page from now on. */
            gen_tlb_lookup(g, c->size, c->write);
            uint8_t *miss = jcc_rel32(e, 0x5);                               /* jne: TLB miss */
            riprel_op(e, 0x89, R9, &c->pred[1]);                             /* mov [slot], r9d */
            riprel_op(e, 0x89, R10, &c->pred[0]);                            /* mov [P], r10d */
            mov_r_rm(e, 8, R9, rm_sib(HR_TLB, R9, 0, 8));
            uint8_t *back = jmp_rel32(e);
            patch_rel32(e, back, c->ok);
            /* `full`: the same without the prediction, for the patched site. */
            uint8_t *full = e->p;
            gen_tlb_lookup(g, c->size, c->write);
            uint8_t *miss2 = jcc_rel32(e, 0x5);
            mov_r_rm(e, 8, R9, rm_sib(HR_TLB, R9, 0, 8));
            back = jmp_rel32(e);
            patch_rel32(e, back, c->ok);
            if (c->site + 8 <= e->end && patch_at + 10 <= e->end) {
                uint8_t patched[8];
                memcpy(patched, c->site, 8);
                patched[0] = 0xe9;
                int32_t rel = (int32_t)(full - (c->site + 5));
                memcpy(patched + 1, &rel, 4);
                memcpy(patch_at + 2, patched, 8);
            }
            patch_rel32(e, miss, e->p);
            patch_rel32(e, miss2, e->p);
        } else if (c->vload) {
            /* bt_fault.c jumps here when the view access faults. */
            uint32_t start = (uint32_t)(c->vstart - g->bt->cache), cold = (uint32_t)(e->p - g->bt->cache);
            if (g->lin) {
                /* The linear view lacks the page (not global, not plain
                 * RAM, not yet used, read-only): the TLB probe. RFLAGS and
                 * r10 (a fused store's source) are kept on the host stack
                 * below the red zone's word a PUSH m32 keeps there
                 * ([rsp - 8]). A hit runs the access again at [r9 + r8]
                 * = addend + the address, with r9 = the view's base as
                 * the main path keeps it (r8 = addend + address - view:
                 * its low 12 bits are still the address's, all a later
                 * same-page check looks at); a miss goes on to the
                 * fallback. */
                lea(e, 8, RSP, rm_mem(RSP, -16));
                pushfq(e);
                push_r(e, R10);
                gen_tlb_lookup(g, c->size, c->write);
                uint8_t *miss = jcc_rel32(e, 0x5); /* jne */
                mov_r_rm(e, 8, R9, rm_sib(HR_TLB, R9, 0, 8));
                lea(e, 8, R8, rm_sib(R9, R8, 0, 0));
                mov_r64_imm(e, R9, (uint64_t)(uintptr_t)g->view);
                emit_op1(e, 8, 0x29, R9, rm_reg(R8)); /* sub r8, r9 */
                lin_cold_restore(e);
                patch_rel32(e, jmp_rel32(e), c->vload);
                patch_rel32(e, miss, e->p);
                lin_cold_restore(e);
            }
            g->vsite[g->nvsite++] = (struct bt_fault_site){ (uint32_t)(c->vload - g->bt->cache), start, cold, 0 };
            if (c->vstore)
                g->vsite[g->nvsite++] = (struct bt_fault_site){ (uint32_t)(c->vstore - g->bt->cache), start, cold, 0 };
            if (c->vsave) save_lflags(e, R11);
        } else {
            patch_rel32(e, c->jfrom, e->p);
        }
        patch_rel32(e, c->jx[0], e->p);
        patch_rel32(e, c->jx[1], e->p);
        /* The exact flags: r11 saved by the probe, or the stash merged with
         * what was rewritten since (then in r11). */
        if (c->remat1) {
            gen_remat_from(g, c->remat1 - 1, c->latched);
        } else {
            if (c->stashed && c->w_accum == 0) mov_r_rm(e, 8, R11, STASH);
            else if (c->stashed) gen_stash_merge(e, c->w_accum, R11, R10);
            restore_lflags(e, R11);
        }
        uint32_t eip = insn_eip(g, c->k);
        gen_fallback(g, c->k, eip);
        if (c->leave) {
            /* Later instructions count on this probe's r8/r9, which the
             * fallback did not set: leave after this instruction, giving
             * back the budget charged for the rest of the block (the run
             * loop then starts a block at the next instruction). The
             * flags are exact after a fallback. */
            lea(e, 8, HR_BUDGET, rm_mem(HR_BUDGET, part_end(g, c->k) - c->k - 1));
            mov_m_imm32(e, 4, rm_mem(HR_V, OFF_EIP), eip + g->tb->in[c->k].len);
            uint8_t *x = jmp_rel32(e);
            patch_rel32(e, x, g->bt->exit_regs);
            continue;
        }
        if (c->r11_after) save_lflags(e, R11); /* the main path keeps them in r11 */
        if (c->vload) mov_r64_imm(e, R9, (uint64_t)(uintptr_t)g->view); /* (gen_view_probe's r9) */
        if (c->stash_after) { /* the main path expects a stash: exact flags */
            save_lflags(e, R11);
            mov_rm_r(e, 8, STASH, R11);
        }
        uint8_t *j = jmp_rel32(e);
        patch_rel32(e, j, c->resume);
    }
}

/* Debugging aid: with BT86_BT_DUMP=DIR, each translation's host code goes to
 * DIR/<eip>-<mode>.bin (objdump -D -b binary -m i386:x86-64 shows it). */
static void dump_tb(const struct tb *tb, const uint8_t *end)
{
    static const char *dir;
    static bool looked;
    if (!looked) {
        dir = getenv("BT86_BT_DUMP");
        looked = true;
    }
    if (!dir) return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%08x-%x.bin", dir, (unsigned)tb->eip, (unsigned)tb->mode);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(tb->code, 1, (size_t)(end - tb->code), f);
    fclose(f);
}

/* Profiling aid: with BT86_PERF_MAP=1, each translation is named in
 * /tmp/perf-<pid>.map (perf's map file for JIT code), so `perf report`
 * attributes samples in the code cache to guest blocks ("bt86:<eip>"). */
static void perf_map_tb(const struct tb *tb, const uint8_t *end)
{
    static FILE *f;
    static bool looked;
    if (!looked) {
        looked = true;
        const char *s = getenv("BT86_PERF_MAP");
        if (s && *s == '1') {
            char path[64];
            snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
            f = fopen(path, "w");
        }
    }
    if (!f) return;
    fprintf(f, "%lx %lx bt86:%08x-%x\n", (unsigned long)(uintptr_t)tb->code, (unsigned long)(end - tb->code),
            (unsigned)tb->eip, (unsigned)tb->mode);
    fflush(f);
}

/* The block's instructions, from the state the prologue or the loop check
 * (gen_loop) left: the guest flags exact in RFLAGS, or (in the loop) given
 * by fsrc. */
/* Does native instruction in leave r9 as its probes left it, with no jump
 * into the middle of its code? (Straight-line kinds, and DIV, whose #DE
 * cold path leaves; not REP STOS (its skip jumps past the probe), CALL,
 * RET and the jumps, nor the sensitive kinds, whose code or C calls use r9.) */
static bool keeps_r9(const struct insn *in)
{
    switch (kind_of(in)) {
    case K_ALU: case K_MOV: case K_TEST: case K_MOVX: case K_UNARY: case K_LEA: case K_NOP: case K_PUSH:
    case K_POP: case K_CMOV: case K_SETCC: case K_CONV: case K_BSWAP: case K_IMUL: case K_LEAVE:
    case K_SHIFT: case K_MUL1: case K_DIV: case K_XCHG: case K_XCHGOP: case K_CX8: case K_SHXD: case K_BITT:
    case K_STRING: case K_MOVS: case K_BSCAN:
        return true;
    default:
        return false;
    }
}

static void gen_body(struct gen *g)
{
    struct tb *tb = g->tb;
    struct bt_vcpu *bt = g->bt;
    g->reuse_cold = -1;
    g->base_cold = -1;
    g->r11_mem = -1;
    g->r9_view = g->in_loop && g->loop_r9; /* (the loop's second body starts at the loop check) */
    bool ended = false;
    for (int k = 0; k < tb->n; k++) {
        const struct insn *in = &tb->in[k];
        uint32_t ip = insn_eip(g, k);
        if (k == tb->n1) gen_transition(g); /* merged: the second block */
        if (g->native[k]) {
            gen_native(g, k, in, ip);
            /* RFLAGS now holds the guest's value of the bits just written. */
            if (g->writes[k] == FL_ALL) g->stashed = g->flags_r11 = false;
            else if (g->stashed) g->w_accum |= g->writes[k];
            if (g->w_accum == FL_ALL) g->stashed = false;
            if (!g->in_loop) bt->st.native++;
            if ((in->flags & IF_SENSITIVE) && !g->in_loop) bt->st.sensitive_native++;
            ended = (in->flags & IF_ENDS_BLOCK) != 0;
        } else {
            gen_flags_home(g);
            gen_fallback(g, k, ip);
            g->r11_mem = -1;
            if (!g->in_loop) bt->st.fallback++;
            if ((in->flags & IF_SENSITIVE) && !g->in_loop) bt->st.sensitive_called++;
            if (in->flags & IF_ENDS_BLOCK) {
                eb(&g->e, 0xcc); /* the stub never returns here */
                ended = true;
            }
        }
        if (!keeps_r9(in)) g->r9_view = false; /* (a fallback cleared it already) */
        reuse_update(g, in, g->native[k]);
        base_update(g, k, g->native[k]);
        if (g->native[k] && g->writes[k] == FL_ALL) {
            g->fsrc = k;
            g->fsrc_from = k + 1;
        } else if (may_write_flags(g, k)) {
            g->fsrc = -1;
        }
        if (may_write_flags(g, k)) g->remat_mode = false;
        if (ended && ends_first_block(g, k)) ended = false; /* its Jcc or JMP goes on */
        if (ended) break;
    }
    if (!ended) gen_exit_direct(g, insn_eip(g, tb->n), 0);
}

/* Self-loops. A block whose last instruction jumps back to its start, with
 * flags that gen_remat can recompute there (the loop's CMP, or ADD/SUB of
 * its counter: loop_source), gets a second copy of its body that the back
 * edge enters directly instead of through a chained exit and the prologue:
 * the check that the budget is positive may then clobber RFLAGS (TEST/JS
 * rather than the prologue's flag-free JRCXZ sequence), and the body's
 * probes recompute the flags from the loop's own last flag writer instead
 * of saving them (gen_probe). The budget is charged per iteration as the
 * prologue would, so instruction counts and interrupt timing do not
 * change; a guest write to the loop's code ends it at the store's C call
 * (REQ_BLOCK_END), as it ends any block. */
static int loop_source(const struct gen *g)
{
    const struct tb *tb = g->tb;
    int last = tb->n - 1;
    const struct insn *in = &tb->in[last];
    if (g->bt->no_loops || !g->native[last] || !(in->flags & IF_REL_BRANCH)) return -1;
    if (g->df_end != g->df[0]) return -1; /* (the second copy of the body assumes the entry's DF: g->df) */
    enum alu_kind kind = kind_of(in);
    if (kind != K_JCC && kind != K_JMP) return -1;
    uint32_t ip = insn_eip(g, last);
    if (ip + in->len + in->op[0].disp != tb->eip) return -1;
    for (int w = last - 1; w >= 0; w--) {
        if (!may_write_flags(g, w)) continue;
        if (!g->native[w] || g->writes[w] != FL_ALL || !remat_form(g, w)) return -1;
        return remat_clobbered(g, w, w + 1, tb->n) ? -1 : w;
    }
    return -1;
}

static void gen_loop(struct gen *g)
{
    struct emit *e = &g->e;
    uint8_t *check = e->p;
    for (int i = 0; i < g->nloop; i++) patch_rel32(e, g->loop_jmp[i], check);
    g->nloop = 0;
    int cc = budget_test(g, entry_need(g)); /* budget - 1 < need? */
    uint8_t *out = jcc_rel32(e, cc);
    lea(e, 8, HR_BUDGET, rm_mem(HR_BUDGET, -(int32_t)g->tb->n1));
    /* The flags are those the back edge saw: loop_w's, whose inputs are
     * unchanged up to the first instruction. */
    g->in_loop = true;
    g->flags_r11 = false;
    g->stashed = false;
    g->w_accum = 0;
    g->fsrc = g->loop_w;
    g->fsrc_from = 0;
    g->remat_mode = false;
    if (g->live_before[0] != 0) gen_remat(g, g->loop_w);
    else if (!flags_exposed_after(g, -1)) g->fsrc = -1;
    else if (remat_covers(g, g->loop_w, -1)) g->remat_mode = true;
    else gen_remat(g, g->loop_w);
    gen_body(g);
    for (int i = 0; i < g->nloop; i++) patch_rel32(e, g->loop_jmp[i], check);
    /* Budget used up: leave at the block's start with the exact flags. */
    patch_rel32(e, out, e->p);
    gen_remat(g, g->loop_w);
    mov_m_imm32(e, 4, rm_mem(HR_V, OFF_EIP), g->tb->eip);
    uint8_t *j = jmp_rel32(e);
    patch_rel32(e, j, g->bt->exit_regs);
    g->bt->st.loops++;
}

bool bt_merge_target(const struct block *b, uint32_t eip, uint32_t *next)
{
    if (!b->n) return false;
    const struct insn *in = &b->in[b->n - 1];
    enum alu_kind kind = kind_of(in);
    if (!(in->flags & IF_REL_BRANCH) || in->opsize != 4 || (kind != K_JCC && kind != K_JMP) || in->nopnd != 1)
        return false;
    /* A backward Jcc closes a loop: its fall-through is the loop's exit,
     * the cold side, and the block may be an in-block loop (gen_loop). */
    if (kind == K_JCC && (int32_t)in->op[0].disp < 0) return false;
    uint32_t end = eip + b->bytes;
    *next = kind == K_JCC ? end : end + in->op[0].disp;
    return true;
}

struct tb *bt_translate(struct bt_vcpu *bt, const struct block *b, const struct block *b2, uint32_t eip, uint32_t mode)
{
    uint32_t eip2 = 0;
    if (b2 && !bt_merge_target(b, eip, &eip2)) b2 = NULL;
    int n = b->n + (b2 ? b2->n : 0);
    size_t hdr = sizeof(struct tb) + (size_t)n * sizeof(struct insn);
    hdr = (hdr + 63) & ~(size_t)63;
    uint8_t *end = bt->cache + bt->cache_size;
    if ((size_t)(end - bt->free) < hdr + 256) return NULL;
    if ((size_t)(bt->pred_end - bt->pred_next) < 8u * (size_t)n) return NULL; /* at most a probe per instruction and body */
    struct gen gs;
    struct gen *g = &gs;
    memset(g, 0, offsetof(struct gen, cold));
    g->bt = bt;
    g->mode = mode & ~MODE_SINGLE; /* (the code is that of the vCPU's mode; only the key differs) */
    /* (room for every fault site: bt_fault.c must know each view access) */
    if ((mode & MODE_PHYS_DIRECT) && bt_fault_reserve(bt, BT_SITES_MAX)) {
        g->view = bt->view;
        g->view_writes = bt->view_writes;
    } else if ((mode & (MODE_LIN_DIRECT | MODE_ULIN_DIRECT)) && bt_fault_reserve(bt, BT_SITES_MAX)) {
        g->view = (mode & MODE_LIN_DIRECT) ? bt->lview.base : bt->uview.base;
        g->view_writes = true;
        g->lin = true;
    }
    struct tb *tb = (struct tb *)(void *)bt->free;
    memset(tb, 0, sizeof(*tb));
    tb->host = b->host;
    tb->key = eip | (uint64_t)mode << 32;
    tb->eip = eip;
    tb->mode = mode;
    tb->pa = b->pa;
    tb->n = (uint16_t)n;
    tb->n1 = b->n;
    tb->eip2 = eip2;
    tb->bytes = (uint16_t)(b->bytes + (b2 ? b2->bytes : 0));
    memcpy(tb->in, b->in, b->n * sizeof(struct insn));
    if (b2) memcpy(tb->in + b->n, b2->in, b2->n * sizeof(struct insn));
    g->tb = tb;
    g->e = (struct emit){ bt->free + hdr, end, false };
    tb->code = g->e.p;

    /* Each instruction's EIP and EFLAGS.DF (only CLD and STD change it
     * without ending the block), which instructions are native, and flag
     * liveness (all live at the end). */
    bool df = (mode & MODE_DF) != 0;
    uint32_t ip = eip;
    for (int k = 0; k < n; k++) {
        if (k == tb->n1) ip = eip2;
        g->eip[k] = ip;
        ip += tb->in[k].len;
        g->df[k] = df;
        if (tb->in[k].id == X86_INS_CLD) df = false;
        if (tb->in[k].id == X86_INS_STD) df = true;
        g->native[k] = native_ok(bt, &tb->in[k], mode, g->df[k]);
    }
    g->eip[n] = ip;
    g->df_end = df;
    if (tb_merged(tb) && !g->native[tb->n1 - 1]) { /* a Jcc or JMP the translator calls out for: no merge */
        tb->n = tb->n1;
        tb->bytes = b->bytes;
        tb->eip2 = 0;
        n = tb->n;
        /* (it ends the block: neither CLD nor STD) */
        g->eip[n] = g->eip[n - 1] + tb->in[n - 1].len;
        g->df_end = g->df[n - 1];
    }
    if (tb_merged(tb)) bt->st.merged++;
    uint32_t live = FL_ALL;
    g->live_before[n] = live;
    for (int k = n - 1; k >= 0; k--) {
        uint32_t r, w;
        flag_effects(&tb->in[k], g->native[k], &r, &w);
        g->writes[k] = w;
        live = r | (live & ~w);
        g->live_before[k] = live;
    }

    g->fsrc = -1;
    /* (Not 0, which the memset left: loop_source would take instruction 0
     * for a CMP latched in r11 and recompute the loop's exit flags from
     * memory at r9 + r8 — whatever they hold after a fallback.) */
    g->r11_mem = -1;
    gen_prologue(g);
    g->loop_w = loop_source(g);
    g->loop_r9 = g->view && !bt->no_r9_view;
    gen_body(g);
    if (g->nloop) gen_loop(g);
    gen_prologue_out(g);
    gen_deferred_exits(g);
    gen_colds(g);
    if (g->e.overflow) return NULL;
    bt_fault_add_sites(g->bt, g->vsite, (uint32_t)g->nvsite);
    bt->free = (uint8_t *)(((uintptr_t)g->e.p + 15) & ~(uintptr_t)15);
    bt->st.tbs++;
    bt->st.guest_bytes += tb->bytes;
    bt->st.code_bytes += (uint64_t)(g->e.p - tb->code);
    dump_tb(tb, g->e.p);
    perf_map_tb(tb, g->e.p);
    return tb;
}
