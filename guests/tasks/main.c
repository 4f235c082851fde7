/* Tasks guest: hardware task switching with 32-bit TSSs. A far CALL to a
 * TSS (nested: NT and the back link set, both TSSs busy, IRET returns), a
 * far JMP to a TSS (not nested: the old TSS is released, a JMP returns),
 * the registers each task gets from its TSS, CR0.TS set by a switch, a CALL
 * to a busy TSS (#GP), and #DF delivered through a task gate to a task with
 * its own stack, which reads the error code and sends the faulting task on
 * to its resume point. */
#include "../lib/sys/sys.h"

#define SEL_TSS_B 0x68          /* GDT 13 */
#define SEL_TSS_C 0x70          /* GDT 14: the #DF task */

static struct tss32 tss_b __attribute__((aligned(128)));
static struct tss32 tss_c __attribute__((aligned(128)));
static uint8_t stack_b[4096] __attribute__((aligned(16)));
static uint8_t stack_c[4096] __attribute__((aligned(16)));

/* what task B saw (written by the asm below) */
volatile uint32_t b_runs, b_eax, b_ebx, b_eflags, b_tr, b_cs;
/* what the #DF task saw */
volatile uint32_t c_runs, c_err, c_eflags, c_tr;

extern char task_b_entry[], task_c_entry[];
__asm__(".text\n"
        "task_b_entry:\n\t"
        "incl b_runs\n\t"
        "movl %eax, b_eax\n\t"
        "movl %ebx, b_ebx\n\t"
        "pushfl\n\tpopl b_eflags\n\t"
        "str %ax\n\tmovzwl %ax, %eax\n\tmovl %eax, b_tr\n\t"
        "movw %cs, %ax\n\tmovzwl %ax, %eax\n\tmovl %eax, b_cs\n\t"
        "movl $0xbbbbbbbb, %esi\n\t"        /* clobbers no one: task A keeps its ESI */
        "testl $0x4000, b_eflags\n\t"
        "jz 1f\n\t"
        "iret\n\t"                          /* nested (CALL): back through the link */
        "jmp task_b_entry\n"
        "1:\tljmp $0x28, $0\n\t"            /* entered by JMP: jump back to task A */
        "jmp task_b_entry\n"

        "task_c_entry:\n\t"
        "popl c_err\n\t"                    /* #DF pushes an error code on the new stack */
        "incl c_runs\n\t"
        "pushfl\n\tpopl c_eflags\n\t"
        "str %ax\n\tmovzwl %ax, %eax\n\tmovl %eax, c_tr\n\t"
        "movl trap_resume, %eax\n\t"
        "movl %eax, tss + 0x20\n\t"         /* the faulting task resumes there */
        "iret\n\t"
        "jmp task_c_entry\n");

static void tss_setup(struct tss32 *t, void *entry, uint8_t *stack, size_t stack_len)
{
    memset(t, 0, sizeof(*t));
    t->eip = (uint32_t)entry;
    t->esp = (uint32_t)(stack + stack_len);
    t->esp0 = kstack0_top();
    t->ss0 = SEL_KDATA;
    t->cs = SEL_KCODE;
    t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
    t->eflags = 0x2;
    t->cr3 = read_cr3();
    t->iomap = sizeof(*t);
}

static uint32_t gdt_type(unsigned sel) { return (uint32_t)(gdt[sel >> 3] >> 40) & 0xf; }

static uint32_t at;
#define PROBE(insn, ...)                                                               \
    do {                                                                               \
        __asm__ volatile("" ::: "memory");                                             \
        __asm__ volatile("movl $1f, trap_resume\n\t"                                   \
                         "movl $0f, %[at]\n"                                           \
                         "0:\t" insn "\n"                                              \
                         "1:\n"                                                        \
                         : [at] "=m"(at) __VA_ARGS__);                                 \
        __asm__ volatile("" ::: "memory");                                             \
    } while (0)

