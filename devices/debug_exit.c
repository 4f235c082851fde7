/* The isa-debug-exit device (devices/debug_exit.h). It stops the vCPU that
 * wrote the port; the front end turns STOP_EXIT_PORT into the exit status. */
#include "devices/debug_exit.h"

#include <stddef.h>

#include "cpu/vcpu.h"

static void debug_exit_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct debug_exit *d = opaque;
    (void)port;
    if (size == 1) val &= 0xff;
    else if (size == 2) val &= 0xffff;
    d->last_value = val;
    d->written = 1;
    struct vcpu *v = d->cur ? *d->cur : NULL;
    if (!v) return;
    v->exit_status = debug_exit_status(val);
    v->stop = STOP_EXIT_PORT;
    v->req |= REQ_STOP;
}

int debug_exit_init(struct debug_exit *d, struct iobus *bus, struct vcpu *const *cur)
{
    d->cur = cur;
    d->last_value = 0;
    d->written = 0;
    /* Reads are unclaimed (all ones), as in QEMU. */
    return iobus_register(bus, DEBUG_EXIT_PORT, 1, NULL, debug_exit_write, d, "debug-exit");
}
