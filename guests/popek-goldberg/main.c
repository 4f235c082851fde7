/* popek-goldberg guest: runs each of the sensitive but unprivileged
 * instructions Robin & Irvine list for the Pentium ("Analysis of the Intel
 * Pentium's Ability to Support a Secure Virtual Machine Monitor", USENIX
 * Security 2000) - SGDT SIDT SLDT STR SMSW, PUSHF POPF, LAR LSL VERR VERW,
 * PUSH/POP/MOV of segment registers, CALL/JMP/RET far, INT n - and checks
 * each result against the architected one: the values this kernel loaded
 * into GDTR/IDTR/LDTR/TR/CR0, IF and IOPL really changing under POPF at
 * CPL 0, RPL 0 in CS and SS at CPL 0, descriptor probes with the DPLs this
 * kernel wrote, far transfers landing at CPL 0. A few checks run at CPL 3,
 * and a few privileged instructions (which trap on any x86) are checked too.
 *
 * On real hardware, QEMU, and bt86's interpreter and translator every check
 * passes. Under bt86 -engine trap (classic trap-and-emulate: this kernel
 * deprivileged to CPL 3) the sensitive ones fail: docs/POPEK-GOLDBERG.md.
 *
 * The virtual IF/IOPL is read through an INT frame (vector 0x81): PUSHF is
 * one of the instructions under test, while INT n is delivered by the VMM
 * with the virtual flags. Output: "ok  ..." or "FAIL ..." per check, then a
 * summary; exit code 0 when all pass, else 1. */
#include "../lib/sys/sys.h"

#define SEL_CODE0   0x40        /* DPL-0 code, accessed: LAR target */
#define SEL_LDT     0x48        /* the LDT */
#define SEL_DATA0   0x50        /* DPL-0 data, byte-granular limit LIMIT0 */
#define LIMIT0      0x12345u
#define PROBE_VEC   0x81

static unsigned n_checks, n_failed;

