/* The exclusive section for LOCKed accesses that host atomics cannot do
 * (cpu/exclusive.h): the mechanism alone with host threads standing in for
 * vCPU threads, and boards whose vCPUs race page-split and misaligned LOCKed
 * read-modify-writes on host threads (docs/SMP.md, LOCK semantics). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/exclusive.h"
#include "cpu/vcpu.h"
#include "frontend/cli.h"
#include "frontend/multiboot.h"
#include "frontend/pc.h"
#include "smp_board.h"

/* ---- the mechanism, with plain host threads ---- */

#define NT 3
#define STEPS 20000
#define EVERY 8 /* a worker asks for a section every EVERY steps */

struct worker {
    struct excl *x;
    struct vcpu *v;
    int steps;      /* "instructions" to run before the thread ends */
    bool halts;     /* sleeps (not running) every 64 steps, as in HLT */
};

static int in_step[NT];         /* a worker is between two safe points (atomic) */
static unsigned violations;     /* a section saw another worker mid-step (atomic) */
static uint32_t shared;         /* changed only inside sections, non-atomically */

static void spin(int n)
{
    for (volatile int i = 0; i < n; i++) { }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int me = w->v->index;
    excl_start_running(w->x, w->v);
    for (int i = 0; i < w->steps; i++) {
        __atomic_store_n(&in_step[me], 1, __ATOMIC_SEQ_CST);
        spin(300); /* one "guest instruction" */
        __atomic_store_n(&in_step[me], 0, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&w->v->req, __ATOMIC_SEQ_CST) & REQ_EXCL) excl_pause(w->x, w->v); /* the safe point */
        if (i % EVERY == me) {
            excl_begin(w->x, w->v);
            uint32_t t = shared; /* a read-modify-write with a window, watching the others */
            bool seen = false;
            for (int k = 0; k < 50; k++) {
                for (int j = 0; j < NT; j++)
                    seen |= j != me && __atomic_load_n(&in_step[j], __ATOMIC_SEQ_CST);
                spin(10);
            }
            shared = t + 1;
            if (seen) __atomic_fetch_add(&violations, 1, __ATOMIC_SEQ_CST);
            excl_end(w->x, w->v);
        }
        if (w->halts && i % 64 == 0) {
            excl_stop_running(w->x, w->v);
            struct timespec ts = { 0, 20000 };
            nanosleep(&ts, NULL);
            excl_start_running(w->x, w->v);
        }
    }
    excl_stop_running(w->x, w->v); /* the thread ends: no section waits for it */
    return NULL;
}

static int sections_of(int me, int steps)
{
    int n = 0;
    for (int i = 0; i < steps; i++) n += i % EVERY == me;
    return n;
}

/* Three threads ask for sections all the time (so two often ask at once),
 * one sleeps now and then as a halted vCPU does, one ends early while the
 * others keep asking: every section runs alone, none is lost, nothing hangs. */
Test(smp_excl, sections_exclude_every_other_thread, .timeout = 60)
{
    struct vcpu *cpu[NT];
    for (int i = 0; i < NT; i++) {
        cpu[i] = calloc(1, sizeof(struct vcpu));
        cr_assert_not_null(cpu[i]);
        cpu[i]->index = i;
    }
    struct excl x;
    excl_init(&x, cpu, NT);
    struct worker w[NT] = {
        { &x, cpu[0], STEPS, false },
        { &x, cpu[1], STEPS, true },
        { &x, cpu[2], STEPS / 4, false }, /* ends first */
    };
    pthread_t t[NT];
    for (int i = 0; i < NT; i++) cr_assert_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    uint32_t want = 0;
    for (int i = 0; i < NT; i++) want += (uint32_t)sections_of(i, w[i].steps);
    cr_assert_eq(violations, 0, "%u sections ran beside another thread's step", violations);
    cr_assert_eq(shared, want, "a read-modify-write inside a section was lost (%u of %u)", shared, want);
    cr_assert_eq(x.sections, want);
    cr_assert_null(x.owner);
    for (int i = 0; i < NT; i++) cr_assert_eq(x.running[i], false);
    excl_destroy(&x);
    for (int i = 0; i < NT; i++) free(cpu[i]);
}

