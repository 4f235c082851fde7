/* 8042 keyboard controller: controller commands, keyboard and mouse
 * commands, output buffer and IRQs, A20 and reset lines, port 0x92. */
#include <criterion/criterion.h>

#include "devices/i8042.h"

static bool irq[16];
static bool a20_state;
static int resets;
static int rises[16];
static void on_irq(void *o, int n, bool level)
{
    (void)o;
    if (level && !irq[n]) rises[n]++;
    irq[n] = level;
}
static void on_a20(void *o, bool en) { (void)o; a20_state = en; }
static void on_reset(void *o) { (void)o; resets++; }

static void setup(struct i8042 *k)
{
    memset(irq, 0, sizeof(irq));
    memset(rises, 0, sizeof(rises));
    a20_state = true;
    resets = 0;
    i8042_init(k, on_irq, on_a20, on_reset, NULL);
}

static uint8_t data(struct i8042 *k) { return i8042_read(k, 0x60); }
static uint8_t status(struct i8042 *k) { return i8042_read(k, 0x64); }

Test(i8042, self_test_and_command_byte)
{
    struct i8042 k;
    setup(&k);
    cr_assert_eq(status(&k) & 0x01, 0);
    i8042_write(&k, 0x64, 0xaa);
    cr_assert_eq(status(&k) & 0x09, 0x09);  /* OBF, last write was a command */
    cr_assert(irq[1]);
    cr_assert_eq(data(&k), 0x55);
    cr_assert_not(irq[1]);
    i8042_write(&k, 0x64, 0x20);
    cr_assert_eq(data(&k), 0x45);           /* XLAT | SYS | KBD_INT */
    i8042_write(&k, 0x64, 0x60);
    i8042_write(&k, 0x60, 0x44);            /* interrupts off */
    i8042_write(&k, 0x64, 0x20);
    cr_assert_not(irq[1]);
    cr_assert_eq(data(&k), 0x44);
}

Test(i8042, keyboard_reset_identify_and_leds)
{
    struct i8042 k;
    setup(&k);
    i8042_write(&k, 0x60, 0xff);
    cr_assert_eq(data(&k), 0xfa);
    cr_assert_eq(data(&k), 0xaa);
    i8042_write(&k, 0x60, 0xf2);
    cr_assert_eq(data(&k), 0xfa);
    cr_assert_eq(data(&k), 0xab);
    cr_assert_eq(data(&k), 0x83);
    i8042_write(&k, 0x60, 0xed);
    cr_assert_eq(data(&k), 0xfa);
    i8042_write(&k, 0x60, 0x07);
    cr_assert_eq(data(&k), 0xfa);
    cr_assert_eq(status(&k) & 1, 0);
    i8042_write(&k, 0x60, 0xf0);
    cr_assert_eq(data(&k), 0xfa);
    i8042_write(&k, 0x60, 0x00);            /* query the scancode set */
    cr_assert_eq(data(&k), 0xfa);
    cr_assert_eq(data(&k), 0x02);
}

Test(i8042, mouse_through_d4_raises_irq12)
{
    struct i8042 k;
    setup(&k);
    i8042_write(&k, 0x64, 0x60);
    i8042_write(&k, 0x60, 0x47);            /* both interrupts on */
    i8042_write(&k, 0x64, 0xd4);
    i8042_write(&k, 0x60, 0xf2);
    cr_assert_eq(status(&k) & 0x21, 0x21);
    cr_assert(irq[12]);
    cr_assert_not(irq[1]);
    cr_assert_eq(data(&k), 0xfa);
    cr_assert_eq(data(&k), 0x00);
    cr_assert_not(irq[12]);
}

Test(i8042, scancodes_queue_in_order)
{
    struct i8042 k;
    setup(&k);
    const uint8_t make_break[] = { 0x1e, 0x9e, 0x1f };
    i8042_key_bytes(&k, make_break, 3);
    cr_assert_eq(data(&k), 0x1e);
    cr_assert_eq(data(&k), 0x9e);
    cr_assert_eq(data(&k), 0x1f);
    cr_assert_eq(status(&k) & 1, 0);
    i8042_write(&k, 0x64, 0xad);            /* keyboard port disabled: bytes wait */
    i8042_key_bytes(&k, make_break, 1);
    cr_assert_eq(status(&k) & 1, 0);
    i8042_write(&k, 0x64, 0xae);
    cr_assert_eq(data(&k), 0x1e);
}

