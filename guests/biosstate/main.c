/* biosstate guest: checks the machine state a PC BIOS leaves behind at a
 * Multiboot (-kernel) entry, before touching anything: the 8259 masks, PIT
 * channel 0's mode (read-back status) and that its counter runs through the
 * full 65536 counts (18.2 Hz), the real-mode IVT (every IRQ vector, 0x08-0x0F
 * and 0x70-0x77, points into the F000 segment), and then, in real mode with
 * interrupts enabled, that IRQ 0 arrives through vector 8 (so the master
 * PIC's base is 0x08), that the firmware's handler counts the BIOS tick at
 * 0x46C and acknowledges the PIC (ISR clear after it returns). Compared with
 * QEMU + SeaBIOS byte for byte. */
#include "../lib/rt.h"

extern char rm_blob_start[], rm_blob_end[];
extern char r_hits[], r_isr_in[], r_isr_after[], r_ticks0[], r_ticks1[], r_done[], r_old8[];
extern char r_hits70[], r_isr2_after[];
void rm_irq_trip(void);

#define RM_BASE 0x20000u

static uint32_t rm(const char *sym, int size)
{
    uint32_t a = RM_BASE + (uint32_t)(sym - rm_blob_start);
    if (size == 1) return *(volatile uint8_t *)a;
    if (size == 2) return *(volatile uint16_t *)a;
    return *(volatile uint32_t *)a;
}

static const volatile uint8_t *low(uint32_t a)
{
    __asm__("" : "+r"(a));
    return (const volatile uint8_t *)a;
}

static uint16_t pit0_count(void)
{
    outb(0x43, 0x00);            /* latch counter 0 */
    uint8_t lo = inb(0x40);
    return (uint16_t)(lo | inb(0x40) << 8);
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    /* the entry state, before anything changes it */
    uint8_t mask1 = inb(0x21), mask2 = inb(0xa1);
    outb(0x43, 0xe2);            /* read-back: status of counter 0 */
    uint8_t status0 = inb(0x40);
    uint32_t maxc = 0, wraps = 0;
    uint16_t prev = pit0_count();
    /* Until two wraps (a period is 55 ms: at ~100 ns per read, 550,000
     * reads), bounded so a stuck counter still ends the loop. */
    for (int i = 0; i < 20000000 && wraps < 2; i++) {
        uint16_t c = pit0_count();
        uint32_t v = c ? c : 65536;
        if (c > prev) wraps++;
        if (wraps && v > maxc) maxc = v;
        prev = c;
    }
    uint32_t ivt[256];
    for (int i = 0; i < 256; i++) {
        const volatile uint8_t *p = low(4u * (uint32_t)i);
        ivt[i] = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
    }

    serial_init();
    printf("biosstate guest\n");
    printf("pic masks: master 0x%02x slave 0x%02x\n", mask1, mask2);
    printf("pit counter 0: mode %u, access %u, bcd %u\n", (status0 >> 1) & 7, (status0 >> 4) & 3, status0 & 1);
    int full = wraps >= 1 && maxc >= 60000;
    check_true(full, "pit counter 0 counts down from 65536 (18.2 Hz)");
    if (cmdline_has(info, "raw")) {
        printf("raw: max count %u wraps %u\n", maxc, wraps);
        for (int i = 0; i < 256; i++)
            if ((ivt[i] >> 16) != 0xf000) printf("raw: vector 0x%02x -> %04x:%04x\n", i, ivt[i] >> 16, ivt[i] & 0xffff);
    }
    unsigned in_f000 = 0;
    for (int i = 0; i < 8; i++) {
        in_f000 += (ivt[0x08 + i] >> 16) == 0xf000;
        in_f000 += (ivt[0x70 + i] >> 16) == 0xf000;
    }
    check_u32(in_f000, 16, "irq vectors 0x08-0x0f and 0x70-0x77 point into segment f000");
    check_u32(ivt[0x1c] >> 16, 0xf000, "int 0x1c (timer hook) points into segment f000");

    uint32_t len = (uint32_t)(rm_blob_end - rm_blob_start);
    memcpy((void *)RM_BASE, rm_blob_start, len);
    rm_irq_trip();
    check_u32(rm(r_done, 2), 0x600d, "real-mode trip completed");
    check_true(rm(r_hits, 2) >= 3, "irq 0 arrived through vector 8 in real mode");
    check_u32(rm(r_isr_in, 1) & 1, 1, "irq 0 in service while its handler runs");
    check_u32(rm(r_isr_after, 1), 0, "the firmware's handler acknowledged the pic (isr clear)");
    uint32_t dt = rm(r_ticks1, 4) - rm(r_ticks0, 4);
    check_true(dt >= 3 && dt <= rm(r_hits, 2), "bda tick count advanced once per irq 0");
    check_true(rm(r_hits70, 2) >= 3, "rtc irq 8 arrived through vector 0x70, again and again");
    check_u32(rm(r_isr2_after, 2), 0, "the firmware's irq 8 handler acknowledged both pics");
    if (cmdline_has(info, "raw"))
        printf("raw: hits %u ticks %u isr_in %x hits70 %u\n", rm(r_hits, 2), dt, rm(r_isr_in, 1), rm(r_hits70, 2));
    return check_finish();
}
