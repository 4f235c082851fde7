/* Shared declarations of the CPU self-check guest: each group of checks is
 * one function in its own file; main.c runs them in order. */
#ifndef GUESTS_CPU_CPU_H
#define GUESTS_CPU_CPU_H

#include "../lib/rt.h"

/* EFLAGS bits */
#define F_CF 0x0001u
#define F_PF 0x0004u
#define F_AF 0x0010u
#define F_ZF 0x0040u
#define F_SF 0x0080u
#define F_DF 0x0400u
#define F_OF 0x0800u
#define F_ID 0x200000u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* Checks flags under a mask (SDM-undefined flags are left out of it). */
static inline int check_flags(uint32_t got, uint32_t want, uint32_t mask, const char *desc)
{
    return check_u32(got & mask, want & mask, desc);
}

void checks_string(void);
void checks_bcd(void);
void checks_bits(void);
void checks_muldiv(void);
void checks_atomic(void);
void checks_cpuid(void);
void checks_misc(void);

#endif
