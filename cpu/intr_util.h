/* Small helpers shared by interrupt delivery (cpu/interrupt.c) and the
 * INT/IRET/SYSENTER handlers (cpu/vmm_int.c): decoding the high dword of a
 * descriptor and writing stack slots with an explicit privilege view (the
 * new CPL's, not the current one). */
#ifndef BT86_CPU_INTR_UTIL_H
#define BT86_CPU_INTR_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpu/mem.h"
#include "cpu/operand.h"
#include "cpu/vcpu.h"

/* Fields of a descriptor's high dword. */
static inline unsigned dhi_dpl(uint32_t hi) { return (hi >> 13) & 3; }
static inline bool dhi_present(uint32_t hi) { return (hi & 0x8000u) != 0; }
static inline bool dhi_code(uint32_t hi) { return (hi & 0x1800u) == 0x1800u; }           /* S=1, type bit 3 */
static inline bool dhi_conforming(uint32_t hi) { return (hi & 0x1c00u) == 0x1c00u; }
static inline bool dhi_writable_data(uint32_t hi) { return (hi & 0x1a00u) == 0x1200u; }  /* S=1, data, W */

/* Error code for a selector-related fault: index and TI of sel, plus EXT. */
static inline uint32_t sel_err(uint16_t sel, uint32_t ext) { return (sel & 0xfffcu) | ext; }

/* Write 2 or 4 bytes at a linear address with the given TLB view. */
static inline void intr_write(struct vcpu *v, uint32_t lin, uint32_t val, unsigned size, int view)
{
    lin_write_view(v, lin, val, size, view);
}

/* Whether [off, off+size) may be written through a segment cache (stack pushes). */
static inline bool seg_write_ok(const struct seg_cache *s, uint32_t off, unsigned size)
{
    return s->wr && off >= s->lo && (uint64_t)off + size - 1 <= s->hi;
}

/* Whether [off, off+size) may be read through a segment cache. */
static inline bool seg_read_ok(const struct seg_cache *s, uint32_t off, unsigned size)
{
    return s->rd && off >= s->lo && (uint64_t)off + size - 1 <= s->hi;
}

#endif
