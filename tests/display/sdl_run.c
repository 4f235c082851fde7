/* A stand-in for bt86's main with -display sdl wired up, for testing the SDL
 * display before the board (frontend/pc.c) carries it: the same options, the
 * board from frontend/pc.h, plus the VGA text registers and the SDL window,
 * pumped from wrappers around the board's poll and idle hooks. Built by
 * tests/display/run.sh. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend/cli.h"
#include "frontend/display_sdl.h"
#include "frontend/pc.h"

static struct vga_text vga;
static struct display_sdl disp;
static void (*board_poll)(struct machine *, struct vcpu *);
static bool (*board_idle)(struct machine *, struct vcpu *);

static void closed_check(struct machine *m, struct vcpu *v)
{
    struct pc *pc = m->board;
    if (display_sdl_poll(&disp) && !pc->user_quit) {
        pc->user_quit = true;
        v->stop = STOP_SHUTDOWN;
        v->req |= REQ_STOP;
    }
}

static void poll_hook(struct machine *m, struct vcpu *v)
{
    board_poll(m, v);
    closed_check(m, v);
}

static bool idle_hook(struct machine *m, struct vcpu *v)
{
    bool r = board_idle(m, v);
    closed_check(m, v);
    return r || (v->eflags & F_IF); /* keys can always arrive */
}

int main(int argc, char **argv)
{
    struct options o;
    char err[1024];
    if (cli_parse(argc, argv, &o, err, sizeof(err))) {
        fprintf(stderr, "bt86: %s\n", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct pc *pc = calloc(1, sizeof(*pc));
    if (!pc) return 1;
    int status = 1;
    if (pc_init(pc, &o, err, sizeof(err)) || pc_load(pc, &o, err, sizeof(err))) {
        if (err[0]) fprintf(stderr, "bt86: %s\n", err);
        goto out;
    }
    if (vga_text_init(&vga, &pc->m.io)) {
        fprintf(stderr, "bt86: out of I/O bus handler slots\n");
        goto out;
    }
    if (display_sdl_open(&disp, &pc->m.mem, &vga, &pc->kbc, err, sizeof(err))) {
        fprintf(stderr, "bt86: %s\n", err);
        goto out;
    }
    board_poll = pc->m.poll;
    board_idle = pc->m.idle;
    pc->m.poll = poll_hook;
    pc->m.idle = idle_hook;
    console_start(&pc->con);
    enum vcpu_stop stop = pc_run(pc, o.max_insns);
    console_stop(&pc->con);
    display_sdl_close(&disp);
    if (stop == STOP_EXIT_PORT) status = pc->m.cpu[0]->exit_status;
    else if (stop == STOP_SHUTDOWN) {
        if (pc->user_quit) fprintf(stderr, "bt86: terminated (window closed)\n");
        status = 0;
    } else {
        fprintf(stderr, "bt86: stopped (%d)\n", (int)stop);
    }
out:
    pc_destroy(pc);
    free(pc);
    return status;
}
