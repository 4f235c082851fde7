/* Local APIC: register semantics, interrupt acceptance and priority, EOI,
 * ESR, the timer against a deterministic virtual clock, IPIs and routing. */
#include <criterion/criterion.h>

#include "devices/lapic.h"
#include "memory/phys.h"

static uint64_t fake_icount; /* 1 ns per "instruction": tests move time by setting it */
static struct vclock clk;
static int kicks;
static int eoi_count, eoi_vector;
static int ipi_count;
static uint32_t ipi_lo, ipi_hi;

static void on_kick(void *opaque) { (void)opaque; kicks++; }
static void on_eoi(void *opaque, int vector) { (void)opaque; eoi_count++; eoi_vector = vector; }
static void on_ipi(void *opaque, uint32_t lo, uint32_t hi) { (void)opaque; ipi_count++; ipi_lo = lo; ipi_hi = hi; }

static void setup(struct lapic *l, int id)
{
    fake_icount = 0;
    kicks = eoi_count = ipi_count = 0;
    eoi_vector = -1;
    vclock_init(&clk, true, 0, &fake_icount);
    cr_assert_eq(lapic_init(l, &clk, id, on_kick, NULL), 0);
    lapic_set_callbacks(l, on_ipi, on_eoi);
}

static uint32_t rd(struct lapic *l, uint32_t off) { return lapic_mmio_read(l, off, 4); }
static void wr(struct lapic *l, uint32_t off, uint32_t v) { lapic_mmio_write(l, off, v, 4); }

/* Software-enable with spurious vector 0xff. */
static void enable(struct lapic *l) { wr(l, LAPIC_REG_SVR, 0x1ff); }

static bool irr_has(struct lapic *l, int v) { return (rd(l, LAPIC_REG_IRR + (uint32_t)(v >> 5) * 16) >> (v & 31)) & 1; }
static bool isr_has(struct lapic *l, int v) { return (rd(l, LAPIC_REG_ISR + (uint32_t)(v >> 5) * 16) >> (v & 31)) & 1; }
static bool tmr_has(struct lapic *l, int v) { return (rd(l, LAPIC_REG_TMR + (uint32_t)(v >> 5) * 16) >> (v & 31)) & 1; }

Test(lapic, reset_values_of_an_application_processor)
{
    struct lapic l;
    setup(&l, 3);
    cr_assert_eq(rd(&l, LAPIC_REG_ID), 0x03000000u);
    cr_assert_eq(rd(&l, LAPIC_REG_VERSION), 0x00050014u);
    cr_assert_eq(rd(&l, LAPIC_REG_TPR), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_APR), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_PPR), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_LDR), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_DFR), 0xffffffffu);
    cr_assert_eq(rd(&l, LAPIC_REG_SVR), 0xffu);
    for (uint32_t off = LAPIC_REG_LVT_TIMER; off <= LAPIC_REG_LVT_ERROR; off += 16)
        cr_assert_eq(rd(&l, off), 0x00010000u, "LVT at %#x", off);
    for (uint32_t off = LAPIC_REG_ISR; off < LAPIC_REG_ESR; off += 16) cr_assert_eq(rd(&l, off), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_ICR), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_DCR), 0);
    cr_assert_eq(l.base_msr, 0xfee00800u);
    cr_assert_not(lapic_accepts_pic(&l));
}

Test(lapic, bsp_starts_in_virtual_wire_mode)
{
    struct lapic l;
    setup(&l, 0);
    cr_assert_eq(l.base_msr, 0xfee00900u);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_LINT0), 0x700u);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_LINT1), 0x400u);
    cr_assert(lapic_accepts_pic(&l));
    enable(&l);
    wr(&l, LAPIC_REG_LVT_LINT0, 0x10700); /* masked: the PIC no longer reaches the CPU */
    cr_assert_not(lapic_accepts_pic(&l));
    wr(&l, LAPIC_REG_LVT_LINT0, 0x00030); /* fixed mode is not virtual wire */
    cr_assert_not(lapic_accepts_pic(&l));
    wr(&l, LAPIC_REG_LVT_LINT0, 0x00700);
    cr_assert(lapic_accepts_pic(&l));
}

