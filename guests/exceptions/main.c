/* Exceptions guest: provokes each protected-mode exception bt86 must deliver
 * (#DE #BR #UD #NM #NP #SS #GP #PF #BP #OF #AC #DF) and checks, through the
 * default trap handler of guests/lib/sys, the vector, the exact error code,
 * the saved EIP (the faulting instruction for faults, the next one for
 * traps) and CR2 for #PF. Each probe is one inline-asm block: it stores the
 * address of the resume label in trap_resume and the instruction's own
 * address (label 0) and the next one's (label 1) in C variables. */
#include "../lib/sys/sys.h"

/* Runs INSN (asm text) with label 0 on it and label 1 after it. */
#define PROBE(insn, ...)                                                               \
    __asm__ volatile("movl $1f, trap_resume\n\t"                                   \
                     "movl $0f, %[at]\n\t"                                         \
                     "movl $1f, %[nx]\n"                                           \
                     "0:\t" insn "\n"                                              \
                     "1:\n"                                                        \
                     : [at] "=m"(at), [nx] "=m"(nx) __VA_ARGS__)

static uint32_t at, nx;
/* "strict" on the command line: also run the checks QEMU's TCG does not
 * model (segment limits/rights of ordinary data accesses, #AC, LOCK on a
 * non-lockable instruction); their expected output follows the SDM. */
static int strict;
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint8_t ustack[8192] __attribute__((aligned(16)));

/* Ring-3 probes (entered with user_run; each ends with the exit syscall). */
extern char u_ac[], u_ac_fault[], u_ac_after[];
extern char u_cli[], u_cli_fault[], u_cli_after[];
extern char u_int[], u_int_fault[], u_int_after[];
extern char u_pf[], u_pf_fault[], u_pf_after[];
extern volatile uint32_t u_pf_addr;
__asm__(".text\n"
        /* #AC: EFLAGS.AC set at CPL 3, misaligned dword read */
        "u_ac:\n\t"
        "pushfl\n\torl $0x40000, (%esp)\n\tpopfl\n\t"
        "movl $u_buf + 1, %ebx\n"
        "u_ac_fault:\n\tmovl (%ebx), %eax\n"
        "u_ac_after:\n\t"
        "pushfl\n\tandl $~0x40000, (%esp)\n\tpopfl\n\t"
        "xorl %eax, %eax\n\txorl %ebx, %ebx\n\tint $0x80\n"
        /* CLI at CPL 3 with IOPL 0 */
        "u_cli:\n"
        "u_cli_fault:\n\tcli\n"
        "u_cli_after:\n\t"
        "xorl %eax, %eax\n\txorl %ebx, %ebx\n\tint $0x80\n"
        /* INT n through a DPL-0 gate from CPL 3 */
        "u_int:\n"
        "u_int_fault:\n\tint $0x42\n"
        "u_int_after:\n\t"
        "xorl %eax, %eax\n\txorl %ebx, %ebx\n\tint $0x80\n"
        /* a read of the address in u_pf_addr */
        "u_pf:\n\tmovl u_pf_addr, %ebx\n"
        "u_pf_fault:\n\tmovl (%ebx), %eax\n"
        "u_pf_after:\n\t"
        "xorl %eax, %eax\n\txorl %ebx, %ebx\n\tint $0x80\n"
        ".data\n.balign 4\n"
        "u_pf_addr: .long 0\n"
        "u_buf: .long 0, 0\n"
        ".text\n");

static uint32_t user(void (*fn)(char *), char *resume)
{
    trap_clear();
    trap_resume = (uint32_t)resume;
    uint32_t r = user_run((void (*)(void))fn, (uint32_t)(ustack + sizeof(ustack)), 0x2);
    /* the kernel resumes with whatever flags the exit syscall had; drop AC */
    __asm__ volatile("pushfl; andl $~0x40000, (%%esp); popfl" ::: "memory");
    return r;
}
#define USER(name) user((void (*)(char *))name, name##_after)

