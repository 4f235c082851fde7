/* The port-I/O bus: devices register handlers for port ranges. Unclaimed ports
 * read as all ones and writes to them are dropped (both counted). */
#ifndef BT86_DEVICES_IOBUS_H
#define BT86_DEVICES_IOBUS_H

#include <stdint.h>

typedef uint32_t (*pio_read_fn)(void *opaque, uint16_t port, int size);
typedef void (*pio_write_fn)(void *opaque, uint16_t port, uint32_t val, int size);

struct pio_handler {
    pio_read_fn read;   /* may be NULL: reads as all ones */
    pio_write_fn write; /* may be NULL: writes dropped */
    void *opaque;
    const char *name;
};

#define IOBUS_MAX_HANDLERS 64

struct iobus {
    uint8_t map[65536];  /* port -> handler index + 1, 0 = unclaimed */
    struct pio_handler h[IOBUS_MAX_HANDLERS];
    int nh;
    uint64_t unclaimed_reads, unclaimed_writes;
};

void iobus_init(struct iobus *b);
/* Claim ports [base, base+count). Returns 0, or -1 if out of handler slots. */
int iobus_register(struct iobus *b, uint16_t base, uint32_t count,
                   pio_read_fn rd, pio_write_fn wr, void *opaque, const char *name);
/* size 1, 2 or 4; a 2/4-byte access to a port whose handler is byte-only is
 * split by the handler itself (handlers see the size). */
uint32_t iobus_in(struct iobus *b, uint16_t port, int size);
void     iobus_out(struct iobus *b, uint16_t port, uint32_t val, int size);

#endif
