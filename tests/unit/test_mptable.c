/* MP table: written into guest RAM, then found and parsed back the way a
 * guest does (scan for "_MP_" on 16-byte boundaries, check both checksums,
 * walk the entries), with code independent of frontend/mptable.c. */
#include <criterion/criterion.h>
#include <string.h>

#include "frontend/mptable.h"
#include "memory/phys.h"

static struct phys_mem pm;

static void init_mem(void) { cr_assert_eq(phys_init(&pm, 1u << 20), 0); }
static void fini_mem(void) { phys_destroy(&pm); }

static uint8_t b(uint32_t a) { return pm.ram[a]; }
static uint16_t w(uint32_t a) { return (uint16_t)(pm.ram[a] | pm.ram[a + 1] << 8); }
static uint32_t d(uint32_t a) { return w(a) | (uint32_t)w(a + 2) << 16; }

static uint8_t sum(uint32_t a, uint32_t len)
{
    unsigned s = 0;
    for (uint32_t i = 0; i < len; i++) s += pm.ram[a + i];
    return (uint8_t)s;
}

/* Where a guest would find the floating pointer: 16-byte aligned in [lo, hi). */
static uint32_t scan(uint32_t lo, uint32_t hi)
{
    for (uint32_t a = lo; a + 16 <= hi; a += 16)
        if (!memcmp(pm.ram + a, "_MP_", 4) && sum(a, 16) == 0) return a;
    return 0;
}

struct parsed {
    int ncpu, nbus, nioapic, nioint, nlocal;
    uint8_t cpu_id[40], cpu_ver[40], cpu_flags[40];
    uint32_t cpu_sig[40], cpu_feat[40];
    int irq_pin[16];         /* ISA IRQ -> pin (-1: no entry) */
    uint16_t irq_flags[16];
    uint8_t irq_dest[16], irq_type[16];
    uint8_t ioapic_id, ioapic_ver, ioapic_flags;
    uint32_t ioapic_addr;
    char bus_type[7];
    uint8_t local_type[4], local_dest[4], local_lint[4];
};

/* Walk the configuration table's entries; fails the test on a malformed one. */
static void parse(uint32_t table, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < 16; i++) p->irq_pin[i] = -1;
    uint16_t count = w(table + 34);
    uint32_t at = table + 44, end = table + w(table + 4);
    int last_type = 0;
    for (int n = 0; n < count; n++) {
        cr_assert_lt(at, end, "entry %d beyond the table", n);
        uint8_t type = b(at);
        cr_assert_geq(type, last_type, "entries out of type order");
        last_type = type;
        switch (type) {
        case 0:
            cr_assert_lt(p->ncpu, 40);
            p->cpu_id[p->ncpu] = b(at + 1);
            p->cpu_ver[p->ncpu] = b(at + 2);
            p->cpu_flags[p->ncpu] = b(at + 3);
            p->cpu_sig[p->ncpu] = d(at + 4);
            p->cpu_feat[p->ncpu] = d(at + 8);
            cr_assert_eq(d(at + 12), 0);
            cr_assert_eq(d(at + 16), 0);
            p->ncpu++;
            at += 20;
            break;
        case 1:
            memcpy(p->bus_type, pm.ram + at + 2, 6);
            cr_assert_eq(b(at + 1), 0);
            p->nbus++;
            at += 8;
            break;
        case 2:
            p->ioapic_id = b(at + 1);
            p->ioapic_ver = b(at + 2);
            p->ioapic_flags = b(at + 3);
            p->ioapic_addr = d(at + 4);
            p->nioapic++;
            at += 8;
            break;
        case 3: {
            uint8_t irq = b(at + 5);
            cr_assert_lt(irq, 16);
            cr_assert_eq(b(at + 4), 0, "source bus");
            cr_assert_eq(p->irq_pin[irq], -1, "IRQ %d listed twice", irq);
            p->irq_type[irq] = b(at + 1);
            p->irq_flags[irq] = w(at + 2);
            p->irq_dest[irq] = b(at + 6);
            p->irq_pin[irq] = b(at + 7);
            p->nioint++;
            at += 8;
            break;
        }
        case 4:
            cr_assert_lt(p->nlocal, 4);
            p->local_type[p->nlocal] = b(at + 1);
            cr_assert_eq(w(at + 2), 0);
            p->local_dest[p->nlocal] = b(at + 6);
            p->local_lint[p->nlocal] = b(at + 7);
            p->nlocal++;
            at += 8;
            break;
        default:
            cr_assert_fail("unknown entry type %d", type);
        }
    }
    cr_assert_eq(at, end, "entry count and table length disagree");
}

