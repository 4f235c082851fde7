/* -engine trap: a model of classic trap-and-emulate virtualization on x86
 * (ring deprivileging with 0->3 ring compression), built on the interpreter
 * to show why it fails on x86 (Popek & Goldberg 1974; Robin & Irvine 2000).
 *
 * While guest code runs, the vCPU holds the "real" (hardware) view: CPL 3,
 * CS/SS with RPL 3, EFLAGS.IF = 1 and IOPL = 0 (the VMM's values), segment
 * descriptors read through a shadow that raises DPL 0-2 to 3, and the VMM's
 * own GDTR/IDTR/LDTR/TR/CR0 behind SGDT/SIDT/SLDT/STR/SMSW. Every
 * instruction runs with its ring-3 meaning. One that faults at CPL 3 is a
 * trap: the VMM switches the vCPU back to the virtual (architected) view -
 * virtual CPL, virtual IF/IOPL - and re-executes it there, which is its
 * emulation; if it faults there too, the guest gets that fault. Interrupts
 * and faults are delivered in the virtual view (the VMM reflects them).
 * See docs/POPEK-GOLDBERG.md. */
#ifndef BT86_CPU_TRAP_ENGINE_H
#define BT86_CPU_TRAP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "cpu/vcpu.h"

/* The VMM's own state, which the deprivileged guest sees through the
 * unprivileged "store" instructions. The VMM lives in the top 4 MiB of the
 * linear address space, as VMware's classic VMM did; its private GDT slots
 * (shadow LDT, its TSS) sit at the end of a 512-entry GDT. */
#define TRAP_VMM_IDT_BASE  0xffc00000u
#define TRAP_VMM_IDT_LIMIT 0x07ffu
#define TRAP_VMM_GDT_BASE  0xffc01000u
#define TRAP_VMM_GDT_LIMIT 0x0fffu
#define TRAP_VMM_LDT_SEL   0x0ff0u  /* the shadow LDT, when the guest has an LDT */
#define TRAP_VMM_TSS_SEL   0x0ff8u
/* PE MP TS ET NE WP PG: paging always on, TS set for lazy FPU switching. */
#define TRAP_VMM_CR0       0x8001003bu

struct trap_state {
    bool deprived;      /* the vCPU holds the real view (guest code running at CPL 3) */
    bool emulating;     /* the VMM is re-executing a trapped instruction */
    uint8_t vcpl;       /* virtual CPL while deprived */
    uint32_t vflags;    /* virtual IF and IOPL while deprived */
    uint16_t vsel[2];   /* virtual CS and SS selectors while deprived ... */
    uint16_t rsel[2];   /* ... and the real ones (RPL 3) they were replaced with */
    /* Statistics (-stats). */
    uint64_t traps;            /* faults taken at real CPL 3 */
    uint64_t emulated;         /* ... that re-executed cleanly at virtual privilege */
    uint64_t reflected;        /* ... that faulted there too: delivered to the guest */
    uint64_t by_vector[32];    /* traps by the vector raised at CPL 3 */
};

static inline bool trap_deprived(const struct vcpu *v)
{
    return __builtin_expect(v->trap != NULL, 0) && v->trap->deprived;
}

/* Run v under the trap engine (creates v->trap on first use); like cpu_run. */
enum vcpu_stop trap_engine_run(struct vcpu *v, uint64_t max_insns);

/* The -stats section: traps taken, emulated, reflected, by vector. */
void trap_stats_print(FILE *f, const struct vcpu *v);

/* Switch between the views. Exposed for tests; the engine calls them around
 * each stretch of guest code and on each trap. No-ops when already there,
 * and deprivileging is a no-op in real and VM86 mode (run as they are). */
void trap_deprivilege(struct vcpu *v);
void trap_privilege(struct vcpu *v);

/* Hooks called from the interpreter core when v->trap is set. */
/* The run loop, with a raised fault before delivering it: true when it was
 * a trap the VMM emulated (nothing to deliver); false: deliver v->fault_vec. */
bool trap_fault(struct vcpu *v);
/* cpu_update_mode: a deprivileged guest kernel keeps the supervisor memory
 * view (the VMM's shadow page tables map its pages user-accessible). */
void trap_update_mode(struct vcpu *v);
/* desc_read: the shadow GDT/LDT: code/data descriptors with DPL < 3 read as
 * DPL 3, accessed bit set (so hardware never writes the shadow back). */
void trap_shadow_desc(const struct vcpu *v, uint32_t *hi);
/* The descriptor-table registers and CR0 the hardware holds (the VMM's). */
const struct dtr *trap_real_gdtr(const struct vcpu *v);
const struct dtr *trap_real_idtr(const struct vcpu *v);
uint32_t trap_real_ldtr(const struct vcpu *v);
uint32_t trap_real_tr(const struct vcpu *v);
uint32_t trap_real_cr0(const struct vcpu *v);
/* INT n / INT3 / INTO / INT1 from deprivileged code: the real IDT is the
 * VMM's (every gate DPL 0), so they go to the VMM. Returns only for INTO
 * with OF clear (no event). */
void trap_int_sw(struct vcpu *v, uint32_t kind);
/* Anything else that hands control to the VMM at CPL 3 (SYSENTER, I/O
 * without a real I/O bitmap): raised as #GP(0), which the VMM emulates. */
_Noreturn void trap_to_vmm(struct vcpu *v);

/* Whether the fetch view is the supervisor one although CPL is 3. */
static inline bool trap_kernel_view(const struct vcpu *v)
{
    return __builtin_expect(v->trap != NULL, 0) && v->trap->deprived && v->trap->vcpl != 3;
}

#endif
