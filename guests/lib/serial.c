/* COM1 driver for guests: 16550 at 0x3f8, programmed 115200 8N1 with FIFOs,
 * transmit and receive by polling the line status register. */
#include "rt.h"

#define COM1 0x3f8
#define RBR (COM1 + 0)   /* receive buffer (read, DLAB=0) */
#define THR (COM1 + 0)   /* transmit holding (write, DLAB=0) */
#define DLL (COM1 + 0)   /* divisor latch low (DLAB=1) */
#define IER (COM1 + 1)
#define DLM (COM1 + 1)   /* divisor latch high (DLAB=1) */
#define FCR (COM1 + 2)
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)

#define LSR_DR   0x01    /* data ready */
#define LSR_THRE 0x20    /* transmit holding register empty */

/* A byte that arrived before serial_init(): enabling the FIFOs clears the
 * receiver (QEMU's and bt86's 16550 do so whenever FCR.FE changes), so keep it. */
static int early_rx = -1;

static void program_line(void)
{
    outb(IER, 0x00);     /* no interrupts: we poll */
    outb(LCR, 0x80);     /* DLAB on to reach the divisor */
    outb(DLL, 0x01);     /* 115200 / 1 */
    outb(DLM, 0x00);
    outb(LCR, 0x03);     /* DLAB off, 8 data bits, no parity, 1 stop bit */
    outb(MCR, 0x0B);     /* DTR, RTS, OUT2 */
}

void serial_init(void)
{
    if (inb(LSR) & LSR_DR)
        early_rx = inb(RBR);
    program_line();
    outb(FCR, 0xC7);     /* enable and clear FIFOs, 14-byte RX threshold */
}

void serial_init_nofifo(void)
{
    program_line();
    outb(FCR, 0x00);     /* FIFOs stay off: nothing is cleared */
}

static void tx(char c)
{
    while (!(inb(LSR) & LSR_THRE))
        ;
    outb(THR, (uint8_t)c);
}

void serial_putc(char c)
{
    if (c == '\n')
        tx('\r');
    tx(c);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

int serial_rx_ready(void)
{
    return early_rx >= 0 || (inb(LSR) & LSR_DR);
}

char serial_getc(void)
{
    if (early_rx >= 0) {
        char c = (char)early_rx;
        early_rx = -1;
        return c;
    }
    while (!(inb(LSR) & LSR_DR))
        ;
    return (char)inb(RBR);
}
