/* Interpreter handlers: branch family (stub until implemented). */
#include "cpu/interp.h"

void interp_register_branch(insn_exec_fn *t)
{
    (void)t;
}
