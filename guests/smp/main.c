/* SMP guest: starts the application processors with INIT-SIPI-SIPI (real-
 * mode trampoline at 0x70000, vector 0x70) and checks, with every CPU
 * taking part: the APs' APIC IDs (also against CPUID leaf 1), a shared
 * counter incremented with LOCK XADD and with LOCK CMPXCHG, a spinlock-
 * protected plain increment, IPIs (fixed physical and flat logical ping-pong
 * between CPUs 0 and 1, self, all-including-self, NMI), a TLB shootdown
 * (the BSP remaps a page, the APs INVLPG in an IPI handler and see the new
 * page) and cross-modifying code (the BSP patches a function CPU 1 is
 * calling in a loop; CPU 1 serialises with CPUID and then sees the new
 * code). The BSP collects everything and prints it in a fixed order, so the
 * output does not depend on timing. The CPU count comes from fw_cfg.
 *
 * Benchmark mode (bench/smp.sh), "-append 'work=N ipis=M'": every CPU runs
 * N iterations of a CPU-bound loop on private data (1 CPU allowed), then
 * CPU 0 and CPU 1 do M IPI round trips; the host times the run. */
#include "../lib/sys/sys.h"

#define MAX_CPUS 8
#define ITERS 100000u
#define SPIN_MAX 200000000u

#define APIC_BASE 0xfee00000u
#define APIC_ID   0x020
#define APIC_EOI  0x0b0
#define APIC_LDR  0x0d0
#define APIC_DFR  0x0e0
#define APIC_SVR  0x0f0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310

#define TRAMP_ADDR 0x70000u
#define VEC_PING 0x40
#define VEC_PONG 0x41
#define VEC_SELF 0x42
#define VEC_ALL  0x43
#define VEC_SHOOT 0x44

static inline uint32_t apic_read(uint32_t reg) { return *(volatile uint32_t *)(APIC_BASE + reg); }
static inline void apic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(APIC_BASE + reg) = v; }
static inline unsigned my_id(void) { return apic_read(APIC_ID) >> 24; }
static inline void pause(void) { __asm__ volatile("pause" ::: "memory"); }

static void send_ipi(uint32_t dest, uint32_t lo)
{
    apic_write(APIC_ICR_HI, dest << 24);
    apic_write(APIC_ICR_LO, lo);
}

/* --- shared state --- */
static unsigned ncpu;
static volatile uint32_t ap_started;
volatile uint32_t ap_next_stack; /* used by the trampoline's assembly */
static volatile uint32_t seen_id[MAX_CPUS], cpuid_id[MAX_CPUS];
static volatile uint32_t go_phase;          /* the BSP releases the APs phase by phase */
static volatile uint32_t phase_done[8];     /* CPUs that finished each phase */
static volatile uint32_t ctr_xadd, ctr_cmpxchg, ctr_plain, lock_word;
static volatile uint32_t pings, pongs, selfs, nmis[MAX_CPUS], alls[MAX_CPUS];
static volatile uint32_t shoot_acks, shoot_seen[MAX_CPUS], before_seen[MAX_CPUS];
static volatile uint32_t patched, patch_result, patch_before;
static volatile uint32_t bench_work, work_sums[MAX_CPUS];
uint8_t ap_stacks[MAX_CPUS][8192] __attribute__((aligned(16))); /* used by the trampoline */
static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t page_tab0[1024] __attribute__((aligned(4096)));
static uint32_t page_tabhi[1024] __attribute__((aligned(4096)));
static uint8_t code_page[4096] __attribute__((aligned(4096)));
static uint8_t data_pages[2][4096] __attribute__((aligned(4096)));
static uint8_t window_page[4096] __attribute__((aligned(4096))); /* its virtual address is remapped */

/* The real-mode trampoline, copied to TRAMP_ADDR: load our GDT, enter
 * protected mode, far-jump to ap_entry32 (in the kernel image at 1 MiB). */
