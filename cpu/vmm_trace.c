/* -trace sensitive: one line per privileged or sensitive instruction, in the
 * form
 *     <linear EIP> cpl<N> <Capstone disassembly>  <what the VMM did>
 * e.g. "c01000f0 cpl0 mov cr3, eax  cr3 0x00000000->0x00101000 (TLB flushed)".
 * The state a line needs from before the handler ran is snapshotted by
 * vmm_trace_before; vmm_trace_after compares it with the state after (or
 * names the exception the handler raised). Reads of guest memory here never
 * fault and never fill the TLB: they use the TLB entry the instruction
 * itself used, else walk the page tables it already walked (so no Accessed
 * bit changes), and read RAM/ROM only. */
#include "cpu/vmm_trace.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/decode.h"
#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "memory/paging.h"
#include "memory/phys.h"
#include "memory/tlb.h"

/* ---------- the option ---------- */

static const struct { const char *name; unsigned bits; } class_names[] = {
    { "io", TRACE_IO }, { "cr", TRACE_CR }, { "int", TRACE_INT }, { "flags", TRACE_FLAGS },
    { "seg", TRACE_SEG }, { "msr", TRACE_MSR }, { "misc", TRACE_MISC }, { "all", TRACE_ALL },
};

static int fail(char *err, size_t errlen, const char *msg, const char *what)
{
    snprintf(err, errlen, "-trace: %s '%s' (expected sensitive[,file:PATH][,class=io|cr|int|flags|seg|msr|misc|all][,count=N])",
             msg, what);
    return -1;
}

static int parse_classes(const char *s, size_t len, unsigned *out, char *err, size_t errlen)
{
    while (len > 0) {
        size_t n = 0;
        while (n < len && s[n] != '|') n++;
        bool found = false;
        for (size_t i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++) {
            if (strlen(class_names[i].name) == n && !strncmp(s, class_names[i].name, n)) {
                *out |= class_names[i].bits;
                found = true;
            }
        }
        if (!found) {
            char what[32];
            snprintf(what, sizeof(what), "%.*s", (int)(n < 31 ? n : 31), s);
            return fail(err, errlen, "unknown class", what);
        }
        s += n;
        len -= n;
        if (len > 0) { s++; len--; if (len == 0) return fail(err, errlen, "empty class", ""); }
    }
    return 0;
}

int vmm_trace_parse(const char *spec, struct vmm_trace_cfg *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    const char *p = spec;
    size_t n = strcspn(p, ",");
    if (n != 9 || strncmp(p, "sensitive", 9)) return fail(err, errlen, "unknown trace kind", spec);
    p += n;
    while (*p == ',') {
        p++;
        if (!strncmp(p, "file:", 5)) {
            /* The path is the rest of the option: it may contain commas. */
            if (!p[5]) return fail(err, errlen, "empty file name in", spec);
            cfg->path = p + 5;
            break;
        }
        n = strcspn(p, ",");
        if (n > 6 && !strncmp(p, "class=", 6)) {
            if (parse_classes(p + 6, n - 6, &cfg->classes, err, errlen)) return -1;
        } else if (n > 6 && !strncmp(p, "count=", 6)) {
            char *end;
            if (p[6] < '0' || p[6] > '9') return fail(err, errlen, "invalid count in", spec);
            unsigned long long c = strtoull(p + 6, &end, 10);
            if (end != p + n || c == 0) return fail(err, errlen, "invalid count in", spec);
            cfg->count = c;
        } else {
            char what[64];
            snprintf(what, sizeof(what), "%.*s", (int)(n < 63 ? n : 63), p);
            return fail(err, errlen, "unknown item", what);
        }
        p += n;
    }
    if (!cfg->classes) cfg->classes = TRACE_ALL;
    cfg->on = true;
    return 0;
}

unsigned vmm_trace_class(enum vmm_callout_id id)
{
    switch (vmm_callouts[id].reason) {
    case EXIT_IO: return TRACE_IO;
    case EXIT_CR_ACCESS: case EXIT_DR_ACCESS: case EXIT_INVLPG: return TRACE_CR;
    case EXIT_BT_INT: case EXIT_BT_SYSCALL: return TRACE_INT;
    case EXIT_BT_FLAGS: return TRACE_FLAGS;
    case EXIT_BT_SEGMENT: case EXIT_BT_DESCRIPTOR: case EXIT_BT_FAR: case EXIT_DTR_ACCESS:
    case EXIT_LDTR_TR_ACCESS: return TRACE_SEG;
    case EXIT_RDMSR: case EXIT_WRMSR: case EXIT_RDTSC: case EXIT_RDPMC: return TRACE_MSR;
    default: return TRACE_MISC;
    }
}

/* ---------- reading guest memory without side effects ---------- */

/* Up to len bytes at linear lin (stopping at the end of its page), through
 * the current page tables; 0 if not mapped or not RAM/ROM. */
