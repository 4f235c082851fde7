/* The POST port 0x80 (devices/port80.h). */
#include "devices/port80.h"

#include <stddef.h>

static uint32_t port80_read(void *opaque, uint16_t port, int size)
{
    (void)opaque;
    (void)port;
    (void)size;
    return 0xffffffffu;
}

static void port80_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)opaque;
    (void)port;
    (void)val;
    (void)size;
}

int port80_init(struct iobus *bus)
{
    return iobus_register(bus, 0x80, 1, port80_read, port80_write, NULL, "port80");
}
