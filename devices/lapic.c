/* The local APIC (devices/lapic.h). Register semantics from the Intel SDM
 * vol. 3 ch. 10 (xAPIC); reset values and the virtual-wire start state as a
 * PC BIOS leaves them. The timer's current count is a function of virtual
 * time since the count was loaded; one vtimer marks the next expiry. */
#include "devices/lapic.h"

#include <string.h>

#include "memory/phys.h"

/* Writable bits of each register. */
#define TPR_MASK   0x000000ffu
#define LDR_MASK   0xff000000u
#define DFR_MASK   0xf0000000u  /* bits 0-27 read as ones */
#define SVR_MASK   0x000001ffu  /* vector, APIC enable (focus checking and EOI suppression not offered) */
#define ICR_LO_MASK 0x000ccfffu /* vector, mode, dest mode, level, trigger, shorthand; delivery status reads 0 */
#define ICR_HI_MASK 0xff000000u
#define DCR_MASK   0x0000000bu
static const uint32_t lvt_mask[LAPIC_NLVT] = {
    [LVT_TIMER] = 0x000300ffu,  /* vector, mask, periodic (no TSC-deadline) */
    [LVT_THERMAL] = 0x000107ffu, [LVT_PERF] = 0x000107ffu,
    [LVT_LINT0] = 0x0001a7ffu,  [LVT_LINT1] = 0x0001a7ffu, /* + polarity, trigger */
    [LVT_ERROR] = 0x000100ffu,
};

/* ---- bit arrays (IRR, ISR, TMR) ---- */

static int highest(const uint32_t a[8])
{
    for (int i = 7; i >= 0; i--)
        if (a[i]) return i * 32 + 31 - __builtin_clz(a[i]);
    return -1;
}
static void set_bit(uint32_t a[8], int v) { a[v >> 5] |= 1u << (v & 31); }
static void clear_bit(uint32_t a[8], int v) { a[v >> 5] &= ~(1u << (v & 31)); }
static bool test_bit(const uint32_t a[8], int v) { return (a[v >> 5] >> (v & 31)) & 1; }

static void kick(struct lapic *l)
{
    if (l->kick) l->kick(l->opaque);
}

/* ---- priorities ---- */

