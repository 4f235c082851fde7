/* demo: the guest `make run` boots. A banner, then a prompt that echoes what
 * is typed on COM1, line by line; "quit" exits with code 0. It is driven by
 * interrupts: the 8254 PIT ticks at 100 Hz on IRQ 0 (through the 8259 pair,
 * vector bases 0x20/0x28), COM1's receive interrupt on IRQ 4 moves typed bytes
 * into a ring buffer, and the main loop sleeps in HLT between events, so the
 * host CPU is idle while the demo waits at its prompt. A spinner in front of
 * the prompt advances every 25 ticks to show the timer is alive; "uptime"
 * prints the time since the timer started from the tick count. "nospin" on
 * the Multiboot command line turns the spinner off (for scripted runs: then
 * nothing printed depends on timing, as long as "uptime" is not typed). */
#include "../lib/sys/sys.h"

#define LINE_MAX 120
#define PROMPT "bt86> "

#define PIC1 0x20
#define PIC2 0xa0
#define PIC_EOI 0x20
#define HZ 100
#define PIT_DIVISOR 11932        /* 1193182 Hz / 11932 = 100 Hz */
#define SPIN_TICKS 25            /* spinner phase every quarter second */

#define COM1 0x3f8
#define COM1_RBR (COM1 + 0)
#define COM1_IER (COM1 + 1)
#define COM1_MCR (COM1 + 4)
#define COM1_LSR (COM1 + 5)
#define IER_RDI 0x01             /* interrupt when received data is available */
#define MCR_DTR_RTS_OUT2 0x0b    /* OUT2 gates the UART's IRQ line on a real PC */
#define LSR_DR 0x01
#define COM1_IRQ 4

#define RX_RING 256              /* a power of two */

static const char spin_chars[4] = { '|', '/', '-', '\\' };

/* Written by the interrupt handlers, read by the main loop. */
static volatile uint32_t ticks;          /* IRQ 0 count */
static volatile uint32_t serial_irqs;    /* IRQ 4 count */
/* Single producer (IRQ 4 handler, head) and single consumer (main loop,
 * tail); indices run freely and are masked on use. */
static char rx_ring[RX_RING];
static volatile uint32_t rx_head, rx_tail;
/* Set by the handler when the ring was full: it then turned the receive
 * interrupt off and left the byte in the UART, so the host side waits
 * instead of losing input; the main loop turns it back on once it has room. */
static volatile int rx_throttled;

struct console {
    char line[LINE_MAX + 1];
    unsigned len;
    unsigned spin;       /* spinner phase drawn last */
    int spinner;         /* spinner enabled */
    unsigned lines;      /* lines entered so far */
};

static void timer_irq(struct trap_frame *f)
{
    (void)f;
    ticks++;
    outb(PIC1, PIC_EOI);
}

static void serial_irq(struct trap_frame *f)
{
    (void)f;
    serial_irqs++;
    while (inb(COM1_LSR) & LSR_DR) {
        if (rx_head - rx_tail >= RX_RING) {
            outb(COM1_IER, 0);
            rx_throttled = 1;
            break;
        }
        rx_ring[rx_head & (RX_RING - 1)] = (char)inb(COM1_RBR);
        rx_head++;
    }
    outb(PIC1, PIC_EOI);
}

/* ICW1-4 for both 8259s: edge triggered, cascade on IRQ 2, 8086 mode. */
static void pic_init(void)
{
    static const uint8_t icw[2][4] = { { 0x11, 0x20, 0x04, 0x01 }, { 0x11, 0x28, 0x02, 0x01 } };
    for (int p = 0; p < 2; p++) {
        uint16_t base = p ? PIC2 : PIC1;
        outb(base, icw[p][0]);
        for (int i = 1; i < 4; i++)
            outb((uint16_t)(base + 1), icw[p][i]);
        outb((uint16_t)(base + 1), 0xff);        /* all masked for now */
    }
}

/* Vectors, timer, UART, then unmask IRQ 0 and IRQ 4 (interrupts stay off
 * until the main loop's first STI). */
static void interrupts_init(void)
{
    sys_init();
    pic_init();
    trap_set_handler(0x20, timer_irq);
    trap_set_handler(0x20 + COM1_IRQ, serial_irq);
    outb(0x43, 0x34);                            /* channel 0, lo/hi byte, mode 2 */
    outb(0x40, PIT_DIVISOR & 0xff);
    outb(0x40, PIT_DIVISOR >> 8);
    outb(COM1_MCR, MCR_DTR_RTS_OUT2);
    outb(PIC1 + 1, (uint8_t)~(1u << 0 | 1u << COM1_IRQ));
    /* A byte that arrived before this (piped input) raises the line now. */
    outb(COM1_IER, IER_RDI);
}

