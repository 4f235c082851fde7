/* QEMU's isa-debugcon (devices/debugcon.h). Bytes are written straight to
 * the descriptor, unbuffered, so that they interleave with COM1's output
 * on a shared terminal in the order the guest produced them. */
#include "devices/debugcon.h"

#include <errno.h>
#include <unistd.h>

uint32_t debugcon_port_read(void *opaque, uint16_t port, int size)
{
    (void)opaque;
    (void)port;
    (void)size;
    return 0xffffff00u | DEBUGCON_READBACK;
}

void debugcon_port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct debugcon *d = opaque;
    (void)port;
    (void)size;
    uint8_t b = (uint8_t)val;
    d->bytes++;
    if (d->fd < 0 || d->error) return;
    for (;;) {
        ssize_t r = write(d->fd, &b, 1);
        if (r == 1) return;
        if (r < 0 && errno == EINTR) continue;
        d->error = true; /* the guest keeps running; its output is dropped */
        return;
    }
}

int debugcon_init(struct debugcon *d, struct iobus *bus, int fd, bool owned)
{
    *d = (struct debugcon){ .fd = fd, .fd_owned = owned };
    return iobus_register(bus, DEBUGCON_PORT, 1, debugcon_port_read, debugcon_port_write, d, "debugcon");
}

void debugcon_close(struct debugcon *d)
{
    if (d->fd_owned && d->fd >= 0) close(d->fd);
    d->fd = -1;
    d->fd_owned = false;
}