Test(lapic, writable_bits_and_read_only_registers)
{
    struct lapic l;
    setup(&l, 1);
    enable(&l);
    wr(&l, LAPIC_REG_TPR, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_TPR), 0xff);
    wr(&l, LAPIC_REG_TPR, 0);
    wr(&l, LAPIC_REG_LDR, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_LDR), 0xff000000u);
    wr(&l, LAPIC_REG_DFR, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_DFR), 0x0fffffffu);
    wr(&l, LAPIC_REG_SVR, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_SVR), 0x1ffu);
    wr(&l, LAPIC_REG_ICR_HI, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_ICR_HI), 0xff000000u);
    wr(&l, LAPIC_REG_TIMER_DCR, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_DCR), 0xbu);
    wr(&l, LAPIC_REG_LVT_TIMER, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_TIMER), 0x000300ffu); /* no TSC-deadline bit */
    wr(&l, LAPIC_REG_LVT_THERMAL, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_THERMAL), 0x000107ffu);
    wr(&l, LAPIC_REG_LVT_PERF, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_PERF), 0x000107ffu);
    wr(&l, LAPIC_REG_LVT_LINT0, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_LINT0), 0x0001a7ffu); /* remote IRR, delivery status read-only */
    wr(&l, LAPIC_REG_LVT_LINT1, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_LINT1), 0x0001a7ffu);
    wr(&l, LAPIC_REG_LVT_ERROR, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_ERROR), 0x000100ffu);
    wr(&l, LAPIC_REG_ID, 0x05000000);
    cr_assert_eq(rd(&l, LAPIC_REG_ID), 0x05000000u);
    /* Read-only registers keep their value. */
    wr(&l, LAPIC_REG_VERSION, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_VERSION), 0x00050014u);
    wr(&l, LAPIC_REG_PPR, 0xff);
    cr_assert_eq(rd(&l, LAPIC_REG_PPR), 0);
    wr(&l, LAPIC_REG_ISR + 0x10, 0xffffffff);
    wr(&l, LAPIC_REG_IRR + 0x10, 0xffffffff);
    wr(&l, LAPIC_REG_TMR + 0x10, 0xffffffff);
    cr_assert_eq(rd(&l, LAPIC_REG_ISR + 0x10), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_IRR + 0x10), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_TMR + 0x10), 0);
    wr(&l, LAPIC_REG_TIMER_CCR, 1234);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_EOI), 0);
    /* None of that was an error. */
    wr(&l, LAPIC_REG_ESR, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_ESR), 0);
}

Test(lapic, software_disable_masks_every_lvt)
{
    struct lapic l;
    setup(&l, 1);
    wr(&l, LAPIC_REG_LVT_TIMER, 0x20);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_TIMER), 0x10020u); /* mask sticks while disabled */
    enable(&l);
    wr(&l, LAPIC_REG_LVT_TIMER, 0x20);
    wr(&l, LAPIC_REG_LVT_ERROR, 0x33);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_TIMER), 0x20u);
    wr(&l, LAPIC_REG_SVR, 0x0ff);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_TIMER), 0x10020u);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_ERROR), 0x10033u);
    /* Interrupts are held in the IRR but not presented. */
    lapic_set_irq(&l, 0x50, false);
    cr_assert(irr_has(&l, 0x50));
    cr_assert_eq(lapic_has_interrupt(&l), -1);
    enable(&l);
    cr_assert_eq(lapic_has_interrupt(&l), 0x50);
}

Test(lapic, narrow_and_misaligned_accesses)
{
    struct lapic l;
    setup(&l, 3);
    cr_assert_eq(lapic_mmio_read(&l, 0x23, 1), 0x03);
    cr_assert_eq(lapic_mmio_read(&l, 0x20, 1), 0x00);
    cr_assert_eq(lapic_mmio_read(&l, 0x32, 2), 0x0005);
    cr_assert_eq(lapic_mmio_read(&l, 0x30, 2), 0x0014);
    cr_assert_eq(lapic_mmio_read(&l, 0x22, 4), 0x0300u); /* bytes 0x22-0x25 of the slot */
    cr_assert_eq(lapic_mmio_read(&l, 0x24, 4), 0);        /* unused bytes of a slot */
    lapic_mmio_write(&l, 0x80, 0x47, 1);
    cr_assert_eq(rd(&l, LAPIC_REG_TPR), 0x47);
    lapic_mmio_write(&l, 0xd3, 0x08, 1);                  /* LDR's top byte */
    cr_assert_eq(rd(&l, LAPIC_REG_LDR), 0x08000000u);
    lapic_mmio_write(&l, 0x84, 0xff, 4);                  /* outside the register: ignored */
    cr_assert_eq(rd(&l, LAPIC_REG_TPR), 0x47);
    cr_assert_eq(lapic_mmio_read(&l, 0x1023, 1), 0x03);   /* offsets wrap in the 4 KiB window */
    wr(&l, LAPIC_REG_ESR, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_ESR), 0);
}

