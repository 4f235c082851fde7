/* ACPI guest: finds the RSDP the way an OS does (first KiB of the EBDA, then
 * 0xE0000-0xFFFFF on 16-byte boundaries), validates the signature and
 * checksum of every table it reaches (RSDT, FADT, FACS, DSDT, MADT), prints
 * the MADT entries (one local APIC per CPU, the I/O APIC, the IRQ 0 and IRQ 9
 * overrides, LINT1 NMI) and the FADT fields every PC with a PIIX4-style PM
 * block agrees on (bt86 and QEMU: PM1a event/control and PM timer ports and
 * lengths, SCI IRQ, 24-bit timer, RTC century index), makes sure the machine
 * is in ACPI mode (SCI_EN; through SMI_CMD if the firmware left it off, as
 * SeaBIOS does), measures the PM timer's rate against the PIT (channel 2,
 * free-running) and against the TSC (calibrated by the PIT), takes the SCI on
 * IRQ 9 when the timer carries with TMR_EN set, and finally powers
 * the machine off through \_S5 (SLP_TYP from the DSDT's AML, SLP_EN). The
 * run ends with status 0 if that works; a failed check or a machine that
 * stays on exits through port 0xf4 with status 3. Only values that must agree
 * on any such PC are printed (OEM ids, table addresses, extra tables and the
 * \_S5 value itself legitimately differ). "raw" on the command line also
 * prints the measured rates. */
#include "../lib/sys/sys.h"

static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }

/* A pointer to low physical memory (identity mapped); the asm hides the
 * constant so GCC does not treat small addresses as null-pointer arithmetic. */
static const uint8_t *at(uint32_t a)
{
    __asm__("" : "+r"(a));
    return (const uint8_t *)a;
}
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }

static uint8_t sum(const uint8_t *p, uint32_t n)
{
    uint8_t s = 0;
    while (n--) s = (uint8_t)(s + *p++);
    return s;
}

static const uint8_t *scan_rsdp(uint32_t start, uint32_t len)
{
    for (uint32_t a = start; a + 20 <= start + len; a += 16) {
        const uint8_t *p = at(a);
        if (!memcmp(p, "RSD PTR ", 8) && sum(p, 20) == 0) return p;
    }
    return 0;
}

/* A table is sane if its signature is sig, its length is at least the
 * header and it sums to zero. */
static int table_ok(const uint8_t *t, const char *sig)
{
    return t && !memcmp(t, sig, 4) && rd32(t + 4) >= 36 && rd32(t + 4) < 0x100000 && sum(t, rd32(t + 4)) == 0;
}

static int tables_bad; /* tables in the RSDT that failed their checksum */

static const uint8_t *rsdt_find(const uint8_t *rsdt, const char *sig)
{
    uint32_t n = (rd32(rsdt + 4) - 36) / 4;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *t = at(rd32(rsdt + 36 + 4 * i));
        if (!memcmp(t, sig, 4)) return t;
    }
    return 0;
}

/* \_S5's first package element from the DSDT's AML: NameOp "_S5_" (maybe
 * with a root prefix), PackageOp, PkgLength, NumElements, then a ZeroOp,
 * OneOp or BytePrefix constant. -1 if not found. */
static int find_s5(const uint8_t *dsdt)
{
    uint32_t len = rd32(dsdt + 4);
    for (uint32_t i = 36; i + 8 < len; i++) {
        const uint8_t *p = dsdt + i;
        if (memcmp(p, "_S5_", 4) || (p[-1] != 0x08 && !(p[-1] == '\\' && p[-2] == 0x08))) continue;
        p += 4;
        if (*p++ != 0x12) return -1;     /* PackageOp */
        p += 1 + (*p >> 6);              /* PkgLength: 1 + (bits 7-6) bytes */
        p++;                             /* NumElements */
        if (*p == 0x00) return 0;        /* ZeroOp */
        if (*p == 0x01) return 1;        /* OneOp */
        if (*p == 0x0a) return p[1];     /* BytePrefix */
        return -1;
    }
    return -1;
}

struct fadt {
    uint32_t facs, dsdt, smi_cmd, pm1a_evt, pm1a_cnt, pm_tmr, flags;
    uint16_t sci;
    uint8_t acpi_enable, evt_len, cnt_len, tmr_len, century;
};

