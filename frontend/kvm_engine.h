/* -engine kvm: the same PC (RAM, devices, boot paths) run through the host's
 * /dev/kvm instead of bt86's interpreter or translator. Guest RAM is the same
 * host buffer bt86 uses (one KVM memory slot per RAM piece, read-only slots
 * for ROMs); the vCPU starts from bt86's entry state; every exit goes to
 * bt86's devices (I/O bus, MMIO regions: local APIC, I/O APIC) and is counted
 * under the exit-reason numbers -stats uses (cpu/exit_reason.h). bt86 keeps
 * the interrupt controllers in user space (no in-kernel irqchip): external
 * interrupts are injected with KVM_INTERRUPT when KVM says the vCPU is ready.
 * The helpers below are exposed for the unit tests. */
#ifndef BT86_FRONTEND_KVM_ENGINE_H
#define BT86_FRONTEND_KVM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "cpu/vcpu.h"
#include "memory/phys.h"

struct machine;

/* Is /dev/kvm usable (opens, API version 12, user memory)? 0, or -1 with
 * "-engine kvm: /dev/kvm is not available (why)" in err. */
int kvm_engine_probe(char *err, size_t errlen);
/* The same for another device node (tests). */
int kvm_engine_probe_dev(const char *dev, char *err, size_t errlen);

/* Run v under KVM until it stops (exit port, triple fault, shutdown, HLT
 * that nothing can end, or an error, reported on stderr as STOP_ERROR). The
 * VM is created at the start and destroyed at the end; v's state is loaded
 * into it first and read back afterwards. */
enum vcpu_stop kvm_engine_run(struct vcpu *v);

/* One guest-physical range backed by host memory: a memory slot. */
struct kvm_mem_piece {
    uint32_t gpa, size;
    const uint8_t *host;  /* RAM: pm->ram + gpa; ROM: the ROM's data (copied to an aligned buffer) */
    bool rom;
};
#define KVM_ENGINE_MAX_PIECES (2 * (PHYS_MAX_MMIO + PHYS_MAX_ROM) + PHYS_MAX_ROM + 1)

/* Split the physical map into memory slots with bt86's precedence (MMIO over
 * ROM over RAM): RAM minus every page touched by a ROM or MMIO region, each
 * ROM minus MMIO pages. What is left out is reached through MMIO exits
 * (phys_read/phys_write). Returns the number of pieces, sorted by address,
 * or -1 if they do not fit in max. */
int kvm_engine_plan_memory(const struct phys_mem *pm, struct kvm_mem_piece *out, int max);

/* bt86's descriptor cache <-> KVM's segment. real_mode: the CPU is in real
 * mode (CR0.PE=0), where KVM wants present, writable/readable segments. */
void kvm_engine_seg_to_kvm(const struct seg_cache *s, bool real_mode, struct kvm_segment *k);
void kvm_engine_seg_from_kvm(const struct kvm_segment *k, struct seg_cache *s);

/* Complete a KVM_EXIT_IO (run->io, data at run + data_offset) or a
 * KVM_EXIT_MMIO (run->mmio) on the machine's I/O bus / physical memory.
 * run_size bounds the I/O data area: false if it lies outside. */
bool kvm_engine_do_io(struct machine *m, struct kvm_run *run, size_t run_size);
void kvm_engine_do_mmio(struct machine *m, struct kvm_run *run);

#endif
