/* bt86's own compact instruction record. Capstone decodes each guest instruction
 * once (cpu/decode.c); the record keeps only what execution needs, normalised
 * (operand sizes fixed, default segments resolved, relative targets made
 * relative). The interpreter runs records; the translator emits code for them. */
#ifndef BT86_CPU_INSN_H
#define BT86_CPU_INSN_H

#include <stdint.h>

struct vcpu;
struct insn;
typedef void (*insn_exec_fn)(struct vcpu *v, const struct insn *in);

enum opnd_kind { OPND_NONE = 0, OPND_REG, OPND_IMM, OPND_MEM };
/* Register classes for OPND_REG; `reg` is the hardware number within the class.
 * RC_GPR with size 1 uses 0-3 AL CL DL BL, 4-7 AH CH DH BH. */
enum reg_class { RC_GPR = 0, RC_SEG, RC_CR, RC_DR, RC_ST, RC_MM, RC_XMM };
#define REG_NONE 0xff

struct opnd {
    uint8_t kind;   /* enum opnd_kind */
    uint8_t size;   /* bytes: 1, 2, 4, 6 (far pointer / dtr), 8, 10, 16, ... */
    uint8_t rclass; /* OPND_REG: enum reg_class */
    uint8_t reg;    /* OPND_REG: register number */
    uint8_t seg;    /* OPND_MEM: effective segment S_ES..S_GS (override or default) */
    uint8_t base;   /* OPND_MEM: GPR number or REG_NONE */
    uint8_t index;  /* OPND_MEM: GPR number or REG_NONE */
    uint8_t scale;  /* OPND_MEM: shift count 0-3 */
    uint32_t disp;  /* OPND_MEM: displacement; OPND_IMM: the value, sign- or zero-
                       extended to the operand size exactly as the CPU does.
                       Relative branch targets: the displacement from the next
                       instruction (next_eip + disp, masked to the operand size). */
};

/* insn.prefix bits */
#define PFX_REP    0x01 /* F3: REP / REPE / REPZ */
#define PFX_REPNE  0x02 /* F2: REPNE / REPNZ */
#define PFX_LOCK   0x04
#define PFX_SEG    0x08 /* a segment override was present */
#define PFX_OPSIZE 0x10 /* 66 was present */
#define PFX_ADSIZE 0x20 /* 67 was present */

/* insn.flags bits */
#define IF_ENDS_BLOCK 0x01 /* control transfer or mode change: the block ends after it */
#define IF_SENSITIVE  0x02 /* privileged or sensitive: handled by the VMM */
#define IF_REL_BRANCH 0x04 /* op[0] is a relative branch target */

struct insn {
    insn_exec_fn exec;  /* interpreter handler, from the exec table by id */
    uint16_t id;        /* Capstone X86_INS_* */
    uint8_t len;        /* bytes, 1-15 */
    uint8_t opsize;     /* operand-size attribute: 2 or 4 */
    uint8_t addrsize;   /* address-size attribute: 2 or 4 */
    uint8_t prefix;     /* PFX_* */
    uint8_t flags;      /* IF_* */
    uint8_t nopnd;
    uint8_t opc;        /* last opcode byte (after 0F / 0F 38 / 0F 3A escapes) */
    uint8_t opc_map;    /* 0 one-byte, 1 0F, 2 0F38, 3 0F3A */
    uint8_t modrm;      /* ModRM byte, or 0 */
    uint8_t pad;
    struct opnd op[3];
};

/* The element size of a string instruction (MOVS CMPS STOS LODS SCAS) from
 * the opcode as the CPU sees it: even opcodes (A4 A6 AA AC AE) are byte
 * forms, odd ones use the operand size. (Capstone names 66 F3 AB "stosd",
 * so the id is not reliable.) */
static inline unsigned insn_string_elem_size(const struct insn *in)
{
    return (in->opc & 1) ? in->opsize : 1;
}

#endif
