/* Interpreter handlers: string instructions MOVS, CMPS, STOS, LODS, SCAS in
 * byte/word/dword forms with REP/REPE/REPNE, and XLAT.
 *
 * ESI/EDI/ECX are used at the address size (SI/DI/CX with 16-bit addressing),
 * stepped by DF. The source segment may be overridden; the destination is
 * always ES. Each iteration commits its register updates before the next one
 * starts, so a fault in the middle of a REP leaves the registers at the exact
 * iteration with EIP on the instruction. A long REP gives the run loop a
 * chance to take interrupts by returning with next_eip == eip after a bounded
 * amount of work (the instruction simply resumes, as on hardware).
 *
 * REP MOVS / REP STOS with DF=0 copy or fill page chunks through host
 * pointers when both sides hit the shadow TLB and the chunk lies inside the
 * segment limits; everything else goes element by element. */
#include <capstone/capstone.h>
#include <string.h>

#include "cpu/exec_hostflags.h"
#include "cpu/flags.h"
#include "cpu/interp.h"
#include "cpu/operand.h"

/* Iterations of the element-by-element loop (LODS, CMPS, SCAS), and bytes
 * moved by MOVS/STOS, before a REP instruction yields to the run loop. MOVS
 * and STOS count the same bytes whether they went through a page chunk or
 * one element at a time, and chunks never cross the budget: the yield point
 * depends only on the guest's registers, not on what the TLB happens to
 * hold, so every engine stops at the same place (lockstep relies on it). */
#define REP_YIELD_ITERS 4096u
#define REP_YIELD_BYTES (64u * 1024u)

/* The SSE forms that Capstone gives the same ids as the string forms
 * (F2 0F 10/11 MOVSD, F2 0F C2 CMPSD). The x87/SSE handlers provide the
 * strong definitions; until then they are #UD. */
__attribute__((weak)) void exec_sse_movsd(struct vcpu *v, const struct insn *in)
{
    (void)in;
    cpu_ud(v);
}

__attribute__((weak)) void exec_sse_cmpsd(struct vcpu *v, const struct insn *in)
{
    (void)in;
    cpu_ud(v);
}


/* The source segment: the memory operand based on (E)SI carries the override
 * or the default DS. */
static int src_seg(const struct insn *in)
{
    for (int i = 0; i < in->nopnd && i < 3; i++)
        if (in->op[i].kind == OPND_MEM && in->op[i].base == R_ESI) return in->op[i].seg;
    return S_DS;
}

/* Register state of one string instruction, at the address size. */
struct strctx {
    uint32_t amask;  /* 0xffff or 0xffffffff */
    int asize;       /* 2 or 4 */
    unsigned esize;  /* element size */
    uint32_t step;   /* +esize or -esize (mod 2^32) */
    int sseg;        /* source segment */
};

static inline void ctx_init(struct strctx *c, const struct vcpu *v, const struct insn *in)
{
    c->asize = in->addrsize;
    c->amask = in->addrsize == 2 ? 0xffffu : 0xffffffffu;
    c->esize = insn_string_elem_size(in);
    c->step = (v->eflags & F_DF) ? (uint32_t)-c->esize : c->esize;
    c->sseg = src_seg(in);
}

static inline uint32_t reg_a(const struct vcpu *v, const struct strctx *c, int r) { return v->r[r] & c->amask; }
static inline void reg_step(struct vcpu *v, const struct strctx *c, int r)
{
    gpr_set(v, r, c->asize, v->r[r] + c->step);
}

static inline bool is_rep(const struct insn *in) { return (in->prefix & (PFX_REP | PFX_REPNE)) != 0; }

/* Called at the end of a REP loop iteration: returns true if the instruction
 * should yield now (leaving EIP on itself) because the budget is used up. */
static inline bool rep_yield(struct vcpu *v, uint32_t *budget, uint32_t cost)
{
    if (*budget > cost) {
        *budget -= cost;
        return false;
    }
    v->next_eip = v->eip;
    v->req |= REQ_BLOCK_END; /* the records after this one in the block must not run */
    return true;
}

/* --- MOVS and STOS: one element, and the REP loop they share --- */

/* One element (the plain instruction, and the REP loop's slow path). */
static void movs_one(struct vcpu *v, const struct strctx *c, uint32_t unused)
{
    (void)unused;
    uint32_t x = mem_read(v, c->sseg, reg_a(v, c, R_ESI), c->esize);
    mem_write(v, S_ES, reg_a(v, c, R_EDI), x, c->esize);
    reg_step(v, c, R_ESI);
    reg_step(v, c, R_EDI);
}

static void stos_one(struct vcpu *v, const struct strctx *c, uint32_t val)
{
    mem_write(v, S_ES, reg_a(v, c, R_EDI), val, c->esize);
    reg_step(v, c, R_EDI);
}

typedef uint32_t (*rep_chunk_fn)(struct vcpu *v, const struct strctx *c, uint32_t count, uint32_t val);
typedef void (*rep_one_fn)(struct vcpu *v, const struct strctx *c, uint32_t val);

