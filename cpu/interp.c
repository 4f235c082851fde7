/* The reference interpreter's run loop: find the decoded block at CS:EIP, run
 * its records one by one, take interrupts between blocks, deliver faults. */
#include "cpu/interp.h"

#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/decode.h"
#include "cpu/decode_cache.h"
#include "cpu/fault.h"
#include "cpu/interrupt.h"
#include "cpu/lock_atomic.h"
#include "cpu/machine.h"
#include "cpu/mem.h"
#include "cpu/trap_engine.h"
#include "cpu/vmm.h"
#include "memory/paging.h"

insn_exec_fn interp_exec_table[X86_INS_ENDING];

/* -smp threads: this host thread's own Capstone handle (a handle is not
 * thread-safe); NULL: the machine's. */
static _Thread_local struct decoder *tl_decoder;

void interp_set_thread_decoder(struct decoder *d) { tl_decoder = d; }

static inline struct decoder *decoder_of(struct machine *m) { return tl_decoder ? tl_decoder : m->decoder; }

void exec_ud(struct vcpu *v, const struct insn *in)
{
    (void)in;
    cpu_ud(v);
}

void exec_locked(struct vcpu *v, const struct insn *in)
{
    v->lock_rmw = LOCK_RMW_ATOMIC;
    interp_exec_table[in->id](v, in);
    if (unlikely(v->lock_rmw == LOCK_RMW_EXCL)) lock_excl_leave(v); /* it took the exclusive section */
    v->lock_rmw = 0;
}

void interp_init(void)
{
    static int done;
    if (done) return;
    for (int i = 0; i < X86_INS_ENDING; i++) interp_exec_table[i] = exec_ud;
    interp_register_alu(interp_exec_table);
    interp_register_bits(interp_exec_table);
    interp_register_move(interp_exec_table);
    interp_register_string(interp_exec_table);
    interp_register_branch(interp_exec_table);
    interp_register_system(interp_exec_table);
    interp_register_segment(interp_exec_table);
    interp_register_x87(interp_exec_table);
    done = 1;
}

_Noreturn void cpu_fault_err(struct vcpu *v, int vector, uint32_t err)
{
    v->fault_vec = vector;
    v->fault_err = err;
    v->fault_has_err = true;
    longjmp(v->fault_jmp, 1);
}

_Noreturn void cpu_fault(struct vcpu *v, int vector)
{
    v->fault_vec = vector;
    v->fault_err = 0;
    v->fault_has_err = false;
    longjmp(v->fault_jmp, 1);
}

static inline uint32_t ip_mask(const struct vcpu *v)
{
    return v->code32 ? 0xffffffffu : 0xffffu;
}

static inline void exec_one(struct vcpu *v, const struct insn *in)
{
    v->insn_eip = v->eip;
    v->next_eip = (v->eip + in->len) & ip_mask(v);
    in->exec(v, in);
    v->eip = v->next_eip;
    v->icount++;
}

/* Instructions decoded outside the decode cache, by EIP: a page-crossing
 * instruction in a loop (common in a kernel's 4 KiB-aligned text) would
 * otherwise go through Capstone at every execution. An entry is used only if
 * the bytes fetched now equal those it was decoded from, so it needs no
 * invalidation; fetching them again keeps the fetch faults exact. */
#define UC_ENTRIES 256
/* By the page number mixed with the offset: these instructions sit in the
 * last 14 bytes of a page, so the offset alone (or EIP ^ EIP >> 5, whose
 * low bits are the same for every EIP ending in 0xfff) would put them all
 * in a handful of slots — Linux's fork path has a dozen, and each miss is
 * a Capstone decode. */
static inline unsigned uc_index(uint32_t eip) { return (((eip >> 12) * 0x9e3779b1u + eip) >> 24) % UC_ENTRIES; }
struct uncached_insns {
    struct uc_entry {
        uint32_t eip;
        uint8_t code32, len; /* len 0: empty */
        uint8_t bytes[15];
        struct insn in;
    } e[UC_ENTRIES];
};

/* Remember the instruction just decoded at EIP from its len bytes. */
static void uc_store(struct uc_entry *e, const struct vcpu *v, const uint8_t *bytes, unsigned len)
{
    e->eip = v->eip;
    e->code32 = v->code32;
    e->len = (uint8_t)len;
    memcpy(e->bytes, bytes, len);
}

