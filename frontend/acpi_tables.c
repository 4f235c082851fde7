/* ACPI 1.0 tables: RSDP, RSDT, FADT, FACS, MADT, DSDT (frontend/acpi_tables.h).
 * Built in a host buffer with little-endian helpers, then copied into guest
 * RAM in one go. */
#include "frontend/errfmt.h"
#include "frontend/acpi_tables.h"

#include <string.h>

#include "devices/acpi_pm.h"
#include "frontend/memmap.h"
#include "memory/phys.h"

/* The tables must stay inside the area every memory map reports reserved. */
_Static_assert(ACPI_TABLES_BASE >= FIRMWARE_AREA_BASE && ACPI_TABLES_BASE + ACPI_TABLES_MAX <= FIRMWARE_AREA_END,
               "ACPI tables outside the reserved firmware area");

#define HDR_LEN 36u
#define OEM_ID       "BT86  "   /* 6 bytes */
#define OEM_TABLE_ID "BT86PC  " /* 8 bytes */
#define CREATOR_ID   "BT86"
#define MADT_LAPIC_LEN  8u
#define MADT_IOAPIC_LEN 12u
#define MADT_ISO_LEN    10u
#define MADT_NMI_LEN    6u

void acpi_default_config(struct acpi_config *c, int ncpu)
{
    memset(c, 0, sizeof(*c));
    c->ncpu = ncpu;
    c->lapic_addr = 0xfee00000u;
    c->ioapic_id = (uint8_t)ncpu;
    c->ioapic_addr = 0xfec00000u;
    c->sci_irq = ACPI_SCI_IRQ;
    c->pm1a_evt = ACPI_PM1_EVT_BLK;
    c->pm1a_cnt = ACPI_PM1_CNT_BLK;
    c->pm_tmr = ACPI_PM_TMR_BLK;
    c->century = 0x32;
    c->s5_slp_typ = ACPI_SLP_TYP_S5;
}


/* The common 36-byte header; the checksum is set once the body is written. */
static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    wr32le(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, OEM_ID, 6);
    memcpy(t + 16, OEM_TABLE_ID, 8);
    wr32le(t + 24, 1);             /* OEM revision */
    memcpy(t + 28, CREATOR_ID, 4);
    wr32le(t + 32, 1);             /* creator revision */
}

static void finish(uint8_t *t)
{
    uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
    t[9] = 0;
    t[9] = sum8_complement(t, len);
}

static uint32_t madt_len(const struct acpi_config *c)
{
    return HDR_LEN + 8u + MADT_LAPIC_LEN * (uint32_t)c->ncpu + MADT_IOAPIC_LEN + 2u * MADT_ISO_LEN + MADT_NMI_LEN;
}

/* The DSDT's AML after the header:
 *   Scope (\_SB) { }
 *   Name (\_S5, Package (4) { S5, S5, 0, 0 })   -- S5 patched in at [AML_S5_AT] */
static const uint8_t dsdt_aml[] = {
    0x10, 0x06, '\\', '_', 'S', 'B', '_',          /* ScopeOp PkgLength(6) \_SB_ */
    0x08, '\\', '_', 'S', '5', '_',                /* NameOp \_S5_ */
    0x12, 0x08, 0x04,                              /* PackageOp PkgLength(8) NumElements(4) */
    0x0a, 0x00, 0x0a, 0x00,                        /* BytePrefix SLP_TYPa, BytePrefix SLP_TYPb */
    0x00, 0x00,                                    /* ZeroOp, ZeroOp (reserved) */
};
#define AML_S5_A 17
#define AML_S5_B 19

static void build_madt(uint8_t *t, const struct acpi_config *c)
{
    uint32_t len = madt_len(c);
    header(t, "APIC", len, 1);
    wr32le(t + 36, c->lapic_addr);
    wr32le(t + 40, 1);             /* PCAT_COMPAT: the 8259s are there too */
    uint8_t *p = t + 44;
    for (int i = 0; i < c->ncpu; i++, p += MADT_LAPIC_LEN) {
        p[0] = 0;                 /* Processor Local APIC */
        p[1] = MADT_LAPIC_LEN;
        p[2] = (uint8_t)i;        /* ACPI processor UID */
        p[3] = (uint8_t)i;        /* APIC ID */
        wr32le(p + 4, 1);          /* enabled */
    }
    p[0] = 1;                     /* I/O APIC */
    p[1] = MADT_IOAPIC_LEN;
    p[2] = c->ioapic_id;
    p[3] = 0;
    wr32le(p + 4, c->ioapic_addr);
    wr32le(p + 8, 0);              /* GSI base */
    p += MADT_IOAPIC_LEN;
    /* Interrupt source overrides: the PIT on pin 2; the SCI level/high. */
    static const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } iso[2] = {
        { 0, 2, 0 }, { ACPI_SCI_IRQ, ACPI_SCI_IRQ, ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_LEVEL },
    };
    for (int i = 0; i < 2; i++, p += MADT_ISO_LEN) {
        p[0] = 2;
        p[1] = MADT_ISO_LEN;
        p[2] = 0;                 /* bus: ISA */
        p[3] = iso[i].irq == ACPI_SCI_IRQ ? (uint8_t)c->sci_irq : iso[i].irq;
        wr32le(p + 4, iso[i].irq == ACPI_SCI_IRQ ? c->sci_irq : iso[i].gsi);
        wr16le(p + 8, iso[i].flags);
    }
    p[0] = 4;                     /* Local APIC NMI */
    p[1] = MADT_NMI_LEN;
    p[2] = 0xff;                  /* every processor */
    wr16le(p + 3, 0);              /* flags: conforms to the bus */
    p[5] = ACPI_MADT_LAPIC_NMI_LINT;
    finish(t);
}

