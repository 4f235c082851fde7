/* Multiboot v1 information structure (the fields bt86's guests read). */
#ifndef GUESTS_LIB_MULTIBOOT_H
#define GUESTS_LIB_MULTIBOOT_H

#include <stdint.h>

#define MB_BOOT_MAGIC 0x2BADB002u

#define MB_INFO_MEM     (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP    (1u << 6)

struct mb_info {
    uint32_t flags;
    uint32_t mem_lower;      /* KiB below 1 MiB */
    uint32_t mem_upper;      /* KiB above 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;        /* physical address of a NUL-terminated string */
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
};

#endif
