/* Assorted integer checks: shifts and rotates (CF/OF rules, count 0),
 * ADC/SBB/NEG/INC/DEC flags, SETcc/CMOVcc, MOVSX/MOVZX, PUSHA/POPA,
 * ENTER/LEAVE (with a nesting level), XLAT, SAHF/LAHF, LOOP/JECXZ. */
#include "cpu.h"

#define OP1(insn, init, out, fl)                                                 \
    __asm__ volatile(insn "; pushfl; popl %1" : "=r"(out), "=r"(fl) : "0"(init) : "cc")

static void shift_checks(void)
{
    uint32_t x, fl;
    uint8_t b;

    __asm__ volatile("stc; rclb $1, %0; pushfl; popl %1" : "=q"(b), "=r"(fl) : "0"((uint8_t)0x80) : "cc");
    check_true(b == 0x01 && (fl & F_CF) && (fl & F_OF), "rcl 8-bit 80 with CF=1 -> 01, CF OF");
    __asm__ volatile("stc; rcrl $1, %0; pushfl; popl %1" : "=r"(x), "=r"(fl) : "0"(2u) : "cc");
    check_true(x == 0x80000001u && !(fl & F_CF) && (fl & F_OF), "rcr 2 with CF=1 -> 80000001, OF");
    OP1("roll $4, %0", 0x12345678u, x, fl);
    check_true(x == 0x23456781u && (fl & F_CF), "rol 4 -> 23456781, CF=LSB");
    OP1("rorl $8, %0", 0x12345678u, x, fl);
    check_true(x == 0x78123456u && !(fl & F_CF), "ror 8 -> 78123456, CF=MSB");
    __asm__ volatile("rolb $1, %0; pushfl; popl %1" : "=q"(b), "=r"(fl) : "0"((uint8_t)0x40) : "cc");
    check_true(b == 0x80 && !(fl & F_CF) && (fl & F_OF), "rol 1 of 40 -> 80, OF=MSB^CF");
    OP1("sarl $4, %0", 0x80000010u, x, fl);
    check_true(x == 0xF8000001u && !(fl & F_CF), "sar 4 -> F8000001, CF=0");
    OP1("sarl $5, %0", 0x80000010u, x, fl);
    check_true(x == 0xFC000000u && (fl & F_CF) && (fl & F_SF), "sar 5 -> FC000000, CF SF");
    OP1("shrl $1, %0", 0x80000000u, x, fl);
    check_true(x == 0x40000000u && !(fl & F_CF) && (fl & F_OF), "shr 1 of 80000000: OF=old MSB");
    OP1("shll $1, %0", 0xC0000000u, x, fl);
    check_flags(fl, F_CF | F_SF | F_PF, F_CF | F_OF | F_SF | F_ZF | F_PF, "shl 1 of C0000000 flags (CF SF PF, OF=0)");
    __asm__ volatile("stc; shll %%cl, %0; pushfl; popl %1" : "=r"(x), "=r"(fl) : "0"(0x1234u), "c"(32) : "cc");
    check_true(x == 0x1234 && (fl & F_CF), "shl count 32 (masked to 0) keeps value and flags");
    __asm__ volatile("shrw %%cl, %w0" : "=r"(x) : "0"(0xABCD8000u), "c"(15) : "cc");
    check_u32(x, 0xABCD0001u, "shr 16-bit 15 keeps the upper half");
}