__asm__(".section .rodata\n"
        ".globl tramp_start, tramp_end, tramp_gdtr\n"
        ".code16\n"
        "tramp_start:\n"
        "  cli\n"
        "  movw %cs, %ax\n"
        "  movw %ax, %ds\n"
        "  lgdtl tramp_gdtr - tramp_start\n"
        "  movl %cr0, %eax\n"
        "  orl $1, %eax\n"
        "  movl %eax, %cr0\n"
        "  .byte 0x66, 0xea\n"          /* ljmpl $0x08, $ap_entry32 */
        "  .long ap_entry32\n"
        "  .word 0x08\n"
        "  .align 4\n"
        "tramp_gdtr: .word 0\n"
        "  .long 0\n"
        "tramp_end:\n"
        ".code32\n"
        ".text\n"
        "ap_entry32:\n"
        "  movw $0x10, %ax\n"
        "  movw %ax, %ds\n"
        "  movw %ax, %es\n"
        "  movw %ax, %fs\n"
        "  movw %ax, %gs\n"
        "  movw %ax, %ss\n"
        "  movl $1, %eax\n"
        "  lock xaddl %eax, ap_next_stack\n"
        "  incl %eax\n"
        "  shll $13, %eax\n"
        "  leal ap_stacks(%eax), %esp\n"
        "  call ap_main\n"
        "1: cli\n"
        "  hlt\n"
        "  jmp 1b\n");
extern const uint8_t tramp_start[], tramp_end[], tramp_gdtr[];

/* --- helpers shared by all CPUs --- */

static void wait_phase(uint32_t p)
{
    while (go_phase < p) pause();
}

static void finish_phase(uint32_t p)
{
    __atomic_fetch_add(&phase_done[p], 1, __ATOMIC_SEQ_CST);
}

static int wait_count(volatile uint32_t *c, uint32_t want)
{
    for (uint32_t i = 0; i < SPIN_MAX; i++) {
        if (*c >= want) return 1;
        pause();
    }
    return 0;
}

static void count_loops(void)
{
    for (uint32_t i = 0; i < ITERS; i++) {
        uint32_t one = 1;
        __asm__ volatile("lock xaddl %0, %1" : "+r"(one), "+m"(ctr_xadd) : : "memory", "cc");
    }
    for (uint32_t i = 0; i < ITERS; i++) {
        uint32_t old = ctr_cmpxchg, ok;
        do {
            uint32_t want = old + 1;
            __asm__ volatile("lock cmpxchgl %3, %1\n\tsete %b2"
                             : "+a"(old), "+m"(ctr_cmpxchg), "=q"(ok) : "r"(want) : "memory", "cc");
        } while (!(ok & 1));
    }
}

static void lock_loops(void)
{
    for (uint32_t i = 0; i < ITERS; i++) {
        uint32_t v;
        do {
            while (lock_word) pause();
            v = 1;
            __asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(lock_word) : : "memory");
        } while (v);
        uint32_t x = ctr_plain; /* not atomic: only the lock makes it exact */
        __asm__ volatile("" ::: "memory");
        ctr_plain = x + 1;
        __asm__ volatile("" ::: "memory");
        lock_word = 0;
    }
}

/* --- interrupt handlers --- */

static void on_ping(struct trap_frame *f)
{
    (void)f;
    pings++;
    apic_write(APIC_EOI, 0);
    send_ipi(0, VEC_PONG); /* back to CPU 0, fixed, physical */
}

static void on_pong(struct trap_frame *f) { (void)f; pongs++; apic_write(APIC_EOI, 0); }
static void on_self(struct trap_frame *f) { (void)f; selfs++; apic_write(APIC_EOI, 0); }
static void on_all(struct trap_frame *f) { (void)f; alls[my_id()]++; apic_write(APIC_EOI, 0); }
static void on_nmi(struct trap_frame *f) { (void)f; nmis[my_id()]++; }

