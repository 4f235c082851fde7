/* QEMU's isa-debugcon at port 0xe9 (the "Bochs hack" port): every byte the
 * guest writes goes to a host file descriptor (-debugcon stdio|file:PATH);
 * reads return 0xe9, so a guest can tell the port is there. Only the port
 * itself belongs to the device: a 16- or 32-bit write sends its low byte and
 * a wider read gives 0xe9 in the low byte and all ones above (the ports past
 * 0xe9 are unclaimed), which is what QEMU does when it splits the access. */
#ifndef BT86_DEVICES_DEBUGCON_H
#define BT86_DEVICES_DEBUGCON_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/iobus.h"

#define DEBUGCON_PORT 0xe9
#define DEBUGCON_READBACK 0xe9

struct debugcon {
    int fd;           /* where the bytes go; -1: nowhere */
    bool fd_owned;    /* close it in debugcon_close */
    bool error;       /* a write failed (closed pipe, full disk): drop the rest */
    uint64_t bytes;   /* bytes written by the guest */
};

/* Send bytes to fd (owned: closed by debugcon_close) and claim port 0xe9.
 * 0, or -1 if out of I/O bus slots. */
int debugcon_init(struct debugcon *d, struct iobus *bus, int fd, bool owned);
void debugcon_close(struct debugcon *d);

/* The port handlers (also for tests). */
uint32_t debugcon_port_read(void *opaque, uint16_t port, int size);
void debugcon_port_write(void *opaque, uint16_t port, uint32_t val, int size);

#endif
