/* Modes guest: a trip from protected mode (where Multiboot starts us) down
 * through 16-bit protected mode into real mode and back (realmode.S), with
 * real-mode segment arithmetic, 64K offset wrap, a far jump, 32-bit operands,
 * INT through the IVT and the A20 gate (port 0x92 and the 8042 output port)
 * checked by the 1 MiB wraparound; then protected-mode segmentation and
 * privilege checks on segment loads and far jumps. Checks QEMU's TCG does
 * not model (limits and types of ordinary data accesses, null-selector use)
 * run only with "strict" on the command line. */
#include "../lib/sys/sys.h"

#define RM_BASE 0x20000u

extern char rm_blob_start[], rm_blob_end[];
extern char r_cs[], r_cs_far[], r_alias[], r_wrap[], r_isr[], r_isr_flags[], r_d32[], r_a20[], r_kbc[], r_ok[];
extern char r_de_ip[], r_de_want[], r_de_cs[];
void rm_call(void);

static int strict;
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

static uint32_t rm16(const char *sym) { return *(volatile uint16_t *)(RM_BASE + (uint32_t)(sym - rm_blob_start)); }
static uint32_t rm32(const char *sym) { return *(volatile uint32_t *)(RM_BASE + (uint32_t)(sym - rm_blob_start)); }
static uint32_t rm8(const char *sym, unsigned i)
{
    return *(volatile uint8_t *)(RM_BASE + (uint32_t)(sym - rm_blob_start) + i);
}

static void real_mode(void)
{
    uint32_t len = (uint32_t)(rm_blob_end - rm_blob_start);
    memcpy((void *)RM_BASE, rm_blob_start, len);
    gdt_set(SEL_CODE16 >> 3, RM_BASE, 0xffff, ACC_P | ACC_S | ACC_CODE | ACC_READ, 0);
    gdt_set(SEL_DATA16 >> 3, RM_BASE, 0xffff, ACC_P | ACC_S | ACC_WRITE, 0);
    rm_call();
    check_u32(read_cr0() & CR0_PE, CR0_PE, "back in protected mode");
    check_u32(rm16(r_ok), 0x600d, "real-mode code ran to the end");
    check_u32(rm16(r_cs), 0x2000, "real mode: CS after the far jump from 16-bit PM");
    check_u32(rm16(r_cs_far), 0x2001, "real mode: CS after far JMP 2001:x");
    check_u32(rm16(r_alias), 0xbeef, "real mode: 2000:x and 2001:x-16 are the same byte");
    check_u32(rm16(r_wrap), 0xbeef, "real mode: [BX+SI] wraps at 64K");
    check_u32(rm32(r_d32), 0x96969696, "real mode: 32-bit ADD/ROL/XOR with 0x66 prefixes");
    check_u32(rm16(r_isr), 0x5a5a, "real mode: INT 0x66 through the IVT ran the handler");
    check_u32(rm16(r_isr_flags), 0x0401, "real mode: INT pushed FLAGS (CF, DF), cleared IF and TF");
    check_u32(rm16(r_de_ip), rm16(r_de_want), "real mode: #DE via IVT 0 pushes the DIV's IP");
    check_u32(rm16(r_de_cs), 0x2000, "real mode: #DE pushes CS");
    static const char *const a20_desc[7] = {
        "A20 enabled at entry: no wrap at 1 MiB",
        "A20 off via 8042 and port 0x92: FFFF:0610 wraps to 0000:0600",
        "A20 on via port 0x92: no wrap",
        "A20 off via port 0x92: wrap",
        "A20 on via 8042 output port (0xDF): no wrap",
        "A20 off via 8042 output port (0xDD): wrap",
        "A20 on via both: no wrap",
    };
    static const uint8_t a20_want[7] = {0, 1, 0, 1, 0, 1, 0};
    for (unsigned i = 0; i < 7; i++)
        check_u32(rm8(r_a20, i), a20_want[i], a20_desc[i]);
    check_u32(rm8(r_kbc, 0), 0, "8042 command D0 reads back output port A20 bit 0");
    check_u32(rm8(r_kbc, 1), 2, "8042 command D0 reads back output port A20 bit 1");
}

