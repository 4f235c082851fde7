/* VMM handlers for port I/O: IN, OUT, INS, OUTS, with the protected-mode
 * permission check (IOPL, then the TSS I/O permission bitmap). */
#include "cpu/fault.h"
#include "cpu/machine.h"
#include "cpu/mem.h"
#include "cpu/trap_engine.h"
#include "cpu/vcpu.h"
#include "cpu/vmm.h"
#include "devices/iobus.h"
#include "memory/paging.h"

/* Iterations of a REP INS/OUTS done per call; the instruction then restarts
 * so that interrupts are taken between chunks, as hardware allows. */
#define IO_REP_CHUNK 4096

/* #GP(0) unless the access to [port, port+size) is allowed. In protected
 * mode with CPL > IOPL, and always in VM86, every bit for the accessed ports
 * in the TSS bitmap must be clear; the CPU reads two bytes of the bitmap,
 * both inside the TSS limit. */
static void io_check(struct vcpu *v, uint32_t port, unsigned size)
{
    if (!vcpu_protected(v)) return;
    if (!vcpu_vm86(v) && v->cpl <= vcpu_iopl(v)) return;
    if (trap_deprived(v)) trap_to_vmm(v); /* the real TSS (the VMM's) has no I/O bitmap */
    const struct seg_cache *tr = &v->tr;
    unsigned type = SEG_ATTR_TYPE(tr->attr);
    if (!(tr->attr & SEG_ATTR_P) || (type != 0x9 && type != 0xb) || tr->limit < 0x67) cpu_gp(v, 0);
    uint32_t byte = sys_read(v, tr->base + 0x66, 2) + port / 8;
    if (byte + 1 > tr->limit) cpu_gp(v, 0);
    uint32_t bits = sys_read(v, tr->base + byte, 2);
    if (bits & (((1u << size) - 1) << (port & 7))) cpu_gp(v, 0);
}

uint32_t vmm_in(struct vcpu *v, uint32_t port, uint32_t size)
{
    port &= 0xffff;
    io_check(v, port, size);
    return iobus_in(&v->m->io, (uint16_t)port, (int)size);
}

void vmm_out(struct vcpu *v, uint32_t port, uint32_t size, uint32_t val)
{
    port &= 0xffff;
    io_check(v, port, size);
    iobus_out(&v->m->io, (uint16_t)port, val, (int)size);
}

/* Make sure a write of size bytes at lin cannot fault, before the port is read. */
static void probe_write(struct vcpu *v, uint32_t lin, unsigned size)
{
    int acc = ACC_WRITE | (v->cpl == 3 ? ACC_USER : 0);
    paging_translate(v, lin, acc);
    if (((lin + size - 1) ^ lin) & ~0xfffu) paging_translate(v, lin + size - 1, acc);
}

static uint32_t step(const struct vcpu *v, unsigned size)
{
    return (v->eflags & F_DF) ? (uint32_t)-size : size;
}

/* After IO_REP_CHUNK elements a REP INS/OUTS restarts itself (EIP stays on
 * it) so the run loop can take interrupts in between. */
static bool rep_io_yield(struct vcpu *v, unsigned n)
{
    if (n != IO_REP_CHUNK) return false;
    v->next_eip = v->insn_eip;
    v->req |= REQ_BLOCK_END;
    return true;
}

/* INS: port DX -> ES:(E)DI. Registers are updated after each element, so a
 * fault leaves the completed part of a REP visible and restartable. */
void vmm_ins(struct vcpu *v, uint32_t size, uint32_t addrsize, uint32_t rep, uint32_t unused)
{
    (void)unused;
    uint32_t am = addrsize == 2 ? 0xffffu : 0xffffffffu;
    uint16_t port = (uint16_t)v->r[R_EDX];
    io_check(v, port, size);
    for (unsigned n = 0;; n++) {
        if (rep && (v->r[R_ECX] & am) == 0) break;
        if (rep_io_yield(v, n)) break;
        uint32_t di = v->r[R_EDI] & am;
        probe_write(v, seg_lin_write(v, S_ES, di, size), size);
        uint32_t val = iobus_in(&v->m->io, port, (int)size);
        mem_write(v, S_ES, di, val, size);
        v->r[R_EDI] = (v->r[R_EDI] & ~am) | ((di + step(v, size)) & am);
        if (!rep) break;
        v->r[R_ECX] = (v->r[R_ECX] & ~am) | ((v->r[R_ECX] - 1) & am);
    }
}

/* OUTS: seg:(E)SI -> port DX. */
void vmm_outs(struct vcpu *v, uint32_t size, uint32_t addrsize, uint32_t rep, uint32_t seg)
{
    uint32_t am = addrsize == 2 ? 0xffffu : 0xffffffffu;
    uint16_t port = (uint16_t)v->r[R_EDX];
    if (seg >= S_COUNT) seg = S_DS;
    io_check(v, port, size);
    for (unsigned n = 0;; n++) {
        if (rep && (v->r[R_ECX] & am) == 0) break;
        if (rep_io_yield(v, n)) break;
        uint32_t si = v->r[R_ESI] & am;
        uint32_t val = mem_read(v, (int)seg, si, size);
        iobus_out(&v->m->io, port, val, (int)size);
        v->r[R_ESI] = (v->r[R_ESI] & ~am) | ((si + step(v, size)) & am);
        if (!rep) break;
        v->r[R_ECX] = (v->r[R_ECX] & ~am) | ((v->r[R_ECX] - 1) & am);
    }
}
