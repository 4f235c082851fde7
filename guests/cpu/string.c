/* String instruction checks: REP MOVS/STOS/CMPS/SCAS and LODS with the
 * direction flag clear and set, final ESI/EDI/ECX, and flags of the
 * repeated compares. */
#include "cpu.h"

static uint8_t src8[32], dst8[32];
static uint32_t src32[8], dst32[8];

static void movs_checks(void)
{
    for (int i = 0; i < 32; i++) {
        src8[i] = (uint8_t)(i * 7 + 1);
        dst8[i] = 0xEE;
    }
    uint32_t esi = (uint32_t)(uintptr_t)src8, edi = (uint32_t)(uintptr_t)dst8, ecx = 13;
    __asm__ volatile("cld; rep movsb" : "+S"(esi), "+D"(edi), "+c"(ecx) : : "memory");
    int same = 1;
    for (int i = 0; i < 13; i++)
        same &= dst8[i] == src8[i];
    check_true(same && dst8[13] == 0xEE, "rep movsb DF=0 copies 13 bytes, no more");
    check_u32(esi - (uint32_t)(uintptr_t)src8, 13, "rep movsb DF=0 final ESI");
    check_u32(edi - (uint32_t)(uintptr_t)dst8, 13, "rep movsb DF=0 final EDI");
    check_u32(ecx, 0, "rep movsb final ECX");

    for (int i = 0; i < 8; i++) {
        src32[i] = 0x01010101u * (uint32_t)(i + 1);
        dst32[i] = 0;
    }
    /* copy src32[1..4] to dst32[1..4] backwards, starting at element 4 */
    esi = (uint32_t)(uintptr_t)&src32[4];
    edi = (uint32_t)(uintptr_t)&dst32[4];
    ecx = 4;
    __asm__ volatile("std; rep movsl; cld" : "+S"(esi), "+D"(edi), "+c"(ecx) : : "memory");
    check_true(dst32[0] == 0 && dst32[1] == 0x02020202u && dst32[4] == 0x05050505u &&
               dst32[5] == 0, "rep movsd DF=1 copies 4 dwords downwards");
    check_u32(esi, (uint32_t)(uintptr_t)&src32[0], "rep movsd DF=1 final ESI");
    check_u32(edi, (uint32_t)(uintptr_t)&dst32[0], "rep movsd DF=1 final EDI");

    /* a single MOVSB with DF=1 */
    esi = (uint32_t)(uintptr_t)&src8[5];
    edi = (uint32_t)(uintptr_t)&dst8[20];
    __asm__ volatile("std; movsb; cld" : "+S"(esi), "+D"(edi) : : "memory");
    check_true(dst8[20] == src8[5] && esi == (uint32_t)(uintptr_t)&src8[4] &&
               edi == (uint32_t)(uintptr_t)&dst8[19], "movsb DF=1 moves one byte, steps back");
}

static void stos_lods_checks(void)
{
    static uint16_t w[8];
    for (int i = 0; i < 8; i++)
        w[i] = 0x1111;
    uint32_t edi = (uint32_t)(uintptr_t)&w[1], ecx = 5;
    __asm__ volatile("cld; rep stosw" : "+D"(edi), "+c"(ecx) : "a"(0xBEEF) : "memory");
    check_true(w[0] == 0x1111 && w[1] == 0xBEEF && w[5] == 0xBEEF && w[6] == 0x1111,
               "rep stosw DF=0 fills 5 words");
    check_u32(edi, (uint32_t)(uintptr_t)&w[6], "rep stosw DF=0 final EDI");

    for (int i = 0; i < 32; i++)
        dst8[i] = 0;
    edi = (uint32_t)(uintptr_t)&dst8[9];
    ecx = 4;
    __asm__ volatile("std; rep stosb; cld" : "+D"(edi), "+c"(ecx) : "a"(0x5A) : "memory");
    check_true(dst8[5] == 0 && dst8[6] == 0x5A && dst8[9] == 0x5A && dst8[10] == 0,
               "rep stosb DF=1 fills 4 bytes downwards");
    check_u32(edi, (uint32_t)(uintptr_t)&dst8[5], "rep stosb DF=1 final EDI");

    /* REP with ECX=0 does nothing */
    edi = (uint32_t)(uintptr_t)&dst8[0];
    ecx = 0;
    __asm__ volatile("cld; rep stosb" : "+D"(edi), "+c"(ecx) : "a"(0x77) : "memory");
    check_true(dst8[0] == 0 && edi == (uint32_t)(uintptr_t)&dst8[0], "rep stosb ECX=0 is a no-op");

    static const uint32_t ld[3] = { 0x11223344u, 0x55667788u, 0x99AABBCCu };
    uint32_t esi = (uint32_t)(uintptr_t)&ld[2], eax = 0;
    __asm__ volatile("std; lodsl; lodsl; cld" : "+S"(esi), "+a"(eax) : : "memory");
    check_true(eax == 0x55667788u && esi == (uint32_t)(uintptr_t)&ld[0],
               "lodsd DF=1 loads and steps back");
    esi = (uint32_t)(uintptr_t)ld;
    eax = 0xFFFFFFFFu;
    __asm__ volatile("cld; lodsb" : "+S"(esi), "+a"(eax) : : "memory");
    check_u32(eax, 0xFFFFFF44u, "lodsb replaces AL only");
}

