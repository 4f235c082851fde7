/* Segmentation and far transfers: segment-register loads with their exact
 * faults, LAR/LSL/VERR/VERW, descriptor-table registers, far JMP/CALL/RET in
 * real and protected mode, and the ring-3 -> ring-0 call gate with RETF back. */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <string.h>

#include "cpu/interp.h"
#include "cpu/segment.h"
#include "cpu/vmm.h"
#include "harness.h"

/* Extra GDT entries (the harness uses 0x08-0x38; the TSS starts at 0x600, so
 * the table can grow to limit 0xff). */
#define SEL_DATA_R0   0x40u /* RW data, base 0x20000, limit 0xfff, not yet accessed */
#define SEL_DATA_NP   0x48u /* RW data, not present */
#define SEL_CODE_XO   0x50u /* execute-only code, ring 0 */
#define SEL_CODE_RD   0x58u /* readable code, ring 0, base 0 limit 4G */
#define SEL_DATA_R3   0x60u /* RW data, DPL 3, base 0x30000, limit 0xffff */
#define SEL_DATA_RO   0x68u /* read-only data, ring 0 */
#define SEL_GATE32    0x70u /* 32-bit call gate, DPL 3 -> 0x08:GATE_TARGET, 2 parameters */
#define SEL_LDT       0x78u /* LDT at 0x20800, 3 entries */
#define SEL_CODE_CONF 0x80u /* conforming readable code, DPL 0 */
#define SEL_GATE16    0x88u /* 16-bit call gate, DPL 0 -> 0x18:0x0100 */
#define SEL_TSS2      0x90u /* available 32-bit TSS at 0x20a00 */
#define SEL_RESERVED  0x98u /* system type 0 (reserved) */
#define SEL_DATA_G    0xa0u /* RW data with G=1, limit 0x0000f -> 0xffff */
#define SEL_GATE_R0   0xa8u /* 32-bit call gate, DPL 0 (not callable from ring 3) */
#define SEL_TASKGATE  0xb0u /* task gate, DPL 0 -> SEL_TSS2 */
#define TSS2_BASE     0x20a00u

#define GATE_TARGET   (HARNESS_CODE + 0x400u)
#define LDT_BASE      0x20800u

static void put_desc_at(struct harness *h, uint32_t table, unsigned sel, uint32_t base, uint32_t limit,
                        unsigned attr)
{
    uint32_t lo = (limit & 0xffff) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xff) | ((attr & 0xff) << 8) | (limit & 0xf0000) |
                  ((attr & 0xf000) << 8) | (base & 0xff000000u);
    harness_write32(h, table + (sel & ~7u), lo);
    harness_write32(h, table + (sel & ~7u) + 4, hi);
}

static void put_gate(struct harness *h, unsigned sel, uint16_t cs, uint32_t off, unsigned type_attr, unsigned params)
{
    harness_write32(h, HARNESS_GDT + sel, (off & 0xffff) | ((uint32_t)cs << 16));
    harness_write32(h, HARNESS_GDT + sel + 4, (off & 0xffff0000u) | (type_attr << 8) | params);
}

static struct harness *setup(enum harness_mode mode)
{
    cr_assert_eq(vmm_init(), 0);
    interp_init();
    struct harness *h = harness_new(mode);
    cr_assert_not_null(h);
    put_desc_at(h, HARNESS_GDT, SEL_DATA_R0, 0x20000, 0xfff, 0x4092);
    put_desc_at(h, HARNESS_GDT, SEL_DATA_NP, 0, 0xfffff, 0xc012);
    put_desc_at(h, HARNESS_GDT, SEL_CODE_XO, 0, 0xfffff, 0xc098);
    put_desc_at(h, HARNESS_GDT, SEL_CODE_RD, 0, 0xfffff, 0xc09a);
    put_desc_at(h, HARNESS_GDT, SEL_DATA_R3, 0x30000, 0xffff, 0x40f2);
    put_desc_at(h, HARNESS_GDT, SEL_DATA_RO, 0, 0xfffff, 0xc090);
    put_gate(h, SEL_GATE32, 0x08, GATE_TARGET, 0xec, 2);
    put_desc_at(h, HARNESS_GDT, SEL_LDT, LDT_BASE, 0x17, 0x0082);
    put_desc_at(h, HARNESS_GDT, SEL_CODE_CONF, 0, 0xfffff, 0xc09e);
    put_gate(h, SEL_GATE16, 0x18, 0x0100, 0x84, 0);
    put_desc_at(h, HARNESS_GDT, SEL_TSS2, 0x20a00, 0x67, 0x0089);
    put_desc_at(h, HARNESS_GDT, SEL_RESERVED, 0x0, 0xffff, 0x0080);
    put_desc_at(h, HARNESS_GDT, SEL_DATA_G, 0x0, 0xf, 0x8092);
    put_gate(h, SEL_GATE_R0, 0x08, GATE_TARGET, 0x8c, 0);
    put_gate(h, SEL_TASKGATE, SEL_TSS2, 0, 0x85, 0);
    /* LDT entry 1: data base 0x40000; entry 2: DPL 3 data base 0x50000. */
    put_desc_at(h, LDT_BASE, 0x08, 0x40000, 0xffff, 0x0092);
    put_desc_at(h, LDT_BASE, 0x10, 0x50000, 0xffff, 0x00f2);
    h->v->gdtr.limit = 0xb7;
    return h;
}

/* Load a segment register directly; returns the vector raised or -1. */
static int try_load(struct vcpu *v, int seg, uint16_t sel)
{
    if (setjmp(v->fault_jmp)) return v->fault_vec;
    seg_load(v, seg, sel);
    return -1;
}

static int try_far_call(struct vcpu *v, uint16_t sel, uint32_t off, uint32_t opsize)
{
    if (setjmp(v->fault_jmp)) return v->fault_vec;
    vmm_far_call(v, sel, off, opsize);
    return -1;
}

static uint8_t gdt_access_byte(struct harness *h, unsigned sel)
{
    uint8_t b;
    harness_peek(h, HARNESS_GDT + sel + 5, &b, 1);
    return b;
}

/* Expect an exception with an error code at the instruction at code offset `at`. */
static void expect_exc_err(struct harness *h, enum harness_result r, int vec, uint32_t err, uint32_t eip)
{
    cr_assert_eq(r, HR_EXCEPTION, "result %d", r);
    cr_assert_eq(h->vector, vec, "vector %d, expected %d", h->vector, vec);
    cr_assert_eq(harness_stack(h, 0), err, "error code %#x, expected %#x", harness_stack(h, 0), err);
    cr_assert_eq(harness_stack(h, 1), eip, "saved EIP %#x, expected %#x", harness_stack(h, 1), eip);
}

/* ---- segment-register loads, directly through seg_load ---- */

