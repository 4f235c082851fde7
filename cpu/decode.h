/* Capstone -> struct insn. The record-building step validates and normalises
 * what Capstone reports (it accepts some encodings the CPU rejects, and reports
 * some operand sizes loosely); an invalid encoding is #UD, never an error of bt86. */
#ifndef BT86_CPU_DECODE_H
#define BT86_CPU_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/insn.h"

struct decoder;

struct decoder *decoder_new(void);   /* NULL if Capstone cannot be opened */
void decoder_free(struct decoder *d);

#define DECODE_OK    0
#define DECODE_UD   -1  /* not a valid instruction: raise #UD */
#define DECODE_SHORT -2 /* needs more than `avail` bytes (runs off the fetchable range) */

/* Decode the instruction at bytes[0..avail) (avail may exceed 15; only up to 15
 * bytes are looked at). eip is the instruction's offset in CS, used only to turn
 * Capstone's absolute branch targets back into relative ones. */
int decode_one(struct decoder *d, const uint8_t *bytes, size_t avail, uint32_t eip, bool code32,
               struct insn *out);

/* Capstone's disassembly text of one instruction (for tracing and diagnostics). */
int decode_text(struct decoder *d, const uint8_t *bytes, size_t avail, uint32_t eip, bool code32,
                char *buf, size_t bufsz);

#endif