static void cmps_scas_checks(void)
{
    static const char a[] = "abcdefgh", b[] = "abcdXfgh";
    uint32_t esi = (uint32_t)(uintptr_t)a, edi = (uint32_t)(uintptr_t)b, ecx = 8, fl;
    __asm__ volatile("cld; repe cmpsb; pushfl; popl %3"
                     : "+S"(esi), "+D"(edi), "+c"(ecx), "=r"(fl) : : "memory", "cc");
    check_u32(ecx, 3, "repe cmpsb stops after the mismatch (ECX)");
    check_u32(esi - (uint32_t)(uintptr_t)a, 5, "repe cmpsb final ESI");
    /* 'e' - 'X' = 0x0D: no borrow, not zero, positive, no overflow, odd
     * parity (three bits), borrow out of the low nibble (5 - 8) */
    check_flags(fl, F_AF, F_ARITH, "repe cmpsb flags of 'e'-'X'");

    /* equal dwords: runs out with ZF=1 */
    static const uint32_t p[4] = { 1, 2, 3, 4 }, q[4] = { 1, 2, 3, 4 };
    esi = (uint32_t)(uintptr_t)p;
    edi = (uint32_t)(uintptr_t)q;
    ecx = 4;
    __asm__ volatile("cld; repe cmpsl; pushfl; popl %3"
                     : "+S"(esi), "+D"(edi), "+c"(ecx), "=r"(fl) : : "memory", "cc");
    check_true(ecx == 0 && (fl & F_ZF) && edi == (uint32_t)(uintptr_t)&q[4],
               "repe cmpsd over equal data ends with ZF=1, ECX=0");

    /* ECX=0: flags must be left alone (set ZF and CF first) */
    ecx = 0;
    __asm__ volatile("stc; xorl %%eax, %%eax; stc; repe cmpsb; pushfl; popl %3"
                     : "+S"(esi), "+D"(edi), "+c"(ecx), "=r"(fl) : : "eax", "memory", "cc");
    check_flags(fl, F_ZF | F_CF | F_PF, F_ZF | F_CF | F_PF, "repe cmpsb ECX=0 keeps flags");

    edi = (uint32_t)(uintptr_t)a;
    ecx = 8;
    __asm__ volatile("cld; repne scasb; pushfl; popl %2"
                     : "+D"(edi), "+c"(ecx), "=r"(fl) : "a"('d') : "memory", "cc");
    check_true(ecx == 4 && edi == (uint32_t)(uintptr_t)&a[4] && (fl & F_ZF),
               "repne scasb finds 'd' (ECX=4, EDI past it, ZF=1)");

    edi = (uint32_t)(uintptr_t)&a[7];
    ecx = 8;
    __asm__ volatile("std; repne scasb; pushfl; popl %2; cld"
                     : "+D"(edi), "+c"(ecx), "=r"(fl) : "a"('b') : "memory", "cc");
    check_true(ecx == 1 && edi == (uint32_t)(uintptr_t)&a[0] && (fl & F_ZF),
               "repne scasb DF=1 finds 'b' from the end");

    edi = (uint32_t)(uintptr_t)a;
    ecx = 8;
    __asm__ volatile("cld; repne scasb; pushfl; popl %2"
                     : "+D"(edi), "+c"(ecx), "=r"(fl) : "a"('z') : "memory", "cc");
    /* the last compare is 'z' - 'h' = 0x12 */
    check_true(ecx == 0 && !(fl & F_ZF) && !(fl & F_CF) && !(fl & F_SF),
               "repne scasb without a match: ECX=0, ZF=0, flags of 'z'-'h'");
}

