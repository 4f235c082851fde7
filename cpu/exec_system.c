/* Interpreter handlers: system family (stub until implemented). */
#include "cpu/interp.h"

void interp_register_system(insn_exec_fn *t)
{
    (void)t;
}
