/* Multiply and divide checks: MUL/IMUL in their one-, two- and three-operand
 * forms (results and CF/OF), DIV/IDIV in 8, 16 and 32 bits with truncation
 * toward zero and the sign of the remainder. */
#include "cpu.h"

void checks_muldiv(void)
{
    uint32_t a, d, fl;

    __asm__ volatile("mull %3; pushfl; popl %2" : "=a"(a), "=d"(d), "=r"(fl) : "r"(4u), "0"(0x80000000u) : "cc");
    check_true(a == 0 && d == 2, "mul 80000000*4 -> EDX:EAX=2:0");
    check_flags(fl, F_CF | F_OF, F_CF | F_OF, "mul with a high half sets CF OF");
    __asm__ volatile("mull %3; pushfl; popl %2" : "=a"(a), "=d"(d), "=r"(fl) : "r"(5u), "0"(3u) : "cc");
    check_true(a == 15 && d == 0 && !(fl & (F_CF | F_OF)), "mul 3*5 -> 15, CF=OF=0");
    __asm__ volatile("mulb %b2; pushfl; popl %1" : "=a"(a), "=r"(fl) : "q"(0xFFu), "0"(0x123400FFu) : "cc");
    check_u32(a, 0x1234FE01u, "mul 8-bit FF*FF -> AX=FE01");
    check_flags(fl, F_CF | F_OF, F_CF | F_OF, "mul 8-bit FF*FF sets CF OF");
    __asm__ volatile("mulw %w3" : "=a"(a), "=d"(d) : "1"(0xFFFF0000u), "r"(0x1000u), "0"(0x5555F001u) : "cc");
    check_true((a & 0xFFFF) == 0x1000 && (d & 0xFFFF) == 0x0F00 && (d >> 16) == 0xFFFF &&
               (a >> 16) == 0x5555, "mul 16-bit F001*1000 -> DX:AX=0F00:1000");

    __asm__ volatile("imull %3; pushfl; popl %2" : "=a"(a), "=d"(d), "=r"(fl) : "r"(3u), "0"(-2) : "cc");
    check_true(a == 0xFFFFFFFAu && d == 0xFFFFFFFFu && !(fl & (F_CF | F_OF)),
               "imul -2*3 -> EDX:EAX=-6, CF=OF=0");
    a = 0x40000000u;
    __asm__ volatile("imull %2, %0; pushfl; popl %1" : "+r"(a), "=r"(fl) : "r"(2u) : "cc");
    check_true(a == 0x80000000u && (fl & F_CF) && (fl & F_OF), "imul 2-op overflow sets CF OF");
    __asm__ volatile("imull $-7, %2, %0; pushfl; popl %1" : "=&r"(a), "=r"(fl) : "r"(6u) : "cc");
    check_true(a == (uint32_t)-42 && !(fl & (F_CF | F_OF)), "imul 3-op 6*-7 -> -42");
    __asm__ volatile("imulb %b2; pushfl; popl %1" : "=a"(a), "=r"(fl) : "q"(0xF0u), "0"(0x08u) : "cc");
    check_true((a & 0xFFFF) == 0xFF80 && !(fl & (F_CF | F_OF)), "imul 8-bit 8*-16 -> AX=FF80 fits");
    a = 0x1234;
    __asm__ volatile("imulw %w2, %w0; pushfl; popl %1" : "+r"(a), "=r"(fl) : "r"(0x100u) : "cc");
    check_true((a & 0xFFFF) == 0x3400 && (fl & F_OF), "imul 16-bit 1234*100 truncates, OF");

    __asm__ volatile("divl %2" : "=a"(a), "=d"(d) : "r"(0x10u), "0"(5u), "1"(1u) : "cc");
    check_true(a == 0x10000000u && d == 5, "div 1:00000005 / 10 -> 10000000 r 5");
    __asm__ volatile("idivl %2" : "=a"(a), "=d"(d) : "r"(2u), "0"(-7), "1"(-1) : "cc");
    check_true(a == (uint32_t)-3 && d == (uint32_t)-1, "idiv -7/2 -> -3 r -1");
    __asm__ volatile("idivl %2" : "=a"(a), "=d"(d) : "r"(-2), "0"(7), "1"(0) : "cc");
    check_true(a == (uint32_t)-3 && d == 1, "idiv 7/-2 -> -3 r 1");
    __asm__ volatile("idivb %b1" : "=a"(a) : "q"(7u), "0"(0xFF9Cu) : "cc");
    check_u32(a & 0xFFFF, 0xFEF2, "idiv 8-bit -100/7 -> AL=-14 AH=-2");
    __asm__ volatile("divb %b1" : "=a"(a) : "q"(10u), "0"(0xAB00FFu) : "cc");
    check_u32(a, 0xAB0519u, "div 8-bit 255/10 -> AL=25 AH=5");
    __asm__ volatile("divw %w2" : "=a"(a), "=d"(d) : "r"(0x100u), "0"(0x0000u), "1"(0x0001u) : "cc");
    check_true((a & 0xFFFF) == 0x100 && (d & 0xFFFF) == 0, "div 16-bit 1:0000 / 100 -> 100 r 0");

    /* CDQ/CWDE/CBW feed IDIV */
    __asm__ volatile("cdq" : "=d"(d) : "a"(0x80000000u));
    check_u32(d, 0xFFFFFFFFu, "cdq sign-extends EAX");
    __asm__ volatile("cwde" : "=a"(a) : "0"(0x1234FFFEu));
    check_u32(a, 0xFFFFFFFEu, "cwde sign-extends AX");
    __asm__ volatile("cbw" : "=a"(a) : "0"(0x12340080u));
    check_u32(a, 0x1234FF80u, "cbw sign-extends AL into AX");
}
