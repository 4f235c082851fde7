/* One-line error messages for the frontend's parsers and loaders, and the
 * little-endian field readers and writers they (and the firmware table
 * builders) share. */
#ifndef BT86_FRONTEND_ERRFMT_H
#define BT86_FRONTEND_ERRFMT_H

#include <stddef.h>
#include <stdint.h>

/* Format a message into err (errlen bytes) and return -1, so that
 * `return errfmt(err, errlen, "...", ...);` reports and fails in one step. */
int errfmt(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static inline uint16_t rd16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void wr16le(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void wr32le(uint8_t *p, uint32_t v)
{
    wr16le(p, (uint16_t)v);
    wr16le(p + 2, (uint16_t)(v >> 16));
}

/* The byte that makes the sum of p[0..len) zero (firmware table checksums:
 * MP, ACPI), given the checksum byte itself is still 0. */
static inline uint8_t sum8_complement(const uint8_t *p, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++) s = (uint8_t)(s + p[i]);
    return (uint8_t)(0u - s);
}

#endif