/* selectors of the test descriptors */
#define SEL_XO     0x40   /* execute-only code, flat */
#define SEL_RO     0x48   /* read-only data, flat */
#define SEL_LIM    0x50   /* writable data, base 0x20000, limit 0xfff */
#define SEL_EXPDN  0x58   /* expand-down data, base 0, limit 0xfffff, B=1 */
#define SEL_CODELO 0x60   /* code limited below the probe's target */
#define SEL_KDATA3 0x13   /* kernel data with RPL 3 */

__attribute__((noinline)) static void segment_loads(void)
{
    gdt_set(8, 0, 0xfffff, ACC_P | ACC_S | ACC_CODE, FLG_G | FLG_DB);
    gdt_set(9, 0, 0xfffff, ACC_P | ACC_S, FLG_G | FLG_DB);
    gdt_set(10, RM_BASE, 0xfff, ACC_P | ACC_S | ACC_WRITE, FLG_DB);
    gdt_set(11, 0, 0xfffff, ACC_P | ACC_S | ACC_WRITE | ACC_EXPDN, FLG_DB);
    trap_clear();

    PROBE("movw %%ax, %%ss", : "a"(SEL_UDATA));
    expect_trap("MOV SS, ring-3 data selector at CPL 0", 13, SEL_UDATA & ~3u, at);
    PROBE("movw %%ax, %%ss", : "a"(SEL_KDATA3));
    expect_trap("MOV SS, DPL-0 data with RPL 3", 13, 0x10, at);
    PROBE("movw %%ax, %%ss", : "a"(SEL_RO));
    expect_trap("MOV SS, read-only data segment", 13, SEL_RO, at);
    PROBE("movw %%ax, %%ss", : "a"(SEL_KCODE));
    expect_trap("MOV SS, code segment", 13, SEL_KCODE, at);
    PROBE("movw %%ax, %%ss", : "a"(0));
    expect_trap("MOV SS, null selector", 13, 0, at);
    PROBE("movw %%ax, %%ds", : "a"(SEL_XO));
    expect_trap("MOV DS, execute-only code segment", 13, SEL_XO, at);
    PROBE("movw %%ax, %%fs\n\tmovw %%cx, %%fs", : "a"(SEL_KCODE), "c"(SEL_KDATA));
    expect_no_trap("MOV FS, readable code segment");
    PROBE("movw %%ax, %%gs", : "a"(SEL_TSS));
    expect_trap("MOV GS, TSS selector", 13, SEL_TSS, at);
    PROBE("movw %%ax, %%es", : "a"(SEL_KDATA3));
    expect_trap("MOV ES, DPL-0 data with RPL 3", 13, 0x10, at);
    PROBE("movw %%ax, %%es\n\tmovw %%cx, %%es", : "a"(SEL_UDATA), "c"(SEL_KDATA));
    expect_no_trap("MOV ES, DPL-3 data at CPL 0 (allowed)");
    PROBE("movw %%ax, %%fs\n\tmovw %%cx, %%fs", : "a"(0), "c"(SEL_KDATA));
    expect_no_trap("MOV FS, null selector (allowed)");
    PROBE("movw %%ax, %%ds", : "a"(GDT_ENTRIES * 8));
    expect_trap("MOV DS, selector beyond the GDT limit", 13, GDT_ENTRIES * 8, at);
    /* TI=1 with a null LDTR (LLDT 0: the LDTR of reset has limit 0xffff) */
    __asm__ volatile("lldt %%ax" : : "a"(0));
    PROBE("movw %%ax, %%ds", : "a"(0x0c));
    expect_trap("MOV DS, LDT selector without an LDT", 13, 0x0c, at);
    PROBE("ljmp $0x10, $2f\n2:");
    expect_trap("far JMP to a data segment", 13, 0x10, at);
    PROBE("ljmp $0x1b, $2f\n2:");
    expect_trap("far JMP to a DPL-3 code segment at CPL 0", 13, 0x18, at);

    /* far JMP beyond the target segment's limit */
    extern char far_target[];
    uint32_t lim = ((uint32_t)far_target >> 12) - 1;
    gdt_set(12, 0, lim, ACC_P | ACC_S | ACC_CODE | ACC_READ, FLG_G | FLG_DB);
    PROBE("ljmp $0x60, $far_target\n"
          "far_target:\n\t"
          "ljmp $0x08, $2f\n2:");
    expect_trap("far JMP beyond the CS limit", 13, 0, at);
    PROBE("ljmp $0x40, $2f\n2:\tljmp $0x08, $3f\n3:");
    expect_no_trap("far JMP into an execute-only segment and back");

    /* segment bases: reads through based and expand-down segments */
    *(volatile uint32_t *)(RM_BASE + 0x800) = 0xfeedf00d;
    uint32_t v = 0;
    __asm__ volatile("movw %%cx, %%fs\n\tmovl %%fs:0x800, %0\n\tmovw %%dx, %%fs"
                     : "=r"(v) : "c"(SEL_LIM), "d"(SEL_KDATA) : "memory");
    check_u32(v, 0xfeedf00d, "FS base 0x20000: FS:0x800 reads 0x20800");
    static volatile uint32_t high_word = 0xc0ffee11;
    __asm__ volatile("movw %%cx, %%fs\n\tmovl %%fs:(%%ebx), %0\n\tmovw %%dx, %%fs"
                     : "=r"(v) : "c"(SEL_EXPDN), "b"(&high_word), "d"(SEL_KDATA) : "memory");
    check_u32(v, 0xc0ffee11, "expand-down segment: offset above the limit reads memory");
}

