/* ACPI tables (frontend/acpi_tables.c): written into guest RAM, then found
 * and checked the way an OS does (RSDP scan of 0xE0000-0xFFFFF, checksums of
 * every table, RSDT -> FADT -> FACS/DSDT, MADT entries per vCPU count), with
 * code independent of the builder. */
#include <criterion/criterion.h>
#include <string.h>

#include "frontend/acpi_tables.h"
#include "memory/phys.h"

static struct phys_mem pm;

static void init_mem(void) { cr_assert_eq(phys_init(&pm, 1u << 20), 0); }
static void fini_mem(void) { phys_destroy(&pm); }

TestSuite(acpi_tables, .init = init_mem, .fini = fini_mem);

static uint16_t w(uint32_t a) { return (uint16_t)(pm.ram[a] | pm.ram[a + 1] << 8); }
static uint32_t d(uint32_t a) { return w(a) | (uint32_t)w(a + 2) << 16; }

static uint8_t sum(uint32_t a, uint32_t len)
{
    unsigned s = 0;
    for (uint32_t i = 0; i < len; i++) s += pm.ram[a + i];
    return (uint8_t)s;
}

static uint32_t find_rsdp(void)
{
    for (uint32_t a = 0xe0000; a < 0x100000; a += 16)
        if (!memcmp(pm.ram + a, "RSD PTR ", 8) && sum(a, 20) == 0) return a;
    return 0;
}

/* A table's address from the RSDT by signature; checks its checksum. */
static uint32_t table(uint32_t rsdt, const char *sig)
{
    uint32_t n = (d(rsdt + 4) - 36) / 4;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t = d(rsdt + 36 + 4 * i);
        if (!memcmp(pm.ram + t, sig, 4)) {
            cr_assert_eq(sum(t, d(t + 4)), 0, "%s checksum", sig);
            return t;
        }
    }
    return 0;
}

static uint32_t write_default(int ncpu)
{
    struct acpi_config c;
    acpi_default_config(&c, ncpu);
    int n = acpi_tables_write(&pm, ACPI_TABLES_BASE, ACPI_TABLES_MAX, &c);
    cr_assert_gt(n, 0);
    cr_assert_leq((uint32_t)n, ACPI_TABLES_MAX);
    uint32_t rsdp = find_rsdp();
    cr_assert_eq(rsdp, ACPI_TABLES_BASE);
    return rsdp;
}

Test(acpi_tables, rsdp_and_rsdt)
{
    uint32_t rsdp = write_default(1);
    cr_assert_eq(pm.ram[rsdp + 15], 0, "ACPI 1.0 RSDP (revision 0)");
    uint32_t rsdt = d(rsdp + 16);
    cr_assert_eq(memcmp(pm.ram + rsdt, "RSDT", 4), 0);
    cr_assert_eq(d(rsdt + 4), 36u + 8u, "two entries");
    cr_assert_eq(sum(rsdt, d(rsdt + 4)), 0);
    cr_assert_neq(table(rsdt, "FACP"), 0);
    cr_assert_neq(table(rsdt, "APIC"), 0);
    /* everything inside the reserved firmware range */
    cr_assert_geq(rsdt, ACPI_TABLES_BASE);
    cr_assert_lt(rsdt, ACPI_TABLES_BASE + ACPI_TABLES_MAX);
}

Test(acpi_tables, fadt_describes_the_pm_block)
{
    uint32_t f = table(d(write_default(1) + 16), "FACP");
    cr_assert_eq(d(f + 4), 116u);
    cr_assert_eq(pm.ram[f + 8], 1, "FADT revision 1");
    cr_assert_eq(w(f + 46), 9, "SCI_INT");
    cr_assert_eq(d(f + 48), 0, "SMI_CMD: already in ACPI mode");
    cr_assert_eq(d(f + 56), 0x600u, "PM1a_EVT_BLK");
    cr_assert_eq(d(f + 60), 0, "PM1b_EVT_BLK");
    cr_assert_eq(d(f + 64), 0x604u, "PM1a_CNT_BLK");
    cr_assert_eq(d(f + 68), 0, "PM1b_CNT_BLK");
    cr_assert_eq(d(f + 72), 0, "PM2_CNT_BLK");
    cr_assert_eq(d(f + 76), 0x608u, "PM_TMR_BLK");
    cr_assert_eq(d(f + 80), 0, "GPE0_BLK");
    cr_assert_eq(d(f + 84), 0, "GPE1_BLK");
    cr_assert_eq(pm.ram[f + 88], 4);
    cr_assert_eq(pm.ram[f + 89], 2);
    cr_assert_eq(pm.ram[f + 90], 0);
    cr_assert_eq(pm.ram[f + 91], 4);
    cr_assert_eq(pm.ram[f + 92], 0);
    cr_assert_eq(w(f + 96), 0x0fff);
    cr_assert_eq(w(f + 98), 0x0fff);
    cr_assert_eq(pm.ram[f + 108], 0x32, "RTC century index");
    cr_assert_eq(d(f + 112), 0x35u, "WBINVD PROC_C1 PWR_BUTTON SLP_BUTTON, TMR_VAL_EXT clear");
    uint32_t facs = d(f + 36);
    cr_assert_eq(facs & 63, 0, "FACS 64-byte aligned");
    cr_assert_eq(memcmp(pm.ram + facs, "FACS", 4), 0);
    cr_assert_eq(d(facs + 4), 64u);
    cr_assert_eq(d(facs + 12), 0, "no waking vector");
}

