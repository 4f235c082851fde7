/* The PC board (frontend/pc.h). */
#include "frontend/pc.h"
#include "frontend/linux_boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "cpu/interp.h"
#include "cpu/interrupt.h"
#include "cpu/trap_engine.h"
#include "devices/port80.h"
#include "frontend/acpi_tables.h"
#include "frontend/bios_entry.h"
#include "frontend/bios_rom.h"
#include "frontend/boot_disk.h"
#include "frontend/display_sdl.h"
#include "frontend/mptable.h"
#include "translator/bt.h"
#include "frontend/kvm_engine.h"
#include "frontend/multiboot.h"
#include "frontend/smp_run.h"

/* Move buffered host input into the UART as far as its receiver has room. */
static void feed_uart(struct pc *pc)
{
    unsigned room = uart_can_receive(&pc->com1);
    if (!room || !pc->con.count) return;
    uint8_t tmp[UART_FIFO_SIZE];
    if (room > sizeof(tmp)) room = sizeof(tmp);
    unsigned n = console_take(&pc->con, tmp, room);
    uart_receive(&pc->com1, tmp, n);
}

static void check_quit(struct pc *pc, struct vcpu *v)
{
    if (pc->display && display_sdl_poll(pc->display)) pc->con.quit = true;
    if (!pc->con.quit || pc->user_quit) return;
    pc->user_quit = true;
    v->stop = STOP_SHUTDOWN;
    v->req |= REQ_STOP;
}

/* Called every few thousand guest instructions. */
static void pc_poll(struct machine *m, struct vcpu *v)
{
    struct pc *pc = m->board;
    uint64_t now = vclock_now(&pc->clock);
    if (pc->con.count < CONSOLE_BUF && now - pc->con_polled_ns >= PC_INPUT_POLL_NS) {
        pc->con_polled_ns = now;
        console_poll(&pc->con, 0);
    }
    feed_uart(pc);
    uart_tick(&pc->com1);
    vclock_run_timers_at(&pc->clock, now);
    check_quit(pc, v);
}

/* The vCPU is halted with nothing pending. With IF=0 nothing can wake it
 * (there is no NMI source). With IF=1 an interrupt can come from a timer or
 * from host input reaching the UART: wait for whichever is first (in -icount
 * mode, jump virtual time to the next timer). Nothing armed and no input
 * possible means nothing can ever wake the CPU. */
static bool pc_idle(struct machine *m, struct vcpu *v)
{
    struct pc *pc = m->board;
    if (!(v->eflags & F_IF)) return false;
    /* Input already buffered and room in the UART: deliver it now, without
     * waiting for a timer (a guest that reads RBR in its IRQ handler and then
     * halts would otherwise get one byte per tick). */
    if (pc->con.count && uart_can_receive(&pc->com1)) {
        feed_uart(pc);
        uart_tick(&pc->com1);
        return true;
    }
    uint64_t deadline = vclock_next_deadline(&pc->clock);
    bool input_possible = !pc->con.in_eof || pc->display; /* keys from the window */
    if (deadline == UINT64_MAX && !input_possible) return false;
    const uint64_t max_wait = (uint64_t)PC_IDLE_WAIT_MS * 1000000u;
    if (pc->clock.deterministic) {
        /* Virtual time jumps to the next timer unless host input is waiting. */
        unsigned got = input_possible ? console_poll(&pc->con, deadline == UINT64_MAX ? PC_IDLE_WAIT_MS : 0) : 0;
        if (!got && deadline != UINT64_MAX) vclock_skip_to(&pc->clock, deadline);
    } else {
        uint64_t now = vclock_now(&pc->clock);
        uint64_t wait = deadline > now ? deadline - now : 0;
        if (wait > max_wait) wait = max_wait;
        if (input_possible) {
            console_poll(&pc->con, (int)((wait + 999999u) / 1000000u));
            vclock_idle_done(&pc->clock);
        } else {
            vclock_wait_until(&pc->clock, now + wait, wait);
        }
    }
    feed_uart(pc);
    uart_tick(&pc->com1);
    vclock_run_timers(&pc->clock);
    check_quit(pc, v);
    return true;
}

/* --- interrupt wiring ---
 * ISA lines go to both the PIC and the I/O APIC (IRQ 0 on I/O APIC pin 2, as
 * the MP table says). The PIC reaches the CPU through LINT0 in virtual-wire
 * mode (ExtINT), as after a BIOS; the local APIC presents its own vectors
 * first. */

