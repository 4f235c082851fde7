/* Interpreter handlers: bits family (stub until implemented). */
#include "cpu/interp.h"

void interp_register_bits(insn_exec_fn *t)
{
    (void)t;
}