Test(acpi_tables, dsdt_holds_s5)
{
    uint32_t f = table(d(write_default(1) + 16), "FACP");
    uint32_t t = d(f + 40);
    cr_assert_eq(memcmp(pm.ram + t, "DSDT", 4), 0);
    cr_assert_eq(sum(t, d(t + 4)), 0);
    cr_assert_eq(pm.ram[t + 8], 1, "32-bit AML integers");
    static const uint8_t aml[] = {
        0x10, 0x06, '\\', '_', 'S', 'B', '_',
        0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
    };
    cr_assert_eq(d(t + 4), 36u + sizeof(aml));
    cr_assert_eq(memcmp(pm.ram + t + 36, aml, sizeof(aml)), 0);
}

/* Walk the MADT for ncpu vCPUs and check every entry. */
static void check_madt(int ncpu)
{
    uint32_t m = table(d(write_default(ncpu) + 16), "APIC");
    cr_assert_eq(d(m + 36), 0xfee00000u);
    cr_assert_eq(d(m + 40), 1u, "PCAT_COMPAT");
    uint32_t len = d(m + 4), o = m + 44;
    cr_assert_eq(len, 44u + 8u * (uint32_t)ncpu + 12u + 20u + 6u);
    for (int i = 0; i < ncpu; i++, o += 8) {
        cr_assert_eq(pm.ram[o], 0);
        cr_assert_eq(pm.ram[o + 1], 8);
        cr_assert_eq(pm.ram[o + 2], i, "processor UID");
        cr_assert_eq(pm.ram[o + 3], i, "APIC ID");
        cr_assert_eq(d(o + 4), 1u, "enabled");
    }
    cr_assert_eq(pm.ram[o], 1);
    cr_assert_eq(pm.ram[o + 1], 12);
    cr_assert_eq(pm.ram[o + 2], ncpu, "I/O APIC ID as in the MP table");
    cr_assert_eq(d(o + 4), 0xfec00000u);
    cr_assert_eq(d(o + 8), 0, "GSI base");
    o += 12;
    static const uint8_t iso[2][10] = {
        { 2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0x00 },  /* IRQ 0 -> GSI 2 */
        { 2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0x00 },  /* IRQ 9 level, active high */
    };
    cr_assert_eq(memcmp(pm.ram + o, iso, sizeof(iso)), 0);
    o += 20;
    static const uint8_t nmi[6] = { 4, 6, 0xff, 0, 0, 1 };
    cr_assert_eq(memcmp(pm.ram + o, nmi, sizeof(nmi)), 0);
    cr_assert_eq(o + 6, m + len);
}

Test(acpi_tables, madt_one_cpu) { check_madt(1); }
Test(acpi_tables, madt_two_cpus) { check_madt(2); }
Test(acpi_tables, madt_eight_cpus) { check_madt(8); }
Test(acpi_tables, madt_max_cpus) { check_madt(ACPI_MAX_CPUS); }

Test(acpi_tables, invalid_configurations_are_refused)
{
    struct acpi_config c;
    acpi_default_config(&c, 0);
    cr_assert_eq(acpi_tables_write(&pm, ACPI_TABLES_BASE, ACPI_TABLES_MAX, &c), -1);
    acpi_default_config(&c, ACPI_MAX_CPUS + 1);
    cr_assert_eq(acpi_tables_write(&pm, ACPI_TABLES_BASE, ACPI_TABLES_MAX, &c), -1);
    acpi_default_config(&c, 1);
    cr_assert_eq(acpi_tables_write(&pm, ACPI_TABLES_BASE + 8, ACPI_TABLES_MAX, &c), -1, "unaligned");
    cr_assert_eq(acpi_tables_write(&pm, ACPI_TABLES_BASE, 0x100, &c), -1, "too small a space");
    cr_assert_eq(acpi_tables_write(&pm, 0xfff00, ACPI_TABLES_MAX, &c), -1, "past the end of RAM");
    cr_assert_eq(acpi_tables_write(&pm, 0xfffffff0u, ACPI_TABLES_MAX, &c), -1, "past 4 GiB");
    c.sci_irq = 16;
    cr_assert_eq(acpi_tables_write(&pm, ACPI_TABLES_BASE, ACPI_TABLES_MAX, &c), -1, "not an ISA IRQ");
    cr_assert_eq(find_rsdp(), 0, "nothing written");
}
