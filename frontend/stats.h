/* -stats: what one run cost, printed to stderr at exit — guest instructions,
 * host time, VMM entries by (VT-x) exit reason with host time per entry,
 * exceptions by vector, #GP raised by the VMM's own checks, the translator's
 * figures, shadow paging, devices. -trace is set up here too: both hang an
 * observer (cpu/vmm_trace.h) on the vCPU. */
#ifndef BT86_FRONTEND_STATS_H
#define BT86_FRONTEND_STATS_H

#include <stddef.h>
#include <stdio.h>

struct pc;
struct options;

/* Attach the observer to vCPU 0 if -stats or -trace asks for one (opens the
 * trace file). 0, or -1 with a message in err. */
int stats_observe(struct pc *pc, const struct options *o, char *err, size_t errlen);
/* Detach and free it, closing the trace file (safe when nothing is attached,
 * and on a half-built pc). */
void stats_unobserve(struct pc *pc);

void stats_print(FILE *f, const struct pc *pc, double host_seconds);

#endif
