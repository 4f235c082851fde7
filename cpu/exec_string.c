/* Interpreter handlers: string family (stub until implemented). */
#include "cpu/interp.h"

void interp_register_string(insn_exec_fn *t)
{
    (void)t;
}
