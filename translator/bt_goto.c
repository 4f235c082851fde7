/* "Lookup and goto" (QEMU's lookup_and_goto_ptr): when a C call from
 * translated code leaves its block — INT n, IRET, SYSENTER/SYSEXIT, far
 * transfers, other block-ending VMM calls — translated code asks here for
 * the translation of the new CS:EIP in the new mode (CPL, sizes and view
 * after the call) and jumps to it, instead of returning through the exit
 * trampoline to the run loop and run_one, which a system call round trip
 * would otherwise do twice.
 *
 * It only ever finds a translation the dispatcher would run next with
 * nothing else to do first; in every other case it answers "dispatcher".
 * It mirrors, in order, what cpu_run_loop (cpu/interp.c) and run_one
 * (bt_run.c) check between blocks:
 *   - the instruction limit and the poll point: the budget in r15, which
 *     the target's prologue checks exactly as for a chained jump;
 *   - v->req: REQ_BLOCK_END (set by every mode change) is cleared as the
 *     run loop does (reaping waits, see below); any other bit goes back;
 *   - v->irq_req set while IF is set or with a cpu_events hook (-smp), when
 *     check_interrupts has work; v->stop, a halted vCPU, an interrupt
 *     shadow: back;
 *   - queued code invalidations, a TLB flush since the jump cache was last
 *     brought up to date (ijc_resync), a decode-cache flush, a TLB resize:
 *     back (run_one acts on them);
 *   - 16-bit code or VM86 (interpreted), a CS that is not flat (the jump
 *     cache is by EIP == linear address): back;
 *   - the translation itself comes from the jump cache translated code
 *     already probes at indirect exits (bt->ijc, keyed by EIP and mode, a
 *     hit needs no page-mapping check once ijc_resync has seen every TLB
 *     flush); a miss
 *     goes back to the dispatcher, which translates and fills it.
 * The budget stays as it is (the caller gives back what its block had
 * charged for instructions not run), so interrupt latency and -max-insns are
 * those of chained code. */
#include "cpu/decode_cache.h"
#include "cpu/machine.h"
#include "translator/bt_internal.h"

uintptr_t bt_goto_lookup(struct vcpu *v)
{
    struct bt_vcpu *bt = v->bt;
    if (bt->no_goto) return 1;
    uint32_t req = __atomic_load_n(&v->req, __ATOMIC_RELAXED);
    if (req & ~REQ_BLOCK_END) return 1;
    if (v->stop != STOP_NONE || v->halted || v->irq_shadow) return 1;
    /* check_interrupts does nothing with IF clear but call cpu_events. */
    if (__atomic_load_n(&v->irq_req, __ATOMIC_RELAXED) && ((v->eflags & F_IF) || v->m->cpu_events)) return 1;
    if (!v->code32 || (v->eflags & F_VM)) return 1;
    uint32_t mode = bt_current_mode(v);
    if (!(mode & MODE_FLAT_CS)) return 1;
    if (v->tlb.flushes != bt->seen_tlb_flushes || v->tlb.mask != bt->tlb_mask) return 1;
    struct decode_cache *dc = v->m->dcache;
    if (dc && dcache_flush_count(dc) != bt->seen_dcache_flushes) return 1;
    struct tb *tb = bt->ijc[bt_ijc_slot(bt, mode, v->eip)];
    if (tb->key != (v->eip | (uint64_t)mode << 32)) {
        bt->st.goto_misses++;
        return 1;
    }
    if (__atomic_load_n(&bt->inv_pending, __ATOMIC_SEQ_CST)) return 1; /* run_one drains them */
    if (req) {
        /* The run loop clears REQ_BLOCK_END (every mode change sets it).
         * With vCPU threads another thread may set REQ_STOP meanwhile:
         * then back, with that bit still set. With one host thread nothing
         * else writes v->req, and a plain store saves a locked
         * read-modify-write (~5 ns per goto). The run loop also reaps the
         * decode cache's dropped blocks here: only memory, and blocks are
         * dropped only with invalidations queued (back to the run loop
         * above) or with vCPU threads (where reaping waits anyway). */
        if (v->m->code_lock) {
            if (__atomic_and_fetch(&v->req, ~REQ_BLOCK_END, __ATOMIC_SEQ_CST)) return 1;
        } else {
            v->req = 0;
        }
    }
    /* Queued while REQ_BLOCK_END was being cleared (code_written sets it
     * after queueing): back too. One queued later sets it again, seen at
     * the next C call. */
    if (__atomic_load_n(&bt->inv_pending, __ATOMIC_SEQ_CST)) return 1;
    bt->st.gotos++;
    return (uintptr_t)tb->code;
}