/* Fetch and decode the instruction at CS:EIP without the decode cache (it
 * crosses a page boundary, lies in MMIO, or runs past the CS limit) into
 * *out; faults and #UD raised as the interpreter would. */
static void decode_uncached(struct vcpu *v, struct insn *out)
{
    struct machine *m = v->m;
    const struct seg_cache *cs = &v->seg[S_CS];
    int view = v->cpl == 3 && !trap_kernel_view(v) ? TLB_VIEW_USER : TLB_VIEW_SUP;
    uint8_t bytes[16];
    uint32_t n = 0;
    v->insn_eip = v->eip; /* fetch faults report the instruction being fetched */
    if (unlikely(!v->uc)) {
        v->uc = calloc(1, sizeof(*v->uc));
        if (!v->uc) cpu_gp(v, 0); /* out of host memory: cannot happen in practice */
    }
    struct uc_entry *e = &v->uc->e[uc_index(v->eip)];
    bool hit = e->len && e->eip == v->eip && e->code32 == v->code32;
    /* An instruction crossing into the next page with both pages in the TLB
     * and 15 bytes inside CS (32-bit code, no EIP wrap): both parts at once,
     * as no fault can come of it (the hot case: Linux has kernel code doing
     * this a hundred times per fork). */
    uint32_t lin0 = cs->base + v->eip, n1 = 0x1000u - (lin0 & 0xfffu);
    if (v->code32 && n1 < 15 && v->eip <= cs->limit && cs->limit - v->eip >= 14 && v->eip <= 0xffffffffu - 14) {
        const uint8_t *p1 = tlb_probe_read(&v->tlb, view, lin0, n1);
        const uint8_t *p2 = tlb_probe_read(&v->tlb, view, lin0 + n1, 15 - n1);
        if (p1 && p2) {
            memcpy(bytes, p1, n1);
            memcpy(bytes + n1, p2, 15 - n1);
            if (!hit || memcmp(bytes, e->bytes, e->len) != 0) {
                int r = decode_one(decoder_of(m), bytes, 15, v->eip, v->code32, &e->in);
                if (r != DECODE_OK) e->len = 0;
                if (r == DECODE_UD) cpu_ud(v);
                if (r == DECODE_OK) uc_store(e, v, bytes, e->in.len);
            }
            if (e->len) {
                *out = e->in;
                return;
            }
            hit = false; /* (not expected with 15 bytes: decode as below) */
        }
    }
    /* Fetch byte by byte, in order, so a fault on the second page is raised
     * only if the instruction really reaches it. */
    for (;;) {
        if (n == 15) cpu_gp(v, 0); /* longer than 15 bytes */
        uint32_t off = (v->eip + n) & ip_mask(v);
        if (off > cs->limit) cpu_gp(v, 0);
        bytes[n] = (uint8_t)lin_read_slow(v, cs->base + off, 1, view, ACC_FETCH);
        n++;
        if (hit) {
            if (bytes[n - 1] != e->bytes[n - 1]) hit = false; /* changed: decode afresh */
            else if (n == e->len) break;
            else continue;
        }
        int r = decode_one(decoder_of(m), bytes, n, v->eip, v->code32, &e->in);
        if (r == DECODE_OK) {
            uc_store(e, v, bytes, n);
            break;
        }
        e->len = 0;
        if (r == DECODE_UD) cpu_ud(v);
    }
    *out = e->in; /* (a copy: the handler may decode uncached again, e.g. a fault handler) */
}

/* ... and run it. */
static void exec_uncached(struct vcpu *v)
{
    struct insn in;
    decode_uncached(v, &in);
    exec_one(v, &in);
}

void cpu_exec_uncached_handler(struct vcpu *v, const struct insn *self)
{
    (void)self;
    struct insn in;
    decode_uncached(v, &in);
    v->next_eip = (v->eip + in.len) & ip_mask(v);
    in.exec(v, &in);
}

static inline unsigned jc_index(uint32_t lin)
{
    return (lin ^ (lin >> 10)) & (JC_ENTRIES - 1);
}

