/* The post-BIOS entry state (frontend/bios_entry.c): the 8259 pair, the PIT
 * and the RTC as POST leaves them, the IVT, and the real-mode stubs run by
 * the interpreter (the IRQ 0 stub counts the BDA tick and sends EOI, IRQ 8's
 * reads RTC register C and sends EOI to both PICs, the rest IRET). */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/vcpu.h"
#include "devices/cmos_rtc.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "frontend/bios_entry.h"
#include "harness.h"

static struct harness *h;
static struct vclock clk;
static uint64_t fake_icount;
static struct pic pic;
static struct pit pit;
static struct cmos_rtc rtc;

static void setup(void)
{
    h = harness_new(H_REAL16);
    cr_assert_not_null(h);
    fake_icount = 0;
    vclock_init(&clk, true, 0, &fake_icount);
    pic_init(&pic, NULL, NULL);
    pit_init(&pit, &clk, NULL, NULL);
    cmos_init(&rtc, &clk, 1767225600, HARNESS_RAM, NULL, NULL);
    cr_assert_eq(pic_register(&pic, &h->m.io), 0);
    cr_assert_eq(pit_register(&pit, &h->m.io), 0);
    cr_assert_eq(cmos_register(&rtc, &h->m.io), 0);
    bios_entry_setup(&h->m);
}

static void teardown(void) { harness_free(h); }

TestSuite(bios_entry, .init = setup, .fini = teardown);

Test(bios_entry, pics_pit_and_rtc_as_post_leaves_them)
{
    cr_assert_eq(pic.c[0].base, 0x08);
    cr_assert_eq(pic.c[1].base, 0x70);
    cr_assert_eq(pic.c[0].init_step, 0);
    cr_assert_eq(pic.c[1].init_step, 0);
    cr_assert_eq(pic.c[0].icw3, 0x04, "slave on IRQ 2");
    cr_assert_eq(pic.c[1].icw3, 0x02, "cascade identity 2");
    cr_assert_eq(pic.c[0].imr, 0xb8);
    cr_assert_eq(pic.c[1].imr, 0x8e);
    cr_assert_not(pic.c[0].auto_eoi);
    cr_assert_eq(pit.ch[0].mode, 2);
    cr_assert_eq(pit.ch[0].count, 65536u);
    cr_assert_eq(pit.ch[0].rw, 3);
    cr_assert_eq(rtc.ram[0x0a], 0x26);
    cr_assert_eq(rtc.ram[0x0b] & 0x03, 0x02, "24-hour, no DST");
    /* counter 0 counts: one tick of 1.19 MHz after 1 us */
    fake_icount = 1000;
    cr_assert_eq(pit_counter(&pit, 0), 65536u - 1u);
}

Test(bios_entry, ivt_points_into_segment_f000)
{
    for (int vec = 0; vec < 256; vec++) {
        uint32_t e = harness_read32(h, 4u * (uint32_t)vec);
        uint16_t want = bios_stub_iret();
        if (vec >= 0x08 && vec < 0x10) want = bios_stub_irq(vec - 0x08);
        if (vec >= 0x70 && vec < 0x78) want = bios_stub_irq(8 + vec - 0x70);
        cr_assert_eq(e >> 16, 0xf000u, "vector 0x%02x segment", vec);
        cr_assert_eq(e & 0xffff, want, "vector 0x%02x offset", vec);
    }
    uint8_t b;
    harness_peek(h, 0xf0000u + bios_stub_iret(), &b, 1);
    cr_assert_eq(b, 0xcf, "IRET");
    for (int irq = 0; irq < 16; irq++)
        for (int other = 0; other < irq; other++)
            cr_assert_neq(bios_stub_irq(irq), bios_stub_irq(other));
}

/* mov ax,0x1234; mov bx,0x2000; mov ds,bx; int N */
static enum harness_result run_int(uint8_t vec)
{
    const uint8_t code[] = { 0xb8, 0x34, 0x12, 0xbb, 0x00, 0x20, 0x8e, 0xdb, 0xcd, vec };
    return harness_run_max(h, code, sizeof(code), 1000);
}

static void check_preserved(void)
{
    cr_assert_eq(h->v->r[R_EAX] & 0xffff, 0x1234);
    cr_assert_eq(h->v->seg[S_DS].sel, 0x2000);
    cr_assert_eq(h->v->r[R_ESP] & 0xffff, 0xff00);
}

Test(bios_entry, irq0_stub_counts_the_tick_and_acknowledges)
{
    harness_write32(h, 0x46c, 0x0000ffff);
    pic_set_irq(&pic, 0, true);
    cr_assert_eq(pic_intack(&pic), 0x08);
    cr_assert_eq(pic.c[0].isr, 0x01);
    cr_assert_eq(run_int(0x08), HR_DONE);
    check_preserved();
    cr_assert_eq(harness_read32(h, 0x46c), 0x00010000u, "tick count with carry");
    cr_assert_eq(pic.c[0].isr, 0x00, "EOI sent");
}

Test(bios_entry, irq8_stub_reads_rtc_c_and_acknowledges_both)
{
    pic_set_irq(&pic, 8, true);
    cr_assert_eq(pic_intack(&pic), 0x70);
    cr_assert_eq(pic.c[1].isr, 0x01);
    cr_assert_eq(pic.c[0].isr, 0x04);
    rtc.ram[0x0c] = 0xc0;                 /* IRQF | PF pending */
    cr_assert_eq(run_int(0x70), HR_DONE);
    check_preserved();
    cr_assert_eq(rtc.ram[0x0c], 0x00, "register C read");
    cr_assert_eq(pic.c[1].isr, 0x00);
    cr_assert_eq(pic.c[0].isr, 0x00);
}

Test(bios_entry, slave_irq_stub_acknowledges_both)
{
    pic_set_irq(&pic, 14, true);
    cr_assert_eq(pic_intack(&pic), 0x76);
    cr_assert_eq(run_int(0x76), HR_DONE);
    check_preserved();
    cr_assert_eq(pic.c[1].isr, 0x00);
    cr_assert_eq(pic.c[0].isr, 0x00);
}

Test(bios_entry, other_vectors_just_return)
{
    pic_set_irq(&pic, 1, true);
    cr_assert_eq(pic_intack(&pic), 0x09);
    cr_assert_eq(run_int(0x21), HR_DONE);
    check_preserved();
    cr_assert_eq(pic.c[0].isr, 0x02, "no EOI from the plain IRET");
    cr_assert_eq(harness_read32(h, 0x46c), 0u);
}