static void arith_checks(void)
{
    uint32_t x, fl;

    __asm__ volatile("stc; adcl $0, %0; pushfl; popl %1" : "=r"(x), "=r"(fl) : "0"(0xFFFFFFFFu) : "cc");
    check_u32(x, 0, "adc FFFFFFFF+0+CF -> 0");
    check_flags(fl, F_CF | F_ZF | F_AF | F_PF, F_ARITH, "adc FFFFFFFF+0+CF flags (CF ZF AF PF)");
    __asm__ volatile("stc; sbbl $0, %0; pushfl; popl %1" : "=r"(x), "=r"(fl) : "0"(0u) : "cc");
    check_u32(x, 0xFFFFFFFFu, "sbb 0-0-CF -> FFFFFFFF");
    check_flags(fl, F_CF | F_SF | F_AF | F_PF, F_ARITH, "sbb 0-0-CF flags (CF SF AF PF)");
    OP1("addl $1, %0", 0x7FFFFFFFu, x, fl);
    check_flags(fl, F_OF | F_SF | F_AF | F_PF, F_ARITH, "add 7FFFFFFF+1 flags (OF SF AF PF)");
    OP1("subl $1, %0", 0x80000000u, x, fl);
    check_flags(fl, F_OF | F_AF | F_PF, F_ARITH, "sub 80000000-1 flags (OF AF PF)");
    OP1("negl %0", 0u, x, fl);
    check_flags(fl, F_ZF | F_PF, F_ARITH, "neg 0 flags (ZF PF, CF=0)");
    OP1("negl %0", 0x80000000u, x, fl);
    check_true(x == 0x80000000u && (fl & F_CF) && (fl & F_OF), "neg 80000000 -> itself, CF OF");
    __asm__ volatile("stc; incl %0; pushfl; popl %1" : "=r"(x), "=r"(fl) : "0"(0xFFFFFFFFu) : "cc");
    check_true(x == 0 && (fl & F_ZF) && (fl & F_CF), "inc leaves CF alone");
    __asm__ volatile("clc; decl %0; pushfl; popl %1" : "=r"(x), "=r"(fl) : "0"(0x80000000u) : "cc");
    check_true(x == 0x7FFFFFFFu && (fl & F_OF) && !(fl & F_CF), "dec 80000000 sets OF, leaves CF");
    uint8_t b;
    __asm__ volatile("addb $0x01, %0; pushfl; popl %1" : "=q"(b), "=r"(fl) : "0"((uint8_t)0x0F) : "cc");
    check_flags(fl, F_AF, F_ARITH, "add 8-bit 0F+1 flags (AF only)");
}

static void cond_checks(void)
{
    uint8_t l, bl, o, g;
    __asm__ volatile("cmpl %4, %5; setl %0; setb %1; seto %2; setg %3"
                     : "=q"(l), "=q"(bl), "=q"(o), "=q"(g) : "r"(1), "r"(-1) : "cc");
    check_true(l == 1 && bl == 0 && o == 0 && g == 0, "cmp -1,1: setl=1 setb=0 seto=0 setg=0");
    __asm__ volatile("cmpl %3, %4; seta %0; setle %1; setp %2"
                     : "=q"(l), "=q"(bl), "=q"(o) : "r"(1), "r"(-1) : "cc");
    check_true(l == 1 && bl == 1 && o == 0, "cmp -1,1: seta=1 setle=1 setp=0 (FE has 7 bits)");
    uint32_t x = 5;
    __asm__ volatile("cmpl $3, %1; cmovll %2, %0" : "+r"(x) : "r"(2), "r"(9u) : "cc");
    check_u32(x, 9, "cmovl taken");
    __asm__ volatile("cmpl $3, %1; cmovgl %2, %0" : "+r"(x) : "r"(2), "r"(7u) : "cc");
    check_u32(x, 9, "cmovg not taken");
    __asm__ volatile("movsbl %b1, %0" : "=r"(x) : "q"(0x80u));
    check_u32(x, 0xFFFFFF80u, "movsx byte 80");
    __asm__ volatile("movzwl %w1, %0" : "=r"(x) : "r"(0x1234FFFFu));
    check_u32(x, 0x0000FFFFu, "movzx word FFFF");
    __asm__ volatile("movswl %w1, %0" : "=r"(x) : "r"(0x00008001u));
    check_u32(x, 0xFFFF8001u, "movsx word 8001");

    uint32_t n = 0, c = 5;
    __asm__ volatile("1: incl %0; loop 1b" : "+r"(n), "+c"(c) : : "cc");
    check_true(n == 5 && c == 0, "loop runs ECX times");
    uint32_t taken;
    __asm__ volatile("movl $1, %0; jecxz 1f; movl $0, %0; 1:" : "=&r"(taken) : "c"(0));
    check_u32(taken, 1, "jecxz taken with ECX=0");
    __asm__ volatile("movl $1, %0; jecxz 1f; movl $0, %0; 1:" : "=&r"(taken) : "c"(0x10000));
    check_u32(taken, 0, "jecxz not taken with ECX=10000");
}

