/* Placeholder VMM handlers: each raises #UD until implemented in cpu/vmm_*.c.
 * Delete a function here when its real handler lands. */
#include "cpu/vmm.h"
#include "cpu/fault.h"
#include "cpu/vcpu.h"

void vmm_lgdt(struct vcpu *v, uint32_t seg, uint32_t off, uint32_t opsize)
{
    (void)seg;
    (void)off;
    (void)opsize;
    cpu_ud(v);
}

void vmm_lidt(struct vcpu *v, uint32_t seg, uint32_t off, uint32_t opsize)
{
    (void)seg;
    (void)off;
    (void)opsize;
    cpu_ud(v);
}

void vmm_sgdt(struct vcpu *v, uint32_t seg, uint32_t off)
{
    (void)seg;
    (void)off;
    cpu_ud(v);
}

void vmm_sidt(struct vcpu *v, uint32_t seg, uint32_t off)
{
    (void)seg;
    (void)off;
    cpu_ud(v);
}

void vmm_lldt(struct vcpu *v, uint32_t sel)
{
    (void)sel;
    cpu_ud(v);
}

void vmm_ltr(struct vcpu *v, uint32_t sel)
{
    (void)sel;
    cpu_ud(v);
}

uint32_t vmm_sldt(struct vcpu *v)
{
    cpu_ud(v);
}

uint32_t vmm_str(struct vcpu *v)
{
    cpu_ud(v);
}

uint64_t vmm_lar(struct vcpu *v, uint32_t sel)
{
    (void)sel;
    cpu_ud(v);
}

uint64_t vmm_lsl(struct vcpu *v, uint32_t sel)
{
    (void)sel;
    cpu_ud(v);
}

void vmm_verr(struct vcpu *v, uint32_t sel)
{
    (void)sel;
    cpu_ud(v);
}

void vmm_verw(struct vcpu *v, uint32_t sel)
{
    (void)sel;
    cpu_ud(v);
}

void vmm_load_seg(struct vcpu *v, uint32_t seg, uint32_t sel)
{
    (void)seg;
    (void)sel;
    cpu_ud(v);
}

void vmm_far_jmp(struct vcpu *v, uint32_t sel, uint32_t off, uint32_t opsize)
{
    (void)sel;
    (void)off;
    (void)opsize;
    cpu_ud(v);
}

void vmm_far_call(struct vcpu *v, uint32_t sel, uint32_t off, uint32_t opsize)
{
    (void)sel;
    (void)off;
    (void)opsize;
    cpu_ud(v);
}

void vmm_far_ret(struct vcpu *v, uint32_t opsize, uint32_t release)
{
    (void)opsize;
    (void)release;
    cpu_ud(v);
}
