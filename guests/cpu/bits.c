/* Bit instruction checks: BT/BTS/BTR/BTC on registers and on memory bit
 * strings (register offsets reach outside the addressed dword, negative
 * ones too), BSF/BSR, SHLD/SHRD with count masking, BSWAP. */
#include "cpu.h"

void checks_bits(void)
{
    uint32_t x, fl;

    __asm__ volatile("btl $5, %1; pushfl; popl %0" : "=r"(fl) : "r"(0x20u) : "cc");
    check_flags(fl, F_CF, F_CF, "bt reg,imm finds bit 5 set");
    __asm__ volatile("btl $4, %1; pushfl; popl %0" : "=r"(fl) : "r"(0x20u) : "cc");
    check_flags(fl, 0, F_CF, "bt reg,imm finds bit 4 clear");
    __asm__ volatile("btl %2, %1; pushfl; popl %0" : "=r"(fl) : "r"(0x80000000u), "r"(63u) : "cc");
    check_flags(fl, F_CF, F_CF, "bt reg,reg uses the offset mod 32");

    x = 0x10;
    __asm__ volatile("btsl $0, %0; pushfl; popl %1" : "+r"(x), "=r"(fl) : : "cc");
    check_true(x == 0x11 && !(fl & F_CF), "bts sets bit 0, CF=old 0");
    x = 0xFF;
    __asm__ volatile("btrl $7, %0; pushfl; popl %1" : "+r"(x), "=r"(fl) : : "cc");
    check_true(x == 0x7F && (fl & F_CF), "btr clears bit 7, CF=old 1");
    x = 0xF0;
    __asm__ volatile("btcl $4, %0; pushfl; popl %1" : "+r"(x), "=r"(fl) : : "cc");
    check_true(x == 0xE0 && (fl & F_CF), "btc flips bit 4, CF=old 1");

    static uint32_t bits[4];
    bits[0] = 0x80000000u;
    bits[1] = 0x00000100u;
    bits[2] = 0;
    bits[3] = 0;
    __asm__ volatile("btl %1, %2; pushfl; popl %0" : "=r"(fl) : "r"(40), "m"(bits[0]) : "cc");
    check_flags(fl, F_CF, F_CF, "bt mem,reg offset 40 reaches the next dword");
    __asm__ volatile("btl %1, %2; pushfl; popl %0" : "=r"(fl) : "r"(-1), "m"(bits[1]) : "cc");
    check_flags(fl, F_CF, F_CF, "bt mem,reg offset -1 reaches the previous dword");
    __asm__ volatile("btsl %1, %2; pushfl; popl %0" : "=r"(fl) : "r"(70), "m"(bits[0]) : "cc", "memory");
    check_true(bits[2] == 0x40 && !(fl & F_CF), "bts mem,reg offset 70 sets bit 6 of dword 2");
    __asm__ volatile("btrl %1, %2; pushfl; popl %0" : "=r"(fl) : "r"(31), "m"(bits[0]) : "cc", "memory");
    check_true(bits[0] == 0 && (fl & F_CF), "btr mem,reg offset 31");
    __asm__ volatile("btcl $33, %1; pushfl; popl %0" : "=r"(fl), "+m"(bits[3]) : : "cc", "memory");
    check_true(bits[3] == 2 && !(fl & F_CF), "btc mem,imm offset 33 wraps to bit 1 of the same dword");

    __asm__ volatile("bsfl %2, %0; pushfl; popl %1" : "=r"(x), "=r"(fl) : "r"(0x00012000u) : "cc");
    check_true(x == 13 && !(fl & F_ZF), "bsf 00012000 -> 13");
    __asm__ volatile("bsrl %2, %0; pushfl; popl %1" : "=r"(x), "=r"(fl) : "r"(0x00012000u) : "cc");
    check_true(x == 16 && !(fl & F_ZF), "bsr 00012000 -> 16");
    __asm__ volatile("bsrl %2, %0; pushfl; popl %1" : "=r"(x), "=r"(fl) : "r"(0x80000001u) : "cc");
    check_u32(x, 31, "bsr 80000001 -> 31");
    __asm__ volatile("bsfl %1, %%eax; pushfl; popl %0" : "=r"(fl) : "r"(0u) : "eax", "cc");
    check_flags(fl, F_ZF, F_ZF, "bsf 0 sets ZF");
    uint16_t w;
    __asm__ volatile("bsfw %2, %0; pushfl; popl %1" : "=r"(w), "=r"(fl) : "r"((uint16_t)0x8000) : "cc");
    check_true(w == 15 && !(fl & F_ZF), "bsf 16-bit 8000 -> 15");

    x = 0x11223344u;
    __asm__ volatile("shldl $8, %2, %0; pushfl; popl %1" : "+r"(x), "=r"(fl) : "r"(0xAABBCCDDu) : "cc");
    check_u32(x, 0x223344AAu, "shld 8 of 11223344:AABBCCDD");
    check_flags(fl, F_CF, F_CF | F_ZF | F_SF, "shld 8 flags (CF=bit 24 of dest)");
    x = 0x12345678u;
    __asm__ volatile("shrdl $4, %2, %0; pushfl; popl %1" : "+r"(x), "=r"(fl) : "r"(0x0000000Fu) : "cc");
    check_u32(x, 0xF1234567u, "shrd 4 of 0000000F:12345678");
    check_flags(fl, F_CF | F_SF, F_CF | F_ZF | F_SF, "shrd 4 flags (CF SF)");
    x = 0x11223344u;
    __asm__ volatile("shldl %%cl, %2, %0" : "+r"(x) : "c"(36), "r"(0xAABBCCDDu) : "cc");
    check_u32(x, 0x1223344Au, "shld count 36 is count 4");
    x = 0x11223344u;
    __asm__ volatile("stc; shldl %%cl, %2, %0; pushfl; popl %1"
                     : "+r"(x), "=r"(fl) : "c"(32), "r"(0xAABBCCDDu) : "cc");
    check_true(x == 0x11223344u && (fl & F_CF), "shld count 32 (masked to 0) changes nothing");
    uint16_t h = 0x1234;
    __asm__ volatile("shrdw $4, %1, %0" : "+r"(h) : "r"((uint16_t)0xABCD) : "cc");
    check_u32(h, 0xD123, "shrd 16-bit 4 of ABCD:1234");

    x = 0x12345678u;
    __asm__ volatile("bswap %0" : "+r"(x));
    check_u32(x, 0x78563412u, "bswap");
}
