/* Interrupts guest: the 8259A pair (ICW1-4 with vector bases 0x20/0x28,
 * masks, IRR/ISR reads, non-specific EOI), the 8254 PIT channel 0 on IRQ0,
 * the RTC periodic interrupt on IRQ8 through the cascade, HLT waiting for an
 * interrupt, masking, EOI gating and priority nesting (IRQ0 nests into the
 * IRQ8 handler; IRQ8 waits for the IRQ0 handler's EOI). Only outcomes are
 * printed, never counts, so the output does not depend on timing.
 * Not covered: spurious IRQ 7 (it needs an IRQ line that drops between the
 * INTR and the INTA cycle, which neither QEMU nor bt86 can be made to do
 * deterministically from the guest). */
#include "../lib/sys/sys.h"

#define PIC1 0x20
#define PIC2 0xa0
#define PIT_DIVISOR 11932       /* ~100 Hz */
#define SPIN_MAX 50000000u      /* bound of every busy wait */

static volatile uint32_t pit_ticks, rtc_ticks;
static volatile uint32_t pit_vec, rtc_vec, pit_isr, pit_eip, pit_if, rtc_regc;
static volatile int pit_no_eoi;          /* PIT handler: skip the EOI */
static volatile int rtc_nest_mode;       /* RTC handler: STI and wait for a PIT tick */
static volatile int pit_nest_mode;       /* PIT handler: STI, wait for IRQ2 in IRR, EOI */
static volatile int in_rtc, in_pit;
static volatile uint32_t pit_inside_rtc, rtc_inside_pit_before_eoi, rtc_inside_pit_after_eoi;
static volatile uint32_t irr2_seen;

static uint8_t pic_read(uint16_t base, uint8_t ocw3)
{
    outb(base, ocw3);            /* 0x0a: IRR, 0x0b: ISR */
    return inb(base);
}

static void pic_init(void)
{
    outb(PIC1, 0x11);            /* ICW1: edge, cascade, ICW4 */
    outb(PIC1 + 1, 0x20);        /* ICW2: vectors 0x20.. */
    outb(PIC1 + 1, 0x04);        /* ICW3: slave on IRQ2 */
    outb(PIC1 + 1, 0x01);        /* ICW4: 8086 mode, normal EOI */
    outb(PIC2, 0x11);
    outb(PIC2 + 1, 0x28);
    outb(PIC2 + 1, 0x02);        /* slave ID 2 */
    outb(PIC2 + 1, 0x01);
    outb(PIC1 + 1, 0xff);
    outb(PIC2 + 1, 0xff);
}

static void pit_start(void)
{
    outb(0x43, 0x34);            /* channel 0, lo/hi, mode 2 */
    outb(0x40, PIT_DIVISOR & 0xff);
    outb(0x40, PIT_DIVISOR >> 8);
}

static uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, 0x80 | reg);      /* NMI stays disabled */
    return inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
    outb(0x70, 0x80 | reg);
    outb(0x71, v);
}

static void pit_handler(struct trap_frame *f)
{
    in_pit = 1;
    pit_ticks++;
    pit_vec = f->vector;
    pit_eip = f->eip;
    pit_if = read_eflags() & EF_IF;
    pit_isr = pic_read(PIC1, 0x0b);
    if (in_rtc)
        pit_inside_rtc = 1;
    if (pit_nest_mode) {
        pit_nest_mode = 0;
        uint32_t before = rtc_ticks;
        __asm__ volatile("sti");
        for (uint32_t i = 0; i < SPIN_MAX && !(pic_read(PIC1, 0x0a) & 0x04); i++)
            ;
        irr2_seen = (pic_read(PIC1, 0x0a) & 0x04) != 0;
        rtc_inside_pit_before_eoi = rtc_ticks != before;
        outb(PIC1, 0x20);        /* EOI: now IRQ2 outranks nothing in service */
        for (uint32_t i = 0; i < 1000 && rtc_ticks == before; i++)
            __asm__ volatile("nop");
        rtc_inside_pit_after_eoi = rtc_ticks != before;
        __asm__ volatile("cli");
        in_pit = 0;
        return;
    }
    if (!pit_no_eoi)
        outb(PIC1, 0x20);
    in_pit = 0;
}

