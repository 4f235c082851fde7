/* The random-instruction fuzzer: a fuzz case is everything needed to build
 * one small machine and run one random instruction sequence on it (mode,
 * paging, initial registers and flags, data and code bytes), generated from
 * a 64-bit seed alone, so that a seed reproduces a case exactly.
 *
 * Guest memory layout of a fuzz machine (FZ_RAM bytes):
 *   0x00000  real-mode IVT (vector n -> 7000:n*8)
 *   0x10000  FZ_CODE: the sequence, ended by HLT
 *   0x20000  FZ_DATA: three random data pages (accesses straddle 0x21000);
 *            also the base of FS/GS (and of every data segment in 16-bit modes)
 *   0x70000  exception stubs: HLT bytes, so delivering any event ends the run
 *   0x72000  GDT (see fuzz.c), 0x72100 TSS32 (ESP0 = FZ_STACK0, SS0 = 0x10)
 *   0x73000  IDT: 256 interrupt gates, DPL 3, 0x08:FZ_STUBS + n*8
 *   0x74000  page directory, 0x75000 page table (identity map of RAM; the
 *            system pages 0x70000-0x75fff are supervisor-only)
 *   0x8ff00  initial ESP (32-bit modes); 0x9fff0 ring-0 stack from the TSS
 * The stubs and system tables sit where stray writes rarely reach (not in
 * the low 64 KiB, nor in reach of 16-bit offsets from the 16-bit modes'
 * segment bases): an IDT entry or stub overwritten so that a handler raises
 * its own vector makes the interpreter deliver that fault forever without
 * retiring an instruction (bt86-fuzz reports such a case as a HANG). */
#ifndef BT86_TESTS_FUZZ_GEN_H
#define BT86_TESTS_FUZZ_GEN_H

#include <stdbool.h>
#include <stdint.h>

#define FZ_RAM      (1u << 20)
#define FZ_STUBS    0x70000u
#define FZ_GDT      0x72000u
#define FZ_TSS      0x72100u
#define FZ_IDT      0x73000u
#define FZ_PD       0x74000u
#define FZ_PT       0x75000u
#define FZ_CODE     0x10000u
#define FZ_DATA     0x20000u
#define FZ_DATA_LEN 0x3000u
#define FZ_STACK    0x8ff00u
#define FZ_STACK0   0x9fff0u

#define FZ_MAX_CODE  4096
#define FZ_MAX_INSNS 320     /* records, including setup instructions */
#define FZ_RUN_LIMIT 1000    /* retired instructions per run: sequences retire at most a few hundred; runaway loops stop here */

enum fz_mode { FZ_REAL16, FZ_PROT16, FZ_PROT32, FZ_USER32, FZ_NMODES };

struct fuzz_case {
    uint64_t seed;
    enum fz_mode mode;
    bool paging;
    uint32_t cr0;            /* initial CR0 (PE/PG by mode, plus random WP/AM/NE/MP/TS) */
    uint32_t regs[8];
    uint32_t eflags;
    uint16_t fcw;            /* initial x87 control word */
    uint32_t pte_flags[3];   /* PTE low bits of the data pages (paging only) */
    bool global;             /* paging with CR4.PGE and every PTE global (G) */
    uint8_t data[FZ_DATA_LEN];
    uint8_t code[FZ_MAX_CODE];
    uint32_t code_len;
    uint16_t insn_off[FZ_MAX_INSNS + 1]; /* start of every generated instruction */
    int ninsn;
};

/* Fill c from seed. */
void fuzz_generate(struct fuzz_case *c, uint64_t seed);

/* The seed of the i-th case of a run started from `seed` (so that any case of
 * a long run can be rerun alone). */
uint64_t fuzz_case_seed(uint64_t seed, uint64_t i);

const char *fuzz_mode_name(enum fz_mode m);

#endif
