/* Unit tests for the 16550A UART (devices/uart16550.c): register values after
 * programmed sequences, IIR priorities, FIFO behaviour, loopback, DLAB, and
 * the port handlers on the I/O bus. */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/debug_exit.h"
#include "devices/iobus.h"
#include "devices/uart16550.h"
#include "cpu/vcpu.h"

struct sink {
    uint8_t out[256];
    unsigned n;
    int irq_changes;
    int level;
};

static void sink_tx(void *opaque, uint8_t b)
{
    struct sink *s = opaque;
    if (s->n < sizeof(s->out)) s->out[s->n++] = b;
}

static void sink_irq(void *opaque, int level)
{
    struct sink *s = opaque;
    s->irq_changes++;
    s->level = level;
}

static struct uart16550 u;
static struct sink sk;

static void setup(void)
{
    memset(&sk, 0, sizeof(sk));
    uart_init(&u, sink_tx, &sk, sink_irq, &sk);
}

TestSuite(uart, .init = setup);

Test(uart, reset_values)
{
    cr_assert_eq(uart_read(&u, UART_IER), 0x00);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x01);
    cr_assert_eq(uart_read(&u, UART_LCR), 0x00);
    cr_assert_eq(uart_read(&u, UART_MCR), 0x08); /* QEMU: OUT2 set at reset */
    cr_assert_eq(uart_read(&u, UART_LSR), 0x60);
    cr_assert_eq(uart_read(&u, UART_MSR), 0xb0);
    cr_assert_eq(uart_read(&u, UART_SCR), 0x00);
    cr_assert_eq(u.irq_level, 0);
    cr_assert_eq(sk.irq_changes, 0);
}

Test(uart, dlab_selects_divisor_latches)
{
    uart_write(&u, UART_LCR, 0x80);
    cr_assert_eq(uart_read(&u, UART_DLL), 0x0c); /* reset divisor 12: 9600 baud */
    cr_assert_eq(uart_read(&u, UART_DLM), 0x00);
    uart_write(&u, UART_DLL, 0x01);
    uart_write(&u, UART_DLM, 0x02);
    cr_assert_eq(uart_read(&u, UART_DLL), 0x01);
    cr_assert_eq(uart_read(&u, UART_DLM), 0x02);
    cr_assert_eq(sk.n, 0, "a DLL write must not transmit");
    uart_write(&u, UART_LCR, 0x03);
    cr_assert_eq(uart_read(&u, UART_IER), 0x00, "DLM write must not reach IER");
    cr_assert_eq(uart_read(&u, UART_LCR), 0x03);
    uart_write(&u, UART_LCR, 0x83);
    cr_assert_eq(uart_read(&u, UART_DLL), 0x01);
    cr_assert_eq(uart_read(&u, UART_DLM), 0x02);
    cr_assert_eq(u.dll, 0x01);
}

Test(uart, transmit_goes_to_backend_and_thre_stays_set)
{
    uart_write(&u, UART_LCR, 0x03);
    uart_write(&u, UART_THR, 'h');
    uart_write(&u, UART_THR, 'i');
    cr_assert_eq(sk.n, 2);
    cr_assert_eq(sk.out[0], 'h');
    cr_assert_eq(sk.out[1], 'i');
    cr_assert_eq(uart_read(&u, UART_LSR), 0x60);
    cr_assert_eq(u.tx_bytes, 2);
}

Test(uart, ier_writable_bits_only)
{
    uart_write(&u, UART_IER, 0xff);
    cr_assert_eq(uart_read(&u, UART_IER), 0x0f);
    uart_write(&u, UART_MCR, 0xff);
    cr_assert_eq(uart_read(&u, UART_MCR), 0x1f);
}

Test(uart, thre_interrupt_on_enable_and_cleared_by_iir_read)
{
    uart_write(&u, UART_IER, UART_IER_THRI);
    cr_assert_eq(u.irq_level, 1);
    cr_assert_eq(sk.level, 1);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x02);
    cr_assert_eq(u.irq_level, 0);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x01);
    /* A transmitted byte empties THR again: the interrupt comes back. */
    uart_write(&u, UART_THR, 'x');
    cr_assert_eq(u.irq_level, 1);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x02);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x01);
    cr_assert_eq(sk.irq_changes, 4);
}

Test(uart, thre_interrupt_cleared_by_disabling)
{
    uart_write(&u, UART_IER, UART_IER_THRI);
    cr_assert_eq(u.irq_level, 1);
    uart_write(&u, UART_IER, 0);
    cr_assert_eq(u.irq_level, 0);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x01);
}

