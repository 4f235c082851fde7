/* The reference interpreter: runs decoded records (cpu/insn.h) one at a time. */
#ifndef BT86_CPU_INTERP_H
#define BT86_CPU_INTERP_H

#include <stdint.h>

#include "cpu/insn.h"
#include "cpu/vcpu.h"

/* Handler table indexed by Capstone instruction id; unfilled entries raise #UD. */
extern insn_exec_fn interp_exec_table[];
void interp_init(void);   /* fills the table; idempotent */
struct decoder;
/* -smp threads: the decoder the interpreter uses on the calling host thread
 * (NULL: the machine's). */
void interp_set_thread_decoder(struct decoder *d);

/* Each instruction family registers its handlers (one file each). */
void interp_register_alu(insn_exec_fn *t);      /* cpu/exec_alu.c: arithmetic, logic, shifts, mul/div, BCD */
void interp_register_bits(insn_exec_fn *t);     /* cpu/exec_bits.c: BT*, BSF/BSR, SHLD/SHRD, SETcc, CMOVcc, BSWAP */
void interp_register_move(insn_exec_fn *t);     /* cpu/exec_move.c: MOV, XCHG, stack, LEA, MOVZX/SX, CMPXCHG, XADD, flags */
void interp_register_string(insn_exec_fn *t);   /* cpu/exec_string.c: MOVS..SCAS, REP prefixes, XLAT */
void interp_register_branch(insn_exec_fn *t);   /* cpu/exec_branch.c: Jcc, JMP, CALL, RET near, LOOP, JCXZ, ENTER/LEAVE */
void interp_register_system(insn_exec_fn *t);   /* cpu/exec_system.c: flags, CR/DR, I/O, INT/IRET, CPUID, MSR, ... (VMM callers) */
void interp_register_segment(insn_exec_fn *t);  /* cpu/exec_segment.c: segment loads, far transfers, descriptor tables (VMM callers) */
void interp_register_x87(insn_exec_fn *t);      /* cpu/exec_x87.c: x87, FXSAVE/FXRSTOR, MMX/SSE as implemented */

void exec_ud(struct vcpu *v, const struct insn *in);
/* The handler of every LOCK-prefixed instruction (cpu/decode.c): runs the
 * table's handler with v->lock_rmw set (cpu/lock_atomic.h). */
void exec_locked(struct vcpu *v, const struct insn *in);

/* MOV to/from segment, control and debug registers. cpu/exec_move.c calls it
 * from its MOV handler (a weak #UD default lives there); the system/segment
 * handlers provide the real definition. */
void exec_mov_special(struct vcpu *v, const struct insn *in);
/* The CR/DR forms: cpu/exec_segment.c's exec_mov_special (which handles the
 * segment-register forms) forwards them here; cpu/exec_system.c defines it
 * (a weak #UD default lives in cpu/exec_segment.c). */
void exec_mov_crdr(struct vcpu *v, const struct insn *in);

struct block;

/* Run up to `budget` records of decoded block b from CS:EIP, or (b == NULL)
 * fetch, decode and run one instruction uncached. For engines that fall
 * back to the interpreter. */
void cpu_exec_block(struct vcpu *v, const struct block *b, uint32_t budget);
/* An instruction handler (struct insn.exec) that runs whatever instruction
 * is at CS:EIP, fetched and decoded uncached as cpu_exec_block(v, NULL, ..)
 * does, and sets v->next_eip after it: the translator's record for an
 * instruction no decoded block holds (one crossing a page end). */
void cpu_exec_uncached_handler(struct vcpu *v, const struct insn *self);
/* The decoded block at linear address lin (view: the TLB view of the fetch):
 * the vCPU's jump cache, else the fetch translation and the decode cache
 * (with this thread's decoder, under machine.code_lock when set). NULL when
 * the first instruction must run uncached (cpu_exec_block(v, NULL, ...)).
 * *avail gets the fetchable bytes to the end of the page. Shared by the
 * engines so that they fetch through the same (possibly stale) translation. */
struct block *cpu_find_block(struct vcpu *v, uint32_t lin, int view, uint32_t *avail);

/* The engine-independent run loop (faults, device polling, interrupts,
 * HLT/idle, interrupt shadows, the instruction limit), shared by the
 * interpreter and the translator. An engine supplies `run`: execute guest
 * code from CS:EIP, at most `left` instructions, preferably stopping near
 * `to_poll` (when the devices want polling); and `forget`, called after a
 * fault was delivered and before a single-instruction step, when any
 * engine state about "where execution came from" is stale. */
struct run_ops {
    void (*run)(struct vcpu *v, void *ctx, uint64_t to_poll, uint64_t left);
    void (*forget)(struct vcpu *v, void *ctx);
    void *ctx;
};
/* The interpreter's run step: up to `left` instructions from CS:EIP (one
 * decoded block), for engines built on the interpreter. */
void interp_run_some(struct vcpu *v, uint64_t left);
enum vcpu_stop cpu_run_loop(struct vcpu *v, uint64_t max_insns, const struct run_ops *ops);
/* How many guest instructions between calls of the machine's poll hook
 * (device timers, host input; interrupts are taken at the block boundary
 * after a poll raises them). Each poll leaves translated code, so it is
 * not too frequent: at 4096 the polls cost hash and bytecode 6% of their
 * time; 16384 instructions are 10-50 us of translated code. */
#define CPU_POLL_INTERVAL 16384
/* A guest whose fault handler faults at once (a real-mode #SS handler on a
 * bad stack) delivers exceptions forever without retiring an instruction,
 * as a CPU would. Under an instruction limit (-max-insns, lockstep chunks,
 * the fuzzer) the run would then never reach it: after this many faults in
 * a row with none retired it stops with STOP_FAULT_LOOP instead (before
 * delivering the next one), at the same point under every engine. */
#define CPU_FAULT_LOOP_MAX 65536

/* Run until a stop condition or max_insns guest instructions (0 = no limit).
 * Returns v->stop. */
enum vcpu_stop cpu_run(struct vcpu *v, uint64_t max_insns);

/* Execute exactly one instruction (or deliver one pending event); for tests and lockstep. */
enum vcpu_stop cpu_step(struct vcpu *v);

#endif
