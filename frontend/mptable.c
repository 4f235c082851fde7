/* MP Specification 1.4 floating pointer and configuration table
 * (frontend/mptable.h). Built in a host buffer, then copied into guest RAM. */
#include "frontend/errfmt.h"
#include "frontend/mptable.h"

#include <string.h>

#include "memory/phys.h"

#define FPS_LEN    16u
#define HEADER_LEN 44u
#define CPU_LEN    20u
#define SHORT_LEN  8u   /* bus, I/O APIC, I/O and local interrupt entries */
#define BUF_LEN    (FPS_LEN + HEADER_LEN + CPU_LEN * MPTABLE_MAX_CPUS + SHORT_LEN * (2 + MPTABLE_ISA_IRQS + 2))

void mptable_default_config(struct mptable_config *c, int ncpu)
{
    memset(c, 0, sizeof(*c));
    c->ncpu = ncpu;
    c->lapic_addr = 0xfee00000u;
    c->lapic_version = 0x14;
    c->ioapic_id = (uint8_t)ncpu;
    c->ioapic_version = 0x11;
    c->ioapic_addr = 0xfec00000u;
    c->cpu_signature = MPTABLE_CPU_SIGNATURE;
    c->cpu_features = MPTABLE_CPU_FEATURES;
    for (int i = 0; i < MPTABLE_ISA_IRQS; i++) c->isa_pin[i] = (int8_t)i;
    c->isa_pin[0] = 2; /* the PIT: pin 0 is the 8259's output on real boards */
    c->isa_pin[2] = -1; /* the cascade */
}

static int routed_irqs(const struct mptable_config *c)
{
    int n = 0;
    for (int i = 0; i < MPTABLE_ISA_IRQS; i++) n += c->isa_pin[i] >= 0;
    return n;
}

uint32_t mptable_size(const struct mptable_config *c)
{
    int ncpu = c->ncpu < 0 ? 0 : c->ncpu;
    return FPS_LEN + HEADER_LEN + CPU_LEN * (uint32_t)ncpu + SHORT_LEN * (2u + (uint32_t)routed_irqs(c) + 2u);
}


/* An interrupt assignment entry (types 3 and 4 share the layout). */
static uint8_t *int_entry(uint8_t *p, int type, int int_type, uint16_t flags, int bus_irq, int dest, int pin)
{
    p[0] = (uint8_t)type;
    p[1] = (uint8_t)int_type;
    wr16le(p + 2, flags);
    p[4] = 0; /* source bus: the ISA bus */
    p[5] = (uint8_t)bus_irq;
    p[6] = (uint8_t)dest;
    p[7] = (uint8_t)pin;
    return p + SHORT_LEN;
}

int mptable_write(struct phys_mem *pm, uint32_t addr, uint32_t max_len, const struct mptable_config *c)
{
    if (c->ncpu < 1 || c->ncpu > MPTABLE_MAX_CPUS || (addr & 15)) return -1;
    for (int i = 0; i < MPTABLE_ISA_IRQS; i++)
        if (c->isa_pin[i] >= 24) return -1; /* beyond the I/O APIC's inputs */
    uint32_t size = mptable_size(c);
    if (size > max_len || size > BUF_LEN) return -1;

    uint8_t buf[BUF_LEN];
    memset(buf, 0, sizeof(buf));
    uint8_t *t = buf + FPS_LEN;   /* configuration table */
    uint8_t *p = t + HEADER_LEN;  /* next entry */
    uint16_t count = 0;

    for (int i = 0; i < c->ncpu; i++, count++) {
        p[0] = MP_ENT_PROCESSOR;
        p[1] = (uint8_t)i;        /* local APIC ID */
        p[2] = c->lapic_version;
        p[3] = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
        wr32le(p + 4, c->cpu_signature);
        wr32le(p + 8, c->cpu_features);
        p += CPU_LEN;             /* bytes 12-19 reserved */
    }
    p[0] = MP_ENT_BUS;
    p[1] = 0;                     /* bus ID */
    memcpy(p + 2, "ISA   ", 6);
    p += SHORT_LEN;
    count++;
    p[0] = MP_ENT_IOAPIC;
    p[1] = c->ioapic_id;
    p[2] = c->ioapic_version;
    p[3] = 0x01;                  /* enabled */
    wr32le(p + 4, c->ioapic_addr);
    p += SHORT_LEN;
    count++;
    for (int i = 0; i < MPTABLE_ISA_IRQS; i++) {
        if (c->isa_pin[i] < 0) continue;
        p = int_entry(p, MP_ENT_IOINT, MP_INT_INT, c->isa_flags[i], i, c->ioapic_id, c->isa_pin[i]);
        count++;
    }
    /* Every local APIC (0xff): the 8259 on LINT0, NMI on LINT1. */
    p = int_entry(p, MP_ENT_LOCALINT, MP_INT_EXTINT, 0, 0, 0xff, 0);
    p = int_entry(p, MP_ENT_LOCALINT, MP_INT_NMI, 0, 0, 0xff, 1);
    count += 2;

    uint32_t table_len = (uint32_t)(p - t);
    memcpy(t, "PCMP", 4);
    wr16le(t + 4, (uint16_t)table_len);
    t[6] = 4;                     /* spec revision 1.4 */
    memcpy(t + 8, "BT86    ", 8);
    memcpy(t + 16, "BT86 PC     ", 12);
    wr16le(t + 34, count);
    wr32le(t + 36, c->lapic_addr);
    /* OEM table pointer/size and the extended table: none. */
    t[7] = sum8_complement(t, table_len);

    uint8_t *f = buf;
    memcpy(f, "_MP_", 4);
    wr32le(f + 4, addr + FPS_LEN);
    f[8] = 1;                     /* length in 16-byte units */
    f[9] = 4;                     /* spec revision 1.4 */
    f[11] = 0;                    /* feature 1: a configuration table is present */
    f[12] = 0;                    /* feature 2 bit 7 clear: virtual-wire mode, no IMCR */
    f[10] = sum8_complement(f, FPS_LEN);

    if (phys_copy_in(pm, addr, buf, size)) return -1;
    return (int)size;
}
