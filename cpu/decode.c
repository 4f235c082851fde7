/* STUB: replaced by the real implementation. */
#include "cpu/decode.h"
#include <stdlib.h>

struct decoder *decoder_new(void) { return NULL; }
void decoder_free(struct decoder *d) { (void)d; }
int decode_one(struct decoder *d, const uint8_t *bytes, size_t avail, uint32_t eip, bool code32, struct insn *out) { (void)d; (void)bytes; (void)avail; (void)eip; (void)code32; (void)out; return DECODE_UD; }
int decode_text(struct decoder *d, const uint8_t *bytes, size_t avail, uint32_t eip, bool code32, char *buf, size_t bufsz) { (void)d; (void)bytes; (void)avail; (void)eip; (void)code32; (void)buf; (void)bufsz; return -1; }