Test(uart, receive_without_fifo)
{
    uint8_t b = 'a';
    cr_assert_eq(uart_can_receive(&u), 1);
    cr_assert_eq(uart_receive(&u, &b, 1), 1);
    cr_assert_eq(uart_can_receive(&u), 0);
    cr_assert_eq(uart_read(&u, UART_LSR), 0x61);
    cr_assert_eq(u.irq_level, 0, "RDI not enabled");
    uart_write(&u, UART_IER, UART_IER_RDI);
    cr_assert_eq(u.irq_level, 1);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x04);
    cr_assert_eq(uart_read(&u, UART_RBR), 'a');
    cr_assert_eq(uart_read(&u, UART_LSR), 0x60);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x01);
    cr_assert_eq(u.irq_level, 0);
}

Test(uart, overrun_without_fifo_keeps_newest_and_raises_line_status)
{
    uint8_t b[2] = { '1', '2' };
    uart_write(&u, UART_IER, UART_IER_RDI | UART_IER_RLSI);
    uart_receive(&u, b, 2);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x06, "line status has the highest priority");
    cr_assert_eq(uart_read(&u, UART_LSR), 0x63);
    cr_assert_eq(uart_read(&u, UART_LSR), 0x61, "OE clears on read");
    cr_assert_eq(uart_read(&u, UART_IIR), 0x04);
    cr_assert_eq(uart_read(&u, UART_RBR), '2');
    cr_assert_eq(u.overruns, 1);
}

Test(uart, fifo_enable_reports_in_iir_and_trigger_levels)
{
    uart_write(&u, UART_FCR, 0x01);
    cr_assert_eq(uart_read(&u, UART_IIR), 0xc1);
    uart_write(&u, UART_IER, UART_IER_RDI);
    static const struct { uint8_t fcr; unsigned level; } t[] = {
        { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 },
    };
    for (unsigned i = 0; i < 4; i++) {
        uart_write(&u, UART_FCR, t[i].fcr | UART_FCR_RFR);
        for (unsigned k = 0; k < t[i].level; k++) {
            cr_assert_eq(uart_read(&u, UART_IIR), 0xc1, "level %u: no interrupt with %u bytes", t[i].level, k);
            uint8_t b = (uint8_t)k;
            uart_receive(&u, &b, 1);
        }
        cr_assert_eq(uart_read(&u, UART_IIR), 0xc4, "level %u reached", t[i].level);
        cr_assert_eq(u.irq_level, 1);
    }
}

Test(uart, fifo_order_overrun_and_clear)
{
    uart_write(&u, UART_FCR, 0x01);
    uint8_t data[18];
    for (int i = 0; i < 18; i++) data[i] = (uint8_t)('A' + i);
    cr_assert_eq(uart_can_receive(&u), 16);
    uart_receive(&u, data, 18);
    cr_assert_eq(uart_can_receive(&u), 0);
    cr_assert_eq(uart_read(&u, UART_LSR), 0x63);
    cr_assert_eq(u.overruns, 2);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(uart_read(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
        cr_assert_eq(uart_read(&u, UART_RBR), 'A' + i);
    }
    cr_assert_eq(uart_read(&u, UART_LSR), 0x60);
    cr_assert_eq(uart_read(&u, UART_RBR), 0x00, "empty FIFO reads 0");
    /* FCR bit 1 clears the receive FIFO. */
    uart_receive(&u, data, 3);
    uart_write(&u, UART_FCR, 0x03);
    cr_assert_eq(uart_read(&u, UART_LSR), 0x60);
    cr_assert_eq(uart_can_receive(&u), 16);
}

Test(uart, toggling_fifo_enable_clears_it)
{
    uart_write(&u, UART_FCR, 0x01);
    uint8_t data[3] = { 1, 2, 3 };
    uart_receive(&u, data, 3);
    uart_write(&u, UART_FCR, 0x00);
    cr_assert_eq(uart_read(&u, UART_LSR), 0x60);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x01);
    cr_assert_eq(uart_can_receive(&u), 1);
}

Test(uart, character_timeout_below_trigger_level)
{
    uart_write(&u, UART_FCR, 0xc1); /* trigger at 14 */
    uart_write(&u, UART_IER, UART_IER_RDI);
    uint8_t data[2] = { 'x', 'y' };
    uart_receive(&u, data, 2);
    cr_assert_eq(uart_read(&u, UART_IIR), 0xc1);
    uart_tick(&u);
    cr_assert_eq(uart_read(&u, UART_IIR), 0xc1, "one tick is not a whole idle interval");
    uart_tick(&u);
    cr_assert_eq(uart_read(&u, UART_IIR), 0xcc);
    cr_assert_eq(u.irq_level, 1);
    cr_assert_eq(uart_read(&u, UART_RBR), 'x');
    cr_assert_eq(uart_read(&u, UART_IIR), 0xc1, "a read clears the timeout");
    uart_tick(&u);
    uart_tick(&u);
    cr_assert_eq(uart_read(&u, UART_IIR), 0xcc);
    cr_assert_eq(uart_read(&u, UART_RBR), 'y');
    uart_tick(&u);
    uart_tick(&u);
    cr_assert_eq(uart_read(&u, UART_IIR), 0xc1, "no timeout with an empty FIFO");
    cr_assert_eq(u.irq_level, 0);
}