Test(lapic, esr_is_latched_by_a_write)
{
    struct lapic l;
    setup(&l, 1);
    enable(&l);
    cr_assert_eq(rd(&l, 0x40), 0);               /* reserved register */
    cr_assert_eq(rd(&l, LAPIC_REG_ESR), 0);      /* not visible before the write */
    wr(&l, LAPIC_REG_ESR, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_ESR), 0x80u);  /* illegal register address */
    wr(&l, LAPIC_REG_ESR, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_ESR), 0);      /* cleared by the latching write */
    wr(&l, LAPIC_REG_ICR_LO, 0x4000 | 0x05);     /* fixed IPI with vector 5 */
    lapic_set_irq(&l, 3, false);
    cr_assert_eq(ipi_count, 0);
    cr_assert_not(irr_has(&l, 3));
    wr(&l, 0x3f0, 1);                            /* reserved write */
    wr(&l, LAPIC_REG_ESR, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_ESR), 0xe0u);  /* send + receive illegal vector, illegal address */
}

Test(lapic, errors_raise_the_error_lvt)
{
    struct lapic l;
    setup(&l, 1);
    enable(&l);
    wr(&l, LAPIC_REG_LVT_ERROR, 0xfe);
    rd(&l, 0x2f0);
    cr_assert(irr_has(&l, 0xfe));
    cr_assert_eq(lapic_has_interrupt(&l), 0xfe);
    cr_assert_eq(lapic_ack(&l), 0xfe);
    wr(&l, LAPIC_REG_EOI, 0);
    /* An illegal error vector only adds "receive illegal vector". */
    wr(&l, LAPIC_REG_LVT_ERROR, 0x02);
    wr(&l, LAPIC_REG_ESR, 0);
    rd(&l, 0x10);
    wr(&l, LAPIC_REG_ESR, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_ESR), 0xc0u);
    cr_assert_eq(lapic_has_interrupt(&l), -1);
}

Test(lapic, priority_nesting_and_eoi_order)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    lapic_set_irq(&l, 0x31, false);
    lapic_set_irq(&l, 0x45, false);
    lapic_set_irq(&l, 0x52, false);
    cr_assert_eq(rd(&l, LAPIC_REG_IRR + 0x10), 0x00020000u); /* 0x31 */
    cr_assert_eq(rd(&l, LAPIC_REG_IRR + 0x20), 0x00040020u); /* 0x45, 0x52 */
    cr_assert_eq(lapic_has_interrupt(&l), 0x52);
    cr_assert_eq(lapic_ack(&l), 0x52);
    cr_assert(isr_has(&l, 0x52));
    cr_assert_not(irr_has(&l, 0x52));
    cr_assert_eq(rd(&l, LAPIC_REG_PPR), 0x50);
    cr_assert_eq(lapic_has_interrupt(&l), -1);         /* 0x45 is below the in-service class */
    lapic_set_irq(&l, 0x5a, false);
    cr_assert_eq(lapic_has_interrupt(&l), -1);         /* same class does not nest */
    lapic_set_irq(&l, 0x61, false);
    cr_assert_eq(lapic_has_interrupt(&l), 0x61);       /* a higher class nests */
    cr_assert_eq(lapic_ack(&l), 0x61);
    cr_assert_eq(rd(&l, LAPIC_REG_PPR), 0x60);
    wr(&l, LAPIC_REG_EOI, 0);                           /* ends 0x61, the highest in service */
    cr_assert_not(isr_has(&l, 0x61));
    cr_assert(isr_has(&l, 0x52));
    cr_assert_eq(rd(&l, LAPIC_REG_PPR), 0x50);
    cr_assert_eq(lapic_has_interrupt(&l), -1);
    wr(&l, LAPIC_REG_EOI, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_PPR), 0x00);
    cr_assert_eq(lapic_has_interrupt(&l), 0x5a);
    cr_assert_eq(eoi_count, 0);                         /* edge vectors: no EOI broadcast */
    /* TPR masks by class. */
    wr(&l, LAPIC_REG_TPR, 0x5a);
    cr_assert_eq(rd(&l, LAPIC_REG_PPR), 0x5a);
    cr_assert_eq(lapic_has_interrupt(&l), -1);
    cr_assert_eq(rd(&l, LAPIC_REG_APR), 0x5a);
    wr(&l, LAPIC_REG_TPR, 0x4f);
    cr_assert_eq(lapic_has_interrupt(&l), 0x5a);
    cr_assert_eq(rd(&l, LAPIC_REG_APR), 0x50);          /* the IRR's class is above the TPR's */
}