Test(mptable, default_two_cpu_table_parses_back, .init = init_mem, .fini = fini_mem)
{
    struct mptable_config c;
    mptable_default_config(&c, 2);
    int n = mptable_write(&pm, MPTABLE_ADDR, MPTABLE_MAX_LEN, &c);
    cr_assert_eq(n, 16 + 44 + 2 * 20 + 8 + 8 + 15 * 8 + 2 * 8);
    cr_assert_eq((uint32_t)n, mptable_size(&c));

    /* Found where Linux looks: the last KiB of base memory / the EBDA. */
    uint32_t fp = scan(0x9fc00, 0xa0000);
    cr_assert_eq(fp, 0x9fc00u);
    cr_assert_eq(scan(0, 0x400), 0);
    cr_assert_eq(d(fp + 4), 0x9fc10u);        /* configuration table */
    cr_assert_eq(b(fp + 8), 1);               /* length: 16 bytes */
    cr_assert_eq(b(fp + 9), 4);               /* spec 1.4 */
    cr_assert_eq(b(fp + 11), 0);              /* no default configuration */
    cr_assert_eq(b(fp + 12), 0);              /* virtual-wire mode */
    cr_assert_eq(w(fp + 13) | b(fp + 15), 0);

    uint32_t t = d(fp + 4);
    cr_assert_eq(memcmp(pm.ram + t, "PCMP", 4), 0);
    uint16_t len = w(t + 4);
    cr_assert_eq(len, n - 16);
    cr_assert_eq(sum(t, len), 0);
    cr_assert_eq(b(t + 6), 4);
    cr_assert_eq(memcmp(pm.ram + t + 8, "BT86    ", 8), 0);
    cr_assert_eq(memcmp(pm.ram + t + 16, "BT86 PC     ", 12), 0);
    cr_assert_eq(d(t + 28), 0);               /* no OEM table */
    cr_assert_eq(w(t + 32), 0);
    cr_assert_eq(w(t + 34), 2 + 1 + 1 + 15 + 2);
    cr_assert_eq(d(t + 36), 0xfee00000u);
    cr_assert_eq(w(t + 40), 0);               /* no extended table */
    cr_assert_eq(b(t + 42), 0);

    struct parsed p;
    parse(t, &p);
    cr_assert_eq(p.ncpu, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(p.cpu_id[i], i);
        cr_assert_eq(p.cpu_ver[i], 0x14);
        cr_assert_eq(p.cpu_flags[i], i == 0 ? 0x03 : 0x01);  /* enabled; BSP */
        cr_assert_eq(p.cpu_sig[i], 0x6f1u);
        cr_assert_eq((p.cpu_sig[i] >> 8) & 0xf, 6);           /* family 6 */
        cr_assert_eq(p.cpu_feat[i], 0x0100ab3du);
        /* FPU, TSC, CX8 and APIC present. */
        cr_assert_eq(p.cpu_feat[i] & 0x311u, 0x311u);
    }
    cr_assert_eq(p.nbus, 1);
    cr_assert_str_eq(p.bus_type, "ISA   ");
    cr_assert_eq(p.nioapic, 1);
    cr_assert_eq(p.ioapic_id, 2);
    cr_assert_eq(p.ioapic_ver, 0x11);
    cr_assert_eq(p.ioapic_flags, 1);
    cr_assert_eq(p.ioapic_addr, 0xfec00000u);
    cr_assert_eq(p.nioint, 15);
    for (int irq = 0; irq < 16; irq++) {
        int want = irq == 0 ? 2 : irq == 2 ? -1 : irq;
        cr_assert_eq(p.irq_pin[irq], want, "IRQ %d", irq);
        if (want < 0) continue;
        cr_assert_eq(p.irq_type[irq], 0, "IRQ %d: vectored interrupt", irq);
        cr_assert_eq(p.irq_flags[irq], 0, "IRQ %d: conforms to the bus", irq);
        cr_assert_eq(p.irq_dest[irq], 2, "IRQ %d: to the I/O APIC", irq);
    }
    cr_assert_eq(p.nlocal, 2);
    cr_assert_eq(p.local_type[0], 3);         /* ExtINT */
    cr_assert_eq(p.local_dest[0], 0xff);
    cr_assert_eq(p.local_lint[0], 0);
    cr_assert_eq(p.local_type[1], 1);         /* NMI */
    cr_assert_eq(p.local_dest[1], 0xff);
    cr_assert_eq(p.local_lint[1], 1);
}

