/* The machine-wide exclusive section ("bus lock") for -smp with vCPUs on
 * host threads: a LOCKed read-modify-write that no host atomic instruction
 * can do — a split or misaligned operand, MMIO, a page holding decoded code
 * — runs while every other vCPU thread is paused, as a real CPU asserts
 * LOCK# on the bus for a split lock.
 *
 * A vCPU thread is either running guest code or paused. excl_begin asks
 * every running vCPU to pause (REQ_EXCL in its req; the run loop calls
 * excl_pause at its next check of req) and waits until none runs; the
 * caller is then alone until excl_end. A vCPU that sleeps in HLT or waits
 * for SIPI, that waits for another vCPU's exclusive section, or whose thread
 * has ended, does not run (excl_stop_running / excl_start_running around
 * such waits), so nobody waits for it. Two vCPUs asking at once: the second
 * pauses (counts as not running) until the first is done, then takes its
 * turn. No lock of this file is held while guest code or a device runs, and
 * a vCPU never asks for the section while holding the device lock, so
 * the device lock and this one cannot deadlock.
 *
 * Only frontend/smp_run.c creates one (threaded mode): machine.excl stays
 * NULL with one vCPU and round robin, where there is nothing to exclude. */
#ifndef BT86_CPU_EXCLUSIVE_H
#define BT86_CPU_EXCLUSIVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/machine.h"

struct vcpu;

struct excl {
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* any change of owner or running[] */
    struct vcpu *owner;         /* the vCPU in (or waiting to enter) the section; NULL: none */
    bool running[MAX_VCPUS];    /* this vCPU's thread runs guest code (not paused) */
    struct vcpu **cpu;          /* the machine's vCPUs, by index */
    int ncpu;
    uint64_t sections;          /* exclusive sections entered (statistics, tests) */
};

/* cpu: the vCPU array (index = vcpu->index); no vCPU starts as running. */
void excl_init(struct excl *x, struct vcpu **cpu, int ncpu);
void excl_destroy(struct excl *x);

/* Enter the exclusive section: returns when no other vCPU runs. Waits
 * (paused) first if another vCPU holds or is entering the section. */
void excl_begin(struct excl *x, struct vcpu *v);
void excl_end(struct excl *x, struct vcpu *v);

/* v saw REQ_EXCL at a safe point (between instructions): clear it, pause
 * while another vCPU's section is pending or held, then run on. */
void excl_pause(struct excl *x, struct vcpu *v);

/* v stops running guest code (its thread sleeps in HLT, or ends) / starts
 * again (waits until no section is pending or held). */
void excl_stop_running(struct excl *x, struct vcpu *v);
void excl_start_running(struct excl *x, struct vcpu *v);

#endif
