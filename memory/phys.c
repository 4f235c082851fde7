/* STUB: replaced by the real implementation. */
#include "memory/phys.h"
#include <stdlib.h>

int phys_init(struct phys_mem *pm, uint32_t ram_size) { (void)pm; (void)ram_size; return -1; }
void phys_destroy(struct phys_mem *pm) { (void)pm; }
int phys_add_mmio(struct phys_mem *pm, const struct mmio_region *r) { (void)pm; (void)r; return -1; }
int phys_add_rom(struct phys_mem *pm, uint32_t base, const void *data, uint32_t size) { (void)pm; (void)base; (void)data; (void)size; return -1; }
const uint8_t *phys_readable_ptr(const struct phys_mem *pm, uint32_t pa, uint32_t len) { (void)pm; (void)pa; (void)len; abort(); }
uint32_t phys_read(struct phys_mem *pm, uint32_t pa, int size) { (void)pm; (void)pa; (void)size; abort(); }
void phys_write(struct phys_mem *pm, uint32_t pa, uint32_t val, int size) { (void)pm; (void)pa; (void)val; (void)size; abort(); }
int phys_copy_in(struct phys_mem *pm, uint32_t pa, const void *src, size_t len) { (void)pm; (void)pa; (void)src; (void)len; return -1; }
int phys_copy_out(struct phys_mem *pm, void *dst, uint32_t pa, size_t len) { (void)pm; (void)pa; (void)dst; (void)len; return -1; }
