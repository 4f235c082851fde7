/* The tiny runtime every bt86 test guest links against: port I/O, COM1,
 * printf, exit through isa-debug-exit, TAP-like check lines, and the few
 * string functions GCC may call even in freestanding code. */
#ifndef GUESTS_LIB_RT_H
#define GUESTS_LIB_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "multiboot.h"

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Entry point each guest defines; its return value is the exit code. */
int guest_main(uint32_t magic, const struct mb_info *info);

/* serial.c: COM1 at 0x3f8, 115200 8N1, polled. '\n' is sent as "\r\n". */
void serial_init(void);
/* The same line setup with the FIFOs left off, for guests that read input:
 * turning the FIFOs on clears the receiver, and input that is already
 * waiting (piped in before boot) would be lost. Without FIFOs the 16550 holds
 * one byte and the host side waits, so nothing is dropped. */
void serial_init_nofifo(void);
void serial_putc(char c);
void serial_puts(const char *s);
int serial_rx_ready(void);
char serial_getc(void);

/* printf.c: %d %i %u %x %X %s %c %p %%, flags '0' '-', width, 'l' and 'll'. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* exit.c: write the code to port 0xf4 (QEMU's isa-debug-exit: the VM exits
 * with status (code << 1) | 1), then halt for ever if the port did nothing. */
void guest_exit(int code) __attribute__((noreturn));

/* check.c: one line per check, "ok N - desc" or
 * "not ok N - desc (got X, want Y)"; check_finish() prints the summary and
 * returns the exit code (0 = all passed, 1 = some failed). */
int check_u32(uint32_t got, uint32_t want, const char *desc);
int check_u64(uint64_t got, uint64_t want, const char *desc);
int check_true(int cond, const char *desc);
int check_finish(void);

/* string.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
const char *strstr(const char *hay, const char *needle);

/* cmdline.c: value of "key=N" in the Multiboot command line, or dflt. */
uint32_t cmdline_uint(const struct mb_info *info, const char *key, uint32_t dflt);
int cmdline_has(const struct mb_info *info, const char *word);

#endif
