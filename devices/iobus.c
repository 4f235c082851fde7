/* The port-I/O bus (devices/iobus.h). */
#include "devices/iobus.h"

#include <string.h>

void iobus_init(struct iobus *b)
{
    memset(b, 0, sizeof(*b));
}

int iobus_register(struct iobus *b, uint16_t base, uint32_t count,
                   pio_read_fn rd, pio_write_fn wr, void *opaque, const char *name)
{
    if (b->nh >= IOBUS_MAX_HANDLERS || count == 0 || base + count > 65536u)
        return -1;
    b->h[b->nh] = (struct pio_handler){ rd, wr, opaque, name };
    b->nh++;
    for (uint32_t p = base; p < base + count; p++)
        b->map[p] = (uint8_t)b->nh;
    return 0;
}

uint32_t iobus_in(struct iobus *b, uint16_t port, int size)
{
    uint32_t ones = size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu;
    int i = b->map[port];
    if (i == 0 || !b->h[i - 1].read) {
        b->unclaimed_reads++;
        return ones;
    }
    return b->h[i - 1].read(b->h[i - 1].opaque, port, size) & ones;
}

void iobus_out(struct iobus *b, uint16_t port, uint32_t val, int size)
{
    int i = b->map[port];
    if (i == 0 || !b->h[i - 1].write) {
        b->unclaimed_writes++;
        return;
    }
    b->h[i - 1].write(b->h[i - 1].opaque, port, val, size);
}
