/* Helpers shared by the move, string and branch instruction tests: a runner
 * that also works in H_PROT16 (whose 64 KiB code segment cannot reach
 * HARNESS_CODE at offset 0x10000, so CS's cached base is moved there, as
 * H_REAL16 does), exception checks, and host flag capture. */
#ifndef BT86_TESTS_CPU_TEST_UTIL_H
#define BT86_TESTS_CPU_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "cpu/decode_cache.h"
#include "cpu/interp.h"
#include "cpu/segment.h"
#include "harness.h"

/* Arithmetic flags (CF PF AF ZF SF OF). */
#define ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

static inline struct harness *hnew(enum harness_mode mode)
{
    struct harness *h = harness_new(mode);
    cr_assert_not_null(h);
    return h;
}

/* Offset of the code's first byte within CS for `mode`. */
static inline uint32_t code_base(const struct harness *h)
{
    return (h->mode == H_REAL16 || h->mode == H_PROT16) ? 0 : HARNESS_CODE;
}

static inline enum harness_result hrun_max(struct harness *h, const void *code, size_t len, uint64_t max)
{
    /* harness_poke writes RAM directly: drop blocks decoded from earlier code. */
    harness_poke(h, HARNESS_CODE, code, len);
    if (h->m.dcache) dcache_flush(h->m.dcache);
    if (h->mode != H_PROT16) return harness_run_max(h, code, len, max);
    struct vcpu *v = h->v;
    v->seg[S_CS].base = HARNESS_CODE;
    seg_cache_refresh(&v->seg[S_CS], true);
    v->eip = 0;
    for (uint64_t i = 0; i < max; i++) {
        uint32_t lin = v->seg[S_CS].base + v->eip;
        if (v->seg[S_CS].base == HARNESS_CODE && v->eip == len) return HR_DONE;
        if (lin >= HARNESS_STUBS && lin < HARNESS_STUBS + 256 * 8) {
            h->vector = (int)((lin - HARNESS_STUBS) / 8);
            return HR_EXCEPTION;
        }
        if (cpu_step(v) != STOP_INSN_LIMIT) return HR_STOPPED;
    }
    return HR_TIMEOUT;
}

static inline enum harness_result hrun(struct harness *h, const void *code, size_t len)
{
    return hrun_max(h, code, len, 100000);
}

#define RUN_OK(h, code) cr_assert_eq(hrun((h), (code), sizeof(code)), HR_DONE, "did not run to the end")

/* Read a word / dword of guest physical memory. */
static inline uint16_t peek16(struct harness *h, uint32_t pa)
{
    uint16_t x;
    harness_peek(h, pa, &x, 2);
    return x;
}
static inline uint8_t peek8(struct harness *h, uint32_t pa)
{
    uint8_t x;
    harness_peek(h, pa, &x, 1);
    return x;
}

/* The fault frame on the handler's stack. Protected modes: 32-bit gates,
 * [err] EIP CS EFLAGS. Real mode: IP CS FLAGS words. */
static inline uint32_t frame_eip(struct harness *h, bool has_err)
{
    struct vcpu *v = h->v;
    if (h->mode == H_REAL16) return peek16(h, v->seg[S_SS].base + (v->r[R_ESP] & 0xffff));
    return harness_stack(h, has_err ? 1 : 0);
}

/* Assert that the run ended in exception `vec` raised by the instruction at
 * CS offset `eip`, with error code `err` (or none when err < 0). */
static inline void expect_exc(struct harness *h, enum harness_result r, int vec, int64_t err, uint32_t eip)
{
    cr_assert_eq(r, HR_EXCEPTION, "expected exception %d, got result %d", vec, r);
    cr_assert_eq(h->vector, vec, "vector %d, expected %d", h->vector, vec);
    if (err >= 0) cr_assert_eq(harness_stack(h, 0), (uint32_t)err, "error code");
    cr_assert_eq(frame_eip(h, err >= 0), eip, "saved EIP %#x, expected %#x", frame_eip(h, err >= 0), eip);
}

/* Run a host instruction sequence `insn` (AT&T) with the arithmetic flags
 * taken from the output: the stack pointer is moved below the red zone
 * around PUSHF. */
#define HOST_FLAGS_ASM(insn) insn "\n\tlea -128(%%rsp), %%rsp\n\tpushfq\n\tpopq %[fl]\n\tlea 128(%%rsp), %%rsp"

#endif
