/* -engine kvm (frontend/kvm_engine.h): bt86's PC through /dev/kvm.
 * The shape is kvmtool's: create the VM and one vCPU, hand KVM the guest RAM
 * bt86 already has, load the vCPU from bt86's state, then one loop over
 * KVM_RUN whose exits go to bt86's devices. Written against the KVM API
 * documentation (Documentation/virt/kvm/api.rst): API version 12, no
 * in-kernel irqchip, so HLT, I/O, MMIO and the interrupt window all come back
 * to user space. */
#include "frontend/kvm_engine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cpu/machine.h"
#include "cpu/segment.h"
#include "cpu/vmm.h"
#include "devices/iobus.h"

#define KVM_DEV "/dev/kvm"
#define KVM_TICK_NS 1000000L /* host timer that makes KVM_RUN return for device polling */
#define PAGE 4096u

int kvm_engine_probe(char *err, size_t errlen)
{
    return kvm_engine_probe_dev(KVM_DEV, err, errlen);
}

int kvm_engine_probe_dev(const char *dev, char *err, size_t errlen)
{
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "-engine kvm: %s is not available (%s)", dev, strerror(errno));
        return -1;
    }
    int api = ioctl(fd, KVM_GET_API_VERSION, 0);
    int mem = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
    close(fd);
    if (api != KVM_API_VERSION) {
        snprintf(err, errlen, "-engine kvm: %s is not available (API version %d, bt86 needs %d)", dev, api,
                 KVM_API_VERSION);
        return -1;
    }
    if (mem <= 0) {
        snprintf(err, errlen, "-engine kvm: %s is not available (no KVM_CAP_USER_MEMORY)", dev);
        return -1;
    }
    return 0;
}

/* ---- memory map ---- */

struct span { uint64_t lo, hi; };

static uint64_t page_down(uint64_t x) { return x & ~(uint64_t)(PAGE - 1); }
static uint64_t page_up(uint64_t x) { return (x + PAGE - 1) & ~(uint64_t)(PAGE - 1); }

/* Append [lo, hi) minus the holes (sorted by lo) as pieces; host is the
 * host address of lo. Returns the new count or -1 when out of room. */
static int emit_minus(struct kvm_mem_piece *out, int n, int max, uint64_t lo, uint64_t hi, const uint8_t *host,
                      bool rom, const struct span *holes, int nholes)
{
    uint64_t cur = lo;
    for (int i = 0; i <= nholes && cur < hi; i++) {
        uint64_t end = i < nholes ? holes[i].lo : hi;
        if (end > hi) end = hi;
        if (end > cur) {
            if (n >= max) return -1;
            out[n++] = (struct kvm_mem_piece){ (uint32_t)cur, (uint32_t)(end - cur), host + (cur - lo), rom };
        }
        if (i < nholes && holes[i].hi > cur) cur = holes[i].hi;
    }
    return n;
}

static void sort_spans(struct span *s, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && s[j].lo < s[j - 1].lo; j--) {
            struct span t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
}