static void call_and_jmp(void)
{
    tss_setup(&tss_b, task_b_entry, stack_b, sizeof(stack_b));
    tss_b.eax = 0x11223344;
    tss_b.ebx = 0x55667788;
    gdt_set(SEL_TSS_B >> 3, (uint32_t)&tss_b, sizeof(tss_b) - 1, ACC_P | 0x09, 0);

    uint32_t esi_after, eflags_after;
    __asm__ volatile("movl $0x5a5a5a5a, %%esi\n\t"
                     "lcall $0x68, $0\n\t"
                     "movl %%esi, %0\n\t"
                     "pushfl\n\tpopl %1"
                     : "=r"(esi_after), "=r"(eflags_after) : : "esi", "eax", "ebx", "memory");
    check_u32(b_runs, 1, "CALL to a TSS runs task B");
    check_u32(b_eax, 0x11223344, "task B: EAX loaded from its TSS");
    check_u32(b_ebx, 0x55667788, "task B: EBX loaded from its TSS");
    check_u32(b_cs, SEL_KCODE, "task B: CS loaded from its TSS");
    check_u32(b_tr, SEL_TSS_B, "task B: TR = its TSS selector");
    check_u32(b_eflags & 0x4000, 0x4000, "task B entered by CALL: EFLAGS.NT set");
    check_u32(tss_b.link, SEL_TSS, "task B's back link = task A's TSS");
    check_u32(esi_after, 0x5a5a5a5a, "task A: ESI restored from its TSS after IRET");
    check_u32(eflags_after & 0x4000, 0, "task A after IRET: NT clear");
    check_u32(gdt_type(SEL_TSS_B), 0x9, "task B's TSS not busy after IRET");
    check_u32(gdt_type(SEL_TSS), 0xb, "task A's TSS busy");
    check_u32(read_cr0() & CR0_TS, CR0_TS, "task switch sets CR0.TS");
    __asm__ volatile("clts");

    tss_b.link = 0;
    __asm__ volatile("movl $0x6b6b6b6b, %%esi\n\t"
                     "ljmp $0x68, $0\n\t"
                     "movl %%esi, %0"
                     : "=r"(esi_after) : : "esi", "eax", "ebx", "memory");
    uint32_t tr;
    __asm__ volatile("str %%ax\n\tmovzwl %%ax, %0" : "=r"(tr) : : "eax");
    check_u32(b_runs, 2, "JMP to a TSS runs task B");
    check_u32(b_eflags & 0x4000, 0, "task B entered by JMP: EFLAGS.NT clear");
    check_u32(tss_b.link, 0, "JMP leaves the back link alone");
    check_u32(tr, SEL_TSS, "JMP back from task B: TR = task A's TSS");
    check_u32(esi_after, 0x6b6b6b6b, "task A: ESI restored after the JMP back");
    check_u32(gdt_type(SEL_TSS_B), 0x9, "task B's TSS released by its JMP away");
    check_u32(gdt_type(SEL_TSS), 0xb, "task A's TSS busy again");
    __asm__ volatile("clts");

    trap_clear();
    PROBE("lcall $0x28, $0");
    expect_trap("CALL to the busy TSS of the current task", 13, SEL_TSS, at);
}

static void double_fault_task(void)
{
    tss_setup(&tss_c, task_c_entry, stack_c, sizeof(stack_c));
    gdt_set(SEL_TSS_C >> 3, (uint32_t)&tss_c, sizeof(tss_c) - 1, ACC_P | 0x09, 0);
    idt_set_task_gate(8, SEL_TSS_C, 0);
    idt_set_gate(13, SEL_KCODE, idt_stub(13), 0xE, 0, 0);     /* #GP gate not present */
    trap_clear();
    PROBE("movw %%ax, %%ds", : "a"(0x80));                     /* #GP -> #NP -> #DF */
    idt_restore(13);
    idt_restore(8);
    check_u32(c_runs, 1, "#DF through a task gate runs the #DF task");
    check_u32(c_err, 0, "#DF task: error code 0 on its stack");
    check_u32(c_tr, SEL_TSS_C, "#DF task: TR = its TSS");
    check_u32(c_eflags & 0x4000, 0x4000, "#DF task: NT set (nested)");
    check_u32(tss_c.link, SEL_TSS, "#DF task: back link = the faulting task");
    check_u32(last_trap.count, 0, "no exception reached the ordinary handlers");
    check_u32(gdt_type(SEL_TSS_C), 0x9, "#DF TSS not busy after its IRET");
    __asm__ volatile("clts");
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    (void)info;
    serial_init();
    sys_init();
    printf("tasks guest\n");
    call_and_jmp();
    double_fault_task();
    return check_finish();
}
