/* demo: the guest `make run` boots. A banner, then a prompt that echoes what
 * is typed on COM1, line by line; "quit" exits with code 0. There are no
 * interrupts yet, so the guest polls the UART, and a spinner in front of the
 * prompt turns while it does to show the CPU is alive. "nospin" on the
 * Multiboot command line turns the spinner off (for scripted runs). */
#include "../lib/rt.h"

#define LINE_MAX 120
#define PROMPT "bt86> "

static const char spin_chars[4] = { '|', '/', '-', '\\' };

struct console {
    char line[LINE_MAX + 1];
    unsigned len;
    unsigned spin;       /* spinner phase */
    int spinner;         /* spinner enabled */
    unsigned lines;      /* lines entered so far */
};

static void draw_prompt(struct console *c)
{
    if (c->spinner)
        printf("\r[%c] " PROMPT, spin_chars[c->spin & 3]);
    else
        printf(PROMPT);
}

/* Redraws the whole prompt line with the next spinner phase. */
static void spin(struct console *c)
{
    c->spin++;
    draw_prompt(c);
    for (unsigned i = 0; i < c->len; i++)
        serial_putc(c->line[i]);
}

static void help(void)
{
    printf("commands: help, mem, count, quit; anything else is echoed\n");
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
    else if (c->len)
        printf("you typed: %s (%u chars)\n", c->line, c->len);
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

    draw_prompt(c);
    uint64_t last = rdtsc();
    unsigned polls = 0;
    int prev_cr = 0;
    for (;;) {
        if (!serial_rx_ready()) {
            /* Turn the spinner about ten times a second on a GHz-class TSC,
             * or every 2^18 polls if the TSC does not move. */
            if (c->spinner && (rdtsc() - last > (1u << 28) || ++polls >= (1u << 18))) {
                last = rdtsc();
                polls = 0;
                spin(c);
            }
            continue;
        }
        char ch = serial_getc();
        if (ch == '\n' && prev_cr) {    /* CR LF counts as one Enter */
            prev_cr = 0;
            continue;
        }
        prev_cr = ch == '\r';
        if (ch == '\r' || ch == '\n') {
            serial_putc('\n');
            c->line[c->len] = '\0';
            if (run_line(c, info))
                return 0;
            c->len = 0;
            draw_prompt(c);
        } else if (ch == 0x7f || ch == '\b') {
            if (c->len) {
                c->len--;
                serial_puts("\b \b");
            }
        } else if (ch == 0x03) {        /* Ctrl-C: drop the line */
            printf("^C\n");
            c->len = 0;
            draw_prompt(c);
        } else if (ch == 0x04) {        /* Ctrl-D on an empty line: like quit */
            if (!c->len) {
                printf("\nbye\n");
                return 0;
            }
        } else if ((unsigned char)ch >= 0x20 && c->len < LINE_MAX) {
            c->line[c->len++] = ch;
            serial_putc(ch);
        }
    }
}
