/* The virtual CPU: every piece of one x86 CPU's architectural state, as a value.
 * Engines and VMM handlers are handed a struct vcpu; there is no global "current CPU"
 * (DESIGN-BRIEF rule 5). The machine (RAM, devices, decode cache) is shared. */
#ifndef BT86_CPU_VCPU_H
#define BT86_CPU_VCPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/exit_reason.h"
#include "memory/tlb.h"

struct machine;
struct bt_vcpu;
struct trap_state;
struct vmm_obs;

/* General-purpose register indices, hardware encoding order. */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };
/* Segment register indices, hardware encoding order. */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_COUNT };

/* EFLAGS bits. */
/* Entries of the per-vCPU jump cache (a power of two; cpu/interp.c). */
#define JC_ENTRIES 32768

#define F_CF   0x00000001u
#define F_FIXED1 0x00000002u /* bit 1 always reads 1 */
#define F_PF   0x00000004u
#define F_AF   0x00000010u
#define F_ZF   0x00000040u
#define F_SF   0x00000080u
#define F_TF   0x00000100u
#define F_IF   0x00000200u
#define F_DF   0x00000400u
#define F_OF   0x00000800u
#define F_IOPL 0x00003000u
#define F_NT   0x00004000u
#define F_RF   0x00010000u
#define F_VM   0x00020000u
#define F_AC   0x00040000u
#define F_VIF  0x00080000u
#define F_VIP  0x00100000u
#define F_ID   0x00200000u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* Control register bits. */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u
#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE  0x0008u
#define CR4_PSE 0x0010u
#define CR4_PAE 0x0020u
#define CR4_MCE 0x0040u
#define CR4_PGE 0x0080u
#define CR4_PCE 0x0100u
#define CR4_OSFXSR 0x0200u
#define CR4_OSXMMEXCPT 0x0400u

/* Exception vectors. */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6,
    EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13,
    EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* A segment register's hidden part (descriptor cache). Also used for LDTR and TR.
 * `attr` holds descriptor bits 40-55 shifted down: bits 0-7 the access byte
 * (type, S, DPL, P), bits 12-15 AVL, L, D/B, G. `limit` is the byte-granular
 * limit (already scaled by G).
 * lo/hi are the valid offset range derived from limit and the expand-down bit,
 * and rd/wr say whether data reads/writes are allowed at all; the fast memory
 * paths only test these (see seg_cache_refresh in cpu/segment.h). */
struct seg_cache {
    uint16_t sel;
    uint16_t attr;
    uint32_t base;
    uint32_t limit;
    uint32_t lo, hi;
    bool rd, wr;
};
#define SEG_ATTR_TYPE(a) ((a) & 0xf)
#define SEG_ATTR_S    0x0010u
#define SEG_ATTR_DPL(a) (((a) >> 5) & 3)
#define SEG_ATTR_P    0x0080u
#define SEG_ATTR_AVL  0x1000u
#define SEG_ATTR_DB   0x4000u
#define SEG_ATTR_G    0x8000u

struct dtr { uint32_t base; uint16_t limit; };

/* Model-specific registers bt86 implements. */
struct vcpu_msrs {
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t apic_base;
    uint64_t pat;
    uint64_t misc_enable;
    uint64_t tsc_offset; /* guest TSC = virtual clock + offset */
};

/* Why the run loop left the engine. */
enum vcpu_stop {
    STOP_NONE = 0,
    STOP_EXIT_PORT,   /* guest wrote the debug-exit port */
    STOP_TRIPLE_FAULT,
    STOP_SHUTDOWN,    /* reset / power off requested */
    STOP_HALT_FOREVER,/* HLT with IF=0 and nothing that can wake it */
    STOP_INSN_LIMIT,
    STOP_ERROR,
    STOP_YIELD,       /* -smp round robin: this vCPU is halted, let the others run (frontend/smp_run.c) */
    STOP_FAULT_LOOP,  /* under an instruction limit: CPU_FAULT_LOOP_MAX faults in a row, no instruction retired */
};

