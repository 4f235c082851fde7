/* Segmentation: descriptor-cache loads in real and protected mode with the
 * architected checks, and the derived per-vCPU mode fields. */
#ifndef BT86_CPU_SEGMENT_H
#define BT86_CPU_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/vcpu.h"

/* Recompute lo/hi/rd/wr of a cache from sel/attr/base/limit. */
void seg_cache_refresh(struct seg_cache *s, bool protected_mode);
/* Real-mode (and VM86) load: base = sel << 4, limit and attributes kept as the CPU does. */
void seg_load_real(struct vcpu *v, int seg, uint16_t sel);
/* Protected-mode load of a data/stack segment register (DS ES FS GS SS) with
 * all checks: #GP(sel), #SS(sel), #NP(sel). Sets the descriptor's accessed bit. */
void seg_load_protected(struct vcpu *v, int seg, uint16_t sel);
/* Either of the above, by the current mode. */
void seg_load(struct vcpu *v, int seg, uint16_t sel);
/* Read the 8-byte descriptor for sel from GDT/LDT; returns false if the
 * selector is outside the table limit (caller raises the right fault). */
bool desc_read(struct vcpu *v, uint16_t sel, uint32_t *lo, uint32_t *hi);
void desc_to_cache(struct seg_cache *s, uint16_t sel, uint32_t lo, uint32_t hi);
/* Set the accessed bit of the code/data descriptor for sel (already read with
 * desc_read) in memory, and in *hi; no write when it is already set. */
void desc_set_accessed(struct vcpu *v, uint16_t sel, uint32_t *hi);
/* Recompute code32, stack32, cpl-dependent mem_view after CS/SS/CR0/EFLAGS changes,
 * and request the run loop to end the current block. */
void cpu_update_mode(struct vcpu *v);

#endif
