/* The serial console's host side (frontend/console.h). The saved terminal
 * state is process-wide (there is one controlling terminal), so it lives in
 * statics that the atexit and signal handlers can reach. */
#include "frontend/console.h"

#include "devices/disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_tio;
static volatile sig_atomic_t tio_saved; /* raw mode is on: restore saved_tio */
static bool handlers_installed;

static void restore_terminal(void)
{
    if (tio_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
        tio_saved = 0;
    }
}

/* Termination signals: restore the terminal, then die of the same signal. */
static void on_term_signal(int sig)
{
    restore_terminal();
    disk_flush_all(); /* nothing acknowledged to the guest may be lost */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Crashes: restore the terminal and return; SA_RESETHAND made the action the
 * default again, so the fault repeats and kills the process as usual. */
static void on_fatal_signal(int sig)
{
    (void)sig;
    restore_terminal();
    disk_flush_all();
}

static void install_handlers(void)
{
    if (handlers_installed) return;
    handlers_installed = true;
    atexit(restore_terminal);
    static const int term_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
    static const int fatal_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(term_sigs) / sizeof(term_sigs[0]); i++) {
        struct sigaction old;
        sigaction(term_sigs[i], NULL, &old);
        if (old.sa_handler == SIG_IGN) continue; /* keep nohup's choice */
        sa.sa_handler = on_term_signal;
        sa.sa_flags = 0;
        sigaction(term_sigs[i], &sa, NULL);
    }
    for (size_t i = 0; i < sizeof(fatal_sigs) / sizeof(fatal_sigs[0]); i++) {
        struct sigaction old;
        sigaction(fatal_sigs[i], NULL, &old);
        /* Leave handlers others installed (the sanitizers) alone. */
        if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) continue;
        sa.sa_handler = on_fatal_signal;
        sa.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigaction(fatal_sigs[i], &sa, NULL);
    }
}

int console_open(struct console *c, enum serial_kind kind, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->out_fd = -1;
    c->in_fd = -1;
    switch (kind) {
    case SERIAL_NONE:
        break;
    case SERIAL_FILE:
        c->out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (c->out_fd < 0) {
            snprintf(err, errlen, "cannot open serial output file '%s': %s", path, strerror(errno));
            return -1;
        }
        c->out_owned = true;
        break;
    case SERIAL_STDIO:
        c->out_fd = STDOUT_FILENO;
        c->in_fd = STDIN_FILENO;
        if (fcntl(STDIN_FILENO, F_GETFL) < 0) c->in_fd = -1; /* stdin closed */
        if (c->in_fd >= 0 && isatty(STDIN_FILENO)) {
            c->in_tty = true;
            /* In the background a read would stop us (SIGTTIN): no input then. */
            if (tcgetpgrp(STDIN_FILENO) != getpgrp()) c->in_fd = -1;
        }
        break;
    }
    return 0;
}

void console_start(struct console *c)
{
    if (c->in_fd < 0 || !c->in_tty || tio_saved) return;
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &t) != 0) return;
    install_handlers();
    saved_tio = t;
    /* Raw input, as QEMU's stdio backend: no line editing, echo or signals
     * (Ctrl-C goes to the guest; Ctrl-A x quits). Output processing stays on. */
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tio_saved = 1;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) != 0) tio_saved = 0;
}

void console_stop(struct console *c)
{
    (void)c;
    restore_terminal();
}

void console_close(struct console *c)
{
    console_stop(c);
    if (c->out_owned && c->out_fd >= 0) close(c->out_fd);
    c->out_fd = -1;
    c->in_fd = -1;
}

void console_tx(void *opaque, uint8_t byte)
{
    struct console *c = opaque;
    if (c->out_fd < 0 || c->out_error) return;
    for (;;) {
        ssize_t r = write(c->out_fd, &byte, 1);
        if (r == 1) return;
        if (r < 0 && errno == EINTR) continue;
        c->out_error = true; /* EPIPE etc.: the guest keeps running, output is dropped */
        return;
    }
}

static void put_input(struct console *c, uint8_t b)
{
    if (c->count == CONSOLE_BUF) return;
    c->buf[(c->head + c->count) % CONSOLE_BUF] = b;
    c->count++;
}

static void escape_help(void)
{
    static const char help[] =
        "\nbt86 console keys:\n"
        "  Ctrl-A x    quit bt86\n"
        "  Ctrl-A h    this help\n"
        "  Ctrl-A Ctrl-A  send Ctrl-A to the guest\n";
    ssize_t r = write(STDERR_FILENO, help, sizeof(help) - 1);
    (void)r;
}

/* A byte typed at the terminal: Ctrl-A escapes as in QEMU's multiplexer. */
static void tty_byte(struct console *c, uint8_t b)
{
    if (c->escape) {
        c->escape = false;
        switch (b) {
        case 0x01: put_input(c, b); break;
        case 'x': c->quit = true; break;
        case 'h': case '?': escape_help(); break;
        default: break; /* unknown escapes are dropped, as in QEMU */
        }
        return;
    }
    if (b == 0x01) c->escape = true;
    else put_input(c, b);
}

unsigned console_poll(struct console *c, int timeout_ms)
{
    if (c->in_fd < 0 || c->in_eof || c->count == CONSOLE_BUF) {
        if (timeout_ms > 0) poll(NULL, 0, timeout_ms); /* time still passes */
        return c->count;
    }
    struct pollfd pfd = { .fd = c->in_fd, .events = POLLIN };
    int r = poll(&pfd, 1, timeout_ms);
    if (r <= 0) return c->count;
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
        uint8_t tmp[CONSOLE_BUF];
        size_t room = CONSOLE_BUF - c->count;
        ssize_t n = read(c->in_fd, tmp, room);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            c->in_eof = true;
        } else if (n > 0) {
            for (ssize_t i = 0; i < n; i++) {
                if (c->in_tty) tty_byte(c, tmp[i]);
                else put_input(c, tmp[i]);
            }
        }
    }
    return c->count;
}

unsigned console_take(struct console *c, uint8_t *dst, unsigned n)
{
    unsigned k = 0;
    while (k < n && c->count) {
        dst[k++] = c->buf[c->head];
        c->head = (c->head + 1) % CONSOLE_BUF;
        c->count--;
    }
    return k;
}