static void rtc_handler(struct trap_frame *f)
{
    in_rtc = 1;
    rtc_ticks++;
    rtc_vec = f->vector;
    rtc_regc = cmos_read(0x0c);  /* acknowledges the RTC */
    if (rtc_nest_mode) {
        rtc_nest_mode = 0;
        uint32_t before = pit_ticks;
        __asm__ volatile("sti");
        for (uint32_t i = 0; i < SPIN_MAX && pit_ticks == before; i++)
            __asm__ volatile("pause");
        __asm__ volatile("cli");
    }
    outb(PIC2, 0x20);
    outb(PIC1, 0x20);
    in_rtc = 0;
}

/* STI; HLT; CLI with label "after" on the instruction after HLT */
extern char hlt_after[];
__attribute__((noinline)) static void sti_hlt(void)
{
    __asm__ volatile("sti\n\thlt\n"
                     "hlt_after:\n\t"
                     "cli" ::: "memory");
}

/* A short bounded wait with IF=1 (an emulator may take the interrupt a few
 * instructions after the OUT that unblocked it), then CLI. */
static void spin_until_ticks(uint32_t n)
{
    for (uint32_t i = 0; i < 1000 && pit_ticks < n; i++)
        __asm__ volatile("nop");
    __asm__ volatile("cli");
}

static void pit_checks(void)
{
    pit_ticks = 0;
    outb(PIC1 + 1, 0xfe);        /* IRQ0 only */
    sti_hlt();
    check_true(pit_ticks >= 1, "HLT with IF=1 returns after IRQ0");
    check_u32(pit_vec, 0x20, "IRQ0 arrives at vector 0x20 (ICW2 base)");
    check_u32(pit_eip, (uint32_t)hlt_after, "IRQ0 saved EIP is the instruction after HLT");
    check_u32(pit_if, 0, "interrupt gate cleared IF in the handler");
    check_u32(pit_isr & 0x01, 0x01, "ISR bit 0 set while IRQ0 is serviced");
    check_u32(pic_read(PIC1, 0x0b), 0, "ISR clear after the EOI");
    for (int i = 0; i < 4; i++)
        sti_hlt();
    check_true(pit_ticks >= 5, "five HLTs, five PIT interrupts");

    /* PIT counter latch: the count lies in 1..divisor */
    outb(0x43, 0x00);
    uint16_t c = inb(0x40);
    c |= (uint16_t)(inb(0x40) << 8);
    check_true(c >= 1 && c <= PIT_DIVISOR, "PIT channel 0 latched count within the divisor");

    /* masking: IRQ0 masked, interrupts on; the request shows up in IRR only */
    outb(PIC1 + 1, 0xff);
    pit_ticks = 0;
    __asm__ volatile("sti");
    uint32_t i;
    for (i = 0; i < SPIN_MAX && !(pic_read(PIC1, 0x0a) & 0x01); i++)
        ;
    __asm__ volatile("cli");
    check_true(i < SPIN_MAX, "masked IRQ0 is latched in IRR");
    check_u32(pit_ticks, 0, "masked IRQ0 is not delivered");
    __asm__ volatile("sti");
    outb(PIC1 + 1, 0xfe);
    spin_until_ticks(1);
    check_true(pit_ticks >= 1, "unmasking delivers the pending IRQ0");

    /* no EOI: the next IRQ0 waits in IRR until the EOI */
    pit_no_eoi = 1;
    pit_ticks = 0;
    sti_hlt();
    check_true(pit_ticks == 1, "IRQ0 handled without EOI");
    check_u32(pic_read(PIC1, 0x0b) & 1, 1, "ISR bit 0 stays set without EOI");
    __asm__ volatile("sti");
    for (i = 0; i < SPIN_MAX && !(pic_read(PIC1, 0x0a) & 0x01); i++)
        ;
    __asm__ volatile("cli");
    check_true(i < SPIN_MAX && pit_ticks == 1, "next IRQ0 held in IRR while ISR bit 0 is set");
    pit_no_eoi = 0;
    __asm__ volatile("sti");
    outb(PIC1, 0x20);
    spin_until_ticks(2);
    check_true(pit_ticks >= 2, "EOI releases the held IRQ0");
    outb(PIC1 + 1, 0xff);
}

