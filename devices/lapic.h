/* The local APIC of one vCPU (Intel SDM vol. 3 ch. 10, xAPIC in MMIO mode):
 * ID, version, TPR/APR/PPR, EOI, LDR/DFR, SVR, ISR/TMR/IRR, ESR, ICR, the six
 * LVT entries, and the timer (one-shot and periodic; no TSC-deadline mode).
 *
 * It is a value: one struct lapic per vCPU, no globals, so several vCPUs with
 * IPIs route through the board (lapic_route, lapic_route_ipi). The board maps
 * the 4 KiB window at LAPIC_BASE_DEFAULT to the accessing vCPU's lapic.
 *
 * Timer clock: the APIC bus runs at 1 GHz (LAPIC_BUS_HZ), so one bus clock
 * is one virtual nanosecond of devices/vclock.h and the timer counts one tick
 * every 2^k ns for divide value 2^k. The TSC and the PIT are derived from the
 * same virtual nanoseconds, which keeps the three consistent.
 *
 * Interrupt flow: sources put vectors in the IRR (lapic_set_irq for fixed
 * interrupts, lapic_deliver for any delivery mode); the board asks
 * lapic_has_interrupt when the vCPU can take one and lapic_ack at the INTA
 * cycle (IRR -> ISR); EOI clears the highest ISR bit and, for a
 * level-triggered vector (TMR), tells the I/O APIC through the eoi callback.
 * PIC interrupts do not pass through here: when lapic_accepts_pic is true
 * (APIC hardware-disabled, or LINT0 unmasked in ExtINT mode — virtual-wire
 * mode) the board takes the 8259's INTR straight to the CPU.
 *
 * The struct must not move after lapic_init (its timer is registered with the
 * clock by address) and must live as long as the clock. */
#ifndef BT86_DEVICES_LAPIC_H
#define BT86_DEVICES_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/vclock.h"

struct mmio_region;

#define LAPIC_BASE_DEFAULT 0xfee00000u
#define LAPIC_MMIO_SIZE    0x1000u
#define LAPIC_BUS_HZ       1000000000ull  /* 1 GHz: one bus clock per virtual ns */
#define LAPIC_VERSION      0x00050014u    /* version 0x14, max LVT entry 5 (six entries) */

/* IA32_APIC_BASE bits. */
#define LAPIC_BASE_BSP    0x100u
#define LAPIC_BASE_ENABLE 0x800u

/* Register offsets in the MMIO window. */
enum {
    LAPIC_REG_ID = 0x20, LAPIC_REG_VERSION = 0x30, LAPIC_REG_TPR = 0x80, LAPIC_REG_APR = 0x90,
    LAPIC_REG_PPR = 0xa0, LAPIC_REG_EOI = 0xb0, LAPIC_REG_RRD = 0xc0, LAPIC_REG_LDR = 0xd0,
    LAPIC_REG_DFR = 0xe0, LAPIC_REG_SVR = 0xf0, LAPIC_REG_ISR = 0x100, LAPIC_REG_TMR = 0x180,
    LAPIC_REG_IRR = 0x200, LAPIC_REG_ESR = 0x280, LAPIC_REG_ICR_LO = 0x300, LAPIC_REG_ICR_HI = 0x310,
    LAPIC_REG_LVT_TIMER = 0x320, LAPIC_REG_LVT_THERMAL = 0x330, LAPIC_REG_LVT_PERF = 0x340,
    LAPIC_REG_LVT_LINT0 = 0x350, LAPIC_REG_LVT_LINT1 = 0x360, LAPIC_REG_LVT_ERROR = 0x370,
    LAPIC_REG_TIMER_ICR = 0x380, LAPIC_REG_TIMER_CCR = 0x390, LAPIC_REG_TIMER_DCR = 0x3e0,
};

/* LVT entries, in register order (index = (offset - 0x320) / 16). */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LAPIC_NLVT };

/* Delivery modes (LVT, ICR and I/O APIC redirection entries, bits 8-10). */
enum {
    APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4,
    APIC_DM_INIT = 5, APIC_DM_STARTUP = 6, APIC_DM_EXTINT = 7,
};

