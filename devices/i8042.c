/* The 8042 keyboard controller and port 0x92 (devices/i8042.h). */
#include "devices/i8042.h"

#include "devices/iobus.h"

#define ST_OBF   0x01
#define ST_SYS   0x04
#define ST_CMD   0x08
#define ST_UNINH 0x10
#define ST_AUXOB 0x20

#define CB_KBD_INT 0x01
#define CB_AUX_INT 0x02
#define CB_SYS     0x04
#define CB_KBD_DIS 0x10
#define CB_AUX_DIS 0x20
#define CB_XLAT    0x40

static void update_irq(struct i8042 *k)
{
    bool irq1 = k->out_full && !k->out_aux && (k->cmd_byte & CB_KBD_INT);
    bool irq12 = k->out_full && k->out_aux && (k->cmd_byte & CB_AUX_INT);
    if (irq1 != k->irq1) {
        k->irq1 = irq1;
        if (k->set_irq) k->set_irq(k->opaque, 1, irq1);
    }
    if (irq12 != k->irq12) {
        k->irq12 = irq12;
        if (k->set_irq) k->set_irq(k->opaque, 12, irq12);
    }
}

/* Move the next queued byte into the output buffer if it is free and its
 * port is not disabled. */
static void refill(struct i8042 *k)
{
    if (!k->out_full && k->q_len > 0) {
        bool aux = k->q_aux[k->q_head];
        if (k->q_ctl[k->q_head] || !(k->cmd_byte & (aux ? CB_AUX_DIS : CB_KBD_DIS))) {
            k->out = k->q[k->q_head];
            k->out_aux = aux;
            k->out_full = true;
            k->q_head = (k->q_head + 1) % I8042_QUEUE;
            k->q_len--;
        }
    }
    update_irq(k);
}

static void enqueue(struct i8042 *k, uint8_t b, bool aux, bool ctl)
{
    if (k->q_len == I8042_QUEUE) return; /* overrun: the byte is lost */
    int i;
    if (ctl) {
        /* Ahead of device bytes still held by a disabled port. */
        k->q_head = (k->q_head + I8042_QUEUE - 1) % I8042_QUEUE;
        i = k->q_head;
    } else {
        i = (k->q_head + k->q_len) % I8042_QUEUE;
    }
    k->q[i] = b;
    k->q_aux[i] = aux;
    k->q_ctl[i] = ctl;
    k->q_len++;
    refill(k);
}

/* A byte from the keyboard (aux false) or the mouse: held while that port is
 * disabled in the command byte. */
static void push(struct i8042 *k, uint8_t b, bool aux) { enqueue(k, b, aux, false); }
/* The controller's reply to a command: delivered even while the ports are
 * disabled (Linux reads the command byte with both disabled). */
static void reply(struct i8042 *k, uint8_t b, bool aux) { enqueue(k, b, aux, true); }

/* A byte written to port 0x60 for the keyboard itself. */
static void kbd_command(struct i8042 *k, uint8_t val)
{
    if (k->kbd_pending) {
        uint8_t cmd = k->kbd_pending;
        k->kbd_pending = 0;
        if (cmd == 0xf0 && val == 0) {
            push(k, 0xfa, false);
            push(k, k->scancode_set, false);
            return;
        }
        if (cmd == 0xf0 && val >= 1 && val <= 3) k->scancode_set = val;
        push(k, 0xfa, false);
        return;
    }
    switch (val) {
    case 0xed: case 0xf3: case 0xf0: /* LEDs, typematic, scancode set: a data byte follows */
        k->kbd_pending = val;
        push(k, 0xfa, false);
        break;
    case 0xee: push(k, 0xee, false); break; /* echo */
    case 0xf2: push(k, 0xfa, false); push(k, 0xab, false); push(k, 0x83, false); break; /* MF2 keyboard */
    case 0xf4: k->kbd_enabled = true; push(k, 0xfa, false); break;
    case 0xf5: k->kbd_enabled = false; push(k, 0xfa, false); break;
    case 0xf6: k->kbd_enabled = true; push(k, 0xfa, false); break;
    case 0xff:                                 /* reset and self test */
        k->kbd_enabled = true;
        k->scancode_set = 2;
        push(k, 0xfa, false);
        push(k, 0xaa, false);
        break;
    default: push(k, 0xfa, false); break;
    }
}

/* A byte sent to the mouse with controller command 0xD4. */
static void aux_command(struct i8042 *k, uint8_t val)
{
    if (k->aux_pending) { /* data byte of set-resolution / set-sample-rate */
        k->aux_pending = 0;
        push(k, 0xfa, true);
        return;
    }
    switch (val) {
    case 0xe8: case 0xf3: k->aux_pending = val; push(k, 0xfa, true); break;
    case 0xf2: push(k, 0xfa, true); push(k, 0x00, true); break; /* standard PS/2 mouse */
    case 0xe9: push(k, 0xfa, true); push(k, 0x00, true); push(k, 0x02, true); push(k, 0x64, true); break;
    case 0xff: push(k, 0xfa, true); push(k, 0xaa, true); push(k, 0x00, true); break;
    default: push(k, 0xfa, true); break;
    }
}