static void print_madt(const uint8_t *m)
{
    uint32_t len = rd32(m + 4);
    printf("madt: local apic at 0x%08x, pcat_compat %u\n", rd32(m + 36), rd32(m + 40) & 1);
    unsigned ncpu = 0, nioapic = 0, nmi_lint1 = 0, ids_in_order = 1;
    int irq0 = -1, irq9 = -1;
    uint16_t irq0_flags = 0, irq9_flags = 0;
    uint32_t ioapic_addr = 0, ioapic_gsi = 0;
    uint8_t ioapic_id = 0;
    for (uint32_t o = 44; o + 2 <= len && m[o + 1] >= 2; o += m[o + 1]) {
        const uint8_t *e = m + o;
        switch (e[0]) {
        case 0:
            if (rd32(e + 4) & 1) {
                if (e[3] != ncpu) ids_in_order = 0;
                ncpu++;
            }
            break;
        case 1:
            nioapic++;
            ioapic_id = e[2];
            ioapic_addr = rd32(e + 4);
            ioapic_gsi = rd32(e + 8);
            break;
        case 2:
            if (e[2] == 0 && e[3] == 0) { irq0 = (int)rd32(e + 4); irq0_flags = rd16(e + 8); }
            if (e[2] == 0 && e[3] == 9) { irq9 = (int)rd32(e + 4); irq9_flags = rd16(e + 8); }
            break;
        case 4:
            if (e[2] == 0xff && e[5] == 1) nmi_lint1++;
            break;
        }
    }
    printf("madt: %u enabled local apic(s), ids 0..%u in order: %s\n", ncpu, ncpu - 1, ids_in_order ? "yes" : "no");
    printf("madt: %u i/o apic at 0x%08x, gsi base %u\n", nioapic, ioapic_addr, ioapic_gsi);
    mmio_w32(ioapic_addr, 0);                          /* IOREGSEL = ID */
    uint8_t hw_id = (uint8_t)((mmio_r32(ioapic_addr + 0x10) >> 24) & 0x0f);
    check_u32(ioapic_id, hw_id, "madt i/o apic id = the i/o apic's id register");
    printf("madt: override irq0 -> gsi %d flags 0x%04x\n", irq0, irq0_flags);
    printf("madt: override irq9 -> gsi %d flags 0x%04x\n", irq9, irq9_flags);
    printf("madt: nmi on lint1 of every local apic: %s\n", nmi_lint1 ? "yes" : "no");
    check_true(ncpu >= 1, "madt has a local apic");
}

/* Rate measurements. The host may stall bt86 at any moment (real-time
 * mode) and bt86's TSC counts instructions, so each figure is taken from
 * several short windows and the median is kept; the two clocks of a sample
 * are read back to back (retried if the reads were far apart). */
#define PM_MASK 0xffffffu
#define WINDOWS 5

static uint16_t pm_port;

static uint32_t pm_now(void) { return inl(pm_port) & PM_MASK; }

/* PIT channel 2 free-running (mode 2, count 65536), gate on, speaker off. */
static void pit2_start(void)
{
    outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
    outb(0x43, 0xb4);            /* channel 2, LSB then MSB, mode 2, binary */
    outb(0x42, 0);
    outb(0x42, 0);
}

static uint16_t pit2_now(void)
{
    outb(0x43, 0x80);            /* latch channel 2 */
    uint8_t lo = inb(0x42);
    return (uint16_t)(lo | inb(0x42) << 8);
}

/* A PIT count and a PM timer value read together. */
static void sample(uint16_t *pit, uint32_t *pm)
{
    for (int tries = 0; tries < 100; tries++) {
        uint32_t a = pm_now();
        *pit = pit2_now();
        uint32_t b = pm_now();
        *pm = a;
        if (((b - a) & PM_MASK) < 60) return;   /* within ~17 us */
    }
}

static uint64_t median(uint64_t *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            uint64_t t = v[j]; v[j] = v[j - 1]; v[j - 1] = t;
        }
    return v[n / 2];
}

/* Spins until the PIT has advanced 35000 counts (~29 ms; by_pm == 0) or
 * the PM timer 105000 ticks (~29 ms), reading both clocks each time round
 * so that the two kinds of window run the same instructions (bt86's TSC
 * counts instructions). Returns the TSC delta. */
