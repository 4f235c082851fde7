/* Tests of bt86's command line: in-process parsing (suite cli), and the real
 * binary named by $BT86 run as a subprocess (suite cli_bin): exit statuses,
 * the single "bt86: " error line on stderr, and small guests built on the fly
 * (serial output, serial input from a pipe, the debug-exit port, HLT,
 * triple fault, -max-insns). */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend/cli.h"
#include "mbimage.h"

/* ---------- in-process parsing ---------- */

static struct options o;
static char err[512];

static int parse(const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[6] = { "bt86", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
    int argc = 1;
    while (argc < 5 && argv[argc]) argc++;
    err[0] = '\0';
    return cli_parse(argc, argv, &o, err, sizeof(err));
}

Test(cli, defaults)
{
    cr_assert_eq(parse("-kernel", "k.elf", NULL, NULL), 0, "%s", err);
    cr_assert_eq(o.action, CLI_RUN);
    cr_assert_str_eq(o.kernel, "k.elf");
    cr_assert_null(o.append);
    cr_assert_null(o.initrd);
    cr_assert_eq(o.ram_bytes, 128u << 20);
    cr_assert_eq(o.serial, SERIAL_STDIO);
    cr_assert_eq(o.engine, ENGINE_BT);
    cr_assert_eq(o.display, DISPLAY_NONE);
    cr_assert_eq(o.max_insns, 0);
    cr_assert(!o.stats && !o.no_reboot);
    cr_assert_eq(o.spin_skip_ns, 1000);
}

Test(cli, spin_skip)
{
    cr_assert_eq(parse("-kernel", "k", "-spin-skip", "0"), 0, "%s", err);
    cr_assert_eq(o.spin_skip_ns, 0);
    cr_assert_eq(parse("-kernel", "k", "-spin-skip", "1000000"), 0, "%s", err);
    cr_assert_eq(o.spin_skip_ns, 1000000);
}

Test(cli, ram_sizes)
{
    static const struct { const char *s; uint32_t bytes; } ok[] = {
        { "128", 128u << 20 }, { "2", 2u << 20 }, { "512M", 512u << 20 }, { "512m", 512u << 20 },
        { "64MB", 64u << 20 }, { "1G", 1u << 30 }, { "3g", 3u << 30 }, { "2048K", 2u << 20 },
        { "4097K", (4097u << 10) + 3072 }, /* rounded up to 4 KiB */
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint32_t b = 0;
        cr_assert_eq(cli_parse_ram(ok[i].s, &b, err, sizeof(err)), 0, "%s: %s", ok[i].s, err);
        cr_assert_eq(b, ok[i].bytes, "%s", ok[i].s);
    }
    static const struct { const char *s; const char *msg; } bad[] = {
        { "0", "-m 0: guest RAM cannot be zero (at least 2M)" },
        { "0G", "-m 0G: guest RAM cannot be zero (at least 2M)" },
        { "1", "-m 1 is too small (at least 2M)" },
        { "2044K", "-m 2044K is too small (at least 2M)" },
        { "3073", "-m 3073 is too large (at most 3G)" },
        { "4G", "-m 4G is too large (at most 3G)" },
        { "1T", "-m 1T is too large (at most 3G)" },
        { "99999999999999999999", "-m 99999999999999999999 is too large (at most 3G)" },
        { "12Q", "invalid -m size '12Q' (expected e.g. 128, 512M or 1G)" },
        { "", "invalid -m size '' (expected e.g. 128, 512M or 1G)" },
        { "-5", "invalid -m size '-5' (expected e.g. 128, 512M or 1G)" },
        { "1.5G", "invalid -m size '1.5G' (expected e.g. 128, 512M or 1G)" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t b = 0x1234;
        cr_assert_eq(cli_parse_ram(bad[i].s, &b, err, sizeof(err)), -1, "%s", bad[i].s);
        cr_assert_str_eq(err, bad[i].msg);
        cr_assert_eq(b, 0x1234);
    }
}

Test(cli, options)
{
    char *argv[] = { "bt86", "--kernel", "a", "-append", "x y", "-initrd", "m1 z,m2", "-m", "64",
                     "-serial", "file:/tmp/out", "-display", "sdl", "-no-reboot", "-stats",
                     "-max-insns", "0x100", "-kernel", "b", NULL };
    cr_assert_eq(cli_parse(19, argv, &o, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(o.kernel, "b", "the last -kernel wins");
    cr_assert_str_eq(o.append, "x y");
    cr_assert_str_eq(o.initrd, "m1 z,m2");
    cr_assert_eq(o.ram_bytes, 64u << 20);
    cr_assert_eq(o.serial, SERIAL_FILE);
    cr_assert_str_eq(o.serial_path, "/tmp/out");
    cr_assert_eq(o.display, DISPLAY_SDL);
    cr_assert(o.no_reboot && o.stats);
    cr_assert_eq(o.max_insns, 0x100);
    cr_assert_eq(parse("-serial", "none", "-kernel", "k"), 0);
    cr_assert_eq(o.serial, SERIAL_NONE);
    cr_assert_eq(parse("-nographic", "-kernel", "k", NULL), 0);
    cr_assert_eq(o.display, DISPLAY_NONE);
    cr_assert_eq(parse("-h", NULL, NULL, NULL), 0);
    cr_assert_eq(o.action, CLI_HELP);
    cr_assert_eq(parse("--help", NULL, NULL, NULL), 0);
    cr_assert_eq(o.action, CLI_HELP);
    cr_assert_eq(parse("-version", NULL, NULL, NULL), 0);
    cr_assert_eq(o.action, CLI_VERSION);
}

Test(cli, errors)
{
    static const struct { const char *a[4]; const char *msg; } t[] = {
        { { NULL }, "nothing to boot (use -kernel FILE or -drive file=DISK; see bt86 -help)" },
        { { "-kernel" }, "option -kernel needs an argument" },
        { { "-kernel", "" }, "-kernel needs a file name" },
        { { "-bogus", "-kernel", "k" }, "unknown option '-bogus' (try bt86 -help)" },
        { { "k.elf" }, "unexpected argument 'k.elf' (the kernel is given with -kernel FILE)" },
        { { "-kernel", "k", "-serial", "tty" }, "unknown -serial 'tty' (expected stdio, none or file:PATH)" },
        { { "-kernel", "k", "-serial", "file:" }, "unknown -serial 'file:' (expected stdio, none or file:PATH)" },
        { { "-kernel", "k", "-engine", "tcg" }, "unknown -engine 'tcg' (expected bt, interp, trap or kvm)" },
        { { "-kernel", "k", "-display", "gtk" }, "unknown -display 'gtk' (expected none or sdl)" },
        { { "-kernel", "k", "-max-insns", "0" }, "invalid -max-insns '0' (expected a positive number)" },
        { { "-kernel", "k", "-max-insns", "x1" }, "invalid -max-insns 'x1' (expected a positive number)" },
        { { "-kernel", "k", "-m", "0" }, "-m 0: guest RAM cannot be zero (at least 2M)" },
        { { "-kernel", "k", "-initrd", "" }, "-initrd needs a file name" },
        { { "-kernel", "k", "-spin-skip", "1000001" }, "invalid -spin-skip '1000001' (expected nanoseconds from 0 to 1000000)" },
        { { "-kernel", "k", "-spin-skip", "-1" }, "invalid -spin-skip '-1' (expected nanoseconds from 0 to 1000000)" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cr_assert_eq(parse(t[i].a[0], t[i].a[1], t[i].a[2], t[i].a[3]), -1, "case %zu", i);
        cr_assert_str_eq(err, t[i].msg, "case %zu", i);
    }
}

/* ---------- the binary as a subprocess ---------- */

struct result {
    int status;        /* exit status, or 128 + signal */
    char out[4096], errs[4096];
    size_t nout, nerr;
};

static const char *bt86_path(void)
{
    const char *p = getenv("BT86");
    if (!p || !*p) cr_skip_test("BT86 is not set: set BT86=/path/to/bt86 to run the command-line tests (make test does)");
    return p;
}

static void drain(int fd, char *buf, size_t *n, size_t cap, int *open_fds)
{
    char tmp[1024];
    ssize_t r = read(fd, tmp, sizeof(tmp));
    if (r <= 0) {
        (*open_fds)--;
        return;
    }
    size_t k = (size_t)r;
    if (*n + k > cap - 1) k = cap - 1 - *n;
    memcpy(buf + *n, tmp, k);
    *n += k;
    buf[*n] = '\0';
}

/* Run $BT86 with args (NULL-terminated), feeding `input` on stdin. */
static void run(struct result *res, const char *input, const char *const *args)
{
    const char *bin = bt86_path();
    char *argv[40];
    int argc = 0;
    argv[argc++] = (char *)bin;
    for (; args[argc - 1] && argc < 39; argc++) argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    int pin[2], pout[2], perr[2];
    cr_assert(pipe(pin) == 0 && pipe(pout) == 0 && pipe(perr) == 0);
    signal(SIGPIPE, SIG_IGN);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[0]); close(pin[1]); close(pout[0]); close(pout[1]); close(perr[0]); close(perr[1]);
        execv(bin, argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    if (input && write(pin[1], input, strlen(input)) < 0) { /* ignore: the child may not read */ }
    close(pin[1]);
    memset(res, 0, sizeof(*res));
    int open_fds = 2;
    time_t deadline = time(NULL) + 60;
    while (open_fds > 0 && time(NULL) < deadline) {
        struct pollfd p[2] = { { pout[0], POLLIN, 0 }, { perr[0], POLLIN, 0 } };
        if (poll(p, 2, 1000) <= 0) continue;
        if (p[0].revents) { drain(pout[0], res->out, &res->nout, sizeof(res->out), &open_fds); if (open_fds < 2 && !(p[1].revents)) p[0].fd = -1; }
        if (p[1].revents) drain(perr[0], res->errs, &res->nerr, sizeof(res->errs), &open_fds);
    }
    if (open_fds > 0) kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    close(pout[0]);
    close(perr[0]);
    res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define RUN(res, input, ...) do { const char *a_[] = { __VA_ARGS__, NULL }; run(res, input, a_); } while (0)

/* Exactly one line on stderr, starting "bt86: " and containing `needle`. */
static void expect_one_line(const struct result *r, int status, const char *needle)
{
    cr_assert_eq(r->status, status, "exit status %d (want %d); stderr: %s", r->status, status, r->errs);
    cr_assert(r->nerr > 6 && !strncmp(r->errs, "bt86: ", 6), "stderr starts with 'bt86: ': %s", r->errs);
    const char *nl = strchr(r->errs, '\n');
    cr_assert(nl && nl[1] == '\0', "exactly one line on stderr: [%s]", r->errs);
    cr_assert(strstr(r->errs, needle), "stderr '%s' should contain '%s'", r->errs, needle);
}

static char *temp_image(const struct mbimage *im)
{
    char *p = mbimage_write_temp(im->b, im->len);
    cr_assert(p);
    return p;
}

static void expect_kernel_error(struct mbimage *im, const char *needle, const char *mem)
{
    char *k = temp_image(im);
    struct result r;
    RUN(&r, NULL, "-m", mem, "-kernel", k);
    expect_one_line(&r, 1, needle);
    cr_assert_eq(r.nout, 0);
    unlink(k);
    free(k);
}

Test(cli_bin, version_and_help)
{
    struct result r;
    RUN(&r, NULL, "-version");
    cr_assert_eq(r.status, 0);
    cr_assert_str_eq(r.out, "bt86 " BT86_VERSION "\n");
    cr_assert_eq(r.nerr, 0);
    RUN(&r, NULL, "-h");
    cr_assert_eq(r.status, 0);
    cr_assert(!strncmp(r.out, "usage: bt86 [options] -kernel FILE\n", 35), "%s", r.out);
    cr_assert_eq(r.nerr, 0);
}

Test(cli_bin, usage_errors)
{
    struct result r;
    RUN(&r, NULL, "-m", "64");
    expect_one_line(&r, 1, "nothing to boot");
    RUN(&r, NULL, "-frobnicate", "-kernel", "x");
    expect_one_line(&r, 1, "unknown option '-frobnicate'");
    RUN(&r, NULL, "-kernel");
    expect_one_line(&r, 1, "option -kernel needs an argument");
    RUN(&r, NULL, "-kernel", "/nonexistent/kernel.elf");
    expect_one_line(&r, 1, "cannot open kernel '/nonexistent/kernel.elf': No such file or directory");
    RUN(&r, NULL, "-kernel", "/tmp");
    expect_one_line(&r, 1, "is not a regular file");
    RUN(&r, NULL, "-m", "0", "-kernel", "x");
    expect_one_line(&r, 1, "cannot be zero");
    RUN(&r, NULL, "-m", "1M", "-kernel", "x");
    expect_one_line(&r, 1, "too small");
    RUN(&r, NULL, "-m", "5G", "-kernel", "x");
    expect_one_line(&r, 1, "too large");
    RUN(&r, NULL, "-engine", "bt", "-kernel", "/nonexistent");
    expect_one_line(&r, 1, "cannot open kernel '/nonexistent'");
    RUN(&r, NULL, "-serial", "file:/nonexistent/dir/out", "-kernel", "x");
    expect_one_line(&r, 1, "cannot open serial output file '/nonexistent/dir/out'");
}

Test(cli_bin, bad_kernels)
{
    struct mbimage im;
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_HDR_OFF, 0);
    expect_kernel_error(&im, "no Multiboot header in the first 8192 bytes", "16");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_HDR_OFF + 8, 0);
    expect_kernel_error(&im, "bad Multiboot header checksum", "16");
    mbimage_elf(&im, NULL, 0, 0);
    im.b[0] = 0;
    expect_kernel_error(&im, "not an ELF file (bad magic)", "16");
    mbimage_elf(&im, NULL, 0, 0);
    im.b[4] = 2;
    expect_kernel_error(&im, "not a 32-bit ELF file", "16");
    mbimage_elf(&im, NULL, 0, 0);
    im.b[18] = 40;
    expect_kernel_error(&im, "not an i386 ELF file", "16");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, 28, 0x7ffffff0u);
    expect_kernel_error(&im, "program headers lie outside the file", "16");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_FILESZ, 0x10000);
    mbimage_put32(&im, MBI_PH_MEMSZ, 0x10000);
    expect_kernel_error(&im, "lies outside the file", "16");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_PADDR, 0x300000);
    expect_kernel_error(&im, "lies outside guest RAM (2 MiB; see -m)", "2");
    mbimage_elf(&im, NULL, 0, 0);
    mbimage_put32(&im, MBI_PH_PADDR, 0x9000);
    expect_kernel_error(&im, "overlaps the loader's area", "16");
    mbimage_elf(&im, NULL, 0, 0);
    im.len = 40; /* truncated: no header left either */
    expect_kernel_error(&im, "no Multiboot header", "16");
}

/* ---------- guests ---------- */

static char *guest(const uint8_t *code, size_t len)
{
    struct mbimage im;
    mbimage_elf(&im, code, len, 0x1000);
    return temp_image(&im);
}

static void drop(char *path)
{
    unlink(path);
    free(path);
}

Test(cli_bin, serial_output_and_exit_port)
{
    /* mov dx,0x3f8; mov al,'h'; out dx,al; mov al,'i'; out dx,al; mov al,10; out dx,al;
     * mov al,0x10; out 0xf4,al; hlt */
    static const uint8_t code[] = { 0x66, 0xba, 0xf8, 0x03, 0xb0, 'h', 0xee, 0xb0, 'i', 0xee, 0xb0, 10, 0xee,
                                    0xb0, 0x10, 0xe6, 0xf4, 0xf4 };
    char *k = guest(code, sizeof(code));
    struct result r;
    RUN(&r, NULL, "-kernel", k, "-m", "16");
    cr_assert_eq(r.status, 0x21, "(0x10 << 1) | 1; stderr: %s", r.errs);
    cr_assert_str_eq(r.out, "hi\n");
    cr_assert_eq(r.nerr, 0, "%s", r.errs);
    /* -serial none drops the output; -serial file: writes it. */
    RUN(&r, NULL, "-kernel", k, "-serial", "none");
    cr_assert_eq(r.status, 0x21);
    cr_assert_eq(r.nout, 0);
    char outpath[] = "/tmp/bt86-serial-XXXXXX";
    int fd = mkstemp(outpath);
    cr_assert(fd >= 0);
    close(fd);
    char spec[64];
    snprintf(spec, sizeof(spec), "file:%s", outpath);
    RUN(&r, NULL, "-kernel", k, "-serial", spec);
    cr_assert_eq(r.status, 0x21);
    cr_assert_eq(r.nout, 0);
    FILE *f = fopen(outpath, "rb");
    char buf[16] = { 0 };
    cr_assert(f && fread(buf, 1, sizeof(buf) - 1, f) == 3);
    fclose(f);
    cr_assert_str_eq(buf, "hi\n");
    unlink(outpath);
    /* -stats adds its report on stderr and keeps the status. */
    RUN(&r, NULL, "-kernel", k, "-stats");
    cr_assert_eq(r.status, 0x21);
    cr_assert(strstr(r.errs, "guest instructions    9\n"), "%s", r.errs);
    cr_assert(strstr(r.errs, " 30  I/O instruction"), "%s", r.errs);
    drop(k);
}

Test(cli_bin, serial_input_from_a_pipe)
{
    /* 0: mov dx,0x3fd; 4: in al,dx; 5: test al,1; 7: jz 4; 9: mov dx,0x3f8; 13: in al,dx;
     * 14: out dx,al; 15: cmp al,10; 17: jne 0; 19: mov al,5; 21: out 0xf4,al; 23: hlt */
    static const uint8_t code[] = { 0x66, 0xba, 0xfd, 0x03, 0xec, 0xa8, 0x01, 0x74, 0xfb, 0x66, 0xba, 0xf8, 0x03,
                                    0xec, 0xee, 0x3c, 0x0a, 0x75, 0xed, 0xb0, 0x05, 0xe6, 0xf4, 0xf4 };
    char *k = guest(code, sizeof(code));
    struct result r;
    RUN(&r, "echo this line\nnot this\n", "-kernel", k, "-max-insns", "100000000");
    cr_assert_eq(r.status, 11, "(5 << 1) | 1; stderr: %s", r.errs);
    cr_assert_str_eq(r.out, "echo this line\n");
    drop(k);
}

Test(cli_bin, halt_forever)
{
    static const uint8_t code[] = { 0xfa, 0xf4 }; /* cli; hlt */
    char *k = guest(code, sizeof(code));
    struct result r;
    RUN(&r, NULL, "-kernel", k);
    expect_one_line(&r, 2, "HLT at EIP=00100081 with interrupts disabled (IF=0)");
    drop(k);
}

Test(cli_bin, triple_fault)
{
    /* int3 with the IDTR left at base 0, limit 0x3ff over zeroed memory. */
    static const uint8_t code[] = { 0x90, 0xcc };
    char *k = guest(code, sizeof(code));
    struct result r;
    RUN(&r, NULL, "-kernel", k);
    expect_one_line(&r, 3, "bt86: triple fault (vector chain: 03 -> ");
    cr_assert(strstr(r.errs, ") at EIP=00100081 CPL=0\n"), "%s", r.errs);
    drop(k);
}

Test(cli_bin, max_insns)
{
    static const uint8_t code[] = { 0xeb, 0xfe }; /* jmp $ */
    char *k = guest(code, sizeof(code));
    struct result r;
    RUN(&r, NULL, "-kernel", k, "-max-insns", "12345");
    expect_one_line(&r, 4, "stopped after 12345 instructions (-max-insns) at EIP=00100080");
    RUN(&r, NULL, "-kernel", k, "-max-insns", "1000", "-stats");
    cr_assert_eq(r.status, 4);
    cr_assert(strstr(r.errs, "guest instructions    1000\n"), "%s", r.errs);
    drop(k);
}

/* -display sdl with no window system: one clear line and status 1, no crash.
 * (The child inherits the environment: take the display variables away.) */
Test(cli_bin, sdl_display_without_window_system)
{
    static const uint8_t code[] = { 0xb0, 0x00, 0xe6, 0xf4 }; /* mov al,0; out 0xf4,al */
    char *k = guest(code, sizeof(code));
    struct result r;
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    unsetenv("SDL_VIDEODRIVER");
    RUN(&r, NULL, "-kernel", k, "-display", "sdl");
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.errs, "bt86: cannot open the SDL display: no window system ($DISPLAY and $WAYLAND_DISPLAY are not set)\n");
    drop(k);
}
