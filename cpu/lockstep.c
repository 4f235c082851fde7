/* Lockstep comparison of execution engines (cpu/lockstep.h): the engines
 * available in this build, state snapshots and their diff, the RAM digest
 * and the chunked lockstep runner. */
#include "cpu/lockstep.h"

#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/decode_cache.h"
#include "cpu/interp.h"
#include "cpu/machine.h"
#include "memory/phys.h"

/* The translator is optional: it may not exist yet, or exist without linking
 * bt_run. A weak reference keeps this file compiling and linking either way. */
#if defined(__has_include)
#if __has_include("translator/bt.h")
#include "translator/bt.h"
#pragma weak bt_run
#pragma weak bt_vcpu_free
#define LOCKSTEP_HAVE_BT 1
#endif
#endif

/* --- engines --- */

/* cpu_step until max_insns instructions retired: every instruction is looked
 * up and run on its own, so block-boundary effects (interrupt shadows, REP
 * yields, self-modifying code inside a block) show up against cpu_run. */
static enum vcpu_stop step_run(struct vcpu *v, uint64_t max_insns)
{
    uint64_t target = max_insns ? v->icount + max_insns : UINT64_MAX;
    while (v->icount < target) {
        enum vcpu_stop s = cpu_step(v);
        if (s != STOP_INSN_LIMIT) return s;
    }
    v->stop = STOP_INSN_LIMIT;
    return STOP_INSN_LIMIT;
}

const struct engine engine_interp_step = { "step", step_run };
const struct engine engine_interp_run = { "run", cpu_run };

#ifdef LOCKSTEP_HAVE_BT
static const struct engine bt_engine = { "bt", bt_run };
#endif

const struct engine *engine_bt(void)
{
#ifdef LOCKSTEP_HAVE_BT
    if (bt_run) return &bt_engine;
#endif
    return NULL;
}

void engine_release(struct vcpu *v)
{
#ifdef LOCKSTEP_HAVE_BT
    if (bt_vcpu_free && v) bt_vcpu_free(v);
#else
    (void)v;
#endif
}

const struct engine *engine_by_name(const char *name)
{
    if (!strcmp(name, "step")) return &engine_interp_step;
    if (!strcmp(name, "run") || !strcmp(name, "interp")) return &engine_interp_run;
    if (!strcmp(name, "bt")) return engine_bt();
    return NULL;
}

const char *vcpu_stop_name(int stop)
{
    switch (stop) {
    case STOP_NONE: return "none";
    case STOP_EXIT_PORT: return "exit-port";
    case STOP_TRIPLE_FAULT: return "triple-fault";
    case STOP_SHUTDOWN: return "shutdown";
    case STOP_HALT_FOREVER: return "halt-forever";
    case STOP_INSN_LIMIT: return "insn-limit";
    case STOP_ERROR: return "error";
    case STOP_FAULT_LOOP: return "fault-loop";
    default: return "?";
    }
}

/* --- snapshots --- */

uint64_t lockstep_ram_digest(const struct phys_mem *pm, uint32_t lo, uint32_t len)
{
    if (lo >= pm->ram_size) return 0;
    if (len > pm->ram_size - lo) len = pm->ram_size - lo;
    const uint8_t *p = pm->ram + lo;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    uint32_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    for (; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 31);
}

static void seg_snap(struct ls_seg *d, const struct seg_cache *s)
{
    *d = (struct ls_seg){ s->sel, s->attr, s->base, s->limit };
}

