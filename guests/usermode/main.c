/* Usermode guest: ring-3 tasks and the ways into and out of the kernel.
 * INT 0x80 system calls through a DPL-3 trap gate (stack switch to TSS
 * ESP0, IRET back), SYSENTER/SYSEXIT through MSRs 0x174-0x176, two ring-3
 * tasks switched by a yield system call, privileged instructions at CPL 3
 * ending the task through the kernel's #GP handler, IOPL 3 and the TSS I/O
 * permission bitmap. User code is plain C using only system calls. */
#include "../lib/sys/sys.h"

#define SYS_WRITE  3    /* ebx = string */
#define SYS_GETPID 4
#define SYS_YIELD  5
#define SYS_INFO   6    /* returns the CPL seen by the kernel in bits 0-1 */
#define SYS_KSEGS  7    /* returns to ring 3 with DS/ES = kernel data in the frame */

static uint8_t stack_a[8192] __attribute__((aligned(16)));
static uint8_t stack_b[8192] __attribute__((aligned(16)));
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));

static inline uint32_t sys_int(uint32_t nr, uint32_t arg)
{
    uint32_t r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(arg) : "memory");
    return r;
}

/* SYSENTER with ECX = return ESP, EDX = return EIP (our convention). */
static inline uint32_t sys_fast(uint32_t nr, uint32_t arg)
{
    uint32_t r;
    __asm__ volatile("pushl %%ebp\n\t"
                     "movl %%esp, %%ecx\n\t"
                     "movl $1f, %%edx\n\t"
                     "sysenter\n"
                     "1:\tpopl %%ebp"
                     : "=a"(r) : "a"(nr), "b"(arg) : "ecx", "edx", "memory");
    return r;
}

/* ---- kernel side: INT 0x80 ---- */
static struct {
    uint32_t calls, cs, ss, user_esp, frame, eflags;
} seen;

#define MAX_TASKS 2
static struct trap_frame saved[MAX_TASKS];
static int cur_task, n_live;
static int live[MAX_TASKS];

static void switch_task(struct trap_frame *f, int to)
{
    saved[cur_task] = *f;
    cur_task = to;
    *f = saved[to];
}

static void syscall_int(struct trap_frame *f)
{
    seen.calls++;
    seen.cs = f->cs & 0xffff;
    seen.ss = f->user_ss & 0xffff;
    seen.user_esp = f->user_esp;
    seen.frame = (uint32_t)f;
    seen.eflags = read_eflags();
    switch (f->eax) {
    case SYS_EXIT:
        live[cur_task] = 0;
        if (--n_live > 0) {                 /* run the other task */
            int other = cur_task ^ 1;
            cur_task = other;
            *f = saved[other];
            return;
        }
        user_return(f->ebx);
    case SYS_WRITE:
        serial_puts((const char *)f->ebx);
        f->eax = 0;
        return;
    case SYS_GETPID:
        f->eax = 100 + cur_task;
        return;
    case SYS_YIELD:
        f->eax = 0;
        if (n_live > 1)
            switch_task(f, cur_task ^ 1);
        return;
    case SYS_INFO:
        f->eax = f->cs & 3;
        return;
    case SYS_KSEGS:
        /* IRET to CPL 3 must null data segment registers whose DPL < 3 */
        f->ds = f->es = SEL_KDATA;
        f->fs = SEL_UDATA;
        f->eax = 0;
        return;
    default:
        f->eax = 0xffffffffu;
    }
}

