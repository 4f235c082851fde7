/* The flat 32-bit entry state of boot loaders (frontend/flat32_entry.h). */
#include "frontend/flat32_entry.h"

#include <string.h>

#include "cpu/machine.h"
#include "cpu/segment.h"
#include "cpu/vcpu.h"
#include "frontend/bios_data.h"
#include "frontend/errfmt.h"

static void set_flat(struct vcpu *v, int s, uint16_t sel, uint16_t attr)
{
    v->seg[s] = (struct seg_cache){ .sel = sel, .attr = attr, .base = 0, .limit = 0xffffffffu };
    seg_cache_refresh(&v->seg[s], true);
}

void flat32_enter(struct machine *m, struct vcpu *v, uint32_t gdt_addr, uint16_t cs_sel, uint16_t ds_sel)
{
    uint8_t gdt[64] = { 0 };
    uint32_t len = ds_sel + 8u;
    if (len > sizeof(gdt)) len = sizeof(gdt);
    wr32le(gdt + cs_sel, 0x0000ffff);
    wr32le(gdt + cs_sel + 4, 0x00cf9b00);
    wr32le(gdt + ds_sel, 0x0000ffff);
    wr32le(gdt + ds_sel + 4, 0x00cf9300);
    phys_copy_in(&m->mem, gdt_addr, gdt, len);
    bios_data_area_fill(&m->mem);

    vcpu_reset(v);
    memset(v->r, 0, sizeof(v->r));
    v->eflags = F_FIXED1;
    v->cr0 = CR0_PE | CR0_ET;
    v->gdtr = (struct dtr){ gdt_addr, (uint16_t)(len - 1) };
    v->idtr = (struct dtr){ 0, 0x3ff };
    set_flat(v, S_CS, cs_sel, 0xc09b);
    for (int s = 0; s < S_COUNT; s++)
        if (s != S_CS) set_flat(v, s, ds_sel, 0xc093);
    v->cpl = 0;
    cpu_update_mode(v);
    machine_set_a20(m, true);
    tlb_flush_all(&v->tlb);
}
