/* vmbench: the virtualization microbenchmarks of Adams & Agesen, "A
 * Comparison of Software and Hardware Techniques for x86 Virtualization"
 * (ASPLOS 2006), rebuilt as a Multiboot guest so that one image runs under
 * bt86 (-engine interp, bt, kvm), QEMU TCG and QEMU KVM:
 *   syscall-int80     INT 0x80 round trip, ring 3 -> ring 0 -> ring 3
 *   syscall-sysenter  SYSENTER/SYSEXIT round trip from ring 3
 *   in                IN from the master PIC's mask register (port 0x21)
 *   cr8wr             TPR write through the local APIC page (0xfee00080)
 *   cli-sti           a CLI/STI pair
 *   call-ret          near CALL/RET (the baseline)
 *   pgfault           #PF on a not-present page, handler maps it, retry;
 *                     then unmap + INVLPG
 *   divzero           #DE round trip, the handler skips the DIV
 *   ptemod            PTE write + INVLPG + a load through the page
 * (the loops and handlers are in ops.S). Time comes from the local APIC
 * timer's current count, calibrated against PIT channel 2: a device clock
 * that is wall time under every engine, whatever the TSC is (bt86's TSC
 * has been an instruction count under -icount and in older versions). The
 * RDTSC delta per operation is printed beside it.
 * Command line: iters=N (default 100000; cheap operations run 10x that),
 * notime (skip calibration and the "time" lines: the output is then the
 * same on every engine, for the integration suite), noring3 (leave out the
 * two system-call benchmarks, for hosts whose KVM cannot enter ring 3 of a
 * 32-bit guest, such as the PVM flavour of /dev/kvm), only=NAME (run that
 * benchmark alone, e.g. to read its exits with bt86 -stats), irq (instead
 * of the benchmarks: halt with PIT IRQ0 armed and report the interrupt that
 * wakes the CPU, without returning from it: interrupt injection into a
 * halted vCPU, for -engine kvm on hosts whose KVM cannot emulate IRET),
 * irqwin (the same, IRQ0 becoming pending while IF=0 and taken after STI),
 * spin (instead of the benchmarks: a delay loop that executes PAUSE until
 * PIT channel 2 has counted 1 ms, as Linux's udelay does with the TSC, and
 * reports its rounds: "spin pit_ticks=1193 rounds=R"; under bt86, whose
 * PAUSE lets 1 us of virtual time pass (-spin-skip), R is at most 1000).
 * Output, one line each, fixed format:
 *   calib pit_ticks=P apic_ticks=A tsc_ticks=T
 *   time <name> iters=N ns_per_op=X.XX tsc_per_op=Y.YY
 *   count <name> iters=N events=E ok|MISMATCH
 * Exit code 0 if every count matched. */
#include "../lib/sys/sys.h"

#define VB_PF_VA  0x00400000u  /* must match ops.S */
#define VB_PTE_VA 0x00401000u

#define APIC_BASE      0xfee00000u
#define APIC_SVR       0x0f0u
#define APIC_TPR       0x080u
#define APIC_LVT_TIMER 0x320u
#define APIC_TIMER_ICR 0x380u
#define APIC_TIMER_CCR 0x390u
#define APIC_TIMER_DCR 0x3e0u

#define PIT_HZ 1193182u
#define PIT_FS_PER_TICK 838095344ull /* femtoseconds per PIT tick */
#define CAL_TICKS 59659u             /* 50 ms of PIT channel 2 */

/* Shared with ops.S. */
volatile uint32_t vb_iters;
volatile uint32_t vb_int80_count, vb_sysenter_count, vb_pf_count, vb_de_count;
volatile uint32_t *vb_pf_pte, *vb_pte_pte;
uint32_t vb_pf_map, vb_pte_a, vb_pte_b;
volatile uint32_t vb_seen_a, vb_seen_b; /* ptemod: loads that went through frame A, B */

void vb_int80_user(void);
void vb_sysenter_user(void);
void vb_int80_entry(void);
void vb_sysenter_entry(void);
void vb_pf_entry(void);
void vb_de_entry(void);
uint32_t vb_in_loop(uint32_t n);
uint32_t vb_tpr_loop(uint32_t n);
uint32_t vb_clisti_loop(uint32_t n);
uint32_t vb_callret_loop(uint32_t n);
uint32_t vb_pgfault_loop(uint32_t n);
uint32_t vb_divzero_loop(uint32_t n);
uint32_t vb_ptemod_loop(uint32_t n);

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[1024] __attribute__((aligned(4096)));
static uint32_t pt_test[1024] __attribute__((aligned(4096)));
static uint32_t pt_apic[1024] __attribute__((aligned(4096)));
static uint32_t frame_pf[1024] __attribute__((aligned(4096)));
static uint32_t frame_a[1024] __attribute__((aligned(4096)));
static uint32_t frame_b[1024] __attribute__((aligned(4096)));
static uint8_t user_stack[8192] __attribute__((aligned(16)));
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));