/* An interrupt may now be pending: the vCPU checks at the next instruction
 * boundary (REQ_BLOCK_END ends the decoded block it is running). */
static uint64_t pc_now_ns(struct machine *m)
{
    return vclock_now(&((struct pc *)m->board)->clock);
}

/* PAUSE in real time with one vCPU (-spin-skip): the guest spins until
 * time passes (a calibrated delay: RDTSC, PAUSE, again; its devices here
 * never need the wait), so let spin_skip_ns of virtual time pass at once.
 * Every clock the guest has (TSC, PIT, APIC timer, PM timer, RTC) reads
 * vclock_now: they stay in step. Not with several vCPUs, where a spin is
 * usually a vCPU waiting on another's lock and must not move everybody's
 * clock. */
static void pc_spin_hint(struct machine *m, struct vcpu *v)
{
    (void)v;
    struct pc *pc = m->board;
    vclock_skip_ahead(&pc->clock, pc->spin_skip_ns);
}

static void kick_vcpu(struct vcpu *v)
{
    /* Atomic: with -smp threads, another vCPU's thread may kick v. */
    __atomic_store_n(&v->irq_req, 1, __ATOMIC_SEQ_CST);
    __atomic_or_fetch(&v->req, REQ_BLOCK_END, __ATOMIC_SEQ_CST);
    if (v->smp) smp_kick(v);
}

static void pic_output(void *opaque, bool level)
{
    struct pc *pc = opaque;
    if (level) kick_vcpu(pc->m.cpu[0]);
}

static void isa_irq(struct pc *pc, int irq, bool level)
{
    pic_set_irq(&pc->pic, irq, level);
    ioapic_set_irq(&pc->ioapic, irq == 0 ? 2 : irq, level);
}

static bool pc_irq_pending(struct machine *m, struct vcpu *v)
{
    struct pc *pc = m->board;
    struct lapic *a = &pc->lapic[v->index];
    smp_dev_lock(m);
    bool p = lapic_has_interrupt(a) >= 0 || (lapic_accepts_pic(a) && pic_pending(&pc->pic));
    smp_dev_unlock(m);
    return p;
}

static int pc_irq_ack(struct machine *m, struct vcpu *v)
{
    struct pc *pc = m->board;
    struct lapic *a = &pc->lapic[v->index];
    int vec = -1;
    smp_dev_lock(m);
    if (lapic_has_interrupt(a) >= 0) vec = lapic_ack(a);
    else if (lapic_accepts_pic(a) && pic_pending(&pc->pic)) vec = pic_intack(&pc->pic);
    smp_dev_unlock(m);
    return vec;
}

/* INIT, start-up IPIs and NMIs that v's local APIC holds (-smp): taken
 * under the device lock, acted on after it (an NMI delivery may fault). */
static void pc_cpu_events(struct machine *m, struct vcpu *v)
{
    struct pc *pc = m->board;
    struct lapic *a = &pc->lapic[v->index];
    /* Called at every block while irq_req stays set (IF=0): look without
     * the device lock first. (A flag set after this look comes with a kick
     * that the run loop sees: cpu/interp.c check_interrupts.) */
    if (!__atomic_load_n(&a->init_pending, __ATOMIC_SEQ_CST) && !__atomic_load_n(&a->sipi_pending, __ATOMIC_SEQ_CST) &&
        !__atomic_load_n(&a->nmi_pending, __ATOMIC_SEQ_CST))
        return;
    smp_dev_lock(m);
    bool init = a->init_pending, sipi = a->sipi_pending;
    uint8_t sipi_vec = a->sipi_vector;
    bool nmi = a->nmi_pending && !v->nmi_blocked && !v->irq_shadow && !v->wait_sipi && !init;
    if (init) lapic_reset(a); /* INIT resets the APIC but for its ID and base (clears the flags) */
    a->sipi_pending = false;
    if (nmi) a->nmi_pending = false;
    smp_dev_unlock(m);
    if (init) {
        vcpu_init_ipi(v);
        v->req |= REQ_BLOCK_END;
    }
    if (sipi) vcpu_sipi(v, sipi_vec); /* after the INIT: lapic_deliver voids earlier ones */
    if (nmi) {
        v->halted = 0;
        v->nmi_blocked = 1;
        v->insn_eip = v->eip;
        cpu_interrupt(v, EXC_NMI, INT_EXTERNAL, false, 0, v->eip);
    }
}

