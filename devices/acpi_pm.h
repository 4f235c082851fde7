/* The ACPI power-management registers of the board (an ACPI "fixed hardware"
 * block in the style of the PIIX4 PM function, at the ports QEMU's pc machine
 * uses): the PM1a event block (PM1_STS, PM1_EN), the PM1a control block
 * (SCI_EN, SLP_TYP, SLP_EN) and the 24-bit PM timer counting at 3.579545 MHz
 * of virtual time (devices/vclock.h), so that it agrees with the PIT and the
 * local APIC timer. There is no SMI command port: the FADT says SMI_CMD = 0,
 * so the OS finds the machine already in ACPI mode (SCI_EN set). Writing
 * SLP_EN with SLP_TYP = ACPI_SLP_TYP_S5 (the value of \_S5 in the DSDT,
 * frontend/acpi_tables.c) powers the machine off. */
#ifndef BT86_DEVICES_ACPI_PM_H
#define BT86_DEVICES_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/vclock.h"

struct iobus;

#define ACPI_PM_BASE     0x600u
#define ACPI_PM1_EVT_BLK (ACPI_PM_BASE + 0) /* PM1_STS (16 bits), then PM1_EN (16 bits) */
#define ACPI_PM1_EVT_LEN 4u
#define ACPI_PM1_CNT_BLK (ACPI_PM_BASE + 4) /* PM1_CNT (16 bits) */
#define ACPI_PM1_CNT_LEN 2u
#define ACPI_PM_TMR_BLK  (ACPI_PM_BASE + 8) /* PM_TMR (32-bit port, 24 bits of count) */
#define ACPI_PM_TMR_LEN  4u
#define ACPI_PM_PORTS    12u                /* 0x600-0x60b */

#define ACPI_PM_TIMER_HZ 3579545u
#define ACPI_PM_TIMER_BITS 24
#define ACPI_SCI_IRQ     9
#define ACPI_SLP_TYP_S5  5

/* PM1_STS / PM1_EN bits */
#define ACPI_PM1_TMR     0x0001u  /* timer carry (bit 23 toggled) */
#define ACPI_PM1_BM_STS  0x0010u
#define ACPI_PM1_GBL     0x0020u
#define ACPI_PM1_PWRBTN  0x0100u
#define ACPI_PM1_SLPBTN  0x0200u
#define ACPI_PM1_RTC     0x0400u
#define ACPI_PM1_WAK_STS 0x8000u
/* PM1_CNT bits */
#define ACPI_PM1_SCI_EN  0x0001u
#define ACPI_PM1_BM_RLD  0x0002u
#define ACPI_PM1_GBL_RLS 0x0004u
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK  0x1c00u
#define ACPI_PM1_SLP_EN  0x2000u

struct acpi_pm {
    struct vclock *clock;
    uint16_t sts, en, cnt;
    uint64_t tmr_half;       /* timer ticks >> 23 when TMR_STS was last brought up to date */
    struct vtimer timer;     /* next bit-23 toggle, armed while TMR_EN is set */
    bool sci;                /* the SCI line's level */
    void (*set_sci)(void *opaque, bool level);   /* ISA IRQ 9, level, active high */
    void (*sleep)(void *opaque, int slp_typ);    /* SLP_EN written */
    void *opaque;
    uint64_t sleeps;         /* statistics: SLP_EN writes */
};

/* SCI_EN starts set (the machine is in ACPI mode), everything else clear.
 * 0, or -1 if the clock has no free timer slot. */
int  acpi_pm_init(struct acpi_pm *p, struct vclock *clock, void (*set_sci)(void *, bool),
                  void (*sleep)(void *, int), void *opaque);
int  acpi_pm_register(struct acpi_pm *p, struct iobus *bus);
/* Port access (port in ACPI_PM_BASE..+ACPI_PM_PORTS-1, size 1, 2 or 4; the
 * access may span registers, as the bytes of the block are contiguous). */
uint32_t acpi_pm_read(struct acpi_pm *p, uint16_t port, int size);
void     acpi_pm_write(struct acpi_pm *p, uint16_t port, uint32_t val, int size);
/* The PM timer's current value (24 bits). */
uint32_t acpi_pm_timer(const struct acpi_pm *p);

#endif
