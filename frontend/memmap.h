/* The board's physical memory map as firmware reports it (E820 types): one
 * list used by every boot path (the Multiboot mmap, the Linux zero page's
 * E820 table), so they cannot disagree. */
#ifndef BT86_FRONTEND_MEMMAP_H
#define BT86_FRONTEND_MEMMAP_H

#include <stdint.h>

#define E820_RAM      1
#define E820_RESERVED 2

/* Firmware area below 1 MiB that is never RAM for the guest: the MP table,
 * ACPI tables and IVT stubs live in it. */
#define FIRMWARE_AREA_BASE 0xe0000u
#define FIRMWARE_AREA_END  0x100000u

struct memmap_entry {
    uint64_t base, len;
    uint32_t type;
};

#define MEMMAP_MAX 8

/* Fill out[] (MEMMAP_MAX entries) for a guest with ram_size bytes of RAM;
 * returns the number of entries, in ascending address order. */
int pc_memory_map(uint32_t ram_size, struct memmap_entry *out);

#endif