Test(segment, load_data_sets_cache_and_accessed_bit)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    cr_assert_eq(gdt_access_byte(h, SEL_DATA_R0), 0x92);
    cr_assert_eq(try_load(v, S_DS, SEL_DATA_R0), -1);
    cr_assert_eq(v->seg[S_DS].sel, SEL_DATA_R0);
    cr_assert_eq(v->seg[S_DS].base, 0x20000u);
    cr_assert_eq(v->seg[S_DS].limit, 0xfffu);
    cr_assert_eq(v->seg[S_DS].attr, 0x4093);
    cr_assert(v->seg[S_DS].rd && v->seg[S_DS].wr);
    cr_assert_eq(gdt_access_byte(h, SEL_DATA_R0), 0x93);
    /* G=1 scales the limit. */
    cr_assert_eq(try_load(v, S_ES, SEL_DATA_G), -1);
    cr_assert_eq(v->seg[S_ES].limit, 0xffffu);
    /* Readable code is allowed in a data segment register, read-only. */
    cr_assert_eq(try_load(v, S_FS, SEL_CODE_RD), -1);
    cr_assert(v->seg[S_FS].rd && !v->seg[S_FS].wr);
    harness_free(h);
}

Test(segment, load_data_faults)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    struct seg_cache before = v->seg[S_DS];
    cr_assert_eq(try_load(v, S_DS, 0xb8), EXC_GP);            /* index past the GDT limit */
    cr_assert_eq(v->fault_err, 0xb8u);
    cr_assert_eq(try_load(v, S_DS, 0xbb), EXC_GP);            /* error code drops the RPL */
    cr_assert_eq(v->fault_err, 0xb8u);
    cr_assert_eq(try_load(v, S_DS, SEL_DATA_NP), EXC_NP);
    cr_assert_eq(v->fault_err, SEL_DATA_NP);
    cr_assert_eq(try_load(v, S_DS, SEL_CODE_XO), EXC_GP);
    cr_assert_eq(v->fault_err, SEL_CODE_XO);
    cr_assert_eq(try_load(v, S_DS, 0x38), EXC_GP);            /* TSS */
    cr_assert_eq(v->fault_err, 0x38u);
    cr_assert_eq(try_load(v, S_DS, SEL_DATA_R0 | 3), EXC_GP); /* RPL 3 > DPL 0 */
    cr_assert_eq(v->fault_err, SEL_DATA_R0);
    cr_assert_eq(try_load(v, S_DS, 0x04), EXC_GP);            /* LDT selector, no LDT */
    cr_assert_eq(v->fault_err, 0x04u);
    cr_assert_eq(memcmp(&v->seg[S_DS], &before, sizeof before), 0);
    /* Conforming readable code ignores the privilege rule. */
    cr_assert_eq(try_load(v, S_DS, SEL_CODE_CONF | 3), -1);
    harness_free(h);
}

Test(segment, load_null_data_selector_is_unusable)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    cr_assert_eq(try_load(v, S_DS, 3), -1);
    cr_assert_eq(v->seg[S_DS].sel, 3);
    cr_assert(!v->seg[S_DS].rd && !v->seg[S_DS].wr);
    /* Using it faults #GP(0). */
    static const uint8_t code[] = { 0xa1, 0x00, 0x00, 0x02, 0x00 }; /* mov eax, [0x20000] */
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_GP, 0, HARNESS_CODE);
    harness_free(h);
}

Test(segment, load_ss_faults)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    cr_assert_eq(try_load(v, S_SS, 0), EXC_GP);
    cr_assert_eq(v->fault_err, 0u);
    cr_assert_eq(try_load(v, S_SS, 3), EXC_GP);
    cr_assert_eq(v->fault_err, 0u);
    cr_assert_eq(try_load(v, S_SS, 0x13), EXC_GP);            /* RPL != CPL */
    cr_assert_eq(v->fault_err, 0x10u);
    cr_assert_eq(try_load(v, S_SS, SEL_DATA_RO), EXC_GP);     /* not writable */
    cr_assert_eq(v->fault_err, SEL_DATA_RO);
    cr_assert_eq(try_load(v, S_SS, SEL_CODE_RD), EXC_GP);     /* code */
    cr_assert_eq(v->fault_err, SEL_CODE_RD);
    cr_assert_eq(try_load(v, S_SS, SEL_DATA_R3), EXC_GP);     /* DPL 3 != CPL 0 */
    cr_assert_eq(v->fault_err, SEL_DATA_R3);
    cr_assert_eq(try_load(v, S_SS, SEL_DATA_NP), EXC_SS);     /* not present: #SS(sel) */
    cr_assert_eq(v->fault_err, SEL_DATA_NP);
    cr_assert_eq(try_load(v, S_SS, SEL_DATA_R0), -1);
    cr_assert_eq(v->seg[S_SS].base, 0x20000u);
    harness_free(h);
}

Test(segment, load_at_cpl3_checks_dpl)
{
    struct harness *h = setup(H_USER32);
    struct vcpu *v = h->v;
    cr_assert_eq(try_load(v, S_DS, 0x13), EXC_GP);            /* DPL 0 data at CPL 3 */
    cr_assert_eq(v->fault_err, 0x10u);
    cr_assert_eq(try_load(v, S_SS, 0x10), EXC_GP);
    cr_assert_eq(v->fault_err, 0x10u);
    cr_assert_eq(try_load(v, S_DS, SEL_DATA_R3 | 3), -1);
    cr_assert_eq(v->seg[S_DS].base, 0x30000u);
    cr_assert_eq(try_load(v, S_SS, SEL_DATA_R3 | 3), -1);
    cr_assert_eq(v->seg[S_SS].sel, SEL_DATA_R3 | 3);
    harness_free(h);
}

Test(segment, real_mode_load_keeps_limit_and_attributes)
{
    struct harness *h = setup(H_REAL16);
    struct vcpu *v = h->v;
    v->seg[S_FS].limit = 0xffffffffu; /* "unreal" limit left behind by protected mode */
    seg_cache_refresh(&v->seg[S_FS], false);
    cr_assert_eq(try_load(v, S_FS, 0x1234), -1);
    cr_assert_eq(v->seg[S_FS].base, 0x12340u);
    cr_assert_eq(v->seg[S_FS].limit, 0xffffffffu);
    cr_assert_eq(v->seg[S_FS].attr, 0x0093);
    harness_free(h);
}

/* ---- the same through instructions ---- */

