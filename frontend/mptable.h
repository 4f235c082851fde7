/* The Intel MultiProcessor Specification 1.4 tables that tell a guest it is
 * on an APIC machine: the 16-byte floating pointer structure ("_MP_") and,
 * right after it, the configuration table ("PCMP") with one processor entry
 * per vCPU, the ISA bus, the I/O APIC, the ISA IRQ -> I/O APIC pin routing,
 * and LINT0 = ExtINT / LINT1 = NMI on every local APIC (virtual-wire mode;
 * no IMCR).
 *
 * Where: MPTABLE_ADDR, the first KiB of the EBDA at 0x9fc00. That is also the
 * last KiB of base memory, which Linux and other guests scan for "_MP_", and
 * the Multiboot loader already reports it as reserved (frontend/multiboot.c),
 * so the guest does not reuse it. */
#ifndef BT86_FRONTEND_MPTABLE_H
#define BT86_FRONTEND_MPTABLE_H

#include <stdint.h>

struct phys_mem;

#define MPTABLE_ADDR    0x9fc00u
#define MPTABLE_MAX_LEN 0x400u  /* the space reserved for it: 1 KiB */
#define MPTABLE_MAX_CPUS 32
#define MPTABLE_ISA_IRQS 16

/* Entry types and their fields (MP spec 4.3). */
enum { MP_ENT_PROCESSOR = 0, MP_ENT_BUS = 1, MP_ENT_IOAPIC = 2, MP_ENT_IOINT = 3, MP_ENT_LOCALINT = 4 };
enum { MP_INT_INT = 0, MP_INT_NMI = 1, MP_INT_SMI = 2, MP_INT_EXTINT = 3 };
#define MP_CPU_ENABLED 0x01u
#define MP_CPU_BSP     0x02u

/* CPU signature and leaf-1 EDX features for the processor entries. Keep in
 * step with cpu/cpuid.c (family 6 model 15 stepping 1; FPU DE PSE TSC MSR
 * CX8 APIC SEP PGE CMOV FXSR: CPUID should set APIC once the local APIC is
 * wired in). */
#define MPTABLE_CPU_SIGNATURE 0x000006f1u
#define MPTABLE_CPU_FEATURES  0x0100ab3du

struct mptable_config {
    int ncpu;                    /* 1..MPTABLE_MAX_CPUS; APIC IDs 0..ncpu-1, 0 is the BSP */
    uint32_t lapic_addr;         /* 0xfee00000 */
    uint8_t lapic_version;       /* 0x14 */
    uint8_t ioapic_id;           /* ncpu: distinct from every local APIC ID */
    uint8_t ioapic_version;      /* 0x11 */
    uint32_t ioapic_addr;        /* 0xfec00000 */
    uint32_t cpu_signature, cpu_features;
    int8_t isa_pin[MPTABLE_ISA_IRQS];     /* I/O APIC input for ISA IRQ n, or -1 (no entry) */
    uint16_t isa_flags[MPTABLE_ISA_IRQS]; /* polarity (bits 0-1), trigger (2-3); 0 = conforms to the ISA bus */
};

/* The PC's defaults for ncpu vCPUs: the addresses above, I/O APIC ID ncpu,
 * ISA IRQ 0 on pin 2 (the timer, as on real boards and QEMU), IRQ 2 (the
 * cascade) not routed, every other IRQ n on pin n. */
void mptable_default_config(struct mptable_config *c, int ncpu);

/* Size in bytes of the floating pointer and configuration table for c. */
uint32_t mptable_size(const struct mptable_config *c);

/* Write the floating pointer at addr (16-byte aligned) and the configuration
 * table right after it, checksums included. Returns the number of bytes
 * written, or -1 if the configuration is invalid, the tables would exceed
 * max_len, or they do not lie in guest RAM. */
int mptable_write(struct phys_mem *pm, uint32_t addr, uint32_t max_len, const struct mptable_config *c);

#endif
