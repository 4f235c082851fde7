/* The translator's private data structures, shared by its files: the per-vCPU
 * state (code cache, lookup tables), translated blocks and their chainable
 * exits, and the register conventions of translated code. */
#ifndef BT86_TRANSLATOR_BT_INTERNAL_H
#define BT86_TRANSLATOR_BT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/insn.h"
#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "memory/lin_view.h"
#include "translator/bt.h"

/* Translated code conventions (see docs of translator/bt_gen.c):
 *   guest EAX ECX EDX EBX EBP ESI EDI in host rax rcx rdx rbx rbp rsi rdi,
 *   guest ESP in r12, r13 = struct vcpu *, r14 = TLB table of v->mem_view,
 *   r15 = the instruction budget - 1 (bt_vcpu.budget - 1 while in translated code),
 *   r8-r11 scratch. Guest arithmetic flags live in host RFLAGS; host rsp is
 *   16-byte aligned at instruction boundaries.
 * Instruction count: a block charges its length to the budget on entry, so
 *   inside translated code v->icount = icount_base - budget - (instructions
 *   of the current block not retired yet); it is made exact before every C
 *   call (fallback stub) and by the dispatcher after the exit. */
#define HR_V   13
#define HR_TLB 14
#define HR_BUDGET 15
static inline int host_reg(int guest) { return guest == R_ESP ? 12 : guest; }

/* TB key bits (struct tb.mode): everything the generated code depends on
 * besides the guest bytes and the start EIP. */
#define MODE_CODE32  0x0001u
#define MODE_STACK32 0x0002u
#define MODE_FLAT_CS 0x0004u /* CS base 0, limit 4 GiB: no limit checks on branch targets */
#define MODE_FLAT_ES 0x0010u /* data segment base 0, 4 GiB, readable and writable */
#define MODE_FLAT_SS 0x0020u
#define MODE_FLAT_DS 0x0040u
/* Paging off, A20 on, a view without alignment checks, not -engine trap,
 * and the physical view in use (bt_vcpu.view): linear = physical, so reads
 * go through the view with no TLB (gen_view_probe). */
#define MODE_PHYS_DIRECT 0x0008u
#define MODE_DF      0x0080u /* EFLAGS.DF: the step of native LODS/STOS/SCAS */
#define MODE_CPL_SHIFT 8     /* 2 bits */
#define MODE_VIEW_SHIFT 10   /* 2 bits: v->mem_view */
/* FS and GS with a base: expand-up, limit 4 GiB, readable and writable (any
 * base, read at run time from the vCPU: Linux's per-CPU segment in the
 * kernel, the TLS segment in user space); _PAGED: the base is page aligned,
 * so an offset wrapping past 4 GiB is always a page crossing, which the
 * TLB probe sends to the interpreter's #GP. */
#define MODE_BIG_FS       0x1000u
#define MODE_BIG_FS_PAGED 0x2000u
#define MODE_BIG_GS       0x4000u
#define MODE_BIG_GS_PAGED 0x8000u
/* Not a vCPU state: the key of a merged TB's first block translated alone,
 * for a dispatch whose budget ends inside the merged TB (run_one). */
#define MODE_SINGLE 0x10000u
/* Paging on with global pages (CR4.PGE: without, the linear view stays
 * empty), the supervisor TLB view, not -engine trap, and the linear view in
 * use (bt_vcpu.lview): accesses go to the linear view at the linear address
 * (gen_view_probe), a fault to the TLB probe (gen_colds). */
#define MODE_LIN_DIRECT 0x20000u
/* Paging on, the user TLB view, not -engine trap, and the user linear view
 * on (tlb.uv_on: the address space has run BT_UVIEW_AFTER instructions
 * since the last MOV CR3): accesses go to bt_vcpu.uview the same way. */
#define MODE_ULIN_DIRECT 0x40000u
#define BT_UVIEW_AFTER 2000000u /* default of bt_vcpu.uv_after (BT86_BT_USER_VIEW_AFTER=N) */

struct tb;

/* An access through the physical view (bt_gen.c, gen_view_probe): the
 * offsets in the code cache of the instruction that faults (the probe's
 * load, or its store for a write; or the guest instruction's own access
 * where view_fuse dropped them), of the probe's start (its MOVABS, 10
 * bytes, patched into a jump to the cold path once the site has faulted
 * BT_VIEW_FAULTS_MAX times) and of its cold path. */
struct bt_fault_site {
    uint32_t at, start, cold;
    uint32_t faults;
};
#define BT_VIEW_FAULTS_MAX 16