Test(segment, mov_ds_and_lds_through_instructions)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    harness_write32(h, 0x20000 + 0x10, 0xdeadbeef);
    harness_write32(h, 0x21000, 0x00000010);            /* far pointer: offset */
    harness_write32(h, 0x21004, SEL_DATA_R0);           /* selector */
    static const uint8_t code[] = {
        0x66, 0xb8, 0x40, 0x00,             /* mov ax, 0x40 */
        0x8e, 0xd8,                         /* mov ds, ax */
        0x8b, 0x1d, 0x10, 0x00, 0x00, 0x00, /* mov ebx, [0x10] */
        0x8c, 0xd9,                         /* mov ecx, ds */
        0x26, 0xc4, 0x35, 0x00, 0x10, 0x02, 0x00, /* les esi, es:[0x21000] */
    };
    v->r[R_ECX] = 0xffffffffu;
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->r[R_EBX], 0xdeadbeefu);
    cr_assert_eq(v->r[R_ECX], SEL_DATA_R0);  /* 32-bit register destination is zero-extended */
    cr_assert_eq(v->r[R_ESI], 0x10u);
    cr_assert_eq(v->seg[S_ES].sel, SEL_DATA_R0);
    cr_assert_eq(v->seg[S_ES].base, 0x20000u);
    cr_assert_eq(v->exits[EXIT_BT_SEGMENT], 2u);
    harness_free(h);
}

Test(segment, mov_ds_fault_saves_eip_and_keeps_register)
{
    struct harness *h = setup(H_PROT32);
    static const uint8_t code[] = {
        0x66, 0xb8, 0x48, 0x00,             /* mov ax, 0x48 (not present) */
        0x8e, 0xd8,                         /* mov ds, ax */
    };
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_NP, SEL_DATA_NP, HARNESS_CODE + 4);
    cr_assert_eq(h->v->seg[S_DS].sel, 0x10);
    harness_free(h);
}

Test(segment, lss_fault_leaves_gpr)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    harness_write32(h, 0x21000, 0x1234);
    harness_write32(h, 0x21004, SEL_DATA_RO);
    static const uint8_t code[] = {
        0x0f, 0xb2, 0x1d, 0x00, 0x10, 0x02, 0x00, /* lss ebx, [0x21000] */
    };
    v->r[R_EBX] = 0x55;
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_GP, SEL_DATA_RO, HARNESS_CODE);
    cr_assert_eq(v->r[R_EBX], 0x55u);
    harness_free(h);
}

Test(segment, real_mode_segment_arithmetic)
{
    struct harness *h = setup(H_REAL16);
    struct vcpu *v = h->v;
    harness_write32(h, 0x12340 + 0x10, 0xbeef);
    static const uint8_t code[] = {
        0xb8, 0x34, 0x12,       /* mov ax, 0x1234 */
        0x8e, 0xd8,             /* mov ds, ax */
        0x8b, 0x1e, 0x10, 0x00, /* mov bx, [0x10] */
        0x8c, 0xda,             /* mov dx, ds */
    };
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->r[R_EBX] & 0xffff, 0xbeefu);
    cr_assert_eq(v->r[R_EDX] & 0xffff, 0x1234u);
    cr_assert_eq(v->seg[S_DS].base, 0x12340u);
    harness_free(h);
}

/* ---- LAR / LSL / VERR / VERW ---- */

struct probe {
    uint16_t sel;
    bool lar_ok;
    uint32_t lar;
    bool lsl_ok;
    uint32_t lsl;
    bool verr, verw;
};

static void run_probe(enum harness_mode mode, const struct probe *p)
{
    struct harness *h = setup(mode);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x0f, 0x02, 0xf1, 0x0f, 0x94, 0xc3, /* lar esi, ecx; setz bl */
        0x0f, 0x03, 0xf9, 0x0f, 0x94, 0xc7, /* lsl edi, ecx; setz bh */
        0x0f, 0x00, 0xe1, 0x0f, 0x94, 0xc2, /* verr cx; setz dl */
        0x0f, 0x00, 0xe9, 0x0f, 0x94, 0xc6, /* verw cx; setz dh */
    };
    v->r[R_ECX] = p->sel;
    v->r[R_ESI] = 0x11111111u;
    v->r[R_EDI] = 0x22222222u;
    v->r[R_EBX] = v->r[R_EDX] = 0xffffffffu;
    v->eflags |= F_ZF | F_CF | F_SF;
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE, "selector %#x", p->sel);
    cr_assert_eq(v->r[R_EBX] & 0xff, p->lar_ok, "LAR ZF for %#x", p->sel);
    cr_assert_eq((v->r[R_EBX] >> 8) & 0xff, p->lsl_ok, "LSL ZF for %#x", p->sel);
    cr_assert_eq(v->r[R_EDX] & 0xff, p->verr, "VERR ZF for %#x", p->sel);
    cr_assert_eq((v->r[R_EDX] >> 8) & 0xff, p->verw, "VERW ZF for %#x", p->sel);
    /* Bits 16-19 of LAR's result are undefined. */
    if (p->lar_ok) cr_assert_eq(v->r[R_ESI] & ~0x000f0000u, p->lar, "LAR %#x for %#x", v->r[R_ESI], p->sel);
    else cr_assert_eq(v->r[R_ESI], 0x11111111u, "LAR changed %#x for %#x", v->r[R_ESI], p->sel);
    cr_assert_eq(v->r[R_EDI], p->lsl_ok ? p->lsl : 0x22222222u, "LSL %#x for %#x", v->r[R_EDI], p->sel);
    /* The other arithmetic flags are left as they were. */
    cr_assert_eq(v->eflags & (F_ARITH & ~F_ZF), F_CF | F_SF);
    harness_free(h);
}

Test(segment, lar_lsl_verr_verw_across_types)
{
    static const struct probe ring0[] = {
        { 0x10,          true, 0x00c09200, true, 0xffffffffu, true,  true  },
        { SEL_DATA_R0,   true, 0x00409200, true, 0xfff,       true,  true  }, /* not accessed: type 2 */
        { SEL_DATA_RO,   true, 0x00c09000, true, 0xffffffffu, true,  false },
        { SEL_CODE_XO,   true, 0x00c09800, true, 0xffffffffu, false, false },
        { SEL_CODE_RD,   true, 0x00c09a00, true, 0xffffffffu, true,  false },
        { SEL_DATA_NP,   true, 0x00c01200, true, 0xffffffffu, true,  true  }, /* not present: still probed */
        { 0x38,          true, 0x00008900, true, 0x67,        false, false }, /* TSS */
        { SEL_LDT,       true, 0x00008200, true, 0x17,        false, false }, /* LDT */
        { SEL_GATE32,    true, 0x0000ec00, false, 0,          false, false }, /* call gate: LAR only */
        { SEL_GATE16,    true, 0x00008400, false, 0,          false, false },
        { SEL_RESERVED,  false, 0,         false, 0,          false, false },
        { 0x00,          false, 0,         false, 0,          false, false }, /* null */
        { 0xb8,          false, 0,         false, 0,          false, false }, /* past the limit */
        { SEL_TASKGATE,  true, 0x00008500, false, 0,          false, false }, /* task gate: LAR only */
        { SEL_DATA_R0|3, false, 0,         false, 0,          false, false }, /* RPL 3 > DPL 0 */
    };
    for (size_t i = 0; i < sizeof ring0 / sizeof ring0[0]; i++) run_probe(H_PROT32, &ring0[i]);
}