Test(lapic, ack_without_a_deliverable_vector_is_spurious)
{
    struct lapic l;
    setup(&l, 0);
    wr(&l, LAPIC_REG_SVR, 0x1e7);
    cr_assert_eq(lapic_ack(&l), 0xe7);
    lapic_set_irq(&l, 0x40, false);
    wr(&l, LAPIC_REG_TPR, 0x50);     /* raised between INTR and INTA */
    cr_assert_eq(lapic_ack(&l), 0xe7);
    cr_assert(irr_has(&l, 0x40));
    cr_assert_not(isr_has(&l, 0x40));
    wr(&l, LAPIC_REG_EOI, 0);        /* nothing in service: no effect */
    cr_assert(irr_has(&l, 0x40));
}

Test(lapic, level_vectors_broadcast_eoi)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    lapic_set_irq(&l, 0x70, true);
    cr_assert(tmr_has(&l, 0x70));
    lapic_set_irq(&l, 0x30, false);
    cr_assert_not(tmr_has(&l, 0x30));
    cr_assert_eq(lapic_ack(&l), 0x70);
    wr(&l, LAPIC_REG_EOI, 0);
    cr_assert_eq(eoi_count, 1);
    cr_assert_eq(eoi_vector, 0x70);
    cr_assert_eq(lapic_ack(&l), 0x30);
    wr(&l, LAPIC_REG_EOI, 0);
    cr_assert_eq(eoi_count, 1);
}

Test(lapic, set_irq_kicks_the_vcpu)
{
    struct lapic l;
    setup(&l, 0);
    int k = kicks;
    lapic_set_irq(&l, 0x80, false);
    cr_assert_gt(kicks, k);
}

Test(lapic, hardware_disable_resets_and_passes_the_pic)
{
    struct lapic l;
    setup(&l, 1);
    enable(&l);
    wr(&l, LAPIC_REG_TPR, 0x20);
    lapic_set_irq(&l, 0x40, false);
    lapic_set_base_msr(&l, 0xfee00000u);
    cr_assert(lapic_accepts_pic(&l));
    cr_assert_eq(lapic_has_interrupt(&l), -1);
    cr_assert_eq(lapic_mmio_read(&l, LAPIC_REG_VERSION, 4), 0xffffffffu);
    lapic_mmio_write(&l, LAPIC_REG_TPR, 0x30, 4);
    lapic_set_irq(&l, 0x41, false);
    lapic_set_base_msr(&l, 0xfee00800u);
    cr_assert_eq(rd(&l, LAPIC_REG_TPR), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_SVR), 0xff);
    cr_assert_eq(rd(&l, LAPIC_REG_IRR + 0x20), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_ID), 0x01000000u);
    cr_assert_not(lapic_accepts_pic(&l)); /* LINT0 masked after the reset */
}

/* ---- timer ---- */

Test(lapic, timer_one_shot)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    wr(&l, LAPIC_REG_TIMER_DCR, 0x3);          /* divide by 16 */
    wr(&l, LAPIC_REG_LVT_TIMER, 0x40);
    wr(&l, LAPIC_REG_TIMER_ICR, 1000);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 1000);
    cr_assert_eq(vclock_next_deadline(&clk), 16000);
    fake_icount = 16 * 10 + 15;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 990);
    fake_icount = 16000 - 1;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 1);
    cr_assert_eq(vclock_run_timers(&clk), 0);
    cr_assert_not(irr_has(&l, 0x40));
    fake_icount = 16000;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 0);
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert(irr_has(&l, 0x40));
    cr_assert_eq(lapic_ack(&l), 0x40);
    wr(&l, LAPIC_REG_EOI, 0);
    fake_icount = 100000;
    cr_assert_eq(vclock_run_timers(&clk), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 0);
    cr_assert_not(irr_has(&l, 0x40));
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_ICR), 1000);
    cr_assert_eq(l.timer_fires, 1);
}