Test(uart, iir_priority_order)
{
    uart_write(&u, UART_MCR, UART_MCR_LOOP); /* CTS/DSR/DCD drop: modem deltas */
    uart_write(&u, UART_IER, 0x0f);
    uint8_t b[2] = { 1, 2 };
    uart_receive(&u, b, 2);                  /* overrun (no FIFO) */
    cr_assert_eq(uart_read(&u, UART_IIR), 0x06);
    uart_read(&u, UART_LSR);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x04);
    uart_read(&u, UART_RBR);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x02);  /* clears THRI */
    cr_assert_eq(uart_read(&u, UART_IIR), 0x00);  /* modem status */
    cr_assert_eq(uart_read(&u, UART_MSR), 0x0b);
    cr_assert_eq(uart_read(&u, UART_IIR), 0x01);
    cr_assert_eq(u.irq_level, 0);
}

Test(uart, loopback_data_and_modem_lines)
{
    uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
    /* Reset inputs CTS|DSR|DCD -> loopback DCD only: delta CTS and DSR. */
    cr_assert_eq(uart_read(&u, UART_MSR), 0x83);
    cr_assert_eq(uart_read(&u, UART_MSR), 0x80, "deltas clear on read");
    uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT1);
    cr_assert_eq(uart_read(&u, UART_MSR), 0x7b); /* CTS DSR RI, DCTS DDSR DDCD */
    uart_write(&u, UART_MCR, UART_MCR_LOOP);
    cr_assert_eq(uart_read(&u, UART_MSR), 0x07, "TERI on RI's trailing edge");
    uart_write(&u, UART_THR, 0x5a);
    cr_assert_eq(sk.n, 0, "loopback bytes do not reach the backend");
    cr_assert_eq(uart_read(&u, UART_LSR), 0x61);
    cr_assert_eq(uart_read(&u, UART_RBR), 0x5a);
    cr_assert_eq(uart_read(&u, UART_LSR), 0x60);
    uart_write(&u, UART_MCR, 0x00);
    cr_assert_eq(uart_read(&u, UART_MSR), 0xbb, "inputs back to CTS DSR DCD");
    uart_write(&u, UART_THR, 0xa5);
    cr_assert_eq(sk.n, 1);
    cr_assert_eq(sk.out[0], 0xa5);
}

Test(uart, lsr_and_msr_writes_ignored_scratch_kept)
{
    uart_write(&u, UART_LSR, 0x00);
    uart_write(&u, UART_MSR, 0x00);
    cr_assert_eq(uart_read(&u, UART_LSR), 0x60);
    cr_assert_eq(uart_read(&u, UART_MSR), 0xb0);
    uart_write(&u, UART_SCR, 0xa5);
    cr_assert_eq(uart_read(&u, UART_SCR), 0xa5);
}

Test(uart, ports_on_the_io_bus)
{
    static struct iobus bus;
    iobus_init(&bus);
    cr_assert_eq(uart_attach(&u, &bus, 0x3f8), 0);
    iobus_out(&bus, 0x3ff, 0x42, 1);
    cr_assert_eq(iobus_in(&bus, 0x3ff, 1), 0x42);
    iobus_out(&bus, 0x3f8, 'Z', 1);
    cr_assert_eq(sk.n, 1);
    cr_assert_eq(sk.out[0], 'Z');
    /* A word read at LCR gives LCR (low byte) and MCR (high byte). */
    iobus_out(&bus, 0x3fb, 0x03, 1);
    cr_assert_eq(iobus_in(&bus, 0x3fb, 2), 0x0803);
    /* A dword read at SCR runs off the device: the missing bytes read as ones. */
    cr_assert_eq(iobus_in(&bus, 0x3ff, 4), 0xffffff42u);
    cr_assert_eq(iobus_in(&bus, 0x3fd, 1), 0x60);
}

Test(uart, debug_exit_port_stops_the_current_vcpu)
{
    static struct iobus bus;
    static struct vcpu v;
    static struct debug_exit d;
    struct vcpu *cur = &v;
    memset(&v, 0, sizeof(v));
    iobus_init(&bus);
    cr_assert_eq(debug_exit_init(&d, &bus, &cur), 0);
    iobus_out(&bus, 0xf4, 0x10, 1);
    cr_assert_eq(v.stop, STOP_EXIT_PORT);
    cr_assert_eq(v.exit_status, 0x21);
    cr_assert(v.req & REQ_STOP);
    iobus_out(&bus, 0xf4, 0xffffff80u, 4);
    cr_assert_eq(v.exit_status, 0x01, "(V << 1) | 1, truncated to 8 bits");
    iobus_out(&bus, 0xf4, 0x1ff, 1);
    cr_assert_eq(d.last_value, 0xff, "byte write");
    cr_assert_eq(v.exit_status, 0xff);
}