/* ---- kernel side: SYSENTER ---- */
static struct { uint32_t calls, cs, ss, esp; } fast_seen;
uint32_t sysenter_c(uint32_t nr, uint32_t arg);
uint32_t sysenter_c(uint32_t nr, uint32_t arg)
{
    uint16_t cs, ss;
    uint32_t esp;
    __asm__ volatile("movw %%cs, %0; movw %%ss, %1; movl %%esp, %2" : "=r"(cs), "=r"(ss), "=r"(esp));
    fast_seen.calls++;
    fast_seen.cs = cs;
    fast_seen.ss = ss;
    fast_seen.esp = esp;
    switch (nr) {
    case SYS_EXIT:
        user_return(arg);
    case SYS_WRITE:
        serial_puts((const char *)arg);
        return 0;
    case SYS_GETPID:
        return 100 + cur_task;
    default:
        return 0xffffffffu;
    }
}
extern char sysenter_entry[];
__asm__(".text\n"
        "sysenter_entry:\n\t"
        "pushl %ecx\n\tpushl %edx\n\t"
        "pushl %ebx\n\tpushl %eax\n\t"
        "call sysenter_c\n\t"
        "addl $8, %esp\n\t"
        "popl %edx\n\tpopl %ecx\n\t"
        "sysexit\n");

/* ---- kernel side: #GP from ring 3 ends the task ---- */
static struct { uint32_t err, eip, cs; } gp_seen;
static void gp_handler(struct trap_frame *f)
{
    gp_seen.err = f->err;
    gp_seen.eip = f->eip;
    gp_seen.cs = f->cs & 0xffff;
    if ((f->cs & 3) == 0) {
        printf("not ok - #GP in the kernel at %08x\n", f->eip);
        guest_exit(1);
    }
    user_return(0xdead000d);
}

/* ---- user tasks ---- */
static void task_hello(void)
{
    sys_int(SYS_WRITE, (uint32_t)"user: hello through INT 0x80\n");
    uint32_t pid = sys_int(SYS_GETPID, 0);
    uint32_t cpl = sys_int(SYS_INFO, 0);
    uint16_t cs;
    __asm__ volatile("movw %%cs, %0" : "=r"(cs));
    sys_int(SYS_EXIT, pid << 8 | cpl << 4 | (cs & 3));
}

static void task_fast(void)
{
    sys_fast(SYS_WRITE, (uint32_t)"user: hello through SYSENTER\n");
    uint32_t pid = sys_fast(SYS_GETPID, 0);
    uint32_t r2 = sys_fast(99, 0);
    uint16_t cs, ss;
    __asm__ volatile("movw %%cs, %0; movw %%ss, %1" : "=r"(cs), "=r"(ss));
    sys_fast(SYS_EXIT, pid << 8 | (r2 == 0xffffffffu) | (uint32_t)(cs == SEL_UCODE && ss == SEL_UDATA) << 1);
}

/* Reports DS, ES, FS after an IRET whose frame held kernel DS/ES. */
extern char task_ksegs[];
__asm__(".text\n"
        "task_ksegs:\n\t"
        "movl $7, %eax\n\tint $0x80\n\t"
        "xorl %ebx, %ebx\n\t"
        "movw %ds, %bx\n\t"
        "movw %es, %cx\n\tshll $16, %ecx\n\torl %ecx, %ebx\n\t"
        "movw %fs, %cx\n\tcmpw $0x23, %cx\n\tjne 1f\n\torl $0x8000, %ebx\n"
        "1:\tmovw $0x23, %ax\n\tmovw %ax, %ds\n\tmovw %ax, %es\n\t"
        "xorl %eax, %eax\n\tint $0x80\n");

static void task_a(void)
{
    for (int i = 0; i < 3; i++) {
        char msg[] = "task A step 0\n";
        msg[12] = (char)('0' + i);
        sys_int(SYS_WRITE, (uint32_t)msg);
        sys_int(SYS_YIELD, 0);
    }
    sys_int(SYS_EXIT, 0xa);
}

static void task_b(void)
{
    for (int i = 0; i < 3; i++) {
        char msg[] = "task B step 0\n";
        msg[12] = (char)('0' + i);
        sys_int(SYS_WRITE, (uint32_t)msg);
        sys_int(SYS_YIELD, 0);
    }
    sys_int(SYS_EXIT, 0xb);
}