static int notime;
static char only[24]; /* only=NAME, or "" for all */
static int failures;
static uint64_t fs_per_apic_tick; /* 0: not calibrated */

static uint32_t apic_r(uint32_t reg) { return mmio_r32(APIC_BASE + reg); }
static void apic_w(uint32_t reg, uint32_t v) { mmio_w32(APIC_BASE + reg, v); }

/* only=NAME from the command line (words anywhere in it, as cmdline.c does). */
static void parse_only(const struct mb_info *mi)
{
    if (!mi || !(mi->flags & MB_INFO_CMDLINE) || !mi->cmdline)
        return;
    const char *s = (const char *)(uintptr_t)mi->cmdline;
    for (const char *p = s; *p; p++) {
        if ((p == s || p[-1] == ' ') && strncmp(p, "only=", 5) == 0) {
            size_t n = 0;
            for (p += 5; *p && *p != ' ' && n + 1 < sizeof(only); p++)
                only[n++] = *p;
            only[n] = '\0';
            return;
        }
    }
}

static int wanted(const char *name) { return !only[0] || strcmp(only, name) == 0; }

/* One-shot, masked, divide by 16, from the top: ~68 s before it runs out at
 * a 1 GHz APIC bus (bt86's and QEMU's). */
static void apic_timer_restart(void)
{
    apic_w(APIC_TIMER_ICR, 0xffffffffu);
}

static void apic_init(void)
{
    apic_w(APIC_SVR, 0x100 | 0xff);
    apic_w(APIC_TPR, 0);
    apic_w(APIC_TIMER_DCR, 0x3);
    apic_w(APIC_LVT_TIMER, 0x10000 | 0x40);
    apic_timer_restart();
}

/* PIT channel 2, mode 0, gate on through port 0x61: OUT2 (port 0x61 bit 5)
 * rises after CAL_TICKS ticks. Count APIC timer ticks and TSC ticks across. */
static void calibrate(void)
{
    apic_timer_restart();
    uint8_t p61 = inb(0x61);
    outb(0x61, (uint8_t)((p61 & ~0x02) | 0x01));
    outb(0x43, 0xb0);
    outb(0x42, CAL_TICKS & 0xff);
    outb(0x42, CAL_TICKS >> 8);
    uint32_t a0 = apic_r(APIC_TIMER_CCR);
    uint64_t t0 = rdtsc();
    while (!(inb(0x61) & 0x20))
        ;
    uint32_t a1 = apic_r(APIC_TIMER_CCR);
    uint64_t t1 = rdtsc();
    outb(0x61, p61);
    uint32_t da = a0 - a1;
    printf("calib pit_ticks=%u apic_ticks=%u tsc_ticks=%llu\n", CAL_TICKS, da, (unsigned long long)(t1 - t0));
    if (da == 0) {
        printf("calib: the APIC timer does not count; no times\n");
        return;
    }
    fs_per_apic_tick = (uint64_t)CAL_TICKS * PIT_FS_PER_TICK / da;
}

struct stamp {
    uint32_t apic;
    uint64_t tsc;
};

static void stamp(struct stamp *s)
{
    s->tsc = rdtsc();
    s->apic = apic_r(APIC_TIMER_CCR);
}

static void report(const char *name, uint32_t n, const struct stamp *s0, const struct stamp *s1, uint32_t events,
                   uint32_t want)
{
    if (!notime && fs_per_apic_tick) {
        uint64_t fs = (uint64_t)(s0->apic - s1->apic) * fs_per_apic_tick;
        uint64_t ns100 = fs / 10000u / n;
        uint64_t tsc100 = (s1->tsc - s0->tsc) * 100u / n;
        printf("time %-16s iters=%u ns_per_op=%llu.%02llu tsc_per_op=%llu.%02llu\n", name, n,
               (unsigned long long)(ns100 / 100), (unsigned long long)(ns100 % 100),
               (unsigned long long)(tsc100 / 100), (unsigned long long)(tsc100 % 100));
    }
    int ok = events == want;
    failures += !ok;
    printf("count %-16s iters=%u events=%u %s\n", name, n, events, ok ? "ok" : "MISMATCH");
}

void vb_sti_hlt(void);
void vb_cli_wait_sti(void);
void vb_irq0_entry(void);
extern char vb_after_hlt[], vb_spin[];
void vb_irq0_c(uint32_t eip) __attribute__((noreturn));