Test(lapic, timer_periodic_reloads_and_coalesces)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    wr(&l, LAPIC_REG_TIMER_DCR, 0xb);          /* divide by 1 */
    wr(&l, LAPIC_REG_LVT_TIMER, 0x20041);      /* periodic, vector 0x41 */
    fake_icount = 7;
    wr(&l, LAPIC_REG_TIMER_ICR, 100);
    fake_icount = 57;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 50);
    fake_icount = 106;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 1);
    cr_assert_eq(vclock_run_timers(&clk), 0);
    fake_icount = 107;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 100);
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert(irr_has(&l, 0x41));
    cr_assert_eq(vclock_next_deadline(&clk), 207);
    fake_icount = 157;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 50);
    cr_assert_eq(lapic_ack(&l), 0x41);
    wr(&l, LAPIC_REG_EOI, 0);
    fake_icount = 207;
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert(irr_has(&l, 0x41));
    /* Five periods late: one interrupt, and the next deadline is in the future. */
    fake_icount = 757;
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert_eq(vclock_next_deadline(&clk), 807);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 50);
    cr_assert_eq(l.timer_fires, 3);
}

/* With reinject_ticks (-smp threads), the periods a late expiry stands
 * for, and a tick that finds the previous one still pending, are given back
 * one per acceptance, each after the previous one's EOI. */
Test(lapic, timer_periodic_gives_lost_ticks_back)
{
    struct lapic l;
    setup(&l, 0);
    l.reinject_ticks = true;
    enable(&l);
    wr(&l, LAPIC_REG_TIMER_DCR, 0xb);          /* divide by 1 */
    wr(&l, LAPIC_REG_LVT_TIMER, 0x20041);      /* periodic, vector 0x41 */
    wr(&l, LAPIC_REG_TIMER_ICR, 100);          /* expiries at 100, 200, ... */
    fake_icount = 100;
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert_eq(l.timer_backlog, 0);          /* on time */
    fake_icount = 200;                         /* the first not yet accepted */
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert_eq(l.timer_backlog, 1);
    fake_icount = 530;                         /* due at 300, also stands for 400 and 500 */
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert_eq(l.timer_backlog, 4);
    cr_assert_eq(vclock_next_deadline(&clk), 600);
    /* Five ticks accepted back to back, each after the previous EOI. */
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(lapic_ack(&l), 0x41, "tick %d", i);
        cr_assert_eq(lapic_has_interrupt(&l), -1); /* the next waits for the EOI */
        wr(&l, LAPIC_REG_EOI, 0);
    }
    cr_assert_eq(l.timer_backlog, 0);
    cr_assert_eq(l.ticks_reinjected, 4);
    cr_assert_eq(lapic_has_interrupt(&l), -1);
    cr_assert_eq(lapic_ack(&l), 0xff);          /* spurious: nothing left */
}

/* Without it (one host thread: time stops with the vCPU), late periods are
 * coalesced as before. */
Test(lapic, timer_periodic_coalesces_without_reinjection)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    wr(&l, LAPIC_REG_TIMER_DCR, 0xb);
    wr(&l, LAPIC_REG_LVT_TIMER, 0x20041);
    wr(&l, LAPIC_REG_TIMER_ICR, 100);
    fake_icount = 530;
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert_eq(l.timer_backlog, 0);
    cr_assert_eq(lapic_ack(&l), 0x41);
    wr(&l, LAPIC_REG_EOI, 0);
    cr_assert_eq(lapic_has_interrupt(&l), -1);
}

Test(lapic, timer_divide_configurations)
{
    static const struct { uint32_t dcr, div; } t[] = {
        { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
    };
    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct lapic l;
        setup(&l, 0);
        enable(&l);
        wr(&l, LAPIC_REG_TIMER_DCR, t[i].dcr);
        wr(&l, LAPIC_REG_LVT_TIMER, 0x30);
        wr(&l, LAPIC_REG_TIMER_ICR, 100000);
        fake_icount = 1280 + t[i].div - 1;   /* just before the next tick */
        cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 100000 - 1280 / t[i].div, "dcr %#x", t[i].dcr);
        fake_icount = 1280 + t[i].div;
        cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 100000 - 1280 / t[i].div - 1, "dcr %#x", t[i].dcr);
        cr_assert_eq(vclock_next_deadline(&clk), 100000ull * t[i].div, "dcr %#x", t[i].dcr);
    }
}