static uint32_t peek_page(struct vcpu *v, uint32_t lin, void *dst, uint32_t len, int acc)
{
    uint32_t room = 0x1000u - (lin & 0xfffu);
    if (len > room) len = room;
    /* The TLB first: what it maps is what the instruction used, and a hit
     * walks no page table (no Accessed bit is set again behind the guest). */
    const uint8_t *p = tlb_probe_read(&v->tlb, v->cpl == 3 ? TLB_VIEW_USER : TLB_VIEW_SUP, lin, len);
    if (p) {
        memcpy(dst, p, len);
        return len;
    }
    struct walk_result w;
    if (v->cpl == 3) acc |= ACC_USER;
    if (paging_walk(v, lin, acc, &w) & WALK_FAULT) return 0;
    p = v->m ? phys_readable_ptr(&v->m->mem, w.pa, len) : NULL;
    if (!p) return 0;
    memcpy(dst, p, len);
    return len;
}

static bool peek_u32(struct vcpu *v, uint32_t lin, unsigned size, uint32_t *out)
{
    uint8_t b[4] = { 0 };
    uint32_t got = peek_page(v, lin, b, size, ACC_READ);
    if (got < size && peek_page(v, lin + got, b + got, size - got, ACC_READ) != size - got) return false;
    *out = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return true;
}

/* Capstone's text of the instruction at lin. A second page is only looked
 * at when the instruction really continues there (so already fetched). */
static void disasm(struct vcpu *v, uint32_t lin, char *buf, size_t bufsz)
{
    uint8_t bytes[16];
    snprintf(buf, bufsz, "(unreadable)");
    if (!v->m || !v->m->decoder) return;
    uint32_t n = peek_page(v, lin, bytes, 15, ACC_FETCH);
    if (n == 0) return;
    if (decode_text(v->m->decoder, bytes, n, v->insn_eip, v->code32, buf, bufsz) > 0) return;
    if (n < 15) {
        uint32_t m = peek_page(v, lin + n, bytes + n, 15 - n, ACC_FETCH);
        decode_text(v->m->decoder, bytes, n + m, v->insn_eip, v->code32, buf, bufsz);
    }
}

/* ---------- the line ---------- */

void vmm_trace_before(struct vcpu *v, enum vmm_callout_id id, const uint32_t *args, struct vmm_trace_pre *pre)
{
    pre->id = id;
    int nargs = (int)strlen(vmm_callouts[id].sig) - 3;
    for (int i = 0; i < 4; i++) pre->args[i] = (args && i < nargs) ? args[i] : 0;
    pre->lin = v->seg[S_CS].base + v->insn_eip;
    pre->eflags = v->eflags;
    pre->esp = v->r[R_ESP];
    memcpy(pre->r, v->r, sizeof(pre->r));
    pre->cr[0] = v->cr0;
    pre->cr[1] = 0;
    pre->cr[2] = v->cr2;
    pre->cr[3] = v->cr3;
    pre->cr[4] = v->cr4;
    pre->tlb_flushes = v->tlb.flushes;
    pre->cpl = v->cpl;
    pre->stack32 = v->stack32;
    disasm(v, pre->lin, pre->text, sizeof(pre->text));
}

static const char *const seg_names[S_COUNT] = { "es", "cs", "ss", "ds", "fs", "gs" };

static const char *exc_name(int vec)
{
    static const char *const n[32] = {
        "DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", "15",
        "MF", "AC", "MC", "XM", "VE", "CP", "22", "23", "24", "25", "26", "27", "28", "29", "SX", "31",
    };
    return (unsigned)vec < 32 ? n[vec] : "?";
}

static int ifbit(uint32_t f) { return (f & F_IF) != 0; }

static int hexw(unsigned size) { return size == 1 ? 2 : size == 2 ? 4 : 8; }

/* The transfer's destination, for far transfers, INT and IRET. */
static void dest(char *s, size_t n, const struct vcpu *v)
{
    snprintf(s, n, "-> %04x:%08x cpl%u", v->seg[S_CS].sel, v->next_eip, v->cpl);
}

