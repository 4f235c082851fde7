/* bt86's entry point: parse the command line, build the PC, load the kernel,
 * run the vCPU, and turn the way it stopped into an exit status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cpu/interp.h"
#include "frontend/cli.h"
#include "frontend/display_sdl.h"
#include "frontend/pc.h"
#include "frontend/stats.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_chain(const struct vcpu *v)
{
    int n = v->fault_chain_len;
    if (n <= 0) {
        fputs("unknown", stderr);
        return;
    }
    if (n > 4) n = 4;
    for (int i = 0; i < n; i++) fprintf(stderr, "%s%02x", i ? " -> " : "", (unsigned)v->fault_chain[i] & 0xff);
}

/* Report how the run ended (one line on stderr unless the guest chose its exit)
 * and return the process exit status. */
static int finish(const struct pc *pc, enum vcpu_stop stop, uint64_t max_insns)
{
    const struct vcpu *v = pc->m.cpu[0];
    switch (stop) {
    case STOP_EXIT_PORT:
        return v->exit_status;
    case STOP_SHUTDOWN:
        if (pc->user_quit && pc->display && pc->display->quit) fprintf(stderr, "bt86: terminated (window closed)\n");
        else if (pc->user_quit) fprintf(stderr, "bt86: terminated (Ctrl-A x)\n");
        else if (pc->reset_requested) fprintf(stderr, "bt86: the guest reset the machine\n");
        return EXIT_STATUS_OK;
    case STOP_TRIPLE_FAULT:
        fprintf(stderr, "bt86: triple fault (vector chain: ");
        print_chain(v);
        fprintf(stderr, ") at EIP=%08x CPL=%u\n", v->insn_eip, v->cpl);
        return EXIT_STATUS_TRIPLE;
    case STOP_HALT_FOREVER:
        if (v->eflags & F_IF)
            fprintf(stderr, "bt86: CPU halted forever: HLT at EIP=%08x with IF=1, no timer armed and no input\n",
                    v->insn_eip);
        else
            fprintf(stderr, "bt86: CPU halted forever: HLT at EIP=%08x with interrupts disabled (IF=0)\n",
                    v->insn_eip);
        return EXIT_STATUS_HALT;
    case STOP_INSN_LIMIT:
        fprintf(stderr, "bt86: stopped after %llu instructions (-max-insns) at EIP=%08x\n",
                (unsigned long long)max_insns, v->eip);
        return EXIT_STATUS_INSN_LIMIT;
    case STOP_FAULT_LOOP:
        fprintf(stderr, "bt86: stopped at EIP=%08x: %d faults in a row and no instruction retired (a fault loop; "
                "-max-insns could never be reached)\n", v->eip, CPU_FAULT_LOOP_MAX);
        return EXIT_STATUS_INSN_LIMIT;
    case STOP_ERROR:
    case STOP_NONE:
    default:
        fprintf(stderr, "bt86: internal error: the vCPU stopped unexpectedly at EIP=%08x\n", v->eip);
        return EXIT_STATUS_USAGE;
    }
}

int main(int argc, char **argv)
{
    struct options o;
    char err[1024];
    if (cli_parse(argc, argv, &o, err, sizeof(err))) {
        fprintf(stderr, "bt86: %s\n", err);
        return EXIT_STATUS_USAGE;
    }
    if (o.action == CLI_HELP) {
        cli_usage(stdout);
        return EXIT_STATUS_OK;
    }
    if (o.action == CLI_VERSION) {
        printf("bt86 %s\n", BT86_VERSION);
        return EXIT_STATUS_OK;
    }
    /* A closed output pipe must not kill bt86: console_tx sees EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);

    struct pc *pc = calloc(1, sizeof(*pc));
    if (!pc) {
        fprintf(stderr, "bt86: out of memory\n");
        return EXIT_STATUS_USAGE;
    }
    int status = EXIT_STATUS_USAGE;
    if (pc_init(pc, &o, err, sizeof(err)) || pc_load(pc, &o, err, sizeof(err))) {
        if (err[0]) fprintf(stderr, "bt86: %s\n", err);
        goto out;
    }
    static struct display_sdl disp;
    if (o.display == DISPLAY_SDL) {
        if (display_sdl_open(&disp, &pc->m.mem, &pc->vga, &pc->kbc, err, sizeof(err))) {
            fprintf(stderr, "bt86: %s\n", err);
            goto out;
        }
        pc->display = &disp;
    }
    if (stats_observe(pc, &o, err, sizeof(err))) { /* -stats timing, -trace */
        fprintf(stderr, "bt86: %s\n", err);
        goto out;
    }

    console_start(&pc->con);
    double t0 = now_seconds();
    enum vcpu_stop stop = pc_run(pc, o.max_insns);
    double secs = now_seconds() - t0;
    console_stop(&pc->con);

    status = finish(pc, stop, o.max_insns);
    if (o.stats) stats_print(stderr, pc, secs);
out:
    if (pc->display) display_sdl_close(pc->display);
    stats_unobserve(pc);
    pc_destroy(pc);
    free(pc);
    return status;
}
