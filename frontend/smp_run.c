/* The vCPU scheduler for -smp N (frontend/smp_run.h).
 *
 * Round robin: each runnable vCPU gets SMP_SLICE instructions in turn on the
 * calling thread; a halted vCPU yields (its idle hook returns STOP_YIELD to
 * this loop instead of waiting), and only when every vCPU is halted does the
 * board's own idle hook wait for time or input. Under -icount the virtual
 * clock counts the instructions of all vCPUs (it follows whichever vCPU
 * runs), so a run repeats exactly.
 *
 * Threads: each vCPU runs cpu_run on its own host thread. Every device
 * handler (port I/O and MMIO, wrapped here), the poll and idle hooks, the
 * clock and the interrupt-controller queries run under one recursive device
 * lock; a halted vCPU sleeps on its condition variable, which a kick (always
 * made under the device lock) signals; the last vCPU to halt runs the
 * board's idle hook (timers, input). The decode cache has its own lock and
 * frees dropped blocks only after the threads are joined. docs/SMP.md. */
#include "frontend/smp_run.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <time.h>

#include "cpu/decode.h"
#include "cpu/decode_cache.h"
#include "cpu/exclusive.h"
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

    /* --- threaded mode --- */
    pthread_mutex_t code;             /* machine.code_lock: the decode cache */
    struct excl excl;                 /* machine.excl: LOCKed accesses without a host atomic */
    uint64_t last_poll_ns;            /* host time of the last device poll (atomic) */
    pthread_cond_t wake[MAX_VCPUS];   /* a halted vCPU sleeps here (with dev) */
    pthread_cond_t stopped;           /* the main thread waits here (with dev) */
    pthread_t thread[MAX_VCPUS];
    int halted;                       /* vCPUs sleeping in smp_idle (dev) */
    bool stopping;                    /* the run is over (dev; read atomically) */
    enum vcpu_stop stop_s;            /* why, and because of which vCPU */
    struct vcpu *stopper;
    uint64_t (*board_now)(struct machine *m);
    /* Every port handler and MMIO region, wrapped to take the device lock. */
    struct pio_handler pio_orig[IOBUS_MAX_HANDLERS];
    struct mmio_region mmio_orig[PHYS_MAX_MMIO];
    struct dev_wrap { struct smp_state *st; int i; } pio_wrap[IOBUS_MAX_HANDLERS], mmio_wrap[PHYS_MAX_MMIO];
};

/* Threads: device polls at most this often (host ns; see smp_poll). */
#define SMP_POLL_NS 20000u

static uint64_t smp_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static _Thread_local struct vcpu *tl_cur;

struct vcpu *smp_current(void) { return tl_cur; }

