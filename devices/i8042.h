/* The 8042 keyboard controller (ports 0x60/0x64) with a PS/2 keyboard and a
 * PS/2 mouse behind it: controller commands (command byte, self tests, port
 * enables, output port with the A20 and reset lines, pulse reset 0xFE),
 * keyboard commands (reset, identify, LEDs, scancode set, typematic, enable),
 * scancode input, IRQ 1 (keyboard) and IRQ 12 (mouse). Also port 0x92
 * (system control port A: fast A20 and fast reset). */
#ifndef BT86_DEVICES_I8042_H
#define BT86_DEVICES_I8042_H

#include <stdbool.h>
#include <stdint.h>

struct iobus;

#define I8042_QUEUE 64

struct i8042 {
    uint8_t q[I8042_QUEUE];   /* bytes waiting for the output buffer */
    bool q_aux[I8042_QUEUE];  /* ... and whether each came from the mouse */
    bool q_ctl[I8042_QUEUE];  /* ... or is the controller's own reply (never held back by a port's disable bit) */
    int q_head, q_len;
    uint8_t out;              /* output buffer (port 0x60 reads) */
    bool out_full, out_aux;
    uint8_t cmd_byte;         /* the controller command byte */
    uint8_t pending_cmd;      /* controller command waiting for its data byte */
    uint8_t kbd_pending;      /* keyboard command waiting for its data byte */
    uint8_t aux_pending;      /* mouse command waiting for its data byte */
    bool last_was_cmd;        /* status bit 3 */
    bool kbd_enabled;         /* scanning enabled */
    uint8_t scancode_set;
    bool a20;                 /* output port bit 1 */
    uint8_t port92;
    bool irq1, irq12;
    void (*set_irq)(void *opaque, int irq, bool level);
    void (*set_a20)(void *opaque, bool enabled);
    void (*reset)(void *opaque);
    void *opaque;
};

void i8042_init(struct i8042 *k, void (*set_irq)(void *, int, bool), void (*set_a20)(void *, bool),
                void (*reset)(void *), void *opaque);
int  i8042_register(struct i8042 *k, struct iobus *bus);
uint8_t i8042_read(struct i8042 *k, uint16_t port);
void    i8042_write(struct i8042 *k, uint16_t port, uint8_t val);
/* Queue scancode bytes from the keyboard (already in the set the guest expects). */
void i8042_key_bytes(struct i8042 *k, const uint8_t *bytes, int n);

#endif
