/* Interpreter handlers: x87 family (stub until implemented). */
#include "cpu/interp.h"

void interp_register_x87(insn_exec_fn *t)
{
    (void)t;
}