/* Word-sized string ops with the operand-size prefix in both orders around
 * REP: GCC emits 66 F3, and a decoder must not let the REP hide the 66. */
static void word_prefix_checks(void)
{
    static uint16_t ws[6] = { 1, 2, 3, 4, 5, 6 }, wd[6];
    for (int i = 0; i < 6; i++)
        wd[i] = 0xAAAA;
    uint32_t esi = (uint32_t)(uintptr_t)ws, edi = (uint32_t)(uintptr_t)wd, ecx = 3;
    __asm__ volatile("cld; .byte 0x66, 0xf3, 0xa5" /* rep movsw */
                     : "+S"(esi), "+D"(edi), "+c"(ecx) : : "memory");
    check_true(wd[2] == 3 && wd[3] == 0xAAAA && edi == (uint32_t)(uintptr_t)&wd[3],
               "rep movsw (66 F3 A5) moves 3 words");
    edi = (uint32_t)(uintptr_t)wd;
    ecx = 4;
    __asm__ volatile("cld; .byte 0xf3, 0x66, 0xab" /* rep stosw, REP first */
                     : "+D"(edi), "+c"(ecx) : "a"(0x4242) : "memory");
    check_true(wd[3] == 0x4242 && wd[4] == 0xAAAA && edi == (uint32_t)(uintptr_t)&wd[4],
               "rep stosw (F3 66 AB) stores 4 words");
    uint32_t fl;
    edi = (uint32_t)(uintptr_t)ws;
    ecx = 6;
    __asm__ volatile("cld; .byte 0x66, 0xf2, 0xaf; pushfl; popl %2" /* repne scasw */
                     : "+D"(edi), "+c"(ecx), "=r"(fl) : "a"(0xFFFF0004u) : "memory", "cc");
    check_true(ecx == 2 && edi == (uint32_t)(uintptr_t)&ws[4] && (fl & F_ZF),
               "repne scasw (66 F2 AF) compares AX only, finds 4");
}

/* 16-bit addressing (0x67 prefix) in 32-bit code: string ops use DI/SI/CX
 * and leave the upper halves of EDI/ESI/ECX alone; LEA wraps at 64 KiB.
 * The scratch bytes at 0x8000 are free low memory in a Multiboot guest. */
static void addr16_checks(void)
{
    volatile uint8_t *low = (volatile uint8_t *)0x8000;
    for (int i = 0; i < 6; i++)
        low[i] = 0;
    uint32_t edi = 0x12348000u, ecx = 0xABCD0003u;
    __asm__ volatile("cld; addr16 rep stosb" : "+D"(edi), "+c"(ecx) : "a"(0x5Au) : "memory");
    check_true(low[0] == 0x5A && low[2] == 0x5A && low[3] == 0, "addr16 rep stosb writes at ES:DI");
    check_u32(edi, 0x12348003u, "addr16 rep stosb steps DI only");
    check_u32(ecx, 0xABCD0000u, "addr16 rep stosb counts CX only");
    uint32_t r;
    __asm__ volatile("addr16 lea 0x10(%%bx,%%si), %0" : "=r"(r) : "b"(0x5555FFF0u), "S"(0x00000030u));
    check_u32(r, 0x0030, "addr16 lea: FFF0+30+10 wraps to 0030");
    uint32_t esi = (uint32_t)(uintptr_t)src8;
    edi = (uint32_t)(uintptr_t)dst8;
    __asm__ volatile("cld; movsb %%fs:(%%esi), %%es:(%%edi)" : "+S"(esi), "+D"(edi) : : "memory");
    check_true(dst8[0] == src8[0] && esi == (uint32_t)(uintptr_t)&src8[1], "movsb with an FS source override");
}

void checks_string(void)
{
    movs_checks();
    stos_lods_checks();
    cmps_scas_checks();
    word_prefix_checks();
    addr16_checks();
}
