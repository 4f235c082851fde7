/* -trace sensitive (cpu/vmm_trace.c): the option's syntax, and the exact
 * line each kind of privileged or sensitive instruction produces — linear
 * address, CPL, Capstone's disassembly, what the VMM did, or the exception
 * it raised — with the class filter and the count limit. Also that tracing
 * changes nothing the guest can see. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/vmm_trace.h"
#include "sys_test_util.h"
#include "translator/bt.h"

/* ---- the option ---- */

static int parse(const char *s, struct vmm_trace_cfg *c, char *err)
{
    return vmm_trace_parse(s, c, err, 256);
}

Test(trace, parse_defaults)
{
    struct vmm_trace_cfg c;
    char err[256];
    cr_assert_eq(parse("sensitive", &c, err), 0);
    cr_assert(c.on);
    cr_assert_eq(c.classes, TRACE_ALL);
    cr_assert_eq(c.count, 0);
    cr_assert_null(c.path);
}

Test(trace, parse_items)
{
    struct vmm_trace_cfg c;
    char err[256];
    cr_assert_eq(parse("sensitive,class=io|cr,count=25,class=msr,file:/tmp/a,b.txt", &c, err), 0, "%s", err);
    cr_assert_eq(c.classes, TRACE_IO | TRACE_CR | TRACE_MSR);
    cr_assert_eq(c.count, 25);
    cr_assert_str_eq(c.path, "/tmp/a,b.txt", "the path is the rest of the option");
    cr_assert_eq(parse("sensitive,class=all", &c, err), 0);
    cr_assert_eq(c.classes, TRACE_ALL);
    cr_assert_eq(parse("sensitive,class=flags|seg|int|misc", &c, err), 0);
    cr_assert_eq(c.classes, TRACE_FLAGS | TRACE_SEG | TRACE_INT | TRACE_MISC);
}

Test(trace, parse_errors)
{
    struct vmm_trace_cfg c;
    char err[256];
    cr_assert_eq(parse("insns", &c, err), -1);
    cr_assert(strstr(err, "unknown trace kind 'insns'"), "%s", err);
    cr_assert_eq(parse("sensitivex", &c, err), -1);
    cr_assert_eq(parse("sensitive,class=bogus", &c, err), -1);
    cr_assert(strstr(err, "unknown class 'bogus'"), "%s", err);
    cr_assert_eq(parse("sensitive,class=io|", &c, err), -1);
    cr_assert_eq(parse("sensitive,count=0", &c, err), -1);
    cr_assert_eq(parse("sensitive,count=12x", &c, err), -1);
    cr_assert_eq(parse("sensitive,count=-1", &c, err), -1);
    cr_assert_eq(parse("sensitive,file:", &c, err), -1);
    cr_assert_eq(parse("sensitive,what", &c, err), -1);
    cr_assert(strstr(err, "unknown item 'what'"), "%s", err);
    cr_assert(!c.on);
}

/* ---- the lines ---- */

struct traced {
    struct harness *h;
    char *buf;
    size_t len;
    FILE *f;
};

static void traced_new(struct traced *t, enum harness_mode mode, const char *spec)
{
    struct vmm_trace_cfg cfg;
    char err[256];
    cr_assert_eq(vmm_trace_parse(spec, &cfg, err, sizeof(err)), 0, "%s", err);
    t->h = sys_new(mode);
    t->f = open_memstream(&t->buf, &t->len);
    cr_assert_not_null(t->f);
    t->h->v->obs = vmm_obs_new(false, &cfg, t->f);
    cr_assert_not_null(t->h->v->obs);
}

/* The trace so far, as one string. */
static const char *traced_text(struct traced *t)
{
    fflush(t->f);
    return t->buf;
}

static void traced_free(struct traced *t)
{
    vmm_obs_free(t->h->v->obs);
    t->h->v->obs = NULL;
    fclose(t->f);
    free(t->buf);
    harness_free(t->h);
}

/* push 2; popf; cli; mov al,0x41; mov dx,0x3f8; out dx,al; mov ecx,0x1b; rdmsr;
 * mov eax,0x101000; mov cr3,eax; cpuid (eax 0); mov eax,1; vmcall;
 * mov ecx,0x12345678; rdmsr */