/* The return-address stack (bt_gen.c, gen_ras_call): frames a guest CALL
 * may push on the host stack before one must drop them, and the state
 * translated code keeps of them. */
#define BT_RAS_DEPTH 128
struct bt_ras {
    uint64_t base_rsp; /* RSP with no frames (set by the entry trampoline) */
    uint32_t room;     /* frames that may still be pushed: BT_RAS_DEPTH when none are */
    uint32_t unused;
};
#define BT_PRED_FIRST(bt) ((bt)->pred + sizeof(struct bt_ras) / sizeof(uint32_t)) /* (after struct bt_ras) */

#define BT_EXITS 6 /* chainable exits per TB (a merged loop has up to five; more leave through the jump cache) */

/* A chainable exit: a direct jump to `target`, whose `jmp rel32` at `patch`
 * initially falls through to the code returning to the dispatcher. */
struct tb_exit {
    struct tb *tb;
    uint8_t *patch;     /* address of the rel32 */
    uint32_t target;
};

struct tb {
    uint64_t key;        /* eip | mode << 32 (translated code compares it); ~0 once dead */
    const uint8_t *host; /* host address of the first guest byte */
    uint32_t eip;        /* guest EIP of the first instruction */
    uint32_t mode;
    uint32_t pa;         /* guest physical address of the first byte */
    uint16_t n;          /* guest instructions */
    uint16_t n1;         /* those of the first decoded block (n unless merged: bt_merge_target, tb_merged) */
    uint16_t bytes;      /* guest bytes covered */
    uint32_t eip2;       /* merged: the EIP of the second block (in[n1]) */
    bool dead;
    bool global;         /* last entered in the ijc through a global page (kept across MOV CR3) */
    uint8_t *code;       /* entry point */
    uint8_t *fast;       /* past the prologue's budget check (NULL: none): forward chains enter here */
    struct tb *hnext;    /* hash chain */
    struct tb *pnext;    /* TBs of the same RAM page */
    struct tb_exit exit[BT_EXITS];
    struct insn in[];    /* copies of the records (fallbacks call in[i].exec) */
};

/* TBs by (host address, EIP, mode): a Linux run translates ~67,000; at 2^14
 * buckets the chains made find_tb 2.4% of a bench run's samples, 1.0% now. */
#define BT_HASH_BITS 17
#define BT_JC_BITS   12
#define BT_IJC_SIZE  65536 /* indexed by bt_ijc_hash */
#define BT_IJC_LOG_MAX 1024
#define BT_INV_MAX 64 /* queued invalidated pages per vCPU */
#define BT_STRADDLE_SLOTS 64
/* Forward chains (run_one) enter past the budget check: chained code may
 * then run on after the budget is used up, through TBs that start further
 * on in the same page — at most 4096 of them, of at most two blocks each.
 * Within that many instructions of an exact limit there are none
 * (bt->exact). */
#define BT_FAST_OVERSHOOT ((uint64_t)4096 * 2 * BLOCK_MAX_INSNS)

struct bt_vcpu {
    /* Touched by translated code (through v->bt). */
    int64_t budget;          /* blocks start while it is positive (r15 inside) */
    uint64_t icount_base;    /* v->icount + budget when no block is half done */
    struct tb_exit *last_exit; /* set by a chainable exit stub, 0 otherwise */
    uint32_t tlb_mask;       /* v->tlb.mask the translations were made for (an immediate in the probes) */
    bool bmi2;               /* the host has BMI2: RORX in probes and prologues */
    bool logic_af0;          /* the host's AND/OR/XOR clear AF (bt_hostflags.c): gen_remat may TEST their result */
    bool mul_keeps_szap;     /* the host's MUL/IMUL keep SF ZF AF PF, as the interpreter does (bt_hostflags.c) */
    bool shxd_native;        /* the host's SHLD/SHRD flags depend on the operands alone: emitted natively */
    bool bscan_native;       /* the host's BSF/BSR as the interpreter's (bt_host_bscan_writes_only_zf): emitted natively */
    bool bt_native;          /* the host's BT/BTS/BTR/BTC write CF alone: emitted natively */

