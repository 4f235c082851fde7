/* Unit tests for the serial console's host side (frontend/console.c): input
 * buffering, QEMU-style Ctrl-A escapes on a terminal, raw bytes from a pipe,
 * end of input, and output to a closed pipe. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/console.h"

static struct console c;
static int p[2];

static void setup(void)
{
    char err[128];
    cr_assert_eq(console_open(&c, SERIAL_NONE, NULL, err, sizeof(err)), 0);
    cr_assert_eq(pipe(p), 0);
    c.in_fd = p[0];
}

static void teardown(void)
{
    close(p[0]);
    if (p[1] >= 0) close(p[1]);
}

TestSuite(console, .init = setup, .fini = teardown);

static void feed(const char *s, size_t n)
{
    cr_assert_eq(write(p[1], s, n), (ssize_t)n);
}

Test(console, pipe_input_is_passed_raw)
{
    feed("a\x01x\x03z", 5);
    cr_assert_eq(console_poll(&c, 0), 5);
    uint8_t buf[8];
    cr_assert_eq(console_take(&c, buf, 3), 3);
    cr_assert_eq(memcmp(buf, "a\x01x", 3), 0);
    cr_assert_eq(console_take(&c, buf, 8), 2);
    cr_assert_eq(memcmp(buf, "\x03z", 2), 0);
    cr_assert(!c.quit, "escapes apply only to a terminal");
    cr_assert_eq(console_take(&c, buf, 8), 0);
}

Test(console, terminal_escapes)
{
    c.in_tty = true;
    feed("a\x01\x01" "b\x01zc\x01x", 9);
    cr_assert_eq(console_poll(&c, 0), 4);
    uint8_t buf[8];
    cr_assert_eq(console_take(&c, buf, 8), 4);
    cr_assert_eq(memcmp(buf, "a\x01" "bc", 4), 0, "Ctrl-A Ctrl-A sends one Ctrl-A; unknown escapes are dropped");
    cr_assert(c.quit, "Ctrl-A x quits");
}

Test(console, escape_split_across_reads)
{
    c.in_tty = true;
    feed("q\x01", 2);
    cr_assert_eq(console_poll(&c, 0), 1);
    cr_assert(c.escape);
    feed("x", 1);
    console_poll(&c, 0);
    cr_assert(c.quit);
    cr_assert_eq(c.count, 1);
}

Test(console, end_of_input)
{
    feed("hi", 2);
    close(p[1]);
    p[1] = -1;
    cr_assert_eq(console_poll(&c, 0), 2);
    cr_assert(!c.in_eof);
    cr_assert_eq(console_poll(&c, 0), 2);
    cr_assert(c.in_eof);
    cr_assert_eq(console_poll(&c, 0), 2, "buffered input survives the end of input");
}

Test(console, input_buffer_bounded)
{
    static char big[CONSOLE_BUF + 100];
    memset(big, 'k', sizeof(big));
    /* Write in two parts so the pipe never blocks. */
    feed(big, CONSOLE_BUF);
    cr_assert_eq(console_poll(&c, 0), CONSOLE_BUF);
    feed(big, 100);
    cr_assert_eq(console_poll(&c, 0), CONSOLE_BUF, "a full buffer reads nothing more");
    uint8_t buf[16];
    cr_assert_eq(console_take(&c, buf, 16), 16);
    cr_assert_eq(console_poll(&c, 0), CONSOLE_BUF);
}

Test(console, output_to_a_closed_pipe_is_dropped)
{
    int o[2];
    cr_assert_eq(pipe(o), 0);
    signal(SIGPIPE, SIG_IGN);
    c.out_fd = o[1];
    console_tx(&c, 'A');
    char ch = 0;
    cr_assert_eq(read(o[0], &ch, 1), 1);
    cr_assert_eq(ch, 'A');
    close(o[0]);
    console_tx(&c, 'B');
    cr_assert(c.out_error);
    console_tx(&c, 'C');
    close(o[1]);
}

Test(console, file_backend)
{
    char path[] = "/tmp/bt86-console-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    char err[256];
    struct console f;
    cr_assert_eq(console_open(&f, SERIAL_FILE, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(f.in_fd, -1, "a file backend has no input");
    console_tx(&f, 'o');
    console_tx(&f, 'k');
    console_close(&f);
    FILE *r = fopen(path, "rb");
    char buf[8] = { 0 };
    cr_assert(r && fread(buf, 1, 7, r) == 2);
    fclose(r);
    cr_assert_str_eq(buf, "ok");
    unlink(path);
    cr_assert_eq(console_open(&f, SERIAL_FILE, "/nonexistent/x", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "cannot open serial output file '/nonexistent/x': No such file or directory");
}
