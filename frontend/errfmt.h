/* One-line error messages for the frontend's parsers and loaders, and the
 * little-endian field readers they share. */
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

#endif