/* REP MOVS/STOS: page chunks through host pointers where possible (DF=0),
 * else one element at a time; both count the same bytes against the yield
 * budget and a chunk never crosses it. */
static inline void rep_store_loop(struct vcpu *v, const struct strctx *c, rep_chunk_fn chunk, rep_one_fn one,
                                  uint32_t val)
{
    uint32_t budget = REP_YIELD_BYTES;
    bool fast = !(v->eflags & F_DF);
    for (;;) {
        uint32_t count = reg_a(v, c, R_ECX);
        if (count == 0) return;
        uint32_t room = budget / c->esize;
        uint32_t done = fast ? chunk(v, c, count < room ? count : room, val) : 0;
        if (done == 0) {
            one(v, c, val);
            done = 1;
        }
        gpr_set(v, R_ECX, c->asize, count - done);
        if (count - done != 0 && rep_yield(v, &budget, done * c->esize)) return;
    }
}

/* --- MOVS --- */

/* Try to move one page chunk (DF=0) through host pointers. Returns the number
 * of elements moved, 0 if the chunk could not be done that way. */
static uint32_t movs_chunk(struct vcpu *v, const struct strctx *c, uint32_t count, uint32_t unused)
{
    (void)unused;
    uint32_t si = reg_a(v, c, R_ESI), di = reg_a(v, c, R_EDI);
    const struct seg_cache *ss = &v->seg[c->sseg], *ds = &v->seg[S_ES];
    if (!ss->rd || !ds->wr || si < ss->lo || si > ss->hi || di < ds->lo || di > ds->hi) return 0;
    /* Bytes allowed by the segment limits and the address-size wrap. */
    uint64_t n = (uint64_t)count * c->esize;
    uint64_t lim = (uint64_t)ss->hi - si + 1;
    if (lim < n) n = lim;
    lim = (uint64_t)ds->hi - di + 1;
    if (lim < n) n = lim;
    lim = (uint64_t)c->amask - si + 1;
    if (lim < n) n = lim;
    lim = (uint64_t)c->amask - di + 1;
    if (lim < n) n = lim;
    /* ...and by both pages. */
    uint32_t slin = ss->base + si, dlin = ds->base + di;
    lim = 0x1000u - (slin & 0xfff);
    if (lim < n) n = lim;
    lim = 0x1000u - (dlin & 0xfff);
    if (lim < n) n = lim;
    uint32_t elems = (uint32_t)(n / c->esize);
    if (elems == 0) return 0;
    uint32_t bytes = elems * c->esize;
    const uint8_t *sp = tlb_probe_read(&v->tlb, v->mem_view, slin, 1);
    uint8_t *dp = tlb_probe_write(&v->tlb, v->mem_view, dlin, 1);
    if (!sp || !dp) return 0;
    if (dp <= sp || dp >= sp + bytes) {
        memmove(dp, sp, bytes);
    } else {
        /* Destination overlaps ahead of the source: element-by-element forward
         * copy reproduces the hardware's repeating pattern. */
        for (uint32_t i = 0; i < bytes; i += c->esize) memmove(dp + i, sp + i, c->esize);
    }
    gpr_set(v, R_ESI, c->asize, v->r[R_ESI] + bytes);
    gpr_set(v, R_EDI, c->asize, v->r[R_EDI] + bytes);
    return elems;
}

static void exec_movs(struct vcpu *v, const struct insn *in)
{
    if (unlikely(in->opc_map != 0)) {
        exec_sse_movsd(v, in);
        return;
    }
    struct strctx c;
    ctx_init(&c, v, in);
    if (!is_rep(in)) movs_one(v, &c, 0);
    else rep_store_loop(v, &c, movs_chunk, movs_one, 0);
}

/* --- STOS --- */

static uint32_t stos_chunk(struct vcpu *v, const struct strctx *c, uint32_t count, uint32_t val)
{
    uint32_t di = reg_a(v, c, R_EDI);
    const struct seg_cache *ds = &v->seg[S_ES];
    if (!ds->wr || di < ds->lo || di > ds->hi) return 0;
    uint64_t n = (uint64_t)count * c->esize;
    uint64_t lim = (uint64_t)ds->hi - di + 1;
    if (lim < n) n = lim;
    lim = (uint64_t)c->amask - di + 1;
    if (lim < n) n = lim;
    uint32_t dlin = ds->base + di;
    lim = 0x1000u - (dlin & 0xfff);
    if (lim < n) n = lim;
    uint32_t elems = (uint32_t)(n / c->esize);
    if (elems == 0) return 0;
    uint8_t *dp = tlb_probe_write(&v->tlb, v->mem_view, dlin, 1);
    if (!dp) return 0;
    /* (Fixed-size copies: with the size a variable, GCC calls memcpy for
     * every element — Linux's clear_page, REP STOSL of 1024 dwords, was
     * 1024 library calls.) */
    if (c->esize == 1 || val == 0) {
        memset(dp, (int)(val & 0xff), (size_t)elems * c->esize);
    } else if (c->esize == 2) {
        uint16_t w = (uint16_t)val;
        for (uint32_t i = 0; i < elems; i++) memcpy(dp + i * 2, &w, 2);
    } else {
        for (uint32_t i = 0; i < elems; i++) memcpy(dp + i * 4, &val, 4);
    }
    gpr_set(v, R_EDI, c->asize, v->r[R_EDI] + elems * c->esize);
    return elems;
}

