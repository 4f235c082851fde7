/* Arithmetic flags of CMP and ADD computed by the host CPU (x86-on-x86: the
 * host executes the same operation and its flag bits are the guest's).
 * Used by the move (CMPXCHG, XADD) and string (CMPS, SCAS) handlers.
 * LAHF/SETO rather than PUSHF: a push inside inline asm would clobber the
 * red zone below the host stack pointer. */
#ifndef BT86_CPU_EXEC_HOSTFLAGS_H
#define BT86_CPU_EXEC_HOSTFLAGS_H

#include <stdint.h>

#include "cpu/vcpu.h"

static inline uint32_t host_flags_from(uint32_t ax, uint8_t of)
{
    return ((ax >> 8) & (F_SF | F_ZF | F_AF | F_PF | F_CF)) | (of ? F_OF : 0);
}

/* Flags of `a - b` at operand size `size` (1, 2 or 4 bytes). */
static inline uint32_t host_cmp_flags(uint32_t a, uint32_t b, unsigned size)
{
    uint32_t ax;
    uint8_t of;
    switch (size) {
    case 1:
        __asm__("cmpb %b3, %b2\n\tlahf\n\tseto %1" : "=a"(ax), "=q"(of) : "q"(a), "q"(b) : "cc");
        break;
    case 2:
        __asm__("cmpw %w3, %w2\n\tlahf\n\tseto %1" : "=a"(ax), "=q"(of) : "r"(a), "r"(b) : "cc");
        break;
    default:
        __asm__("cmpl %k3, %k2\n\tlahf\n\tseto %1" : "=a"(ax), "=q"(of) : "r"(a), "r"(b) : "cc");
        break;
    }
    return host_flags_from(ax, of);
}

/* Flags of `a + b` at operand size `size`. */
static inline uint32_t host_add_flags(uint32_t a, uint32_t b, unsigned size)
{
    uint32_t ax;
    uint8_t of;
    switch (size) {
    case 1:
        __asm__("addb %b3, %b2\n\tlahf\n\tseto %1" : "=a"(ax), "=q"(of), "+q"(a) : "q"(b) : "cc");
        break;
    case 2:
        __asm__("addw %w3, %w2\n\tlahf\n\tseto %1" : "=a"(ax), "=q"(of), "+r"(a) : "r"(b) : "cc");
        break;
    default:
        __asm__("addl %k3, %k2\n\tlahf\n\tseto %1" : "=a"(ax), "=q"(of), "+r"(a) : "r"(b) : "cc");
        break;
    }
    return host_flags_from(ax, of);
}

#endif