static void on_shoot(struct trap_frame *f)
{
    (void)f;
    uint32_t va = (uint32_t)window_page;
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
    shoot_seen[my_id()] = *(volatile uint32_t *)va;
    apic_write(APIC_EOI, 0);
    __atomic_fetch_add(&shoot_acks, 1, __ATOMIC_SEQ_CST);
}

static void apic_enable(unsigned id)
{
    apic_write(APIC_SVR, 0x1ff);
    apic_write(APIC_DFR, 0xffffffffu);  /* flat model */
    apic_write(APIC_LDR, (1u << id) << 24);
}

static void load_idt(void)
{
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) p = { sizeof(idt) - 1, (uint32_t)idt };
    __asm__ volatile("lidt %0" : : "m"(p));
}

static void paging_on(void)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(page_dir) : "memory");
    write_cr0(read_cr0() | 0x80000000u);
}

/* The patched function: "mov $imm32, %eax; ret", built in code_page. */
static uint32_t call_patchable(void)
{
    uint32_t r;
    __asm__ volatile("call *%1" : "=a"(r) : "r"(code_page) : "memory", "cc", "ecx", "edx");
    return r;
}

static void cpuid_serialise(void)
{
    uint32_t a = 0, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory");
}

/* A CPU-bound loop on registers and private data (xorshift). */
static uint32_t work_loop(uint32_t n, uint32_t seed)
{
    uint32_t x = 0x9e3779b9u ^ seed, sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        sum += x;
    }
    return sum;
}

/* --- the APs --- */

void ap_main(void);
void ap_main(void)
{
    load_idt();
    unsigned id = my_id();
    uint32_t a = 1, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    apic_enable(id);
    paging_on();
    if (id < MAX_CPUS) {
        seen_id[id] = 1;
        cpuid_id[id] = b >> 24;
    }
    __atomic_fetch_add(&ap_started, 1, __ATOMIC_SEQ_CST);

    if (bench_work) {
        wait_phase(1);
        work_sums[id] = work_loop(bench_work, id);
        finish_phase(1);
        for (;;) __asm__ volatile("sti; hlt");
    }
    wait_phase(1);
    count_loops();
    finish_phase(1);

    wait_phase(2);
    lock_loops();
    finish_phase(2);

    /* Phase 3: interrupts on; CPU 1 answers pings, everyone takes the
     * all-CPUs IPI and NMIs. */
    wait_phase(3);
    if (id < MAX_CPUS) before_seen[id] = *(volatile uint32_t *)window_page; /* fill the TLB */
    __asm__ volatile("sti");
    finish_phase(3);

    /* Phase 4: CPU 1 calls the function the BSP is about to patch. */
    wait_phase(4);
    if (id == 1) {
        patch_before = call_patchable();
        finish_phase(4);
        while (!__atomic_load_n(&patched, __ATOMIC_ACQUIRE)) (void)call_patchable();
        cpuid_serialise(); /* the cross-modifying-code protocol (SDM 8.1.3) */
        patch_result = call_patchable();
    }
    finish_phase(5);
    for (;;) __asm__ volatile("sti; hlt");
}

/* --- the BSP --- */

static unsigned fwcfg_cpus(void)
{
    __asm__ volatile("outw %0, %1" : : "a"((uint16_t)0x05), "Nd"((uint16_t)0x510));
    unsigned lo = inb(0x511), hi = inb(0x511);
    return lo | hi << 8;
}

static void build_page_tables(void)
{
    for (uint32_t i = 0; i < 1024; i++) page_tab0[i] = (i << 12) | 3;
    page_tabhi[(APIC_BASE >> 12) & 0x3ff] = APIC_BASE | 0x13; /* present, writable, PCD */
    page_dir[0] = (uint32_t)page_tab0 | 3;
    page_dir[APIC_BASE >> 22] = (uint32_t)page_tabhi | 3;
    *(uint32_t *)data_pages[0] = 0x1111;
    *(uint32_t *)data_pages[1] = 0x2222;
    page_tab0[(uint32_t)window_page >> 12] = (uint32_t)data_pages[0] | 3;
}