static void rtc_checks(void)
{
    cmos_write(0x0a, (uint8_t)((cmos_read(0x0a) & 0xf0) | 0x06));   /* 1024 Hz */
    cmos_write(0x0b, (uint8_t)(cmos_read(0x0b) | 0x40));            /* PIE */
    (void)cmos_read(0x0c);
    rtc_ticks = 0;
    outb(PIC2 + 1, 0xfe);        /* IRQ8 */
    outb(PIC1 + 1, 0xfb);        /* IRQ2 (cascade) */
    for (int i = 0; i < 3; i++)
        sti_hlt();
    check_true(rtc_ticks >= 3, "three HLTs, three RTC periodic interrupts");
    check_u32(rtc_vec, 0x28, "IRQ8 arrives at vector 0x28 (slave ICW2 base)");
    check_u32(rtc_regc & 0xc0, 0xc0, "RTC register C: IRQF and PF set");
    outb(PIC2 + 1, 0xff);
    cmos_write(0x0b, (uint8_t)(cmos_read(0x0b) & ~0x40));
    (void)cmos_read(0x0c);
    check_u32(cmos_read(0x0c) & 0x80, 0, "with PIE off, register C read twice: IRQF clear");
    cmos_write(0x0b, (uint8_t)(cmos_read(0x0b) | 0x40));
}

static void nesting_checks(void)
{
    /* IRQ0 (higher priority) interrupts the IRQ8 handler once it does STI */
    pit_inside_rtc = 0;
    rtc_nest_mode = 1;
    outb(PIC1 + 1, 0xfa);        /* IRQ0, IRQ2 */
    outb(PIC2 + 1, 0xfe);
    for (int i = 0; i < 100 && rtc_nest_mode; i++)
        sti_hlt();
    check_true(!rtc_nest_mode, "RTC handler ran in nesting mode");
    check_u32(pit_inside_rtc, 1, "IRQ0 nests into the IRQ8 handler");

    /* IRQ8 (lower priority) waits for the IRQ0 handler's EOI */
    pit_nest_mode = 1;
    outb(PIC1 + 1, 0xfa);
    for (int i = 0; i < 100 && pit_nest_mode; i++)
        sti_hlt();
    check_true(!pit_nest_mode, "PIT handler ran in nesting mode");
    check_u32(irr2_seen, 1, "RTC request shows as IRR bit 2 on the master");
    check_u32(rtc_inside_pit_before_eoi, 0, "IRQ8 does not nest into IRQ0 before its EOI");
    check_u32(rtc_inside_pit_after_eoi, 1, "IRQ8 is delivered right after IRQ0's EOI");
    outb(PIC1 + 1, 0xff);
    outb(PIC2 + 1, 0xff);
    cmos_write(0x0b, (uint8_t)(cmos_read(0x0b) & ~0x40));
    (void)cmos_read(0x0c);
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    (void)info;
    serial_init();
    sys_init();
    printf("interrupts guest\n");
    pic_init();
    trap_set_handler(0x20, pit_handler);
    trap_set_handler(0x28, rtc_handler);
    pit_start();
    check_u32(pic_read(PIC1, 0x0b) | pic_read(PIC2, 0x0b), 0, "no IRQ in service after ICW init");
    pit_checks();
    rtc_checks();
    nesting_checks();
    return check_finish();
}
