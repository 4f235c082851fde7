/* The vCPU scheduler for -smp N (frontend/smp_run.h). Round robin: each
 * runnable vCPU gets SMP_SLICE instructions in turn on the calling thread; a
 * halted vCPU yields (its idle hook returns STOP_YIELD to this loop instead
 * of waiting), and only when every vCPU is halted does the board's own idle
 * hook wait for time or input. Under -icount the virtual clock counts the
 * instructions of all vCPUs (it follows whichever vCPU runs), so a run
 * repeats exactly. */
#include "frontend/smp_run.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/interp.h"
#include "frontend/pc.h"
#include "translator/bt.h"

struct smp_state {
    struct pc *pc;
    bool threaded;
    bool (*board_idle)(struct machine *m, struct vcpu *v); /* pc_idle: waits for time or input */
    void (*board_poll)(struct machine *m, struct vcpu *v); /* pc_poll */
    uint64_t slice_end;   /* round robin: the running vCPU yields at its first poll past this icount */
    pthread_mutex_t dev;  /* the device lock (threaded mode) */
};

static _Thread_local struct vcpu *tl_cur;

struct vcpu *smp_current(void) { return tl_cur; }

bool smp_threads_supported(enum engine_kind engine)
{
    (void)engine;
    return false; /* see docs/SMP.md: the threaded mode is not finished */
}

static struct smp_state *state_of(struct machine *m) { return ((struct pc *)m->board)->smp; }

void smp_dev_lock(struct machine *m)
{
    struct smp_state *s = state_of(m);
    if (s && s->threaded) pthread_mutex_lock(&s->dev);
}

void smp_dev_unlock(struct machine *m)
{
    struct smp_state *s = state_of(m);
    if (s && s->threaded) pthread_mutex_unlock(&s->dev);
}

void smp_kick(struct vcpu *v)
{
    struct smp_state *st = v->smp;
    if (st->threaded) return;
    /* Round robin: the vCPU that sent an IPI (or ran a timer) gives way
     * after this instruction, so the target answers soon (IPI latency). */
    struct vcpu *c = tl_cur;
    if (c && c != v && c->stop == STOP_NONE) {
        c->stop = STOP_YIELD;
        c->req |= REQ_STOP;
    }
}

/* The machine's idle hook while several vCPUs run: a halted vCPU gives the
 * host thread to the others (cpu_run_loop returns the STOP_YIELD set here). */
static bool smp_idle(struct machine *m, struct vcpu *v)
{
    (void)m;
    v->stop = STOP_YIELD;
    return true;
}

/* The machine's poll hook: the board's, then (round robin) the end of the
 * running vCPU's time slice. Slices end at poll points rather than through
 * the run loop's instruction limit, which would make the translator run
 * one block at a time near the limit. */
static void smp_poll(struct machine *m, struct vcpu *v)
{
    struct smp_state *st = v->smp;
    smp_dev_lock(m);
    st->board_poll(m, v);
    smp_dev_unlock(m);
    if (!st->threaded && v->icount >= st->slice_end && v->stop == STOP_NONE) {
        v->stop = STOP_YIELD;
        v->req |= REQ_STOP;
    }
}

static enum vcpu_stop run_engine(struct pc *pc, struct vcpu *v, uint64_t n)
{
    return pc->engine == ENGINE_BT ? bt_run(v, n) : cpu_run(v, n);
}

/* Deterministic time counts every vCPU's instructions: point the clock at
 * v's counter, keeping "now" where it was (modular arithmetic makes the
 * offset exact even when v has run fewer instructions). */
static void clock_follow(struct vclock *c, struct vcpu *v)
{
    if (!c->deterministic || c->icount == &v->icount) return;
    uint64_t was = c->icount ? *c->icount : 0;
    c->skipped_ns += (was - v->icount) << c->shift;
    c->icount = &v->icount;
}

static uint64_t total_icount(const struct machine *m)
{
    uint64_t t = 0;
    for (int i = 0; i < m->ncpu; i++) t += m->cpu[i]->icount;
    return t;
}