static void effect(struct vcpu *v, const struct vmm_trace_pre *pre, uint64_t ret, char *s, size_t n)
{
    const uint32_t *a = pre->args;
    uint32_t ecx = v->r[R_ECX];
    s[0] = 0;
    switch (pre->id) {
    case VMM_cli: case VMM_sti:
        snprintf(s, n, "IF %d->%d", ifbit(pre->eflags), ifbit(v->eflags));
        break;
    case VMM_pushf: {
        uint32_t val = a[0] == 4 ? pre->eflags & ~(F_VM | F_RF) : pre->eflags & 0xffff;
        snprintf(s, n, "pushed 0x%0*x (IF %d)", a[0] == 4 ? 8 : 4, val, ifbit(pre->eflags));
        break;
    }
    case VMM_popf: {
        int len = snprintf(s, n, "IF %d->%d, eflags 0x%08x->0x%08x", ifbit(pre->eflags), ifbit(v->eflags),
                           pre->eflags, v->eflags);
        /* The value popped is still on the stack: did the guest ask for an
         * IF change that POPF silently dropped (CPL > IOPL, Popek-Goldberg)? */
        uint32_t ss_lin = v->seg[S_SS].base + (pre->stack32 ? pre->esp : pre->esp & 0xffff), val;
        if (len > 0 && (size_t)len < n && peek_u32(v, ss_lin, a[0] == 4 ? 4 : 2, &val) &&
            ifbit(val) != ifbit(v->eflags))
            snprintf(s + len, n - (size_t)len, " (IF write ignored: CPL %u > IOPL %u)", pre->cpl,
                     (pre->eflags & F_IOPL) >> 12);
        break;
    }
    case VMM_mov_to_cr:
        snprintf(s, n, "cr%u 0x%08x->0x%08x%s", a[0], pre->cr[a[0] <= 4 ? a[0] : 1],
                 a[0] == 0 ? v->cr0 : a[0] == 2 ? v->cr2 : a[0] == 3 ? v->cr3 : v->cr4,
                 v->tlb.flushes != pre->tlb_flushes ? " (TLB flushed)" : "");
        break;
    case VMM_mov_from_cr:
        snprintf(s, n, "cr%u -> 0x%08x", a[0], (uint32_t)ret);
        break;
    case VMM_clts: case VMM_lmsw:
        snprintf(s, n, "cr0 0x%08x->0x%08x", pre->cr[0], v->cr0);
        break;
    case VMM_smsw:
        snprintf(s, n, "cr0 -> 0x%08x", (uint32_t)ret);
        break;
    case VMM_mov_to_dr:
        snprintf(s, n, "dr%u <- 0x%08x", a[0], v->dr[a[0] == 4 || a[0] == 5 ? a[0] + 2 : a[0] & 7]);
        break;
    case VMM_mov_from_dr:
        snprintf(s, n, "dr%u -> 0x%08x", a[0], (uint32_t)ret);
        break;
    case VMM_lgdt: case VMM_sgdt:
        snprintf(s, n, "gdtr base=0x%08x limit=0x%04x%s", v->gdtr.base, v->gdtr.limit,
                 pre->id == VMM_sgdt ? " stored" : "");
        break;
    case VMM_lidt: case VMM_sidt:
        snprintf(s, n, "idtr base=0x%08x limit=0x%04x%s", v->idtr.base, v->idtr.limit,
                 pre->id == VMM_sidt ? " stored" : "");
        break;
    case VMM_lldt:
        snprintf(s, n, "ldtr sel=0x%04x base=0x%08x limit=0x%08x", v->ldtr.sel, v->ldtr.base, v->ldtr.limit);
        break;
    case VMM_ltr:
        snprintf(s, n, "tr sel=0x%04x base=0x%08x limit=0x%08x", v->tr.sel, v->tr.base, v->tr.limit);
        break;
    case VMM_sldt: case VMM_str:
        snprintf(s, n, "-> 0x%04x", (uint32_t)ret & 0xffff);
        break;
    case VMM_lar: case VMM_lsl:
        if (ret >> 32) snprintf(s, n, "sel 0x%04x -> 0x%08x (ZF=1)", a[0] & 0xffff, (uint32_t)ret);
        else snprintf(s, n, "sel 0x%04x not accessible (ZF=0)", a[0] & 0xffff);
        break;
    case VMM_verr: case VMM_verw:
        snprintf(s, n, "sel 0x%04x ZF=%d", a[0] & 0xffff, (v->eflags & F_ZF) != 0);
        break;
    case VMM_load_seg: {
        unsigned sg = a[0] < S_COUNT ? a[0] : S_DS;
        snprintf(s, n, "%s <- 0x%04x base=0x%08x limit=0x%08x", seg_names[sg], v->seg[sg].sel, v->seg[sg].base,
                 v->seg[sg].limit);
        break;
    }
    case VMM_far_jmp: case VMM_far_call: case VMM_far_ret: case VMM_iret: case VMM_sysenter: case VMM_sysexit:
        dest(s, n, v);
        break;
    case VMM_int_sw:
        if (a[1] == INTSW_INTO && !(pre->eflags & F_OF)) {
            snprintf(s, n, "not taken (OF=0)");
        } else {
            unsigned vec = a[1] == INTSW_INT3 ? 3 : a[1] == INTSW_INTO ? 4 : a[1] == INTSW_ICEBP ? 1 : a[0] & 0xff;
            int len = snprintf(s, n, "vector 0x%02x ", vec);
            if (len > 0 && (size_t)len < n) dest(s + len, n - (size_t)len, v);
        }
        break;
    case VMM_in:
        snprintf(s, n, "port 0x%x -> 0x%0*x", a[0], hexw(a[1]), (uint32_t)ret & (a[1] == 4 ? ~0u : (1u << (8 * a[1])) - 1));
        break;
    case VMM_out:
        snprintf(s, n, "port 0x%x <- 0x%0*x", a[0], hexw(a[1]), a[2]);
        break;
    case VMM_ins: case VMM_outs: {
        uint32_t mask = a[1] == 4 ? ~0u : 0xffffu;
        uint32_t count = a[2] ? ((pre->r[R_ECX] - ecx) & mask) : 1;
        snprintf(s, n, "port 0x%x, %u x %u bytes", pre->r[R_EDX] & 0xffff, count, a[0]);
        break;
    }
    case VMM_hlt:
        snprintf(s, n, "halted (IF %d)", ifbit(v->eflags));
        break;
    case VMM_invlpg:
        snprintf(s, n, "page 0x%08x flushed", a[0] & ~0xfffu);
        break;
    case VMM_cpuid:
        snprintf(s, n, "leaf 0x%x -> eax=%08x ebx=%08x ecx=%08x edx=%08x", pre->r[R_EAX], v->r[R_EAX],
                 v->r[R_EBX], v->r[R_ECX], v->r[R_EDX]);
        break;
    case VMM_rdmsr:
        snprintf(s, n, "ecx=0x%x -> 0x%" PRIx64, pre->r[R_ECX],
                 ((uint64_t)v->r[R_EDX] << 32) | v->r[R_EAX]);
        break;
    case VMM_wrmsr:
        snprintf(s, n, "ecx=0x%x <- 0x%" PRIx64, pre->r[R_ECX],
                 ((uint64_t)pre->r[R_EDX] << 32) | pre->r[R_EAX]);
        break;
    case VMM_rdtsc: case VMM_rdpmc:
        snprintf(s, n, "-> 0x%" PRIx64, ((uint64_t)v->r[R_EDX] << 32) | v->r[R_EAX]);
        break;
    case VMM_invd: case VMM_wbinvd:
        snprintf(s, n, "no caches modelled");
        break;
    case VMM_vmcall: {
        uint32_t nr = pre->r[R_EAX];
        snprintf(s, n, nr < 1000 ? "hypercall %u (%s) -> %d%s" : "hypercall 0x%x (%s) -> %d%s", nr,
                 vmm_hypercall_name(nr), (int32_t)v->r[R_EAX], pre->cpl ? " (CPL > 0: -KVM_EPERM)" : "");
        break;
    }
    default:
        break;
    }
}