static __attribute__((noinline)) uint64_t spin(uint16_t c0, uint32_t p0, int by_pm)
{
    uint64_t t0 = rdtsc();
    static const uint32_t lim[2] = { 35000u, 105000u };
    volatile uint32_t d[2]; /* both computed every time: the same instructions either way */
    for (uint32_t i = 0; i < 100000000u; i++) {
        d[0] = (uint16_t)(c0 - pit2_now());
        d[1] = (pm_now() - p0) & PM_MASK;
        if (d[by_pm] >= lim[by_pm]) break;
    }
    return rdtsc() - t0;
}

/* PM ticks per second measured by PIT channel 2 and, in the next window,
 * by the TSC at the rate the PIT window gave it; medians of WINDOWS. */
static void measure(uint64_t *by_pit, uint64_t *by_tsc)
{
    uint64_t r[WINDOWS], q[WINDOWS];
    int n = 0;
    for (int tries = 0; n < WINDOWS && tries < 4 * WINDOWS; tries++) {
        uint16_t c0, c1;
        uint32_t p0, p1;
        sample(&c0, &p0);
        uint64_t dt = spin(c0, p0, 0);
        sample(&c1, &p1);
        uint32_t dc = (uint16_t)(c0 - c1), dp = (p1 - p0) & PM_MASK;
        if (dp > 180000 || dc == 0) continue; /* > 50 ms: the PIT may have wrapped */
        r[n] = (uint64_t)dp * 1193182u / dc;
        uint64_t tsc_hz = dt * 1193182u / dc;
        sample(&c0, &p0);
        dt = spin(c0, p0, 1);
        sample(&c1, &p1);
        dp = (p1 - p0) & PM_MASK;
        q[n] = dt ? (uint64_t)dp * tsc_hz / dt : 0;
        n++;
    }
    *by_pit = n ? median(r, n) : 0;
    *by_tsc = n ? median(q, n) : 0;
}

/* The SCI: TMR_EN makes the PM timer's bit-23 carry (every 2.34 s) raise
 * it on ISA IRQ 9, level-triggered. The 8259s are at 0x20/0x28 (sys_init). */
#define VEC_SCI (0x28 + 1)
static uint16_t pm_evt;
static volatile unsigned sci_count;
static volatile uint16_t sci_sts;

static void on_sci(struct trap_frame *f)
{
    (void)f;
    uint16_t sts = inw(pm_evt);
    if (!sci_count) sci_sts = sts;
    outw(pm_evt, sts & 1);       /* write 1 to clear TMR_STS: the line drops */
    sci_count++;
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
}

static void sci_test(void)
{
    trap_set_handler(VEC_SCI, on_sci);
    outb(0x4d1, (uint8_t)(inb(0x4d1) | 0x02)); /* ELCR: IRQ 9 level-triggered */
    outb(0xa1, 0xfd);            /* slave: only IRQ 9 */
    outb(0x21, 0xfb);            /* master: only the cascade */
    outw(pm_evt, 0xffff);        /* clear every status bit */
    outw((uint16_t)(pm_evt + 2), 0x0001); /* TMR_EN */
    for (int i = 0; i < 20 && !sci_count; i++) __asm__ volatile("sti; hlt; cli");
    outw((uint16_t)(pm_evt + 2), 0);
    outb(0xa1, 0xff);
    outb(0x21, 0xff);
    check_true(sci_count >= 1, "sci on irq 9 when the pm timer carries (tmr_en)");
    check_u32(sci_sts & 1, 1, "tmr_sts set in the sci handler");
    check_u32(inw(pm_evt) & 1, 0, "tmr_sts cleared by writing 1");
}

/* "~3.58 MHz" when within tol_pct percent of the nominal rate, else the
 * measured rate (and a failed check). */