    struct vcpu *v;
    uint8_t *cache;          /* mmap'd RWX region */
    size_t cache_size;
    uint8_t *tb_start;       /* first byte after the trampolines */
    uint8_t *free;           /* bump pointer */
    /* Trampolines (translator/bt_tramp.c). */
    void (*enter)(struct vcpu *v, struct bt_vcpu *bt, const uint8_t *code);
    uint8_t *exit_regs;      /* guest regs and flags in host registers */
    uint8_t *exit_mem;       /* guest state already in struct vcpu */
    uint8_t *fallback;       /* call: r8 = record, r9 = icount delta */
    /* Page predictions of the inline TLB probes (bt_gen.c): two words per
     * probe, {guest page, its TLB slot offset}, in RW pages just after the
     * code (RIP-relative from it; not in code pages, which the host would
     * treat as self-modifying code when written). Reset with the cache. */
    uint32_t *pred, *pred_next, *pred_end;
    /* The return-address stack's state (bt_gen.c, gen_ras_call), in the
     * first words of those pages: RIP-relative to translated code. */
    struct bt_ras *ras;

    struct tb *hash[1u << BT_HASH_BITS];
    struct tb *jc[1u << BT_JC_BITS]; /* by linear EIP */
    /* TBs of a single instruction no decoded block holds (it crosses a
     * page end), run by cpu_exec_uncached_handler: they hold no guest
     * bytes, so no code write makes them stale (straddle_tb). By EIP. */
    struct tb *straddle[BT_STRADDLE_SLOTS];
    uint32_t npages;
    struct tb **page_head;   /* per RAM page */

    /* The decode cache's flush count this cache is consistent with: drops
     * that do not come through code_written (a whole-cache flush, e.g. at
     * its size limit) make us flush everything. */
    uint64_t seen_dcache_flushes;
    /* Pages whose translations must go (code_written, which runs on the
     * thread of whichever vCPU wrote the code: with -smp threads, not
     * necessarily ours). Only the owning thread unlinks TBs, at its next
     * dispatch (run_one); inv_pending says the queue is not empty. Past
     * BT_INV_MAX pages, inv_overflow asks for a whole flush. */
    pthread_mutex_t inv_lock;
    int inv_pending;         /* atomic */
    bool inv_overflow;       /* inv_lock */
    uint32_t inv_n;          /* inv_lock */
    uint32_t inv_page[BT_INV_MAX];

    struct bt_stats st;
    /* Switches for before/after measurements (BT86_BT_NO_*=1, read once by
     * bt_new): */
    bool no_r9_view;         /* NO_R9_VIEW: every physical-view access loads the view's base (no reuse of r9) */
    bool no_ras;             /* NO_RAS: guest CALL/RET through the jump cache, no host CALL/RET (gen_ras_call) */
    bool no_goto;            /* NO_GOTO: bt_goto_lookup always says "dispatcher" */
    bool no_merge;           /* NO_MERGE: one decoded block per TB */
    bool no_loops;           /* NO_LOOPS: no in-block back edges (gen_loop) */
    bool no_adaptive;        /* NO_ADAPTIVE: sensitive instructions through vmm_call, as under -stats */
    bool no_same_page;       /* NO_SAME_PAGE: every access through a base register takes the full probe */
    bool no_latch;           /* NO_LATCH: memory CMP/TEST not latched in r11 (mem_latch) */
    bool no_fast_dispatch;   /* NO_FAST_DISPATCH: run_one always looks up the decoded block */
    bool no_view_fuse;       /* NO_VIEW_FUSE: every view access keeps its probe load (and store) */
    bool no_fast_chain;      /* NO_FAST_CHAIN: every chained jump enters at the budget check */
    bool exact;              /* an exact limit is near: no forward chains (flushed once, run_one) */
    /* The physical view (phys_view.c; NULL: none, NO_VIEW, or no room in
     * bt_fault.c): with MODE_PHYS_DIRECT a read is at view + address, the
     * page faults when it is not plain RAM, and bt_fault.c sends the fault
     * to the access's cold path. Its sites, by code offset, sorted
     * (appended as the bump allocator goes; reset with the cache). */
    const uint8_t *view;
    /* ... and writes too (one vCPU, not NO_VIEW_WRITES): the view keeps
     * code pages read-only (phys_mem.view_wp), so a write to code faults to
     * its cold path as well. Off for good when the view stops doing that. */
    bool view_writes;
    /* The linear view (memory/lin_view.h; base NULL: none, NO_LIN_VIEW,
     * several vCPUs): with MODE_LIN_DIRECT accesses are at lview.base +
     * linear address, faults go to the TLB probe. */
    struct lin_view lview;
    /* ... and for user code (MODE_ULIN_DIRECT; base NULL: none): the user
     * TLB view's entries, kept while tlb.uv_on. uv_gen/uv_since: the TLB's
     * flush generation and v->icount when this address space started
     * running (run_one turns the view on BT_UVIEW_AFTER instructions
     * later). */
    struct lin_view uview;
    uint64_t uv_gen, uv_since, uv_after;
    struct bt_fault_site *sites;
    uint32_t nsites, cap_sites;