int kvm_engine_plan_memory(const struct phys_mem *pm, struct kvm_mem_piece *out, int max)
{
    struct span mmio[PHYS_MAX_MMIO], all[PHYS_MAX_MMIO + PHYS_MAX_ROM];
    int nm = 0, na = 0, n = 0;
    for (int i = 0; i < pm->nmmio && i < PHYS_MAX_MMIO; i++) {
        const struct mmio_region *r = &pm->mmio[i];
        if (!r->size) continue;
        mmio[nm] = (struct span){ page_down(r->base), page_up((uint64_t)r->base + r->size) };
        all[na++] = mmio[nm++];
    }
    for (int i = 0; i < pm->nrom && i < PHYS_MAX_ROM; i++) {
        const struct rom_region *r = &pm->rom[i];
        if (r->size) all[na++] = (struct span){ page_down(r->base), page_up((uint64_t)r->base + r->size) };
    }
    sort_spans(mmio, nm);
    sort_spans(all, na);
    n = emit_minus(out, n, max, 0, pm->ram_size, pm->ram, false, all, na);
    if (n < 0) return -1;
    /* ROMs that are whole pages become read-only slots; others stay MMIO exits. */
    for (int i = 0; i < pm->nrom && i < PHYS_MAX_ROM; i++) {
        const struct rom_region *r = &pm->rom[i];
        if (!r->size || (r->base & (PAGE - 1)) || (r->size & (PAGE - 1))) continue;
        n = emit_minus(out, n, max, r->base, (uint64_t)r->base + r->size, r->data, true, mmio, nm);
        if (n < 0) return -1;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && out[j].gpa < out[j - 1].gpa; j--) {
            struct kvm_mem_piece t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

/* ---- segments ---- */

void kvm_engine_seg_to_kvm(const struct seg_cache *s, bool real_mode, struct kvm_segment *k)
{
    memset(k, 0, sizeof(*k));
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->sel;
    k->type = SEG_ATTR_TYPE(s->attr);
    k->s = (s->attr & SEG_ATTR_S) != 0;
    k->dpl = (uint8_t)SEG_ATTR_DPL(s->attr);
    k->present = (s->attr & SEG_ATTR_P) != 0;
    k->avl = (s->attr & SEG_ATTR_AVL) != 0;
    k->db = (s->attr & SEG_ATTR_DB) != 0;
    k->g = (s->attr & SEG_ATTR_G) != 0;
    if (real_mode) {
        /* Real-mode segments are always usable read/write (code: execute/read),
         * as after reset; VM entry insists on accessed, present, S=1. */
        k->present = 1;
        k->s = 1;
        k->dpl = 0;
        k->type = (k->type & 0x8) ? 0xb : 0x3;
    } else if (!k->present) {
        k->unusable = 1;
    } else if (k->s) {
        k->type |= 1; /* accessed: the CPU sets it on every load */
    }
}

void kvm_engine_seg_from_kvm(const struct kvm_segment *k, struct seg_cache *s)
{
    s->sel = k->selector;
    s->base = (uint32_t)k->base;
    s->limit = k->limit;
    s->attr = (uint16_t)((k->type & 0xf) | (k->s ? SEG_ATTR_S : 0) | ((k->dpl & 3) << 5) |
                         (k->present && !k->unusable ? SEG_ATTR_P : 0) | (k->avl ? SEG_ATTR_AVL : 0) |
                         (k->db ? SEG_ATTR_DB : 0) | (k->g ? SEG_ATTR_G : 0));
}

/* ---- exits ---- */

bool kvm_engine_do_io(struct machine *m, struct kvm_run *run, size_t run_size)
{
    unsigned size = run->io.size, count = run->io.count;
    uint64_t off = run->io.data_offset, len = (uint64_t)size * count;
    if ((size != 1 && size != 2 && size != 4) || off > run_size || len > run_size - off) return false;
    uint8_t *p = (uint8_t *)run + off;
    for (unsigned i = 0; i < count; i++, p += size) {
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            uint32_t val = 0;
            memcpy(&val, p, size);
            iobus_out(&m->io, run->io.port, val, (int)size);
        } else {
            uint32_t val = iobus_in(&m->io, run->io.port, (int)size);
            memcpy(p, &val, size);
        }
    }
    return true;
}

void kvm_engine_do_mmio(struct machine *m, struct kvm_run *run)
{
    uint32_t pa = (uint32_t)run->mmio.phys_addr;
    unsigned len = run->mmio.len;
    if (len > sizeof(run->mmio.data)) len = sizeof(run->mmio.data);
    if (run->mmio.phys_addr > 0xffffffffull) { /* beyond a 32-bit PC: unassigned */
        if (!run->mmio.is_write) memset(run->mmio.data, 0xff, len);
        return;
    }
    /* 1, 2 and 4 bytes in one access, anything else (8-byte moves) byte by byte. */
    unsigned chunk = (len == 1 || len == 2 || len == 4) ? len : 1;
    for (unsigned done = 0; done < len; done += chunk) {
        if (run->mmio.is_write) {
            uint32_t val = 0;
            memcpy(&val, run->mmio.data + done, chunk);
            phys_write(&m->mem, pa + done, val, (int)chunk);
        } else {
            uint32_t val = phys_read(&m->mem, pa + done, (int)chunk);
            memcpy(run->mmio.data + done, &val, chunk);
        }
    }
}

/* ---- the VM ---- */

struct kvm_vm {
    int kvm, vm, vcpu;
    struct kvm_run *run;
    size_t run_size;
    void *rom_copy[PHYS_MAX_ROM + 1];
    size_t rom_len[PHYS_MAX_ROM + 1];
    int nrom;
    timer_t tick;
    bool tick_ok;
    struct sigaction old_sa;
    bool sa_ok;
};

static void fail(const char *what)
{
    fprintf(stderr, "bt86: -engine kvm: %s: %s\n", what, strerror(errno));
}

static void tick_handler(int sig)
{
    (void)sig; /* only there to make KVM_RUN return with EINTR */
}

static void vm_close(struct kvm_vm *k)
{
    if (k->tick_ok) timer_delete(k->tick);
    if (k->sa_ok) sigaction(SIGRTMIN, &k->old_sa, NULL);
    if (k->run) munmap(k->run, k->run_size);
    if (k->vcpu >= 0) close(k->vcpu);
    if (k->vm >= 0) close(k->vm);
    if (k->kvm >= 0) close(k->kvm);
    for (int i = 0; i < k->nrom; i++) munmap(k->rom_copy[i], k->rom_len[i]);
}

static int set_memory(struct kvm_vm *k, const struct phys_mem *pm)
{
    struct kvm_mem_piece p[KVM_ENGINE_MAX_PIECES];
    int n = kvm_engine_plan_memory(pm, p, KVM_ENGINE_MAX_PIECES);
    if (n < 0) {
        fprintf(stderr, "bt86: -engine kvm: too many memory pieces\n");
        return -1;
    }
    bool ro = ioctl(k->kvm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
    uint32_t slot = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *host = p[i].host;
        if (p[i].rom) {
            /* Without read-only slots a ROM stays an MMIO range (reads work,
             * code in it cannot run). ROM data is not page aligned: copy it. */
            if (!ro || k->nrom > PHYS_MAX_ROM) continue;
            void *c = mmap(NULL, p[i].size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (c == MAP_FAILED) {
                fail("ROM copy");
                return -1;
            }
            memcpy(c, host, p[i].size);
            k->rom_copy[k->nrom] = c;
            k->rom_len[k->nrom++] = p[i].size;
            host = c;
        }
        struct kvm_userspace_memory_region r = {
            .slot = slot++,
            .flags = p[i].rom ? KVM_MEM_READONLY : 0,
            .guest_phys_addr = p[i].gpa,
            .memory_size = p[i].size,
            .userspace_addr = (uint64_t)(uintptr_t)host,
        };
        if (ioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
            fail("KVM_SET_USER_MEMORY_REGION");
            return -1;
        }
    }
    return 0;
}

/* CPUID: bt86's own leaves (vmm_cpuid), so the guest sees the same CPU. */
static int set_cpuid(struct kvm_vm *k, struct vcpu *v)
{
    static const uint32_t leaves[] = { 0, 1, 0x80000000u, 0x80000001u, 0x80000002u, 0x80000003u, 0x80000004u };
    enum { N = sizeof(leaves) / sizeof(leaves[0]) };
    struct {
        struct kvm_cpuid2 h;
        struct kvm_cpuid_entry2 e[N];
    } c;
    memset(&c, 0, sizeof(c));
    uint32_t save[4];
    memcpy(save, v->r, sizeof(save));
    uint64_t exits[EXIT_COUNT];
    memcpy(exits, v->exits, sizeof(exits));
    for (int i = 0; i < N; i++) {
        v->r[R_EAX] = leaves[i];
        v->r[R_ECX] = 0;
        vmm_cpuid(v);
        c.e[i] = (struct kvm_cpuid_entry2){ .function = leaves[i], .eax = v->r[R_EAX], .ebx = v->r[R_EBX],
                                             .ecx = v->r[R_ECX], .edx = v->r[R_EDX] };
    }
    memcpy(v->r, save, sizeof(save));
    memcpy(v->exits, exits, sizeof(exits));
    /* Basic leaves up to 1 only: leaf 0x15 states bt86's 1 GHz TSC, and
     * under KVM the guest reads the host's. */
    c.e[0].eax = 1;
    c.h.nent = N;
    if (ioctl(k->vcpu, KVM_SET_CPUID2, &c) < 0) {
        fail("KVM_SET_CPUID2");
        return -1;
    }
    return 0;
}

static int load_state(struct kvm_vm *k, const struct vcpu *v)
{
    struct kvm_sregs sr;
    if (ioctl(k->vcpu, KVM_GET_SREGS, &sr) < 0) {
        fail("KVM_GET_SREGS");
        return -1;
    }
    bool real = !(v->cr0 & CR0_PE);
    struct kvm_segment *segs[S_COUNT] = { &sr.es, &sr.cs, &sr.ss, &sr.ds, &sr.fs, &sr.gs };
    for (int i = 0; i < S_COUNT; i++) kvm_engine_seg_to_kvm(&v->seg[i], real, segs[i]);
    if (real) sr.cs.type = 0xb;
    kvm_engine_seg_to_kvm(&v->ldtr, false, &sr.ldt);
    if (!sr.ldt.present) {
        sr.ldt.unusable = 1;
        sr.ldt.type = 2;
    }
    kvm_engine_seg_to_kvm(&v->tr, false, &sr.tr);
    if (!(v->tr.attr & SEG_ATTR_P)) {
        /* TR never loaded (as after reset): VM entry wants a present busy
         * TSS, which is what the CPU's reset value looks like. */
        sr.tr.unusable = 0;
        sr.tr.present = 1;
        sr.tr.s = 0;
        sr.tr.type = 11;
        if (!sr.tr.limit) sr.tr.limit = 0xffff;
    }
    sr.gdt.base = v->gdtr.base;
    sr.gdt.limit = v->gdtr.limit;
    sr.idt.base = v->idtr.base;
    sr.idt.limit = v->idtr.limit;
    sr.cr0 = v->cr0;
    sr.cr2 = v->cr2;
    sr.cr3 = v->cr3;
    sr.cr4 = v->cr4;
    sr.efer = 0;
    sr.apic_base = v->msr.apic_base;
    memset(sr.interrupt_bitmap, 0, sizeof(sr.interrupt_bitmap));
    if (ioctl(k->vcpu, KVM_SET_SREGS, &sr) < 0) {
        fail("KVM_SET_SREGS");
        return -1;
    }
    struct kvm_regs r;
    memset(&r, 0, sizeof(r));
    r.rax = v->r[R_EAX];
    r.rcx = v->r[R_ECX];
    r.rdx = v->r[R_EDX];
    r.rbx = v->r[R_EBX];
    r.rsp = v->r[R_ESP];
    r.rbp = v->r[R_EBP];
    r.rsi = v->r[R_ESI];
    r.rdi = v->r[R_EDI];
    r.rip = v->eip;
    r.rflags = v->eflags | F_FIXED1;
    if (ioctl(k->vcpu, KVM_SET_REGS, &r) < 0) {
        fail("KVM_SET_REGS");
        return -1;
    }
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e[3];
    } msrs;
    memset(&msrs, 0, sizeof(msrs));
    msrs.h.nmsrs = 3;
    msrs.e[0] = (struct kvm_msr_entry){ .index = 0x174, .data = v->msr.sysenter_cs };
    msrs.e[1] = (struct kvm_msr_entry){ .index = 0x175, .data = v->msr.sysenter_esp };
    msrs.e[2] = (struct kvm_msr_entry){ .index = 0x176, .data = v->msr.sysenter_eip };
    if (ioctl(k->vcpu, KVM_SET_MSRS, &msrs) < 0) {
        fail("KVM_SET_MSRS");
        return -1;
    }
    return 0;
}

/* Read the vCPU back into v (general and system registers), so that the
 * frontend's messages and -stats see where the guest stopped. */
static void save_state(struct kvm_vm *k, struct vcpu *v)
{
    struct kvm_regs r;
    if (ioctl(k->vcpu, KVM_GET_REGS, &r) == 0) {
        v->r[R_EAX] = (uint32_t)r.rax;
        v->r[R_ECX] = (uint32_t)r.rcx;
        v->r[R_EDX] = (uint32_t)r.rdx;
        v->r[R_EBX] = (uint32_t)r.rbx;
        v->r[R_ESP] = (uint32_t)r.rsp;
        v->r[R_EBP] = (uint32_t)r.rbp;
        v->r[R_ESI] = (uint32_t)r.rsi;
        v->r[R_EDI] = (uint32_t)r.rdi;
        v->eip = v->insn_eip = (uint32_t)r.rip;
        v->eflags = (uint32_t)r.rflags;
    }
    struct kvm_sregs sr;
    if (ioctl(k->vcpu, KVM_GET_SREGS, &sr) == 0) {
        const struct kvm_segment *segs[S_COUNT] = { &sr.es, &sr.cs, &sr.ss, &sr.ds, &sr.fs, &sr.gs };
        for (int i = 0; i < S_COUNT; i++) {
            kvm_engine_seg_from_kvm(segs[i], &v->seg[i]);
            seg_cache_refresh(&v->seg[i], (sr.cr0 & CR0_PE) != 0);
        }
        v->cr0 = (uint32_t)sr.cr0;
        v->cr2 = (uint32_t)sr.cr2;
        v->cr3 = (uint32_t)sr.cr3;
        v->cr4 = (uint32_t)sr.cr4;
        v->cpl = (uint8_t)(sr.cs.selector & 3);
        if (!(sr.cr0 & CR0_PE)) v->cpl = 0;
    }
}

static int vm_open(struct kvm_vm *k, struct vcpu *v)
{
    k->kvm = open(KVM_DEV, O_RDWR | O_CLOEXEC);
    if (k->kvm < 0) {
        fprintf(stderr, "bt86: -engine kvm: %s is not available (%s)\n", KVM_DEV, strerror(errno));
        return -1;
    }
    k->vm = ioctl(k->kvm, KVM_CREATE_VM, 0);
    if (k->vm < 0) {
        fail("KVM_CREATE_VM");
        return -1;
    }
    /* Intel needs a page for an identity page table and three for its
     * real-mode TSS, below 4 GiB and outside every slot; KVM's defaults
     * (0xfffbc000) would fall inside a 2 MiB -bios ROM, so take QEMU's
     * addresses, free on bt86's board too. AMD ignores both. */
    if (ioctl(k->kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
        uint64_t idmap = 0xfeffc000u;
        if (ioctl(k->vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
            fail("KVM_SET_IDENTITY_MAP_ADDR");
            return -1;
        }
    }
    if (ioctl(k->vm, KVM_SET_TSS_ADDR, 0xfeffd000ul) < 0 && errno != ENOTTY && errno != EINVAL) {
        fail("KVM_SET_TSS_ADDR");
        return -1;
    }
    if (set_memory(k, &v->m->mem)) return -1;
    k->vcpu = ioctl(k->vm, KVM_CREATE_VCPU, 0);
    if (k->vcpu < 0) {
        fail("KVM_CREATE_VCPU");
        return -1;
    }
    int sz = ioctl(k->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz < (int)sizeof(struct kvm_run)) {
        fail("KVM_GET_VCPU_MMAP_SIZE");
        return -1;
    }
    k->run_size = (size_t)sz;
    void *p = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu, 0);
    if (p == MAP_FAILED) {
        fail("mmap of the vCPU");
        return -1;
    }
    k->run = p;
    if (set_cpuid(k, v) || load_state(k, v)) return -1;

    /* A per-thread timer signal makes KVM_RUN return every KVM_TICK_NS even
     * when the guest never exits, so timers and host input are polled. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tick_handler;
    /* KVM_RUN returns EINTR whatever SA_RESTART says; other calls restart */
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGRTMIN, &sa, &k->old_sa) < 0) {
        fail("sigaction");
        return -1;
    }
    k->sa_ok = true;
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGRTMIN);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN;
    sev._sigev_un._tid = gettid();
    if (timer_create(CLOCK_MONOTONIC, &sev, &k->tick) < 0) {
        fail("timer_create");
        return -1;
    }
    k->tick_ok = true;
    struct itimerspec its = { { 0, KVM_TICK_NS }, { 0, KVM_TICK_NS } };
    if (timer_settime(k->tick, 0, &its, NULL) < 0) {
        fail("timer_settime");
        return -1;
    }
    return 0;
}