uint32_t lapic_ppr(const struct lapic *l)
{
    int isrv = highest(l->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    if ((l->tpr & 0xf0) >= isr_class) return l->tpr & 0xff;
    return isr_class;
}

static uint32_t apr(const struct lapic *l)
{
    int irrv = highest(l->irr), isrv = highest(l->isr);
    uint32_t irr_class = irrv < 0 ? 0 : (uint32_t)irrv & 0xf0;
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    uint32_t tpr_class = l->tpr & 0xf0;
    if (tpr_class >= irr_class && tpr_class > isr_class) return l->tpr & 0xff;
    uint32_t m = tpr_class;
    if (isr_class > m) m = isr_class;
    if (irr_class > m) m = irr_class;
    return m;
}

/* ---- errors and acceptance ---- */

/* Record an error in the ESR and signal it through the LVT error entry. */
static void raise_error(struct lapic *l, uint32_t bits)
{
    l->esr_pending |= bits;
    uint32_t e = l->lvt[LVT_ERROR];
    if (e & APIC_LVT_MASKED) return;
    int vec = (int)(e & 0xff);
    if (vec < 16) { /* the error vector itself is illegal: note it, do not recurse */
        l->esr_pending |= APIC_ESR_RECV_ILLEGAL_VECTOR;
        return;
    }
    set_bit(l->irr, vec);
    clear_bit(l->tmr, vec);
    kick(l);
}

void lapic_set_irq(struct lapic *l, int vector, bool level_trigger)
{
    if (!lapic_hw_enabled(l) || vector < 0 || vector > 255) return;
    if (vector < 16) {
        raise_error(l, APIC_ESR_RECV_ILLEGAL_VECTOR);
        return;
    }
    set_bit(l->irr, vector);
    if (level_trigger) set_bit(l->tmr, vector);
    else clear_bit(l->tmr, vector);
    kick(l);
}

int lapic_has_interrupt(const struct lapic *l)
{
    if (!lapic_hw_enabled(l) || !lapic_sw_enabled(l)) return -1;
    int v = highest(l->irr);
    if (v < 0) return -1;
    if (((uint32_t)v & 0xf0) <= (lapic_ppr(l) & 0xf0)) return -1;
    return v;
}

int lapic_ack(struct lapic *l)
{
    int v = lapic_has_interrupt(l);
    if (v < 0) return (int)(l->svr & 0xff);
    clear_bit(l->irr, v);
    set_bit(l->isr, v);
    l->acks++;
    if (l->timer_backlog && v == (int)(l->lvt[LVT_TIMER] & 0xff)) {
        /* A lost tick: pending again, taken after this one's EOI. */
        l->timer_backlog--;
        l->ticks_reinjected++;
        set_bit(l->irr, v);
    }
    return v;
}

/* ---- LINT0 / LINT1 inputs ---- */

static void lint_service(struct lapic *l, int pin, bool rising)
{
    uint32_t *e = &l->lvt[LVT_LINT0 + pin];
    if (*e & APIC_LVT_MASKED) return;
    int vec = (int)(*e & 0xff);
    switch ((*e >> 8) & 7) {
    case APIC_DM_FIXED:
        if (*e & APIC_LVT_LEVEL) {
            /* Level: delivered while high, once per EOI (remote IRR). */
            if (l->lint_level[pin] && !(*e & APIC_LVT_REMOTE_IRR)) {
                *e |= APIC_LVT_REMOTE_IRR;
                lapic_set_irq(l, vec, true);
            }
        } else if (rising) {
            lapic_set_irq(l, vec, false);
        }
        break;
    case APIC_DM_NMI: /* NMI is always edge-sensitive */
        if (rising) {
            l->nmi_pending = true;
            kick(l);
        }
        break;
    default: /* ExtINT: the board's PIC path; SMI, INIT: not modelled on LINT */
        break;
    }
}

void lapic_set_lint(struct lapic *l, int pin, bool level)
{
    if (pin < 0 || pin > 1) return;
    bool was = l->lint_level[pin];
    l->lint_level[pin] = level;
    if (!lapic_hw_enabled(l)) return;
    lint_service(l, pin, level && !was);
}

bool lapic_take_nmi(struct lapic *l)
{
    bool p = l->nmi_pending;
    l->nmi_pending = false;
    return p;
}

bool lapic_accepts_pic(const struct lapic *l)
{
    if (!lapic_hw_enabled(l)) return true;
    uint32_t e = l->lvt[LVT_LINT0];
    return !(e & APIC_LVT_MASKED) && ((e >> 8) & 7) == APIC_DM_EXTINT;
}

/* ---- EOI ---- */

static void eoi(struct lapic *l)
{
    int v = highest(l->isr);
    if (v < 0) return;
    clear_bit(l->isr, v);
    l->eois++;
    /* A level-triggered LINT input waits for this EOI (its remote IRR). */
    for (int pin = 0; pin < 2; pin++) {
        uint32_t *e = &l->lvt[LVT_LINT0 + pin];
        if ((*e & APIC_LVT_REMOTE_IRR) && (int)(*e & 0xff) == v) {
            *e &= ~APIC_LVT_REMOTE_IRR;
            lint_service(l, pin, false);
        }
    }
    kick(l);
    if (test_bit(l->tmr, v) && l->eoi) l->eoi(l->opaque, v);
}

/* ---- timer ---- */

static uint64_t now_ns(const struct lapic *l) { return l->clock ? vclock_now(l->clock) : 0; }

/* log2 of the divisor: DCR bits 3,1,0 = 000 -> 2 ... 110 -> 128, 111 -> 1. */
static unsigned timer_shift(uint32_t dcr)
{
    unsigned n = ((dcr >> 1) & 4) | (dcr & 3);
    return (n + 1) & 7;
}

static bool timer_periodic(const struct lapic *l) { return (l->lvt[LVT_TIMER] & APIC_LVT_PERIODIC) != 0; }

static uint64_t ticks_at(const struct lapic *l, uint64_t now)
{
    if (now <= l->timer_start_ns) return 0;
    return (now - l->timer_start_ns) >> timer_shift(l->timer_dcr);
}

/* Count register at tick t of the current count. */
static uint32_t count_at(const struct lapic *l, uint64_t t)
{
    if (!l->timer_running) return 0;
    if (t < l->timer_base) return (uint32_t)(l->timer_base - t);
    if (!timer_periodic(l)) return 0;
    /* Periodic: reloaded with the initial count each time it reaches 0, so
     * the interrupt period is exactly `initial` ticks. */
    return l->timer_initial - (uint32_t)((t - l->timer_base) % l->timer_initial);
}

uint32_t lapic_timer_current(struct lapic *l)
{
    return count_at(l, ticks_at(l, now_ns(l)));
}

/* Arm the vtimer for the first expiry after tick t (or the one due now). */
static void timer_schedule(struct lapic *l, uint64_t t)
{
    if (!l->timer_running || !l->clock) {
        vtimer_disarm(&l->timer);
        return;
    }
    uint64_t T = l->timer_base;
    if (t >= T && timer_periodic(l)) T += ((t - T) / l->timer_initial + 1) * l->timer_initial;
    l->timer_due_ns = l->timer_start_ns + (T << timer_shift(l->timer_dcr));
    vtimer_arm(&l->timer, l->timer_due_ns);
}

static void timer_fire(void *opaque, uint64_t now)
{
    struct lapic *l = opaque;
    if (!l->timer_running) return;
    l->timer_fires++;
    uint32_t e = l->lvt[LVT_TIMER];
    if (timer_periodic(l) && l->reinject_ticks && !(e & APIC_LVT_MASKED)) {
        /* Expiries this one stands for beyond the first (the vtimer ran
         * late), and a previous tick still waiting to be accepted. */
        uint64_t due = l->timer_due_ns;
        uint64_t period_ns = (uint64_t)l->timer_initial << timer_shift(l->timer_dcr);
        uint64_t lost = period_ns && now > due ? (now - due) / period_ns : 0;
        if (test_bit(l->irr, (int)(e & 0xff))) lost++;
        l->timer_backlog = (uint32_t)(l->timer_backlog + lost > LAPIC_TIMER_BACKLOG_MAX
                                          ? LAPIC_TIMER_BACKLOG_MAX : l->timer_backlog + lost);
    }
    if (!(e & APIC_LVT_MASKED)) lapic_set_irq(l, (int)(e & 0xff), false);
    if (timer_periodic(l)) {
        /* Periods missed while the host was busy are coalesced into this
         * one (and given back later with reinject_ticks). */
        timer_schedule(l, ticks_at(l, now));
    } else {
        l->timer_running = false;
        vtimer_disarm(&l->timer);
    }
}

/* Deliver an expiry that is due but not yet run by the clock, so that a
 * register change cannot lose it. */
static void timer_catch_up(struct lapic *l)
{
    uint64_t now = now_ns(l);
    if (l->timer.deadline <= now) {
        vtimer_disarm(&l->timer);
        timer_fire(l, now);
    }
}

/* Restart the count from the last tick boundary with the current count as
 * its base, before the divider or the mode changes. */
static void timer_rebase(struct lapic *l)
{
    if (!l->timer_running) return;
    uint64_t t = ticks_at(l, now_ns(l));
    uint32_t c = count_at(l, t);
    l->timer_start_ns += t << timer_shift(l->timer_dcr);
    l->timer_base = c;
}

static void write_timer_initial(struct lapic *l, uint32_t val)
{
    timer_catch_up(l);
    l->timer_initial = val;
    l->timer_running = val != 0;
    l->timer_start_ns = now_ns(l);
    l->timer_base = val;
    timer_schedule(l, 0);
}

static void write_timer_dcr(struct lapic *l, uint32_t val)
{
    timer_catch_up(l);
    timer_rebase(l);
    l->timer_dcr = val & DCR_MASK;
    timer_schedule(l, 0);
}

/* ---- register writes with side effects ---- */

static void write_lvt(struct lapic *l, int idx, uint32_t val)
{
    uint32_t v = val & lvt_mask[idx];
    if (!lapic_sw_enabled(l)) v |= APIC_LVT_MASKED; /* masks stick while software-disabled */
    if (idx == LVT_LINT0 || idx == LVT_LINT1) v |= l->lvt[idx] & APIC_LVT_REMOTE_IRR;
    if (idx == LVT_TIMER) {
        timer_catch_up(l);
        if ((v ^ l->lvt[idx]) & APIC_LVT_PERIODIC) {
            timer_rebase(l);
            l->lvt[idx] = v;
            timer_schedule(l, 0);
        }
    }
    l->lvt[idx] = v;
    if (idx == LVT_LINT0 || idx == LVT_LINT1) {
        if (!(v & APIC_LVT_LEVEL)) l->lvt[idx] &= ~APIC_LVT_REMOTE_IRR;
        lint_service(l, idx - LVT_LINT0, false); /* an unmasked level input that is high */
    }
    kick(l); /* LINT0 may have changed lapic_accepts_pic */
}

static void write_svr(struct lapic *l, uint32_t val)
{
    l->svr = val & SVR_MASK;
    if (!lapic_sw_enabled(l))
        for (int i = 0; i < LAPIC_NLVT; i++) l->lvt[i] |= APIC_LVT_MASKED;
    kick(l);
}

static void send_icr(struct lapic *l)
{
    uint32_t lo = l->icr_lo;
    int dm = (int)(lo >> 8) & 7, vec = (int)(lo & 0xff);
    if ((dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST) && vec < 16) {
        raise_error(l, APIC_ESR_SEND_ILLEGAL_VECTOR);
        return;
    }
    l->ipis_sent++;
    if (((lo >> 18) & 3) == 1) { /* self */
        lapic_deliver(l, dm, vec, false);
        return;
    }
    if (l->send_ipi) {
        l->send_ipi(l->opaque, lo, l->icr_hi);
    } else {
        /* No board routing: a machine of one CPU. */
        struct lapic *self = l;
        lapic_route_ipi(&self, 1, 0, lo, l->icr_hi);
    }
}

/* ---- register file ---- */

static bool read_reg(struct lapic *l, uint32_t reg, uint32_t *out)
{
    uint32_t v;
    if (reg >= LAPIC_REG_ISR && reg < LAPIC_REG_ESR) {
        unsigned i = (reg >> 4) & 7;
        v = reg < LAPIC_REG_TMR ? l->isr[i] : reg < LAPIC_REG_IRR ? l->tmr[i] : l->irr[i];
    } else if (reg >= LAPIC_REG_LVT_TIMER && reg <= LAPIC_REG_LVT_ERROR) {
        v = l->lvt[(reg - LAPIC_REG_LVT_TIMER) >> 4];
    } else {
        switch (reg) {
        case LAPIC_REG_ID: v = l->id << 24; break;
        case LAPIC_REG_VERSION: v = LAPIC_VERSION; break;
        case LAPIC_REG_TPR: v = l->tpr; break;
        case LAPIC_REG_APR: v = apr(l); break;
        case LAPIC_REG_PPR: v = lapic_ppr(l); break;
        case LAPIC_REG_EOI: v = 0; break;   /* write-only */
        case LAPIC_REG_RRD: v = 0; break;   /* remote read: never valid */
        case LAPIC_REG_LDR: v = l->ldr; break;
        case LAPIC_REG_DFR: v = l->dfr; break;
        case LAPIC_REG_SVR: v = l->svr; break;
        case LAPIC_REG_ESR: v = l->esr; break;
        case LAPIC_REG_ICR_LO: v = l->icr_lo; break; /* delivery status: always idle */
        case LAPIC_REG_ICR_HI: v = l->icr_hi; break;
        case LAPIC_REG_TIMER_ICR: v = l->timer_initial; break;
        case LAPIC_REG_TIMER_CCR: v = lapic_timer_current(l); break;
        case LAPIC_REG_TIMER_DCR: v = l->timer_dcr; break;
        default: return false;
        }
    }
    *out = v;
    return true;
}

static bool write_reg(struct lapic *l, uint32_t reg, uint32_t val)
{
    if (reg >= LAPIC_REG_ISR && reg < LAPIC_REG_ESR) return true; /* ISR/TMR/IRR are read-only */
    if (reg >= LAPIC_REG_LVT_TIMER && reg <= LAPIC_REG_LVT_ERROR) {
        write_lvt(l, (int)((reg - LAPIC_REG_LVT_TIMER) >> 4), val);
        return true;
    }
    switch (reg) {
    case LAPIC_REG_ID: l->id = val >> 24; break;
    case LAPIC_REG_VERSION: case LAPIC_REG_APR: case LAPIC_REG_PPR: case LAPIC_REG_RRD:
    case LAPIC_REG_TIMER_CCR:
        break; /* read-only */
    case LAPIC_REG_TPR: l->tpr = val & TPR_MASK; kick(l); break;
    case LAPIC_REG_EOI: eoi(l); break;
    case LAPIC_REG_LDR: l->ldr = val & LDR_MASK; break;
    case LAPIC_REG_DFR: l->dfr = (val & DFR_MASK) | ~DFR_MASK; break;
    case LAPIC_REG_SVR: write_svr(l, val); break;
    case LAPIC_REG_ESR: /* a write latches the errors collected so far and clears them */
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case LAPIC_REG_ICR_LO: l->icr_lo = val & ICR_LO_MASK; send_icr(l); break;
    case LAPIC_REG_ICR_HI: l->icr_hi = val & ICR_HI_MASK; break;
    case LAPIC_REG_TIMER_ICR: write_timer_initial(l, val); break;
    case LAPIC_REG_TIMER_DCR: write_timer_dcr(l, val); break;
    default: return false;
    }
    return true;
}

static uint32_t size_mask(int size)
{
    return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu;
}

uint32_t lapic_mmio_read(struct lapic *l, uint32_t offset, int size)
{
    if (!lapic_hw_enabled(l)) return size_mask(size);
    offset &= LAPIC_MMIO_SIZE - 1;
    unsigned sub = offset & 0xf;
    if (sub >= 4) return 0; /* the unused bytes of a 16-byte slot */
    uint32_t v;
    if (!read_reg(l, offset & ~0xfu, &v)) {
        raise_error(l, APIC_ESR_ILLEGAL_ADDRESS);
        return 0;
    }
    return (v >> (8 * sub)) & size_mask(size);
}

void lapic_mmio_write(struct lapic *l, uint32_t offset, uint32_t val, int size)
{
    if (!lapic_hw_enabled(l)) return;
    offset &= LAPIC_MMIO_SIZE - 1;
    unsigned sub = offset & 0xf;
    if (sub >= 4) return;
    /* A narrow or misaligned write is taken as a write of the whole register. */
    uint32_t v = (val & size_mask(size)) << (8 * sub);
    if (!write_reg(l, offset & ~0xfu, v)) raise_error(l, APIC_ESR_ILLEGAL_ADDRESS);
}

static uint32_t region_read(void *opaque, uint32_t offset, int size) { return lapic_mmio_read(opaque, offset, size); }
static void region_write(void *opaque, uint32_t offset, uint32_t val, int size)
{
    lapic_mmio_write(opaque, offset, val, size);
}

void lapic_region(struct lapic *l, struct mmio_region *r)
{
    *r = (struct mmio_region){
        .base = LAPIC_BASE_DEFAULT, .size = LAPIC_MMIO_SIZE,
        .read = region_read, .write = region_write, .opaque = l, .name = "lapic",
    };
}

/* ---- life cycle ---- */

void lapic_reset(struct lapic *l)
{
    l->tpr = 0;
    l->ldr = 0;
    l->dfr = 0xffffffffu;
    l->svr = 0xff;
    l->esr = l->esr_pending = 0;
    memset(l->irr, 0, sizeof(l->irr));
    memset(l->isr, 0, sizeof(l->isr));
    memset(l->tmr, 0, sizeof(l->tmr));
    for (int i = 0; i < LAPIC_NLVT; i++) l->lvt[i] = APIC_LVT_MASKED;
    l->icr_lo = l->icr_hi = 0;
    l->timer_initial = 0;
    l->timer_dcr = 0;
    l->timer_running = false;
    l->timer_start_ns = 0;
    l->timer_base = 0;
    vtimer_disarm(&l->timer);
    l->nmi_pending = l->init_pending = l->sipi_pending = false;
    l->sipi_vector = 0;
    kick(l);
}

int lapic_init(struct lapic *l, struct vclock *clock, int apic_id, void (*kick_fn)(void *), void *opaque)
{
    memset(l, 0, sizeof(*l));
    l->id = (uint32_t)apic_id & 0xff;
    l->clock = clock;
    l->kick = kick_fn;
    l->opaque = opaque;
    l->base_msr = LAPIC_BASE_DEFAULT | LAPIC_BASE_ENABLE | (apic_id == 0 ? LAPIC_BASE_BSP : 0);
    l->timer.deadline = UINT64_MAX;
    if (clock && vtimer_register(clock, &l->timer, timer_fire, l)) return -1;
    lapic_reset(l);
    if (apic_id == 0) {
        /* What the BIOS leaves on the BSP: the 8259 through LINT0 (virtual
         * wire), NMI on LINT1 (MP spec 3.6.2.2). */
        l->lvt[LVT_LINT0] = (uint32_t)APIC_DM_EXTINT << 8;
        l->lvt[LVT_LINT1] = (uint32_t)APIC_DM_NMI << 8;
    }
    return 0;
}

void lapic_set_callbacks(struct lapic *l, void (*send_ipi)(void *, uint32_t, uint32_t), void (*eoi_fn)(void *, int))
{
    l->send_ipi = send_ipi;
    l->eoi = eoi_fn;
}

void lapic_set_base_msr(struct lapic *l, uint64_t val)
{
    bool was = lapic_hw_enabled(l);
    l->base_msr = val;
    /* Disabling the APIC globally returns it to its power-up state (SDM 10.4.3). */
    if (was && !lapic_hw_enabled(l)) lapic_reset(l);
    kick(l);
}

/* ---- delivery and routing ---- */

void lapic_deliver(struct lapic *l, int delivery_mode, int vector, bool level_trigger)
{
    if (!lapic_hw_enabled(l)) return;
    switch (delivery_mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        lapic_set_irq(l, vector, level_trigger);
        break;
    case APIC_DM_NMI:
        l->nmi_pending = true;
        kick(l);
        break;
    case APIC_DM_INIT:
        /* A start-up IPI before this INIT is void; one after it is kept
         * (both pending means INIT then SIPI: the board applies them in
         * that order). */
        l->init_pending = true;
        l->sipi_pending = false;
        kick(l);
        break;
    case APIC_DM_STARTUP:
        l->sipi_pending = true;
        l->sipi_vector = (uint8_t)vector;
        kick(l);
        break;
    default: /* SMI (no SMM), ExtINT (the board's PIC path), reserved */
        break;
    }
}

bool lapic_match_dest(const struct lapic *l, uint8_t dest, bool logical)
{
    if (!lapic_hw_enabled(l)) return false;
    if (!logical) return dest == 0xff || dest == (l->id & 0xff);
    uint8_t ldr = (uint8_t)(l->ldr >> 24);
    if ((l->dfr >> 28) == 0xf) return (ldr & dest) != 0; /* flat model */
    /* Cluster model: cluster in bits 7-4 (15 = all clusters), members in 3-0. */
    if ((dest >> 4) != 0xf && (dest >> 4) != (ldr >> 4)) return false;
    return (ldr & dest & 0xf) != 0;
}

void lapic_route(struct lapic *const *apics, int n, int dest, int dest_mode, int delivery_mode, int vector,
                 bool level_trigger)
{
    bool logical = dest_mode != 0;
    if (delivery_mode == APIC_DM_LOWEST) {
        struct lapic *best = NULL;
        for (int i = 0; i < n; i++) {
            struct lapic *l = apics[i];
            if (!l || !lapic_match_dest(l, (uint8_t)dest, logical)) continue;
            if (!best || (l->tpr & 0xf0) < (best->tpr & 0xf0)) best = l;
        }
        if (best) lapic_deliver(best, APIC_DM_FIXED, vector, level_trigger);
        return;
    }
    for (int i = 0; i < n; i++)
        if (apics[i] && lapic_match_dest(apics[i], (uint8_t)dest, logical))
            lapic_deliver(apics[i], delivery_mode, vector, level_trigger);
}

void lapic_route_ipi(struct lapic *const *apics, int n, int self, uint32_t icr_lo, uint32_t icr_hi)
{
    int dm = (int)(icr_lo >> 8) & 7, vec = (int)(icr_lo & 0xff);
    /* INIT level de-assert only resynchronises arbitration IDs: nothing to do. */
    if (dm == APIC_DM_INIT && (icr_lo & APIC_LVT_LEVEL) && !(icr_lo & 0x4000u)) return;
    /* An xAPIC sends every IPI edge-triggered, whatever the trigger bit says
     * (SDM table 10-6, note 2), so IPIs never set the TMR. */
    const bool trig = false;
    switch ((icr_lo >> 18) & 3) {
    case 0:
        lapic_route(apics, n, (int)(icr_hi >> 24), (icr_lo >> 11) & 1, dm, vec, trig);
        break;
    case 1:
        if (self >= 0 && self < n && apics[self]) lapic_deliver(apics[self], dm, vec, trig);
        break;
    default: /* 2: all including self, 3: all excluding self */
        for (int i = 0; i < n; i++) {
            if (!apics[i] || (i == self && ((icr_lo >> 18) & 3) == 3)) continue;
            lapic_deliver(apics[i], dm == APIC_DM_LOWEST ? APIC_DM_FIXED : dm, vec, trig);
        }
        break;
    }
}
