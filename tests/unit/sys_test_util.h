/* Helpers for the interrupt and system instruction tests: building a harness,
 * editing its IDT/TSS, and reading the handler's stack frame. */
#ifndef BT86_TESTS_SYS_TEST_UTIL_H
#define BT86_TESTS_SYS_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdint.h>

#include "cpu/decode_cache.h"
#include "cpu/vcpu.h"
#include "harness.h"

static inline struct harness *sys_new(enum harness_mode mode)
{
    struct harness *h = harness_new(mode);
    cr_assert_not_null(h);
    return h;
}

/* Rewrite IDT gate `vec` (protected-mode IDT of the harness). type: 0xe
 * 32-bit interrupt gate, 0xf trap gate, 0x6/0x7 16-bit; p: present. */
static inline void sys_gate(struct harness *h, int vec, uint16_t sel, uint32_t off, unsigned type, unsigned dpl,
                            int p)
{
    harness_write32(h, HARNESS_IDT + (uint32_t)vec * 8, (off & 0xffff) | ((uint32_t)sel << 16));
    harness_write32(h, HARNESS_IDT + (uint32_t)vec * 8 + 4,
                    (off & 0xffff0000u) | (p ? 0x8000u : 0) | (dpl << 13) | (type << 8));
}

/* Expect the run to stop in the stub of `vec`. */
#define EXPECT_EXC(h, r, vec) do { \
        cr_assert_eq((r), HR_EXCEPTION, "no exception (result %d)", (int)(r)); \
        cr_assert_eq((h)->vector, (vec), "vector %d, expected %d", (h)->vector, (vec)); \
    } while (0)

/* Run code at HARNESS_CODE; drops blocks decoded from earlier code there
 * (harness_poke bypasses the guest-write tracking). */
static inline enum harness_result sys_run_max(struct harness *h, const void *code, size_t len, uint64_t max)
{
    if (h->m.dcache) dcache_flush(h->m.dcache);
    return harness_run_max(h, code, len, max);
}
#define RUN(h, code) sys_run_max((h), (code), sizeof(code), 100000)

/* 16-bit word at SS:SP + 2*i (real mode frames). */
static inline uint16_t sys_stack16(struct harness *h, int i)
{
    struct vcpu *v = h->v;
    uint32_t sp = v->stack32 ? v->r[R_ESP] : (v->r[R_ESP] & 0xffff);
    uint16_t x;
    harness_peek(h, v->seg[S_SS].base + sp + 2u * (uint32_t)i, &x, 2);
    return x;
}

#endif
