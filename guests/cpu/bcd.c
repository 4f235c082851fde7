/* BCD adjust checks (DAA, DAS, AAA, AAS, AAM, AAD) with known answers from
 * the Intel SDM's instruction pages; flags the SDM leaves undefined are
 * masked out. 64-bit mode lacks these, so the host cannot be the oracle. */
#include "cpu.h"

/* Runs "op %bl, %al; <adj>" starting from EAX=a (AH included), returns EAX
 * and the flags after the adjust. */
#define ADJ2(op, adj, a, b, out, fl)                                      \
    __asm__ volatile(op " %%bl, %%al; " adj "; pushfl; popl %1"           \
                     : "=a"(out), "=r"(fl) : "0"(a), "b"(b) : "cc")

void checks_bcd(void)
{
    uint32_t eax, fl;

    /* SDM DAA example: 79 + 35 = AE, DAA -> 14 carry (114) */
    ADJ2("addb", "daa", 0x79u, 0x35u, eax, fl);
    check_u32(eax & 0xFF, 0x14, "daa 79+35 -> 14");
    check_flags(fl, F_CF | F_AF | F_PF, F_ARITH & ~F_OF, "daa 79+35 flags (CF AF PF)");

    ADJ2("addb", "daa", 0x15u, 0x27u, eax, fl);     /* 3C -> 42 */
    check_u32(eax & 0xFF, 0x42, "daa 15+27 -> 42");
    check_flags(fl, F_AF | F_PF, F_ARITH & ~F_OF, "daa 15+27 flags (AF PF)");

    ADJ2("addb", "daa", 0x50u, 0x50u, eax, fl);     /* A0 -> 00, carry */
    check_u32(eax & 0xFF, 0x00, "daa 50+50 -> 00");
    check_flags(fl, F_CF | F_ZF | F_PF, F_ARITH & ~F_OF, "daa 50+50 flags (CF ZF PF)");

    /* SDM DAS example: 35 - 47 = EE, DAS -> 88 borrow */
    ADJ2("subb", "das", 0x35u, 0x47u, eax, fl);
    check_u32(eax & 0xFF, 0x88, "das 35-47 -> 88");
    check_flags(fl, F_CF | F_AF | F_PF | F_SF, F_ARITH & ~F_OF, "das 35-47 flags (CF AF PF SF)");

    ADJ2("subb", "das", 0x42u, 0x15u, eax, fl);     /* 2D -> 27 */
    check_u32(eax & 0xFF, 0x27, "das 42-15 -> 27");
    check_flags(fl, F_AF | F_PF, F_ARITH & ~F_OF, "das 42-15 flags (AF PF)");

    /* AAA: '8' + '9' = 0x71 with AF -> AX = 0x0107, CF = AF = 1 */
    ADJ2("addb", "aaa", 0x0038u, 0x39u, eax, fl);
    check_u32(eax & 0xFFFF, 0x0107, "aaa '8'+'9' -> AX=0107");
    check_flags(fl, F_CF | F_AF, F_CF | F_AF, "aaa '8'+'9' sets CF and AF");

    ADJ2("addb", "aaa", 0x0202u, 0x03u, eax, fl);   /* no adjust: AL=5, AH kept */
    check_u32(eax & 0xFFFF, 0x0205, "aaa 2+3 -> AX=0205 (no adjust)");
    check_flags(fl, 0, F_CF | F_AF, "aaa 2+3 clears CF and AF");

    ADJ2("addb", "aaa", 0x000Bu, 0x00u, eax, fl);   /* low nibble > 9 without AF */
    check_u32(eax & 0xFFFF, 0x0101, "aaa AL=0B -> AX=0101");

    /* AAS: '3' - '8' = 0xFB with AF -> AL = 5, AH - 1 */
    ADJ2("subb", "aas", 0x0533u, 0x38u, eax, fl);
    check_u32(eax & 0xFFFF, 0x0405, "aas '3'-'8' -> AX=0405");
    check_flags(fl, F_CF | F_AF, F_CF | F_AF, "aas '3'-'8' sets CF and AF");

    ADJ2("subb", "aas", 0x0339u, 0x31u, eax, fl);   /* no adjust */
    check_u32(eax & 0xFFFF, 0x0308, "aas '9'-'1' -> AX=0308 (no adjust)");
    check_flags(fl, 0, F_CF | F_AF, "aas '9'-'1' clears CF and AF");

    /* AAM: 63 -> AH=6 AL=3; with base 16: AH=3 AL=F */
    __asm__ volatile("aam; pushfl; popl %1" : "=a"(eax), "=r"(fl) : "0"(0xFFFF003Fu) : "cc");
    check_u32(eax, 0xFFFF0603u, "aam 63 -> AX=0603, upper EAX kept");
    check_flags(fl, F_PF, F_ZF | F_SF | F_PF, "aam 63 flags from AL=03");
    __asm__ volatile(".byte 0xd4, 0x10; pushfl; popl %1" : "=a"(eax), "=r"(fl) : "0"(0x3Fu) : "cc");
    check_u32(eax & 0xFFFF, 0x030F, "aam 16 of 3F -> AX=030F");
    __asm__ volatile("aam; pushfl; popl %1" : "=a"(eax), "=r"(fl) : "0"(0x1200u) : "cc");
    check_u32(eax & 0xFFFF, 0x0000, "aam of 0 -> AX=0000 (old AH ignored)");
    check_flags(fl, F_ZF | F_PF, F_ZF | F_SF | F_PF, "aam of 0 sets ZF and PF");

    /* AAD: AH=6 AL=7 -> AL=67=0x43, AH=0; with base 16: 0x23 */
    __asm__ volatile("aad; pushfl; popl %1" : "=a"(eax), "=r"(fl) : "0"(0xABCD0607u) : "cc");
    check_u32(eax, 0xABCD0043u, "aad 0607 -> AX=0043, upper EAX kept");
    check_flags(fl, 0, F_ZF | F_SF | F_PF, "aad 0607 flags from AL=43");
    __asm__ volatile(".byte 0xd5, 0x10; pushfl; popl %1" : "=a"(eax), "=r"(fl) : "0"(0x0203u) : "cc");
    check_u32(eax & 0xFFFF, 0x0023, "aad 16 of 0203 -> AX=0023");
    __asm__ volatile("aad; pushfl; popl %1" : "=a"(eax), "=r"(fl) : "0"(0x0C0Cu) : "cc");
    check_u32(eax & 0xFFFF, 0x0084, "aad 0C0C -> AX=0084 (12*10+12)");
    check_flags(fl, F_SF | F_PF, F_ZF | F_SF | F_PF, "aad 0C0C flags (SF PF)");
}
