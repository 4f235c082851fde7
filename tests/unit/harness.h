/* Test harness: a small machine (16 MiB) with a flat GDT, an IDT/IVT whose
 * every vector points at a stub, and a code area. Runs guest code one
 * instruction at a time until it reaches the end of the code, enters an
 * exception stub, or stops.
 *
 * Guest memory layout:
 *   0x00000  real-mode IVT (vector n -> 0700:n*8)
 *   0x00500  GDT: 0x08 code32 r0, 0x10 data32 r0, 0x18 code16 r0, 0x20 data16 r0,
 *                 0x28 code32 r3 (use 0x2b), 0x30 data32 r3 (use 0x33), 0x38 TSS32
 *   0x00600  TSS32 (ESP0 = HARNESS_STACK0, SS0 = 0x10)
 *   0x01000  IDT: 256 interrupt gates, DPL 3, 0x08:HARNESS_STUBS + n*8
 *   0x07000  exception stubs (HLT bytes; execution stops on arrival)
 *   0x10000  HARNESS_CODE: code under test
 *   0x20000  HARNESS_DATA: scratch data
 *   0x8ff00  initial ESP (protected modes); 0x9fff0 ring-0 stack from the TSS
 */
#ifndef BT86_TESTS_HARNESS_H
#define BT86_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/machine.h"
#include "cpu/vcpu.h"

#define HARNESS_RAM    (16u << 20)
#define HARNESS_GDT    0x500u
#define HARNESS_TSS    0x600u
#define HARNESS_IDT    0x1000u
#define HARNESS_STUBS  0x7000u
#define HARNESS_CODE   0x10000u
#define HARNESS_DATA   0x20000u
#define HARNESS_STACK  0x8ff00u
#define HARNESS_STACK0 0x9fff0u

enum harness_mode { H_REAL16, H_PROT16, H_PROT32, H_USER32 /* CPL 3, flat */ };

enum harness_result {
    HR_DONE,      /* reached the end of the code */
    HR_EXCEPTION, /* entered the stub of vector h->vector */
    HR_STOPPED,   /* the vCPU stopped (h->v->stop) */
    HR_TIMEOUT,   /* max instructions executed */
};

struct harness {
    struct machine m;
    struct vcpu *v;
    enum harness_mode mode;
    int vector;        /* HR_EXCEPTION: the vector */
};

struct harness *harness_new(enum harness_mode mode);
void harness_free(struct harness *h);

/* Copy code to HARNESS_CODE, point CS:EIP at it, and run. In the 16-bit modes
 * CS.base is HARNESS_CODE and IP starts at 0. */
enum harness_result harness_run(struct harness *h, const void *code, size_t len);
enum harness_result harness_run_max(struct harness *h, const void *code, size_t len, uint64_t max_insns);

/* Guest physical memory helpers. */
void harness_poke(struct harness *h, uint32_t pa, const void *src, size_t len);
void harness_peek(struct harness *h, uint32_t pa, void *dst, size_t len);
uint32_t harness_read32(struct harness *h, uint32_t pa);
void harness_write32(struct harness *h, uint32_t pa, uint32_t val);

/* The halt stub of vector n after its HLT ran: EIP is one past it. */
static inline uint32_t harness_stub_end(int n) { return HARNESS_STUBS + (uint32_t)n * 8 + 1; }

/* Identity paging of the first 4 MiB with 4 KiB pages (directory at
 * 0x30000, table at 0x31000), every PTE with `flags` (3: supervisor, 7:
 * user) but linear page number `absent`, not present; CR0.PG on, TLB
 * flushed. */
void harness_identity_paging(struct harness *h, uint32_t flags, uint32_t absent);

/* After HR_EXCEPTION in a protected mode: the dword at ESP + 4*i on the handler's stack
 * (i = 0 is the error code for vectors that push one, else the saved EIP). */
uint32_t harness_stack(struct harness *h, int i);

#endif
