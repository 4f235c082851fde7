/* Compare-exchange and exchange-add checks: CMPXCHG (both outcomes, with
 * LOCK), CMPXCHG8B (both outcomes), XADD, XCHG with memory. */
#include "cpu.h"

void checks_atomic(void)
{
    static volatile uint32_t m;
    static volatile uint64_t q;
    uint32_t a, c, fl;

    m = 5;
    a = 5;
    __asm__ volatile("lock cmpxchgl %3, %1; pushfl; popl %2"
                     : "+a"(a), "+m"(m), "=r"(fl) : "r"(9u) : "cc", "memory");
    check_true(m == 9 && a == 5 && (fl & F_ZF), "cmpxchg equal: stores, ZF=1");
    m = 7;
    a = 5;
    __asm__ volatile("cmpxchgl %3, %1; pushfl; popl %2"
                     : "+a"(a), "+m"(m), "=r"(fl) : "r"(9u) : "cc", "memory");
    check_true(m == 7 && a == 7 && !(fl & F_ZF), "cmpxchg unequal: loads EAX, ZF=0");
    check_flags(fl, F_CF | F_SF | F_AF, F_ARITH, "cmpxchg unequal flags are those of CMP 5,7");
    uint8_t b = 0x40, al = 0x40;
    __asm__ volatile("cmpxchgb %b3, %1; pushfl; popl %2"
                     : "+a"(al), "+m"(b), "=r"(fl) : "q"(0x41u) : "cc", "memory");
    check_true(b == 0x41 && (fl & F_ZF), "cmpxchg 8-bit equal");

    q = 0x1111111122222222ull;
    uint32_t lo = 0x22222222u, hi = 0x11111111u;
    __asm__ volatile("lock cmpxchg8b %2; pushfl; popl %3"
                     : "+a"(lo), "+d"(hi), "+m"(q), "=r"(fl)
                     : "b"(0x44444444u), "c"(0x33333333u) : "cc", "memory");
    check_true(q == 0x3333333344444444ull && (fl & F_ZF), "cmpxchg8b equal: stores ECX:EBX, ZF=1");
    lo = 0;
    hi = 0;
    __asm__ volatile("cmpxchg8b %2; pushfl; popl %3"
                     : "+a"(lo), "+d"(hi), "+m"(q), "=r"(fl)
                     : "b"(0x55555555u), "c"(0x66666666u) : "cc", "memory");
    check_true(q == 0x3333333344444444ull && lo == 0x44444444u && hi == 0x33333333u &&
               !(fl & F_ZF), "cmpxchg8b unequal: loads EDX:EAX, ZF=0");

    m = 10;
    a = 3;
    __asm__ volatile("lock xaddl %0, %1; pushfl; popl %2"
                     : "+r"(a), "+m"(m), "=r"(fl) : : "cc", "memory");
    check_true(m == 13 && a == 10 && !(fl & (F_CF | F_ZF)), "xadd: mem=13, reg=old 10");
    m = 0xFFFFFFFFu;
    a = 1;
    __asm__ volatile("xaddl %0, %1; pushfl; popl %2"
                     : "+r"(a), "+m"(m), "=r"(fl) : : "cc", "memory");
    check_true(m == 0 && a == 0xFFFFFFFFu && (fl & F_CF) && (fl & F_ZF), "xadd wraps: CF ZF");
    c = 0xABCD;
    m = 0x1234;
    __asm__ volatile("xchgl %0, %1" : "+r"(c), "+m"(m) : : "memory");
    check_true(c == 0x1234 && m == 0xABCD, "xchg reg,mem swaps");
}