#define APIC_LVT_MASKED   0x10000u
#define APIC_LVT_LEVEL    0x08000u  /* trigger mode: level */
#define APIC_LVT_REMOTE_IRR 0x04000u
#define APIC_LVT_PERIODIC 0x20000u  /* timer mode bit 17 */
#define APIC_SVR_ENABLE   0x100u

/* ESR bits. */
#define APIC_ESR_SEND_ILLEGAL_VECTOR 0x20u
#define APIC_ESR_RECV_ILLEGAL_VECTOR 0x40u
#define APIC_ESR_ILLEGAL_ADDRESS     0x80u

struct lapic {
    uint32_t id;              /* APIC ID (0-255); the ID register holds it in bits 24-31 */
    uint64_t base_msr;        /* IA32_APIC_BASE as last set by lapic_set_base_msr */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t esr;             /* value the guest reads (latched by an ESR write) */
    uint32_t esr_pending;     /* errors collected since the last ESR write */
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t lvt[LAPIC_NLVT];
    uint32_t icr_lo, icr_hi;
    uint32_t timer_initial;   /* initial count register */
    uint32_t timer_dcr;       /* divide configuration register (bits 0, 1, 3) */
    bool     timer_running;   /* counting (a one-shot stops at 0) */
    uint64_t timer_start_ns;  /* virtual time of tick 0 of the current count */
    uint64_t timer_base;      /* count at timer_start_ns: the first expiry is at this tick */
    struct vtimer timer;
    struct vclock *clock;
    bool lint_level[2];       /* LINT0/LINT1 input levels, for edge detection */
    bool nmi_pending;         /* an NMI was delivered (LVT NMI mode or an NMI IPI) */
    bool init_pending;        /* an INIT was delivered; the board resets the vCPU */
    bool sipi_pending;        /* a start-up IPI arrived: sipi_vector is valid */
    uint8_t sipi_vector;
    /* Board callbacks, all with the same opaque (typically the vCPU). */
    void (*kick)(void *opaque);           /* what lapic_has_interrupt returns may have changed */
    void (*send_ipi)(void *opaque, uint32_t icr_lo, uint32_t icr_hi); /* route an IPI (not self-only) */
    void (*eoi)(void *opaque, int vector); /* EOI of a level-triggered vector: broadcast to I/O APICs */
    void *opaque;
    /* Lost periodic ticks given back (-smp with a host thread per vCPU,
     * set by the board): a periodic expiry that finds the previous one not
     * yet accepted, or that comes several periods late because the vCPU's
     * thread was not running, is counted in timer_backlog (at most
     * LAPIC_TIMER_BACKLOG_MAX) and delivered again as each timer interrupt
     * is accepted, so a guest counting ticks (Linux's jiffies) keeps up with
     * the clock, as QEMU's lost_tick_policy=delay does for its PIT. */
    bool     reinject_ticks;
    uint32_t timer_backlog;
    uint64_t timer_due_ns;    /* the armed expiry's virtual time (timer_schedule) */
    /* Statistics. */
    uint64_t timer_fires, acks, eois, ipis_sent, ticks_reinjected;
};
#define LAPIC_TIMER_BACKLOG_MAX 1000u

/* Power-up state for APIC `apic_id`; registers the timer with `clock` (NULL:
 * the timer never fires). APIC 0 is the bootstrap processor and starts as a
 * BIOS would leave it: LINT0 ExtINT and LINT1 NMI unmasked (virtual wire),
 * so a PIC-only guest sees its interrupts. The APIC starts hardware-enabled at
 * LAPIC_BASE_DEFAULT and software-disabled (SVR 0xff). Returns 0, or -1 if the
 * clock has no free timer slot. */
int  lapic_init(struct lapic *l, struct vclock *clock, int apic_id, void (*kick)(void *opaque), void *opaque);
void lapic_set_callbacks(struct lapic *l, void (*send_ipi)(void *, uint32_t, uint32_t),
                         void (*eoi)(void *, int));