static const char *irq_name;
static uint32_t irq_want_eip;

/* IRQ0 arrived (vector 0x20, sys_init's PIC base): at the expected place? */
void vb_irq0_c(uint32_t eip)
{
    outb(0x20, 0x20); /* EOI */
    outb(0x21, 0xff);
    int ok = eip == irq_want_eip;
    printf("count %-16s vector=0x20 saved_eip=%s %s\n", irq_name, ok ? "expected" : "elsewhere",
           ok ? "ok" : "MISMATCH");
    guest_exit(ok ? 0 : 1);
}

/* PIT channel 2, mode 0, 1193 ticks (1 ms): PAUSE until OUT2 rises. */
#define SPIN_TICKS 1193u
static void spin_test(void)
{
    uint8_t p61 = inb(0x61);
    outb(0x61, (uint8_t)((p61 & ~0x02) | 0x01));
    outb(0x43, 0xb0);
    outb(0x42, SPIN_TICKS & 0xff);
    outb(0x42, SPIN_TICKS >> 8);
    uint32_t rounds = 0;
    while (!(inb(0x61) & 0x20)) {
        __asm__ volatile("pause");
        rounds++;
    }
    outb(0x61, p61);
    printf("spin pit_ticks=%u rounds=%u\n", SPIN_TICKS, rounds);
    guest_exit(0);
}

/* IRQ0 from the PIT (10 ms, mode 2) into a halted CPU (window = 0) or into
 * one that had IF=0 while it became pending (window = 1). */
static void irq_test(int window)
{
    idt_set_gate(0x20, SEL_KCODE, (uint32_t)vb_irq0_entry, 0xE, 0, 1);
    irq_name = window ? "irq0-window" : "irq0-after-hlt";
    irq_want_eip = window ? (uint32_t)vb_spin : (uint32_t)vb_after_hlt;
    __asm__ volatile("cli");
    outb(0x43, 0x34); /* PIT channel 0, lo/hi, mode 2, 10 ms */
    outb(0x40, 11932 & 0xff);
    outb(0x40, 11932 >> 8);
    outb(0x21, 0xfe); /* only IRQ0 */
    if (window) {
        /* channel 2, mode 0, 30 ms: IRQ0 is pending long before OUT2 rises */
        uint8_t p61 = inb(0x61);
        outb(0x61, (uint8_t)((p61 & ~0x02) | 0x01));
        outb(0x43, 0xb0);
        outb(0x42, 35796 & 0xff);
        outb(0x42, 35796 >> 8);
        vb_cli_wait_sti();
    } else {
        vb_sti_hlt();
    }
    printf("count %-16s no interrupt MISMATCH\n", irq_name);
    guest_exit(1);
}

static void exit_gate(struct trap_frame *f)
{
    (void)f;
    user_return(0);
}

/* Runs fn at ring 3 (IF=0) and times the whole trip. */
static void bench_user(const char *name, void (*fn)(void), uint32_t n, volatile uint32_t *counter)
{
    struct stamp s0, s1;
    vb_iters = n;
    *counter = 0;
    apic_timer_restart();
    stamp(&s0);
    user_run(fn, (uint32_t)(user_stack + sizeof(user_stack)), 0x2);
    stamp(&s1);
    report(name, n, &s0, &s1, *counter, n);
}

typedef uint32_t (*loop_fn)(uint32_t n);

static void bench_loop(const char *name, loop_fn fn, uint32_t n, volatile uint32_t *counter, uint32_t want)
{
    struct stamp s0, s1;
    if (counter)
        *counter = 0;
    apic_timer_restart();
    stamp(&s0);
    uint32_t r = fn(n);
    stamp(&s1);
    report(name, n, &s0, &s1, counter ? *counter : r, want);
}

static void paging_on(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        pt_low[i] = (i << 12) | 3;
    pt_low[0] = 0; /* page 0 stays unmapped: a stray null access faults */
    pd[0] = (uint32_t)pt_low | 3;
    pd[VB_PF_VA >> 22] = (uint32_t)pt_test | 3;
    pd[APIC_BASE >> 22] = (uint32_t)pt_apic | 3;
    pt_apic[(APIC_BASE >> 12) & 0x3ff] = APIC_BASE | 0x1b; /* P RW PWT PCD */
    frame_pf[0] = 1;
    frame_a[0] = (uint32_t)&vb_seen_a;
    frame_b[0] = (uint32_t)&vb_seen_b;
    pt_test[(VB_PF_VA >> 12) & 0x3ff] = 0;
    pt_test[(VB_PTE_VA >> 12) & 0x3ff] = (uint32_t)frame_a | 3;
    vb_pf_pte = &pt_test[(VB_PF_VA >> 12) & 0x3ff];
    vb_pf_map = (uint32_t)frame_pf | 3;
    vb_pte_pte = &pt_test[(VB_PTE_VA >> 12) & 0x3ff];
    vb_pte_a = (uint32_t)frame_a | 3;
    vb_pte_b = (uint32_t)frame_b | 3;
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | CR0_PG);
}