/* A section while no other thread runs (all halted or not started) does not
 * wait, and leaves nothing pending. */
Test(smp_excl, alone_does_not_wait, .timeout = 10)
{
    struct vcpu *cpu[2];
    for (int i = 0; i < 2; i++) {
        cpu[i] = calloc(1, sizeof(struct vcpu));
        cpu[i]->index = i;
    }
    struct excl x;
    excl_init(&x, cpu, 2);
    excl_start_running(&x, cpu[0]);
    excl_begin(&x, cpu[0]);
    cr_assert_eq(x.owner, cpu[0]);
    cr_assert_eq(cpu[1]->req, 0, "a vCPU that does not run is not asked to pause");
    excl_end(&x, cpu[0]);
    cr_assert_null(x.owner);
    excl_pause(&x, cpu[0]); /* a stale request: returns at once */
    cr_assert_eq(x.running[0], true);
    excl_destroy(&x);
    for (int i = 0; i < 2; i++) free(cpu[i]);
}

/* ---- boards: vCPUs on host threads ---- */

/* The BSP (32-bit) does 100000 LOCK INC on the dword at 0x9ffe (split
 * across pages 9 and 10: exclusive sections) while the AP (real mode at
 * 0800:0000) does 100000 LOCK ADD 1 on the aligned word at 0xa000, the
 * dword's upper half (a host atomic, no section: only pausing the AP keeps
 * it out of the BSP's read-modify-write); both also LOCK ADD 1 to the
 * misaligned word at 0xa101. The BSP waits for the AP's mark at 0x9004 and
 * exits 0x11 if the dword is 100000 + 100000 * 65536 (mod 2^32) and the
 * word 200000 & 0xffff, else 0x22. vCPU 2 (with -smp 3) is never started:
 * it waits for SIPI, which must not hold up the sections. */
static void split_counters(const char *smp, const char *engine)
{
    struct pc *pc = smp_board(smp, engine);
    cr_assert(pc->smp != NULL);
    static const uint8_t bsp[] = {
        ICR(1, 0x4500), ICR(1, 0x4608),
        0xb9, 0xa0, 0x86, 0x01, 0x00,                         /* mov ecx, 100000 */
        0xf0, 0xff, 0x05, 0xfe, 0x9f, 0x00, 0x00,             /* 1: lock inc dword [0x9ffe] */
        0xf0, 0x66, 0x83, 0x05, 0x01, 0xa1, 0x00, 0x00, 0x01, /* lock add word [0xa101], 1 */
        0x49, 0x75, 0xed,                                     /* dec ecx; jnz 1b */
        0x80, 0x3d, 0x04, 0x90, 0x00, 0x00, 0x01, 0x75, 0xf7, /* wait for the AP's mark */
        0xa1, 0xfe, 0x9f, 0x00, 0x00,                         /* mov eax, [0x9ffe] */
        0x3d, 0xa0, 0x86, 0xa1, 0x86, 0x75, 0x12,             /* cmp eax, 0x86a186a0; jne bad */
        0x0f, 0xb7, 0x05, 0x01, 0xa1, 0x00, 0x00,             /* movzx eax, word [0xa101] */
        0x3d, 0x40, 0x0d, 0x00, 0x00, 0x75, 0x04,             /* cmp eax, 0x0d40; jne bad */
        0xb0, 0x11, 0xe6, 0xf4,                               /* exit 0x11 */
        0xb0, 0x22, 0xe6, 0xf4,                               /* bad: exit 0x22 */
    };
    static const uint8_t ap[] = {
        0x66, 0xb9, 0xa0, 0x86, 0x01, 0x00,                   /* mov ecx, 100000 */
        0xf0, 0x2e, 0x83, 0x06, 0x00, 0x20, 0x01,             /* 1: lock add word [cs:0x2000], 1 */
        0xf0, 0x2e, 0x83, 0x06, 0x01, 0x21, 0x01,             /* lock add word [cs:0x2101], 1 */
        0x66, 0x49, 0x75, 0xee,                               /* dec ecx; jnz 1b */
        0x2e, 0xc6, 0x06, 0x04, 0x10, 0x01,                   /* mov byte [cs:0x1004], 1 */
        0xfa, 0xf4,                                           /* cli; hlt */
    };
    smp_board_poke(pc, 0x100000, bsp, sizeof(bsp));
    smp_board_poke(pc, 0x8000, ap, sizeof(ap));
    cr_assert_eq(pc_run(pc, 0), STOP_EXIT_PORT);
    cr_assert_eq(pc->m.cpu[0]->exit_status, 0x23, "dword %u, word %u", smp_board_peek32(pc, 0x9ffe),
                 smp_board_peek32(pc, 0xa101) & 0xffff);
    cr_assert_null(pc->m.excl, "the section is gone with the threads");
    smp_board_free(pc);
}

