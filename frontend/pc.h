/* The board: a PC with one vCPU, RAM, the 8259A PIC pair, the 8254 PIT, the
 * local APIC (0xfee00000) and I/O APIC (0xfec00000) described by an MP table,
 * the CMOS/RTC, the 8042 keyboard controller with port 0x92, an IDE
 * controller with up to four raw disk images, VGA text-mode registers (the
 * text itself is RAM at 0xb8000, shown by -display sdl), COM1 (16550A at
 * 0x3f8, IRQ 4), the debug-exit port 0xf4, the POST port 0x80, QEMU's fw_cfg
 * (0x510), PCI configuration mechanism #1 (0xcf8) with the 440FX host bridge,
 * the optional debug console (0xe9) and -bios ROM, wired to
 * the host console and to virtual time (devices/vclock.h). It
 * owns the machine hooks (idle, poll) and the "current vCPU" slot that devices
 * reached through the I/O bus use to find the vCPU that accessed them. */
#ifndef BT86_FRONTEND_PC_H
#define BT86_FRONTEND_PC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/machine.h"
#include "cpu/vcpu.h"
#include "devices/acpi_pm.h"
#include "devices/cmos_rtc.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/fw_cfg.h"
#include "devices/pci_host.h"
#include "devices/disk_image.h"
#include "devices/i8042.h"
#include "devices/ide.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/vclock.h"
#include "devices/uart16550.h"
#include "devices/vga_text.h"
#include "frontend/cli.h"
#include "frontend/console.h"

#define PC_COM1_BASE 0x3f8
#define PC_COM1_IRQ  4
#define PC_IDLE_WAIT_MS 10
/* A running vCPU looks at host input at most this often (ns of the board's
 * clock, which also drives the timers polled with it): the run
 * loop polls every 16,384 instructions, ~90,000 times a second under the
 * translator, and each look is a poll() system call on a terminal or a
 * pipe. A halted vCPU waits on the input itself (pc_idle). */
#define PC_INPUT_POLL_NS 1000000u

struct display_sdl;
struct smp_state;

struct pc {
    struct machine m;
    struct vclock clock;
    struct pic pic;
    struct lapic lapic[MAX_VCPUS];
    struct lapic *lapics[MAX_VCPUS]; /* for lapic_route */
    struct ioapic ioapic;
    struct pit pit;
    struct cmos_rtc rtc;
    struct i8042 kbc;
    struct ide ide;
    struct disk_image *disk[DRIVE_MAX];
    struct uart16550 com1;
    struct debug_exit dbg;
    struct acpi_pm acpi;          /* ACPI PM1a registers and PM timer at 0x600 (S5 powers off) */
    struct debugcon debugcon;     /* port 0xe9 (-debugcon; claimed only if given) */
    struct fw_cfg fwcfg;          /* QEMU fw_cfg at 0x510-0x511 */
    struct pci_host pci;          /* PCI mechanism #1 at 0xcf8-0xcff: the 440FX host bridge */
    struct console con;
    uint64_t con_polled_ns;       /* clock time of the last running look at input (pc_poll) */
    struct vga_text vga;          /* VGA text-mode registers (0x3c0-0x3df) */
    struct display_sdl *display;  /* -display sdl window, or NULL */
    struct vcpu *cur;     /* the vCPU running on this (the only) host thread */
    uint32_t spin_skip_ns;        /* -spin-skip: virtual ns each PAUSE lets pass (pc_spin_hint) */
    struct smp_state *smp; /* -smp N > 1: the vCPU scheduler (frontend/smp_run.h), else NULL */
    enum engine_kind engine; /* -engine: interpreter or binary translator */
    bool user_quit;       /* Ctrl-A x */
    bool reset_requested; /* 8042 / port 0x92 reset: bt86 ends the run (status 0) */
    bool poweroff_requested; /* ACPI S5 (SLP_TYP 5 | SLP_EN): the run ends, status 0 */
    bool machine_ok, console_ok;
};

/* Build the board: console backend, machine, devices, hooks. 0, or -1 with a
 * message in err (empty if one was already printed). */
int pc_init(struct pc *pc, const struct options *o, char *err, size_t errlen);
/* Load the -kernel (and -initrd) and set vCPU 0 to the Multiboot entry state;
 * without -kernel, load the first disk's boot sector at 0x7c00 instead. */
int pc_load(struct pc *pc, const struct options *o, char *err, size_t errlen);
/* Write the MP table (done by pc_load; boot paths that skip it call it). */
int pc_write_firmware_tables(struct pc *pc, char *err, size_t errlen);
/* Run vCPU 0 until it stops (max_insns 0 = no limit). */
enum vcpu_stop pc_run(struct pc *pc, uint64_t max_insns);
void pc_destroy(struct pc *pc);

#endif
