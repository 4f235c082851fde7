/* The lockstep runner with several vCPUs (cpu/lockstep.h, ncpu > 1): the
 * vCPUs take turns in a fixed order on both machines, halted vCPUs sit their
 * turns out, a divergence names the vCPU it happened on, and the board's
 * all_idle hook ends the run when every vCPU is halted. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/interp.h"
#include "cpu/lockstep.h"
#include "cpu/machine.h"
#include "cpu/segment.h"

#define LS_RAM (1u << 20)
#define CODE0 0x1000u /* vCPU 0: N0 x INC AX, HLT */
#define CODE1 0x2000u /* vCPU 1 (started by a SIPI with vector 2): N1 x INC CX, HLT */
#define N1 150

/* As frontend/smp_run.c's idle hook: a halted vCPU leaves its run. */
static bool yield_idle(struct machine *m, struct vcpu *v)
{
    (void)m;
    v->stop = STOP_YIELD;
    return true;
}

/* Two real-mode vCPUs: vCPU 0 at CODE0 runs n0 INC AX then HLT, vCPU 1 at
 * CODE1 runs N1 INC CX then HLT. */
static struct machine *smp_machine(int n0)
{
    struct machine *m = calloc(1, sizeof(*m));
    cr_assert_not_null(m);
    cr_assert_eq(machine_init(m, LS_RAM, 2), 0);
    memset(m->mem.ram + CODE0, 0x40, (size_t)n0);
    m->mem.ram[CODE0 + n0] = 0xf4;
    memset(m->mem.ram + CODE1, 0x41, N1);
    m->mem.ram[CODE1 + N1] = 0xf4;
    struct vcpu *v0 = m->cpu[0], *v1 = m->cpu[1];
    v0->seg[S_CS].sel = CODE0 >> 4;
    v0->seg[S_CS].base = CODE0;
    seg_cache_refresh(&v0->seg[S_CS], false);
    v0->eip = 0;
    vcpu_init_ipi(v1);
    vcpu_sipi(v1, CODE1 >> 12);
    m->idle = yield_idle;
    return m;
}

static void free_machine(struct machine *m)
{
    for (int i = 0; i < m->ncpu; i++) engine_release(m->cpu[i]);
    machine_destroy(m);
    free(m);
}

/* cpu_run, but vCPU 1 gets a wrong EAX once its instruction 37 has retired. */
static enum vcpu_stop bad_cpu1_run(struct vcpu *v, uint64_t max_insns)
{
    uint64_t before = v->icount;
    enum vcpu_stop s = cpu_run(v, max_insns);
    if (v->index == 1 && before < 37 && v->icount >= 37) v->r[R_EAX] ^= 0x100;
    return s;
}

/* The order in which the runner selects vCPUs: "A0 B0 A1 ..." (- for none),
 * the first 20 selections. */
struct trace {
    struct machine *ma;
    char log[64];
    int selections, idle_calls;
};

static void trace_select(void *opaque, struct machine *m, struct vcpu *v)
{
    struct trace *t = opaque;
    size_t n = strlen(t->log);
    if (t->selections++ >= 20) return;
    snprintf(t->log + n, sizeof(t->log) - n, "%s%c%c", n ? " " : "", m == t->ma ? 'A' : 'B', v ? '0' + v->index : '-');
}

static bool trace_idle(void *opaque, struct machine *m)
{
    (void)m;
    ((struct trace *)opaque)->idle_calls++;
    return false;
}

