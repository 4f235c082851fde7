/* STUB: replaced by the real implementation. */
#include "cpu/segment.h"
#include <stdlib.h>

void seg_cache_refresh(struct seg_cache *s, bool protected_mode) { (void)s; (void)protected_mode; }
void seg_load_real(struct vcpu *v, int seg, uint16_t sel) { (void)v; (void)seg; (void)sel; abort(); }
void seg_load_protected(struct vcpu *v, int seg, uint16_t sel) { (void)v; (void)seg; (void)sel; abort(); }
void seg_load(struct vcpu *v, int seg, uint16_t sel) { (void)v; (void)seg; (void)sel; abort(); }
bool desc_read(struct vcpu *v, uint16_t sel, uint32_t *lo, uint32_t *hi) { (void)v; (void)sel; (void)lo; (void)hi; abort(); }
void desc_to_cache(struct seg_cache *s, uint16_t sel, uint32_t lo, uint32_t hi) { (void)s; (void)sel; (void)lo; (void)hi; abort(); }
void cpu_update_mode(struct vcpu *v) { (void)v; }
