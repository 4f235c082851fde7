/* A 16550A UART (the PC's COM ports): registers, 16-byte FIFOs, interrupt
 * identification with the 16550's priorities, loopback, and the divisor
 * latches. The device is host-independent: bytes the guest transmits go to a
 * callback (the -serial backend), bytes from the host are pushed in with
 * uart_receive(), and the interrupt line goes to another callback. */
#ifndef BT86_DEVICES_UART16550_H
#define BT86_DEVICES_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/iobus.h"

/* Register offsets from the base port. */
enum {
    UART_RBR = 0, UART_THR = 0, UART_DLL = 0, /* DLL when LCR.DLAB = 1 */
    UART_IER = 1, UART_DLM = 1,               /* DLM when LCR.DLAB = 1 */
    UART_IIR = 2, UART_FCR = 2,               /* IIR read, FCR write */
    UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define UART_IER_RDI  0x01 /* received data available (and character timeout) */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI  0x08 /* modem status */

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_CTI    0x0c /* character timeout (FIFO mode) */
#define UART_IIR_FIFO   0xc0 /* FIFOs enabled */

#define UART_FCR_FE   0x01 /* FIFO enable */
#define UART_FCR_RFR  0x02 /* clear the receive FIFO */
#define UART_FCR_TFR  0x04 /* clear the transmit FIFO */
#define UART_FCR_ITL  0xc0 /* receive trigger level: 1, 4, 8, 14 bytes */

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR   0x01 /* data ready */
#define UART_LSR_OE   0x02 /* overrun error */
#define UART_LSR_PE   0x04
#define UART_LSR_FE   0x08
#define UART_LSR_BI   0x10
#define UART_LSR_THRE 0x20 /* transmitter holding register empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty */
#define UART_LSR_INT_ANY (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_DELTA 0x0f
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80

#define UART_FIFO_SIZE 16

typedef void (*uart_tx_fn)(void *opaque, uint8_t byte);
typedef void (*uart_irq_fn)(void *opaque, int level);

struct uart16550 {
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    uint8_t dll, dlm;
    uint8_t rbr;              /* receive holding register (FIFOs disabled) */
    uint8_t rx[UART_FIFO_SIZE];
    unsigned rx_head, rx_count;
    bool thr_ipending;        /* THRE interrupt pending (cleared by IIR read / THR write) */
    bool timeout_ipending;    /* character timeout interrupt pending (FIFO mode) */
    unsigned rx_idle_ticks;   /* uart_tick() calls since the last received byte or RBR read */
    int irq_level;            /* current level of the interrupt line */

    uart_tx_fn tx;            /* NULL: transmitted bytes are dropped */
    void *tx_opaque;
    uart_irq_fn irq;          /* NULL: no interrupt controller attached */
    void *irq_opaque;

    uint64_t tx_bytes, rx_bytes, overruns; /* statistics */
};

/* Power-on state (QEMU's reset values: MCR.OUT2 set, divisor 12 = 9600 baud). */
void uart_init(struct uart16550 *u, uart_tx_fn tx, void *tx_opaque, uart_irq_fn irq, void *irq_opaque);
void uart_reset(struct uart16550 *u);
/* Claim the eight ports at base on the I/O bus. 0 or -1. */
int uart_attach(struct uart16550 *u, struct iobus *bus, uint16_t base);

/* Register access by offset 0-7 (what the port handlers call). */
uint8_t uart_read(struct uart16550 *u, unsigned reg);
void uart_write(struct uart16550 *u, unsigned reg, uint8_t val);

/* Host side: how many bytes the receiver can take now without overrunning,
 * and push bytes in (an overrun sets LSR.OE). Returns the bytes taken. */
unsigned uart_can_receive(const struct uart16550 *u);
unsigned uart_receive(struct uart16550 *u, const uint8_t *buf, unsigned n);
/* Time passes (one poll interval): raises the character-timeout interrupt when
 * received bytes sit below the FIFO trigger level unread for a whole tick. */
void uart_tick(struct uart16550 *u);

#endif
