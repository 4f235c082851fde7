/* SMP LOCK guest: LOCKed read-modify-writes that a host atomic instruction
 * cannot do, raced by every CPU (docs/SMP.md, "LOCK semantics"):
 *   1. a 32-bit counter split across a 4 KiB page boundary (bytes
 *      0x...ffe-0x...1001): LOCK ADD, then LOCK XADD, then LOCK INC, each
 *      in its own phase (the XADD phase also sums the values XADD returned,
 *      which are each value of the range exactly once if XADD is atomic),
 *      then LOCK ADD by the even CPUs while the odd ones LOCK ADD to the
 *      counter's upper half, an aligned word (a host atomic for bt86);
 *   2. a misaligned 16-bit word: each CPU sets its own bit with LOCK OR and
 *      clears it with LOCK AND, and checks the word in between (a lost
 *      update shows as its bit missing or coming back);
 *   3. a counter on a page that also holds code every CPU keeps calling
 *      (so the page holds decoded code): LOCK CMPXCHG increments.
 * The APs are started with INIT-SIPI-SIPI (real-mode trampoline at 0x71000,
 * vector 0x71); no paging. Iterations per CPU and operation: "iters=N" on
 * the command line (default ITERS). The BSP prints the exact totals. */
#include "../lib/sys/sys.h"

#define MAX_CPUS 8
#define ITERS 50000u
#define CODE_ITERS_DIV 4 /* phase 3 runs iters/4: every call re-decodes the page */
#define SPIN_MAX 2000000000u

#define APIC_BASE 0xfee00000u
#define APIC_ID   0x020
#define APIC_SVR  0x0f0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define TRAMP_ADDR 0x71000u

static inline uint32_t apic_read(uint32_t reg) { return *(volatile uint32_t *)(APIC_BASE + reg); }
static inline void apic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(APIC_BASE + reg) = v; }
static inline void cpu_pause(void) { __asm__ volatile("pause" ::: "memory"); }

/* --- shared state --- */
static unsigned ncpu;
static uint32_t iters;
static volatile uint32_t ap_started, go_phase;
static volatile uint32_t phase_done[4];
volatile uint32_t lk_next_stack; /* used by the trampoline */
uint8_t lk_stacks[MAX_CPUS][8192] __attribute__((aligned(16)));
static volatile uint32_t xadd_sum, bit_errors;
/* Two pages: the split counter at the end of the first (its bytes
 * 0x...ffe-0x...1001), the misaligned word at offset 0x101 of the second. */
static uint8_t split_pages[2][4096] __attribute__((aligned(4096)));
/* Code at offset 0 ("mov $7, %eax; ret", written at start-up), the counter
 * at offset 0x800. */
static uint8_t code_page[4096] __attribute__((aligned(4096)));

#define SPLIT_CTR ((volatile uint32_t *)(void *)(&split_pages[0][4094]))
#define ODD_WORD  ((volatile uint16_t *)(void *)(&split_pages[1][0x101]))
#define CODE_CTR  ((volatile uint32_t *)(void *)(&code_page[0x800]))

/* The real-mode trampoline, copied to TRAMP_ADDR: load our GDT, enter
 * protected mode, far-jump to lk_entry32 in the kernel image. */
__asm__(".section .rodata\n"
        ".globl lk_tramp, lk_tramp_end, lk_tramp_gdtr\n"
        ".code16\n"
        "lk_tramp:\n"
        "  cli\n"
        "  movw %cs, %ax\n"
        "  movw %ax, %ds\n"
        "  lgdtl lk_tramp_gdtr - lk_tramp\n"
        "  movl %cr0, %eax\n"
        "  orl $1, %eax\n"
        "  movl %eax, %cr0\n"
        "  .byte 0x66, 0xea\n" /* ljmpl $0x08, $lk_entry32 */
        "  .long lk_entry32\n"
        "  .word 0x08\n"
        "  .align 4\n"
        "lk_tramp_gdtr: .word 0\n"
        "  .long 0\n"
        "lk_tramp_end:\n"
        ".code32\n"
        ".text\n"
        "lk_entry32:\n"
        "  movw $0x10, %ax\n"
        "  movw %ax, %ds\n"
        "  movw %ax, %es\n"
        "  movw %ax, %fs\n"
        "  movw %ax, %gs\n"
        "  movw %ax, %ss\n"
        "  movl $1, %eax\n"
        "  lock xaddl %eax, lk_next_stack\n"
        "  incl %eax\n"
        "  shll $13, %eax\n"
        "  leal lk_stacks(%eax), %esp\n"
        "  call lk_ap_main\n"
        "1: cli\n"
        "  hlt\n"
        "  jmp 1b\n");
extern const uint8_t lk_tramp[], lk_tramp_end[], lk_tramp_gdtr[];