Test(lapic, timer_divide_change_keeps_the_count)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    wr(&l, LAPIC_REG_TIMER_DCR, 0x0);          /* divide by 2 */
    wr(&l, LAPIC_REG_LVT_TIMER, 0x30);
    wr(&l, LAPIC_REG_TIMER_ICR, 1000);
    fake_icount = 101;                         /* 50 ticks and half of one */
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 950);
    wr(&l, LAPIC_REG_TIMER_DCR, 0xb);          /* divide by 1 from tick 50 (100 ns) */
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 949);
    fake_icount = 150;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 900);
    cr_assert_eq(vclock_next_deadline(&clk), 1050);
}

Test(lapic, timer_mode_change_and_stop)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    wr(&l, LAPIC_REG_TIMER_DCR, 0xb);
    wr(&l, LAPIC_REG_LVT_TIMER, 0x20050);      /* periodic */
    wr(&l, LAPIC_REG_TIMER_ICR, 100);
    fake_icount = 130;
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 70);
    wr(&l, LAPIC_REG_LVT_TIMER, 0x00050);      /* one-shot: runs out the current count */
    fake_icount = 199;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 1);
    fake_icount = 200;
    cr_assert_eq(vclock_run_timers(&clk), 1);
    fake_icount = 400;
    cr_assert_eq(vclock_run_timers(&clk), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 0);
    /* Writing 0 to the initial count stops the timer. */
    wr(&l, LAPIC_REG_TIMER_ICR, 10);
    wr(&l, LAPIC_REG_TIMER_ICR, 0);
    fake_icount = 1000;
    cr_assert_eq(vclock_run_timers(&clk), 0);
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 0);
    cr_assert_eq(vclock_next_deadline(&clk), UINT64_MAX);
}

Test(lapic, masked_timer_counts_without_interrupts)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    wr(&l, LAPIC_REG_TIMER_DCR, 0xb);
    wr(&l, LAPIC_REG_LVT_TIMER, 0x30041);      /* periodic, masked */
    wr(&l, LAPIC_REG_TIMER_ICR, 10);
    fake_icount = 10;
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert_eq(rd(&l, LAPIC_REG_IRR + 0x20), 0);
    fake_icount = 15;
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 5);
    wr(&l, LAPIC_REG_LVT_TIMER, 0x20041);      /* unmask: the next expiry interrupts */
    fake_icount = 20;
    cr_assert_eq(vclock_run_timers(&clk), 1);
    cr_assert(irr_has(&l, 0x41));
}

Test(lapic, due_expiry_is_not_lost_by_a_register_write)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    wr(&l, LAPIC_REG_TIMER_DCR, 0xb);
    wr(&l, LAPIC_REG_LVT_TIMER, 0x20041);
    wr(&l, LAPIC_REG_TIMER_ICR, 100);
    fake_icount = 100;                         /* due, but the clock has not run timers yet */
    wr(&l, LAPIC_REG_TIMER_DCR, 0x0);
    cr_assert(irr_has(&l, 0x41));
    cr_assert_eq(rd(&l, LAPIC_REG_TIMER_CCR), 100);
    cr_assert_eq(vclock_next_deadline(&clk), 300); /* 100 ticks at 2 ns */
}

/* ---- IPIs and routing ---- */

Test(lapic, icr_self_ipi_and_board_ipi)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    wr(&l, LAPIC_REG_ICR_HI, 0x03000000);
    wr(&l, LAPIC_REG_ICR_LO, 0x40000 | 0x4000 | 0x55); /* self shorthand */
    cr_assert(irr_has(&l, 0x55));
    wr(&l, LAPIC_REG_ICR_LO, 0x40000 | 0xc000 | 0x56); /* self, level trigger: sent as edge */
    cr_assert(irr_has(&l, 0x56));
    cr_assert_not(tmr_has(&l, 0x56));
    wr(&l, LAPIC_REG_ICR_LO, 0x40000 | 0x4000 | 0x55);
    cr_assert_eq(ipi_count, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_ICR_LO), 0x44055u);    /* delivery status reads idle */
    wr(&l, LAPIC_REG_ICR_LO, 0xfffff066);                /* all excluding self: the board routes it */
    cr_assert_eq(ipi_count, 1);
    cr_assert_eq(ipi_lo, 0x000cc066u);
    cr_assert_eq(ipi_hi, 0x03000000u);
    cr_assert_eq(l.ipis_sent, 4);
}

