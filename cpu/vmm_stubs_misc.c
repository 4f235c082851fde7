/* Placeholder VMM handlers: each raises #UD until implemented in cpu/vmm_*.c.
 * Delete a function here when its real handler lands. */
#include "cpu/vmm.h"
#include "cpu/fault.h"
#include "cpu/vcpu.h"

void vmm_cli(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_sti(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_pushf(struct vcpu *v, uint32_t opsize)
{
    (void)opsize;
    cpu_ud(v);
}

void vmm_popf(struct vcpu *v, uint32_t opsize)
{
    (void)opsize;
    cpu_ud(v);
}

void vmm_mov_to_cr(struct vcpu *v, uint32_t cr, uint32_t val)
{
    (void)cr;
    (void)val;
    cpu_ud(v);
}

uint32_t vmm_mov_from_cr(struct vcpu *v, uint32_t cr)
{
    (void)cr;
    cpu_ud(v);
}

void vmm_clts(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_lmsw(struct vcpu *v, uint32_t val)
{
    (void)val;
    cpu_ud(v);
}

uint32_t vmm_smsw(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_mov_to_dr(struct vcpu *v, uint32_t dr, uint32_t val)
{
    (void)dr;
    (void)val;
    cpu_ud(v);
}

uint32_t vmm_mov_from_dr(struct vcpu *v, uint32_t dr)
{
    (void)dr;
    cpu_ud(v);
}

void vmm_int_sw(struct vcpu *v, uint32_t vector, uint32_t kind)
{
    (void)vector;
    (void)kind;
    cpu_ud(v);
}

void vmm_iret(struct vcpu *v, uint32_t opsize)
{
    (void)opsize;
    cpu_ud(v);
}

uint32_t vmm_in(struct vcpu *v, uint32_t port, uint32_t size)
{
    (void)port;
    (void)size;
    cpu_ud(v);
}

void vmm_out(struct vcpu *v, uint32_t port, uint32_t size, uint32_t val)
{
    (void)port;
    (void)size;
    (void)val;
    cpu_ud(v);
}

void vmm_ins(struct vcpu *v, uint32_t size, uint32_t addrsize, uint32_t rep, uint32_t unused)
{
    (void)size;
    (void)addrsize;
    (void)rep;
    (void)unused;
    cpu_ud(v);
}

void vmm_outs(struct vcpu *v, uint32_t size, uint32_t addrsize, uint32_t rep, uint32_t seg)
{
    (void)size;
    (void)addrsize;
    (void)rep;
    (void)seg;
    cpu_ud(v);
}

void vmm_hlt(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_invlpg(struct vcpu *v, uint32_t lin)
{
    (void)lin;
    cpu_ud(v);
}

void vmm_cpuid(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_rdmsr(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_wrmsr(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_rdtsc(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_rdpmc(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_sysenter(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_sysexit(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_invd(struct vcpu *v)
{
    cpu_ud(v);
}

void vmm_wbinvd(struct vcpu *v)
{
    cpu_ud(v);
}