/* Pending-request bits in vcpu->req, polled by the run loop between instructions. */
#define REQ_BLOCK_END 0x1u /* stop the current decoded block (mode or code changed) */
#define REQ_STOP      0x2u /* leave the run loop: see vcpu->stop */
#define REQ_EXCL      0x4u /* pause for another vCPU's exclusive section (cpu/exclusive.h) */

struct vcpu {
    /* --- hot state first: the interpreter and translated code touch these per instruction --- */
    uint32_t r[8];
    uint32_t eip;
    uint32_t next_eip;   /* set before an instruction's handler runs; branches overwrite it */
    uint32_t eflags;     /* all flags, always materialised */
    uint32_t req;        /* REQ_* bits: polled after every instruction */
    uint32_t irq_req;    /* nonzero: an interrupt controller line changed; polled between blocks */
    uint8_t  cpl;
    uint8_t  code32;     /* CS.D: default operand/address size is 32 bits */
    uint8_t  stack32;    /* SS.B: ESP (1) or SP (0) is the stack pointer */
    uint8_t  halted;
    uint8_t  irq_shadow; /* interrupts inhibited for one instruction (after STI, MOV SS, POP SS) */
    uint8_t  mem_view;   /* TLB view for ordinary data accesses: TLB_VIEW_SUP, _USER or _AC (cpu_update_mode) */
    struct seg_cache seg[S_COUNT];
    struct tlb tlb;

    /* --- system state --- */
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    struct dtr gdtr, idtr;
    struct seg_cache ldtr, tr;
    struct vcpu_msrs msr;
    uint64_t icount;     /* guest instructions retired */
    /* Faults raised in a row while icount stayed at fault_row_icount
     * (cpu_run_loop's fault-loop stop, CPU_FAULT_LOOP_MAX; kept across run
     * calls, so that a run in chunks or single steps stops where one run
     * would). */
    uint64_t fault_row_icount;
    uint32_t faults_in_row;
    uint64_t exits[EXIT_COUNT]; /* VMM entries by exit reason */
    uint64_t exceptions[32];    /* exceptions delivered, by vector */

    /* x87/MMX/SSE state in FXSAVE layout (512 bytes, 16-aligned). */
    _Alignas(16) uint8_t fxstate[512];

    /* --- exceptions --- */
    jmp_buf fault_jmp;      /* cpu_fault() longjmps here; set by the run loop */
    uint32_t insn_eip;      /* EIP of the instruction being executed (fault EIP) */
    int      fault_vec;     /* vector being raised */
    uint32_t fault_err;     /* its error code */
    bool     fault_has_err;
    int      delivering;    /* -1, or the vector being delivered (double/triple fault logic) */
    int      fault_chain[4];/* vectors seen in the current delivery chain, for the triple fault diagnostic */
    int      fault_chain_len;
    int      delivering_kind; /* enum int_kind of `delivering` (cpu/interrupt.h): only exceptions count for #DF */

    /* --- how the run ended --- */
    enum vcpu_stop stop;
    int exit_status;        /* process exit status for STOP_EXIT_PORT */

    int index;              /* vCPU number == APIC ID */
    struct machine *m;

    /* The engines' cache of recently run decoded blocks by linear EIP
     * (cpu/interp.c, cpu_find_block). An entry lives as long as both the
     * TLB entry it was found through and its block: a full TLB flush or
     * decode-cache flush empties the cache (jc_all_gen, jc_flush_gen); on a
     * hit, an entry stamped at older TLB/decode-cache generations is checked
     * against what happened since: MOV CR3 drops it unless it was found
     * through a global page, INVLPG if it hits its linear page, a code write
     * if it hits its physical page (pa_page). */
    struct interp_jc_entry {
        uint32_t lin, pa_page;
        uint8_t code32, view, global;
        uint64_t ng_gen, page_gen, drop_gen;
        struct block *b;
    } jcache[JC_ENTRIES];
    uint64_t jc_all_gen, jc_flush_gen;
    /* The interpreter's records of instructions it decodes outside the
     * decode cache (crossing a page end, in MMIO, at the CS limit), reused
     * when the same bytes are fetched again at the same EIP (cpu/interp.c);
     * allocated on first use, freed by vcpu_free. */
    struct uncached_insns *uc;