static void build_fadt(uint8_t *t, const struct acpi_config *c, uint32_t facs, uint32_t dsdt)
{
    header(t, "FACP", ACPI_FADT_LEN, 1);
    wr32le(t + 36, facs);          /* FIRMWARE_CTRL */
    wr32le(t + 40, dsdt);
    t[44] = 1;                    /* INT_MODEL (ACPI 1.0): multiple APIC */
    wr16le(t + 46, c->sci_irq);
    wr32le(t + 48, 0);             /* SMI_CMD: none, ACPI mode is always on */
    wr32le(t + 56, c->pm1a_evt);
    wr32le(t + 64, c->pm1a_cnt);
    wr32le(t + 76, c->pm_tmr);
    t[88] = ACPI_PM1_EVT_LEN;
    t[89] = ACPI_PM1_CNT_LEN;
    t[91] = ACPI_PM_TMR_LEN;
    wr16le(t + 96, 0x0fff);        /* P_LVL2_LAT > 100: no C2 */
    wr16le(t + 98, 0x0fff);        /* P_LVL3_LAT > 1000: no C3 */
    t[108] = c->century;
    wr32le(t + 112, ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON);
    finish(t);
}

int acpi_tables_build(uint8_t *buf, uint32_t cap, uint32_t addr, const struct acpi_config *c)
{
    if (c->ncpu < 1 || c->ncpu > ACPI_MAX_CPUS || (addr & 15) || c->sci_irq > 15) return -1;
    uint32_t madt_at = ACPI_OFF_MADT;
    uint32_t dsdt_at = (madt_at + madt_len(c) + 15u) & ~15u;
    uint32_t dsdt_len = HDR_LEN + (uint32_t)sizeof(dsdt_aml);
    uint32_t total = dsdt_at + dsdt_len;
    if (total > cap || (uint64_t)addr + total > 0x100000000ull) return -1;
    memset(buf, 0, total);

    /* RSDP (ACPI 1.0: 20 bytes, revision 0) */
    uint8_t *r = buf + ACPI_OFF_RSDP;
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, OEM_ID, 6);
    r[15] = 0;
    wr32le(r + 16, addr + ACPI_OFF_RSDT);
    r[8] = sum8_complement(r, 20);

    /* RSDT: the FADT and the MADT */
    uint8_t *t = buf + ACPI_OFF_RSDT;
    header(t, "RSDT", HDR_LEN + 8, 1);
    wr32le(t + 36, addr + ACPI_OFF_FADT);
    wr32le(t + 40, addr + madt_at);
    finish(t);

    /* FACS: no checksum; the waking vector and global lock start at 0 */
    t = buf + ACPI_OFF_FACS;
    memcpy(t, "FACS", 4);
    wr32le(t + 4, ACPI_FACS_LEN);

    build_fadt(buf + ACPI_OFF_FADT, c, addr + ACPI_OFF_FACS, addr + dsdt_at);
    build_madt(buf + madt_at, c);

    t = buf + dsdt_at;
    header(t, "DSDT", dsdt_len, 1); /* revision 1: 32-bit AML integers */
    memcpy(t + HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
    t[HDR_LEN + AML_S5_A] = c->s5_slp_typ;
    t[HDR_LEN + AML_S5_B] = c->s5_slp_typ;
    finish(t);
    return (int)total;
}

int acpi_tables_write(struct phys_mem *pm, uint32_t addr, uint32_t max_len, const struct acpi_config *c)
{
    uint8_t buf[ACPI_TABLES_MAX];
    uint32_t cap = max_len < sizeof(buf) ? max_len : (uint32_t)sizeof(buf);
    int n = acpi_tables_build(buf, cap, addr, c);
    if (n < 0 || phys_copy_in(pm, addr, buf, (size_t)n)) return -1;
    return n;
}