/* Back to the power-up register state, keeping the ID and the base MSR (INIT). */
void lapic_reset(struct lapic *l);

/* IA32_APIC_BASE was written (call from WRMSR and at vCPU reset). Clearing
 * the enable bit (11) disables the APIC: it is reset, accepts nothing, and the
 * PIC passes straight through. The base address is only recorded: moving the
 * window is the board's business. */
void lapic_set_base_msr(struct lapic *l, uint64_t val);
static inline bool lapic_hw_enabled(const struct lapic *l) { return (l->base_msr & LAPIC_BASE_ENABLE) != 0; }
static inline bool lapic_sw_enabled(const struct lapic *l) { return (l->svr & APIC_SVR_ENABLE) != 0; }

/* MMIO access to the 4 KiB window (offset 0-0xfff). Any size or alignment is
 * accepted and treated as an access to the containing 32-bit register;
 * reserved offsets read 0, ignore writes and set ESR bit 7. While the APIC is
 * hardware-disabled, reads return all ones and writes are dropped. */
uint32_t lapic_mmio_read(struct lapic *l, uint32_t offset, int size);
void     lapic_mmio_write(struct lapic *l, uint32_t offset, uint32_t val, int size);
/* An MMIO region at LAPIC_BASE_DEFAULT whose callbacks go to this lapic
 * (enough for one vCPU; with several, the board dispatches by vCPU). */
void lapic_region(struct lapic *l, struct mmio_region *r);

/* The highest-priority vector in the IRR that may interrupt now (above the
 * PPR's class, APIC hardware- and software-enabled), or -1. */
int  lapic_has_interrupt(const struct lapic *l);
/* INTA: move that vector from IRR to ISR and return it; the spurious vector
 * (SVR bits 0-7) if nothing is deliverable any more. */
int  lapic_ack(struct lapic *l);
/* A fixed interrupt arrives (I/O APIC, IPI, LVT): set IRR (and TMR for
 * level). Vectors 0-15 are refused with ESR "receive illegal vector". */
void lapic_set_irq(struct lapic *l, int vector, bool level_trigger);
/* A message with any delivery mode arrives: fixed and lowest priority go to
 * the IRR; NMI, INIT and start-up set the pending flags; SMI and ExtINT are
 * ignored (ExtINT is the board's PIC path). */
void lapic_deliver(struct lapic *l, int delivery_mode, int vector, bool level_trigger);
/* Does this APIC match the destination (physical: ID or 0xff broadcast;
 * logical: LDR against dest in the DFR's flat or cluster model)? */
bool lapic_match_dest(const struct lapic *l, uint8_t dest, bool logical);
/* Virtual wire: should the 8259's INTR go straight to this CPU? */
bool lapic_accepts_pic(const struct lapic *l);
/* Drive the LINT0 (pin 0) or LINT1 (pin 1) input. Acts per its LVT entry:
 * fixed (edge: on a rising edge; level: while high, remote IRR until EOI),
 * NMI (rising edge). ExtINT is the board's PIC path and is ignored here. */
void lapic_set_lint(struct lapic *l, int pin, bool level);
/* Take a pending NMI (true once per NMI). */
bool lapic_take_nmi(struct lapic *l);
/* Current-count register value now. */
uint32_t lapic_timer_current(struct lapic *l);
/* Priorities as the APR/PPR registers show them. */
uint32_t lapic_ppr(const struct lapic *l);

/* Board helpers for several vCPUs. `apics[i]` may be NULL.
 * lapic_route delivers an I/O APIC (or MSI) message: dest/dest_mode (0
 * physical, 1 logical) select the targets; lowest priority picks the matching
 * APIC with the lowest TPR class (first on ties). Its signature fits
 * ioapic_init's deliver callback once the board supplies apics/n.
 * lapic_route_ipi routes an ICR write of apics[self] (shorthands included). */
void lapic_route(struct lapic *const *apics, int n, int dest, int dest_mode, int delivery_mode, int vector,
                 bool level_trigger);
void lapic_route_ipi(struct lapic *const *apics, int n, int self, uint32_t icr_lo, uint32_t icr_hi);

#endif