    /* Jump cache probed by translated code at indirect and cross-page exits
     * (flat CS only, so EIP == linear address): empty slots point at
     * `nothing`, whose key never matches. A hit needs no page-mapping
     * check, so the dispatcher drops what each TLB flush dropped before
     * anything probes it (ijc_resync, as the interpreter's jump cache
     * does): MOV CR3 the entries entered through non-global pages, INVLPG
     * its page's (the 4096 slots a 4 KiB page's EIPs index), a full TLB
     * flush everything. */
    uint64_t seen_tlb_flushes, seen_all_gen, seen_ng_gen, seen_page_gen;
    struct tb nothing;
    struct tb *ijc[BT_IJC_SIZE];
    /* What translated code reads of ijc[i]: copies of the TB's key and
     * entry, so that a lookup loads one line rather than the slot and then
     * the TB's header (two dependent cache misses: a fifth of the host
     * time in translated code of a fork+exit+wait loop went to them).
     * Written with ijc[] (ijc_put); a killed TB's slot is emptied. */
    struct bt_ijc_ent {
        uint64_t key;
        const uint8_t *code;
    } ijc_ent[BT_IJC_SIZE];
    /* The slots filled with non-global entries since the last MOV CR3, so
     * that it touches only those rather than all 64 Ki slots; past
     * BT_IJC_LOG_MAX it sweeps the table. */
    uint32_t ijc_used;
    uint16_t ijc_log[BT_IJC_LOG_MAX];
    /* One bit per linear 4 KiB page: set when an entry for a TB on that
     * page goes in, so that INVLPG of a page that holds none (a data page:
     * nearly always) skips the 4096-slot sweep. Cleared with the table. */
    uint64_t ijc_pages[(1u << 20) / 64];
};

/* bt_fault.c: the SIGSEGV handler for accesses through the physical view.
 * A vCPU's cache is registered while it may run translated code with view
 * accesses; false when there is no room (then it must not use the view). */
bool bt_fault_register(struct bt_vcpu *bt);
void bt_fault_unregister(struct bt_vcpu *bt);
/* Room for n more sites (false: out of memory: this translation makes no
 * view accesses), and appending a translation's sites. */
bool bt_fault_reserve(struct bt_vcpu *bt, uint32_t n);
void bt_fault_add_sites(struct bt_vcpu *bt, const struct bt_fault_site *s, uint32_t n);

/* bt_hostflags.c: what the host does with flags the SDM leaves undefined. */
bool bt_host_logic_clears_af(void);
bool bt_host_mul_keeps_szap(void);
bool bt_host_shxd_flags_pure(void);
bool bt_host_bscan_writes_only_zf(void);
bool bt_host_bt_writes_only_cf(void);

/* bt_tramp.c: emit the entry/exit trampolines at the start of the cache. */
void bt_emit_trampolines(struct bt_vcpu *bt);
/* bt_gen.c: translate a decoded block into the cache. Returns the TB, or
 * NULL when the cache is full (the caller flushes and retries). */
struct block;
static inline bool tb_merged(const struct tb *tb) { return tb->n1 < tb->n; }

struct tb *bt_translate(struct bt_vcpu *bt, const struct block *b, const struct block *b2, uint32_t eip, uint32_t mode);
/* The EIP where decoded block b (at eip) continues when its last instruction
 * is a Jcc not taken (the fall-through) or a direct JMP (its target): a block
 * there on the same page may be translated with it as one TB (b2 above),
 * without a chained jump and a prologue between them. False when b does not
 * end so. */
bool bt_merge_target(const struct block *b, uint32_t eip, uint32_t *next);
/* bt_helpers.c: called from translated code (through the fallback stub).
 * Returns 0 to resume after the instruction, 1 to return to the
 * dispatcher, else the entry point of the translation to jump to (bt_goto). */
uintptr_t bt_helper_exec(struct vcpu *v, const struct insn *in);
/* Called directly by inline RDTSC at CPL 0: the guest's TSC. */
uint64_t bt_rdtsc(struct vcpu *v);
/* bt_goto.c: after a C call that left the block (a VMM callout changing
 * CS:EIP, the mode or the CPL), the entry of an existing translation for the
 * new CS:EIP and mode when the dispatcher would do nothing else before
 * running it, else 1 (return to the dispatcher). */
uintptr_t bt_goto_lookup(struct vcpu *v);