static void write_output_port(struct i8042 *k, uint8_t val)
{
    bool a20 = val & 2;
    if (a20 != k->a20) {
        k->a20 = a20;
        if (k->set_a20) k->set_a20(k->opaque, a20);
    }
    if (!(val & 1) && k->reset) k->reset(k->opaque); /* bit 0 low holds the CPU in reset */
}

static void controller_command(struct i8042 *k, uint8_t cmd)
{
    switch (cmd) {
    case 0x20: reply(k, k->cmd_byte, false); break;
    case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4: k->pending_cmd = cmd; break;
    case 0xa7: k->cmd_byte |= CB_AUX_DIS; break;
    case 0xa8: k->cmd_byte &= ~CB_AUX_DIS; refill(k); break;
    case 0xa9: reply(k, 0x00, false); break;  /* mouse port test: OK */
    case 0xaa: reply(k, 0x55, false); break;  /* controller self test: OK */
    case 0xab: reply(k, 0x00, false); break;  /* keyboard port test: OK */
    case 0xad: k->cmd_byte |= CB_KBD_DIS; break;
    case 0xae: k->cmd_byte &= ~CB_KBD_DIS; refill(k); break;
    case 0xc0: reply(k, 0x80, false); break;  /* input port: keyboard not inhibited */
    case 0xd0: reply(k, (uint8_t)(0x01 | (k->a20 ? 2 : 0) | (k->out_full && !k->out_aux ? 0x10 : 0) |
                                 (k->out_full && k->out_aux ? 0x20 : 0)), false); break;
    case 0xdd: write_output_port(k, 0x01); break; /* disable A20 */
    case 0xdf: write_output_port(k, 0x03); break; /* enable A20 */
    default:
        /* 0xF0-0xFF pulse output-port bits low for 6 us; bit 0 is the reset line. */
        if (cmd >= 0xf0 && !(cmd & 1) && k->reset) k->reset(k->opaque);
        break;
    }
}

uint8_t i8042_read(struct i8042 *k, uint16_t port)
{
    if (port == 0x92) return k->port92;
    if (port == 0x64) {
        return (uint8_t)((k->out_full ? ST_OBF : 0) | (k->out_full && k->out_aux ? ST_AUXOB : 0) |
                         ((k->cmd_byte & CB_SYS) ? ST_SYS : 0) | (k->last_was_cmd ? ST_CMD : 0) | ST_UNINH);
    }
    uint8_t v = k->out; /* reading an empty buffer returns the last byte again */
    k->out_full = false;
    /* The read drops the IRQ line; the next byte raises it again, a new edge
     * for the (edge-triggered) PIC or I/O APIC. Handlers that read one byte
     * per interrupt, like Linux's, rely on it (QEMU pulses the line the same way). */
    update_irq(k);
    refill(k);
    return v;
}

void i8042_write(struct i8042 *k, uint16_t port, uint8_t val)
{
    if (port == 0x92) {
        k->port92 = val & 0x02;
        write_output_port(k, (uint8_t)(0x01 | (val & 2))); /* fast A20 */
        if ((val & 1) && k->reset) k->reset(k->opaque);      /* fast reset */
        return;
    }
    if (port == 0x64) {
        k->last_was_cmd = true;
        controller_command(k, val);
        return;
    }
    k->last_was_cmd = false;
    uint8_t cmd = k->pending_cmd;
    k->pending_cmd = 0;
    switch (cmd) {
    case 0x60: k->cmd_byte = val; refill(k); break;
    case 0xd1: write_output_port(k, val); break;
    case 0xd2: reply(k, val, false); break;
    case 0xd3: reply(k, val, true); break;
    case 0xd4: aux_command(k, val); break;
    default: kbd_command(k, val); break;
    }
}

void i8042_key_bytes(struct i8042 *k, const uint8_t *bytes, int n)
{
    if (!k->kbd_enabled) return;
    for (int i = 0; i < n; i++) push(k, bytes[i], false);
}

void i8042_init(struct i8042 *k, void (*set_irq)(void *, int, bool), void (*set_a20)(void *, bool),
                void (*reset)(void *), void *opaque)
{
    *k = (struct i8042){ 0 };
    k->cmd_byte = CB_KBD_INT | CB_SYS | CB_XLAT;
    k->kbd_enabled = true;
    k->scancode_set = 2;
    k->a20 = true;
    k->port92 = 0x02;
    k->set_irq = set_irq;
    k->set_a20 = set_a20;
    k->reset = reset;
    k->opaque = opaque;
}

static uint32_t kbc_io_read(void *opaque, uint16_t port, int size)
{
    (void)size;
    return i8042_read(opaque, port);
}

static void kbc_io_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)size;
    i8042_write(opaque, port, (uint8_t)val);
}

int i8042_register(struct i8042 *k, struct iobus *bus)
{
    if (iobus_register(bus, 0x60, 1, kbc_io_read, kbc_io_write, k, "i8042-data") ||
        iobus_register(bus, 0x64, 1, kbc_io_read, kbc_io_write, k, "i8042-cmd") ||
        iobus_register(bus, 0x92, 1, kbc_io_read, kbc_io_write, k, "port92"))
        return -1;
    return 0;
}