    /* The binary translator's per-vCPU state (translator/bt.h), created by
     * the first bt_run and freed by bt_vcpu_free; NULL under the interpreter. */
    struct bt_vcpu *bt;
    /* Called (by cpu/machine.c) after the guest wrote [pa, pa+size) on a
     * page holding decoded code and the decode cache dropped its blocks, so
     * an engine can drop what it derived from them; NULL under the interpreter. */
    void (*code_written)(struct vcpu *v, uint32_t pa, unsigned size);
    /* -stats timing and -trace of VMM entries (cpu/vmm_trace.h); NULL when
     * both are off, so vmm_call pays one predictable branch. Owned by
     * whoever set it (frontend/main.c), freed with vmm_obs_free. */
    struct vmm_obs *obs;
    /* -engine trap's state (cpu/trap_engine.h): NULL under the other
     * engines, so its hooks in the interpreter core cost one test. */
    struct trap_state *trap;

    /* --- several vCPUs (-smp; frontend/smp_run.c) --- */
    uint8_t wait_sipi;   /* an AP after INIT: halted, and only INIT or a start-up IPI wakes it */
    uint8_t nmi_blocked; /* an NMI handler runs: the next NMI waits for IRET */
    uint8_t lock_rmw;    /* a LOCKed RMW runs: LOCK_RMW_ATOMIC or _EXCL (cpu/lock_atomic.h) */
    void *smp;           /* the vCPU scheduler's per-vCPU state; NULL with one vCPU */
};

/* 8/16/32-bit GPR access. 8-bit registers use the hardware numbering
 * (0-3 AL CL DL BL, 4-7 AH CH DH BH). */
static inline uint32_t gpr_get(const struct vcpu *v, int reg, int size)
{
    switch (size) {
    case 1: return reg < 4 ? (v->r[reg] & 0xff) : ((v->r[reg - 4] >> 8) & 0xff);
    case 2: return v->r[reg] & 0xffff;
    default: return v->r[reg];
    }
}

static inline void gpr_set(struct vcpu *v, int reg, int size, uint32_t val)
{
    switch (size) {
    case 1:
        if (reg < 4) v->r[reg] = (v->r[reg] & ~0xffu) | (val & 0xff);
        else v->r[reg - 4] = (v->r[reg - 4] & ~0xff00u) | ((val & 0xff) << 8);
        break;
    case 2: v->r[reg] = (v->r[reg] & ~0xffffu) | (val & 0xffff); break;
    default: v->r[reg] = val; break;
    }
}

static inline bool vcpu_protected(const struct vcpu *v) { return (v->cr0 & CR0_PE) != 0; }
static inline bool vcpu_paging(const struct vcpu *v) { return (v->cr0 & (CR0_PG | CR0_PE)) == (CR0_PG | CR0_PE); }
static inline bool vcpu_vm86(const struct vcpu *v) { return (v->eflags & F_VM) != 0; }
static inline int vcpu_iopl(const struct vcpu *v) { return (v->eflags & F_IOPL) >> 12; }

/* Create / destroy. vcpu_reset puts the CPU in its power-on state (real mode, CS:IP F000:FFF0). */
struct vcpu *vcpu_new(struct machine *m, int index);
void vcpu_free(struct vcpu *v);
void vcpu_reset(struct vcpu *v);
/* INIT (SDM 9.1): the power-on state but for the MSRs, x87/SSE state and
 * caches; an AP (index > 0) then waits for a start-up IPI. */
void vcpu_init_ipi(struct vcpu *v);
/* A start-up IPI with vector vec: an AP waiting for it starts in real mode
 * at CS:IP = vec*256:0 (CS base vec*4096); otherwise it is ignored. */
void vcpu_sipi(struct vcpu *v, uint8_t vec);

#endif