/* Does a logged TLB page flush (tlb.page_log) cover linear address lin? */
static inline bool jc_page_flushed(uint32_t logged, uint32_t lin)
{
    uint32_t lo, len;
    tlb_logged_range(logged, &lo, &len);
    return lin - lo < len;
}

/* The jump cache's entry for "no decoded block here" (never run). */
static struct block jc_crossing;

/* Is jump-cache entry e, stamped when the TLB and the decode cache were at
 * other generations, still what a lookup would find? Not if MOV CR3 has
 * dropped its non-global translation since, if INVLPG hit its linear page
 * or a code write its physical page, or if more of either happened than
 * the TLB and the decode cache remember. Never touches e->b (its block may
 * have been dropped and freed). */
static bool jc_still_valid(struct vcpu *v, const struct interp_jc_entry *e, uint64_t drops)
{
    const struct tlb *t = &v->tlb;
    if (e->ng_gen != t->ng_gen && !e->global) return false;
    if (t->page_gen - e->page_gen > TLB_PAGE_LOG) return false;
    for (uint64_t g = e->page_gen; g != t->page_gen; g++)
        if (jc_page_flushed(t->page_log[g % TLB_PAGE_LOG], e->lin)) return false;
    if (drops == e->drop_gen) return true;
    if (drops - e->drop_gen > DCACHE_DROP_LOG) return false;
    struct machine *m = v->m;
    bool ok = true;
    if (m->code_lock) pthread_mutex_lock(m->code_lock); /* the drop log is written under it */
    for (uint64_t g = e->drop_gen; g != drops && ok; g++) ok = dcache_dropped_page(m->dcache, g) != e->pa_page;
    if (m->code_lock) pthread_mutex_unlock(m->code_lock);
    return ok;
}

/* The decoded block at linear address lin: first the per-vCPU jump cache,
 * then the fetch translation and the decode cache. NULL when the first
 * instruction must be run uncached. *avail gets the fetchable bytes. */
struct block *cpu_find_block(struct vcpu *v, uint32_t lin, int view, uint32_t *avail)
{
    struct machine *m = v->m;
    struct tlb *t = &v->tlb;
    if (unlikely(v->jc_all_gen != t->all_gen || v->jc_flush_gen != dcache_flush_count(m->dcache))) {
        /* A full TLB flush, or every block dropped: nothing is kept. */
        memset(v->jcache, 0, sizeof(v->jcache));
        v->jc_all_gen = t->all_gen;
        v->jc_flush_gen = dcache_flush_count(m->dcache);
    }
    struct interp_jc_entry *e = &v->jcache[jc_index(lin)];
    *avail = 0x1000u - (lin & 0xfffu);
    uint64_t drops = dcache_drop_count(m->dcache);
    if (likely(e->b && e->lin == lin && e->code32 == v->code32 && e->view == view)) {
        if (likely(e->ng_gen == t->ng_gen && e->page_gen == t->page_gen && e->drop_gen == drops))
            return e->b != &jc_crossing ? e->b : NULL;
        if (jc_still_valid(v, e, drops)) {
            e->ng_gen = t->ng_gen;
            e->page_gen = t->page_gen;
            e->drop_gen = drops;
            return e->b != &jc_crossing ? e->b : NULL;
        }
        e->b = NULL;
    }
    /* Stamped with the generations from before the fetch: whatever the
     * fetch or decode itself flushes is then checked at the next hit. */
    struct interp_jc_entry n = { .lin = lin, .code32 = v->code32, .view = (uint8_t)view, .ng_gen = t->ng_gen,
                                 .page_gen = t->page_gen, .drop_gen = drops };
    uint64_t all_gen = t->all_gen;
    uint32_t pa = 0;
    const uint8_t *host = lin_fetch_ptr(v, lin, view, avail, &pa);
    if (!host) return NULL;
    if (m->code_lock) pthread_mutex_lock(m->code_lock);
    uint64_t flush_gen = dcache_flush_count(m->dcache);
    struct block *b = dcache_get(m->dcache, decoder_of(m), host, pa, *avail, v->eip, v->code32);
    if (m->code_lock) pthread_mutex_unlock(m->code_lock);
    if (all_gen == t->all_gen && flush_gen == v->jc_flush_gen) {
        /* No block: the first instruction runs uncached (it crosses the
         * page end). Remembered too, so that a hot instruction straddling
         * two pages is not looked up and decoded in vain at every turn; the
         * uncached path fetches and decodes what is there each time, so
         * this stays right whatever the guest writes. */
        n.pa_page = pa >> 12;
        n.global = view <= TLB_VIEW_USER && t->view[0] && tlb_is_global(t, view, lin);
        n.b = b ? b : &jc_crossing;
        *e = n;
    }
    return b;
}

