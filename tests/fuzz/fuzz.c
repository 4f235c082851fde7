/* The fuzz machine (layout in tests/fuzz/gen.h) and the lockstep run of one
 * fuzz case under two engines (tests/fuzz/fuzz.h). */
#include "tests/fuzz/fuzz.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/decode.h"
#include "cpu/segment.h"

static void w32(struct machine *m, uint32_t pa, uint32_t v)
{
    memcpy(m->mem.ram + pa, &v, 4);
}

/* A GDT descriptor; attr as in struct seg_cache (access byte, flags << 12). */
static void put_desc(struct machine *m, unsigned sel, uint32_t base, uint32_t limit, unsigned attr)
{
    uint32_t lo = (limit & 0xffff) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xff) | ((attr & 0xff) << 8) | (limit & 0xf0000) | ((attr & 0xf000) << 8) |
                  (base & 0xff000000u);
    w32(m, FZ_GDT + sel, lo);
    w32(m, FZ_GDT + sel + 4, hi);
}

static void set_seg(struct vcpu *v, int s, uint16_t sel, uint32_t base, uint32_t limit, uint16_t attr, bool prot)
{
    v->seg[s] = (struct seg_cache){ .sel = sel, .attr = attr, .base = base, .limit = limit };
    seg_cache_refresh(&v->seg[s], prot);
}

void fuzz_machine_free(struct machine *m)
{
    if (!m) return;
    for (int i = 0; i < m->ncpu; i++) engine_release(m->cpu[i]);
    machine_destroy(m);
    free(m);
}

struct machine *fuzz_machine_new(const struct fuzz_case *c)
{
    struct machine *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    if (machine_init(m, FZ_RAM, 1) != 0) {
        free(m);
        return NULL;
    }
    struct vcpu *v = m->cpu[0];
    /* Descriptor tables (written before any code is decoded: plain stores are fine). */
    put_desc(m, 0x08, 0, 0xfffff, 0xc09a);
    put_desc(m, 0x10, 0, 0xfffff, 0xc092);
    put_desc(m, 0x18, FZ_CODE, 0xffff, 0x009a);
    put_desc(m, 0x20, FZ_DATA, 0xffff, 0x0092);
    put_desc(m, 0x28, 0, 0xfffff, 0xc0fa);
    put_desc(m, 0x30, 0, 0xfffff, 0xc0f2);
    put_desc(m, 0x38, FZ_TSS, 0x67, 0x008b); /* busy: TR holds it */
    put_desc(m, 0x40, FZ_DATA, 0xfffff, 0xc092);
    put_desc(m, 0x48, FZ_DATA, 0xfffff, 0xc0f2);
    put_desc(m, 0x50, FZ_DATA, 0xffff, 0x0090); /* read-only */
    put_desc(m, 0x58, 0, 0xfffff, 0xc012);      /* not present */
    w32(m, FZ_TSS + 4, FZ_STACK0);
    w32(m, FZ_TSS + 8, 0x10);
    w32(m, FZ_TSS + 0x64, 0x00680000); /* I/O map base past the limit: no bitmap */
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t off = FZ_STUBS + n * 8;
        w32(m, FZ_IDT + n * 8, (off & 0xffff) | (0x08u << 16));
        w32(m, FZ_IDT + n * 8 + 4, (off & 0xffff0000u) | 0xee00u);
        w32(m, n * 4, ((FZ_STUBS >> 4) << 16) | (n * 8));
        memset(m->mem.ram + off, 0xf4, 8);
    }
    /* Paging structures: an identity map of RAM, with the data pages' flags from the case. */
    w32(m, FZ_PD, FZ_PT | 7);
    for (uint32_t p = 0; p < FZ_RAM >> 12; p++) {
        uint32_t f = (p < FZ_CODE >> 12 || (p >= FZ_STUBS >> 12 && p <= FZ_PT >> 12)) ? 3 : 7;
        if (p >= FZ_DATA >> 12 && p < (FZ_DATA + FZ_DATA_LEN) >> 12) f = c->pte_flags[p - (FZ_DATA >> 12)];
        w32(m, FZ_PT + 4 * p, p << 12 | f | (c->global ? 0x100u : 0));
    }
    memcpy(m->mem.ram + FZ_DATA, c->data, FZ_DATA_LEN);
    memcpy(m->mem.ram + FZ_CODE, c->code, c->code_len);

    v->gdtr = (struct dtr){ FZ_GDT, 0x5f };
    if (c->mode == FZ_REAL16) {
        v->idtr = (struct dtr){ 0, 0x3ff };
        for (int s = 0; s < S_COUNT; s++) set_seg(v, s, FZ_DATA >> 4, FZ_DATA, 0xffff, 0x0093, false);
        set_seg(v, S_CS, FZ_CODE >> 4, FZ_CODE, 0xffff, 0x009b, false);
        v->eip = 0;
    } else {
        v->idtr = (struct dtr){ FZ_IDT, 256 * 8 - 1 };
        v->tr = (struct seg_cache){ .sel = 0x38, .attr = 0x008b, .base = FZ_TSS, .limit = 0x67 };
        if (c->mode == FZ_PROT16) {
            for (int s = 0; s < S_COUNT; s++) set_seg(v, s, 0x20, FZ_DATA, 0xffff, 0x0093, true);
            set_seg(v, S_CS, 0x18, FZ_CODE, 0xffff, 0x009b, true);
            v->eip = 0;
        } else {
            bool user = c->mode == FZ_USER32;
            uint16_t dsel = user ? 0x33 : 0x10, fsel = user ? 0x4b : 0x40;
            uint16_t dattr = user ? 0xc0f3 : 0xc093;
            for (int s = 0; s < S_COUNT; s++) set_seg(v, s, dsel, 0, 0xffffffffu, dattr, true);
            set_seg(v, S_FS, fsel, FZ_DATA, 0xffffffffu, dattr, true);
            set_seg(v, S_GS, fsel, FZ_DATA, 0xffffffffu, dattr, true);
            set_seg(v, S_CS, user ? 0x2b : 0x08, 0, 0xffffffffu, user ? 0xc0fb : 0xc09b, true);
            v->cpl = user ? 3 : 0;
            v->eip = FZ_CODE;
        }
        if (c->paging) v->cr3 = FZ_PD;
    }
    v->cr0 = c->cr0;
    if (c->global) v->cr4 |= CR4_PGE;
    memcpy(v->r, c->regs, sizeof(v->r));
    v->eflags = c->eflags;
    v->fxstate[0] = (uint8_t)c->fcw;
    v->fxstate[1] = (uint8_t)(c->fcw >> 8);
    cpu_update_mode(v);
    v->req = 0;
    return m;
}

