/* APIC guest: finds the local APIC and I/O APIC through the MP table
 * ("_MP_" scan of the EBDA, the top of base memory and the BIOS area), then
 * checks the local APIC (IA32_APIC_BASE, ID and version registers, SVR
 * enable, timer one-shot and periodic, masked LVT, TPR blocking, ISR/EOI)
 * and the I/O APIC (version, ID, redirection of the PIT's and the RTC's ISA
 * IRQs as the MP table routes them). The 8259s are remapped to 0x20/0x28
 * and masked. Only outcomes are printed, so the output does not depend on
 * timing. If no MP table is found the guest stops after that check. */
#include "../lib/sys/sys.h"

#define SPIN_MAX 50000000u

/* local APIC registers */
#define LAPIC_ID    0x020
#define LAPIC_VER   0x030
#define LAPIC_TPR   0x080
#define LAPIC_EOI   0x0b0
#define LAPIC_SVR   0x0f0
#define LAPIC_ISR   0x100
#define LAPIC_IRR   0x200
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0
#define LVT_MASKED   0x10000u
#define LVT_PERIODIC 0x20000u

#define VEC_TIMER 0x40
#define VEC_PIT   0x50
#define VEC_RTC   0x51
#define VEC_SPUR  0xff

struct mp_info {
    int found, fps_ok, cfg_ok;
    uint32_t lapic, ioapic;
    unsigned n_cpus, bsp_id, ioapic_id;
    int isa_bus;
    int pin_irq0, pin_irq8;
};
static struct mp_info mp;
static uint32_t lapic_base, ioapic_base;