Test(segment, lar_lsl_verr_verw_at_cpl3)
{
    static const struct probe ring3[] = {
        { 0x33,            true, 0x00c0f200, true, 0xffffffffu, true,  true  },
        { 0x10,            false, 0,         false, 0,          false, false }, /* DPL 0 */
        { SEL_CODE_CONF|3, true, 0x00c09e00, true, 0xffffffffu, true,  false }, /* conforming: no DPL rule */
        { SEL_GATE32|3,    true, 0x0000ec00, false, 0,          false, false },
        { SEL_DATA_R3|3,   true, 0x0040f200, true, 0xffff,      true,  true  },
    };
    for (size_t i = 0; i < sizeof ring3 / sizeof ring3[0]; i++) run_probe(H_USER32, &ring3[i]);
}

Test(segment, lar_is_ud_in_real_mode)
{
    struct harness *h = setup(H_REAL16);
    static const uint8_t code[] = { 0x90, 0x0f, 0x02, 0xc1 }; /* nop; lar ax, cx */
    enum harness_result r = harness_run(h, code, sizeof code);
    cr_assert_eq(r, HR_EXCEPTION);
    cr_assert_eq(h->vector, EXC_UD);
    cr_assert_eq(h->v->r[R_ESP] & 0xffff, 0xff00u - 6);
    cr_assert_eq(harness_read32(h, 0xff00 - 6) & 0xffff, 1u); /* saved IP */
    harness_free(h);
}

/* ---- descriptor-table registers ---- */

Test(segment, sgdt_sidt_store_six_bytes)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    v->gdtr = (struct dtr){ 0xfe123500u, 0x00af };
    static const uint8_t code[] = {
        0x0f, 0x01, 0x05, 0x00, 0x10, 0x02, 0x00,       /* sgdt [0x21000] */
        0x66, 0x0f, 0x01, 0x0d, 0x10, 0x10, 0x02, 0x00, /* o16 sidt [0x21010] */
    };
    memset(h->m.mem.ram + 0x21000, 0xcc, 0x20);
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    uint8_t g[8], i[8];
    harness_peek(h, 0x21000, g, 8);
    harness_peek(h, 0x21010, i, 8);
    static const uint8_t eg[8] = { 0xaf, 0x00, 0x00, 0x35, 0x12, 0xfe, 0xcc, 0xcc };
    static const uint8_t ei[8] = { 0xff, 0x07, 0x00, 0x10, 0x00, 0x00, 0xcc, 0xcc };
    cr_assert_arr_eq(g, eg, 8);
    cr_assert_arr_eq(i, ei, 8);
    harness_free(h);
}

Test(segment, lgdt_lidt_load_and_mask_base_with_o16)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t desc[6] = { 0x34, 0x12, 0x78, 0x56, 0x34, 0x12 };
    harness_poke(h, 0x21000, desc, 6);
    static const uint8_t code[] = {
        0x0f, 0x01, 0x1d, 0x00, 0x10, 0x02, 0x00,       /* lidt [0x21000] */
        0x66, 0x0f, 0x01, 0x15, 0x00, 0x10, 0x02, 0x00, /* o16 lgdt [0x21000] */
    };
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->idtr.base, 0x12345678u);
    cr_assert_eq(v->idtr.limit, 0x1234);
    cr_assert_eq(v->gdtr.base, 0x00345678u);
    cr_assert_eq(v->gdtr.limit, 0x1234);
    cr_assert_eq(v->exits[EXIT_DTR_ACCESS], 2u);
    harness_free(h);
}

Test(segment, lgdt_at_cpl3_is_gp0)
{
    struct harness *h = setup(H_USER32);
    static const uint8_t code[] = { 0x0f, 0x01, 0x15, 0x00, 0x10, 0x02, 0x00 }; /* lgdt [0x21000] */
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_GP, 0, HARNESS_CODE);
    cr_assert_eq(h->v->gdtr.base, HARNESS_GDT);
    harness_free(h);
}

Test(segment, lldt_then_ldt_selector_loads)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xb9, 0x78, 0x00, 0x00, 0x00, /* mov ecx, SEL_LDT */
        0x0f, 0x00, 0xd1,             /* lldt cx */
        0x66, 0xb8, 0x0c, 0x00,       /* mov ax, 0x0c (LDT entry 1) */
        0x8e, 0xe0,                   /* mov fs, ax */
        0x0f, 0x00, 0xc2,             /* sldt edx */
    };
    v->r[R_EDX] = 0xffffffffu;
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->ldtr.sel, SEL_LDT);
    cr_assert_eq(v->ldtr.base, LDT_BASE);
    cr_assert_eq(v->ldtr.limit, 0x17u);
    cr_assert_eq(v->seg[S_FS].base, 0x40000u);
    cr_assert_eq(v->r[R_EDX], SEL_LDT);
    /* The LDT limit applies: entry 3 (0x1c) lies past it. */
    cr_assert_eq(try_load(v, S_GS, 0x1c), EXC_GP);
    cr_assert_eq(v->fault_err, 0x1cu);
    harness_free(h);
}

Test(segment, lldt_faults)
{
    struct harness *h = setup(H_PROT32);
    static const uint8_t code[] = { 0x0f, 0x00, 0xd1 }; /* lldt cx */
    h->v->r[R_ECX] = SEL_DATA_R0;                        /* not an LDT descriptor */
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_GP, SEL_DATA_R0, HARNESS_CODE);
    harness_free(h);
    h = setup(H_PROT32);
    h->v->r[R_ECX] = SEL_LDT | 4;                        /* TI = 1 */
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_GP, SEL_LDT | 4, HARNESS_CODE);
    harness_free(h);
    h = setup(H_REAL16);
    cr_assert_eq(harness_run(h, code, sizeof code), HR_EXCEPTION);
    cr_assert_eq(h->vector, EXC_UD);
    harness_free(h);
}

Test(segment, ltr_marks_busy_and_rejects_busy)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x0f, 0x00, 0xd9,             /* ltr cx */
        0x0f, 0x00, 0xcb,             /* str ebx */
    };
    v->r[R_ECX] = SEL_TSS2;
    v->r[R_EBX] = 0xffffffffu;
    cr_assert_eq(gdt_access_byte(h, SEL_TSS2), 0x89);
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(gdt_access_byte(h, SEL_TSS2), 0x8b);
    cr_assert_eq(v->tr.sel, SEL_TSS2);
    cr_assert_eq(v->tr.base, 0x20a00u);
    cr_assert_eq(v->tr.limit, 0x67u);
    cr_assert_eq(v->tr.attr & 0xff, 0x8b);
    cr_assert_eq(v->r[R_EBX], SEL_TSS2);
    /* Again: the TSS is busy now. */
    expect_exc_err(h, harness_run(h, code, 3), EXC_GP, SEL_TSS2, HARNESS_CODE);
    harness_free(h);
}

