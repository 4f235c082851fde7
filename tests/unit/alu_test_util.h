/* Helpers for the ALU and bit-instruction tests (test_alu.c, test_bits.c): a
 * runner that reuses one harness for many cases (dropping decoded blocks when
 * the code bytes change), a seeded generator, the edge values, and the host
 * oracle: the same instruction run on the host with the guest's input flags
 * loaded by POPFQ and the output flags read by PUSHFQ. */
#ifndef BT86_TESTS_ALU_TEST_UTIL_H
#define BT86_TESTS_ALU_TEST_UTIL_H

#include <string.h>

#include "cpu/decode_cache.h"
#include "cpu_test_util.h"

/* Run `len` code bytes (H_PROT32 or H_REAL16). The code is always written at
 * HARNESS_CODE and decoded blocks are keyed by host address, so when the bytes
 * differ from the previous run's, the blocks on that page are dropped (hrun's
 * whole-cache flush and a Capstone decode per case would dominate these
 * tests, which run ~10^5 cases; unchanged code reuses its block). */
static inline enum harness_result arun(struct harness *h, const uint8_t *code, size_t len)
{
    static const struct harness *last_h;
    static uint8_t last_code[32];
    static size_t last_len;
    bool same = h == last_h && len == last_len && len <= sizeof last_code && !memcmp(code, last_code, len);
    if (!same && h->m.mem.on_code_write) {
        /* What a guest write to the code does: drop the page's blocks and
         * bump the machine's code generation (the interpreter's jump cache). */
        h->m.mem.on_code_write(h->m.mem.code_write_opaque, HARNESS_CODE,
                               (unsigned)(len > last_len ? len : last_len));
        if (h->m.dcache) dcache_reap(h->m.dcache);
    }
    last_h = h;
    last_len = len <= sizeof last_code ? len : 0;
    if (last_len) memcpy(last_code, code, len);
    h->v->r[R_ESP] = h->mode == H_PROT32 ? HARNESS_STACK : 0xff00;
    return harness_run_max(h, code, len, 1000);
}

/* xorshift32, seeded per test so failures reproduce. */
static inline uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static const uint32_t EDGES[] = {
    0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xffff,
    0x10000, 0x7fffffff, 0x80000000u, 0x80000001u, 0xfffffffeu, 0xffffffffu,
};
#define NEDGES (sizeof(EDGES) / sizeof(EDGES[0]))

static inline uint32_t size_mask(unsigned size)
{
    return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/* Host oracle pieces. The stack pointer moves below the red zone around the
 * PUSH/POPFQ pair. f: in = guest flags, out = host flags after the instruction. */
#define ORC_PRE "lea -128(%%rsp), %%rsp\n\tpushq %q[f]\n\tpopfq\n\t"
#define ORC_POST "\n\tpushfq\n\tpopq %q[f]\n\tlea 128(%%rsp), %%rsp"
/* ins src, dst (two operands) */
#define ORC2(ins, m)                                                                   \
    __asm__ volatile(ORC_PRE ins " %" m "[b], %" m "[a]" ORC_POST                      \
                     : [a] "+r"(a), [f] "+r"(f) : [b] "r"(b) : "cc", "memory")
/* ins %cl, dst */
#define ORC_CL(ins, m)                                                                 \
    __asm__ volatile(ORC_PRE ins " %%cl, %" m "[a]" ORC_POST                           \
                     : [a] "+r"(a), [f] "+r"(f) : "c"(b) : "cc", "memory")
/* ins dst (one operand) */
#define ORC1(ins, m)                                                                   \
    __asm__ volatile(ORC_PRE ins " %" m "[a]" ORC_POST : [a] "+r"(a), [f] "+r"(f) : : "cc", "memory")
#define ORC_SIZED(size, MAC, ins)                                                      \
    do {                                                                               \
        if ((size) == 1) MAC(ins, "b");                                                \
        else if ((size) == 2) MAC(ins, "w");                                           \
        else MAC(ins, "k");                                                            \
    } while (0)

/* Input flags for the host: arithmetic bits of `gf` plus IF and bit 1. */
static inline uint64_t orc_flags(uint32_t gf)
{
    return (gf & ARITH) | 0x202;
}

/* Compare the guest's flags with the oracle's under `mask`, and check that the
 * bits outside ARITH did not change from `before`. ctx describes the case. */
static inline void check_flags(const struct vcpu *v, uint32_t before, uint32_t want, uint32_t mask,
                               const char *ctx)
{
    cr_assert_eq(v->eflags & ~ARITH, before & ~ARITH, "non-arithmetic flags changed: %s", ctx);
    cr_assert_eq(v->eflags & mask, want & mask, "flags %03x, host %03x (compared %03x): %s",
                 v->eflags & ARITH, want & ARITH, mask & ARITH, ctx);
}

#endif
