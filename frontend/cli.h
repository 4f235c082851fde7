/* bt86's command line, in QEMU's conventions (`bt86 [options] -kernel FILE`).
 * Parsing only: no file is opened here, so every check is testable in-process. */
#ifndef BT86_FRONTEND_CLI_H
#define BT86_FRONTEND_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/vmm_trace.h"
#include "frontend/drive_opt.h"

#define BT86_VERSION "0.1.0"

/* Process exit statuses (the guest's debug-exit port gives (V << 1) | 1). */
#define EXIT_STATUS_OK          0  /* guest shut down / reset, or Ctrl-A x */
#define EXIT_STATUS_USAGE       1  /* bad command line or input file */
#define EXIT_STATUS_HALT        2  /* HLT with nothing that can ever wake the CPU */
#define EXIT_STATUS_TRIPLE      3  /* triple fault */
#define EXIT_STATUS_INSN_LIMIT  4  /* -max-insns reached */

#define RAM_MIN_BYTES (2ull << 20)
#define RAM_MAX_BYTES (3ull << 30)
#define RAM_DEFAULT_BYTES (128ull << 20)
/* -spin-skip's default: each PAUSE lets 1 us of virtual time pass, so a
 * guest's calibrated delay loop (Linux's udelay: RDTSC, PAUSE, again) ends
 * after a few hundred rounds rather than its length in host time. */
#define SPIN_SKIP_DEFAULT_NS 1000u

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };
enum serial_kind { SERIAL_STDIO, SERIAL_NONE, SERIAL_FILE };
enum engine_kind { ENGINE_INTERP, ENGINE_BT, ENGINE_TRAP, ENGINE_KVM };
enum display_kind { DISPLAY_NONE, DISPLAY_SDL };
enum debugcon_kind { DEBUGCON_NONE, DEBUGCON_STDIO, DEBUGCON_FILE };

struct options {
    enum cli_action action;
    const char *kernel;       /* -kernel FILE (NULL: boot the first disk) */
    const char *append;       /* -append STR (NULL: none) */
    const char *initrd;       /* -initrd "FILE [ARGS][,FILE [ARGS]...]" */
    uint32_t ram_bytes;       /* -m */
    enum serial_kind serial;
    const char *serial_path;  /* SERIAL_FILE */
    enum engine_kind engine;
    enum display_kind display;
    bool no_reboot;
    bool stats;
    struct vmm_trace_cfg trace; /* -trace sensitive,... (cpu/vmm_trace.h) */
    uint64_t max_insns;       /* 0 = no limit */
    struct drive_set drives;  /* -drive, -hda..-hdd */
    bool snapshot;            /* -snapshot: no disk image is ever written */
    int icount_shift;         /* -icount SHIFT: deterministic virtual time, 2^SHIFT ns per instruction; -1 = real time */
    const char *bios;         /* -bios FILE: ROM image at the top of 4 GiB (NULL: none) */
    enum debugcon_kind debugcon; /* -debugcon: port 0xe9 output (none: no device) */
    const char *debugcon_path;   /* DEBUGCON_FILE */
    int smp;                  /* -smp N: vCPUs, 1 to 8 (default 1) */
    bool smp_single_thread;   /* -smp N,threads=single: round robin on one host thread */
    uint32_t spin_skip_ns;    /* -spin-skip NS: virtual time each PAUSE lets pass (0: none) */
};

/* Parse argv into o (defaults first). Returns 0, or -1 with a one-line message
 * (without the "bt86: " prefix) in err. */
int cli_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);

/* Parse a -m size: a number of MiB, or with a K/M/G/T suffix (QEMU's
 * convention); rounded up to 4 KiB. 0, or -1 with a message. */
int cli_parse_ram(const char *s, uint32_t *bytes, char *err, size_t errlen);

/* The --help text. */
void cli_usage(FILE *f);

#endif