/* Free the decoded blocks dropped since; with -smp threads, first say that
 * this vCPU holds none now (called only between blocks). */
static void reap_dropped(struct vcpu *v)
{
    struct machine *m = v->m;
    if (!m->dcache) return;
    if (m->code_lock) pthread_mutex_lock(m->code_lock);
    dcache_quiesce(m->dcache, v->index);
    dcache_reap(m->dcache);
    if (m->code_lock) pthread_mutex_unlock(m->code_lock);
}

/* Run up to budget records of b, stopping early when a handler raises v->req. */
static inline void exec_records(struct vcpu *v, const struct block *b, uint32_t budget)
{
    uint32_t n = b->n < budget ? b->n : budget;
    for (uint32_t i = 0; i < n; i++) {
        exec_one(v, &b->in[i]);
        if (unlikely(v->req)) break;
    }
}

void cpu_exec_block(struct vcpu *v, const struct block *b, uint32_t budget)
{
    if (b) exec_records(v, b, budget);
    else exec_uncached(v);
}

/* Run up to `budget` instructions from the block at CS:EIP. */
static void run_block(struct vcpu *v, uint32_t budget)
{
    const struct seg_cache *cs = &v->seg[S_CS];
    int view = v->cpl == 3 && !trap_kernel_view(v) ? TLB_VIEW_USER : TLB_VIEW_SUP;
    v->insn_eip = v->eip; /* fetch faults report the instruction being fetched */
    if (v->eip > cs->limit) cpu_gp(v, 0);
    uint32_t avail;
    struct block *b = cpu_find_block(v, cs->base + v->eip, view, &avail);
    uint32_t to_limit = cs->limit - v->eip + 1; /* 0 means 4 GiB */
    if (to_limit != 0 && avail > to_limit) avail = to_limit;
    if (!b || b->bytes > avail) {
        exec_uncached(v);
        return;
    }
    exec_records(v, b, budget);
}

/* Accept an external interrupt if one is pending and allowed. */
static void check_interrupts(struct vcpu *v)
{
    struct machine *m = v->m;
    if (!v->irq_req) return;
    if (m->cpu_events) m->cpu_events(m, v); /* INIT, SIPI, NMI (-smp) */
    if (!(v->eflags & F_IF) || v->irq_shadow || v->wait_sipi) return;
    /* Cleared before the controller is asked, so that a kick from another
     * vCPU's thread in between is not lost (-smp parallel). */
    __atomic_store_n(&v->irq_req, 0, __ATOMIC_SEQ_CST);
    if (m->cpu_events) {
        /* An INIT, SIPI or NMI flagged (and kicked) between the first look
         * and the clearing would otherwise wait for the next kick. */
        m->cpu_events(m, v);
        if (!(v->eflags & F_IF) || v->irq_shadow || v->wait_sipi) {
            __atomic_store_n(&v->irq_req, 1, __ATOMIC_SEQ_CST); /* ask again when it can be taken */
            return;
        }
    }
    int vec = m->irq_ack ? m->irq_ack(m, v) : -1;
    if (vec < 0) return;
    __atomic_store_n(&v->irq_req, 1, __ATOMIC_RELAXED);
    v->halted = 0;
    vmm_count(v, EXIT_EXTINT);
    v->insn_eip = v->eip;
    cpu_interrupt(v, vec, INT_EXTERNAL, false, 0, v->eip);
}