static void paging_off(void)
{
    write_cr0(read_cr0() & ~CR0_PG);
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    serial_init();
    sys_init();
    const struct mb_info *mi = magic == MB_BOOT_MAGIC ? info : NULL;
    uint32_t n = cmdline_uint(mi, "iters", 100000);
    notime = cmdline_has(mi, "notime");
    int noring3 = cmdline_has(mi, "noring3");
    parse_only(mi);
    if (n < 2)
        n = 2;
    n &= ~1u; /* ptemod alternates two frames */
    printf("vmbench: iters=%u\n", n);

    if (cmdline_has(mi, "spin"))
        spin_test(); /* does not return */
    if (cmdline_has(mi, "irq") || cmdline_has(mi, "irqwin"))
        irq_test(cmdline_has(mi, "irqwin")); /* does not return */
    idt_set_gate(0x80, SEL_KCODE, (uint32_t)vb_int80_entry, 0xF, 3, 1);
    idt_set_gate(0x82, SEL_KCODE, idt_stub(0x82), 0xE, 3, 1);
    trap_set_handler(0x82, exit_gate);
    idt_set_gate(14, SEL_KCODE, (uint32_t)vb_pf_entry, 0xE, 0, 1);
    idt_set_gate(0, SEL_KCODE, (uint32_t)vb_de_entry, 0xE, 0, 1);
    wrmsr(0x174, SEL_KCODE);
    wrmsr(0x175, (uint32_t)(sysenter_stack + sizeof(sysenter_stack)));
    wrmsr(0x176, (uint32_t)vb_sysenter_entry);
    apic_init();
    if (!notime)
        calibrate();

    if (!noring3 && wanted("syscall-int80"))
        bench_user("syscall-int80", vb_int80_user, n, &vb_int80_count);
    if (!noring3 && wanted("syscall-sysenter"))
        bench_user("syscall-sysenter", vb_sysenter_user, n, &vb_sysenter_count);
    if (wanted("in"))
        bench_loop("in", vb_in_loop, n, NULL, n);
    struct stamp s0, s1;
    if (wanted("cr8wr")) {
        apic_timer_restart();
        stamp(&s0);
        uint32_t tpr = vb_tpr_loop(n);
        stamp(&s1);
        /* n is even: the last value written is 0x20, which the readback must show */
        report("cr8wr", n, &s0, &s1, (tpr & 0xff) == 0x20 ? n : 0, n);
        apic_w(APIC_TPR, 0);
    }
    if (wanted("cli-sti")) {
        apic_timer_restart();
        stamp(&s0);
        uint32_t fl = vb_clisti_loop(10 * n);
        stamp(&s1);
        report("cli-sti", 10 * n, &s0, &s1, (fl & EF_IF) == 0 ? 10 * n : 0, 10 * n);
    }
    if (wanted("call-ret"))
        bench_loop("call-ret", vb_callret_loop, 10 * n, NULL, 10 * n);

    if (!wanted("pgfault") && !wanted("divzero") && !wanted("ptemod"))
        goto done;
    paging_on();
    if (wanted("pgfault")) {
        vb_pf_count = 0;
        apic_timer_restart();
        stamp(&s0);
        uint32_t sum = vb_pgfault_loop(n);
        stamp(&s1);
        /* every fault counted and every retried load read the mapped page */
        report("pgfault", n, &s0, &s1, sum == vb_pf_count ? vb_pf_count : 0, n);
    }
    if (wanted("divzero"))
        bench_loop("divzero", vb_divzero_loop, n, &vb_de_count, n);
    if (wanted("ptemod")) {
        vb_seen_a = vb_seen_b = 0;
        apic_timer_restart();
        stamp(&s0);
        vb_ptemod_loop(n);
        stamp(&s1);
        /* A is mapped on even rounds, B on odd ones: n/2 loads each when every
         * load went through the mapping just written */
        uint32_t seen = vb_seen_a < vb_seen_b ? vb_seen_a : vb_seen_b;
        report("ptemod", n, &s0, &s1, 2 * seen, n);
    }
    paging_off();

done:
    printf("vmbench: %s\n", failures ? "MISMATCH" : "all counts ok");
    return failures ? 1 : 0;
}