static const char *internal_error_text(unsigned sub)
{
    switch (sub) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception during exception delivery";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "exit during event delivery";
    default: return "unknown suberror";
    }
}

/* The vCPU halted: wait (through the board's idle hook) until an interrupt
 * can be taken. False if nothing can ever wake it. */
static bool wait_halted(struct kvm_vm *k, struct vcpu *v)
{
    struct machine *m = v->m;
    struct kvm_regs r;
    if (ioctl(k->vcpu, KVM_GET_REGS, &r) == 0) {
        v->eflags = (uint32_t)r.rflags;
        v->insn_eip = (uint32_t)r.rip - 1; /* HLT is one byte */
    }
    v->halted = 1;
    while (!(m->irq_pending && m->irq_pending(m, v))) {
        if (v->req & REQ_STOP) break;
        if (!m->idle || !m->idle(m, v)) return false;
    }
    v->halted = 0;
    return true;
}

enum vcpu_stop kvm_engine_run(struct vcpu *v)
{
    struct machine *m = v->m;
    struct kvm_vm k = { .kvm = -1, .vm = -1, .vcpu = -1 };
    enum vcpu_stop stop = STOP_ERROR;
    if (vm_open(&k, v)) goto out;
    struct kvm_run *run = k.run;
    for (;;) {
        if (v->req & REQ_STOP) {
            v->req &= ~REQ_STOP;
            if (v->stop != STOP_NONE) {
                stop = v->stop;
                break;
            }
        }
        /* Inject when KVM says the vCPU takes an interrupt now (IF=1, no
         * shadow, nothing queued); otherwise ask for an exit when it does. */
        bool pending = m->irq_pending && m->irq_pending(m, v);
        run->request_interrupt_window = 0;
        if (pending && run->ready_for_interrupt_injection) {
            int vec = m->irq_ack(m, v);
            if (vec >= 0) {
                struct kvm_interrupt irq = { .irq = (uint32_t)vec };
                if (ioctl(k.vcpu, KVM_INTERRUPT, &irq) < 0) {
                    fail("KVM_INTERRUPT");
                    break;
                }
            }
        } else if (pending) {
            run->request_interrupt_window = 1;
        }
        int rc = ioctl(k.vcpu, KVM_RUN, 0);
        if (rc < 0 && errno != EINTR && errno != EAGAIN) {
            fail("KVM_RUN");
            break;
        }
        if (rc < 0 || run->exit_reason == KVM_EXIT_INTR) {
            v->exits[EXIT_EXTINT]++; /* the host's tick: poll devices */
            if (m->poll) m->poll(m, v);
            continue;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            v->exits[EXIT_IO]++;
            if (!kvm_engine_do_io(m, run, k.run_size)) {
                fprintf(stderr, "bt86: -engine kvm: malformed I/O exit (size %u count %u)\n", run->io.size,
                        run->io.count);
                goto out_save;
            }
            break;
        case KVM_EXIT_MMIO:
            v->exits[EXIT_SHADOW_PF]++;
            kvm_engine_do_mmio(m, run);
            break;
        case KVM_EXIT_HLT:
            v->exits[EXIT_HLT]++;
            if (!wait_halted(&k, v)) {
                save_state(&k, v);
                v->insn_eip = v->eip - 1;
                stop = STOP_HALT_FOREVER;
                goto out;
            }
            break;
        case KVM_EXIT_IRQ_WINDOW_OPEN:
            v->exits[EXIT_INTR_WINDOW]++;
            break;
        case KVM_EXIT_SHUTDOWN:
            v->exits[EXIT_TRIPLE_FAULT]++;
            save_state(&k, v);
            v->fault_chain_len = 0;
            stop = STOP_TRIPLE_FAULT;
            goto out;
        case KVM_EXIT_FAIL_ENTRY:
            save_state(&k, v);
            fprintf(stderr, "bt86: -engine kvm: VM entry failed (hardware reason 0x%llx) at EIP=%08x\n",
                    (unsigned long long)run->fail_entry.hardware_entry_failure_reason, v->eip);
            goto out;
        case KVM_EXIT_INTERNAL_ERROR:
            save_state(&k, v);
            fprintf(stderr, "bt86: -engine kvm: KVM internal error (%s) at EIP=%08x\n",
                    internal_error_text(run->internal.suberror), v->eip);
            goto out;
        default:
            save_state(&k, v);
            fprintf(stderr, "bt86: -engine kvm: unhandled exit reason %u at EIP=%08x\n", run->exit_reason, v->eip);
            goto out;
        }
    }
out_save:
    save_state(&k, v);
out:
    vm_close(&k);
    return stop;
}