bool smp_threads_supported(enum engine_kind engine)
{
    /* The translator queues invalidations for the owning vCPU's thread and
     * decodes with the thread's Capstone handle (docs/SMP.md). */
    return engine == ENGINE_INTERP || engine == ENGINE_BT;
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
    if (st->threaded) { /* under the device lock, like the sleeper's check */
        pthread_cond_signal(&st->wake[v->index]);
        return;
    }
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
static bool threaded_idle(struct smp_state *st, struct machine *m, struct vcpu *v);

static bool smp_idle(struct machine *m, struct vcpu *v)
{
    struct smp_state *st = v->smp;
    if (st->threaded) return threaded_idle(st, m, v);
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
    if (st->threaded) {
        /* Every vCPU comes here every CPU_POLL_INTERVAL instructions
         * (some microseconds of translated code): taking the device lock each time
         * makes the threads fight over it. The devices need far less: poll
         * them at most every SMP_POLL_NS of host time, from whichever vCPU
         * claims the turn first. */
        uint64_t now = smp_host_ns();
        uint64_t last = __atomic_load_n(&st->last_poll_ns, __ATOMIC_RELAXED);
        if (now - last < SMP_POLL_NS) return;
        if (!__atomic_compare_exchange_n(&st->last_poll_ns, &last, now, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return; /* another vCPU polls now */
    }
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

/* ---- threaded mode ---- */

/* Can v do anything if it wakes up: an INIT, start-up IPI or unblocked NMI
 * in its local APIC, or an interrupt it can take? Called with dev held. */
static bool has_work(struct smp_state *st, struct vcpu *v)
{
    struct pc *pc = st->pc;
    const struct lapic *a = &pc->lapic[v->index];
    if (a->init_pending || a->sipi_pending || (a->nmi_pending && !v->nmi_blocked && !v->wait_sipi)) return true;
    if (!v->halted) return true;
    return (v->eflags & F_IF) && !v->wait_sipi && pc->m.irq_pending && pc->m.irq_pending(&pc->m, v);
}

/* End the run (first reason wins) and make every vCPU thread leave. The
 * REQ_STOP is sent again by the main thread until all have left, since a
 * vCPU's own non-atomic updates of req may drop it. */
static void threaded_stop(struct smp_state *st, struct vcpu *v, enum vcpu_stop s)
{
    struct machine *m = &st->pc->m;
    pthread_mutex_lock(&st->dev);
    if (!st->stopping) {
        st->stop_s = s;
        st->stopper = v;
        __atomic_store_n(&st->stopping, true, __ATOMIC_SEQ_CST);
    }
    for (int i = 0; i < m->ncpu; i++) {
        __atomic_or_fetch(&m->cpu[i]->req, REQ_STOP, __ATOMIC_SEQ_CST);
        pthread_cond_signal(&st->wake[i]);
    }
    pthread_cond_signal(&st->stopped);
    pthread_mutex_unlock(&st->dev);
}

/* A halted vCPU's idle hook: sleep until kicked (or 10 ms: the poll that
 * follows runs due timers). The last vCPU to halt waits for time or input
 * through the board instead; if nothing can wake any vCPU, the run ends. */
static bool threaded_idle(struct smp_state *st, struct machine *m, struct vcpu *v)
{
    excl_stop_running(&st->excl, v); /* nobody's exclusive section waits for a halted vCPU */
    if (m->dcache) dcache_offline(m->dcache, v->index); /* (called between blocks: holds none) */
    pthread_mutex_lock(&st->dev);
    st->halted++;
    if (!st->stopping && !has_work(st, v)) {
        if (st->halted == m->ncpu) {
            struct vcpu *w = NULL;
            bool work = false;
            for (int i = 0; i < m->ncpu; i++) {
                struct vcpu *x = m->cpu[i];
                work |= has_work(st, x);
                if (!w && !x->wait_sipi && (x->eflags & F_IF)) w = x;
            }
            if (!work && (!w || !st->board_idle(m, w))) {
                st->halted--;
                pthread_mutex_unlock(&st->dev);
                threaded_stop(st, m->cpu[0], STOP_HALT_FOREVER);
                excl_start_running(&st->excl, v);
                if (m->dcache) dcache_quiesce(m->dcache, v->index);
                return true;
            }
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 10 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&st->wake[v->index], &st->dev, &ts);
        }
    }
    st->halted--;
    pthread_mutex_unlock(&st->dev);
    excl_start_running(&st->excl, v); /* (without the device lock: its owner may need it) */
    if (m->dcache) dcache_quiesce(m->dcache, v->index);
    return true;
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct smp_state *st = v->smp;
    tl_cur = v;
    struct decoder *d = decoder_new();
    if (!d) {
        threaded_stop(st, v, STOP_ERROR);
        return NULL;
    }
    interp_set_thread_decoder(d);
    excl_start_running(&st->excl, v);
    while (!__atomic_load_n(&st->stopping, __ATOMIC_SEQ_CST)) {
        enum vcpu_stop s = run_engine(st->pc, v, 0);
        if (s == STOP_NONE || s == STOP_YIELD || s == STOP_INSN_LIMIT) continue;
        threaded_stop(st, v, s);
    }
    excl_stop_running(&st->excl, v); /* an ended thread never pauses: no section may wait for it */
    if (v->m->dcache) dcache_offline(v->m->dcache, v->index); /* nor holds a decoded block */
    interp_set_thread_decoder(NULL);
    decoder_free(d);
    tl_cur = NULL;
    return NULL;
}

/* Device wrappers: the handler runs under the device lock, and the board's
 * "current vCPU" (debug exit, reset, the APIC window) is the caller's. */
static uint32_t pio_read_locked(void *opaque, uint16_t port, int size)
{
    struct dev_wrap *w = opaque;
    struct smp_state *st = w->st;
    pthread_mutex_lock(&st->dev);
    st->pc->cur = tl_cur;
    const struct pio_handler *h = &st->pio_orig[w->i];
    uint32_t r = h->read(h->opaque, port, size);
    pthread_mutex_unlock(&st->dev);
    return r;
}

static void pio_write_locked(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct dev_wrap *w = opaque;
    struct smp_state *st = w->st;
    pthread_mutex_lock(&st->dev);
    st->pc->cur = tl_cur;
    const struct pio_handler *h = &st->pio_orig[w->i];
    h->write(h->opaque, port, val, size);
    pthread_mutex_unlock(&st->dev);
}

static uint32_t mmio_read_locked(void *opaque, uint32_t offset, int size)
{
    struct dev_wrap *w = opaque;
    struct smp_state *st = w->st;
    pthread_mutex_lock(&st->dev);
    st->pc->cur = tl_cur;
    const struct mmio_region *r = &st->mmio_orig[w->i];
    uint32_t x = r->read(r->opaque, offset, size);
    pthread_mutex_unlock(&st->dev);
    return x;
}

static void mmio_write_locked(void *opaque, uint32_t offset, uint32_t val, int size)
{
    struct dev_wrap *w = opaque;
    struct smp_state *st = w->st;
    pthread_mutex_lock(&st->dev);
    st->pc->cur = tl_cur;
    const struct mmio_region *r = &st->mmio_orig[w->i];
    r->write(r->opaque, offset, val, size);
    pthread_mutex_unlock(&st->dev);
}

static uint64_t now_locked(struct machine *m)
{
    struct smp_state *st = state_of(m);
    pthread_mutex_lock(&st->dev);
    uint64_t t = st->board_now(m);
    pthread_mutex_unlock(&st->dev);
    return t;
}

static void wrap_devices(struct smp_state *st, bool on)
{
    struct machine *m = &st->pc->m;
    for (int i = 0; i < m->io.nh; i++) {
        struct pio_handler *h = &m->io.h[i];
        if (on) {
            st->pio_orig[i] = *h;
            st->pio_wrap[i] = (struct dev_wrap){ st, i };
            if (h->read) h->read = pio_read_locked;
            if (h->write) h->write = pio_write_locked;
            h->opaque = &st->pio_wrap[i];
        } else {
            *h = st->pio_orig[i];
        }
    }
    for (int i = 0; i < m->mem.nmmio; i++) {
        struct mmio_region *r = &m->mem.mmio[i];
        if (on) {
            st->mmio_orig[i] = *r;
            st->mmio_wrap[i] = (struct dev_wrap){ st, i };
            if (r->read) r->read = mmio_read_locked;
            if (r->write) r->write = mmio_write_locked;
            r->opaque = &st->mmio_wrap[i];
        } else {
            *r = st->mmio_orig[i];
        }
    }
    if (on) {
        st->board_now = m->now_ns;
        if (m->now_ns) m->now_ns = now_locked;
    } else {
        m->now_ns = st->board_now;
    }
}

static enum vcpu_stop run_threads(struct smp_state *st)
{
    struct pc *pc = st->pc;
    struct machine *m = &pc->m;
    st->stopping = false;
    st->halted = 0;
    m->code_lock = &st->code;
    excl_init(&st->excl, m->cpu, m->ncpu);
    m->excl = &st->excl;
    if (m->dcache) dcache_set_defer_free(m->dcache, true, m->ncpu);
    /* A vCPU's thread may be descheduled while virtual time goes on: give
     * the periodic ticks it missed back instead of coalescing them (Linux
     * counts jiffies by ticks until it switches to one-shot timers, and
     * its clocksource watchdog compares them with the TSC). */
    for (int i = 0; i < m->ncpu; i++) pc->lapic[i].reinject_ticks = true;
    wrap_devices(st, true);
    int started = 0;
    for (; started < m->ncpu; started++)
        if (pthread_create(&st->thread[started], NULL, vcpu_thread, m->cpu[started])) break;
    if (started < m->ncpu) {
        fprintf(stderr, "bt86: cannot start a host thread for vCPU %d\n", started);
        threaded_stop(st, m->cpu[0], STOP_ERROR);
    }
    pthread_mutex_lock(&st->dev);
    while (!st->stopping) pthread_cond_wait(&st->stopped, &st->dev);
    pthread_mutex_unlock(&st->dev);
    for (int i = 0; i < started; i++) {
        for (;;) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            if (pthread_timedjoin_np(st->thread[i], NULL, &ts) != ETIMEDOUT) break;
            threaded_stop(st, m->cpu[i], STOP_SHUTDOWN); /* resend REQ_STOP (the first reason stays) */
        }
    }
    for (int i = 0; i < m->ncpu; i++) m->cpu[i]->req &= ~(REQ_STOP | REQ_EXCL);
    wrap_devices(st, false);
    m->code_lock = NULL;
    m->excl = NULL;
    excl_destroy(&st->excl);
    for (int i = 0; i < m->ncpu; i++) pc->lapic[i].reinject_ticks = false;
    if (m->dcache) {
        dcache_set_defer_free(m->dcache, false, 0);
        dcache_reap_now(m->dcache);
    }
    return stop_machine(pc, st->stopper ? st->stopper : m->cpu[0], st->stop_s);
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
    pthread_mutex_init(&st->code, NULL);
    pthread_cond_init(&st->stopped, NULL);
    for (int i = 0; i < MAX_VCPUS; i++) pthread_cond_init(&st->wake[i], NULL);
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
    if (max_insns) st->threaded = false; /* -max-insns: an exact count, round robin */
    enum vcpu_stop s = st->threaded ? run_threads(st) : run_round_robin(st, max_insns);
    pc->cur = NULL;
    tl_cur = NULL;
    return s;
}

void smp_destroy(struct pc *pc)
{
    struct smp_state *st = pc->smp;
    if (!st) return;
    pthread_mutex_destroy(&st->dev);
    pthread_mutex_destroy(&st->code);
    pthread_cond_destroy(&st->stopped);
    for (int i = 0; i < MAX_VCPUS; i++) pthread_cond_destroy(&st->wake[i]);
    for (int i = 0; i < pc->m.ncpu; i++) pc->m.cpu[i]->smp = NULL;
    free(st);
    pc->smp = NULL;
}

/* ---- round robin driven from outside (frontend/smp_run.h) ---- */

void smp_select(struct pc *pc, struct vcpu *v)
{
    struct smp_state *st = pc->smp;
    tl_cur = NULL; /* kicks do not preempt: the caller decides where runs end */
    if (!v) return;
    st->slice_end = UINT64_MAX;
    clock_follow(&pc->clock, v);
    pc->cur = v;
}

bool smp_all_idle(struct pc *pc)
{
    return all_idle(pc->smp);
}