static const uint8_t kernel_code[] = {
    0x6a, 0x02,                               /* 10000 push 2 */
    0x9d,                                     /* 10002 popf */
    0xfa,                                     /* 10003 cli */
    0xb0, 0x41,                               /* 10004 mov al, 0x41 */
    0x66, 0xba, 0xf8, 0x03,                   /* 10006 mov dx, 0x3f8 */
    0xee,                                     /* 1000a out dx, al */
    0xb9, 0x1b, 0x00, 0x00, 0x00,             /* 1000b mov ecx, 0x1b */
    0x0f, 0x32,                               /* 10010 rdmsr */
    0xb8, 0x00, 0x10, 0x10, 0x00,             /* 10012 mov eax, 0x101000 */
    0x0f, 0x22, 0xd8,                         /* 10017 mov cr3, eax */
    0xb8, 0x01, 0x00, 0x00, 0x00,             /* 1001a mov eax, 1 */
    0x0f, 0x01, 0xc1,                         /* 1001f vmcall */
    0xb9, 0x78, 0x56, 0x34, 0x12,             /* 10022 mov ecx, 0x12345678 */
    0x0f, 0x32,                               /* 10027 rdmsr */
};

static const char kernel_trace[] =
    "00010002 cpl0 popfd  IF 1->0, eflags 0x00000202->0x00000002\n"
    "00010003 cpl0 cli  IF 0->0\n"
    "0001000a cpl0 out dx, al  port 0x3f8 <- 0x41\n"
    "00010010 cpl0 rdmsr  ecx=0x1b -> 0xfee00900\n"
    "00010017 cpl0 mov cr3, eax  cr3 0x00000000->0x00101000 (TLB flushed)\n"
    "0001001f cpl0 vmcall  hypercall 1 (VAPIC_POLL_IRQ) -> 0\n"
    "00010027 cpl0 rdmsr  ecx=0x12345678 -> #GP(0)\n";

Test(trace, kernel_lines)
{
    struct traced t;
    traced_new(&t, H_PROT32, "sensitive");
    t.h->v->eflags |= F_IF;
    EXPECT_EXC(t.h, RUN(t.h, kernel_code), EXC_GP);
    cr_assert_str_eq(traced_text(&t), kernel_trace);
    cr_assert_eq(t.h->v->obs->lines, 7);
    traced_free(&t);
}

Test(trace, class_filter_and_count)
{
    struct traced t;
    traced_new(&t, H_PROT32, "sensitive,class=msr|cr");
    t.h->v->eflags |= F_IF;
    EXPECT_EXC(t.h, RUN(t.h, kernel_code), EXC_GP);
    cr_assert_str_eq(traced_text(&t),
                     "00010010 cpl0 rdmsr  ecx=0x1b -> 0xfee00900\n"
                     "00010017 cpl0 mov cr3, eax  cr3 0x00000000->0x00101000 (TLB flushed)\n"
                     "00010027 cpl0 rdmsr  ecx=0x12345678 -> #GP(0)\n");
    traced_free(&t);

    traced_new(&t, H_PROT32, "sensitive,count=2");
    t.h->v->eflags |= F_IF;
    EXPECT_EXC(t.h, RUN(t.h, kernel_code), EXC_GP);
    cr_assert_str_eq(traced_text(&t), "00010002 cpl0 popfd  IF 1->0, eflags 0x00000202->0x00000002\n"
                                      "00010003 cpl0 cli  IF 0->0\n");
    cr_assert_eq(t.h->v->exits[EXIT_RDMSR], 2, "entries are still counted past the limit");
    traced_free(&t);
}

/* The same code without an observer ends in the same state. */
Test(trace, tracing_changes_nothing)
{
    struct traced t;
    traced_new(&t, H_PROT32, "sensitive");
    struct harness *plain = sys_new(H_PROT32);
    t.h->v->eflags |= F_IF;
    plain->v->eflags |= F_IF;
    EXPECT_EXC(t.h, RUN(t.h, kernel_code), EXC_GP);
    EXPECT_EXC(plain, RUN(plain, kernel_code), EXC_GP);
    struct vcpu *a = t.h->v, *b = plain->v;
    cr_assert_eq(memcmp(a->r, b->r, sizeof(a->r)), 0);
    cr_assert_eq(a->eip, b->eip);
    cr_assert_eq(a->eflags, b->eflags);
    cr_assert_eq(a->cr3, b->cr3);
    cr_assert_eq(a->icount, b->icount);
    cr_assert_eq(memcmp(a->exits, b->exits, sizeof(a->exits)), 0);
    cr_assert_eq(memcmp(a->exceptions, b->exceptions, sizeof(a->exceptions)), 0);
    cr_assert_eq(harness_stack(t.h, 1), harness_stack(plain, 1));
    harness_free(plain);
    traced_free(&t);
}