Test(i8042, a20_and_reset_lines)
{
    struct i8042 k;
    setup(&k);
    i8042_write(&k, 0x64, 0xd1);
    i8042_write(&k, 0x60, 0xdd);            /* A20 off, reset line high */
    cr_assert_not(a20_state);
    cr_assert_eq(resets, 0);
    i8042_write(&k, 0x64, 0xd0);
    cr_assert_eq(data(&k) & 0x03, 0x01);
    i8042_write(&k, 0x64, 0xd1);
    i8042_write(&k, 0x60, 0xdf);
    cr_assert(a20_state);
    i8042_write(&k, 0x64, 0xfe);            /* pulse reset */
    cr_assert_eq(resets, 1);
}

Test(i8042, port92_fast_a20_and_reset)
{
    struct i8042 k;
    setup(&k);
    cr_assert_eq(i8042_read(&k, 0x92), 0x02);
    i8042_write(&k, 0x92, 0x00);
    cr_assert_not(a20_state);
    cr_assert_eq(i8042_read(&k, 0x92), 0x00);
    i8042_write(&k, 0x92, 0x02);
    cr_assert(a20_state);
    i8042_write(&k, 0x92, 0x03);
    cr_assert_eq(resets, 1);
}

/* Linux reads the command byte back while both ports are disabled (its AUX
 * probe toggles CTR bit 5 that way): controller replies are never held back,
 * while keyboard bytes wait until the port is enabled again. */
Test(i8042, controller_replies_while_ports_disabled)
{
    struct i8042 k;
    setup(&k);
    i8042_write(&k, 0x64, 0xad);            /* keyboard port off */
    i8042_write(&k, 0x64, 0xa7);            /* mouse port off */
    const uint8_t key = 0x1e;
    i8042_key_bytes(&k, &key, 1);
    cr_assert_eq(status(&k) & 1, 0, "a key is held while the port is disabled");
    i8042_write(&k, 0x64, 0x20);
    cr_assert_eq(status(&k) & 0x21, 0x01);
    cr_assert_eq(data(&k), 0x75);           /* 0x45 | KBD_DIS | AUX_DIS */
    i8042_write(&k, 0x64, 0xa8);            /* mouse port on: bit 5 clears */
    i8042_write(&k, 0x64, 0x20);
    cr_assert_eq(data(&k), 0x55);
    i8042_write(&k, 0x64, 0xd3);            /* mouse loopback */
    i8042_write(&k, 0x60, 0x5a);
    cr_assert_eq(status(&k) & 0x21, 0x21);
    cr_assert_eq(data(&k), 0x5a);
    cr_assert_eq(status(&k) & 1, 0);
    i8042_write(&k, 0x64, 0xae);            /* keyboard port on: the key arrives */
    cr_assert_eq(status(&k) & 1, 1);
    cr_assert_eq(data(&k), 0x1e);
}

/* Each byte is a new IRQ edge: reading the data port drops the line and the
 * next queued byte raises it again (an edge-triggered PIC would otherwise
 * see one interrupt for a three-byte reply). */
Test(i8042, every_byte_is_a_new_edge)
{
    struct i8042 k;
    setup(&k);
    i8042_write(&k, 0x60, 0xf2);            /* identify: FA AB 83 */
    cr_assert(irq[1]);
    cr_assert_eq(rises[1], 1);
    cr_assert_eq(data(&k), 0xfa);
    cr_assert_eq(rises[1], 2);
    cr_assert_eq(data(&k), 0xab);
    cr_assert_eq(rises[1], 3);
    cr_assert_eq(data(&k), 0x83);
    cr_assert_not(irq[1]);
    cr_assert_eq(rises[1], 3);
}