Test(segment, ltr_at_cpl3_and_null)
{
    struct harness *h = setup(H_USER32);
    static const uint8_t code[] = { 0x0f, 0x00, 0xd9 }; /* ltr cx */
    h->v->r[R_ECX] = SEL_TSS2;
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_GP, 0, HARNESS_CODE);
    harness_free(h);
    h = setup(H_PROT32);
    h->v->r[R_ECX] = 0;
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_GP, 0, HARNESS_CODE);
    harness_free(h);
}

Test(segment, arpl_adjusts_rpl)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x63, 0xd1, 0x0f, 0x94, 0xc3, /* arpl cx, dx; setz bl */
        0x63, 0xd1, 0x0f, 0x94, 0xc7, /* again (already equal); setz bh */
    };
    v->r[R_ECX] = 0xabcd0010u;
    v->r[R_EDX] = 0x00000003u;
    v->r[R_EBX] = 0xffffffffu;
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->r[R_ECX], 0xabcd0013u);
    cr_assert_eq(v->r[R_EBX] & 0xffff, 0x0001u);
    harness_free(h);
}

/* ---- far transfers ---- */

Test(segment, real_mode_far_jmp_call_retf)
{
    struct harness *h = setup(H_REAL16);
    struct vcpu *v = h->v;
    /* At 0x1000:0000 (= HARNESS_CODE): call far 0x1100:0x0010; then jmp far 0x1000:0x0020. */
    uint8_t code[0x40];
    memset(code, 0x90, sizeof code);
    static const uint8_t head[] = {
        0x9a, 0x10, 0x00, 0x00, 0x11, /* call 0x1100:0x0010 -> linear 0x11010 */
        0xea, 0x40, 0x00, 0x00, 0x10, /* jmp 0x1000:0x0040 (the end) */
    };
    memcpy(code, head, sizeof head);
    static const uint8_t callee[] = {
        0xbb, 0x22, 0x11, /* mov bx, 0x1122 */
        0x8c, 0xc9,       /* mov cx, cs */
        0xca, 0x02, 0x00, /* retf 2 */
    };
    harness_poke(h, 0x11010, callee, sizeof callee);
    v->r[R_ESP] = 0xff00;
    cr_assert_eq(harness_run_max(h, code, sizeof code, 1), HR_TIMEOUT);
    cr_assert_eq(v->seg[S_CS].sel, 0x1100);
    cr_assert_eq(v->seg[S_CS].base, 0x11000u);
    cr_assert_eq(v->seg[S_CS].limit, 0xffffu);
    cr_assert_eq(v->eip, 0x10u);
    cr_assert_eq(v->r[R_ESP], 0xfefcu);
    cr_assert_eq(harness_read32(h, 0xfefc), 0x10000005u); /* IP 0005, CS 1000 */
    /* Run the callee and the far jump back to the end. */
    for (int i = 0; i < 4; i++) cr_assert_eq(cpu_step(v), STOP_INSN_LIMIT);
    cr_assert_eq(v->r[R_EBX] & 0xffff, 0x1122u);
    cr_assert_eq(v->r[R_ECX] & 0xffff, 0x1100u);
    cr_assert_eq(v->seg[S_CS].sel, 0x1000);
    cr_assert_eq(v->seg[S_CS].base, 0x10000u);
    cr_assert_eq(v->eip, 0x40u);
    cr_assert_eq(v->r[R_ESP], 0xff02u); /* 4 popped + 2 released */
    cr_assert_eq(v->exits[EXIT_BT_FAR], 3u);
    harness_free(h);
}

Test(segment, protected_far_jmp_and_call_same_privilege)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    uint8_t code[0x40];
    memset(code, 0x90, sizeof code);
    /* lcall 0x58:HARNESS_CODE+0x20 ; ljmp 0x08:HARNESS_CODE+0x40 */
    static const uint8_t head[] = {
        0x9a, 0x20, 0x00, 0x01, 0x00, 0x58, 0x00,
        0xea, 0x40, 0x00, 0x01, 0x00, 0x08, 0x00,
    };
    memcpy(code, head, sizeof head);
    code[0x20] = 0x8c; code[0x21] = 0xca;        /* mov edx, cs */
    code[0x22] = 0xcb;                           /* retf */
    cr_assert_eq(harness_run_max(h, code, sizeof code, 1), HR_TIMEOUT);
    cr_assert_eq(v->seg[S_CS].sel, SEL_CODE_RD);
    cr_assert_eq(v->eip, HARNESS_CODE + 0x20);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK - 8);
    cr_assert_eq(harness_read32(h, HARNESS_STACK - 8), HARNESS_CODE + 7);
    cr_assert_eq(harness_read32(h, HARNESS_STACK - 4), 0x08u);
    cr_assert_eq(gdt_access_byte(h, SEL_CODE_RD), 0x9b); /* accessed */
    for (int i = 0; i < 3; i++) cr_assert_eq(cpu_step(v), STOP_INSN_LIMIT);
    cr_assert_eq(v->r[R_EDX], SEL_CODE_RD);
    cr_assert_eq(v->seg[S_CS].sel, 0x08);
    cr_assert_eq(v->eip, HARNESS_CODE + 0x40);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK);
    harness_free(h);
}

Test(segment, far_jmp_faults)
{
    /* Data segment -> #GP(sel); not present code -> #NP; offset past limit -> #GP(0);
     * ring-0 non-conforming code from ring 3 -> #GP(sel). */
    struct harness *h = setup(H_PROT32);
    static const uint8_t jdata[] = { 0xea, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00 };
    expect_exc_err(h, harness_run(h, jdata, sizeof jdata), EXC_GP, 0x10, HARNESS_CODE);
    harness_free(h);

    h = setup(H_PROT32);
    put_desc_at(h, HARNESS_GDT, SEL_CODE_XO, 0, 0xfffff, 0xc018); /* not present */
    static const uint8_t jnp[] = { 0xea, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00 };
    expect_exc_err(h, harness_run(h, jnp, sizeof jnp), EXC_NP, SEL_CODE_XO, HARNESS_CODE);
    harness_free(h);

    h = setup(H_PROT32);
    static const uint8_t jlim[] = { 0xea, 0x00, 0x00, 0x01, 0x00, 0x18, 0x00 }; /* 16-bit code, limit 0xffff */
    expect_exc_err(h, harness_run(h, jlim, sizeof jlim), EXC_GP, 0, HARNESS_CODE);
    harness_free(h);

    h = setup(H_USER32);
    static const uint8_t jr0[] = { 0xea, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x00 };
    expect_exc_err(h, harness_run(h, jr0, sizeof jr0), EXC_GP, 0x08, HARNESS_CODE);
    harness_free(h);

}

