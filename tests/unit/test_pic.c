/* 8259A PIC pair: programmed sequences -> exact registers, vectors and INTR. */
#include <criterion/criterion.h>

#include "devices/pic8259.h"

static int out_changes;
static bool out_level;
static void on_output(void *opaque, bool level)
{
    (void)opaque;
    out_changes++;
    out_level = level;
}

/* The usual PC initialisation: edge, cascade, ICW4 8086 mode; bases 0x20 / 0x28. */
static void init_pc(struct pic *p, uint8_t base_m, uint8_t base_s)
{
    pic_init(p, on_output, NULL);
    out_changes = 0;
    out_level = false;
    pic_write(p, 0, 0, 0x11);
    pic_write(p, 0, 1, base_m);
    pic_write(p, 0, 1, 0x04);
    pic_write(p, 0, 1, 0x01);
    pic_write(p, 1, 0, 0x11);
    pic_write(p, 1, 1, base_s);
    pic_write(p, 1, 1, 0x02);
    pic_write(p, 1, 1, 0x01);
    pic_write(p, 0, 1, 0x00);
    pic_write(p, 1, 1, 0x00);
}

Test(pic, init_sets_bases_and_clears_masks)
{
    struct pic p;
    init_pc(&p, 0x20, 0x28);
    cr_assert_eq(p.c[0].base, 0x20);
    cr_assert_eq(p.c[1].base, 0x28);
    cr_assert_eq(p.c[0].icw3, 0x04);
    cr_assert_eq(p.c[1].icw3, 0x02);
    cr_assert_eq(pic_read(&p, 0, 1), 0x00);
    cr_assert_not(pic_pending(&p));
}

Test(pic, edge_irq_delivers_vector_and_sets_isr)
{
    struct pic p;
    init_pc(&p, 0x20, 0x28);
    pic_set_irq(&p, 1, true);
    cr_assert(pic_pending(&p));
    cr_assert(out_level);
    cr_assert_eq(pic_read(&p, 0, 0), 0x02); /* IRR by default */
    cr_assert_eq(pic_intack(&p), 0x21);
    cr_assert_not(pic_pending(&p));
    pic_write(&p, 0, 0, 0x0b);              /* OCW3: read ISR */
    cr_assert_eq(pic_read(&p, 0, 0), 0x02);
    pic_write(&p, 0, 0, 0x20);              /* non-specific EOI */
    cr_assert_eq(pic_read(&p, 0, 0), 0x00);
    /* The line is still high but no new edge: nothing pending. */
    cr_assert_not(pic_pending(&p));
    pic_set_irq(&p, 1, false);
    pic_set_irq(&p, 1, true);
    cr_assert(pic_pending(&p));
}

Test(pic, mask_blocks_and_unmask_releases)
{
    struct pic p;
    init_pc(&p, 0x08, 0x70);
    pic_write(&p, 0, 1, 0x01);              /* mask IRQ 0 */
    pic_set_irq(&p, 0, true);
    cr_assert_not(pic_pending(&p));
    cr_assert_eq(pic_read(&p, 0, 0), 0x01); /* IRR still records it */
    pic_write(&p, 0, 1, 0x00);
    cr_assert(pic_pending(&p));
    cr_assert_eq(pic_intack(&p), 0x08);
}

Test(pic, priority_and_nesting)
{
    struct pic p;
    init_pc(&p, 0x20, 0x28);
    pic_set_irq(&p, 3, true);
    cr_assert_eq(pic_intack(&p), 0x23);
    pic_set_irq(&p, 5, true);               /* lower priority than 3 in service */
    cr_assert_not(pic_pending(&p));
    pic_set_irq(&p, 1, true);               /* higher: nests */
    cr_assert(pic_pending(&p));
    cr_assert_eq(pic_intack(&p), 0x21);
    pic_write(&p, 0, 0, 0x0b);
    cr_assert_eq(pic_read(&p, 0, 0), 0x0a); /* ISR: 1 and 3 */
    pic_write(&p, 0, 0, 0x20);              /* EOI clears the highest (1) */
    cr_assert_eq(pic_read(&p, 0, 0), 0x08);
    pic_write(&p, 0, 0, 0x63);              /* specific EOI for 3 */
    cr_assert_eq(pic_read(&p, 0, 0), 0x00);
    cr_assert_eq(pic_intack(&p), 0x25);
}