static void wait_phase(uint32_t p)
{
    while (go_phase < p) cpu_pause();
}

static int wait_count(volatile uint32_t *c, uint32_t want)
{
    for (uint32_t i = 0; i < SPIN_MAX; i++) {
        if (*c >= want) return 1;
        cpu_pause();
    }
    return 0;
}

/* --- the racing loops --- */

static void split_add(unsigned id)
{
    (void)id;
    for (uint32_t i = 0; i < iters; i++)
        __asm__ volatile("lock addl $1, %0" : "+m"(*SPLIT_CTR) : : "memory", "cc");
}

static void split_xadd(unsigned id)
{
    (void)id;
    uint32_t sum = 0;
    for (uint32_t i = 0; i < iters; i++) {
        uint32_t one = 1;
        __asm__ volatile("lock xaddl %0, %1" : "+r"(one), "+m"(*SPLIT_CTR) : : "memory", "cc");
        sum += one; /* the value before the add */
    }
    __atomic_fetch_add(&xadd_sum, sum, __ATOMIC_SEQ_CST);
}

static void split_inc(unsigned id)
{
    (void)id;
    for (uint32_t i = 0; i < iters; i++)
        __asm__ volatile("lock incl %0" : "+m"(*SPLIT_CTR) : : "memory", "cc");
}

/* Set this CPU's bit, check it is there, clear it, check it is gone. */
static void odd_or_and(unsigned id)
{
    uint16_t bit = (uint16_t)(1u << id), nbit = (uint16_t)~bit;
    uint32_t errs = 0;
    for (uint32_t i = 0; i < iters; i++) {
        __asm__ volatile("lock orw %1, %0" : "+m"(*ODD_WORD) : "r"(bit) : "memory", "cc");
        errs += !(*ODD_WORD & bit);
        __asm__ volatile("lock andw %1, %0" : "+m"(*ODD_WORD) : "r"(nbit) : "memory", "cc");
        errs += (*ODD_WORD & bit) != 0;
    }
    __atomic_fetch_add(&bit_errors, errs, __ATOMIC_SEQ_CST);
}

static uint32_t call_code_page(void)
{
    uint32_t r;
    __asm__ volatile("call *%1" : "=a"(r) : "r"(code_page) : "memory", "cc", "ecx", "edx");
    return r;
}

/* Call the code on the counter's page (so it holds decoded code again),
 * then increment the counter with a LOCK CMPXCHG loop. */
static uint32_t code_cmpxchg(void)
{
    uint32_t bad = 0;
    for (uint32_t i = 0; i < iters / CODE_ITERS_DIV; i++) {
        bad += call_code_page() != 7;
        uint32_t old = *CODE_CTR, ok;
        do {
            uint32_t want = old + 1;
            __asm__ volatile("lock cmpxchgl %3, %1\n\tsete %b2"
                             : "+a"(old), "+m"(*CODE_CTR), "=q"(ok) : "r"(want) : "memory", "cc");
        } while (!(ok & 1));
    }
    return bad;
}

static volatile uint32_t code_bad;

/* Even CPUs: LOCK ADD 1 to the split dword; odd CPUs: LOCK ADD 1 to its
 * upper half, the aligned word at the start of the second page (a plain
 * atomic, which must not slip into the even CPUs' split RMWs). */
static void split_mixed(unsigned id)
{
    volatile uint16_t *hi = (volatile uint16_t *)(void *)&split_pages[1][0];
    for (uint32_t i = 0; i < iters; i++) {
        if (id & 1) __asm__ volatile("lock addw $1, %0" : "+m"(*hi) : : "memory", "cc");
        else __asm__ volatile("lock addl $1, %0" : "+m"(*SPLIT_CTR) : : "memory", "cc");
    }
}

#define NSPLIT 4
static void (*const split_ops[NSPLIT])(unsigned id) = { split_add, split_xadd, split_inc, split_mixed };

static void run_phases(unsigned id)
{
    for (uint32_t p = 0; p < NSPLIT; p++) {
        wait_phase(p + 1);
        split_ops[p](id);
        __atomic_fetch_add(&phase_done[0], 1, __ATOMIC_SEQ_CST);
        while (phase_done[0] < ncpu * (p + 1)) cpu_pause(); /* all CPUs leave the phase together */
    }
    odd_or_and(id);
    __atomic_fetch_add(&phase_done[1], 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&code_bad, code_cmpxchg(), __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&phase_done[2], 1, __ATOMIC_SEQ_CST);
}

void lk_ap_main(void);
void lk_ap_main(void)
{
    unsigned id = apic_read(APIC_ID) >> 24;
    apic_write(APIC_SVR, 0x1ff);
    __atomic_fetch_add(&ap_started, 1, __ATOMIC_SEQ_CST);
    run_phases(id);
    for (;;) __asm__ volatile("cli; hlt");
}

