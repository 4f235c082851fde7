/* The host side of -serial: where the guest's COM1 output goes (stdout
 * unbuffered, a file, or nowhere) and where its input comes from (stdin, read
 * without blocking). On a terminal, stdin is put in raw mode while the guest
 * runs and restored on every way out (normal return, exit(), fatal signals),
 * and Ctrl-A is an escape key as in QEMU's multiplexer: Ctrl-A x quits,
 * Ctrl-A h prints help, Ctrl-A Ctrl-A sends a Ctrl-A. */
#ifndef BT86_FRONTEND_CONSOLE_H
#define BT86_FRONTEND_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/cli.h"

#define CONSOLE_BUF 4096

struct console {
    int out_fd;          /* -1: output dropped */
    bool out_owned;      /* out_fd is a file we opened */
    bool out_error;      /* a write failed (e.g. closed pipe): drop the rest */
    int in_fd;           /* -1: no input */
    bool in_tty;         /* stdin is a terminal: escape keys apply */
    bool in_eof;
    bool escape;         /* Ctrl-A seen */
    bool quit;           /* Ctrl-A x typed */
    uint8_t buf[CONSOLE_BUF];
    unsigned head, count;
};

/* Open the backend. 0, or -1 with a message (without "bt86: "). */
int console_open(struct console *c, enum serial_kind kind, const char *path, char *err, size_t errlen);
/* Enter / leave raw terminal mode (no-ops unless stdin is a terminal we read). */
void console_start(struct console *c);
void console_stop(struct console *c);
void console_close(struct console *c);

/* The UART's transmit callback (opaque = struct console *). */
void console_tx(void *opaque, uint8_t byte);

/* Read what input is available, waiting up to timeout_ms (0: just look).
 * Returns the number of bytes buffered for the guest. */
unsigned console_poll(struct console *c, int timeout_ms);
/* Take up to n buffered guest input bytes. */
unsigned console_take(struct console *c, uint8_t *dst, unsigned n);

#endif