const char *fuzz_end_name(enum fz_end e)
{
    static const char *const n[FE_COUNT] = { "done", "exception", "halt", "triple-fault", "insn-limit", "other",
                                                 "fault-loop" };
    return e < FE_COUNT ? n[e] : "?";
}

static void classify(const struct fuzz_case *c, const struct vcpu *v, struct fuzz_outcome *out)
{
    out->vector = -1;
    switch (v->stop) {
    case STOP_HALT_FOREVER: {
        uint32_t lin = v->seg[S_CS].base + v->eip - 1;
        if (lin >= FZ_STUBS && lin < FZ_STUBS + 256 * 8) {
            out->end = FE_EXCEPTION;
            out->vector = (int)((lin - FZ_STUBS) / 8);
        } else if (lin == FZ_CODE + c->code_len - 1) {
            out->end = FE_DONE;
        } else {
            out->end = FE_HALT;
        }
        break;
    }
    case STOP_TRIPLE_FAULT: out->end = FE_TRIPLE; break;
    case STOP_INSN_LIMIT: out->end = FE_LIMIT; break;
    case STOP_FAULT_LOOP: out->end = FE_FAULT_LOOP; break;
    default: out->end = FE_OTHER; break;
    }
}

static bool mode_code32(enum fz_mode m) { return m == FZ_PROT32 || m == FZ_USER32; }

void fuzz_print_case(FILE *f, const struct fuzz_case *c)
{
    static const char *const gpr[8] = { "EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI" };
    fprintf(f, "case seed=%#" PRIx64 " mode=%s paging=%d CR0=%08" PRIx32 " EFLAGS=%08" PRIx32 " FCW=%04x", c->seed,
            fuzz_mode_name(c->mode), c->paging, c->cr0, c->eflags, c->fcw);
    if (c->paging) fprintf(f, " data PTE flags=%x,%x,%x", c->pte_flags[0], c->pte_flags[1], c->pte_flags[2]);
    if (c->global) fprintf(f, " global (CR4.PGE, G in every PTE)");
    fprintf(f, "\n ");
    for (int r = 0; r < 8; r++) fprintf(f, " %s=%08" PRIx32, gpr[r], c->regs[r]);
    fprintf(f, "\n");
    struct decoder *d = decoder_new();
    bool code32 = mode_code32(c->mode);
    uint32_t cs_off = code32 ? FZ_CODE : 0;
    for (uint32_t off = 0; off < c->code_len;) {
        char text[128] = "(no decoder)";
        int n = d ? decode_text(d, c->code + off, c->code_len - off, cs_off + off, code32, text, sizeof(text)) : -1;
        if (n <= 0) n = 1;
        fprintf(f, "  %08" PRIx32 ": ", cs_off + off);
        for (int k = 0; k < 10; k++) {
            if (k < n) fprintf(f, "%02x", c->code[off + (uint32_t)k]);
            else fprintf(f, "  ");
        }
        fprintf(f, " %s\n", text);
        off += (uint32_t)n;
    }
    if (d) decoder_free(d);
}

/* One lockstep run on fresh machines, of at most max_insns instructions.
 * *eip_out / *lin_out (if not NULL) get A's final EIP and its linear address. */
