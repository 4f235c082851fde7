/* -stats: what one run cost, printed to stderr at exit — guest instructions,
 * host time, VMM exits by (VT-x) exit reason, exceptions by vector, devices. */
#ifndef BT86_FRONTEND_STATS_H
#define BT86_FRONTEND_STATS_H

#include <stdio.h>

struct pc;

void stats_print(FILE *f, const struct pc *pc, double host_seconds);

#endif