/* POPF at CPL 3 with IOPL 0: the IF change is dropped without a fault (the
 * Popek-Goldberg case); the trace says so. */
Test(trace, popf_at_cpl3_ignores_if)
{
    struct traced t;
    traced_new(&t, H_USER32, "sensitive,class=flags");
    t.h->v->eflags |= F_IF;
    static const uint8_t code[] = { 0x6a, 0x02, 0x9d }; /* push 2; popf */
    cr_assert_eq(RUN(t.h, code), HR_DONE);
    cr_assert_eq(t.h->v->eflags & F_IF, F_IF);
    cr_assert_str_eq(traced_text(&t), "00010002 cpl3 popfd  IF 1->1, eflags 0x00000202->0x00000202"
                                      " (IF write ignored: CPL 3 > IOPL 0)\n");
    traced_free(&t);
}

Test(trace, cpl3_faults_and_hypercall)
{
    struct traced t;
    traced_new(&t, H_USER32, "sensitive");
    /* mov eax,11; vmmcall; cli */
    static const uint8_t code[] = { 0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xd9, 0xfa };
    EXPECT_EXC(t.h, RUN(t.h, code), EXC_GP);
    cr_assert_str_eq(traced_text(&t), "00010005 cpl3 vmmcall  hypercall 11 (SCHED_YIELD) -> -1 (CPL > 0: -KVM_EPERM)\n"
                                      "00010008 cpl3 cli  -> #GP(0)\n");
    traced_free(&t);
}

Test(trace, segments_io_and_interrupts)
{
    struct traced t;
    traced_new(&t, H_PROT32, "sensitive,class=seg|io|int|cr");
    /* mov eax,0x10; mov ds,eax; in al,0x71; int 0x30 */
    static const uint8_t code[] = { 0xb8, 0x10, 0x00, 0x00, 0x00, 0x8e, 0xd8, 0xe4, 0x71, 0xcd, 0x30 };
    EXPECT_EXC(t.h, RUN(t.h, code), 0x30);
    cr_assert_str_eq(traced_text(&t), "00010005 cpl0 mov ds, eax  ds <- 0x0010 base=0x00000000 limit=0xffffffff\n"
                                      "00010007 cpl0 in al, 0x71  port 0x71 -> 0xff\n"
                                      "00010009 cpl0 int 0x30  vector 0x30 -> 0008:00007180 cpl0\n");
    traced_free(&t);
}

/* Under the translator the privileged instructions reach the same VMM door:
 * the same lines, in the same order. */
Test(trace, translator_gives_the_same_lines)
{
    struct traced t;
    traced_new(&t, H_PROT32, "sensitive");
    struct vcpu *v = t.h->v;
    v->eflags |= F_IF;
    harness_poke(t.h, HARNESS_CODE, kernel_code, sizeof(kernel_code));
    v->eip = HARNESS_CODE;
    /* Runs into the #GP handler's stub: its HLT with IF=0 (an interrupt
     * gate) ends the run, and is traced too. */
    bt_run(v, 100);
    cr_assert_eq(v->exceptions[EXC_GP], 1);
    char want[1024];
    snprintf(want, sizeof(want), "%s00007068 cpl0 hlt  halted (IF 0)\n", kernel_trace);
    cr_assert_str_eq(traced_text(&t), want);
    bt_vcpu_free(v);
    traced_free(&t);
}

/* Real mode: the linear address is CS.base + IP, the text 16-bit code. */
Test(trace, real_mode_line)
{
    struct traced t;
    traced_new(&t, H_REAL16, "sensitive");
    /* mov ax,0x1234; out 0x80,ax; cli */
    static const uint8_t code[] = { 0xb8, 0x34, 0x12, 0xe7, 0x80, 0xfa };
    cr_assert_eq(RUN(t.h, code), HR_DONE);
    cr_assert_str_eq(traced_text(&t), "00010003 cpl0 out 0x80, ax  port 0x80 <- 0x1234\n"
                                      "00010005 cpl0 cli  IF 0->0\n");
    traced_free(&t);
}