/* For a handler that faulted: the operand it refused, before the exception. */
static int fault_context(const struct vmm_trace_pre *pre, char *s, size_t n)
{
    const uint32_t *a = pre->args;
    switch (pre->id) {
    case VMM_rdmsr: case VMM_wrmsr: return snprintf(s, n, "ecx=0x%x ", pre->r[R_ECX]);
    case VMM_mov_to_cr: return snprintf(s, n, "cr%u <- 0x%08x ", a[0], a[1]);
    case VMM_in: case VMM_out: return snprintf(s, n, "port 0x%x ", a[0]);
    case VMM_load_seg: return snprintf(s, n, "%s <- 0x%04x ", seg_names[a[0] < S_COUNT ? a[0] : S_DS], a[1] & 0xffff);
    case VMM_far_jmp: case VMM_far_call: return snprintf(s, n, "to %04x:%08x ", a[0] & 0xffff, a[1]);
    case VMM_int_sw: return a[1] == INTSW_INTN ? snprintf(s, n, "vector 0x%02x ", a[0] & 0xff) : 0;
    default: return 0;
    }
}

void vmm_trace_after(struct vcpu *v, const struct vmm_trace_pre *pre, uint64_t ret, bool faulted)
{
    struct vmm_obs *o = v->obs;
    char what[160];
    if (faulted) {
        int k = fault_context(pre, what, sizeof(what));
        if (k < 0 || (size_t)k >= sizeof(what)) k = 0;
        char *w = what + k;
        size_t wn = sizeof(what) - (size_t)k;
        if (v->fault_has_err && v->fault_err == 0) snprintf(w, wn, "-> #%s(0)", exc_name(v->fault_vec));
        else if (v->fault_has_err) snprintf(w, wn, "-> #%s(0x%x)", exc_name(v->fault_vec), v->fault_err);
        else snprintf(w, wn, "-> #%s", exc_name(v->fault_vec));
    } else {
        effect(v, pre, ret, what, sizeof(what));
    }
    fprintf(o->out, "%08x cpl%u %s  %s\n", pre->lin, pre->cpl, pre->text, what);
    o->lines++;
}