static uint8_t sum_bytes(const uint8_t *p, uint32_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static const uint8_t *scan_fps(uint32_t start, uint32_t len)
{
    for (uint32_t a = start; a + 16 <= start + len; a += 16) {
        const uint8_t *p = (const uint8_t *)a;
        if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_')
            return p;
    }
    return NULL;
}

static void mp_parse(void)
{
    mp.isa_bus = mp.pin_irq0 = mp.pin_irq8 = -1;
    uint16_t ebda_seg;             /* BDA word at 0x40e (asm: GCC flags low constant addresses) */
    __asm__ volatile("movw 0x40e, %0" : "=r"(ebda_seg));
    uint32_t ebda = (uint32_t)ebda_seg << 4;
    const uint8_t *fps = NULL;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        fps = scan_fps(ebda, 1024);
    if (!fps)
        fps = scan_fps(0x9fc00, 1024);
    if (!fps)
        fps = scan_fps(0xf0000, 0x10000);
    if (!fps)
        return;
    mp.found = 1;
    mp.fps_ok = fps[8] == 1 && sum_bytes(fps, 16u * fps[8]) == 0;
    const uint8_t *cfg = (const uint8_t *)*(const uint32_t *)(fps + 4);
    if (!cfg || cfg[0] != 'P' || cfg[1] != 'C' || cfg[2] != 'M' || cfg[3] != 'P')
        return;
    uint16_t len = *(const uint16_t *)(cfg + 4);
    uint16_t count = *(const uint16_t *)(cfg + 34);
    mp.cfg_ok = sum_bytes(cfg, len) == 0;
    mp.lapic = *(const uint32_t *)(cfg + 36);
    const uint8_t *e = cfg + 44;
    for (unsigned i = 0; i < count && e < cfg + len; i++) {
        switch (e[0]) {
        case 0:                                   /* processor */
            if (e[3] & 1) {
                mp.n_cpus++;
                if (e[3] & 2)
                    mp.bsp_id = e[1];
            }
            e += 20;
            break;
        case 1:                                   /* bus */
            if (e[2] == 'I' && e[3] == 'S' && e[4] == 'A')
                mp.isa_bus = e[1];
            e += 8;
            break;
        case 2:                                   /* I/O APIC */
            if (e[3] & 1) {
                mp.ioapic = *(const uint32_t *)(e + 4);
                mp.ioapic_id = e[1];
            }
            e += 8;
            break;
        case 3:                                   /* I/O interrupt */
            /* type, INT type, flags (2), source bus, source IRQ, dest APIC, dest pin */
            if (e[1] == 0 && e[4] == mp.isa_bus) {
                if (e[5] == 0)
                    mp.pin_irq0 = e[7];
                if (e[5] == 8)
                    mp.pin_irq8 = e[7];
            }
            e += 8;
            break;
        default:
            e += 8;
            break;
        }
    }
}

static uint32_t lapic_r(uint32_t reg) { return mmio_r32(lapic_base + reg); }
static void lapic_w(uint32_t reg, uint32_t v) { mmio_w32(lapic_base + reg, v); }
static uint32_t ioapic_r(uint32_t reg)
{
    mmio_w32(ioapic_base, reg);
    return mmio_r32(ioapic_base + 0x10);
}
static void ioapic_w(uint32_t reg, uint32_t v)
{
    mmio_w32(ioapic_base, reg);
    mmio_w32(ioapic_base + 0x10, v);
}
static int vec_bit(uint32_t base, unsigned vec) { return (lapic_r(base + 0x10 * (vec / 32)) >> (vec % 32)) & 1; }

static volatile uint32_t timer_ticks, pit_ticks, rtc_ticks, spurious;
static volatile uint32_t timer_isr_bit, timer_vec, rtc_regc;

static void timer_handler(struct trap_frame *f)
{
    timer_ticks++;
    timer_vec = f->vector;
    timer_isr_bit = vec_bit(LAPIC_ISR, VEC_TIMER);
    lapic_w(LAPIC_EOI, 0);
}
static void pit_handler(struct trap_frame *f)
{
    (void)f;
    pit_ticks++;
    lapic_w(LAPIC_EOI, 0);
}
static void rtc_handler(struct trap_frame *f)
{
    (void)f;
    rtc_ticks++;
    outb(0x70, 0x8c);
    rtc_regc = inb(0x71);
    lapic_w(LAPIC_EOI, 0);
}
static void spurious_handler(struct trap_frame *f)
{
    (void)f;
    spurious++;                  /* no EOI for the spurious vector */
}

static void sti_hlt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

static void pic_remap_and_mask(void)
{
    static const uint8_t icw[2][4] = {{0x11, 0x20, 0x04, 0x01}, {0x11, 0x28, 0x02, 0x01}};
    for (int p = 0; p < 2; p++) {
        uint16_t base = p ? 0xa0 : 0x20;
        outb(base, icw[p][0]);
        for (int i = 1; i < 4; i++)
            outb((uint16_t)(base + 1), icw[p][i]);
        outb((uint16_t)(base + 1), 0xff);
    }
}

static void mp_checks(void)
{
    mp_parse();
    check_true(mp.found, "MP floating pointer structure found");
    if (!mp.found)
        return;
    check_true(mp.fps_ok, "MP floating pointer: length 1, checksum");
    check_true(mp.cfg_ok, "MP configuration table: PCMP, checksum");
    check_u32(mp.lapic, 0xfee00000u, "MP table: local APIC at 0xfee00000");
    check_u32(mp.n_cpus, 1, "MP table: one enabled processor");
    check_u32(mp.ioapic, 0xfec00000u, "MP table: I/O APIC at 0xfec00000");
    check_true(mp.isa_bus >= 0, "MP table: an ISA bus");
    check_u32((uint32_t)mp.pin_irq0, 2, "MP table: ISA IRQ0 (PIT) on I/O APIC pin 2");
    check_u32((uint32_t)mp.pin_irq8, 8, "MP table: ISA IRQ8 (RTC) on I/O APIC pin 8");
}

static void lapic_checks(void)
{
    uint64_t base = rdmsr(0x1b);
    check_u32((uint32_t)base & 0xfffff900u, 0xfee00900u, "IA32_APIC_BASE: 0xfee00000, enabled, BSP");
    lapic_base = (uint32_t)base & 0xfffff000u;
    check_u32(lapic_r(LAPIC_ID) >> 24, mp.bsp_id, "LAPIC ID matches the MP table's BSP");
    check_u32(lapic_r(LAPIC_VER) & 0x00ff00ffu, 0x00050014u, "LAPIC version 0x14, max LVT 5");
    lapic_w(LAPIC_SVR, 0x100 | VEC_SPUR);
    check_u32(lapic_r(LAPIC_SVR) & 0x1ff, 0x1ff, "SVR: software enable, spurious vector 0xff");
    lapic_w(LAPIC_TPR, 0);
    lapic_w(LAPIC_TIMER_DIV, 0xb);                /* divide by 1 */

    /* one-shot */
    timer_ticks = 0;
    lapic_w(LAPIC_LVT_TIMER, VEC_TIMER);
    lapic_w(LAPIC_TIMER_INIT, 1000000);           /* 1 ms at 1 GHz */
    for (int i = 0; i < 1000 && !timer_ticks; i++)
        sti_hlt();
    check_u32(timer_ticks, 1, "one-shot timer: one interrupt");
    check_u32(timer_vec, VEC_TIMER, "one-shot timer: LVT vector 0x40");
    check_u32(timer_isr_bit, 1, "ISR bit of vector 0x40 set in the handler");
    check_u32(vec_bit(LAPIC_ISR, VEC_TIMER), 0, "ISR bit clear after EOI");
    check_u32(lapic_r(LAPIC_TIMER_CUR), 0, "one-shot timer: current count stays 0");

    /* periodic */
    timer_ticks = 0;
    lapic_w(LAPIC_LVT_TIMER, VEC_TIMER | LVT_PERIODIC);
    lapic_w(LAPIC_TIMER_INIT, 500000);
    for (int i = 0; i < 1000 && timer_ticks < 3; i++)
        sti_hlt();
    check_true(timer_ticks >= 3, "periodic timer: three interrupts");
    uint32_t cur = lapic_r(LAPIC_TIMER_CUR);
    check_true(cur > 0 && cur <= 500000, "periodic timer: current count reloads");
    lapic_w(LAPIC_TIMER_INIT, 0);
    lapic_w(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
    /* a periodic interrupt may already wait in IRR: let it in before counting */
    __asm__ volatile("sti");
    for (int k = 0; k < 1000; k++)
        __asm__ volatile("nop");
    __asm__ volatile("cli");
    check_u32(vec_bit(LAPIC_IRR, VEC_TIMER), 0, "stopped periodic timer: nothing left in IRR");

    /* masked LVT: the count expires, nothing is delivered */
    timer_ticks = 0;
    lapic_w(LAPIC_TIMER_INIT, 10000);
    __asm__ volatile("sti");
    uint32_t i;
    for (i = 0; i < SPIN_MAX && lapic_r(LAPIC_TIMER_CUR) != 0; i++)
        ;
    __asm__ volatile("cli");
    check_true(i < SPIN_MAX && timer_ticks == 0, "masked timer LVT: expiry delivers nothing");

    /* TPR 0x50 blocks vector 0x40 (class 4) until lowered */
    lapic_w(LAPIC_TPR, 0x50);
    lapic_w(LAPIC_LVT_TIMER, VEC_TIMER);
    lapic_w(LAPIC_TIMER_INIT, 10000);
    __asm__ volatile("sti");
    for (i = 0; i < SPIN_MAX && !vec_bit(LAPIC_IRR, VEC_TIMER); i++)
        ;
    __asm__ volatile("cli");
    check_true(i < SPIN_MAX, "TPR 0x50: vector 0x40 waits in IRR");
    check_u32(timer_ticks, 0, "TPR 0x50: vector 0x40 not delivered");
    __asm__ volatile("sti");
    lapic_w(LAPIC_TPR, 0);
    for (i = 0; i < 1000 && !timer_ticks; i++)
        __asm__ volatile("nop");
    __asm__ volatile("cli");
    check_u32(timer_ticks, 1, "TPR 0: the pending vector 0x40 is delivered");
    lapic_w(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
}

static void ioapic_checks(void)
{
    ioapic_base = mp.ioapic;
    uint32_t ver = ioapic_r(1);
    check_u32((ver >> 16) & 0xff, 23, "I/O APIC: 24 redirection entries");
    check_u32((ioapic_r(0) >> 24) & 0xf, mp.ioapic_id & 0xf, "I/O APIC ID matches the MP table");
    uint32_t dest = (lapic_r(LAPIC_ID) >> 24) << 24;

    /* PIT (ISA IRQ0) -> pin from the MP table -> vector 0x50 */
    unsigned pin = (unsigned)mp.pin_irq0;
    ioapic_w(0x10 + 2 * pin + 1, dest);
    ioapic_w(0x10 + 2 * pin, VEC_PIT);            /* fixed, physical, edge, high, unmasked */
    check_u32(ioapic_r(0x10 + 2 * pin) & 0x1efffu, VEC_PIT, "redirection entry for the PIT reads back");
    outb(0x43, 0x34);
    outb(0x40, 11932 & 0xff);
    outb(0x40, 11932 >> 8);
    pit_ticks = 0;
    for (int i = 0; i < 100 && pit_ticks < 2; i++)
        sti_hlt();
    check_true(pit_ticks >= 2, "PIT interrupts through the I/O APIC at vector 0x50");
    ioapic_w(0x10 + 2 * pin, LVT_MASKED | VEC_PIT);

    /* RTC (ISA IRQ8) -> vector 0x51 */
    pin = (unsigned)mp.pin_irq8;
    ioapic_w(0x10 + 2 * pin + 1, dest);
    ioapic_w(0x10 + 2 * pin, VEC_RTC);
    outb(0x70, 0x8a);
    uint8_t a = inb(0x71);
    outb(0x70, 0x8a);
    outb(0x71, (uint8_t)((a & 0xf0) | 0x06));
    outb(0x70, 0x8b);
    uint8_t b = inb(0x71);
    outb(0x70, 0x8b);
    outb(0x71, (uint8_t)(b | 0x40));
    outb(0x70, 0x8c);
    (void)inb(0x71);
    rtc_ticks = 0;
    for (int i = 0; i < 100 && rtc_ticks < 3; i++)
        sti_hlt();
    check_true(rtc_ticks >= 3, "RTC periodic interrupts through the I/O APIC at vector 0x51");
    check_u32(rtc_regc & 0xc0, 0xc0, "RTC register C: IRQF and PF");
    ioapic_w(0x10 + 2 * pin, LVT_MASKED | VEC_RTC);
    outb(0x70, 0x8b);
    outb(0x71, b);
    check_u32(spurious, 0, "no spurious-vector interrupts");
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    (void)info;
    serial_init();
    sys_init();
    printf("apic guest\n");
    pic_remap_and_mask();
    trap_set_handler(VEC_TIMER, timer_handler);
    trap_set_handler(VEC_PIT, pit_handler);
    trap_set_handler(VEC_RTC, rtc_handler);
    trap_set_handler(VEC_SPUR, spurious_handler);
    mp_checks();
    if (mp.found && mp.cfg_ok && mp.pin_irq0 >= 0 && mp.pin_irq8 >= 0) {
        lapic_checks();
        ioapic_checks();
    }
    return check_finish();
}