static void start_aps(void)
{
    uint8_t *t = (uint8_t *)TRAMP_ADDR;
    memcpy(t, tramp_start, (size_t)(tramp_end - tramp_start));
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) g = { sizeof(gdt) - 1, (uint32_t)gdt };
    memcpy(t + (tramp_gdtr - tramp_start), &g, 6);
    send_ipi(0, 0x000c4500);                   /* INIT, all excluding self */
    for (volatile int i = 0; i < 100000; i++) { }
    send_ipi(0, 0x000c4600 | (TRAMP_ADDR >> 12)); /* STARTUP */
    for (volatile int i = 0; i < 10000; i++) { }
    if (ap_started < ncpu - 1) send_ipi(0, 0x000c4600 | (TRAMP_ADDR >> 12)); /* the second SIPI */
}

static void release(uint32_t phase)
{
    __atomic_store_n(&go_phase, phase, __ATOMIC_SEQ_CST);
}

static int bench_main(uint32_t work, uint32_t ipis)
{
    bench_work = work ? work : 1;
    apic_enable(0);
    build_page_tables();
    paging_on();
    if (ncpu > 1) {
        start_aps();
        check_true(wait_count(&ap_started, ncpu - 1), "every AP started after INIT-SIPI-SIPI");
    }
    release(1);
    work_sums[0] = work_loop(bench_work, 0);
    finish_phase(1);
    check_true(wait_count(&phase_done[1], ncpu), "every CPU finished its work");
    if (ncpu > 1 && ipis) {
        __asm__ volatile("sti");
        for (uint32_t i = 0; i < ipis; i++) {
            send_ipi(1, VEC_PING);
            if (!wait_count(&pongs, i + 1)) break;
        }
        check_u32(pongs, ipis, "IPI round trips");
    }
    return check_finish();
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    serial_init();
    sys_init();
    ncpu = fwcfg_cpus();
    uint32_t work = cmdline_uint(info, "work", 0), ipis = cmdline_uint(info, "ipis", 0);
    printf("smp guest: %u CPUs\n", ncpu);
    if ((work || ipis) && ncpu >= 1 && ncpu <= MAX_CPUS) {
        trap_set_handler(VEC_PING, on_ping);
        trap_set_handler(VEC_PONG, on_pong);
        return bench_main(work, ipis);
    }
    if (ncpu < 2 || ncpu > MAX_CPUS) {
        check_true(0, "fw_cfg reports 2 to 8 CPUs");
        return check_finish();
    }
    trap_set_handler(2, on_nmi);
    trap_set_handler(VEC_PING, on_ping);
    trap_set_handler(VEC_PONG, on_pong);
    trap_set_handler(VEC_SELF, on_self);
    trap_set_handler(VEC_ALL, on_all);
    trap_set_handler(VEC_SHOOT, on_shoot);
    apic_enable(0);
    check_u32(my_id(), 0, "the BSP has APIC ID 0");
    build_page_tables();
    paging_on();
    /* code_page: mov $1, %eax; ret */
    code_page[0] = 0xb8;
    *(uint32_t *)(code_page + 1) = 1;
    code_page[5] = 0xc3;

    /* 1. start-up */
    start_aps();
    check_true(wait_count(&ap_started, ncpu - 1), "every AP started after INIT-SIPI-SIPI");
    check_u32(ap_started, ncpu - 1, "AP count");
    printf("AP APIC IDs:");
    for (unsigned i = 1; i < MAX_CPUS; i++)
        if (seen_id[i]) printf(" %u", i);
    printf("\n");
    for (unsigned i = 1; i < ncpu; i++) check_u32(cpuid_id[i], i, "CPUID.1 EBX[31:24] = APIC ID on an AP");

    /* 2. atomics */
    release(1);
    count_loops();
    finish_phase(1);
    check_true(wait_count(&phase_done[1], ncpu), "every CPU finished the atomic loops");
    check_u32(ctr_xadd, ncpu * ITERS, "LOCK XADD counter");
    check_u32(ctr_cmpxchg, ncpu * ITERS, "LOCK CMPXCHG counter");

    /* 3. spinlock */
    release(2);
    lock_loops();
    finish_phase(2);
    check_true(wait_count(&phase_done[2], ncpu), "every CPU finished the spinlock loop");
    check_u32(ctr_plain, ncpu * ITERS, "spinlock-protected plain counter");

    /* 4. IPIs */
    release(3);
    check_true(wait_count(&phase_done[3], ncpu - 1), "every AP enabled interrupts");
    __asm__ volatile("sti");
    for (uint32_t i = 0; i < 500; i++) {
        send_ipi(1, VEC_PING);                    /* physical destination 1 */
        if (!wait_count(&pongs, i * 2 + 1)) break;
        send_ipi(2, VEC_PING | 0x800);            /* logical, flat: LDR bit 1 = CPU 1 */
        if (!wait_count(&pongs, i * 2 + 2)) break;
    }
    check_u32(pings, 1000, "pings CPU 1 took");
    check_u32(pongs, 1000, "pongs CPU 0 took");
    apic_write(APIC_ICR_LO, 0x00040000 | VEC_SELF); /* shorthand self */
    wait_count(&selfs, 1);
    check_u32(selfs, 1, "self IPI");
    apic_write(APIC_ICR_LO, 0x00080000 | VEC_ALL);  /* all including self */
    for (unsigned i = 0; i < ncpu; i++) wait_count(&alls[i], 1);
    uint32_t all_ok = 0;
    for (unsigned i = 0; i < ncpu; i++) all_ok += alls[i] == 1;
    check_u32(all_ok, ncpu, "all-including-self IPI reached each CPU once");
    apic_write(APIC_ICR_LO, 0x000c0400);          /* NMI, all excluding self */
    uint32_t nmi_ok = 0;
    for (unsigned i = 1; i < ncpu; i++) nmi_ok += wait_count(&nmis[i], 1) && nmis[i] == 1;
    check_u32(nmi_ok, ncpu - 1, "NMI IPI reached each AP once");
    check_u32(nmis[0], 0, "NMI all-excluding-self spared the BSP");

    /* 5. TLB shootdown */
    uint32_t va = (uint32_t)window_page;
    uint32_t before_ok = 0;
    for (unsigned i = 1; i < ncpu; i++) before_ok += before_seen[i] == 0x1111;
    check_u32(before_ok, ncpu - 1, "APs read the old page through the window");
    page_tab0[va >> 12] = (uint32_t)data_pages[1] | 3;
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
    apic_write(APIC_ICR_LO, 0x000c0000 | VEC_SHOOT); /* all excluding self */
    check_true(wait_count(&shoot_acks, ncpu - 1), "every AP acknowledged the shootdown");
    uint32_t shoot_ok = 0;
    for (unsigned i = 1; i < ncpu; i++) shoot_ok += shoot_seen[i] == 0x2222;
    check_u32(shoot_ok, ncpu - 1, "APs see the new page after INVLPG");
    check_u32(*(volatile uint32_t *)va, 0x2222, "the BSP sees the new page");

    /* 6. cross-modifying code */
    release(4);
    check_true(wait_count(&phase_done[4], 1), "CPU 1 called the function");
    check_u32(patch_before, 1, "before the patch");
    *(volatile uint32_t *)(code_page + 1) = 2;
    __atomic_store_n(&patched, 1, __ATOMIC_RELEASE);
    check_true(wait_count(&phase_done[5], ncpu - 1), "every AP finished");
    check_u32(patch_result, 2, "CPU 1 runs the patched code");
    return check_finish();
}
