/* A minimal printf for guests, writing straight to COM1.
 * Conversions: %d %i %u %x %X %c %s %p %%; flags '-' and '0'; a field width;
 * length modifiers 'l' (same as int on i386) and 'll' (64-bit). */
#include "rt.h"

struct spec {
    int left;        /* '-' flag */
    char pad;        /* ' ' or '0' */
    int width;
};

static int emit_field(const struct spec *sp, const char *s, int len)
{
    int n = 0;
    int fill = sp->width > len ? sp->width - len : 0;
    if (!sp->left)
        for (; fill > 0; fill--, n++)
            serial_putc(sp->pad);
    for (int i = 0; i < len; i++, n++)
        serial_putc(s[i]);
    for (; fill > 0; fill--, n++)
        serial_putc(' ');
    return n;
}

/* Formats v in the given base into the tail of buf; returns the digit start. */
static char *utoa64(uint64_t v, unsigned base, int upper, char *end)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    do {
        *--p = digits[v % base];
        v /= base;
    } while (v);
    return p;
}

static int emit_number(struct spec *sp, uint64_t mag, int neg, unsigned base, int upper)
{
    char buf[24];
    char *end = buf + sizeof buf;
    char *p = utoa64(mag, base, upper, end);
    int n = 0;
    if (neg) {
        if (sp->pad == '0') {       /* sign goes before the zeros */
            serial_putc('-');
            n++;
            if (sp->width > 0)
                sp->width--;
        } else {
            *--p = '-';
        }
    }
    return n + emit_field(sp, p, (int)(end - p));
}

int vprintf(const char *fmt, va_list ap)
{
    int n = 0;
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            serial_putc(*fmt);
            n++;
            continue;
        }
        struct spec sp = { 0, ' ', 0 };
        fmt++;
        for (;; fmt++) {
            if (*fmt == '-')
                sp.left = 1;
            else if (*fmt == '0')
                sp.pad = '0';
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            sp.width = sp.width * 10 + (*fmt++ - '0');
        int lng = 0;
        while (*fmt == 'l') {
            lng++;
            fmt++;
        }
        if (sp.left)
            sp.pad = ' ';
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = lng >= 2 ? va_arg(ap, long long) : (int64_t)va_arg(ap, int);
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            n += emit_number(&sp, mag, v < 0, 10, 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long)
                                  : (uint64_t)va_arg(ap, unsigned int);
            n += emit_number(&sp, v, 0, *fmt == 'u' ? 10 : 16, *fmt == 'X');
            break;
        }
        case 'p': {
            uint32_t v = (uint32_t)(uintptr_t)va_arg(ap, void *);
            serial_puts("0x");
            sp.pad = '0';
            sp.width = 8;
            n += 2 + emit_number(&sp, v, 0, 16, 0);
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            n += emit_field(&sp, &c, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            n += emit_field(&sp, s, (int)strlen(s));
            break;
        }
        case '%':
            serial_putc('%');
            n++;
            break;
        case '\0':
            return n;
        default:                    /* unknown: print it verbatim */
            serial_putc('%');
            serial_putc(*fmt);
            n += 2;
            break;
        }
    }
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