Test(smp_excl_board, split_counters_interp, .timeout = 120) { split_counters("2", "interp"); }
Test(smp_excl_board, split_counters_bt, .timeout = 120) { split_counters("3", "bt"); }

/* The machine stops (debug exit) while the AP keeps asking for sections
 * (an endless split LOCK INC loop) and vCPU 2 waits for SIPI: the run must
 * end, under both engines. Before that the BSP's own sections include a
 * LOCK OR on MMIO (the local APIC's SVR), whose handler takes the device
 * lock inside the section. */
static void exit_while_locking(const char *engine)
{
    struct pc *pc = smp_board("3", engine);
    static const uint8_t bsp[] = {
        ICR(1, 0x4500), ICR(1, 0x4608),
        0x81, 0x3d, 0xfe, 0x9f, 0x00, 0x00, 0x10, 0x27, 0x00, 0x00, /* 1: cmp dword [0x9ffe], 10000 */
        0x72, 0xf4,                                                 /* jb 1b: the AP is at it */
        0xb9, 0xe8, 0x03, 0x00, 0x00,                               /* mov ecx, 1000 */
        0xf0, 0xff, 0x05, 0xfe, 0x9f, 0x00, 0x00,                   /* 2: lock inc dword [0x9ffe] */
        0xf0, 0x81, 0x0d, 0xf0, 0x00, 0xe0, 0xfe, 0x00, 0x01, 0x00, 0x00, /* lock or dword [0xfee000f0], 0x100 */
        0x49, 0x75, 0xeb,                                           /* dec ecx; jnz 2b */
        0xb0, 0x11, 0xe6, 0xf4,                                     /* exit 0x11 */
    };
    static const uint8_t ap[] = {
        0xf0, 0x2e, 0x66, 0xff, 0x06, 0xfe, 0x1f,                   /* 1: lock inc dword [cs:0x1ffe] */
        0xeb, 0xf7,                                                 /* jmp 1b */
    };
    smp_board_poke(pc, 0x100000, bsp, sizeof(bsp));
    smp_board_poke(pc, 0x8000, ap, sizeof(ap));
    cr_assert_eq(pc_run(pc, 0), STOP_EXIT_PORT);
    cr_assert_eq(pc->m.cpu[0]->exit_status, 0x23);
    cr_assert_geq(smp_board_peek32(pc, 0x9ffe), 11000u);
    cr_assert_eq(pc->lapic[0].svr & 0x100, 0x100, "the LOCK OR reached the APIC (SVR %#x)", pc->lapic[0].svr);
    smp_board_free(pc);
}

Test(smp_excl_board, exit_while_locking_interp, .timeout = 60) { exit_while_locking("interp"); }
Test(smp_excl_board, exit_while_locking_bt, .timeout = 60) { exit_while_locking("bt"); }