/* The local APIC's state changed: make the vCPU look for an interrupt. */
static void apic_kick(void *opaque)
{
    kick_vcpu(opaque);
}

static void apic_send_ipi(void *opaque, uint32_t lo, uint32_t hi)
{
    struct vcpu *v = opaque;
    struct pc *pc = v->m->board;
    lapic_route_ipi(pc->lapics, pc->m.ncpu, v->index, lo, hi);
}

static void apic_eoi(void *opaque, int vector)
{
    struct vcpu *v = opaque;
    ioapic_eoi(&((struct pc *)v->m->board)->ioapic, vector);
}

static void ioapic_deliver(void *opaque, int dest, int dest_mode, int delivery_mode, int vector, bool level)
{
    struct pc *pc = opaque;
    if (delivery_mode == 7) return; /* ExtINT: the PIC path through LINT0 */
    lapic_route(pc->lapics, pc->m.ncpu, dest, dest_mode, delivery_mode, vector, level);
}

/* The APIC window with several vCPUs: the accessing vCPU's local APIC. */
static struct lapic *window_apic(struct pc *pc)
{
    struct vcpu *v = smp_current();
    if (!v) v = pc->cur;
    return &pc->lapic[v ? v->index : 0];
}

static uint32_t apic_window_read(void *opaque, uint32_t offset, int size)
{
    return lapic_mmio_read(window_apic(opaque), offset, size);
}

static void apic_window_write(void *opaque, uint32_t offset, uint32_t val, int size)
{
    lapic_mmio_write(window_apic(opaque), offset, val, size);
}

static void apic_base_written(struct machine *m, struct vcpu *v)
{
    struct pc *pc = m->board;
    smp_dev_lock(m);
    lapic_set_base_msr(&pc->lapic[v->index], v->msr.apic_base);
    smp_dev_unlock(m);
}

static void irq0_line(void *opaque, bool level) { isa_irq(opaque, 0, level); }
static void irq8_line(void *opaque, bool level) { isa_irq(opaque, 8, level); }
static void com1_line(void *opaque, int level) { isa_irq(opaque, PC_COM1_IRQ, level != 0); }
static void kbc_line(void *opaque, int irq, bool level) { isa_irq(opaque, irq, level); }
static void ide_line(void *opaque, int irq, int level) { isa_irq(opaque, irq, level != 0); }

/* Open every -drive image and attach it to its IDE position. */
static int attach_disks(struct pc *pc, const struct options *o, char *err, size_t errlen)
{
    for (int i = 0; i < o->drives.n; i++) {
        const struct drive_opt *d = &o->drives.d[i];
        enum disk_open_mode mode = (o->snapshot || d->snapshot) ? DISK_OPEN_SNAPSHOT
                                   : d->readonly ? DISK_OPEN_READONLY : DISK_OPEN_RW;
        struct disk_image *img = disk_image_open(d->file, mode, err, errlen);
        if (!img) return -1;
        pc->disk[d->index] = img;
        if (ide_attach(&pc->ide, d->index, img)) {
            snprintf(err, errlen, "cannot attach disk '%s' at index %d", d->file, d->index);
            return -1;
        }
    }
    if (o->drives.n) disk_flush_at_exit();
    return 0;
}

static void kbc_a20(void *opaque, bool enabled) { machine_set_a20(&((struct pc *)opaque)->m, enabled); }

/* A reset through the 8042 or port 0x92. bt86 does not reboot guests: the run
 * ends with status 0, which is what -no-reboot makes QEMU do. */
static void kbc_reset(void *opaque)
{
    struct pc *pc = opaque;
    pc->reset_requested = true;
    struct vcpu *v = pc->cur ? pc->cur : pc->m.cpu[0];
    v->stop = STOP_SHUTDOWN;
    v->req |= REQ_STOP;
}

/* The ACPI SCI: ISA IRQ 9, level-triggered, active high (the MADT says so). */
static void acpi_sci_line(void *opaque, bool level) { isa_irq(opaque, ACPI_SCI_IRQ, level); }

/* SLP_EN written: S5 (soft off) ends the run with status 0, like QEMU's
 * poweroff; the other sleep types are not offered and do nothing. */
