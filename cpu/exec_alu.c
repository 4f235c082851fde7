/* Interpreter handlers: alu family (stub until implemented). */
#include "cpu/interp.h"

void interp_register_alu(insn_exec_fn *t)
{
    (void)t;
}