static int run_pair(const struct fuzz_case *c, const struct fuzz_opts *o, uint64_t chunk, uint64_t ram_every,
                    uint64_t max_insns, FILE *log, struct lockstep *ls, struct fuzz_outcome *out, uint32_t *lin_out)
{
    struct machine *ma = fuzz_machine_new(c), *mb = fuzz_machine_new(c);
    if (!ma || !mb) {
        fuzz_machine_free(ma);
        fuzz_machine_free(mb);
        return -1;
    }
    *ls = (struct lockstep){
        .a = ma->cpu[0], .b = mb->cpu[0], .ea = o->ea, .eb = o->eb, .chunk = chunk,
        .eflags_mask = o->eflags_mask, .ram_every = ram_every, .log = log,
    };
    int r = lockstep_run(ls, max_insns);
    if (out) {
        classify(c, ma->cpu[0], out);
        out->insns = ls->insns;
    }
    if (lin_out) *lin_out = ma->cpu[0]->seg[S_CS].base + ma->cpu[0]->eip;
    fuzz_machine_free(ma);
    fuzz_machine_free(mb);
    return r;
}

/* List the instructions of the chunk [from, to) as engine B runs them one at a
 * time (B is the reference side), for divergences that only appear when A
 * runs the whole chunk. */
static void trace_chunk(const struct fuzz_case *c, const struct fuzz_opts *o, uint64_t from, uint64_t to, FILE *f)
{
    struct machine *m = fuzz_machine_new(c);
    struct decoder *d = decoder_new();
    if (m && d) {
        struct vcpu *v = m->cpu[0];
        if (from) o->eb->run(v, from);
        fprintf(f, "  the chunk, as %s runs it:\n", o->eb->name);
        while (v->icount < to && v->stop != STOP_HALT_FOREVER && v->stop != STOP_TRIPLE_FAULT) {
            uint32_t lin = v->seg[S_CS].base + v->eip;
            char text[128] = "?";
            if (lin < FZ_RAM - 16) decode_text(d, m->mem.ram + lin, 15, v->eip, v->code32, text, sizeof(text));
            uint64_t before = v->icount;
            o->eb->run(v, 1);
            fprintf(f, "    %08" PRIx32 ": %-40s EFLAGS=%08" PRIx32 "%s\n", lin, text, v->eflags,
                    v->icount == before ? " (event delivered)" : "");
        }
    }
    if (d) decoder_free(d);
    fuzz_machine_free(m);
}

/* Pin a divergence down to one instruction: rerun with the same chunks, but
 * end the diverging chunk after k = 1, 2, ... instructions; the first k
 * that differs names the instruction (engine A still runs it as part of a
 * block run, so block-level effects are kept as far as possible). */
static void localize(const struct fuzz_case *c, const struct fuzz_opts *o, const struct lockstep *first, FILE *f)
{
    uint64_t from = first->prev_icount, to = first->div_icount;
    uint32_t lin = 0;
    struct lockstep ls;
    for (uint64_t k = 1; k <= to - from + 1; k++) {
        uint32_t before = lin;
        if (run_pair(c, o, o->chunk, 0, from + k, NULL, &ls, NULL, &lin) != 1) continue;
        if (k == 1) run_pair(c, o, o->chunk, 0, from, NULL, &ls, NULL, &before);
        fprintf(f, "first difference after instruction %" PRIu64 " (linear %08" PRIx32 "): ", from + k - 1, before);
        struct machine *m = fuzz_machine_new(c);
        struct decoder *d = decoder_new();
        char text[128] = "?";
        if (m && d && before < FZ_RAM - 16)
            decode_text(d, m->mem.ram + before, 15, before, mode_code32(c->mode), text, sizeof(text));
        fprintf(f, "%s%s\n", text, before >= FZ_CODE && before < FZ_CODE + c->code_len ? "" : " (outside the sequence)");
        if (d) decoder_free(d);
        fuzz_machine_free(m);
        run_pair(c, o, o->chunk, 0, from + k, f, &ls, NULL, NULL);
        return;
    }
    fprintf(f, "  (the divergence does not show with a shortened chunk)\n");
    trace_chunk(c, o, from, to, f);
}

int fuzz_run_case(const struct fuzz_case *c, const struct fuzz_opts *o, struct fuzz_outcome *out)
{
    struct lockstep ls;
    struct fuzz_outcome tmp;
    if (!out) out = &tmp;
    memset(out, 0, sizeof(*out));
    /* The translator's user view at once, not after 2M instructions of an
     * address space (none of these runs that long), unless set already. */
    setenv("BT86_BT_USER_VIEW_AFTER", "0", 0);
    int r = run_pair(c, o, o->chunk, UINT64_MAX, FZ_RUN_LIMIT, NULL, &ls, out, NULL);
    if (r <= 0) return r;
    out->mismatch = true;
    FILE *f = o->log;
    if (!f) return 1;
    fprintf(f, "MISMATCH %s vs %s, case seed %#" PRIx64 " (rerun: build/bt86-fuzz -case %#" PRIx64 " -engines %s,%s)\n",
            o->ea->name, o->eb->name, c->seed, c->seed, o->ea->name, o->eb->name);
    fuzz_print_case(f, c);
    /* The chunk where the states first differ (RAM compared at every chunk), with the diff. */
    struct lockstep first;
    if (run_pair(c, o, o->chunk, 0, FZ_RUN_LIMIT, f, &first, NULL, NULL) == 1) localize(c, o, &first, f);
    return 1;
}