static void acpi_sleep(void *opaque, int slp_typ)
{
    struct pc *pc = opaque;
    if (slp_typ != ACPI_SLP_TYP_S5) return;
    pc->poweroff_requested = true;
    struct vcpu *v = pc->cur ? pc->cur : pc->m.cpu[0];
    v->stop = STOP_SHUTDOWN;
    v->req |= REQ_STOP;
}

/* The firmware interfaces: fw_cfg with what the command line asked for
 * (RAM size, CPU count, the e820 map of the board's RAM, an empty boot
 * order), the PCI host
 * bridge, and the -debugcon port if one was given. 0 or -1 with a message. */
static int firmware_devices_init(struct pc *pc, const struct options *o, char *err, size_t errlen)
{
    struct machine *m = &pc->m;
    uint8_t e820[FW_CFG_E820_ENTRY_LEN];
    fw_cfg_init(&pc->fwcfg);
    if (fw_cfg_add_i64(&pc->fwcfg, FW_CFG_RAM_SIZE, o->ram_bytes) ||
        fw_cfg_add_i16(&pc->fwcfg, FW_CFG_NB_CPUS, (uint16_t)m->ncpu) ||
        fw_cfg_add_i16(&pc->fwcfg, FW_CFG_MAX_CPUS, (uint16_t)m->ncpu) ||
        fw_cfg_add_file(&pc->fwcfg, "etc/e820", e820, fw_cfg_e820_ram(e820, m->mem.ram_size)) ||
        /* Empty, as QEMU's when no device has a bootindex (QEMU's -kernel
         * lists its loader option ROM here; bt86 has none). */
        fw_cfg_add_file(&pc->fwcfg, "bootorder", "", 0)) {
        snprintf(err, errlen, "out of memory for fw_cfg");
        return -1;
    }
    pci_host_init(&pc->pci);
    pci_host_set_pam_hook(&pc->pci, bios_rom_pam_changed, m); /* BIOS shadowing */
    if (fw_cfg_register(&pc->fwcfg, &m->io) || pci_host_register(&pc->pci, &m->io)) {
        snprintf(err, errlen, "out of I/O bus handler slots");
        return -1;
    }
    if (o->debugcon == DEBUGCON_NONE) return 0;
    int fd = STDOUT_FILENO;
    if (o->debugcon == DEBUGCON_FILE) {
        fd = open(o->debugcon_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open -debugcon file '%s': %s", o->debugcon_path, strerror(errno));
            return -1;
        }
    }
    if (debugcon_init(&pc->debugcon, &m->io, fd, o->debugcon == DEBUGCON_FILE)) {
        debugcon_close(&pc->debugcon);
        snprintf(err, errlen, "out of I/O bus handler slots");
        return -1;
    }
    return 0;
}