static void divide_errors(void)
{
    trap_clear();
    PROBE("divl %%ecx", : "a"(1), "d"(0), "c"(0));
    expect_trap("DIV by zero", 0, NO_ERR, at);
    PROBE("idivl %%ecx", : "a"(0x80000000u), "d"(0xffffffffu), "c"(0xffffffffu));
    expect_trap("IDIV INT_MIN/-1 overflow", 0, NO_ERR, at);
    PROBE("divb %%cl", : "a"(0x1000), "c"(0x10) : "edx");
    expect_trap("DIV r/m8 quotient overflow", 0, NO_ERR, at);
    PROBE("divb %%cl", : "a"(0x0fff), "c"(0x10) : "edx");
    expect_no_trap("DIV r/m8 quotient 0xff");
}

static void traps(void)
{
    trap_clear();
    PROBE("int3");
    expect_trap("INT3", 3, NO_ERR, nx);
    PROBE(".byte 0xcd, 0x03");
    expect_trap("INT 3 (CD 03)", 3, NO_ERR, nx);
    __asm__ volatile("movl $0x7fffffff, %%eax\n\taddl $1, %%eax\n\t"
                     "movl $1f, trap_resume\n\tmovl $0f, %[at]\n\tmovl $1f, %[nx]\n"
                     "0:\tinto\n1:\n"
                     : [at] "=m"(at), [nx] "=m"(nx) : : "eax", "cc");
    expect_trap("INTO with OF=1", 4, NO_ERR, nx);
    __asm__ volatile("xorl %%eax, %%eax\n\t"
                     "movl $1f, trap_resume\n"
                     "into\n1:\n" : : : "eax", "cc");
    expect_no_trap("INTO with OF=0");
}

static void bound_ud_nm(void)
{
    static int32_t bounds[2] = {10, 20};
    trap_clear();
    PROBE("boundl %%eax, (%%ebx)", : "a"(21), "b"(bounds));
    expect_trap("BOUND above upper", 5, NO_ERR, at);
    PROBE("boundl %%eax, (%%ebx)", : "a"(9), "b"(bounds));
    expect_trap("BOUND below lower", 5, NO_ERR, at);
    PROBE("boundl %%eax, (%%ebx)", : "a"(20), "b"(bounds));
    expect_no_trap("BOUND at upper bound");

    PROBE("ud2");
    expect_trap("UD2", 6, NO_ERR, at);
    PROBE(".byte 0x0f, 0x20, 0xc8", : : "eax");   /* MOV %cr1, %eax */
    expect_trap("MOV from CR1", 6, NO_ERR, at);
    if (strict) {
        PROBE(".byte 0xf0, 0x89, 0xc3", : : "ebx");   /* LOCK MOV %eax,%ebx */
        expect_trap("LOCK on MOV", 6, NO_ERR, at);
    }

    uint32_t cr0 = read_cr0();
    write_cr0(cr0 | CR0_TS | CR0_MP);
    PROBE("fld1");
    expect_trap("x87 with CR0.TS=1", 7, NO_ERR, at);
    PROBE("fwait");
    expect_trap("FWAIT with CR0.TS=1 MP=1", 7, NO_ERR, at);
    __asm__ volatile("clts");
    PROBE("fninit; fld1; fstp %%st(0)");
    expect_no_trap("x87 after CLTS");
    write_cr0((cr0 & ~CR0_TS) | CR0_EM);
    PROBE("fldz");
    expect_trap("x87 with CR0.EM=1", 7, NO_ERR, at);
    write_cr0(cr0 & ~(CR0_EM | CR0_TS));

    /* #MF: an unmasked x87 exception (ZE) is reported at the next waiting
     * x87 instruction when CR0.NE=1 */
    static const uint16_t cw_zm = 0x037b;     /* ZE unmasked */
    write_cr0(read_cr0() | CR0_NE | CR0_MP);
    __asm__ volatile("fninit\n\tfldcw %0\n\tfld1\n\tfldz\n\tfdivrp" : : "m"(cw_zm));
    PROBE("fwait");
    __asm__ volatile("fnclex\n\tfninit");
    expect_trap("x87 divide by zero unmasked, CR0.NE=1: FWAIT", 16, NO_ERR, at);
    write_cr0(cr0);
}

