/* The C side of the trap path (sys.h): per-vector handlers, the default
 * "record and resume" handler, the default INT 0x80 services and the
 * expect_trap() check lines. */
#include "sys.h"

struct trap_log last_trap;
volatile uint32_t trap_resume;
static trap_fn handlers[256];

void trap_set_handler(unsigned vec, trap_fn fn) { handlers[vec & 255] = fn; }

void trap_clear(void)
{
    last_trap.count = 0;
    last_trap.vector = last_trap.err = last_trap.eip = last_trap.cs = last_trap.cr2 = 0;
    last_trap.eflags = 0;
    trap_resume = 0;
}

static void syscall_default(struct trap_frame *f)
{
    switch (f->eax) {
    case SYS_EXIT:
        user_return(f->ebx);
    case SYS_PUTC:
        serial_putc((char)f->ebx);
        break;
    case SYS_PUTS:
        serial_puts((const char *)f->ebx);
        break;
    default:
        f->eax = 0xffffffffu;
        return;
    }
    f->eax = 0;
}

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
    unsigned v = f->vector & 255;
    if (handlers[v]) {
        handlers[v](f);
        return;
    }
    if (v == 0x80) {
        syscall_default(f);
        return;
    }
    last_trap.count++;
    last_trap.vector = v;
    last_trap.err = f->err;
    last_trap.eip = f->eip;
    last_trap.cs = f->cs & 0xffff;
    last_trap.eflags = f->eflags;
    last_trap.cr2 = v == 14 ? read_cr2() : 0;
    if (trap_resume) {
        f->eip = trap_resume;
        return;
    }
    printf("not ok - unexpected exception: vector %u error 0x%x at %04x:%08x\n", v, f->err,
           f->cs & 0xffff, f->eip);
    guest_exit(1);
}

static void put_suffix(char *dst, const char *s)
{
    while ((*dst++ = *s++))
        ;
}

void expect_trap(const char *what, uint32_t vec, uint32_t err, uint32_t eip)
{
    char buf[96];
    size_t n = strlen(what);
    if (n > 60) n = 60;
    memcpy(buf, what, n);
    uint32_t cnt = last_trap.count;
    put_suffix(buf + n, ": one exception");
    check_u32(cnt, 1, buf);
    put_suffix(buf + n, ": vector");
    check_u32(last_trap.vector, vec, buf);
    if (err != NO_ERR) {
        put_suffix(buf + n, ": error code");
        check_u32(last_trap.err, err, buf);
    }
    if (eip) {
        put_suffix(buf + n, ": saved EIP");
        check_u32(last_trap.eip, eip, buf);
    }
    trap_clear();
}

void expect_no_trap(const char *what)
{
    char buf[96];
    size_t n = strlen(what);
    if (n > 60) n = 60;
    memcpy(buf, what, n);
    put_suffix(buf + n, ": no exception");
    check_u32(last_trap.count, 0, buf);
    trap_clear();
}