Test(lapic, icr_without_board_routing_reaches_only_itself)
{
    struct lapic l;
    setup(&l, 0);
    lapic_set_callbacks(&l, NULL, NULL);
    enable(&l);
    wr(&l, LAPIC_REG_ICR_HI, 0x00000000);
    wr(&l, LAPIC_REG_ICR_LO, 0x4061);                   /* physical, APIC 0 */
    cr_assert(irr_has(&l, 0x61));
    wr(&l, LAPIC_REG_ICR_HI, 0x01000000);
    wr(&l, LAPIC_REG_ICR_LO, 0x4062);                   /* APIC 1: nobody */
    cr_assert_not(irr_has(&l, 0x62));
    wr(&l, LAPIC_REG_ICR_LO, 0xc4063);                  /* all excluding self */
    cr_assert_not(irr_has(&l, 0x63));
    wr(&l, LAPIC_REG_ICR_LO, 0x84064);                  /* all including self */
    cr_assert(irr_has(&l, 0x64));
}

Test(lapic, destination_matching)
{
    struct lapic a[3];
    for (int i = 0; i < 3; i++) setup(&a[i], i);
    cr_assert(lapic_match_dest(&a[1], 1, false));
    cr_assert_not(lapic_match_dest(&a[1], 2, false));
    cr_assert(lapic_match_dest(&a[2], 0xff, false));
    /* Flat logical model. */
    for (int i = 0; i < 3; i++) wr(&a[i], LAPIC_REG_LDR, (1u << i) << 24);
    cr_assert(lapic_match_dest(&a[0], 0x05, true));
    cr_assert_not(lapic_match_dest(&a[1], 0x05, true));
    cr_assert(lapic_match_dest(&a[2], 0x05, true));
    /* Cluster model. */
    static const uint32_t ldr[3] = { 0x11, 0x12, 0x21 };
    for (int i = 0; i < 3; i++) {
        wr(&a[i], LAPIC_REG_DFR, 0x0fffffff);
        wr(&a[i], LAPIC_REG_LDR, ldr[i] << 24);
    }
    cr_assert(lapic_match_dest(&a[0], 0x13, true));
    cr_assert(lapic_match_dest(&a[1], 0x13, true));
    cr_assert_not(lapic_match_dest(&a[2], 0x13, true));
    cr_assert(lapic_match_dest(&a[2], 0x21, true));
    cr_assert(lapic_match_dest(&a[0], 0xf1, true));
    cr_assert_not(lapic_match_dest(&a[1], 0xf1, true));
    cr_assert(lapic_match_dest(&a[2], 0xf1, true));
    /* A hardware-disabled APIC matches nothing. */
    lapic_set_base_msr(&a[2], 0);
    cr_assert_not(lapic_match_dest(&a[2], 0xff, false));
}

Test(lapic, route_fixed_lowest_priority_and_special_modes)
{
    struct lapic a[3];
    for (int i = 0; i < 3; i++) {
        setup(&a[i], i);
        enable(&a[i]);
    }
    struct lapic *const p[3] = { &a[0], &a[1], &a[2] };
    lapic_route(p, 3, 1, 0, APIC_DM_FIXED, 0x44, true);
    cr_assert(irr_has(&a[1], 0x44) && tmr_has(&a[1], 0x44));
    cr_assert_not(irr_has(&a[0], 0x44) || irr_has(&a[2], 0x44));
    lapic_route(p, 3, 0xff, 0, APIC_DM_FIXED, 0x45, false);
    cr_assert(irr_has(&a[0], 0x45) && irr_has(&a[1], 0x45) && irr_has(&a[2], 0x45));
    wr(&a[0], LAPIC_REG_TPR, 0x20);
    wr(&a[1], LAPIC_REG_TPR, 0x10);
    wr(&a[2], LAPIC_REG_TPR, 0x30);
    lapic_route(p, 3, 0xff, 0, APIC_DM_LOWEST, 0x46, false);
    cr_assert(irr_has(&a[1], 0x46));
    cr_assert_not(irr_has(&a[0], 0x46) || irr_has(&a[2], 0x46));
    lapic_route(p, 3, 2, 0, APIC_DM_NMI, 0, false);
    cr_assert(lapic_take_nmi(&a[2]));
    cr_assert_not(lapic_take_nmi(&a[2]));
    cr_assert_not(lapic_take_nmi(&a[0]));
}