/* Limit and type checks of ordinary data accesses (not modelled by QEMU). */
static void segment_limits(void)
{
    uint32_t v;
    /* 0x50: expand-down stack segment, valid offsets 0x100000..0xffffffff */
    gdt_set(10, 0, 0xfffff, ACC_P | ACC_S | ACC_WRITE | ACC_EXPDN, FLG_DB);
    PROBE("movw %%ax, %%ss\n\tmovl %%ss:0x1000, %%ebx\n\tmovw %%cx, %%ss", : "a"(0x50), "c"(SEL_KDATA) : "ebx");
    __asm__ volatile("movw %%ax, %%ss" : : "a"(SEL_KDATA));
    /* the fault is on the second instruction of the probe (MOV SS is 2 bytes) */
    expect_trap("SS:0x1000 below expand-down limit", 12, 0, at + 2);
    /* 0x58: read-only data, limit 0xfff bytes */
    gdt_set(11, 0, 0xfff, ACC_P | ACC_S, 0);
    __asm__ volatile("movw %%ax, %%fs" : : "a"(0x58));
    PROBE("movl %%fs:0x1000, %%ebx", : : "ebx");
    expect_trap("FS:0x1000 beyond limit 0xfff", 13, 0, at);
    PROBE("movl %%fs:0xffe, %%ebx", : : "ebx");
    expect_trap("FS:0xffe dword straddles the limit", 13, 0, at);
    PROBE("movl %%fs:0xffc, %%ebx", : : "ebx");
    expect_no_trap("FS:0xffc dword inside the limit");
    PROBE("movl %%ebx, %%fs:0x10", : "b"(0));
    expect_trap("write to read-only data segment", 13, 0, at);
    __asm__ volatile("movw %%ax, %%fs" : : "a"(SEL_KDATA));
    PROBE("movl %%ebx, %%cs:(%%ecx)", : "b"(0), "c"(&v));
    expect_trap("write through CS", 13, 0, at);
}

static void segment_faults(void)
{
    trap_clear();
    /* 0x40: data segment, not present */
    gdt_set(8, 0, 0xfffff, ACC_S | ACC_WRITE, FLG_G | FLG_DB);
    PROBE("movw %%ax, %%fs", : "a"(0x40));
    expect_trap("load FS with not-present segment", 11, 0x40, at);
    /* not-present IDT gate for INT 0x41 */
    idt_set_gate(0x41, SEL_KCODE, idt_stub(0x41), 0xE, 0, 0);
    PROBE("int $0x41");
    expect_trap("INT to not-present gate", 11, 0x41 * 8 + 2, at);
    idt_restore(0x41);
    /* 0x48: stack segment, not present */
    gdt_set(9, 0, 0xfffff, ACC_S | ACC_WRITE, FLG_G | FLG_DB);
    PROBE("movw %%ax, %%ss", : "a"(0x48));
    expect_trap("load SS with not-present segment", 12, 0x48, at);
    if (strict)
        segment_limits();
    PROBE("movw %%ax, %%ds", : "a"(0x80));
    expect_trap("load DS beyond the GDT limit", 13, 0x80, at);
    PROBE("movw %%ax, %%ss", : "a"(0));
    expect_trap("load SS with the null selector", 13, 0, at);
    PROBE("ljmp $0x10, $2f\n2:");
    expect_trap("far JMP to a data segment", 13, 0x10, at);
    if (strict) {   /* QEMU 7.2 takes the write (and then hangs) */
        PROBE("movl %%eax, %%cr4", : "a"(read_cr4() | 0x80000000u));
        expect_trap("MOV CR4 with reserved bit 31", 13, 0, at);
    }

    /* INT n beyond the IDT limit */
    struct __attribute__((packed)) { uint16_t limit; uint32_t base; } small = {0x50 * 8 - 1, (uint32_t)idt},
        full = {sizeof(idt) - 1, (uint32_t)idt};
    __asm__ volatile("lidt %0" : : "m"(small));
    PROBE("int $0x60");
    __asm__ volatile("lidt %0" : : "m"(full));
    expect_trap("INT 0x60 beyond the IDT limit", 13, 0x60 * 8 + 2, at);
    PROBE("movw %%ax, %%ss", : "a"(0x13));
    expect_trap("load SS with RPL 3 at CPL 0", 13, 0x10, at);
}

