/* Whole boards with several vCPUs for the SMP unit tests (test_smp.c,
 * test_smp_excl.c): built from a command line as bt86 builds them, vCPU 0
 * in the Multiboot entry state at 0x100000, and guest RAM access. */
#ifndef BT86_TESTS_SMP_BOARD_H
#define BT86_TESTS_SMP_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "frontend/pc.h"

/* mov dword [0xfee00310], (id << 24); mov dword [0xfee00300], lo */
#define ICR(id, lo)                                                                              \
    0xc7, 0x05, 0x10, 0x03, 0xe0, 0xfe, 0, 0, 0, (id),                                           \
    0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, (lo) & 0xff, ((lo) >> 8) & 0xff, ((lo) >> 16) & 0xff, 0

/* -smp `smp`, -engine `engine`: the board, vCPU 0 ready to run 32-bit flat
 * code at 0x100000. */
struct pc *smp_board(const char *smp, const char *engine);
void smp_board_free(struct pc *pc);
void smp_board_poke(struct pc *pc, uint32_t pa, const uint8_t *p, size_t n);
uint32_t smp_board_peek32(struct pc *pc, uint32_t pa);

#endif
