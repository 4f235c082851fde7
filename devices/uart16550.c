/* The 16550A UART (devices/uart16550.h).
 *
 * Where QEMU's model differs from the hardware, bt86 follows QEMU so that guests
 * behave the same under both:
 *  - the transmitter is never busy: a THR write is sent at once and THRE/TEMT
 *    are set again before the guest can look;
 *  - the interrupt line follows IIR regardless of MCR.OUT2 (on a real PC, OUT2
 *    gates the UART's line to the PIC);
 *  - the word length, parity and stop bits in LCR are stored but ignored (all
 *    eight data bits are sent), and the baud rate does not pace anything;
 *  - reset leaves MCR.OUT2 set and the divisor at 12 (9600 baud);
 *  - outside loopback, the modem inputs read as CTS, DSR and DCD asserted.
 * In loopback (MCR.LOOP), as on hardware, transmitted bytes go to the receiver
 * and the modem outputs drive the modem status inputs, delta bits included. */
#include "devices/uart16550.h"

#include <string.h>

static const unsigned trigger_levels[4] = { 1, 4, 8, 14 };

static bool fifo_mode(const struct uart16550 *u) { return (u->fcr & UART_FCR_FE) != 0; }

static unsigned rx_trigger(const struct uart16550 *u)
{
    return trigger_levels[(u->fcr & UART_FCR_ITL) >> 6];
}

/* The interrupt identification the UART would report now, highest priority
 * first: line status, received data / timeout, THR empty, modem status. */
static uint8_t current_iir(const struct uart16550 *u)
{
    uint8_t fifo = fifo_mode(u) ? UART_IIR_FIFO : 0;
    if ((u->ier & UART_IER_RLSI) && (u->lsr & UART_LSR_INT_ANY)) return fifo | UART_IIR_RLSI;
    if (u->ier & UART_IER_RDI) {
        if (fifo_mode(u)) {
            if (u->timeout_ipending) return fifo | UART_IIR_CTI;
            if (u->rx_count >= rx_trigger(u)) return fifo | UART_IIR_RDI;
        } else if (u->lsr & UART_LSR_DR) {
            return UART_IIR_RDI;
        }
    }
    if ((u->ier & UART_IER_THRI) && u->thr_ipending) return fifo | UART_IIR_THRI;
    if ((u->ier & UART_IER_MSI) && (u->msr & UART_MSR_DELTA)) return fifo | UART_IIR_MSI;
    return fifo | UART_IIR_NO_INT;
}

static void update_irq(struct uart16550 *u)
{
    int level = (current_iir(u) & UART_IIR_NO_INT) ? 0 : 1;
    if (level == u->irq_level) return;
    u->irq_level = level;
    if (u->irq) u->irq(u->irq_opaque, level);
}

static void rx_clear(struct uart16550 *u)
{
    u->rx_head = u->rx_count = 0;
    u->timeout_ipending = false;
    u->lsr &= (uint8_t)~UART_LSR_DR;
}

/* One byte arrives at the receiver (from the host or from loopback). */
static void rx_put(struct uart16550 *u, uint8_t b)
{
    u->rx_bytes++;
    u->rx_idle_ticks = 0;
    if (fifo_mode(u)) {
        if (u->rx_count == UART_FIFO_SIZE) {
            /* Overrun: the byte in the shift register is lost, the FIFO is kept. */
            u->lsr |= UART_LSR_OE;
            u->overruns++;
        } else {
            u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
            u->rx_count++;
        }
    } else {
        /* Without FIFOs the new byte overwrites an unread one. */
        if (u->lsr & UART_LSR_DR) {
            u->lsr |= UART_LSR_OE;
            u->overruns++;
        }
        u->rbr = b;
    }
    u->lsr |= UART_LSR_DR;
}

/* Modem status inputs as the MCR outputs drive them in loopback. */
static uint8_t loopback_msr_inputs(uint8_t mcr)
{
    uint8_t m = 0;
    if (mcr & UART_MCR_RTS) m |= UART_MSR_CTS;
    if (mcr & UART_MCR_DTR) m |= UART_MSR_DSR;
    if (mcr & UART_MCR_OUT1) m |= UART_MSR_RI;
    if (mcr & UART_MCR_OUT2) m |= UART_MSR_DCD;
    return m;
}

/* Set the modem status inputs, recording the delta bits as hardware does
 * (TERI only on the trailing edge of RI). */
static void set_msr_inputs(struct uart16550 *u, uint8_t in)
{
    uint8_t old = u->msr;
    uint8_t d = 0;
    if ((old ^ in) & UART_MSR_CTS) d |= UART_MSR_DCTS;
    if ((old ^ in) & UART_MSR_DSR) d |= UART_MSR_DDSR;
    if ((old & UART_MSR_RI) && !(in & UART_MSR_RI)) d |= UART_MSR_TERI;
    if ((old ^ in) & UART_MSR_DCD) d |= UART_MSR_DDCD;
    u->msr = (uint8_t)((in & 0xf0) | (old & UART_MSR_DELTA) | d);
}

void uart_reset(struct uart16550 *u)
{
    u->ier = 0;
    u->lcr = 0;
    u->mcr = UART_MCR_OUT2;
    u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    u->msr = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
    u->scr = 0;
    u->fcr = 0;
    u->dll = 0x0c;
    u->dlm = 0;
    u->rbr = 0;
    rx_clear(u);
    u->thr_ipending = false;
    u->rx_idle_ticks = 0;
    update_irq(u);
}

