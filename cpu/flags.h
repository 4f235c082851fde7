/* Condition codes and EFLAGS helpers shared by the instruction families. */
#ifndef BT86_CPU_FLAGS_H
#define BT86_CPU_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/vcpu.h"

/* The 16 x86 conditions by their encoding (low nibble of Jcc/SETcc/CMOVcc):
 * 0 O, 1 NO, 2 B, 3 AE, 4 E, 5 NE, 6 BE, 7 A, 8 S, 9 NS, A P, B NP, C L, D GE, E LE, F G. */
static inline bool cond_true(uint32_t f, unsigned cc)
{
    bool r;
    switch (cc >> 1) {
    case 0: r = f & F_OF; break;
    case 1: r = f & F_CF; break;
    case 2: r = f & F_ZF; break;
    case 3: r = f & (F_CF | F_ZF); break;
    case 4: r = f & F_SF; break;
    case 5: r = f & F_PF; break;
    case 6: r = !(f & F_SF) != !(f & F_OF); break;
    default: r = (f & F_ZF) || (!(f & F_SF) != !(f & F_OF)); break;
    }
    return (cc & 1) ? !r : r;
}

/* Replace the flags in `mask` with those in `host` (a host RFLAGS value:
 * the bit positions are the same). */
static inline void flags_set_masked(struct vcpu *v, uint64_t host, uint32_t mask)
{
    v->eflags = (v->eflags & ~mask) | ((uint32_t)host & mask);
}

static inline void flags_set_arith(struct vcpu *v, uint64_t host)
{
    flags_set_masked(v, host, F_ARITH);
}

static inline bool parity8(uint32_t x)
{
    return !__builtin_parity(x & 0xff);
}

#endif