/* Data-access checks of limits, types and the null selector. */
static void segment_accesses(void)
{
    trap_clear();
    __asm__ volatile("movw %%ax, %%fs" : : "a"(SEL_LIM));
    PROBE("movl %%fs:0x1000, %%ebx", : : "ebx");
    expect_trap("FS:0x1000 beyond limit 0xfff", 13, 0, at);
    PROBE("movw %%fs:0xfff, %%bx", : : "ebx");
    expect_trap("FS:0xfff word straddles the limit", 13, 0, at);
    PROBE("movb %%fs:0xfff, %%bl", : : "ebx");
    expect_no_trap("FS:0xfff byte at the limit");
    __asm__ volatile("movw %%ax, %%fs" : : "a"(SEL_EXPDN));
    PROBE("movl %%fs:0xffffc, %%ebx", : : "ebx");
    expect_trap("expand-down: offset at the limit", 13, 0, at);
    PROBE("movl %%fs:0xffffe, %%ebx", : : "ebx");
    expect_trap("expand-down: dword straddling limit+1", 13, 0, at);
    PROBE("movl %%fs:0x100000, %%ebx", : : "ebx");
    expect_no_trap("expand-down: dword at limit+1");
    __asm__ volatile("movw %%ax, %%fs" : : "a"(0));
    PROBE("movl %%fs:0x100000, %%ebx", : : "ebx");
    expect_trap("read through a null FS", 13, 0, at);
    PROBE("movl %%ebx, %%fs:0x100000", : "b"(0));
    expect_trap("write through a null FS", 13, 0, at);
    __asm__ volatile("movw %%ax, %%fs" : : "a"(SEL_RO));
    PROBE("movl %%ebx, %%fs:0x100000", : "b"(0));
    expect_trap("write to a read-only data segment", 13, 0, at);
    __asm__ volatile("movw %%ax, %%fs" : : "a"(SEL_KDATA));

    /* SS: expand-down stack segment below its limit */
    PROBE("movw %%ax, %%ss\n\tmovl %%ss:0x1000, %%ebx\n\tmovw %%cx, %%ss", : "a"(SEL_EXPDN), "c"(SEL_KDATA) : "ebx");
    __asm__ volatile("movw %%ax, %%ss" : : "a"(SEL_KDATA));
    expect_trap("SS:0x1000 below the expand-down stack limit", 12, 0, at + 2);
    /* read through CS when CS is execute-only */
    static volatile uint32_t word = 0x1234;
    PROBE("ljmp $0x40, $2f\n2:\tmovl %%cs:(%%ebx), %%eax", : "b"(&word) : "eax");
    __asm__ volatile("ljmp $0x08, $2f\n2:");
    expect_trap("read through an execute-only CS", 13, 0, at + 7);
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    serial_init();
    strict = cmdline_has(info, "strict");
    sys_init();
    printf("modes guest\n");
    real_mode();
    segment_loads();
    if (strict)
        segment_accesses();
    return check_finish();
}