void uart_init(struct uart16550 *u, uart_tx_fn tx, void *tx_opaque, uart_irq_fn irq, void *irq_opaque)
{
    memset(u, 0, sizeof(*u));
    u->tx = tx;
    u->tx_opaque = tx_opaque;
    u->irq = irq;
    u->irq_opaque = irq_opaque;
    uart_reset(u);
}

static uint8_t read_rbr(struct uart16550 *u)
{
    uint8_t b = 0;
    if (fifo_mode(u)) {
        if (u->rx_count) {
            b = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
            u->rx_count--;
        }
        if (u->rx_count == 0) u->lsr &= (uint8_t)~UART_LSR_DR;
    } else {
        b = u->rbr;
        u->lsr &= (uint8_t)~UART_LSR_DR;
    }
    /* Reading restarts the character timeout. */
    u->timeout_ipending = false;
    u->rx_idle_ticks = 0;
    return b;
}

uint8_t uart_read(struct uart16550 *u, unsigned reg)
{
    bool dlab = (u->lcr & UART_LCR_DLAB) != 0;
    uint8_t r;
    switch (reg & 7) {
    case UART_RBR:
        if (dlab) return u->dll;
        r = read_rbr(u);
        break;
    case UART_IER:
        return dlab ? u->dlm : u->ier;
    case UART_IIR:
        r = current_iir(u);
        /* Reading IIR while it reports THRE clears that interrupt. */
        if ((r & 0x0f) == UART_IIR_THRI) u->thr_ipending = false;
        break;
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR:
        r = u->lsr;
        u->lsr &= (uint8_t)~UART_LSR_INT_ANY; /* error bits clear on read */
        break;
    case UART_MSR:
        r = u->msr;
        u->msr &= (uint8_t)~UART_MSR_DELTA;
        break;
    default:
        return u->scr;
    }
    update_irq(u);
    return r;
}

static void write_thr(struct uart16550 *u, uint8_t val)
{
    u->tx_bytes++;
    if (u->mcr & UART_MCR_LOOP) rx_put(u, val);
    else if (u->tx) u->tx(u->tx_opaque, val);
    /* Sent at once: holding register and shift register are empty again. */
    u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    u->thr_ipending = true;
}

void uart_write(struct uart16550 *u, unsigned reg, uint8_t val)
{
    bool dlab = (u->lcr & UART_LCR_DLAB) != 0;
    switch (reg & 7) {
    case UART_THR:
        if (dlab) u->dll = val;
        else write_thr(u, val);
        break;
    case UART_IER:
        if (dlab) {
            u->dlm = val;
            break;
        }
        val &= 0x0f;
        /* Enabling the THRE interrupt while THR is empty raises it at once. */
        if ((val & UART_IER_THRI) && !(u->ier & UART_IER_THRI) && (u->lsr & UART_LSR_THRE))
            u->thr_ipending = true;
        u->ier = val;
        break;
    case UART_FCR:
        /* Toggling FIFO enable clears both FIFOs, as on the 16550A. */
        if ((val ^ u->fcr) & UART_FCR_FE) val |= UART_FCR_RFR | UART_FCR_TFR;
        if (val & UART_FCR_RFR) rx_clear(u);
        /* The transmit FIFO is always empty (the transmitter is never busy). */
        u->fcr = val & (UART_FCR_FE | UART_FCR_ITL);
        break;
    case UART_LCR:
        u->lcr = val;
        break;
    case UART_MCR: {
        uint8_t old = u->mcr;
        u->mcr = val & 0x1f;
        if (u->mcr & UART_MCR_LOOP)
            set_msr_inputs(u, loopback_msr_inputs(u->mcr));
        else if (old & UART_MCR_LOOP)
            set_msr_inputs(u, UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
        break;
    }
    case UART_LSR:
    case UART_MSR:
        break; /* read-only (factory test writes ignored) */
    default:
        u->scr = val;
        break;
    }
    update_irq(u);
}

unsigned uart_can_receive(const struct uart16550 *u)
{
    if (fifo_mode(u)) return UART_FIFO_SIZE - u->rx_count;
    return (u->lsr & UART_LSR_DR) ? 0 : 1;
}

unsigned uart_receive(struct uart16550 *u, const uint8_t *buf, unsigned n)
{
    for (unsigned i = 0; i < n; i++) rx_put(u, buf[i]);
    if (n) update_irq(u);
    return n;
}

void uart_tick(struct uart16550 *u)
{
    if (!fifo_mode(u) || u->rx_count == 0 || u->timeout_ipending) return;
    /* Two ticks without reception or a read: at least one whole interval idle. */
    if (++u->rx_idle_ticks >= 2) {
        u->timeout_ipending = true;
        update_irq(u);
    }
}

/* Port handlers: the UART is a byte device; wider accesses are split into
 * byte accesses at consecutive ports, as the ISA bus does. */

static uint32_t port_read(void *opaque, uint16_t port, int size)
{
    struct uart16550 *u = opaque;
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        unsigned reg = (unsigned)(port & 7) + (unsigned)i;
        uint8_t b = reg < 8 ? uart_read(u, reg) : 0xff;
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct uart16550 *u = opaque;
    for (int i = 0; i < size; i++) {
        unsigned reg = (unsigned)(port & 7) + (unsigned)i;
        if (reg < 8) uart_write(u, reg, (uint8_t)(val >> (8 * i)));
    }
}

int uart_attach(struct uart16550 *u, struct iobus *bus, uint16_t base)
{
    return iobus_register(bus, base, 8, port_read, port_write, u, "uart16550");
}
