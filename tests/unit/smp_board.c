/* The SMP unit tests' boards (tests/unit/smp_board.h). */
#include "smp_board.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/cli.h"
#include "frontend/multiboot.h"
#include "memory/phys.h"

struct pc *smp_board(const char *smp, const char *engine)
{
    struct options o;
    char err[256];
    char *argv[] = { "bt86", "-smp", (char *)smp, "-engine", (char *)engine, "-serial", "none", "-kernel", "k", NULL };
    cr_assert_eq(cli_parse(9, argv, &o, err, sizeof(err)), 0, "%s", err);
    struct pc *pc = calloc(1, sizeof(*pc));
    cr_assert_not_null(pc);
    cr_assert_eq(pc_init(pc, &o, err, sizeof(err)), 0, "%s", err);
    struct mb_boot b = { .entry = 0x100000, .info = 0, .kernel_end = 0x101000 };
    multiboot_enter(&pc->m, pc->m.cpu[0], &b);
    return pc;
}

void smp_board_free(struct pc *pc)
{
    pc_destroy(pc);
    free(pc);
}

void smp_board_poke(struct pc *pc, uint32_t pa, const uint8_t *p, size_t n)
{
    memcpy(phys_ram_ptr(&pc->m.mem, pa, (uint32_t)n), p, n);
}

uint32_t smp_board_peek32(struct pc *pc, uint32_t pa)
{
    uint32_t x;
    memcpy(&x, phys_ram_ptr(&pc->m.mem, pa, 4), 4);
    return x;
}