int pc_init(struct pc *pc, const struct options *o, char *err, size_t errlen)
{
    memset(pc, 0, sizeof(*pc));
    err[0] = '\0';
    /* -engine kvm where the host has no usable /dev/kvm: one line, status 1. */
    if (o->engine == ENGINE_KVM && kvm_engine_probe(err, errlen)) return -1;
    if (console_open(&pc->con, o->serial, o->serial_path, err, errlen)) return -1;
    pc->console_ok = true;
    if (machine_init(&pc->m, o->ram_bytes, o->smp > 1 ? o->smp : 1)) return -1; /* it printed why */
    pc->machine_ok = true;
    struct machine *m = &pc->m;
    m->board = pc;
    pc->engine = o->engine;
    m->poll = pc_poll;
    m->idle = pc_idle;
    m->irq_pending = pc_irq_pending;
    m->irq_ack = pc_irq_ack;
    m->apic_base_written = apic_base_written;
    m->now_ns = pc_now_ns;
    pc->spin_skip_ns = o->spin_skip_ns;
    if (o->spin_skip_ns && m->ncpu == 1) m->spin_hint = pc_spin_hint; /* (-icount: vclock_skip_ahead does nothing) */
    /* -icount: time is the instruction count (and the RTC starts at a fixed
     * date) so that runs repeat exactly; otherwise host time. */
    bool det = o->icount_shift >= 0;
    vclock_init(&pc->clock, det, det ? (unsigned)o->icount_shift : 0, &m->cpu[0]->icount);
    int64_t epoch = det ? 1767225600 /* 2026-01-01 00:00:00 UTC */ : (int64_t)time(NULL);
    pic_init(&pc->pic, pic_output, pc);
    ioapic_init(&pc->ioapic, (uint8_t)m->ncpu, ioapic_deliver, pc);
    for (int i = 0; i < m->ncpu; i++) {
        struct vcpu *v = m->cpu[i];
        if (lapic_init(&pc->lapic[i], &pc->clock, i, apic_kick, v)) {
            snprintf(err, errlen, "out of virtual timers");
            return -1;
        }
        lapic_set_callbacks(&pc->lapic[i], apic_send_ipi, apic_eoi);
        lapic_set_base_msr(&pc->lapic[i], v->msr.apic_base);
        pc->lapics[i] = &pc->lapic[i];
    }
    struct mmio_region r;
    /* One vCPU: the APIC window belongs to vCPU 0's local APIC. Several:
     * it reaches the local APIC of the vCPU that accesses it. */
    lapic_region(&pc->lapic[0], &r);
    if (m->ncpu > 1) {
        r.read = apic_window_read;
        r.write = apic_window_write;
        r.opaque = pc;
        m->cpu_events = pc_cpu_events;
        for (int i = 1; i < m->ncpu; i++) vcpu_init_ipi(m->cpu[i]); /* APs wait for INIT-SIPI */
        /* Host threads unless asked not to, or -icount (deterministic), or
         * a window (SDL wants its events on the main thread). */
        bool threaded = !o->smp_single_thread && o->icount_shift < 0 && o->display == DISPLAY_NONE &&
                        smp_threads_supported(o->engine);
        if (smp_init(pc, threaded, err, errlen)) return -1;
    }
    if (phys_add_mmio(&m->mem, &r)) {
        snprintf(err, errlen, "cannot map the local APIC");
        return -1;
    }
    ioapic_region(&pc->ioapic, &r);
    if (phys_add_mmio(&m->mem, &r)) {
        snprintf(err, errlen, "cannot map the I/O APIC");
        return -1;
    }
    pit_init(&pc->pit, &pc->clock, irq0_line, pc);
    cmos_init(&pc->rtc, &pc->clock, epoch, o->ram_bytes, irq8_line, pc);
    i8042_init(&pc->kbc, kbc_line, kbc_a20, kbc_reset, pc);
    uart_init(&pc->com1, console_tx, &pc->con, com1_line, pc);
    if (uart_attach(&pc->com1, &m->io, PC_COM1_BASE) || debug_exit_init(&pc->dbg, &m->io, &pc->cur) ||
        port80_init(&m->io) || pic_register(&pc->pic, &m->io) || pit_register(&pc->pit, &m->io) ||
        cmos_register(&pc->rtc, &m->io) || i8042_register(&pc->kbc, &m->io) ||
        ide_init(&pc->ide, &m->io, ide_line, pc) || vga_text_init(&pc->vga, &m->io)) {
        snprintf(err, errlen, "out of I/O bus handler slots");
        return -1;
    }
    if (acpi_pm_init(&pc->acpi, &pc->clock, acpi_sci_line, acpi_sleep, pc) || acpi_pm_register(&pc->acpi, &m->io)) {
        snprintf(err, errlen, "cannot set up the ACPI PM registers (out of timers or I/O handler slots)");
        return -1;
    }
    if (firmware_devices_init(pc, o, err, errlen)) return -1;
    return attach_disks(pc, o, err, errlen);
}

/* What firmware leaves in memory for the OS: the MP table in the EBDA and
 * the ACPI tables at ACPI_TABLES_BASE (frontend/acpi_tables.h). */
int pc_write_firmware_tables(struct pc *pc, char *err, size_t errlen)
{
    struct mptable_config c;
    mptable_default_config(&c, pc->m.ncpu);
    if (mptable_write(&pc->m.mem, MPTABLE_ADDR, MPTABLE_MAX_LEN, &c) < 0) {
        snprintf(err, errlen, "cannot write the MP table");
        return -1;
    }
    struct acpi_config ac;
    acpi_default_config(&ac, pc->m.ncpu);
    if (acpi_tables_write(&pc->m.mem, ACPI_TABLES_BASE, ACPI_TABLES_MAX, &ac) < 0) {
        snprintf(err, errlen, "cannot write the ACPI tables");
        return -1;
    }
    return 0;
}

/* A Linux bzImage (setup header) rather than a Multiboot kernel? Unreadable
 * files are left for the loader to report. */
