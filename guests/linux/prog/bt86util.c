/* bt86util — a tiny static i386 Linux program for the Linux guest's tests and
 * benchmark (built by guests/linux/linux.mk with gcc -m32 -nostdlib; it makes
 * its system calls itself through INT 0x80, so it needs no C library):
 *
 *   bt86util now          prints CLOCK_MONOTONIC in nanoseconds
 *   bt86util forkwait N   N times: fork, the child exits at once, the parent
 *                         waits for it; prints "forkwait n=N ns=T" (T = the
 *                         loop's CLOCK_MONOTONIC time); status 1 on any error
 *
 * It lives in prog/ so guests/guests.mk does not take guests/linux/ for a
 * Multiboot guest. */

#define SYS_exit 1
#define SYS_fork 2
#define SYS_write 4
#define SYS_waitpid 7
#define SYS_clock_gettime 265
#define CLOCK_MONOTONIC 1

struct timespec32 {
    long tv_sec;
    long tv_nsec;
};

static long sys3(long nr, long a, long b, long c)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}

static __attribute__((noreturn)) void sys_exit(int code)
{
    for (;;)
        sys3(SYS_exit, code, 0, 0);
}

static unsigned long slen(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static void puts1(const char *s)
{
    sys3(SYS_write, 1, (long)s, (long)slen(s));
}

static void putu64(unsigned long long v)
{
    char buf[24];
    int i = sizeof buf;
    buf[--i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    puts1(buf + i);
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static unsigned long long now_ns(void)
{
    struct timespec32 ts;
    if (sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0) != 0) {
        puts1("bt86util: clock_gettime failed\n");
        sys_exit(1);
    }
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long)ts.tv_nsec;
}

static unsigned long parse_u(const char *s)
{
    unsigned long v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (unsigned long)(*s - '0');
    return v;
}

static int forkwait(unsigned long n)
{
    unsigned long long t0 = now_ns();
    for (unsigned long i = 0; i < n; i++) {
        long pid = sys3(SYS_fork, 0, 0, 0);
        if (pid == 0)
            sys_exit(7);
        if (pid < 0) {
            puts1("bt86util: fork failed\n");
            return 1;
        }
        int status = 0;
        if (sys3(SYS_waitpid, pid, (long)&status, 0) != pid || status != (7 << 8)) {
            puts1("bt86util: waitpid failed or wrong child status\n");
            return 1;
        }
    }
    unsigned long long t1 = now_ns();
    puts1("forkwait n=");
    putu64(n);
    puts1(" ns=");
    putu64(t1 - t0);
    puts1("\n");
    return 0;
}

static int main2(int argc, char **argv)
{
    if (argc == 2 && streq(argv[1], "now")) {
        putu64(now_ns());
        puts1("\n");
        return 0;
    }
    if (argc == 3 && streq(argv[1], "forkwait"))
        return forkwait(parse_u(argv[2]));
    puts1("usage: bt86util now | forkwait N\n");
    return 2;
}

/* The kernel starts us with ESP at argc, then argv[]. */
__attribute__((used)) static void start_c(long *sp)
{
    sys_exit(main2((int)sp[0], (char **)(sp + 1)));
}

__asm__(".globl _start\n"
        "_start:\n"
        "  movl %esp, %eax\n"
        "  andl $-16, %esp\n"
        "  subl $12, %esp\n"
        "  pushl %eax\n"
        "  call start_c\n"
        "  hlt\n");
