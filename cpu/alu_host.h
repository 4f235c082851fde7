/* Host-executed ALU operations for the interpreter (private to cpu/exec_alu.c
 * and cpu/exec_bits.c). x86 on x86: the host runs the same operation at the
 * same width and its flags (LAHF/SETO) are the guest's arithmetic flags, so the
 * results, including the SDM's "undefined" flags, are those of real hardware.
 *
 * Every helper returns the result and stores the host's six arithmetic flags
 * in *hf (EFLAGS bit positions; other bits zero). Operations that consume CF
 * (ADC, SBB, RCL, RCR) load it from the guest flags `gf` with `bt $0` first.
 * Callers choose which bits to keep: where an instruction leaves a flag
 * unchanged, *hf holds a stale host bit, never the guest's. */
#ifndef BT86_CPU_ALU_HOST_H
#define BT86_CPU_ALU_HOST_H

#include <stdint.h>

#define ALU_INLINE static inline __attribute__((always_inline))

/* Binary operations in x86 encoding order (the /r field of 80-83). */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };
/* Shift group 2 in encoding order (the /r field of C0/C1/D0-D3); 6 is SAL. */
enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };
/* Unary flag-setting operations. */
enum { UN_INC, UN_DEC, UN_NEG };

/* Host flags are captured with LAHF (SF ZF AF PF CF into AH) and SETO (OF into
 * AL) rather than PUSHFQ: no stack access (the compiler may keep data in the
 * red zone below RSP) and fewer uops. host_flags() turns AX into EFLAGS bits. */
#define HOST_FLAGS_TAIL "\n\tlahf\n\tseto %%al"
static inline uint32_t host_flags(uint32_t ax)
{
    return ((ax >> 8) & 0xd5u) | ((ax & 1u) << 11);
}

/* One host instruction "ins src, dst" at width m ("b", "w" or "k"), flags out in x. */
#define HOST_OP2(ins, m, a, b, x)                                                     \
    __asm__(ins " %" m "[b], %" m "[a]" HOST_FLAGS_TAIL                               \
            : [a] "+r"(a), "=a"(x) : [b] "r"(b) : "cc")
/* The same with the guest CF (bit 0 of gf) loaded first. */
#define HOST_OP2_CF(ins, m, a, b, x)                                                  \
    __asm__("bt $0, %k[gf]\n\t" ins " %" m "[b], %" m "[a]" HOST_FLAGS_TAIL          \
            : [a] "+r"(a), "=a"(x) : [b] "r"(b), [gf] "r"(gf) : "cc")
#define HOST_OP1(ins, m, a, x)                                                        \
    __asm__(ins " %" m "[a]" HOST_FLAGS_TAIL : [a] "+r"(a), "=a"(x) : : "cc")
#define HOST_SH(ins, m, a, c, x)                                                      \
    __asm__("bt $0, %k[gf]\n\t" ins " %%cl, %" m "[a]" HOST_FLAGS_TAIL               \
            : [a] "+r"(a), "=a"(x) : "c"(c), [gf] "r"(gf) : "cc")
/* Double shifts: dst = a, src = b, count in CL. */
#define HOST_SH3(ins, m, a, b, c, x)                                                  \
    __asm__(ins " %%cl, %" m "[b], %" m "[a]" HOST_FLAGS_TAIL                         \
            : [a] "+r"(a), "=a"(x) : [b] "r"(b), "c"(c) : "cc")

#define HOST_SIZED(size, MAC, ...)                                                    \
    do {                                                                              \
        if ((size) == 4) MAC(__VA_ARGS__, "k");                                       \
        else if ((size) == 2) MAC(__VA_ARGS__, "w");                                  \
        else MAC(__VA_ARGS__, "b");                                                   \
    } while (0)

#define H2_(ins, m) HOST_OP2(ins, m, a, b, f)
#define H2C_(ins, m) HOST_OP2_CF(ins, m, a, b, f)
#define H1_(ins, m) HOST_OP1(ins, m, a, f)
#define HS_(ins, m) HOST_SH(ins, m, a, c, f)
#define HS3_(ins, m) HOST_SH3(ins, m, a, b, c, f)

/* a OP b at `size` bytes; op is a compile-time constant ALU_*. CMP returns a. */
ALU_INLINE uint32_t host_alu2(int op, unsigned size, uint32_t a, uint32_t b, uint32_t gf, uint32_t *hf)
{
    uint32_t f;
    switch (op) {
    case ALU_ADD: HOST_SIZED(size, H2_, "add"); break;
    case ALU_OR:  HOST_SIZED(size, H2_, "or"); break;
    case ALU_ADC: HOST_SIZED(size, H2C_, "adc"); break;
    case ALU_SBB: HOST_SIZED(size, H2C_, "sbb"); break;
    case ALU_AND: HOST_SIZED(size, H2_, "and"); break;
    case ALU_SUB: HOST_SIZED(size, H2_, "sub"); break;
    case ALU_XOR: HOST_SIZED(size, H2_, "xor"); break;
    default:      HOST_SIZED(size, H2_, "cmp"); break;
    }
    *hf = host_flags(f);
    return a;
}

ALU_INLINE uint32_t host_alu1(int op, unsigned size, uint32_t a, uint32_t *hf)
{
    uint32_t f;
    switch (op) {
    case UN_INC: HOST_SIZED(size, H1_, "inc"); break;
    case UN_DEC: HOST_SIZED(size, H1_, "dec"); break;
    default:     HOST_SIZED(size, H1_, "neg"); break;
    }
    *hf = host_flags(f);
    return a;
}

/* Group-2 shift or rotate of a by c (already masked to 5 bits, nonzero). */
ALU_INLINE uint32_t host_shift(int op, unsigned size, uint32_t a, uint32_t c, uint32_t gf, uint32_t *hf)
{
    uint32_t f;
    switch (op) {
    case SH_ROL: HOST_SIZED(size, HS_, "rol"); break;
    case SH_ROR: HOST_SIZED(size, HS_, "ror"); break;
    case SH_RCL: HOST_SIZED(size, HS_, "rcl"); break;
    case SH_RCR: HOST_SIZED(size, HS_, "rcr"); break;
    case SH_SHR: HOST_SIZED(size, HS_, "shr"); break;
    case SH_SAR: HOST_SIZED(size, HS_, "sar"); break;
    default:     HOST_SIZED(size, HS_, "shl"); break;
    }
    *hf = host_flags(f);
    return a;
}

/* SHLD (left != 0) or SHRD of dst a with src b by c (masked, nonzero); size 2 or 4. */
ALU_INLINE uint32_t host_shxd(int left, unsigned size, uint32_t a, uint32_t b, uint32_t c, uint32_t *hf)
{
    uint32_t f;
    if (left) {
        if (size == 4) HS3_("shld", "k");
        else HS3_("shld", "w");
    } else {
        if (size == 4) HS3_("shrd", "k");
        else HS3_("shrd", "w");
    }
    *hf = host_flags(f);
    return a;
}

#endif