/* A data segment that is expand-up with a 4 GiB limit, readable and
 * writable (any base): no limit checks on accesses through it. */
static inline bool bt_seg_is_big(const struct seg_cache *s)
{
    return s->lo == 0 && s->hi == 0xffffffffu && s->rd && s->wr;
}

static inline bool bt_seg_is_flat(const struct seg_cache *s) { return s->base == 0 && bt_seg_is_big(s); }

static inline uint32_t bt_seg_big_bits(const struct seg_cache *s, uint32_t big, uint32_t paged)
{
    if (!bt_seg_is_big(s)) return 0;
    return (s->base & 0xfffu) ? big : big | paged;
}

/* The jump cache's slot for EIP (flat CS: the linear address) in a TB of
 * `mode`. With paging (no MODE_PHYS_DIRECT) and BMI2 (bt_vcpu.bmi2): the
 * low 16 bits plus 9 times the high 16 bits, modulo 2^16 — flag-free in
 * translated code (RORX, LEA, LEA, MOVZX: gen_lookup_exit). The low bits
 * alone put every function entry at the same page offset of addresses 64
 * KiB apart in one slot (Linux's fork path: ~100 collisions per fork).
 * Else the low 16 bits (MOVZX): a Multiboot kernel's code is small, and
 * the three more instructions on every indirect jump cost its bytecode
 * interpreter 10%. A lookup only hits a TB of its own mode, so each mode
 * keeps to one function. A 4 KiB page's EIPs index 4096 consecutive slots
 * (modulo the size) under either, which INVLPG sweeps (ijc_drop_range). */
static inline bool bt_ijc_hashed(bool bmi2, uint32_t mode) { return bmi2 && !(mode & MODE_PHYS_DIRECT); }
static inline uint32_t bt_ijc_hash(bool hashed, uint32_t eip)
{
    if (!hashed) return eip & (BT_IJC_SIZE - 1);
    uint32_t hi = eip >> 16 | eip << 16;
    return (eip + hi * 9u) & (BT_IJC_SIZE - 1);
}
/* The slot of a TB of `mode` at `eip` (flat CS: the linear address). */
static inline uint32_t bt_ijc_slot(const struct bt_vcpu *bt, uint32_t mode, uint32_t eip)
{
    return bt_ijc_hash(bt_ijc_hashed(bt->bmi2, mode), eip);
}

/* The TB key bits of the vCPU's current state. */
static inline uint32_t bt_current_mode(const struct vcpu *v)
{
    uint32_t mode = 0;
    if (v->code32) mode |= MODE_CODE32;
    if (v->stack32) mode |= MODE_STACK32;
    /* (Not "base == 0 && limit == ~0", which GCC makes one 8-byte load: a
     * VMM call that just wrote CS with separate stores then costs a failed
     * store forwarding, a third of a lookup-and-goto.) */
    if ((v->seg[S_CS].base | ~v->seg[S_CS].limit) == 0) mode |= MODE_FLAT_CS;
    if (bt_seg_is_flat(&v->seg[S_ES])) mode |= MODE_FLAT_ES;
    if (bt_seg_is_flat(&v->seg[S_SS])) mode |= MODE_FLAT_SS;
    if (bt_seg_is_flat(&v->seg[S_DS])) mode |= MODE_FLAT_DS;
    mode |= bt_seg_big_bits(&v->seg[S_FS], MODE_BIG_FS, MODE_BIG_FS_PAGED);
    mode |= bt_seg_big_bits(&v->seg[S_GS], MODE_BIG_GS, MODE_BIG_GS_PAGED);
    mode |= (uint32_t)(v->cpl & 3) << MODE_CPL_SHIFT;
    mode |= (uint32_t)(v->mem_view & 3) << MODE_VIEW_SHIFT;
    if (v->eflags & F_DF) mode |= MODE_DF;
    if (!(v->cr0 & CR0_PG) && v->m->a20_mask == 0xffffffffu && v->mem_view != TLB_VIEW_AC && !v->trap &&
        ((const struct bt_vcpu *)v->bt)->view)
        mode |= MODE_PHYS_DIRECT;
    if ((v->cr0 & CR0_PG) && (v->cr4 & CR4_PGE) && v->mem_view == TLB_VIEW_SUP && !v->trap &&
        ((const struct bt_vcpu *)v->bt)->lview.base)
        mode |= MODE_LIN_DIRECT;
    if (v->tlb.uv_on && (v->cr0 & CR0_PG) && v->mem_view == TLB_VIEW_USER && !v->trap) mode |= MODE_ULIN_DIRECT;
    return mode;
}

#endif