/* privileged instructions, each a task of its own */
extern char p_hlt[], p_cr0[], p_in[], p_lgdt[], p_wrmsr[], p_sysexit[], p_out80[], p_out81[], p_cli[];
__asm__(".text\n"
        "p_hlt: hlt\n"
        "p_cr0: movl %cr0, %eax\n"
        "p_in: inb $0x80, %al\n"
        "p_lgdt: lgdt (%esp)\n"
        "p_wrmsr: movl $0x174, %ecx\n\twrmsr\n"
        "p_sysexit: sysexit\n"
        "p_cli: sti\n\tcli\n\tmovl $0, %eax\n\tmovl $0x10e, %ebx\n\tint $0x80\n"
        "p_out80: outb %al, $0x80\n\tmovl $0, %eax\n\tmovl $0x80, %ebx\n\tint $0x80\n"
        "p_out81: outb %al, $0x81\n\tmovl $0, %eax\n\tmovl $0x81, %ebx\n\tint $0x80\n");

static void task_iopl(void)
{
    serial_puts("user: IOPL 3 writes COM1 directly\n");
    sys_int(SYS_EXIT, 0x10);
}

static uint32_t run(void (*fn)(void), uint32_t eflags)
{
    return user_run(fn, (uint32_t)(stack_a + sizeof(stack_a)), eflags);
}