Test(segment, call_gate_ring3_to_ring0_and_back)
{
    struct harness *h = setup(H_USER32);
    struct vcpu *v = h->v;
    uint8_t code[0x20];
    memset(code, 0x90, sizeof code);
    static const uint8_t user[] = {
        0x68, 0x11, 0x11, 0x11, 0x11,             /* push 0x11111111 */
        0x68, 0x22, 0x22, 0x22, 0x22,             /* push 0x22222222 */
        0x9a, 0x00, 0x00, 0x00, 0x00, 0x73, 0x00, /* lcall 0x73:0 (gate; offset ignored) */
    };
    memcpy(code, user, sizeof user);
    static const uint8_t kernel[] = {
        0x66, 0xb8, 0x10, 0x00,   /* mov ax, 0x10 */
        0x8e, 0xd8,               /* mov ds, ax (DPL 0: nulled on the way out) */
        0x8e, 0xc0,               /* mov es, ax */
        0xca, 0x08, 0x00,         /* retf 8 */
    };
    harness_poke(h, GATE_TARGET, kernel, sizeof kernel);
    cr_assert_eq(harness_run_max(h, code, sizeof code, 3), HR_TIMEOUT);
    /* In ring 0 on the TSS stack. */
    cr_assert_eq(v->cpl, 0);
    cr_assert_eq(v->seg[S_CS].sel, 0x08);
    cr_assert_eq(v->seg[S_SS].sel, 0x10);
    cr_assert_eq(v->eip, GATE_TARGET);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK0 - 24);
    cr_assert_eq(harness_read32(h, HARNESS_STACK0 - 24), HARNESS_CODE + 17); /* EIP */
    cr_assert_eq(harness_read32(h, HARNESS_STACK0 - 20), 0x2bu);              /* CS */
    cr_assert_eq(harness_read32(h, HARNESS_STACK0 - 16), 0x22222222u);        /* parameter 0 */
    cr_assert_eq(harness_read32(h, HARNESS_STACK0 - 12), 0x11111111u);        /* parameter 1 */
    cr_assert_eq(harness_read32(h, HARNESS_STACK0 - 8), HARNESS_STACK - 8);   /* ESP */
    cr_assert_eq(harness_read32(h, HARNESS_STACK0 - 4), 0x33u);               /* SS */
    cr_assert_eq(v->mem_view, TLB_VIEW_SUP);
    /* Back to ring 3 through RETF 8. */
    for (int i = 0; i < 4; i++) cr_assert_eq(cpu_step(v), STOP_INSN_LIMIT);
    cr_assert_eq(v->cpl, 3);
    cr_assert_eq(v->seg[S_CS].sel, 0x2b);
    cr_assert_eq(v->seg[S_SS].sel, 0x33);
    cr_assert_eq(v->eip, HARNESS_CODE + 17);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK);
    cr_assert_eq(v->seg[S_DS].sel, 0);        /* DPL 0 data nulled */
    cr_assert(!v->seg[S_DS].rd);
    cr_assert_eq(v->seg[S_ES].sel, 0);
    cr_assert_eq(v->seg[S_FS].sel, 0x33);     /* DPL 3 kept */
    cr_assert_eq(v->mem_view, TLB_VIEW_USER);
    harness_free(h);
}

Test(segment, call_gate_privilege_checks)
{
    /* A DPL-0 gate from ring 3: #GP(gate). */
    struct harness *h = setup(H_USER32);
    static const uint8_t c1[] = { 0x9a, 0x00, 0x00, 0x00, 0x00, 0xab, 0x00 };
    expect_exc_err(h, harness_run(h, c1, sizeof c1), EXC_GP, SEL_GATE_R0, HARNESS_CODE);
    harness_free(h);
    /* The ring-0 stack selector in the TSS is bad: #TS(SS). (Called directly:
     * the #TS itself could not be delivered through that TSS.) */
    h = setup(H_USER32);
    harness_write32(h, HARNESS_TSS + 8, SEL_DATA_RO);
    cr_assert_eq(try_far_call(h->v, SEL_GATE32 | 3, 0, 4), EXC_TS);
    cr_assert_eq(h->v->fault_err, SEL_DATA_RO);
    harness_write32(h, HARNESS_TSS + 8, SEL_DATA_NP);
    cr_assert_eq(try_far_call(h->v, SEL_GATE32 | 3, 0, 4), EXC_SS);
    cr_assert_eq(h->v->fault_err, SEL_DATA_NP);
    harness_write32(h, HARNESS_TSS + 8, 0);
    cr_assert_eq(try_far_call(h->v, SEL_GATE32 | 3, 0, 4), EXC_TS);
    cr_assert_eq(h->v->fault_err, 0u);
    cr_assert_eq(h->v->cpl, 3);
    cr_assert_eq(h->v->seg[S_CS].sel, 0x2b);
    harness_free(h);
}

Test(segment, call_gate_16_same_privilege)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x9a, 0x00, 0x00, 0x00, 0x00, 0x88, 0x00 }; /* lcall SEL_GATE16:0 */
    cr_assert_eq(harness_run_max(h, code, sizeof code, 1), HR_TIMEOUT);
    cr_assert_eq(v->seg[S_CS].sel, 0x18);
    cr_assert_eq(v->code32, 0);
    cr_assert_eq(v->eip, 0x100u);
    /* 16-bit gate: 16-bit pushes. */
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK - 4);
    cr_assert_eq(harness_read32(h, HARNESS_STACK - 4), ((uint32_t)0x08 << 16) | ((HARNESS_CODE + 7) & 0xffff));
    harness_free(h);
}

Test(segment, mov_ss_inhibits_interrupts_for_one_instruction)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x66, 0xb8, 0x40, 0x00, /* mov ax, 0x40 */
        0x8e, 0xd0,             /* mov ss, ax */
        0x90,
    };
    cr_assert_eq(harness_run_max(h, code, sizeof code, 2), HR_TIMEOUT);
    cr_assert_eq(v->irq_shadow, 1);
    cr_assert_eq(v->seg[S_SS].base, 0x20000u);
    cr_assert_eq(v->stack32, 1); /* B bit set in SEL_DATA_R0 */
    harness_free(h);
}

Test(segment, ss_b_bit_sets_stack_width)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    put_desc_at(h, HARNESS_GDT, SEL_DATA_R0, 0x20000, 0xffff, 0x0092); /* B = 0 */
    static const uint8_t code[] = {
        0x66, 0xb8, 0x40, 0x00, /* mov ax, 0x40 */
        0x8e, 0xd0,             /* mov ss, ax */
        0x68, 0x44, 0x33, 0x22, 0x11, /* push 0x11223344 */
    };
    v->r[R_ESP] = 0xabcd0010u;
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->stack32, 0);
    cr_assert_eq(v->r[R_ESP], 0xabcd000cu); /* only SP moves */
    cr_assert_eq(harness_read32(h, 0x2000c), 0x11223344u);
    harness_free(h);
}