static uint32_t s_esp0, s_pushed_esp, s_esp1, s_ebp1, s_esp2, s_link;

static void stack_checks(void)
{
    uint32_t ebx = 0x5555;
    __asm__ volatile("movl %%esp, %0\n\t"
                     "pushal\n\t"
                     "movl 12(%%esp), %%eax\n\t"
                     "movl %%eax, %1\n\t"
                     "movl $0x7777, 16(%%esp)\n\t"   /* the saved EBX */
                     "movl $0x9999, %%ebx\n\t"
                     "popal\n\t"
                     "movl %%esp, %2"
                     : "=m"(s_esp0), "=m"(s_pushed_esp), "=m"(s_esp1), "+b"(ebx) : : "eax", "memory");
    check_u32(s_pushed_esp, s_esp0, "pusha stores the original ESP");
    check_u32(ebx, 0x7777, "popa reloads EBX from the stack");
    check_u32(s_esp1, s_esp0, "popa restores ESP");

    __asm__ volatile("movl %%esp, %0\n\t"
                     "enter $16, $0\n\t"
                     "movl %%esp, %1\n\t"
                     "movl %%ebp, %2\n\t"
                     "leave\n\t"
                     "movl %%esp, %3"
                     : "=m"(s_esp0), "=m"(s_esp1), "=m"(s_ebp1), "=m"(s_esp2) : : "memory");
    check_true(s_esp1 == s_esp0 - 20 && s_ebp1 == s_esp0 - 4 && s_esp2 == s_esp0,
               "enter 16,0 / leave");
    __asm__ volatile("movl %%esp, %0\n\t"
                     "enter $8, $1\n\t"
                     "movl %%esp, %1\n\t"
                     "movl %%ebp, %2\n\t"
                     "movl -4(%%ebp), %%eax\n\t"
                     "movl %%eax, %3\n\t"
                     "leave\n\t"
                     "movl %%esp, %4"
                     : "=m"(s_esp0), "=m"(s_esp1), "=m"(s_ebp1), "=m"(s_link), "=m"(s_esp2)
                     : : "eax", "memory");
    check_true(s_esp1 == s_esp0 - 16 && s_ebp1 == s_esp0 - 4 && s_link == s_esp0 - 4 &&
               s_esp2 == s_esp0, "enter 8,1 pushes the frame pointer link");
}

static void misc_checks(void)
{
    static const uint8_t table[8] = { 10, 11, 12, 13, 14, 15, 16, 17 };
    uint32_t a;
    __asm__ volatile("xlatb" : "=a"(a) : "0"(0xAB03u), "b"(table));
    check_u32(a, 0xAB0D, "xlat table[3]");
    __asm__ volatile("movb $0xD5, %%ah; sahf; movb $0, %%ah; lahf" : "=a"(a) : "0"(0u) : "cc");
    check_u32((a >> 8) & 0xFF, 0xD7, "sahf D5 / lahf -> D7");
    __asm__ volatile("movb $0x00, %%ah; sahf; lahf" : "=a"(a) : "0"(0u) : "cc");
    check_u32((a >> 8) & 0xFF, 0x02, "sahf 00 / lahf -> 02");
}

void checks_misc(void)
{
    shift_checks();
    arith_checks();
    cond_checks();
    stack_checks();
    misc_checks();
}