void lockstep_snapshot(const struct vcpu *v, struct arch_state *s, uint32_t ram_lo, uint32_t ram_len)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->r, v->r, sizeof(s->r));
    s->eip = v->eip;
    s->eflags = v->eflags;
    s->cpl = v->cpl;
    s->halted = v->halted;
    s->irq_shadow = v->irq_shadow;
    s->wait_sipi = v->wait_sipi;
    s->nmi_blocked = v->nmi_blocked;
    for (int i = 0; i < S_COUNT; i++) seg_snap(&s->seg[i], &v->seg[i]);
    seg_snap(&s->ldtr, &v->ldtr);
    seg_snap(&s->tr, &v->tr);
    s->cr0 = v->cr0;
    s->cr2 = v->cr2;
    s->cr3 = v->cr3;
    s->cr4 = v->cr4;
    memcpy(s->dr, v->dr, sizeof(s->dr));
    s->gdtr = v->gdtr;
    s->idtr = v->idtr;
    s->sysenter_cs = v->msr.sysenter_cs;
    s->sysenter_esp = v->msr.sysenter_esp;
    s->sysenter_eip = v->msr.sysenter_eip;
    s->icount = v->icount;
    s->stop = v->stop;
    s->exit_status = v->exit_status;
    memcpy(s->exceptions, v->exceptions, sizeof(s->exceptions));
    memcpy(s->fx, v->fxstate, sizeof(s->fx));
    if (ram_len && v->m) {
        s->has_ram = true;
        s->ram_lo = ram_lo;
        s->ram_len = ram_len;
        s->ram_digest = lockstep_ram_digest(&v->m->mem, ram_lo, ram_len);
    }
}

/* --- diff --- */

struct differ {
    FILE *out;
    const char *na, *nb;
    int n;
};

static void d32(struct differ *d, const char *what, uint32_t a, uint32_t b)
{
    if (a == b) return;
    d->n++;
    if (d->out) fprintf(d->out, "  %-14s %s=%08" PRIx32 " %s=%08" PRIx32 " (xor %08" PRIx32 ")\n", what, d->na, a, d->nb, b, a ^ b);
}

static void d64(struct differ *d, const char *what, uint64_t a, uint64_t b)
{
    if (a == b) return;
    d->n++;
    if (d->out) fprintf(d->out, "  %-14s %s=%" PRIu64 " %s=%" PRIu64 "\n", what, d->na, a, d->nb, b);
}

static void dseg(struct differ *d, const char *name, const struct ls_seg *a, const struct ls_seg *b)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%s.sel", name);
    d32(d, buf, a->sel, b->sel);
    snprintf(buf, sizeof(buf), "%s.attr", name);
    d32(d, buf, a->attr, b->attr);
    snprintf(buf, sizeof(buf), "%s.base", name);
    d32(d, buf, a->base, b->base);
    snprintf(buf, sizeof(buf), "%s.limit", name);
    d32(d, buf, a->limit, b->limit);
}