/* A second TSS with an I/O permission bitmap allowing port 0x80 only. */
static struct {
    struct tss32 t;
    uint8_t iobitmap[8192 + 1];
} __attribute__((packed, aligned(128))) iotss;

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    (void)info;
    serial_init();
    sys_init();
    printf("usermode guest\n");
    trap_set_handler(0x80, syscall_int);

    /* INT 0x80 */
    cur_task = 0;
    n_live = 1;
    uint32_t r = run(task_hello, 0x2);
    check_u32(r, 100 << 8 | 3 << 4 | 3, "INT 0x80 task: pid 100, kernel saw CPL 3, CS RPL 3");
    check_u32(seen.cs, SEL_UCODE, "INT 0x80 frame: CS");
    check_u32(seen.ss, SEL_UDATA, "INT 0x80 frame: SS");
    check_true(seen.user_esp > (uint32_t)stack_a && seen.user_esp <= (uint32_t)stack_a + sizeof(stack_a),
               "INT 0x80 frame: ESP on the user stack");
    check_true(seen.frame >= kstack0_top() - 16384 && seen.frame < kstack0_top(),
               "INT 0x80 handler runs on the TSS ESP0 stack");
    check_u32(seen.frame + sizeof(struct trap_frame), kstack0_top(), "INT 0x80 frame ends at ESP0");
    check_u32(seen.eflags & EF_IF, 0, "handler runs with IF=0");
    check_u32(seen.calls, 4, "INT 0x80 task made 4 calls");

    /* SYSENTER / SYSEXIT */
    wrmsr(0x174, SEL_KCODE);
    wrmsr(0x175, (uint32_t)(sysenter_stack + sizeof(sysenter_stack)));
    wrmsr(0x176, (uint32_t)sysenter_entry);
    check_u64(rdmsr(0x174), SEL_KCODE, "SYSENTER_CS MSR reads back");
    check_u64(rdmsr(0x175), (uint32_t)(sysenter_stack + sizeof(sysenter_stack)), "SYSENTER_ESP MSR reads back");
    check_u64(rdmsr(0x176), (uint32_t)sysenter_entry, "SYSENTER_EIP MSR reads back");
    r = run(task_fast, 0x2);
    check_u32(r, 100 << 8 | 3, "SYSENTER task: pid 100, bad call number gives -1, SYSEXIT to CS/SS 0x1b/0x23");
    check_u32(fast_seen.calls, 4, "SYSENTER task made 4 calls");
    check_u32(fast_seen.cs, SEL_KCODE, "SYSENTER: kernel CS = MSR 0x174");
    check_u32(fast_seen.ss, SEL_KDATA, "SYSENTER: kernel SS = CS + 8");
    check_true(fast_seen.esp < (uint32_t)(sysenter_stack + sizeof(sysenter_stack)) &&
                   fast_seen.esp >= (uint32_t)sysenter_stack,
               "SYSENTER: ESP from MSR 0x175");

    r = run((void (*)(void))task_ksegs, 0x2);
    check_u32(r, 0x8000, "IRET to CPL 3 nulls DS/ES holding DPL-0 data, keeps FS = user data");

    /* two tasks switched by yield */
    cur_task = 0;
    n_live = 2;
    live[0] = live[1] = 1;
    saved[1] = (struct trap_frame){
        .gs = SEL_UDATA, .fs = SEL_UDATA, .es = SEL_UDATA, .ds = SEL_UDATA,
        .eip = (uint32_t)task_b, .cs = SEL_UCODE, .eflags = 0x2,
        .user_esp = (uint32_t)(stack_b + sizeof(stack_b)), .user_ss = SEL_UDATA,
    };
    r = run(task_a, 0x2);
    check_u32(r, 0xb, "two tasks: the last one to exit is B");
    check_u32(live[0] | live[1], 0, "two tasks: both exited");

    /* privileged instructions at CPL 3 */
    trap_set_handler(13, gp_handler);
    static const struct { void (*fn)(void); const char *what; } priv[] = {
        {(void (*)(void))p_hlt, "HLT at CPL 3: #GP(0), task ended"},
        {(void (*)(void))p_cr0, "MOV from CR0 at CPL 3: #GP(0), task ended"},
        {(void (*)(void))p_in, "IN with IOPL 0, no bitmap: #GP(0), task ended"},
        {(void (*)(void))p_lgdt, "LGDT at CPL 3: #GP(0), task ended"},
        {(void (*)(void))p_wrmsr, "WRMSR at CPL 3: #GP(0), task ended"},
        {(void (*)(void))p_sysexit, "SYSEXIT at CPL 3: #GP(0), task ended"},
        {(void (*)(void))p_cli, "STI with IOPL 0: #GP(0), task ended"},
    };
    for (unsigned i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
        gp_seen.err = gp_seen.eip = gp_seen.cs = 0xffffffffu;
        r = run(priv[i].fn, 0x2);
        uint32_t want_eip = (uint32_t)priv[i].fn;
        if (priv[i].fn == (void (*)(void))p_wrmsr)
            want_eip += 5;                      /* after the MOV to ECX */
        check_true(r == 0xdead000d && gp_seen.err == 0 && gp_seen.eip == want_eip && gp_seen.cs == SEL_UCODE,
                   priv[i].what);
    }

    /* IOPL 3: CLI/STI and port I/O allowed at CPL 3 */
    r = run((void (*)(void))p_cli, 0x2 | EF_IOPL3);
    check_u32(r, 0x10e, "STI/CLI with IOPL 3 allowed");
    r = run(task_iopl, 0x2 | EF_IOPL3);
    check_u32(r, 0x10, "COM1 output at CPL 3 with IOPL 3");

    /* I/O permission bitmap: only port 0x80 open */
    memset(&iotss, 0xff, sizeof(iotss));
    memset(&iotss.t, 0, sizeof(iotss.t));
    iotss.t.esp0 = kstack0_top();
    iotss.t.ss0 = SEL_KDATA;
    iotss.t.iomap = sizeof(iotss.t);
    iotss.iobitmap[0x80 / 8] &= (uint8_t)~(1u << (0x80 % 8));
    gdt_set(8, (uint32_t)&iotss, sizeof(iotss) - 1, ACC_P | 0x09, 0);
    __asm__ volatile("ltr %%ax" : : "a"(SEL_SPARE0));
    r = run((void (*)(void))p_out80, 0x2);
    check_u32(r, 0x80, "OUT to port 0x80, open in the I/O bitmap");
    gp_seen.err = gp_seen.eip = 0xffffffffu;
    r = run((void (*)(void))p_out81, 0x2);
    check_true(r == 0xdead000d && gp_seen.err == 0 && gp_seen.eip == (uint32_t)p_out81,
               "OUT to port 0x81, closed in the I/O bitmap: #GP(0)");
    return check_finish();
}