static void report_rate(const char *what, uint64_t hz, unsigned tol_pct)
{
    uint64_t nominal = 3579545, lo = nominal * (100 - tol_pct) / 100, hi = nominal * (100 + tol_pct) / 100;
    if (hz >= lo && hz <= hi) {
        printf("pm timer vs %s: ~3.58 MHz ok\n", what);
        check_true(1, "pm timer rate within bounds");
    } else {
        printf("pm timer vs %s: %u Hz\n", what, (unsigned)hz);
        check_true(0, "pm timer rate within bounds");
    }
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    serial_init();
    sys_init();
    printf("acpi guest\n");

    uint32_t ebda = (uint32_t)rd16(at(0x40e)) << 4;
    const uint8_t *rsdp = 0;
    if (ebda >= 0x80000 && ebda < 0xa0000) rsdp = scan_rsdp(ebda, 1024);
    if (!rsdp) rsdp = scan_rsdp(0xe0000, 0x20000);
    if (!check_true(rsdp != 0, "rsdp found by the standard scan")) guest_exit(check_finish());
    if (rsdp[15] >= 2) check_u32(sum(rsdp, rd32(rsdp + 20)), 0, "rsdp extended checksum");
    const uint8_t *rsdt = at(rd32(rsdp + 16));
    if (!check_true(table_ok(rsdt, "RSDT"), "rsdt signature and checksum")) guest_exit(check_finish());
    uint32_t n = (rd32(rsdt + 4) - 36) / 4;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *t = at(rd32(rsdt + 36 + 4 * i));
        if (sum(t, rd32(t + 4)) != 0) tables_bad++;
    }
    check_u32(tables_bad, 0, "every table in the rsdt sums to zero");

    const uint8_t *f = rsdt_find(rsdt, "FACP");
    if (!check_true(table_ok(f, "FACP") && rd32(f + 4) >= 116, "fadt signature, length and checksum"))
        guest_exit(check_finish());
    struct fadt fa = {
        .facs = rd32(f + 36), .dsdt = rd32(f + 40), .sci = rd16(f + 46), .smi_cmd = rd32(f + 48),
        .acpi_enable = f[52], .pm1a_evt = rd32(f + 56), .pm1a_cnt = rd32(f + 64), .pm_tmr = rd32(f + 76),
        .evt_len = f[88], .cnt_len = f[89], .tmr_len = f[91], .century = f[108], .flags = rd32(f + 112),
    };
    printf("fadt: sci irq %u\n", fa.sci);
    printf("fadt: pm1a_evt 0x%x len %u, pm1a_cnt 0x%x len %u, pm_tmr 0x%x len %u\n", fa.pm1a_evt, fa.evt_len,
           fa.pm1a_cnt, fa.cnt_len, fa.pm_tmr, fa.tmr_len);
    printf("fadt: pm timer %s bits, rtc century at cmos 0x%02x\n", (fa.flags & 0x100) ? "32" : "24", fa.century);
    const uint8_t *facs = at(fa.facs);
    check_true(!memcmp(facs, "FACS", 4) && rd32(facs + 4) >= 64 && (fa.facs & 63) == 0,
               "facs signature, length, 64-byte alignment");
    const uint8_t *dsdt = at(fa.dsdt);
    check_true(table_ok(dsdt, "DSDT"), "dsdt signature and checksum");
    int s5 = find_s5(dsdt);
    check_true(s5 >= 0 && s5 < 8, "dsdt defines \\_S5");

    const uint8_t *madt = rsdt_find(rsdt, "APIC");
    if (check_true(table_ok(madt, "APIC"), "madt signature and checksum")) print_madt(madt);

    /* ACPI mode: SCI_EN, or ask the firmware through SMI_CMD. */
    uint16_t pm_cnt = (uint16_t)fa.pm1a_cnt, pm_tmr = (uint16_t)fa.pm_tmr;
    if (!(inw(pm_cnt) & 1) && fa.smi_cmd) {
        outb((uint16_t)fa.smi_cmd, fa.acpi_enable);
        for (uint32_t i = 0; i < 10000000u && !(inw(pm_cnt) & 1); i++) {}
    }
    check_u32(inw(pm_cnt) & 1, 1, "sci_en set (acpi mode)");

    /* The PM timer against the PIT, then against the TSC (whose rate the
     * PIT windows gave). */
    pm_port = pm_tmr;
    pit2_start();
    uint64_t by_pit, by_tsc;
    measure(&by_pit, &by_tsc);
    if (cmdline_has(info, "raw")) printf("raw: by pit %u, by tsc %u\n", (unsigned)by_pit, (unsigned)by_tsc);
    report_rate("pit", by_pit, 1);
    /* bt86's TSC counts instructions (CPU_TSC_HZ nominal) while the timers
     * follow host time, so outside -icount mode the TSC rate drifts with
     * the host's load: a loose bound (exact under QEMU and bt86 -icount). */
    report_rate("tsc", by_tsc, 25);

    pm_evt = (uint16_t)fa.pm1a_evt;
    sci_test();

    int code = check_finish();
    if (code) guest_exit(code);
    printf("powering off through \\_S5\n");
    outw(pm_cnt, (uint16_t)((s5 & 7) << 10 | 0x2000));
    for (uint32_t i = 0; i < 1000000u; i++) __asm__ volatile("pause");
    printf("still running after SLP_EN\n");
    guest_exit(1);
}
