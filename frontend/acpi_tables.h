/* The ACPI tables bt86 leaves in guest memory, as a PC BIOS does: an ACPI 1.0
 * RSDP (revision 0; Linux and every other OS scan for it in 0xE0000-0xFFFFF)
 * pointing at an RSDT that lists the FADT and the MADT; the FADT points at
 * the FACS and the DSDT. The DSDT is a few bytes of hand-assembled AML: an
 * empty \_SB scope and \_S5 = Package {5, 5, 0, 0}, the sleep type that
 * makes devices/acpi_pm.c power the machine off. The FADT describes that
 * device (PM1a event block 0x600, control 0x604, 24-bit PM timer 0x608, SCI
 * on IRQ 9, no GPE blocks, SMI_CMD 0: the machine is already in ACPI mode).
 * The MADT lists one local APIC per vCPU (APIC ID = index), the I/O APIC,
 * the interrupt source overrides QEMU gives (ISA IRQ 0 -> GSI 2; IRQ 9, the
 * SCI, level-triggered active high) and LINT1 = NMI on every local APIC.
 *
 * Where: ACPI_TABLES_BASE..ACPI_TABLES_BASE + ACPI_TABLES_MAX, inside the
 * firmware area 0xE0000-0xFFFFF that the board's memory maps report as
 * reserved (frontend/memmap.h FIRMWARE_AREA_*), never as RAM. */
#ifndef BT86_FRONTEND_ACPI_TABLES_H
#define BT86_FRONTEND_ACPI_TABLES_H

#include <stdint.h>

struct phys_mem;

#define ACPI_TABLES_BASE 0xe0000u  /* the RSDP is the first thing here (16-byte aligned) */
#define ACPI_TABLES_MAX  0x1000u   /* the space set aside for all the tables */
#define ACPI_MAX_CPUS    32

/* Fixed offsets of each table from the RSDP (alignment as the spec wants:
 * the FACS on 64 bytes). The DSDT follows the MADT, whose size varies. */
#define ACPI_OFF_RSDP 0x000u
#define ACPI_OFF_FACS 0x040u
#define ACPI_OFF_RSDT 0x080u
#define ACPI_OFF_FADT 0x100u
#define ACPI_OFF_MADT 0x180u

#define ACPI_FADT_LEN 116u          /* the ACPI 1.0 FADT (revision 1) */
#define ACPI_FACS_LEN 64u
#define ACPI_MADT_LAPIC_NMI_LINT 1  /* LINT1 carries NMI */

/* FADT flags bt86 sets */
#define ACPI_FADT_WBINVD     (1u << 0)
#define ACPI_FADT_PROC_C1    (1u << 2)
#define ACPI_FADT_PWR_BUTTON (1u << 4) /* no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON (1u << 5) /* no fixed-feature sleep button */
#define ACPI_FADT_TMR_VAL_EXT (1u << 8) /* 32-bit PM timer: clear here (24 bits) */

/* MADT interrupt source override flags: polarity bits 0-1, trigger 2-3. */
#define ACPI_MPS_ACTIVE_HIGH 0x1u
#define ACPI_MPS_LEVEL       0xcu

struct acpi_config {
    int ncpu;                  /* 1..ACPI_MAX_CPUS; local APIC IDs 0..ncpu-1 */
    uint32_t lapic_addr;       /* 0xfee00000 */
    uint8_t ioapic_id;         /* as in the MP table: ncpu */
    uint32_t ioapic_addr;      /* 0xfec00000 */
    uint16_t sci_irq;          /* 9 */
    uint32_t pm1a_evt, pm1a_cnt, pm_tmr;  /* ports (devices/acpi_pm.h) */
    uint8_t century;           /* CMOS index of the century byte: 0x32 */
    uint8_t s5_slp_typ;        /* \_S5's SLP_TYP: ACPI_SLP_TYP_S5 */
};

/* The board's defaults for ncpu vCPUs (the values above). */
void acpi_default_config(struct acpi_config *c, int ncpu);

/* Build all the tables, checksums included, into buf (cap bytes) as they
 * will appear at guest physical address addr (16-byte aligned). Returns
 * their total length, or -1 if c is invalid or they do not fit in cap. */
int acpi_tables_build(uint8_t *buf, uint32_t cap, uint32_t addr, const struct acpi_config *c);

/* Build them and copy them into guest RAM at addr (at most max_len bytes).
 * Returns the length, or -1 (invalid config, too long, or not in RAM). */
int acpi_tables_write(struct phys_mem *pm, uint32_t addr, uint32_t max_len, const struct acpi_config *c);

#endif