/* Names of the FXSAVE image's fields, for the diff. */
static void fx_field(unsigned off, char *buf, size_t n)
{
    static const struct { unsigned off, len; const char *name; } f[] = {
        { 0, 2, "FCW" }, { 2, 2, "FSW" }, { 4, 1, "FTW" }, { 5, 1, "fx[5]" }, { 6, 2, "FOP" },
        { 8, 4, "FIP" }, { 12, 2, "FCS" }, { 14, 2, "fx[14]" }, { 16, 4, "FDP" }, { 20, 2, "FDS" },
        { 22, 2, "fx[22]" }, { 24, 4, "MXCSR" }, { 28, 4, "MXCSR_MASK" },
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (off >= f[i].off && off < f[i].off + f[i].len) {
            snprintf(buf, n, "%s", f[i].name);
            return;
        }
    if (off >= 32 && off < 160) snprintf(buf, n, "ST%u/MM%u[%u]", (off - 32) / 16, (off - 32) / 16, (off - 32) % 16);
    else if (off >= 160 && off < 288) snprintf(buf, n, "XMM%u[%u]", (off - 160) / 16, (off - 160) % 16);
    else snprintf(buf, n, "fx[%u]", off);
}

static void dfx(struct differ *d, const uint8_t *a, const uint8_t *b)
{
    if (!memcmp(a, b, 512)) return;
    for (unsigned i = 0; i < 512; i++) {
        if (a[i] == b[i]) continue;
        char name[32];
        fx_field(i, name, sizeof(name));
        d->n++;
        if (d->out) fprintf(d->out, "  %-14s %s=%02x %s=%02x\n", name, d->na, a[i], d->nb, b[i]);
    }
}

int lockstep_compare(const struct arch_state *a, const struct arch_state *b, uint32_t eflags_mask,
                     FILE *out, const char *na, const char *nb)
{
    static const char *const gpr[8] = { "EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI" };
    static const char *const sreg[S_COUNT] = { "ES", "CS", "SS", "DS", "FS", "GS" };
    struct differ d = { out, na, nb, 0 };
    if (out)
        fprintf(out, "  state at %s: EIP=%08" PRIx32 " icount=%" PRIu64 "; %s: EIP=%08" PRIx32 " icount=%" PRIu64 "\n",
                na, a->eip, a->icount, nb, b->eip, b->icount);
    for (int i = 0; i < 8; i++) d32(&d, gpr[i], a->r[i], b->r[i]);
    d32(&d, "EIP", a->eip, b->eip);
    d32(&d, "EFLAGS", a->eflags & eflags_mask, b->eflags & eflags_mask);
    d32(&d, "CPL", a->cpl, b->cpl);
    d32(&d, "halted", a->halted, b->halted);
    d32(&d, "irq_shadow", a->irq_shadow, b->irq_shadow);
    d32(&d, "wait_sipi", a->wait_sipi, b->wait_sipi);
    d32(&d, "nmi_blocked", a->nmi_blocked, b->nmi_blocked);
    for (int i = 0; i < S_COUNT; i++) dseg(&d, sreg[i], &a->seg[i], &b->seg[i]);
    dseg(&d, "LDTR", &a->ldtr, &b->ldtr);
    dseg(&d, "TR", &a->tr, &b->tr);
    d32(&d, "CR0", a->cr0, b->cr0);
    d32(&d, "CR2", a->cr2, b->cr2);
    d32(&d, "CR3", a->cr3, b->cr3);
    d32(&d, "CR4", a->cr4, b->cr4);
    for (int i = 0; i < 8; i++) {
        char nm[16];
        snprintf(nm, sizeof(nm), "DR%d", i);
        d32(&d, nm, a->dr[i], b->dr[i]);
    }
    d32(&d, "GDTR.base", a->gdtr.base, b->gdtr.base);
    d32(&d, "GDTR.limit", a->gdtr.limit, b->gdtr.limit);
    d32(&d, "IDTR.base", a->idtr.base, b->idtr.base);
    d32(&d, "IDTR.limit", a->idtr.limit, b->idtr.limit);
    d32(&d, "SYSENTER_CS", a->sysenter_cs, b->sysenter_cs);
    d32(&d, "SYSENTER_ESP", a->sysenter_esp, b->sysenter_esp);
    d32(&d, "SYSENTER_EIP", a->sysenter_eip, b->sysenter_eip);
    d64(&d, "icount", a->icount, b->icount);
    if (a->stop != b->stop) {
        d.n++;
        if (out) fprintf(out, "  %-14s %s=%s %s=%s\n", "stop", na, vcpu_stop_name(a->stop), nb, vcpu_stop_name(b->stop));
    }
    d32(&d, "exit_status", (uint32_t)a->exit_status, (uint32_t)b->exit_status);
    for (int i = 0; i < 32; i++) {
        char nm[24];
        snprintf(nm, sizeof(nm), "exceptions[%d]", i);
        d64(&d, nm, a->exceptions[i], b->exceptions[i]);
    }
    dfx(&d, a->fx, b->fx);
    if (a->has_ram && b->has_ram && a->ram_digest != b->ram_digest) {
        d.n++;
        if (out)
            fprintf(out, "  %-14s %s=%016" PRIx64 " %s=%016" PRIx64 " (RAM %08" PRIx32 "+%08" PRIx32 ")\n", "RAM digest",
                    na, a->ram_digest, nb, b->ram_digest, a->ram_lo, a->ram_len);
    }
    return d.n;
}

/* Whether the host page at p has never been touched: guest RAM is anonymous
 * memory (memory/phys.c), so a page that is not resident holds zeros, and
 * comparing it would only fault it in. (Swapped-out pages are not resident
 * either; the shortcut is taken only when the pages of both machines are
 * absent, so at worst two swapped-out pages go uncompared.) */
static bool untouched(const uint8_t *p)
{
    unsigned char vec = 1;
    if (mincore((void *)((uintptr_t)p & ~(uintptr_t)4095), 4096, &vec) != 0) return false;
    return !(vec & 1);
}

uint64_t lockstep_ram_diff(const struct phys_mem *a, const struct phys_mem *b, uint32_t lo, uint32_t len,
                           FILE *out, int max_report)
{
    uint32_t size = a->ram_size < b->ram_size ? a->ram_size : b->ram_size;
    if (lo >= size) return 0;
    if (len == 0 || len > size - lo) len = size - lo;
    uint64_t ndiff = 0;
    int reported = 0;
    /* Page by page: memcmp finds equal pages fast. */
    for (uint32_t pg = lo; pg - lo < len;) {
        uint32_t n = 4096 - (pg & 0xfff);
        if (n > len - (pg - lo)) n = len - (pg - lo);
        if (!(untouched(a->ram + pg) && untouched(b->ram + pg)) && memcmp(a->ram + pg, b->ram + pg, n)) {
            for (uint32_t i = 0; i < n;) {
                if (a->ram[pg + i] == b->ram[pg + i]) {
                    i++;
                    continue;
                }
                uint32_t j = i;
                while (j < n && a->ram[pg + j] != b->ram[pg + j]) j++;
                ndiff += j - i;
                if (out && reported < max_report) {
                    fprintf(out, "  RAM %08" PRIx32 "..%08" PRIx32 ":", pg + i, pg + j - 1);
                    for (uint32_t k = i; k < j && k < i + 8; k++) fprintf(out, " %02x/%02x", a->ram[pg + k], b->ram[pg + k]);
                    fprintf(out, "%s\n", j - i > 8 ? " ..." : "");
                }
                reported++;
                i = j;
            }
        }
        pg += n;
        if (pg == 0) break; /* wrapped at 4 GiB */
    }
    return ndiff;
}

/* --- the runner --- */

/* Instructions between calls of the machines' poll hooks (as cpu/interp.c). */
#define LOCKSTEP_POLL_INTERVAL 4096

/* The vCPUs the runner drives: machine A's and their twins in machine B. */
struct twins {
    int n;
    struct vcpu *a[MAX_VCPUS], *b[MAX_VCPUS];
};

static uint64_t total_icount(struct vcpu *const *v, int n)
{
    uint64_t t = 0;
    for (int i = 0; i < n; i++) t += v[i]->icount;
    return t;
}

static void describe(struct lockstep *ls, int cpu, const struct arch_state *sa, const struct arch_state *sb,
                     bool ram_checked)
{
    FILE *out = ls->log;
    if (!out) return;
    char who[24] = "";
    if (ls->ncpu > 1) snprintf(who, sizeof(who), " on vCPU %d", cpu);
    fprintf(out, "lockstep: %s and %s diverged%s in the chunk that started at EIP=%08" PRIx32 " icount=%" PRIu64 "\n",
            ls->ea->name, ls->eb->name, who, ls->prev_eip, ls->prev_icount);
    lockstep_compare(sa, sb, ls->eflags_mask ? ls->eflags_mask : ~0u, out, ls->ea->name, ls->eb->name);
    if (ram_checked) lockstep_ram_diff(&ls->a->m->mem, &ls->b->m->mem, ls->ram_lo, ls->ram_len, out, 16);
}

/* A divergence that is not in one vCPU's state: the scheduling decision the
 * runner takes from machine A would not hold for machine B. */
static void diverge_sched(struct lockstep *ls, const struct vcpu *a, int cpu, const char *what, int va, int vb)
{
    ls->diverged = true;
    ls->div_cpu = cpu;
    ls->div_icount = a->icount;
    ls->div_eip = a->eip;
    if (ls->log)
        fprintf(ls->log, "lockstep: %s and %s diverged on vCPU %d: %s %s=%d %s=%d\n", ls->ea->name, ls->eb->name, cpu,
                what, ls->ea->name, va, ls->eb->name, vb);
}

static void select_cpu(struct lockstep *ls, struct machine *m, struct vcpu *v)
{
    if (ls->select) ls->select(ls->opaque, m, v);
}

/* Does v take its turn in this round? A halted vCPU with no event pending
 * would only yield again. (With one vCPU it always runs: the machine's idle
 * hook then waits for time inside the engine's run.) */
static bool takes_turn(const struct twins *t, const struct vcpu *v)
{
    return t->n == 1 || !v->halted || v->irq_req;
}

/* A quit request (Ctrl-A x) that the board's poll or idle hook left on a
 * vCPU of A outside any run: the index of that vCPU, else -1. A leftover
 * REQ_STOP would make that vCPU's next run leave at once, forgetting the
 * stop reason, on one machine only: so the request is taken here, and other
 * leftover REQ_STOPs are cleared on both sides. */
static int quit_requested(struct twins *t)
{
    for (int i = 0; i < t->n; i++) {
        struct vcpu *v = t->a[i];
        if ((v->req & REQ_STOP) && v->stop == STOP_SHUTDOWN) return i;
    }
    for (int i = 0; i < t->n; i++) {
        t->a[i]->req &= ~REQ_STOP;
        t->b[i]->req &= ~REQ_STOP;
    }
    return -1;
}

/* Run vCPU i's chunk of at most n instructions on A, as many on B, and
 * compare. Returns 1 on a divergence, -1 when A stopped for good (ls->stop,
 * ls->stop_cpu), 0 to go on. *ram_now: RAM was compared after this chunk. */
static int chunk_pair(struct lockstep *ls, struct twins *t, int i, uint64_t n, uint64_t start, uint64_t max_insns,
                      uint64_t *last_ram, bool *ram_now)
{
    struct vcpu *a = t->a[i], *b = t->b[i];
    ls->prev_eip = a->eip;
    ls->prev_icount = a->icount;
    select_cpu(ls, a->m, a);
    uint64_t a0 = a->icount;
    enum vcpu_stop sa = ls->ea->run(a, n);
    uint64_t delta = a->icount - a0;
    bool final = sa != STOP_INSN_LIMIT && sa != STOP_NONE && sa != STOP_YIELD;
    /* B retires as many. When A left early (it stopped, or its vCPU halted
     * and yielded), B gets one more: if B leaves there too it retires none,
     * through the same event checks of the run loop; if not, the extra
     * instruction shows up as an icount difference. (A fault loop stops B
     * at the same fault as A whatever its limit: CPU_FAULT_LOOP_MAX.) */
    bool early = final || sa == STOP_YIELD;
    select_cpu(ls, b->m, b);
    if (delta || early) ls->eb->run(b, delta + (early ? 1 : 0));
    ls->chunks++;
    uint64_t total = total_icount(t->a, t->n);
    bool ram_due = final || !ls->ram_every || total - *last_ram >= ls->ram_every ||
                   (max_insns && total - start >= max_insns);
    struct arch_state xa, xb;
    lockstep_snapshot(a, &xa, 0, 0);
    lockstep_snapshot(b, &xb, 0, 0);
    int nd = lockstep_compare(&xa, &xb, ls->eflags_mask ? ls->eflags_mask : ~0u, NULL, "", "");
    uint64_t rd = 0;
    *ram_now = ram_due;
    if (ram_due) {
        rd = lockstep_ram_diff(&a->m->mem, &b->m->mem, ls->ram_lo, ls->ram_len, NULL, 0);
        *last_ram = total;
    }
    if (nd || rd) {
        ls->diverged = true;
        ls->div_icount = a->icount;
        ls->div_eip = a->eip;
        ls->div_cpu = i;
        ls->stop = sa;
        ls->stop_cpu = i;
        describe(ls, i, &xa, &xb, ram_due);
        return 1;
    }
    if (final) {
        ls->stop = sa;
        ls->stop_cpu = i;
        return -1;
    }
    return 0;
}

/* Every vCPU is halted: both boards let time pass (or find that nothing can
 * wake any vCPU). Returns 1 on a divergence, -1 when the run is over, 0 to
 * go on. */
static int idle_pair(struct lockstep *ls, struct twins *t)
{
    struct machine *ma = t->a[0]->m, *mb = t->b[0]->m;
    select_cpu(ls, ma, NULL);
    bool wa = ls->all_idle && ls->all_idle(ls->opaque, ma);
    select_cpu(ls, mb, NULL);
    bool wb = ls->all_idle && ls->all_idle(ls->opaque, mb);
    if (wa != wb) {
        diverge_sched(ls, t->a[0], 0, "every vCPU halted; something can wake one:", wa, wb);
        return 1;
    }
    if (!wa) {
        ls->stop = STOP_HALT_FOREVER;
        ls->stop_cpu = 0;
        return -1;
    }
    return 0;
}

int lockstep_run(struct lockstep *ls, uint64_t max_insns)
{
    struct twins t = { .n = ls->ncpu > 1 ? ls->ncpu : 1 };
    if (t.n > 1) {
        if (t.n > ls->a->m->ncpu) t.n = ls->a->m->ncpu;
        if (t.n > ls->b->m->ncpu) t.n = ls->b->m->ncpu;
        for (int i = 0; i < t.n; i++) {
            t.a[i] = ls->a->m->cpu[i];
            t.b[i] = ls->b->m->cpu[i];
        }
    } else {
        t.a[0] = ls->a;
        t.b[0] = ls->b;
    }
    struct machine *ma = ls->a->m, *mb = ls->b->m;
    uint64_t chunk = ls->chunk ? ls->chunk : BLOCK_MAX_INSNS;
    uint64_t start = total_icount(t.a, t.n), last_ram = start, next_poll = start + LOCKSTEP_POLL_INTERVAL;
    bool ram_now = false;
    /* Device time advances only between chunks, identically on both sides. */
    void (*poll_a)(struct machine *, struct vcpu *) = ma->poll;
    void (*poll_b)(struct machine *, struct vcpu *) = mb->poll;
    ma->poll = NULL;
    mb->poll = NULL;
    ls->chunks = 0;
    ls->diverged = false;
    ls->stop = STOP_NONE;
    ls->div_cpu = 0;
    ls->stop_cpu = 0;
    int r = 0;
    while (!r) {
        for (int i = 0; i < t.n && !r; i++) {
            if (!takes_turn(&t, t.a[i])) {
                if (takes_turn(&t, t.b[i])) {
                    diverge_sched(ls, t.a[i], i, "halted with nothing pending (skips its turn):", 1, 0);
                    r = 1;
                }
                continue;
            }
            uint64_t done = total_icount(t.a, t.n) - start;
            if (max_insns && done >= max_insns) {
                ls->stop = STOP_INSN_LIMIT;
                r = -1;
                break;
            }
            uint64_t n = chunk;
            if (max_insns && n > max_insns - done) n = max_insns - done;
            r = chunk_pair(ls, &t, i, n, start, max_insns, &last_ram, &ram_now);
            if (r) break;
            /* The machines' device polling, at the same instruction counts on
             * both sides (the run loops would call it at engine-dependent
             * points), with no vCPU selected. */
            uint64_t total = total_icount(t.a, t.n);
            if (poll_a && total >= next_poll) {
                next_poll = total + LOCKSTEP_POLL_INTERVAL;
                select_cpu(ls, ma, NULL);
                poll_a(ma, t.a[0]);
                select_cpu(ls, mb, NULL);
                if (poll_b) poll_b(mb, t.b[0]);
                int q = t.n > 1 ? quit_requested(&t) : -1;
                if (q >= 0) {
                    ls->stop = STOP_SHUTDOWN;
                    ls->stop_cpu = q;
                    r = -1;
                    break;
                }
            }
            if (ls->between) ls->between(ls->opaque, t.a[i], t.b[i]);
        }
        if (r || t.n == 1) continue;
        bool all_halted = true;
        for (int i = 0; i < t.n && all_halted; i++) all_halted = t.a[i]->halted;
        if (!all_halted) continue;
        r = idle_pair(ls, &t);
        int q = r ? -1 : quit_requested(&t);
        if (q >= 0) {
            ls->stop = STOP_SHUTDOWN;
            ls->stop_cpu = q;
            r = -1;
        }
    }
    /* RAM is always compared at the end. */
    if (r < 0 && !ram_now && lockstep_ram_diff(&ma->mem, &mb->mem, ls->ram_lo, ls->ram_len, NULL, 0)) {
        ls->diverged = true;
        ls->div_icount = total_icount(t.a, t.n);
        if (ls->log) {
            fprintf(ls->log, "lockstep: %s and %s diverged: guest RAM differs at the end\n", ls->ea->name, ls->eb->name);
            lockstep_ram_diff(&ma->mem, &mb->mem, ls->ram_lo, ls->ram_len, ls->log, 16);
        }
    }
    ls->insns = total_icount(t.a, t.n) - start;
    ma->poll = poll_a;
    mb->poll = poll_b;
    return ls->diverged ? 1 : 0;
}
