/* Loading an ELF32 i386 executable's PT_LOAD segments into guest physical
 * memory (at p_paddr), with every range checked against the file and guest RAM. */
#ifndef BT86_FRONTEND_LOADER_ELF_H
#define BT86_FRONTEND_LOADER_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/phys.h"

struct elf_load_result {
    uint32_t entry;   /* physical entry point */
    uint32_t low;     /* lowest loaded physical address */
    uint32_t end;     /* one past the highest loaded byte (BSS included) */
};

/* Whether the image starts with the ELF magic. */
bool elf_has_magic(const uint8_t *img, size_t len);

/* Check, then load: segments must lie in the file and in RAM, and outside
 * [resv_lo, resv_hi). e_entry is translated from a virtual to a physical
 * address when it lies in a segment whose p_vaddr differs from p_paddr (as
 * GRUB does for higher-half kernels). `name` prefixes error messages.
 * Returns 0, or -1 with a message in err (nothing is written to RAM then). */
int elf32_load(struct phys_mem *pm, const uint8_t *img, size_t len, const char *name,
               uint32_t resv_lo, uint32_t resv_hi, struct elf_load_result *out,
               char *err, size_t errlen);

#endif