static bool kernel_is_bzimage(const char *path)
{
    uint8_t head[0x264];
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    return linux_is_bzimage(head, n);
}

int pc_load(struct pc *pc, const struct options *o, char *err, size_t errlen)
{
    if (o->bios) {
        if (bios_rom_load(&pc->m, o->bios, !o->kernel, err, errlen)) return -1;
        /* The ROM is the firmware: the CPU starts at its reset vector. */
        if (!o->kernel) {
            vcpu_reset(pc->m.cpu[0]);
            return 0;
        }
    }
    if (!o->kernel) {
        /* No kernel: boot sector 0 of the first disk, as a BIOS would. */
        const struct drive_opt *d = drive_set_boot(&o->drives);
        if (!d || !pc->disk[d->index]) {
            snprintf(err, errlen, "no disk to boot from");
            return -1;
        }
        if (boot_disk_prepare(&pc->m, pc->m.cpu[0], pc->disk[d->index], err, errlen)) return -1;
        return pc_write_firmware_tables(pc, err, errlen);
    }
    if (kernel_is_bzimage(o->kernel)) {
        struct linux_boot lb;
        if (linux_load(&pc->m, o->kernel, o->append, o->initrd, &lb, err, errlen)) return -1;
        bios_entry_setup(&pc->m); /* the state a BIOS leaves, as SeaBIOS does under QEMU */
        linux_enter(&pc->m, pc->m.cpu[0], &lb);
        /* QEMU's fw_cfg also tells firmware a Linux kernel's command line
         * (not a Multiboot kernel's); length with the NUL, then the bytes. */
        const char *cmdline = o->append ? o->append : "";
        if (fw_cfg_add_i32(&pc->fwcfg, FW_CFG_CMDLINE_SIZE, (uint32_t)strlen(cmdline) + 1) ||
            fw_cfg_add_string(&pc->fwcfg, FW_CFG_CMDLINE_DATA, cmdline)) {
            snprintf(err, errlen, "out of memory for fw_cfg");
            return -1;
        }
        return pc_write_firmware_tables(pc, err, errlen);
    }
    struct mb_boot b;
    if (multiboot_load(&pc->m, o->kernel, o->append, o->initrd, &b, err, errlen)) return -1;
    if (!o->bios) bios_entry_setup(&pc->m); /* PIC, PIT, IVT as a BIOS leaves them */
    multiboot_enter(&pc->m, pc->m.cpu[0], &b);
    return pc_write_firmware_tables(pc, err, errlen);
}

enum vcpu_stop pc_run(struct pc *pc, uint64_t max_insns)
{
    if (pc->smp) return smp_run(pc, max_insns);
    struct vcpu *v = pc->m.cpu[0];
    uint64_t start = v->icount;
    enum vcpu_stop s = STOP_NONE;
    pc->cur = v;
    while (s == STOP_NONE) {
        uint64_t left = 0;
        if (max_insns) {
            uint64_t done = v->icount - start;
            if (done >= max_insns) {
                s = STOP_INSN_LIMIT;
                break;
            }
            left = max_insns - done;
        }
        if (pc->engine == ENGINE_KVM) s = kvm_engine_run(v); /* no -max-insns under KVM (cli.c) */
        else if (pc->engine == ENGINE_TRAP) s = trap_engine_run(v, left);
        else s = pc->engine == ENGINE_BT ? bt_run(v, left) : cpu_run(v, left);
        /* STOP_NONE: someone raised REQ_STOP without a reason; carry on. */
    }
    pc->cur = NULL;
    return s;
}

void pc_destroy(struct pc *pc)
{
    /* Translator state first: it lives beside each vCPU. */
    for (int i = 0; pc->machine_ok && i < pc->m.ncpu; i++) bt_vcpu_free(pc->m.cpu[i]);
    for (int i = 0; i < DRIVE_MAX; i++) {
        if (pc->disk[i]) disk_image_close(pc->disk[i]); /* flushes what the guest wrote */
        pc->disk[i] = NULL;
    }
    smp_destroy(pc);
    fw_cfg_destroy(&pc->fwcfg);
    debugcon_close(&pc->debugcon);
    if (pc->machine_ok) machine_destroy(&pc->m);
    pc->machine_ok = false;
    if (pc->console_ok) console_close(&pc->con);
    pc->console_ok = false;
}
