/* Hardware task switches through a 32-bit TSS (Intel SDM vol. 3 ch. 7):
 * JMP/CALL to a TSS or task gate, and the interrupt/IRET forms for callers
 * that deliver through task gates or return with EFLAGS.NT set. */
#ifndef BT86_CPU_TASK_H
#define BT86_CPU_TASK_H

#include <stdint.h>

struct vcpu;

enum task_switch_reason {
    TS_JMP,  /* old TSS becomes available; no back link */
    TS_CALL, /* old TSS stays busy; new task gets the back link and NT */
    TS_IRET, /* return to the back-linked task: it must be busy; old one becomes available */
    TS_INT,  /* exception or interrupt through a task gate: like CALL */
};

/* Switch to the task whose TSS descriptor (sel, already read from the GDT as
 * lo/hi, its privilege and presence checked by the caller) is given. The
 * current task's state is saved with EIP = `saved_eip`. Raises #TS/#GP/#NP/#SS
 * like the CPU; on return the new task's EIP is in v->next_eip. Faults found
 * while loading the new task's segments are raised in the new task's context
 * (v->insn_eip is its EIP). 16-bit TSSs are not implemented (#GP(sel)). */
void task_switch(struct vcpu *v, uint16_t sel, uint32_t lo, uint32_t hi, enum task_switch_reason reason,
                 uint32_t saved_eip);

#endif
