/* The exclusive section for LOCKed read-modify-writes that host atomics
 * cannot do (cpu/exclusive.h): stop the other vCPU threads at their next
 * instruction boundary, do the access alone, let them go. */
#include "cpu/exclusive.h"

#include <time.h>

#include "cpu/vcpu.h"

void excl_init(struct excl *x, struct vcpu **cpu, int ncpu)
{
    pthread_mutex_init(&x->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&x->cv, &a);
    pthread_condattr_destroy(&a);
    x->owner = NULL;
    for (int i = 0; i < MAX_VCPUS; i++) x->running[i] = false;
    x->cpu = cpu;
    x->ncpu = ncpu;
    x->sections = 0;
}

void excl_destroy(struct excl *x)
{
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
}

/* Both sides sleep on cv rather than spin: with more vCPU threads than
 * host cores a spinning waiter takes the core the other side needs
 * (polling for 400 PAUSE rounds first was no faster here; docs/SMP.md).
 * owner and running[] are only touched under mu. */

/* With mu held: while another vCPU owns the section, v counts as paused. */
static void wait_for_owner(struct excl *x, struct vcpu *v)
{
    if (!x->owner || x->owner == v) return;
    bool was = x->running[v->index];
    x->running[v->index] = false;
    pthread_cond_broadcast(&x->cv); /* the owner may be waiting for v */
    while (x->owner && x->owner != v) pthread_cond_wait(&x->cv, &x->mu);
    x->running[v->index] = was;
}

void excl_begin(struct excl *x, struct vcpu *v)
{
    pthread_mutex_lock(&x->mu);
    /* Another vCPU got there first: pause for its section, then take ours
     * (a third may have been quicker again: hence the loop). */
    while (x->owner && x->owner != v) wait_for_owner(x, v);
    x->owner = v;
    x->sections++;
    for (;;) {
        bool others = false;
        for (int i = 0; i < x->ncpu; i++) {
            if (i == v->index || !x->running[i]) continue;
            others = true;
            __atomic_or_fetch(&x->cpu[i]->req, REQ_EXCL, __ATOMIC_SEQ_CST);
        }
        if (!others) break;
        /* A paused vCPU signals cv. The timeout re-sends REQ_EXCL: a vCPU's
         * own non-atomic update of its req (REQ_STOP) may have dropped it. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&x->cv, &x->mu, &ts);
    }
    pthread_mutex_unlock(&x->mu);
}

void excl_end(struct excl *x, struct vcpu *v)
{
    pthread_mutex_lock(&x->mu);
    if (x->owner == v) {
        x->owner = NULL;
        pthread_cond_broadcast(&x->cv);
    }
    pthread_mutex_unlock(&x->mu);
}

void excl_pause(struct excl *x, struct vcpu *v)
{
    __atomic_and_fetch(&v->req, ~REQ_EXCL, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&x->mu);
    wait_for_owner(x, v);
    pthread_mutex_unlock(&x->mu);
}

void excl_stop_running(struct excl *x, struct vcpu *v)
{
    pthread_mutex_lock(&x->mu);
    x->running[v->index] = false;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

void excl_start_running(struct excl *x, struct vcpu *v)
{
    pthread_mutex_lock(&x->mu);
    while (x->owner && x->owner != v) pthread_cond_wait(&x->cv, &x->mu);
    x->running[v->index] = true;
    pthread_mutex_unlock(&x->mu);
}