Test(mptable, largest_configuration_fits_the_reserved_kib, .init = init_mem, .fini = fini_mem)
{
    struct mptable_config c;
    mptable_default_config(&c, MPTABLE_MAX_CPUS);
    int n = mptable_write(&pm, MPTABLE_ADDR, MPTABLE_MAX_LEN, &c);
    cr_assert_eq(n, 16 + 44 + 32 * 20 + 8 + 8 + 15 * 8 + 2 * 8);
    uint32_t fp = scan(0x9fc00, 0xa0000);
    cr_assert_eq(fp, 0x9fc00u);
    uint32_t t = d(fp + 4);
    cr_assert_eq(sum(t, w(t + 4)), 0);
    struct parsed p;
    parse(t, &p);
    cr_assert_eq(p.ncpu, 32);
    cr_assert_eq(p.cpu_id[31], 31);
    cr_assert_eq(p.cpu_flags[31], 0x01);
    cr_assert_eq(p.ioapic_id, 32);
    cr_assert_eq(p.irq_dest[15], 32);
}

Test(mptable, custom_routing_and_flags, .init = init_mem, .fini = fini_mem)
{
    struct mptable_config c;
    mptable_default_config(&c, 1);
    for (int i = 0; i < 16; i++) c.isa_pin[i] = -1;
    c.isa_pin[9] = 20;
    c.isa_flags[9] = 0x000f;                  /* level, active low */
    c.ioapic_id = 7;
    c.cpu_features = 0x00000211u;
    int n = mptable_write(&pm, 0xf0000, 0x10000, &c);
    cr_assert_eq(n, 16 + 44 + 20 + 8 + 8 + 8 + 16);
    cr_assert_eq(scan(0x9fc00, 0xa0000), 0);
    uint32_t fp = scan(0xf0000, 0x100000);
    cr_assert_eq(fp, 0xf0000u);
    uint32_t t = d(fp + 4);
    cr_assert_eq(t, 0xf0010u);
    cr_assert_eq(sum(t, w(t + 4)), 0);
    struct parsed p;
    parse(t, &p);
    cr_assert_eq(p.ncpu, 1);
    cr_assert_eq(p.cpu_flags[0], 0x03);
    cr_assert_eq(p.cpu_feat[0], 0x211u);
    cr_assert_eq(p.nioint, 1);
    cr_assert_eq(p.irq_pin[9], 20);
    cr_assert_eq(p.irq_flags[9], 0x000f);
    cr_assert_eq(p.irq_dest[9], 7);
    cr_assert_eq(p.ioapic_id, 7);
}

Test(mptable, invalid_requests_write_nothing, .init = init_mem, .fini = fini_mem)
{
    struct mptable_config c;
    mptable_default_config(&c, 0);
    cr_assert_eq(mptable_write(&pm, MPTABLE_ADDR, MPTABLE_MAX_LEN, &c), -1);
    mptable_default_config(&c, MPTABLE_MAX_CPUS + 1);
    cr_assert_eq(mptable_write(&pm, MPTABLE_ADDR, MPTABLE_MAX_LEN, &c), -1);
    mptable_default_config(&c, 2);
    cr_assert_eq(mptable_write(&pm, MPTABLE_ADDR, 100, &c), -1);         /* too small */
    cr_assert_eq(mptable_write(&pm, MPTABLE_ADDR + 8, MPTABLE_MAX_LEN, &c), -1); /* unaligned */
    cr_assert_eq(mptable_write(&pm, 0xfffc0, MPTABLE_MAX_LEN, &c), -1);  /* runs past the end of RAM */
    cr_assert_eq(mptable_write(&pm, 0xfee00000u, MPTABLE_MAX_LEN, &c), -1); /* not RAM */
    c.isa_pin[3] = 24;                                                   /* no such I/O APIC input */
    cr_assert_eq(mptable_write(&pm, MPTABLE_ADDR, MPTABLE_MAX_LEN, &c), -1);
    uint32_t a = 0;
    while (a < pm.ram_size && pm.ram[a] == 0) a++;
    cr_assert_eq(a, pm.ram_size, "byte %#x written", a);
}