Test(lapic, ipi_shorthands_init_and_startup)
{
    struct lapic a[3];
    for (int i = 0; i < 3; i++) {
        setup(&a[i], i);
        enable(&a[i]);
    }
    struct lapic *const p[3] = { &a[0], &a[1], &a[2] };
    lapic_route_ipi(p, 3, 0, 0xc0000 | 0x4000 | 0x70, 0);   /* all excluding self */
    cr_assert_not(irr_has(&a[0], 0x70));
    cr_assert(irr_has(&a[1], 0x70) && irr_has(&a[2], 0x70));
    lapic_route_ipi(p, 3, 0, 0x80000 | 0x4000 | 0x71, 0);   /* all including self */
    cr_assert(irr_has(&a[0], 0x71) && irr_has(&a[1], 0x71) && irr_has(&a[2], 0x71));
    lapic_route_ipi(p, 3, 1, 0x40000 | 0xc000 | 0x72, 0);   /* self, "level" */
    cr_assert(irr_has(&a[1], 0x72));
    cr_assert_not(tmr_has(&a[1], 0x72));                    /* IPIs are edge on an xAPIC */
    cr_assert_not(irr_has(&a[0], 0x72) || irr_has(&a[2], 0x72));
    /* The INIT - SIPI sequence to APIC 2, as Linux sends it. */
    lapic_route_ipi(p, 3, 0, 0x0000c500, 0x02000000);       /* INIT assert, level */
    cr_assert(a[2].init_pending);
    cr_assert_not(a[1].init_pending);
    a[2].init_pending = false;
    lapic_route_ipi(p, 3, 0, 0x00008500, 0x02000000);       /* INIT de-assert: ignored */
    cr_assert_not(a[2].init_pending);
    lapic_route_ipi(p, 3, 0, 0x0000069a, 0x02000000);       /* start-up at 0x9a000 */
    cr_assert(a[2].sipi_pending);
    cr_assert_eq(a[2].sipi_vector, 0x9a);
    cr_assert_not(a[0].sipi_pending || a[1].sipi_pending);
}

Test(lapic, lint_inputs)
{
    struct lapic l;
    setup(&l, 0);
    enable(&l);
    /* LINT1 in NMI mode (the BSP's reset state): one NMI per rising edge. */
    wr(&l, LAPIC_REG_LVT_LINT1, 0x400);
    lapic_set_lint(&l, 1, true);
    cr_assert(lapic_take_nmi(&l));
    lapic_set_lint(&l, 1, true);
    cr_assert_not(lapic_take_nmi(&l));
    lapic_set_lint(&l, 1, false);
    lapic_set_lint(&l, 1, true);
    cr_assert(lapic_take_nmi(&l));
    /* LINT0 fixed, level-triggered: delivered while high, once per EOI. */
    wr(&l, LAPIC_REG_LVT_LINT0, 0x8060);
    lapic_set_lint(&l, 0, true);
    cr_assert(irr_has(&l, 0x60) && tmr_has(&l, 0x60));
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_LINT0), 0xc060u);  /* remote IRR */
    cr_assert_eq(lapic_ack(&l), 0x60);
    lapic_set_lint(&l, 0, true);
    cr_assert_not(irr_has(&l, 0x60));
    wr(&l, LAPIC_REG_EOI, 0);
    cr_assert(irr_has(&l, 0x60));                        /* still high: again */
    cr_assert_eq(lapic_ack(&l), 0x60);
    lapic_set_lint(&l, 0, false);
    wr(&l, LAPIC_REG_EOI, 0);
    cr_assert_eq(rd(&l, LAPIC_REG_LVT_LINT0), 0x8060u);
    cr_assert_not(irr_has(&l, 0x60));
    /* LINT0 fixed, edge. */
    wr(&l, LAPIC_REG_LVT_LINT0, 0x0061);
    lapic_set_lint(&l, 0, true);
    cr_assert(irr_has(&l, 0x61) && !tmr_has(&l, 0x61));
    /* Masked: nothing. */
    wr(&l, LAPIC_REG_LVT_LINT0, 0x10062);
    lapic_set_lint(&l, 0, false);
    lapic_set_lint(&l, 0, true);
    cr_assert_not(irr_has(&l, 0x62));
}

Test(lapic, mmio_region_dispatches_to_this_apic)
{
    struct lapic l;
    setup(&l, 6);
    struct mmio_region r;
    lapic_region(&l, &r);
    cr_assert_eq(r.base, 0xfee00000u);
    cr_assert_eq(r.size, 0x1000u);
    cr_assert_eq(r.opaque, &l);
    cr_assert_eq(r.read(r.opaque, LAPIC_REG_ID, 4), 0x06000000u);
    r.write(r.opaque, LAPIC_REG_TPR, 0x33, 4);
    cr_assert_eq(l.tpr, 0x33);
}