static void page_faults(void)
{
    /* 4 MiB identity pages for the low 128 MiB, user-accessible;
     * 0x40000000 not present; 0x40400000 a supervisor-only 4 MiB page */
    for (unsigned i = 0; i < 1024; i++)
        pd[i] = 0;
    for (unsigned i = 0; i < 32; i++)
        pd[i] = (i << 22) | 0x87;
    pd[0x101] = (8u << 22) | 0x83;
    write_cr3((uint32_t)pd);
    write_cr4(read_cr4() | CR4_PSE);
    write_cr0(read_cr0() | CR0_PG);

    trap_clear();
    PROBE("movl (%%ebx), %%eax", : "b"(0x40000123) : "eax");
    expect_trap("#PF read not present", 14, 0, at);
    check_u32(read_cr2(), 0x40000123, "#PF read not present: CR2");
    PROBE("movl %%eax, (%%ebx)", : "b"(0x40000ffe), "a"(0));
    expect_trap("#PF write not present", 14, 2, at);
    check_u32(read_cr2(), 0x40000ffe, "#PF write not present: CR2");
    PROBE("movl (%%ebx), %%eax", : "b"(0x40400010) : "eax");
    expect_no_trap("supervisor read of a supervisor page");

    u_pf_addr = 0x40000010;
    USER(u_pf);
    expect_trap("#PF user read not present", 14, 4, (uint32_t)u_pf_fault);
    u_pf_addr = 0x40400020;
    USER(u_pf);
    expect_trap("#PF user read of supervisor page", 14, 5, (uint32_t)u_pf_fault);
    check_u32(last_trap.cr2, 0, "trap_clear resets the log");
    u_pf_addr = 0x40400024;
    trap_clear();
    trap_resume = (uint32_t)u_pf_after;
    user_run((void (*)(void))u_pf, (uint32_t)(ustack + sizeof(ustack)), 0x2);
    check_u32(last_trap.cr2, 0x40400024, "#PF user read of supervisor page: CR2");
    trap_clear();

    write_cr0(read_cr0() & ~CR0_PG);
}

static void user_faults(void)
{
    USER(u_cli);
    expect_trap("CLI at CPL 3, IOPL 0", 13, 0, (uint32_t)u_cli_fault);
    USER(u_int);
    expect_trap("INT 0x42 through a DPL-0 gate at CPL 3", 13, 0x42 * 8 + 2, (uint32_t)u_int_fault);

    if (strict) {
        write_cr0(read_cr0() | CR0_AM);
        USER(u_ac);
        expect_trap("misaligned read at CPL 3, AC=1 AM=1", 17, 0, (uint32_t)u_ac_fault);
    }
    write_cr0(read_cr0() & ~CR0_AM);
    USER(u_ac);
    expect_no_trap("misaligned read at CPL 3, AC=1 AM=0");
}

static void double_fault(void)
{
    trap_clear();
    idt_set_gate(13, SEL_KCODE, idt_stub(13), 0xE, 0, 0);
    PROBE("movw %%ax, %%ds", : "a"(0x80));
    /* the saved EIP of #DF is undefined: not checked */
    expect_trap("#GP with a not-present #GP gate gives #DF", 8, 0, 0);
    idt_restore(13);
    PROBE("movw %%ax, %%ds", : "a"(0x80));
    expect_trap("#GP again with the gate restored", 13, 0x80, at);
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    serial_init();
    strict = cmdline_has(info, "strict");
    sys_init();
    printf("exceptions guest\n");
    divide_errors();
    traps();
    bound_ud_nm();
    segment_faults();
    page_faults();
    user_faults();
    double_fault();
    return check_finish();
}