static void report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int ok, const char *fmt, ...)
{
    va_list ap;
    n_checks++;
    if (!ok) n_failed++;
    printf(ok ? "ok   " : "FAIL ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static uint64_t ldt[2] __attribute__((aligned(8)));
static uint8_t ustack[4096] __attribute__((aligned(16)));

/* ---- the INT probe: the flags and CS an interrupt delivery sees ---- */
static volatile uint32_t probe_eflags, probe_frame_cs, probe_own_cs;

static void probe_handler(struct trap_frame *f)
{
    uint16_t cs;
    __asm__ volatile("movw %%cs, %0" : "=r"(cs));
    probe_eflags = f->eflags;
    probe_frame_cs = f->cs & 0xffff;
    probe_own_cs = cs;
}

static uint32_t probe(void)
{
    __asm__ volatile("int $0x81" ::: "memory");
    return probe_eflags;
}

static inline void popf_value(uint32_t f)
{
    __asm__ volatile("pushl %0; popfl" : : "r"(f) : "memory", "cc");
}

static inline uint16_t read_cs(void) { uint16_t s; __asm__ volatile("movw %%cs, %0" : "=r"(s)); return s; }
static inline uint16_t read_ss(void) { uint16_t s; __asm__ volatile("movw %%ss, %0" : "=r"(s)); return s; }
static inline uint16_t read_ds(void) { uint16_t s; __asm__ volatile("movw %%ds, %0" : "=r"(s)); return s; }

/* ---- descriptor-table registers, SMSW ---- */
struct __attribute__((packed)) dtr { uint16_t limit; uint32_t base; };

static void check_tables(void)
{
    struct dtr g = { 0, 0 }, i = { 0, 0 };
    __asm__ volatile("sgdt %0" : "=m"(g));
    __asm__ volatile("sidt %0" : "=m"(i));
    uint32_t gb = (uint32_t)gdt, gl = sizeof(gdt) - 1, ib = (uint32_t)idt, il = sizeof(idt) - 1;
    if (g.base == gb && g.limit == gl)
        report(1, "SGDT returns the guest's GDTR (base 0x%08x, limit 0x%04x)", gb, gl);
    else
        report(0, "SGDT returned base 0x%08x, limit 0x%04x, not the guest's GDTR (base 0x%08x, limit 0x%04x)",
               g.base, g.limit, gb, gl);
    if (i.base == ib && i.limit == il)
        report(1, "SIDT returns the guest's IDTR (base 0x%08x, limit 0x%04x)", ib, il);
    else
        report(0, "SIDT returned base 0x%08x, limit 0x%04x, not the guest's IDTR (base 0x%08x, limit 0x%04x)",
               i.base, i.limit, ib, il);

    uint16_t ldtr = 0xffff, tr = 0xffff;
    __asm__ volatile("sldt %0" : "=r"(ldtr));
    __asm__ volatile("str %0" : "=r"(tr));
    if (ldtr == SEL_LDT) report(1, "SLDT returns the guest's LDT selector 0x%04x", SEL_LDT);
    else report(0, "SLDT returned 0x%04x, not the guest's LDT selector 0x%04x", ldtr, SEL_LDT);
    if (tr == SEL_TSS) report(1, "STR returns the guest's task register 0x%04x", SEL_TSS);
    else report(0, "STR returned 0x%04x, not the guest's task register 0x%04x", tr, SEL_TSS);

    uint16_t msw = 0;
    uint32_t cr0 = read_cr0();
    __asm__ volatile("smsw %0" : "=r"(msw));
    if (msw == (cr0 & 0xffff))
        report(1, "SMSW returns the low word of the guest's CR0 (0x%04x)", cr0 & 0xffff);
    else
        report(0, "SMSW returned 0x%04x, but the guest's CR0 (MOV from CR0) is 0x%08x", msw, cr0);
}

/* ---- PUSHF / POPF ---- */
static void check_flags(void)
{
    uint32_t f;
    __asm__ volatile("cli");
    f = probe();
    report(!(f & EF_IF), "CLI at CPL 0 clears IF (INT frame EFLAGS 0x%08x)", f);
    __asm__ volatile("sti");
    f = probe();
    report((f & EF_IF) != 0, "STI at CPL 0 sets IF (INT frame EFLAGS 0x%08x)", f);

    __asm__ volatile("cli");
    f = read_eflags();
    if (!(f & EF_IF)) report(1, "PUSHF after CLI shows IF=0");
    else report(0, "PUSHF after CLI shows IF=1 (EFLAGS 0x%08x), not the guest's IF=0", f);

    /* POPF clearing IF */
    __asm__ volatile("sti");
    popf_value(read_eflags() & ~EF_IF);
    f = probe();
    if (!(f & EF_IF)) report(1, "POPF at CPL 0 clears IF");
    else report(0, "POPF at CPL 0 did not change IF (virtual IF stayed 1)");
    /* POPF setting IF */
    __asm__ volatile("cli");
    popf_value(read_eflags() | EF_IF);
    f = probe();
    if (f & EF_IF) report(1, "POPF at CPL 0 sets IF");
    else report(0, "POPF at CPL 0 did not change IF (virtual IF stayed 0)");
    __asm__ volatile("cli");
    /* POPF setting IOPL */
    popf_value(read_eflags() | EF_IOPL3);
    f = probe();
    if ((f & EF_IOPL3) == EF_IOPL3) report(1, "POPF at CPL 0 sets IOPL to 3");
    else report(0, "POPF at CPL 0 did not change IOPL (virtual IOPL stayed %u)", (f >> 12) & 3);
    popf_value(read_eflags() & ~EF_IOPL3);
    __asm__ volatile("cli");
}

/* ---- segment registers ---- */
static void check_segments(void)
{
    uint32_t pushed;
    __asm__ volatile("pushl %%cs; popl %0" : "=r"(pushed));
    pushed &= 0xffff;
    if (pushed == SEL_KCODE) report(1, "PUSH CS at CPL 0 pushes 0x%04x (RPL 0)", SEL_KCODE);
    else report(0, "PUSH CS at CPL 0 pushed 0x%04x (RPL %u), not 0x%04x", pushed, pushed & 3, SEL_KCODE);
    __asm__ volatile("pushl %%ss; popl %0" : "=r"(pushed));
    pushed &= 0xffff;
    if (pushed == SEL_KDATA) report(1, "PUSH SS at CPL 0 pushes 0x%04x (RPL 0)", SEL_KDATA);
    else report(0, "PUSH SS at CPL 0 pushed 0x%04x (RPL %u), not 0x%04x", pushed, pushed & 3, SEL_KDATA);
    uint16_t s = read_ss();
    if (s == SEL_KDATA) report(1, "MOV from SS at CPL 0 reads 0x%04x", SEL_KDATA);
    else report(0, "MOV from SS at CPL 0 read 0x%04x (RPL %u), not 0x%04x", s, s & 3, SEL_KDATA);
    s = read_ds();
    if (s == SEL_KDATA) report(1, "MOV from DS reads 0x%04x as loaded", SEL_KDATA);
    else report(0, "MOV from DS read 0x%04x, not 0x%04x as loaded", s, SEL_KDATA);

    /* POP DS / MOV SS with the kernel selectors work at CPL 0 */
    trap_clear();
    __asm__ volatile("pushl %0; popl %%ds\n\t"
                     "movw %w0, %%ss" : : "r"((uint32_t)SEL_KDATA) : "memory");
    if (last_trap.count == 0) report(1, "POP DS and MOV SS with 0x%04x at CPL 0 load without a fault", SEL_KDATA);
    else report(0, "POP DS / MOV SS with 0x%04x at CPL 0 raised vector %u", SEL_KDATA, last_trap.vector);
    trap_clear();

    /* MOV SS with an RPL-3 selector at CPL 0: #GP (RPL != CPL) */
    __asm__ volatile("movl $1f, trap_resume\n\t"
                     "movw %w0, %%ss\n"
                     "1:\n\t"
                     "movw %w1, %%ss" : : "r"((uint32_t)(SEL_KDATA | 3)), "r"((uint32_t)SEL_KDATA) : "memory");
    if (last_trap.count == 1 && last_trap.vector == 13 && last_trap.err == SEL_KDATA)
        report(1, "MOV SS with 0x%04x (RPL 3) at CPL 0 raises #GP(0x%04x)", SEL_KDATA | 3, SEL_KDATA);
    else
        report(0, "MOV SS with 0x%04x (RPL 3) at CPL 0 did not raise #GP(0x%04x) (%u exceptions)",
               SEL_KDATA | 3, SEL_KDATA, last_trap.count);
    trap_clear();

    /* MOV DS with an RPL-3 selector for a DPL-0 segment: #GP (DPL < RPL) */
    __asm__ volatile("movl $1f, trap_resume\n\t"
                     "movw %w0, %%ds\n"
                     "1:\n\t"
                     "movw %w1, %%ds" : : "r"((uint32_t)(SEL_DATA0 | 3)), "r"((uint32_t)SEL_KDATA) : "memory");
    if (last_trap.count == 1 && last_trap.vector == 13 && last_trap.err == SEL_DATA0)
        report(1, "MOV DS with 0x%04x (DPL-0 segment, RPL 3) raises #GP(0x%04x)", SEL_DATA0 | 3, SEL_DATA0);
    else
        report(0, "MOV DS with 0x%04x (DPL-0 segment, RPL 3) did not raise #GP(0x%04x) (%u exceptions)",
               SEL_DATA0 | 3, SEL_DATA0, last_trap.count);
    trap_clear();
}

/* ---- descriptor probes ---- */
static uint32_t lar(uint32_t sel, int *zf)
{
    uint32_t r = 0;
    uint8_t z;
    __asm__ volatile("lar %w2, %0; setz %1" : "+r"(r), "=q"(z) : "r"(sel) : "cc");
    *zf = z;
    return r;
}

static uint32_t lsl(uint32_t sel, int *zf)
{
    uint32_t r = 0;
    uint8_t z;
    __asm__ volatile("lsl %w2, %0; setz %1" : "+r"(r), "=q"(z) : "r"(sel) : "cc");
    *zf = z;
    return r;
}

static int verr(uint32_t sel)
{
    uint8_t z;
    __asm__ volatile("verr %w1; setz %0" : "=q"(z) : "r"(sel) : "cc");
    return z;
}

static int verw(uint32_t sel)
{
    uint8_t z;
    __asm__ volatile("verw %w1; setz %0" : "=q"(z) : "r"(sel) : "cc");
    return z;
}

static void check_probes(void)
{
    int zf;
    uint32_t r = lar(SEL_CODE0, &zf);
    if (zf && r == 0x00c09b00u)
        report(1, "LAR of a DPL-0 code descriptor at CPL 0: ZF=1, access rights 0x00c09b00 (DPL 0)");
    else
        report(0, "LAR of a DPL-0 code descriptor at CPL 0: ZF=%d, access rights 0x%08x (DPL %u), not 0x00c09b00",
               zf, r, (r >> 13) & 3);
    r = lar(SEL_TSS, &zf);
    if (zf && r == 0x00008b00u)
        report(1, "LAR of the (DPL-0) TSS descriptor at CPL 0: ZF=1, access rights 0x00008b00");
    else
        report(0, "LAR of the (DPL-0) TSS descriptor at CPL 0: ZF=%d, result 0x%08x, not ZF=1 and 0x00008b00", zf, r);
    r = lsl(SEL_DATA0, &zf);
    if (zf && r == LIMIT0)
        report(1, "LSL of a DPL-0 data descriptor at CPL 0: ZF=1, limit 0x%05x", LIMIT0);
    else
        report(0, "LSL of a DPL-0 data descriptor at CPL 0: ZF=%d, limit 0x%08x, not 0x%05x", zf, r, LIMIT0);
    r = lsl(SEL_TSS, &zf);
    if (zf && r == sizeof(tss) - 1)
        report(1, "LSL of the (DPL-0) TSS descriptor at CPL 0: ZF=1, limit 0x%04x", (unsigned)sizeof(tss) - 1);
    else
        report(0, "LSL of the (DPL-0) TSS descriptor at CPL 0: ZF=%d, limit 0x%08x, not ZF=1 and 0x%04x", zf, r,
               (unsigned)sizeof(tss) - 1);
    zf = verr(SEL_DATA0);
    report(zf == 1, "VERR of the DPL-0 data segment 0x%04x at CPL 0: ZF=%d (readable)", SEL_DATA0, zf);
    zf = verw(SEL_DATA0);
    report(zf == 1, "VERW of the DPL-0 data segment 0x%04x at CPL 0: ZF=%d (writable)", SEL_DATA0, zf);
    zf = verr(SEL_DATA0 | 3);
    if (!zf) report(1, "VERR through the RPL-3 selector 0x%04x (DPL 0 < RPL 3): ZF=0", SEL_DATA0 | 3);
    else report(0, "VERR through the RPL-3 selector 0x%04x accepted a DPL-0 segment: ZF=1", SEL_DATA0 | 3);
    zf = verw(SEL_DATA0 | 3);
    if (!zf) report(1, "VERW through the RPL-3 selector 0x%04x (DPL 0 < RPL 3): ZF=0", SEL_DATA0 | 3);
    else report(0, "VERW through the RPL-3 selector 0x%04x accepted a DPL-0 segment: ZF=1", SEL_DATA0 | 3);
}

/* ---- far transfers, INT n ---- */
/* far_callee: EAX = the CS the far CALL pushed, ECX = its own CS. */
extern char far_callee[];
__asm__(".text\n"
        "far_callee:\n\t"
        "movl 4(%esp), %eax\n\t"
        "xorl %ecx, %ecx\n\t"
        "movw %cs, %cx\n\t"
        "lret\n");

static void check_far(void)
{
    uint32_t cs = 0, pushed = 0;
    __asm__ volatile("ljmp $0x08, $1f\n"
                     "1:\n\t"
                     "movw %%cs, %w0" : "=r"(cs) : "0"(0) : "memory");
    if (cs == SEL_KCODE) report(1, "JMP far to 0x0008 lands with CS 0x0008 (CPL 0)");
    else report(0, "JMP far to 0x0008 landed with CS 0x%04x (CPL %u)", cs, cs & 3);

    __asm__ volatile("lcall $0x08, $far_callee" : "=a"(pushed), "=c"(cs) : : "memory");
    pushed &= 0xffff;
    if (pushed == SEL_KCODE && cs == SEL_KCODE)
        report(1, "CALL far to 0x0008 pushes CS 0x0008 and lands with CS 0x0008");
    else
        report(0, "CALL far to 0x0008 pushed CS 0x%04x and landed with CS 0x%04x (CPL %u)", pushed, cs, cs & 3);

    cs = 0;
    __asm__ volatile("pushl $0x08\n\t"
                     "pushl $1f\n\t"
                     "lret\n"
                     "1:\n\t"
                     "movw %%cs, %w0" : "=r"(cs) : "0"(0) : "memory");
    if (cs == SEL_KCODE) report(1, "RET far to 0x0008 lands with CS 0x0008 (CPL 0)");
    else report(0, "RET far to 0x0008 landed with CS 0x%04x (CPL %u)", cs, cs & 3);

    probe_own_cs = probe_frame_cs = 0;
    probe();
    if (probe_own_cs == SEL_KCODE && probe_frame_cs == SEL_KCODE)
        report(1, "INT n at CPL 0: the frame holds CS 0x0008 and the handler runs with CS 0x0008");
    else
        report(0, "INT n at CPL 0: the frame held CS 0x%04x and the handler ran with CS 0x%04x (CPL %u)",
               probe_frame_cs, probe_own_cs, probe_own_cs & 3);
}

/* ---- privileged instructions: trap on every x86, so a VMM can emulate them ---- */
static void check_privileged(void)
{
    uint32_t cr0 = read_cr0();
    write_cr0(cr0 | CR0_TS);
    uint32_t with_ts = read_cr0();
    write_cr0(cr0);
    uint32_t back = read_cr0();
    if (with_ts == (cr0 | CR0_TS) && back == cr0)
        report(1, "MOV to/from CR0 (privileged) round-trips CR0.TS");
    else
        report(0, "MOV to/from CR0 read 0x%08x and 0x%08x, not 0x%08x and 0x%08x", with_ts, back, cr0 | CR0_TS, cr0);
    uint64_t old = rdmsr(0x174);
    wrmsr(0x174, 0x1234);
    uint64_t now = rdmsr(0x174);
    wrmsr(0x174, old);
    if (now == 0x1234) report(1, "WRMSR/RDMSR (privileged) round-trip SYSENTER_CS");
    else report(0, "RDMSR read 0x%08x after WRMSR of 0x1234 to SYSENTER_CS", (uint32_t)now);
}

/* ---- CPL 3 ---- */
static volatile uint32_t gp_from_user;
static void gp_user(struct trap_frame *f)
{
    if ((f->cs & 3) == 0) {
        printf("FAIL unexpected #GP(0x%x) at CPL 0, EIP 0x%08x\n", f->err, f->eip);
        guest_exit(1);
    }
    gp_from_user = f->eip;
    user_return(0xdead0d0d);
}

extern char u_push_cs[], u_cli[], u_esp[], u_cli_insn[];
__asm__(".text\n"
        "u_push_cs:\n\tpushl %cs\n\tpopl %ebx\n\txorl %eax, %eax\n\tint $0x80\n"
        "u_cli:\n"
        "u_cli_insn:\n\tcli\n\tmovl $1, %ebx\n\txorl %eax, %eax\n\tint $0x80\n"
        "u_esp:\n\tmovl %esp, %ebx\n\txorl %eax, %eax\n\tint $0x80\n");

static uint32_t urun(char *fn)
{
    return user_run((void (*)(void))fn, (uint32_t)(ustack + sizeof(ustack)), 0x2);
}

static void check_user(void)
{
    uint32_t top = (uint32_t)(ustack + sizeof(ustack));
    uint32_t r = urun(u_esp);
    if (r == top) report(1, "IRET to CPL 3 switches to the user stack (ESP 0x%08x)", top);
    else report(0, "IRET to CPL 3 did not switch stacks: user code ran with ESP 0x%08x, not 0x%08x", r, top);
    r = urun(u_push_cs) & 0xffff;
    if (r == SEL_UCODE) report(1, "PUSH CS at CPL 3 pushes 0x%04x (RPL 3)", SEL_UCODE);
    else report(0, "PUSH CS at CPL 3 pushed 0x%04x, not 0x%04x", r, SEL_UCODE);
    trap_set_handler(13, gp_user);
    gp_from_user = 0;
    r = urun(u_cli);
    trap_set_handler(13, NULL);
    if (r == 0xdead0d0d && gp_from_user == (uint32_t)u_cli_insn)
        report(1, "CLI at CPL 3 (IOPL 0) raises #GP");
    else
        report(0, "CLI at CPL 3 (IOPL 0) did not raise #GP: it was executed as if at CPL 0");
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    (void)info;
    serial_init();
    sys_init();
    printf("popek-goldberg guest: sensitive but unprivileged x86 instructions\n");
    gdt_set(SEL_CODE0 >> 3, 0, 0xfffff, ACC_P | ACC_S | ACC_CODE | ACC_READ | ACC_ACCESSED, FLG_G | FLG_DB);
    gdt_set(SEL_LDT >> 3, (uint32_t)ldt, sizeof(ldt) - 1, ACC_P | 0x02, 0);
    gdt_set(SEL_DATA0 >> 3, 0, LIMIT0, ACC_P | ACC_S | ACC_WRITE | ACC_ACCESSED, FLG_DB);
    ldt[0] = 0;
    ldt[1] = gdt[2];
    __asm__ volatile("lldt %w0" : : "r"((uint32_t)SEL_LDT));
    write_cr0(CR0_PE | CR0_MP | 0x10 | CR0_NE);   /* a known CR0: PE MP ET NE */
    idt_set_gate(PROBE_VEC, SEL_KCODE, idt_stub(PROBE_VEC), 0xF, 0, 1);
    trap_set_handler(PROBE_VEC, probe_handler);

    check_tables();
    check_flags();
    check_segments();
    check_probes();
    check_far();
    check_privileged();
    check_user();

    printf("summary: %u checks, %u passed, %u failed\n", n_checks, n_checks - n_failed, n_failed);
    return n_failed ? 1 : 0;
}