static void exec_stos(struct vcpu *v, const struct insn *in)
{
    struct strctx c;
    ctx_init(&c, v, in);
    uint32_t val = gpr_get(v, R_EAX, (int)c.esize);
    if (!is_rep(in)) stos_one(v, &c, val);
    else rep_store_loop(v, &c, stos_chunk, stos_one, val);
}

/* --- LODS --- */

static void exec_lods(struct vcpu *v, const struct insn *in)
{
    struct strctx c;
    ctx_init(&c, v, in);
    uint32_t budget = REP_YIELD_ITERS;
    bool rep = is_rep(in);
    for (;;) {
        uint32_t count = reg_a(v, &c, R_ECX);
        if (rep && count == 0) return;
        uint32_t x = mem_read(v, c.sseg, reg_a(v, &c, R_ESI), c.esize);
        gpr_set(v, R_EAX, (int)c.esize, x);
        reg_step(v, &c, R_ESI);
        if (!rep) return;
        gpr_set(v, R_ECX, c.asize, count - 1);
        if (count - 1 != 0 && rep_yield(v, &budget, 1)) return;
    }
}

/* --- CMPS / SCAS: REPE stops when ZF=0, REPNE when ZF=1 --- */

static inline bool rep_cond_done(const struct vcpu *v, const struct insn *in)
{
    bool zf = (v->eflags & F_ZF) != 0;
    return (in->prefix & PFX_REPNE) ? zf : !zf;
}

static void exec_cmps(struct vcpu *v, const struct insn *in)
{
    if (unlikely(in->opc_map != 0)) {
        exec_sse_cmpsd(v, in);
        return;
    }
    struct strctx c;
    ctx_init(&c, v, in);
    uint32_t budget = REP_YIELD_ITERS;
    bool rep = is_rep(in);
    for (;;) {
        uint32_t count = reg_a(v, &c, R_ECX);
        if (rep && count == 0) return;
        uint32_t a = mem_read(v, c.sseg, reg_a(v, &c, R_ESI), c.esize);
        uint32_t b = mem_read(v, S_ES, reg_a(v, &c, R_EDI), c.esize);
        flags_set_arith(v, host_cmp_flags(a, b, c.esize));
        reg_step(v, &c, R_ESI);
        reg_step(v, &c, R_EDI);
        if (!rep) return;
        gpr_set(v, R_ECX, c.asize, count - 1);
        if (count - 1 == 0 || rep_cond_done(v, in)) return;
        if (rep_yield(v, &budget, 1)) return;
    }
}

static void exec_scas(struct vcpu *v, const struct insn *in)
{
    struct strctx c;
    ctx_init(&c, v, in);
    uint32_t budget = REP_YIELD_ITERS;
    bool rep = is_rep(in);
    uint32_t acc = gpr_get(v, R_EAX, (int)c.esize);
    for (;;) {
        uint32_t count = reg_a(v, &c, R_ECX);
        if (rep && count == 0) return;
        uint32_t b = mem_read(v, S_ES, reg_a(v, &c, R_EDI), c.esize);
        flags_set_arith(v, host_cmp_flags(acc, b, c.esize));
        reg_step(v, &c, R_EDI);
        if (!rep) return;
        gpr_set(v, R_ECX, c.asize, count - 1);
        if (count - 1 == 0 || rep_cond_done(v, in)) return;
        if (rep_yield(v, &budget, 1)) return;
    }
}

/* --- XLAT: AL = [seg:(E)BX + AL], DS unless overridden --- */

static void exec_xlat(struct vcpu *v, const struct insn *in)
{
    int seg = S_DS;
    for (int i = 0; i < in->nopnd && i < 3; i++)
        if (in->op[i].kind == OPND_MEM) seg = in->op[i].seg;
    uint32_t off = v->r[R_EBX] + (v->r[R_EAX] & 0xff);
    if (in->addrsize == 2) off &= 0xffff;
    gpr_set(v, R_EAX, 1, mem_read(v, seg, off, 1));
}

void interp_register_string(insn_exec_fn *t)
{
    t[X86_INS_MOVSB] = exec_movs;
    t[X86_INS_MOVSW] = exec_movs;
    t[X86_INS_MOVSD] = exec_movs;
    t[X86_INS_CMPSB] = exec_cmps;
    t[X86_INS_CMPSW] = exec_cmps;
    t[X86_INS_CMPSD] = exec_cmps;
    t[X86_INS_STOSB] = exec_stos;
    t[X86_INS_STOSW] = exec_stos;
    t[X86_INS_STOSD] = exec_stos;
    t[X86_INS_LODSB] = exec_lods;
    t[X86_INS_LODSW] = exec_lods;
    t[X86_INS_LODSD] = exec_lods;
    t[X86_INS_SCASB] = exec_scas;
    t[X86_INS_SCASW] = exec_scas;
    t[X86_INS_SCASD] = exec_scas;
    t[X86_INS_XLATB] = exec_xlat;
}
