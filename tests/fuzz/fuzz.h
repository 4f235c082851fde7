/* Running fuzz cases (tests/fuzz/gen.h) under two engines in lockstep
 * (cpu/lockstep.h): building the small fuzz machine, classifying how a case
 * ended, and printing a reproducer when the engines disagree. Used by the
 * bt86-fuzz program (tests/fuzz/main.c) and the `fuzz` unit-test suite. */
#ifndef BT86_TESTS_FUZZ_FUZZ_H
#define BT86_TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/lockstep.h"
#include "cpu/machine.h"
#include "tests/fuzz/gen.h"

struct fuzz_opts {
    const struct engine *ea, *eb; /* A runs chunks, B follows (A should be the block engine) */
    uint64_t chunk;               /* instructions per lockstep compare (0: BLOCK_MAX_INSNS) */
    uint32_t eflags_mask;         /* 0: compare every EFLAGS bit */
    FILE *log;                    /* reproducer on a mismatch (NULL: silent) */
};

/* How a case ended on engine A. */
enum fz_end {
    FE_DONE,      /* reached the HLT after the sequence (CPL 0) */
    FE_EXCEPTION, /* entered the stub of `vector` */
    FE_HALT,      /* a HLT elsewhere */
    FE_TRIPLE,
    FE_LIMIT,     /* FZ_RUN_LIMIT instructions */
    FE_OTHER,
    FE_FAULT_LOOP, /* CPU_FAULT_LOOP_MAX faults in a row, no instruction retired (a handler that faults at once) */
    FE_COUNT
};

struct fuzz_outcome {
    bool mismatch;
    enum fz_end end;
    int vector;
    uint64_t insns;
};

/* A machine holding case c, ready to run at the start of the sequence.
 * NULL if out of memory. Free with fuzz_machine_free. */
struct machine *fuzz_machine_new(const struct fuzz_case *c);
void fuzz_machine_free(struct machine *m);

/* Run c under o->ea and o->eb in lockstep. Returns 0 when they agree, 1 on a
 * mismatch (reproducer on o->log), -1 when a machine cannot be built. */
int fuzz_run_case(const struct fuzz_case *c, const struct fuzz_opts *o, struct fuzz_outcome *out);

/* The case's parameters and a disassembly of its code. */
void fuzz_print_case(FILE *f, const struct fuzz_case *c);

const char *fuzz_end_name(enum fz_end e);

#endif