/* --- the BSP --- */

static unsigned fwcfg_cpus(void)
{
    __asm__ volatile("outw %0, %1" : : "a"((uint16_t)0x05), "Nd"((uint16_t)0x510));
    unsigned lo = inb(0x511), hi = inb(0x511);
    return lo | hi << 8;
}

static void send_ipi(uint32_t lo)
{
    apic_write(APIC_ICR_HI, 0);
    apic_write(APIC_ICR_LO, lo);
}

static void start_aps(void)
{
    uint8_t *t = (uint8_t *)TRAMP_ADDR;
    memcpy(t, lk_tramp, (size_t)(lk_tramp_end - lk_tramp));
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) g = { sizeof(gdt) - 1, (uint32_t)gdt };
    memcpy(t + (lk_tramp_gdtr - lk_tramp), &g, 6);
    send_ipi(0x000c4500); /* INIT, all excluding self */
    for (volatile int i = 0; i < 100000; i++) { }
    send_ipi(0x000c4600 | (TRAMP_ADDR >> 12)); /* STARTUP */
    for (volatile int i = 0; i < 10000; i++) { }
    if (ap_started < ncpu - 1) send_ipi(0x000c4600 | (TRAMP_ADDR >> 12)); /* the second SIPI */
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    serial_init();
    sys_init();
    ncpu = fwcfg_cpus();
    iters = cmdline_uint(info, "iters", ITERS);
    printf("smplock guest: %u CPUs, %u iterations\n", ncpu, iters);
    if (ncpu < 2 || ncpu > MAX_CPUS) {
        check_true(0, "fw_cfg reports 2 to 8 CPUs");
        return check_finish();
    }
    apic_write(APIC_SVR, 0x1ff);
    code_page[0] = 0xb8; /* mov $7, %eax; ret */
    *(uint32_t *)(void *)(code_page + 1) = 7;
    code_page[5] = 0xc3;
    *SPLIT_CTR = 0;
    *ODD_WORD = 0;
    *CODE_CTR = 0;

    start_aps();
    check_true(wait_count(&ap_started, ncpu - 1), "every AP started after INIT-SIPI-SIPI");

    static const char *const names[NSPLIT] = { "LOCK ADD", "LOCK XADD", "LOCK INC",
                                               "LOCK ADD and LOCK ADD of its upper half" };
    for (uint32_t p = 0; p < NSPLIT; p++) {
        uint32_t before = *SPLIT_CTR;
        __atomic_store_n(&go_phase, p + 1, __ATOMIC_SEQ_CST);
        split_ops[p](0);
        __atomic_fetch_add(&phase_done[0], 1, __ATOMIC_SEQ_CST);
        check_true(wait_count(&phase_done[0], ncpu * (p + 1)), "every CPU finished the phase");
        uint32_t got = *SPLIT_CTR - before, want = ncpu * iters;
        if (p == 3) want = (ncpu + 1) / 2 * iters + (ncpu / 2) * iters * 65536u; /* modulo 2^32 */
        printf("split counter, %s: %u (want %u)\n", names[p], got, want);
        check_u32(got, want, "page-split counter total");
        if (p == 1) {
            uint32_t t = ncpu * iters;
            /* before, before+1, ..., before+t-1, each returned once */
            uint32_t want = t * before + (t % 2 ? t * ((t - 1) / 2) : (t / 2) * (t - 1));
            check_u32(xadd_sum, want, "sum of the values LOCK XADD returned");
        }
    }
    odd_or_and(0);
    __atomic_fetch_add(&phase_done[1], 1, __ATOMIC_SEQ_CST);
    check_true(wait_count(&phase_done[1], ncpu), "every CPU finished LOCK OR/AND");
    printf("misaligned word, LOCK OR/AND: %u lost updates, final 0x%x\n", bit_errors, *ODD_WORD);
    check_u32(bit_errors, 0, "LOCK OR/AND lost updates");
    check_u32(*ODD_WORD, 0, "misaligned word at the end");

    __atomic_fetch_add(&code_bad, code_cmpxchg(), __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&phase_done[2], 1, __ATOMIC_SEQ_CST);
    check_true(wait_count(&phase_done[2], ncpu), "every CPU finished LOCK CMPXCHG");
    printf("code-page counter, LOCK CMPXCHG: %u (want %u)\n", *CODE_CTR, ncpu * (iters / CODE_ITERS_DIV));
    check_u32(*CODE_CTR, ncpu * (iters / CODE_ITERS_DIV), "code-page counter total");
    check_u32(code_bad, 0, "calls of the code on the counter's page");
    return check_finish();
}
