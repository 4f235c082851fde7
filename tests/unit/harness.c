/* Test harness implementation (see harness.h). */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "cpu/interp.h"
#include "cpu/segment.h"
#include "memory/tlb.h"

static void put_desc(struct harness *h, unsigned sel, uint32_t base, uint32_t limit, unsigned attr)
{
    uint32_t lo = (limit & 0xffff) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xff) | ((attr & 0xff) << 8) | (limit & 0xf0000) |
                  ((attr & 0xf000) << 8) | (base & 0xff000000u);
    harness_write32(h, HARNESS_GDT + sel, lo);
    harness_write32(h, HARNESS_GDT + sel + 4, hi);
}

static void set_seg(struct vcpu *v, int s, uint16_t sel, uint32_t base, uint32_t limit, uint16_t attr, bool prot)
{
    v->seg[s] = (struct seg_cache){ .sel = sel, .attr = attr, .base = base, .limit = limit };
    seg_cache_refresh(&v->seg[s], prot);
}

struct harness *harness_new(enum harness_mode mode)
{
    struct harness *h = calloc(1, sizeof(*h));
    if (!h || machine_init(&h->m, HARNESS_RAM, 1) != 0) {
        free(h);
        return NULL;
    }
    h->v = h->m.cpu[0];
    h->mode = mode;
    struct vcpu *v = h->v;
    /* Descriptor tables and stubs. */
    put_desc(h, 0x08, 0, 0xfffff, 0xc09a);
    put_desc(h, 0x10, 0, 0xfffff, 0xc092);
    put_desc(h, 0x18, 0, 0xffff, 0x009a);
    put_desc(h, 0x20, 0, 0xffff, 0x0092);
    put_desc(h, 0x28, 0, 0xfffff, 0xc0fa);
    put_desc(h, 0x30, 0, 0xfffff, 0xc0f2);
    put_desc(h, 0x38, HARNESS_TSS, 0x67, 0x0089);
    harness_write32(h, HARNESS_TSS + 4, HARNESS_STACK0);
    harness_write32(h, HARNESS_TSS + 8, 0x10);
    harness_write32(h, HARNESS_TSS + 0x64, 0x00680000); /* I/O map base past the limit: no bitmap */
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t off = HARNESS_STUBS + n * 8;
        harness_write32(h, HARNESS_IDT + n * 8, (off & 0xffff) | (0x08u << 16));
        harness_write32(h, HARNESS_IDT + n * 8 + 4, (off & 0xffff0000u) | 0xee00u);
        harness_write32(h, n * 4, ((HARNESS_STUBS >> 4) << 16) | (n * 8));
        uint8_t hlt[8] = { 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4, 0xf4 };
        harness_poke(h, off, hlt, 8);
    }
    v->gdtr = (struct dtr){ HARNESS_GDT, 0x3f };
    if (mode == H_REAL16) {
        v->idtr = (struct dtr){ 0, 0x3ff };
        for (int s = 0; s < S_COUNT; s++) set_seg(v, s, 0, 0, 0xffff, 0x0093, false);
        v->seg[S_CS].attr = 0x009b;
        v->cr0 = CR0_ET;
        v->r[R_ESP] = 0xff00;
    } else {
        bool user = mode == H_USER32;
        bool p16 = mode == H_PROT16;
        v->idtr = (struct dtr){ HARNESS_IDT, 256 * 8 - 1 };
        v->cr0 = CR0_PE | CR0_ET;
        uint16_t dsel = user ? 0x33 : p16 ? 0x20 : 0x10;
        uint16_t dattr = user ? 0xc0f3 : p16 ? 0x0093 : 0xc093;
        uint32_t lim = p16 ? 0xffff : 0xffffffffu;
        for (int s = 0; s < S_COUNT; s++) set_seg(v, s, dsel, 0, lim, dattr, true);
        set_seg(v, S_CS, user ? 0x2b : p16 ? 0x18 : 0x08, 0, p16 ? 0xffff : 0xffffffffu,
                user ? 0xc0fb : p16 ? 0x009b : 0xc09b, true);
        v->tr = (struct seg_cache){ .sel = 0x38, .attr = 0x008b, .base = HARNESS_TSS, .limit = 0x67 };
        v->cpl = user ? 3 : 0;
        v->r[R_ESP] = p16 ? 0xff00 : HARNESS_STACK;
    }
    v->eflags = F_FIXED1;
    cpu_update_mode(v);
    v->req = 0;
    return h;
}

void harness_free(struct harness *h)
{
    if (!h) return;
    machine_destroy(&h->m);
    free(h);
}

/* Through phys_copy_in so that decoded blocks of overwritten code are dropped. */
void harness_poke(struct harness *h, uint32_t pa, const void *src, size_t len)
{
    if (phys_copy_in(&h->m.mem, pa, src, len) != 0) abort();
}

void harness_peek(struct harness *h, uint32_t pa, void *dst, size_t len)
{
    memcpy(dst, h->m.mem.ram + pa, len);
}

uint32_t harness_read32(struct harness *h, uint32_t pa)
{
    uint32_t x;
    harness_peek(h, pa, &x, 4);
    return x;
}

void harness_write32(struct harness *h, uint32_t pa, uint32_t val)
{
    harness_poke(h, pa, &val, 4);
}

void harness_identity_paging(struct harness *h, uint32_t flags, uint32_t absent)
{
    struct vcpu *v = h->v;
    harness_write32(h, 0x30000, 0x31000 | flags);
    for (uint32_t i = 0; i < 1024; i++) harness_write32(h, 0x31000 + 4 * i, i == absent ? 0 : (i << 12) | flags);
    v->cr3 = 0x30000;
    v->cr0 |= CR0_PG;
    tlb_flush_all(&v->tlb);
    cpu_update_mode(v);
}

uint32_t harness_stack(struct harness *h, int i)
{
    struct vcpu *v = h->v;
    uint32_t sp = v->stack32 ? v->r[R_ESP] : (v->r[R_ESP] & 0xffff);
    return harness_read32(h, v->seg[S_SS].base + sp + 4u * (uint32_t)i);
}

enum harness_result harness_run_max(struct harness *h, const void *code, size_t len, uint64_t max_insns)
{
    struct vcpu *v = h->v;
    harness_poke(h, HARNESS_CODE, code, len);
    uint32_t start;
    if (h->mode == H_REAL16 || h->mode == H_PROT16) {
        /* 16-bit code: CS's base points at the code so IP starts at 0 (the
         * PROT16 descriptor cache gets the base directly: a test-only shortcut). */
        if (h->mode == H_REAL16) v->seg[S_CS].sel = HARNESS_CODE >> 4;
        v->seg[S_CS].base = HARNESS_CODE;
        seg_cache_refresh(&v->seg[S_CS], h->mode == H_PROT16);
        start = 0;
    } else {
        start = HARNESS_CODE;
    }
    v->eip = start;
    uint32_t end = start + (uint32_t)len;
    for (uint64_t i = 0; i < max_insns; i++) {
        uint32_t lin = v->seg[S_CS].base + v->eip;
        if (v->eip == end) return HR_DONE;
        if (lin >= HARNESS_STUBS && lin < HARNESS_STUBS + 256 * 8) {
            h->vector = (int)((lin - HARNESS_STUBS) / 8);
            return HR_EXCEPTION;
        }
        enum vcpu_stop s = cpu_step(v);
        if (s != STOP_INSN_LIMIT) return HR_STOPPED;
    }
    return HR_TIMEOUT;
}

enum harness_result harness_run(struct harness *h, const void *code, size_t len)
{
    return harness_run_max(h, code, len, 100000);
}