static int rx_pop(char *ch)
{
    if (rx_tail == rx_head)
        return 0;
    *ch = rx_ring[rx_tail & (RX_RING - 1)];
    rx_tail++;
    if (rx_throttled) {
        /* The handler is off, so this cannot race with it. */
        rx_throttled = 0;
        outb(COM1_IER, IER_RDI);
    }
    return 1;
}

static unsigned spin_phase(void) { return ticks / SPIN_TICKS; }

static void draw_prompt(struct console *c)
{
    if (c->spinner)
        printf("\r[%c] " PROMPT, spin_chars[c->spin & 3]);
    else
        printf(PROMPT);
}

/* Redraws the whole prompt line with the current spinner phase. */
static void spin(struct console *c)
{
    draw_prompt(c);
    for (unsigned i = 0; i < c->len; i++)
        serial_putc(c->line[i]);
}

static void help(void)
{
    printf("commands: help, mem, count, uptime, quit; anything else is echoed\n");
}

static void uptime(void)
{
    uint32_t t = ticks;
    printf("up %u.%02u s (%u timer interrupts, %u serial interrupts)\n", t / HZ, t % HZ, t,
           serial_irqs);
}

static int run_line(struct console *c, const struct mb_info *info)
{
    c->lines++;
    if (strcmp(c->line, "quit") == 0) {
        printf("bye\n");
        return 1;
    }
    if (strcmp(c->line, "help") == 0)
        help();
    else if (strcmp(c->line, "mem") == 0 && (info->flags & MB_INFO_MEM))
        printf("memory: %u KiB low, %u KiB above 1 MiB\n", info->mem_lower, info->mem_upper);
    else if (strcmp(c->line, "count") == 0)
        printf("%u lines so far\n", c->lines);
    else if (strcmp(c->line, "uptime") == 0)
        uptime();
    else if (c->len)
        printf("you typed: %s (%u chars)\n", c->line, c->len);
    return 0;
}

/* Handles one typed byte; returns 1 when the demo should exit. */
static int key(struct console *c, const struct mb_info *info, char ch, int *prev_cr)
{
    if (ch == '\n' && *prev_cr) {       /* CR LF counts as one Enter */
        *prev_cr = 0;
        return 0;
    }
    *prev_cr = ch == '\r';
    if (ch == '\r' || ch == '\n') {
        serial_putc('\n');
        c->line[c->len] = '\0';
        if (run_line(c, info))
            return 1;
        c->len = 0;
        draw_prompt(c);
    } else if (ch == 0x7f || ch == '\b') {
        if (c->len) {
            c->len--;
            serial_puts("\b \b");
        }
    } else if (ch == 0x03) {            /* Ctrl-C: drop the line */
        printf("^C\n");
        c->len = 0;
        draw_prompt(c);
    } else if (ch == 0x04) {            /* Ctrl-D on an empty line: like quit */
        if (!c->len) {
            printf("\nbye\n");
            return 1;
        }
    } else if ((unsigned char)ch >= 0x20 && c->len < LINE_MAX) {
        c->line[c->len++] = ch;
        serial_putc(ch);
    }
    return 0;
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    static struct console con;
    struct console *c = &con;

    serial_init_nofifo();
    printf("\n=== bt86 demo guest ===\n");
    printf("booted by a Multiboot loader: %s\n", magic == MB_BOOT_MAGIC ? "yes" : "no");
    printf("type a line and press Enter; \"help\" lists commands, \"quit\" exits\n");
    if (magic != MB_BOOT_MAGIC)
        info = NULL;
    static const struct mb_info none;
    if (!info)
        info = &none;
    c->spinner = !cmdline_has(info, "nospin");

    interrupts_init();
    draw_prompt(c);
    int prev_cr = 0;
    for (;;) {
        /* Sleep until an interrupt unless there is work. CLI first, so an
         * interrupt between the test and the HLT cannot be missed: STI
         * takes effect only after the HLT has begun. */
        __asm__ volatile("cli" ::: "memory");
        if (rx_tail == rx_head && (!c->spinner || spin_phase() == c->spin)) {
            __asm__ volatile("sti; hlt" ::: "memory");
            continue;
        }
        __asm__ volatile("sti" ::: "memory");
        if (c->spinner && spin_phase() != c->spin) {
            c->spin = spin_phase();
            spin(c);
        }
        char ch;
        while (rx_pop(&ch))
            if (key(c, info, ch, &prev_cr)) {
                __asm__ volatile("cli" ::: "memory");
                return 0;
            }
    }
}