Test(pic, cascade_slave_irq)
{
    struct pic p;
    init_pc(&p, 0x20, 0x28);
    pic_set_irq(&p, 8 + 4, true);           /* IRQ 12 */
    cr_assert(pic_pending(&p));
    cr_assert_eq(pic_intack(&p), 0x2c);
    pic_write(&p, 0, 0, 0x0b);
    pic_write(&p, 1, 0, 0x0b);
    cr_assert_eq(pic_read(&p, 0, 0), 0x04); /* master ISR: cascade line */
    cr_assert_eq(pic_read(&p, 1, 0), 0x10);
    pic_write(&p, 1, 0, 0x20);
    pic_write(&p, 0, 0, 0x20);
    cr_assert_eq(pic_read(&p, 0, 0), 0x00);
    cr_assert_eq(pic_read(&p, 1, 0), 0x00);
}

Test(pic, spurious_irq7_and_irq15)
{
    struct pic p;
    init_pc(&p, 0x20, 0x28);
    cr_assert_eq(pic_intack(&p), 0x27);     /* nothing pending: spurious IRQ 7 */
    pic_write(&p, 0, 0, 0x0b);
    cr_assert_eq(pic_read(&p, 0, 0), 0x00); /* no ISR bit for a spurious IRQ */
    /* Slave request withdrawn between INTR and INTA: spurious IRQ 15. */
    p.c[0].irr |= 0x04;
    cr_assert_eq(pic_intack(&p), 0x2f);
    cr_assert_eq(pic_read(&p, 0, 0), 0x04); /* master still saw the cascade */
    cr_assert_eq(p.spurious, 2);
}

Test(pic, level_triggered_via_elcr)
{
    struct pic p;
    init_pc(&p, 0x20, 0x28);
    p.c[1].elcr = 0x08;                     /* IRQ 11 level */
    pic_set_irq(&p, 11, true);
    cr_assert_eq(pic_intack(&p), 0x2b);
    pic_write(&p, 1, 0, 0x20);
    pic_write(&p, 0, 0, 0x20);
    cr_assert(pic_pending(&p));             /* line still high: pending again */
    pic_set_irq(&p, 11, false);
    cr_assert_not(pic_pending(&p));
}

Test(pic, auto_eoi_and_poll)
{
    struct pic p;
    pic_init(&p, on_output, NULL);
    pic_write(&p, 0, 0, 0x13);              /* single, ICW4 */
    pic_write(&p, 0, 1, 0x40);
    pic_write(&p, 0, 1, 0x03);              /* AEOI */
    pic_write(&p, 0, 1, 0x00);
    pic_set_irq(&p, 6, true);
    cr_assert_eq(pic_intack(&p), 0x46);
    pic_write(&p, 0, 0, 0x0b);
    cr_assert_eq(pic_read(&p, 0, 0), 0x00); /* AEOI: ISR never set */
    pic_set_irq(&p, 6, false);
    pic_set_irq(&p, 4, true);
    pic_write(&p, 0, 0, 0x0c);              /* poll */
    cr_assert_eq(pic_read(&p, 0, 0), 0x84);
    cr_assert_not(pic_pending(&p));
}

Test(pic, rotation_changes_priority)
{
    struct pic p;
    init_pc(&p, 0x20, 0x28);
    pic_write(&p, 0, 0, 0xc4);              /* set priority: IRQ 4 lowest, 5 highest */
    pic_set_irq(&p, 1, true);
    pic_set_irq(&p, 6, true);
    cr_assert_eq(pic_intack(&p), 0x26);
}