Test(segment, vm86_load_gives_64k_ring3_segment)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    v->eflags |= F_VM;
    cpu_update_mode(v);
    cr_assert_eq(v->cpl, 3);
    cr_assert_eq(try_load(v, S_DS, 0x2345), -1); /* not looked up in the GDT */
    cr_assert_eq(v->seg[S_DS].base, 0x23450u);
    cr_assert_eq(v->seg[S_DS].limit, 0xffffu);
    cr_assert_eq(v->seg[S_DS].attr, 0x00f3);
    harness_free(h);
}

Test(segment, far_jmp_through_gate_and_conforming)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t jgate[] = { 0xea, 0x00, 0x00, 0x00, 0x00, 0x70, 0x00 }; /* ljmp SEL_GATE32:0 */
    cr_assert_eq(harness_run_max(h, jgate, sizeof jgate, 1), HR_TIMEOUT);
    cr_assert_eq(v->seg[S_CS].sel, 0x08);
    cr_assert_eq(v->eip, GATE_TARGET);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK); /* JMP pushes nothing */
    harness_free(h);

    /* A conforming DPL-0 segment from ring 3: CPL stays 3, and so does CS.RPL. */
    h = setup(H_USER32);
    v = h->v;
    static const uint8_t jconf[] = { 0xea, 0x00, 0x04, 0x01, 0x00, 0x80, 0x00 }; /* ljmp 0x80:GATE_TARGET */
    cr_assert_eq(harness_run_max(h, jconf, sizeof jconf, 1), HR_TIMEOUT);
    cr_assert_eq(v->seg[S_CS].sel, 0x83);
    cr_assert_eq(v->cpl, 3);
    cr_assert_eq(v->eip, GATE_TARGET);
    cr_assert_eq(v->mem_view, TLB_VIEW_USER);
    harness_free(h);

    /* A JMP through a gate to ring-0 non-conforming code from ring 3: #GP(code selector). */
    h = setup(H_USER32);
    expect_exc_err(h, harness_run(h, jgate, sizeof jgate), EXC_GP, 0x08, HARNESS_CODE);
    harness_free(h);
}

Test(segment, far_call_and_jmp_through_memory_pointers)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    harness_write32(h, 0x21000, HARNESS_CODE + 0x20); /* m16:32 */
    harness_write32(h, 0x21004, SEL_CODE_RD);
    harness_write32(h, 0x21010, 0x00580030);          /* m16:16: offset 0x0030, selector 0x58 */
    uint8_t code[0x40];
    memset(code, 0x90, sizeof code);
    static const uint8_t head[] = {
        0xff, 0x1d, 0x00, 0x10, 0x02, 0x00,       /* lcall [0x21000] */
    };
    memcpy(code, head, sizeof head);
    static const uint8_t jmp16[] = { 0x66, 0xff, 0x2d, 0x10, 0x10, 0x02, 0x00 }; /* o16 ljmp [0x21010] */
    memcpy(code + 0x20, jmp16, sizeof jmp16);
    cr_assert_eq(harness_run_max(h, code, sizeof code, 1), HR_TIMEOUT);
    cr_assert_eq(v->seg[S_CS].sel, SEL_CODE_RD);
    cr_assert_eq(v->eip, HARNESS_CODE + 0x20);
    cr_assert_eq(harness_read32(h, HARNESS_STACK - 8), HARNESS_CODE + 6);
    cr_assert_eq(harness_read32(h, HARNESS_STACK - 4), 0x08u);
    cr_assert_eq(cpu_step(v), STOP_INSN_LIMIT);
    cr_assert_eq(v->seg[S_CS].sel, SEL_CODE_RD);
    cr_assert_eq(v->eip, 0x30u);
    harness_free(h);
}

Test(segment, retf_checks_return_selector)
{
    /* From ring 3, a RETF whose CS has RPL 0 < CPL: #GP(selector). */
    struct harness *h = setup(H_USER32);
    struct vcpu *v = h->v;
    v->r[R_ESP] = HARNESS_STACK - 8;
    harness_write32(h, HARNESS_STACK - 8, HARNESS_CODE);
    harness_write32(h, HARNESS_STACK - 4, 0x08);
    static const uint8_t code[] = { 0xcb };
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_GP, 0x08, HARNESS_CODE);
    harness_free(h);

    /* From ring 0 to ring 3 with a bad SS (DPL 0 data): #GP(SS selector), nothing changes. */
    h = setup(H_PROT32);
    v = h->v;
    v->r[R_ESP] = HARNESS_STACK - 16;
    harness_write32(h, HARNESS_STACK - 16, HARNESS_CODE);
    harness_write32(h, HARNESS_STACK - 12, 0x2b);
    harness_write32(h, HARNESS_STACK - 8, 0x1000);
    harness_write32(h, HARNESS_STACK - 4, 0x13);
    expect_exc_err(h, harness_run(h, code, sizeof code), EXC_GP, 0x10, HARNESS_CODE);
    cr_assert_eq(v->cpl, 0);
    cr_assert_eq(v->seg[S_CS].sel, 0x08);
    harness_free(h);
}

