/* Unit tests for the isa-debugcon device (devices/debugcon.c): bytes reach
 * the descriptor in order, wider writes send their low byte, reads give
 * 0xe9 (all ones above), a failed write drops the rest, and -debugcon none
 * (no device) leaves the port unclaimed. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "devices/debugcon.h"
#include "devices/iobus.h"
#include "frontend/cli.h"

static struct iobus bus;
static struct debugcon d;
static int pfd[2];

static void setup(void)
{
    iobus_init(&bus);
    cr_assert_eq(pipe(pfd), 0);
    cr_assert_eq(debugcon_init(&d, &bus, pfd[1], true), 0);
}

static void teardown(void)
{
    debugcon_close(&d);
    close(pfd[0]);
}

TestSuite(debugcon, .init = setup, .fini = teardown);

static size_t drain(char *buf, size_t n)
{
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    ssize_t r = read(pfd[0], buf, n);
    return r < 0 ? 0 : (size_t)r;
}

Test(debugcon, bytes_in_order)
{
    const char *s = "hi\n\0\xff";
    for (int i = 0; i < 5; i++) iobus_out(&bus, DEBUGCON_PORT, (uint8_t)s[i], 1);
    char buf[16];
    cr_assert_eq(drain(buf, sizeof(buf)), 5);
    cr_assert_eq(memcmp(buf, s, 5), 0);
    cr_assert_eq(d.bytes, 5);
}

Test(debugcon, wide_writes_send_low_byte)
{
    iobus_out(&bus, DEBUGCON_PORT, 0x4241, 2);
    iobus_out(&bus, DEBUGCON_PORT, 0x44434243, 4);
    char buf[8];
    cr_assert_eq(drain(buf, sizeof(buf)), 2);
    cr_assert_eq(buf[0], 'A');
    cr_assert_eq(buf[1], 'C');
}

Test(debugcon, reads_give_e9)
{
    cr_assert_eq(iobus_in(&bus, DEBUGCON_PORT, 1), 0xe9);
    cr_assert_eq(iobus_in(&bus, DEBUGCON_PORT, 2), 0xffe9);
    cr_assert_eq(iobus_in(&bus, DEBUGCON_PORT, 4), 0xffffffe9u);
    cr_assert_eq(iobus_in(&bus, DEBUGCON_PORT + 1, 1), 0xff); /* only 0xe9 is the device */
}

Test(debugcon, failed_write_drops_the_rest)
{
    close(pfd[0]);
    pfd[0] = open("/dev/null", O_RDONLY);
    signal(SIGPIPE, SIG_IGN);
    iobus_out(&bus, DEBUGCON_PORT, 'x', 1);
    cr_assert(d.error);
    iobus_out(&bus, DEBUGCON_PORT, 'y', 1);
    cr_assert_eq(d.bytes, 2);
}

Test(debugcon, close_only_owned)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    struct iobus b2;
    iobus_init(&b2);
    struct debugcon d2;
    cr_assert_eq(debugcon_init(&d2, &b2, fds[1], false), 0);
    debugcon_close(&d2);
    cr_assert_eq(write(fds[1], "z", 1), 1); /* still open: not ours */
    close(fds[0]);
    close(fds[1]);
}

Test(debugcon, no_device_means_unclaimed_port)
{
    struct iobus b2;
    iobus_init(&b2);
    cr_assert_eq(iobus_in(&b2, DEBUGCON_PORT, 1), 0xff);
}

/* -debugcon on the command line (frontend/cli.c). */
static int parse2(struct options *o, char *err, const char *opt, const char *val)
{
    char *argv[] = { "bt86", "-kernel", "k", (char *)opt, (char *)val, NULL };
    return cli_parse(5, argv, o, err, 256);
}

Test(debugcon, cli_option)
{
    struct options o;
    char err[256];
    char *argv0[] = { "bt86", "-kernel", "k", NULL };
    cr_assert_eq(cli_parse(3, argv0, &o, err, sizeof(err)), 0);
    cr_assert_eq(o.debugcon, DEBUGCON_NONE); /* default: no device */
    cr_assert_eq(parse2(&o, err, "-debugcon", "stdio"), 0);
    cr_assert_eq(o.debugcon, DEBUGCON_STDIO);
    cr_assert_eq(parse2(&o, err, "-debugcon", "file:/tmp/dc.log"), 0);
    cr_assert_eq(o.debugcon, DEBUGCON_FILE);
    cr_assert_str_eq(o.debugcon_path, "/tmp/dc.log");
    cr_assert_eq(parse2(&o, err, "--debugcon", "none"), 0);
    cr_assert_eq(o.debugcon, DEBUGCON_NONE);
    cr_assert_eq(parse2(&o, err, "-debugcon", "file:"), -1);
    cr_assert_str_eq(err, "unknown -debugcon 'file:' (expected stdio, none or file:PATH)");
    cr_assert_eq(parse2(&o, err, "-debugcon", "vc"), -1);
    cr_assert_str_eq(err, "unknown -debugcon 'vc' (expected stdio, none or file:PATH)");
}