/* The run ends because of vCPU v: the caller reports vCPU 0, so give it v's
 * exit status and fault diagnostics. */
static enum vcpu_stop stop_machine(struct pc *pc, struct vcpu *v, enum vcpu_stop s)
{
    struct vcpu *v0 = pc->m.cpu[0];
    if (v != v0) {
        v0->exit_status = v->exit_status;
        memcpy(v0->fault_chain, v->fault_chain, sizeof(v0->fault_chain));
        v0->fault_chain_len = v->fault_chain_len;
        v0->insn_eip = v->insn_eip;
        v0->eip = v->eip;
        v0->cpl = v->cpl;
    }
    v0->stop = s;
    return s;
}

/* Every vCPU is halted: wait (through the board's idle hook) for something
 * that can wake one — a timer or input — as long as some vCPU can take an
 * interrupt at all. False: nothing can ever wake any vCPU. */
static bool all_idle(struct smp_state *st)
{
    struct machine *m = &st->pc->m;
    for (int i = 0; i < m->ncpu; i++) {
        struct vcpu *v = m->cpu[i];
        if (v->wait_sipi || !(v->eflags & F_IF)) continue;
        st->pc->cur = v;
        tl_cur = NULL; /* no vCPU is running: kicks need not preempt */
        return st->board_idle(m, v);
    }
    return false;
}

static enum vcpu_stop run_round_robin(struct smp_state *st, uint64_t max_insns)
{
    struct pc *pc = st->pc;
    struct machine *m = &pc->m;
    uint64_t start = total_icount(m);
    for (;;) {
        for (int i = 0; i < m->ncpu; i++) {
            struct vcpu *v = m->cpu[i];
            if (v->halted && !v->irq_req) continue;
            uint64_t left = 0; /* no limit: the slice ends in smp_poll */
            if (max_insns) {
                uint64_t done = total_icount(m) - start;
                if (done >= max_insns) return stop_machine(pc, m->cpu[0], STOP_INSN_LIMIT);
                left = max_insns - done;
            }
            st->slice_end = v->icount + SMP_SLICE;
            clock_follow(&pc->clock, v);
            pc->cur = v;
            tl_cur = v;
            enum vcpu_stop s = run_engine(pc, v, left);
            if (s != STOP_INSN_LIMIT && s != STOP_YIELD && s != STOP_NONE) return stop_machine(pc, v, s);
        }
        bool halted = true;
        for (int i = 0; i < m->ncpu && halted; i++) halted = m->cpu[i]->halted;
        if (!halted) continue;
        if (!all_idle(st)) return stop_machine(pc, m->cpu[0], STOP_HALT_FOREVER);
        for (int i = 0; i < m->ncpu; i++) {
            struct vcpu *v = m->cpu[i];
            v->req &= ~REQ_STOP;
            if (v->stop == STOP_SHUTDOWN) return stop_machine(pc, v, STOP_SHUTDOWN); /* Ctrl-A x while idle */
        }
    }
}

int smp_init(struct pc *pc, bool threaded, char *err, size_t errlen)
{
    struct smp_state *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&st->dev, &a);
    pthread_mutexattr_destroy(&a);
    st->pc = pc;
    st->threaded = threaded;
    st->board_idle = pc->m.idle;
    st->board_poll = pc->m.poll;
    pc->m.idle = smp_idle;
    pc->m.poll = smp_poll;
    pc->smp = st;
    for (int i = 0; i < pc->m.ncpu; i++) pc->m.cpu[i]->smp = st;
    return 0;
}

enum vcpu_stop smp_run(struct pc *pc, uint64_t max_insns)
{
    struct smp_state *st = pc->smp;
    enum vcpu_stop s = run_round_robin(st, max_insns);
    pc->cur = NULL;
    tl_cur = NULL;
    return s;
}

void smp_destroy(struct pc *pc)
{
    struct smp_state *st = pc->smp;
    if (!st) return;
    pthread_mutex_destroy(&st->dev);
    for (int i = 0; i < pc->m.ncpu; i++) pc->m.cpu[i]->smp = NULL;
    free(st);
    pc->smp = NULL;
}
