/* Interpreter handlers: segment family (stub until implemented). */
#include "cpu/interp.h"

void interp_register_segment(insn_exec_fn *t)
{
    (void)t;
}