Test(lockstep, smp_vcpus_take_turns_and_agree)
{
    struct machine *ma = smp_machine(100), *mb = smp_machine(100);
    struct trace t = { .ma = ma };
    struct lockstep ls = { .a = ma->cpu[0], .b = mb->cpu[0], .ea = &engine_interp_run, .eb = &engine_interp_step,
                           .chunk = 8, .ncpu = 2, .select = trace_select, .all_idle = trace_idle, .opaque = &t };
    cr_assert_eq(lockstep_run(&ls, 10000), 0);
    cr_assert_str_eq(t.log, "A0 B0 A1 B1 A0 B0 A1 B1 A0 B0 A1 B1 A0 B0 A1 B1 A0 B0 A1 B1", "the first 20: %s", t.log);
    cr_assert_eq(ls.stop, STOP_HALT_FOREVER);
    cr_assert_eq(t.idle_calls, 2, "all_idle once per machine");
    cr_assert_eq(ls.insns, 101 + N1 + 1);
    for (int i = 0; i < 2; i++) {
        struct machine *m = i ? mb : ma;
        cr_assert_eq(m->cpu[0]->r[R_EAX] & 0xffff, 100);
        cr_assert_eq(m->cpu[1]->r[R_ECX] & 0xffff, N1);
        cr_assert_eq(m->cpu[0]->icount, 101);
        cr_assert_eq(m->cpu[1]->icount, N1 + 1);
        cr_assert(m->cpu[0]->halted && m->cpu[1]->halted);
    }
    free_machine(ma);
    free_machine(mb);
}

Test(lockstep, smp_halted_vcpu_sits_its_turns_out)
{
    struct machine *ma = smp_machine(10), *mb = smp_machine(10);
    struct lockstep ls = { .a = ma->cpu[0], .b = mb->cpu[0], .ea = &engine_interp_step, .eb = &engine_interp_run,
                           .chunk = 8, .ncpu = 2 };
    cr_assert_eq(lockstep_run(&ls, 10000), 0);
    /* vCPU 0: 8, then 3 and its HLT yields; vCPU 1: 18 x 8, then 7 and HLT. */
    cr_assert_eq(ls.chunks, 2 + 19);
    cr_assert_eq(ls.insns, 11 + N1 + 1);
    cr_assert_eq(ls.stop, STOP_HALT_FOREVER, "no all_idle hook: nothing wakes them");
    free_machine(ma);
    free_machine(mb);
}

Test(lockstep, smp_divergence_names_the_vcpu)
{
    struct machine *ma = smp_machine(100), *mb = smp_machine(100);
    const struct engine bad = { "bad", bad_cpu1_run };
    char *text = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&text, &len);
    struct lockstep ls = { .a = ma->cpu[0], .b = mb->cpu[0], .ea = &engine_interp_run, .eb = &bad, .chunk = 8,
                           .ncpu = 2, .log = log };
    cr_assert_eq(lockstep_run(&ls, 10000), 1);
    fclose(log);
    cr_assert(ls.diverged);
    cr_assert_eq(ls.div_cpu, 1);
    cr_assert_eq(ls.prev_icount, 32, "vCPU 1's chunk [32, 40) holds its instruction 37");
    cr_assert_eq(ls.div_icount, 40);
    cr_assert_eq(ma->cpu[0]->icount, 40, "vCPU 0 ran its five chunks first");
    cr_assert_not_null(strstr(text, "diverged on vCPU 1 in the chunk"), "log: %s", text);
    cr_assert_not_null(strstr(text, "EAX            run=00000000 bad=00000100"), "log: %s", text);
    free(text);
    free_machine(ma);
    free_machine(mb);
}

Test(lockstep, smp_max_insns_counts_every_vcpu)
{
    struct machine *ma = smp_machine(100), *mb = smp_machine(100);
    struct lockstep ls = { .a = ma->cpu[0], .b = mb->cpu[0], .ea = &engine_interp_run, .eb = &engine_interp_step,
                           .chunk = 8, .ncpu = 2 };
    cr_assert_eq(lockstep_run(&ls, 20), 0);
    cr_assert_eq(ls.stop, STOP_INSN_LIMIT);
    cr_assert_eq(ls.insns, 20);
    cr_assert_eq(ma->cpu[0]->icount, 12, "8, then the last 4 of the 20");
    cr_assert_eq(ma->cpu[1]->icount, 8);
    cr_assert_eq(mb->cpu[0]->icount, 12);
    cr_assert_eq(mb->cpu[1]->icount, 8);
    free_machine(ma);
    free_machine(mb);
}