Test(segment, real_mode_lgdt_masks_base_and_sgdt)
{
    struct harness *h = setup(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t desc[6] = { 0xff, 0x00, 0x00, 0x05, 0x00, 0xff };
    harness_poke(h, 0x100, desc, 6);
    static const uint8_t code[] = {
        0x0f, 0x01, 0x16, 0x00, 0x01,       /* lgdt [0x100] (16-bit operand size) */
        0x0f, 0x01, 0x06, 0x10, 0x01,       /* sgdt [0x110] */
    };
    cr_assert_eq(harness_run(h, code, sizeof code), HR_DONE);
    cr_assert_eq(v->gdtr.base, 0x000500u);
    cr_assert_eq(v->gdtr.limit, 0xff);
    uint8_t out[6];
    harness_peek(h, 0x110, out, 6);
    static const uint8_t expect[6] = { 0xff, 0x00, 0x00, 0x05, 0x00, 0x00 };
    cr_assert_arr_eq(out, expect, 6);
    harness_free(h);
}

/* ---- task switches ---- */

/* Fill SEL_TSS2's TSS: EIP HARNESS_CODE+0x100, GPRs 0x1000+i, flat ring-0
 * segments with DS = SEL_DATA_R0, FS null, LDT = SEL_LDT. */
static void fill_tss2(struct harness *h, uint16_t ds)
{
    memset(h->m.mem.ram + TSS2_BASE, 0, 0x68);
    harness_write32(h, TSS2_BASE + 0x20, HARNESS_CODE + 0x100);
    harness_write32(h, TSS2_BASE + 0x24, 0x00000087); /* CF PF SF */
    for (uint32_t i = 0; i < 8; i++) harness_write32(h, TSS2_BASE + 0x28 + 4 * i, 0x1000 + i);
    harness_write32(h, TSS2_BASE + 0x38, HARNESS_STACK - 0x100); /* ESP */
    static const uint16_t sels[6] = { 0x10, 0x08, 0x10, 0, 0, 0x10 };
    for (uint32_t i = 0; i < 6; i++) harness_write32(h, TSS2_BASE + 0x48 + 4 * i, sels[i]);
    harness_write32(h, TSS2_BASE + 0x54, ds);
    harness_write32(h, TSS2_BASE + 0x60, SEL_LDT);
    uint8_t busy = 0x8b;
    harness_poke(h, HARNESS_GDT + 0x38 + 5, &busy, 1); /* the current task's TSS is busy */
}

Test(segment, jmp_to_tss_switches_task)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    fill_tss2(h, SEL_DATA_R0);
    static const uint8_t code[] = { 0xea, 0x00, 0x00, 0x00, 0x00, 0x90, 0x00 }; /* ljmp SEL_TSS2:0 */
    for (int i = 0; i < 8; i++) v->r[i] = 0xa0 + (uint32_t)i;
    v->r[R_ESP] = HARNESS_STACK;
    v->eflags = F_FIXED1 | F_ZF;
    cr_assert_eq(harness_run_max(h, code, sizeof code, 1), HR_TIMEOUT);
    /* The new task. */
    cr_assert_eq(v->eip, HARNESS_CODE + 0x100);
    cr_assert_eq(v->eflags, 0x87u);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(v->r[i], i == R_ESP ? HARNESS_STACK - 0x100 : 0x1000u + (uint32_t)i, "r%d", i);
    cr_assert_eq(v->seg[S_CS].sel, 0x08);
    cr_assert_eq(v->seg[S_DS].base, 0x20000u);
    cr_assert_eq(v->seg[S_FS].sel, 0);
    cr_assert(!v->seg[S_FS].rd);
    cr_assert_eq(v->ldtr.sel, SEL_LDT);
    cr_assert_eq(v->ldtr.base, LDT_BASE);
    cr_assert_eq(v->tr.sel, SEL_TSS2);
    cr_assert_eq(v->tr.base, TSS2_BASE);
    cr_assert(v->cr0 & CR0_TS);
    /* Busy bits: JMP frees the old task. */
    cr_assert_eq(gdt_access_byte(h, SEL_TSS2), 0x8b);
    cr_assert_eq(gdt_access_byte(h, 0x38), 0x89);
    /* The old task's state was saved. */
    cr_assert_eq(harness_read32(h, HARNESS_TSS + 0x20), HARNESS_CODE + 7);
    cr_assert_eq(harness_read32(h, HARNESS_TSS + 0x24), F_FIXED1 | F_ZF);
    cr_assert_eq(harness_read32(h, HARNESS_TSS + 0x28), 0xa0u);
    cr_assert_eq(harness_read32(h, HARNESS_TSS + 0x38), HARNESS_STACK);
    cr_assert_eq(harness_read32(h, HARNESS_TSS + 0x4c) & 0xffff, 0x08u);
    cr_assert_eq(harness_read32(h, HARNESS_TSS + 0x54) & 0xffff, 0x10u);
    cr_assert_eq(harness_read32(h, TSS2_BASE) & 0xffff, 0u); /* no back link */
    cr_assert_eq(v->exits[EXIT_TASK_SWITCH], 1u);
    harness_free(h);
}

Test(segment, call_through_task_gate_links_back)
{
    struct harness *h = setup(H_PROT32);
    struct vcpu *v = h->v;
    fill_tss2(h, SEL_DATA_R0);
    static const uint8_t code[] = { 0x9a, 0x00, 0x00, 0x00, 0x00, 0xb0, 0x00 }; /* lcall SEL_TASKGATE:0 */
    cr_assert_eq(harness_run_max(h, code, sizeof code, 1), HR_TIMEOUT);
    cr_assert_eq(v->eip, HARNESS_CODE + 0x100);
    cr_assert_eq(v->eflags, 0x87u | F_NT);
    cr_assert_eq(v->tr.sel, SEL_TSS2);
    cr_assert_eq(harness_read32(h, TSS2_BASE) & 0xffff, 0x38u);
    cr_assert_eq(gdt_access_byte(h, SEL_TSS2), 0x8b);
    cr_assert_eq(gdt_access_byte(h, 0x38), 0x8b); /* CALL keeps the old task busy */
    cr_assert_eq(harness_read32(h, HARNESS_TSS + 0x20), HARNESS_CODE + 7);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK - 0x100); /* nothing pushed */
    harness_free(h);
}

Test(segment, task_switch_faults)
{
    /* A busy TSS: #GP(sel) before anything changes. */
    struct harness *h = setup(H_PROT32);
    fill_tss2(h, SEL_DATA_R0);
    put_desc_at(h, HARNESS_GDT, SEL_TSS2, TSS2_BASE, 0x67, 0x008b);
    static const uint8_t jtss[] = { 0xea, 0x00, 0x00, 0x00, 0x00, 0x90, 0x00 };
    expect_exc_err(h, harness_run(h, jtss, sizeof jtss), EXC_GP, SEL_TSS2, HARNESS_CODE);
    cr_assert_eq(h->v->tr.sel, 0x38);
    harness_free(h);

    /* A TSS limit below 0x67: #TS(sel). */
    h = setup(H_PROT32);
    fill_tss2(h, SEL_DATA_R0);
    put_desc_at(h, HARNESS_GDT, SEL_TSS2, TSS2_BASE, 0x60, 0x0089);
    expect_exc_err(h, harness_run(h, jtss, sizeof jtss), EXC_TS, SEL_TSS2, HARNESS_CODE);
    cr_assert_eq(h->v->tr.sel, 0x38);
    harness_free(h);

    /* A task gate with DPL 0 from ring 3: #GP(gate). */
    h = setup(H_USER32);
    static const uint8_t cgate[] = { 0x9a, 0x00, 0x00, 0x00, 0x00, 0xb3, 0x00 };
    expect_exc_err(h, harness_run(h, cgate, sizeof cgate), EXC_GP, SEL_TASKGATE, HARNESS_CODE);
    harness_free(h);

    /* A not-present DS in the new task: #NP(sel) raised in the new task's context. */
    h = setup(H_PROT32);
    fill_tss2(h, SEL_DATA_NP);
    expect_exc_err(h, harness_run(h, jtss, sizeof jtss), EXC_NP, SEL_DATA_NP, HARNESS_CODE + 0x100);
    cr_assert_eq(h->v->tr.sel, SEL_TSS2);
    cr_assert_eq(harness_stack(h, 2), 0x08u); /* saved CS */
    harness_free(h);
}