enum vcpu_stop cpu_run_loop(struct vcpu *v, uint64_t max_insns, const struct run_ops *ops)
{
    struct machine *m = v->m;
    volatile uint64_t limit = max_insns ? v->icount + max_insns : UINT64_MAX;
    volatile uint64_t next_poll = v->icount + CPU_POLL_INTERVAL;
    volatile uint32_t faults = 0;
    v->stop = STOP_NONE;
    if (setjmp(v->fault_jmp)) {
        /* A fault was raised inside an instruction, the fetch, or a delivery. */
        __atomic_and_fetch(&v->req, ~REQ_BLOCK_END, __ATOMIC_RELAXED); /* another thread may set REQ_STOP */
        lock_excl_leave(v); /* a LOCKed access faulted inside the exclusive section */
        v->lock_rmw = 0;
        if (v->fault_vec == FAULT_LOCK_RETRY) {
            /* A LOCKed RMW lost its compare-and-swap to another vCPU before
             * changing anything: run the instruction again. */
            v->eip = v->insn_eip;
            if (ops->forget) ops->forget(v, ops->ctx);
            goto resume;
        }
        /* A guest whose fault handler faults again retires no instruction, so
         * the icount-based poll never comes: poll by faults too, so timers
         * and Ctrl-A x still work. */
        if (++faults % CPU_POLL_INTERVAL == 0 && m->poll) m->poll(m, v);
        if (v->icount != v->fault_row_icount) {
            v->fault_row_icount = v->icount;
            v->faults_in_row = 0;
        }
        if (max_insns && ++v->faults_in_row > CPU_FAULT_LOOP_MAX) {
            if (ops->forget) ops->forget(v, ops->ctx);
            v->stop = STOP_FAULT_LOOP;
            return v->stop;
        }
        if (v->req & REQ_STOP) {
            v->req &= ~REQ_STOP;
            return v->stop;
        }
        if (ops->forget) ops->forget(v, ops->ctx);
        /* Under -engine trap a fault may be a trap the VMM emulates. */
        if (likely(!v->trap) || !trap_fault(v)) cpu_deliver_fault(v);
        reap_dropped(v);
        /* Single-stepping: delivering the event is the step. */
        if (max_insns == 1 && v->stop == STOP_NONE) v->stop = STOP_INSN_LIMIT;
    }
resume:
    while (v->stop == STOP_NONE) {
        if (v->icount >= limit) {
            v->stop = STOP_INSN_LIMIT;
            break;
        }
        if (v->icount >= next_poll) {
            next_poll = v->icount + CPU_POLL_INTERVAL;
            if (m->poll) m->poll(m, v);
        }
        if (v->req) {
            if (v->req & REQ_STOP) break;
            if (v->req & REQ_EXCL) lock_excl_pause(v); /* another vCPU's exclusive section */
            __atomic_and_fetch(&v->req, ~REQ_BLOCK_END, __ATOMIC_RELAXED);
            reap_dropped(v);
        }
        check_interrupts(v);
        if (v->stop != STOP_NONE) break;
        if (v->halted) {
            if (v->irq_req && (v->eflags & F_IF) && !v->wait_sipi) continue;
            if (!m->idle || !m->idle(m, v)) {
                v->stop = STOP_HALT_FOREVER;
                break;
            }
            next_poll = v->icount; /* time passed: let devices run */
            continue;
        }
        uint64_t left = limit - v->icount;
        if (v->irq_shadow) {
            /* The instruction after STI / MOV SS runs before any interrupt. */
            if (ops->forget) ops->forget(v, ops->ctx);
            ops->run(v, ops->ctx, 1, 1);
            v->irq_shadow = 0;
        } else {
            ops->run(v, ops->ctx, next_poll > v->icount ? next_poll - v->icount : 1, left);
        }
    }
    v->req &= ~REQ_STOP;
    return v->stop;
}

static void interp_run(struct vcpu *v, void *ctx, uint64_t to_poll, uint64_t left)
{
    (void)ctx;
    (void)to_poll;
    run_block(v, left < BLOCK_MAX_INSNS ? (uint32_t)left : BLOCK_MAX_INSNS);
}

static const struct run_ops interp_ops = { interp_run, NULL, NULL };

void interp_run_some(struct vcpu *v, uint64_t left)
{
    interp_run(v, NULL, 0, left);
}

enum vcpu_stop cpu_run(struct vcpu *v, uint64_t max_insns)
{
    return cpu_run_loop(v, max_insns, &interp_ops);
}

enum vcpu_stop cpu_step(struct vcpu *v)
{
    return cpu_run_loop(v, 1, &interp_ops);
}
