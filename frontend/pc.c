/* The PC board (frontend/pc.h). */
#include "frontend/pc.h"

#include <stdio.h>
#include <string.h>

#include "cpu/interp.h"
#include "devices/port80.h"
#include "frontend/multiboot.h"

/* Move buffered host input into the UART as far as its receiver has room. */
static void feed_uart(struct pc *pc)
{
    unsigned room = uart_can_receive(&pc->com1);
    if (!room || !pc->con.count) return;
    uint8_t tmp[UART_FIFO_SIZE];
    if (room > sizeof(tmp)) room = sizeof(tmp);
    unsigned n = console_take(&pc->con, tmp, room);
    uart_receive(&pc->com1, tmp, n);
}

static void check_quit(struct pc *pc, struct vcpu *v)
{
    if (!pc->con.quit || pc->user_quit) return;
    pc->user_quit = true;
    v->stop = STOP_SHUTDOWN;
    v->req |= REQ_STOP;
}

/* Called every few thousand guest instructions. */
static void pc_poll(struct machine *m, struct vcpu *v)
{
    struct pc *pc = m->board;
    if (pc->con.count < CONSOLE_BUF) console_poll(&pc->con, 0);
    feed_uart(pc);
    uart_tick(&pc->com1);
    check_quit(pc, v);
}

/* The vCPU is halted with nothing pending. With IF=0 nothing can wake it
 * (there is no NMI source). With IF=1 only an external interrupt can, and
 * until the interrupt controller exists (m->irq_ack) nothing can deliver one.
 * Once it does, wait a little for host input and let the devices run. */
static bool pc_idle(struct machine *m, struct vcpu *v)
{
    struct pc *pc = m->board;
    if (!(v->eflags & F_IF)) return false;
    if (!m->irq_ack) return false;
    console_poll(&pc->con, PC_IDLE_WAIT_MS);
    feed_uart(pc);
    uart_tick(&pc->com1);
    check_quit(pc, v);
    return true;
}

int pc_init(struct pc *pc, const struct options *o, char *err, size_t errlen)
{
    memset(pc, 0, sizeof(*pc));
    err[0] = '\0';
    if (console_open(&pc->con, o->serial, o->serial_path, err, errlen)) return -1;
    pc->console_ok = true;
    if (machine_init(&pc->m, o->ram_bytes, 1)) return -1; /* it printed why */
    pc->machine_ok = true;
    struct machine *m = &pc->m;
    m->board = pc;
    m->poll = pc_poll;
    m->idle = pc_idle;
    /* COM1's interrupt line has nowhere to go until the PIC exists: the UART
     * keeps its irq_level, and no callback is attached. */
    uart_init(&pc->com1, console_tx, &pc->con, NULL, NULL);
    if (uart_attach(&pc->com1, &m->io, PC_COM1_BASE) || debug_exit_init(&pc->dbg, &m->io, &pc->cur) ||
        port80_init(&m->io)) {
        snprintf(err, errlen, "out of I/O bus handler slots");
        return -1;
    }
    return 0;
}

int pc_load(struct pc *pc, const struct options *o, char *err, size_t errlen)
{
    struct mb_boot b;
    if (multiboot_load(&pc->m, o->kernel, o->append, o->initrd, &b, err, errlen)) return -1;
    multiboot_enter(&pc->m, pc->m.cpu[0], &b);
    return 0;
}

enum vcpu_stop pc_run(struct pc *pc, uint64_t max_insns)
{
    struct vcpu *v = pc->m.cpu[0];
    uint64_t start = v->icount;
    enum vcpu_stop s = STOP_NONE;
    pc->cur = v;
    while (s == STOP_NONE) {
        uint64_t left = 0;
        if (max_insns) {
            uint64_t done = v->icount - start;
            if (done >= max_insns) {
                s = STOP_INSN_LIMIT;
                break;
            }
            left = max_insns - done;
        }
        s = cpu_run(v, left);
        /* STOP_NONE: someone raised REQ_STOP without a reason; carry on. */
    }
    pc->cur = NULL;
    return s;
}

void pc_destroy(struct pc *pc)
{
    if (pc->machine_ok) machine_destroy(&pc->m);
    pc->machine_ok = false;
    if (pc->console_ok) console_close(&pc->con);
    pc->console_ok = false;
}
