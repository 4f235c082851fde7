/* Interpreter handlers: move family (stub until implemented). */
#include "cpu/interp.h"

void interp_register_move(insn_exec_fn *t)
{
    (void)t;
}
