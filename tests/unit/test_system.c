/* System instructions through the VMM: flags (CLI/STI/PUSHF/POPF), control
 * and debug registers, port I/O with the TSS bitmap, HLT, CPUID, MSRs, the
 * TSC, SYSENTER/SYSEXIT, and the exit reason each is counted under. */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/interp.h"
#include "cpu/msr.h"
#include "cpu/segment.h"
#include "cpu/vmm.h"
#include "devices/iobus.h"
#include "memory/paging.h"
#include "memory/tlb.h"
#include "sys_test_util.h"

/* ---- flags ---- */

Test(system, cli_sti_ring0)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    v->eflags |= F_IF;
    static const uint8_t cli[] = { 0xfa };
    cr_assert_eq(RUN(h, cli), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1);
    static const uint8_t sti[] = { 0xfb };
    cr_assert_eq(RUN(h, sti), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | F_IF);
    cr_assert_eq(v->irq_shadow, 1, "STI opens an interrupt shadow");
    cr_assert_eq(v->exits[EXIT_BT_FLAGS], 2);
    harness_free(h);
}

Test(system, cli_ring3_iopl)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    static const uint8_t cli[] = { 0xfa };
    v->eflags |= F_IF;
    EXPECT_EXC(h, RUN(h, cli), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE);
    harness_free(h);

    h = sys_new(H_USER32);
    v = h->v;
    v->eflags |= F_IF | F_IOPL;
    cr_assert_eq(RUN(h, cli), HR_DONE, "IOPL 3 allows CLI at CPL 3");
    cr_assert_eq(v->eflags, F_FIXED1 | F_IOPL);
    harness_free(h);
}

/* PUSHF clears VM and RF in the image. */
Test(system, pushfd_image)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    v->eflags = F_FIXED1 | F_RF | F_CF | F_AC | F_ID;
    static const uint8_t code[] = { 0x9c, 0x66, 0x9c };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK - 6);
    cr_assert_eq(harness_read32(h, HARNESS_STACK - 4), F_FIXED1 | F_CF | F_AC | F_ID);
    uint16_t w;
    harness_peek(h, HARNESS_STACK - 6, &w, 2);
    cr_assert_eq(w, F_FIXED1 | F_CF);
    harness_free(h);
}

/* POPF at CPL 3, IOPL 0: IF and IOPL silently unchanged (Popek-Goldberg). */
Test(system, popf_ring3_silent)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    v->eflags = F_FIXED1 | F_IF;
    static const uint8_t code[] = { 0x68, 0xd5, 0x3c, 0x00, 0x00, 0x9d }; /* push 0x3cd5; popfd */
    cr_assert_eq(RUN(h, code), HR_DONE, "no fault");
    cr_assert_eq(v->eflags, F_FIXED1 | F_IF | 0x0cd5);
    cr_assert_eq(v->r[R_ESP], HARNESS_STACK);
    harness_free(h);

    h = sys_new(H_USER32);
    v = h->v;
    v->eflags = F_FIXED1 | F_IF;
    static const uint8_t c2[] = { 0x6a, 0x00, 0x9d }; /* push 0; popfd */
    cr_assert_eq(RUN(h, c2), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | F_IF, "IF stays set");
    harness_free(h);
}

/* POPF at CPL 0 changes IF and IOPL; RF cleared, VM kept. */
Test(system, popf_ring0)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    v->eflags = F_FIXED1 | F_IF | F_RF;
    static const uint8_t code[] = { 0x68, 0xd5, 0x3c, 0x03, 0x00, 0x9d }; /* push 0x33cd5; popfd */
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | 0x3cd5, "VM and RF from the image ignored");
    harness_free(h);
}

/* POPF at CPL 3 with IOPL 3 changes IF but not IOPL. */
Test(system, popf_ring3_iopl3)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    v->eflags = F_FIXED1 | F_IF | F_IOPL;
    static const uint8_t code[] = { 0x6a, 0x00, 0x9d };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | F_IOPL);
    harness_free(h);
}

/* Real mode POPF (16-bit): all of FLAGS. */
Test(system, popf_real16)
{
    struct harness *h = sys_new(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x68, 0xd5, 0x3e, 0x9d }; /* push 0x3ed5; popf */
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->eflags, F_FIXED1 | 0x3ed5);
    cr_assert_eq(v->r[R_ESP], 0xff00);
    harness_free(h);
}

/* ---- control and debug registers ---- */

Test(system, mov_cr_privilege_and_ud)
{
    struct harness *h = sys_new(H_USER32);
    static const uint8_t c1[] = { 0x0f, 0x20, 0xc0 }; /* mov eax, cr0 */
    EXPECT_EXC(h, RUN(h, c1), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0);
    cr_assert_eq(h->v->exits[EXIT_CR_ACCESS], 1);
    harness_free(h);

    h = sys_new(H_PROT32);
    static const uint8_t c2[] = { 0x0f, 0x22, 0xc8 }; /* mov cr1, eax */
    EXPECT_EXC(h, RUN(h, c2), EXC_UD);
    harness_free(h);
}

Test(system, mov_cr0_checks)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t pg_no_pe[] = { 0xb8, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0 };
    EXPECT_EXC(h, RUN(h, pg_no_pe), EXC_GP);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 5);
    cr_assert_eq(v->cr0, CR0_PE | CR0_ET);
    harness_free(h);

    h = sys_new(H_PROT32);
    static const uint8_t nw_no_cd[] = { 0xb8, 0x01, 0x00, 0x00, 0x20, 0x0f, 0x22, 0xc0 };
    EXPECT_EXC(h, RUN(h, nw_no_cd), EXC_GP);
    harness_free(h);

    /* A good write: TS and MP set, reserved bits dropped, ET forced; read back. */
    h = sys_new(H_PROT32);
    v = h->v;
    static const uint8_t ok[] = { 0xb8, 0x0b, 0x80, 0x00, 0x00, /* mov eax, 0x800b */
                                  0x0f, 0x22, 0xc0, 0x0f, 0x20, 0xc3 /* mov cr0, eax; mov ebx, cr0 */ };
    cr_assert_eq(RUN(h, ok), HR_DONE);
    cr_assert_eq(v->cr0, CR0_PE | CR0_MP | CR0_TS | CR0_ET);
    cr_assert_eq(v->r[R_EBX], CR0_PE | CR0_MP | CR0_TS | CR0_ET);
    cr_assert_eq(v->exits[EXIT_CR_ACCESS], 2);
    harness_free(h);
}

Test(system, mov_cr4_checks)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t vme[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x22, 0xe0 };
    EXPECT_EXC(h, RUN(h, vme), EXC_GP);
    harness_free(h);

    h = sys_new(H_PROT32);
    v = h->v;
    static const uint8_t ok[] = { 0xb8, 0x9c, 0x02, 0x00, 0x00, 0x0f, 0x22, 0xe0 };
    cr_assert_eq(RUN(h, ok), HR_DONE);
    cr_assert_eq(v->cr4, CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_OSFXSR);
    harness_free(h);
}

/* Real mode -> protected mode through MOV CR0 and back with LMSW not clearing PE. */
Test(system, lmsw_smsw_clts)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    v->cr0 |= CR0_TS;
    static const uint8_t code[] = {
        0x0f, 0x06,                         /* clts */
        0x66, 0xb8, 0x06, 0x00,             /* mov ax, 6 (MP EM, PE clear) */
        0x0f, 0x01, 0xf0,                   /* lmsw ax */
        0x0f, 0x01, 0xe3,                   /* smsw ebx */
    };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->cr0, CR0_PE | CR0_MP | CR0_EM | CR0_ET, "PE stays set");
    cr_assert_eq(v->r[R_EBX], v->cr0);
    cr_assert_eq(v->exits[EXIT_CR_ACCESS], 3);
    harness_free(h);
}

Test(system, lmsw_enters_protected_mode)
{
    struct harness *h = sys_new(H_REAL16);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x0f, 0x01, 0xf0 }; /* mov ax,1; lmsw ax */
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->cr0 & CR0_PE, CR0_PE);
    harness_free(h);
}

Test(system, mov_dr)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0x31, 0xc0,             /* xor eax, eax */
        0x0f, 0x23, 0xf0,       /* mov dr6, eax */
        0x0f, 0x23, 0xf8,       /* mov dr7, eax */
        0xb8, 0x78, 0x56, 0x34, 0x12,
        0x0f, 0x23, 0xc8,       /* mov dr1, eax */
        0x0f, 0x21, 0xe3,       /* mov ebx, dr4 (= dr6) */
        0x0f, 0x21, 0xc9,       /* mov ecx, dr1 */
    };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->dr[6], 0xffff0ff0);
    cr_assert_eq(v->dr[7], 0x400);
    cr_assert_eq(v->r[R_EBX], 0xffff0ff0);
    cr_assert_eq(v->r[R_ECX], 0x12345678);
    cr_assert_eq(v->exits[EXIT_DR_ACCESS], 5);
    harness_free(h);

    h = sys_new(H_PROT32);
    h->v->cr4 = CR4_DE;
    static const uint8_t c2[] = { 0x0f, 0x21, 0xe3 };
    EXPECT_EXC(h, RUN(h, c2), EXC_UD);
    harness_free(h);

    h = sys_new(H_USER32);
    EXPECT_EXC(h, RUN(h, c2), EXC_GP);
    harness_free(h);
}

/* MOV CR3 drops non-global TLB entries and keeps global ones (CR4.PGE). */
Test(system, mov_cr3_flushes_nonglobal)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    const uint32_t pd = 0x30000, pt = 0x31000;
    harness_write32(h, pd, pt | 0x7);
    for (uint32_t i = 0; i < 1024; i++) harness_write32(h, pt + 4 * i, (i << 12) | 0x7);
    harness_write32(h, pt + 4 * 0x20, 0x20000 | 0x107); /* global */
    v->cr3 = pd;
    v->cr4 = CR4_PGE;
    v->cr0 |= CR0_PG;
    tlb_flush_all(&v->tlb);
    static const uint8_t code[] = {
        0xa1, 0x00, 0x00, 0x02, 0x00, /* mov eax, [0x20000] */
        0xa1, 0x00, 0x10, 0x02, 0x00, /* mov eax, [0x21000] */
    };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_not_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x20000, 4));
    cr_assert_not_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x21000, 4));
    static const uint8_t reload[] = { 0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8 }; /* mov eax,cr3; mov cr3,eax */
    cr_assert_eq(RUN(h, reload), HR_DONE);
    cr_assert_not_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x20000, 4), "global entry kept");
    cr_assert_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x21000, 4), "non-global entry flushed");
    cr_assert_eq(v->cr3, pd);
    /* INVLPG drops the global one too. */
    static const uint8_t inv[] = { 0xb8, 0x00, 0x00, 0x02, 0x00, 0x0f, 0x01, 0x38 }; /* invlpg [eax] */
    cr_assert_eq(RUN(h, inv), HR_DONE);
    cr_assert_null(tlb_probe_read(&v->tlb, TLB_VIEW_SUP, 0x20000, 4));
    cr_assert_eq(v->exits[EXIT_INVLPG], 1);
    harness_free(h);
}

/* ---- HLT, INVD, WBINVD ---- */

Test(system, hlt)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0xf4 };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->halted, 1);
    cr_assert_eq(v->exits[EXIT_HLT], 1);
    harness_free(h);

    h = sys_new(H_USER32);
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE);
    harness_free(h);
}

Test(system, invd_wbinvd)
{
    struct harness *h = sys_new(H_PROT32);
    static const uint8_t code[] = { 0x0f, 0x08, 0x0f, 0x09 };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(h->v->exits[EXIT_INVD], 1);
    cr_assert_eq(h->v->exits[EXIT_WBINVD], 1);
    harness_free(h);

    h = sys_new(H_USER32);
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    harness_free(h);
}

/* ---- port I/O ---- */

struct io_log {
    uint8_t out[64];
    int nout;
    int last_size;
    uint8_t next_in;
};

static uint32_t log_read(void *opaque, uint16_t port, int size)
{
    (void)port;
    struct io_log *l = opaque;
    l->last_size = size;
    uint32_t x = l->next_in++;
    return size == 1 ? x : size == 2 ? (x | 0xab00) : (x | 0xabcd0000u);
}

static void log_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    (void)port;
    struct io_log *l = opaque;
    l->last_size = size;
    if (l->nout < 64) l->out[l->nout++] = (uint8_t)val;
}

Test(system, in_out_ring0)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    struct io_log log = { .next_in = 0x40 };
    cr_assert_eq(iobus_register(&h->m.io, 0x3f0, 4, log_read, log_write, &log, "log"), 0);
    static const uint8_t code[] = {
        0xb0, 0x5a,             /* mov al, 0x5a */
        0xe6, 0xf0 - 0xf0 + 0xf0, /* out 0xf0, al (unclaimed) */
        0x66, 0xba, 0xf0, 0x03, /* mov dx, 0x3f0 */
        0xee,                   /* out dx, al */
        0xec,                   /* in al, dx */
        0x66, 0xed,             /* in ax, dx */
        0xe4, 0x81,             /* in al, 0x81 (unclaimed) */
    };
    v->r[R_EAX] = 0x11223344;
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(log.nout, 1);
    cr_assert_eq(log.out[0], 0x5a);
    cr_assert_eq(v->r[R_EAX], 0x1122abff, "AL from the unclaimed port, AH from the word read");
    cr_assert_eq(log.last_size, 2);
    cr_assert_eq(v->exits[EXIT_IO], 5);
    harness_free(h);
}

/* At CPL 3 with IOPL 0 the TSS bitmap decides; the CPU reads two bytes of it. */
static struct harness *io_bitmap_harness(void)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    uint8_t map[0x21]; /* ports 0-0xff, then the all-ones byte (the IDT follows at 0x1000) */
    memset(map, 0xff, sizeof(map));
    map[0x80 / 8] &= (uint8_t)~1u;          /* port 0x80 allowed */
    map[0x7f / 8] &= (uint8_t)~0x80u;       /* port 0x7f allowed */
    harness_poke(h, HARNESS_TSS + 0x68, map, sizeof(map));
    v->tr.limit = 0x68 + 0x20;
    return h;
}

Test(system, io_bitmap)
{
    struct harness *h = io_bitmap_harness();
    struct vcpu *v = h->v;
    static const uint8_t ok[] = { 0xe4, 0x80, 0xe4, 0x7f, 0x66, 0xe5, 0x7f }; /* in al,0x80; in al,0x7f; in ax,0x7f */
    cr_assert_eq(RUN(h, ok), HR_DONE);
    cr_assert_eq(v->r[R_EAX] & 0xffff, 0xffff);
    harness_free(h);

    h = io_bitmap_harness();
    static const uint8_t bad[] = { 0x66, 0xe5, 0x80 }; /* in ax, 0x80: 0x81 not allowed */
    EXPECT_EXC(h, RUN(h, bad), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE);
    harness_free(h);

    /* Bitmap beyond the TSS limit (the harness's default TSS): #GP(0). */
    h = sys_new(H_USER32);
    static const uint8_t any[] = { 0xe4, 0x80 };
    EXPECT_EXC(h, RUN(h, any), EXC_GP);
    harness_free(h);

    /* IOPL 3: no bitmap check. */
    h = sys_new(H_USER32);
    h->v->eflags |= F_IOPL;
    cr_assert_eq(RUN(h, any), HR_DONE);
    harness_free(h);
}

Test(system, rep_outsb_insb)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    struct io_log log = { .next_in = 0x10 };
    cr_assert_eq(iobus_register(&h->m.io, 0x3f0, 1, log_read, log_write, &log, "log"), 0);
    harness_poke(h, HARNESS_DATA, "hello", 5);
    v->r[R_EDX] = 0x3f0;
    v->r[R_ESI] = HARNESS_DATA;
    v->r[R_EDI] = HARNESS_DATA + 0x100;
    v->r[R_ECX] = 5;
    static const uint8_t outs[] = { 0xf3, 0x6e };
    cr_assert_eq(RUN(h, outs), HR_DONE);
    cr_assert_eq(log.nout, 5);
    cr_assert_eq(memcmp(log.out, "hello", 5), 0);
    cr_assert_eq(v->r[R_ESI], HARNESS_DATA + 5);
    cr_assert_eq(v->r[R_ECX], 0);
    v->r[R_ECX] = 3;
    v->eflags |= F_DF;
    static const uint8_t ins[] = { 0xf3, 0x6c };
    cr_assert_eq(RUN(h, ins), HR_DONE);
    uint8_t got[3];
    harness_peek(h, HARNESS_DATA + 0x100 - 2, got, 3);
    cr_assert_eq(got[2], 0x10);
    cr_assert_eq(got[1], 0x11);
    cr_assert_eq(got[0], 0x12);
    cr_assert_eq(v->r[R_EDI], HARNESS_DATA + 0x100 - 3);
    cr_assert_eq(v->r[R_ECX], 0);
    cr_assert_eq(v->exits[EXIT_IO], 2);
    harness_free(h);
}

/* ---- CPUID ---- */

static void run_cpuid(struct harness *h, uint32_t leaf)
{
    static const uint8_t code[] = { 0x0f, 0xa2 };
    h->v->r[R_EAX] = leaf;
    h->v->r[R_ECX] = 0;
    cr_assert_eq(RUN(h, code), HR_DONE);
}

Test(system, cpuid)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    run_cpuid(h, 0);
    cr_assert_eq(v->r[R_EAX], 0x15);
    char vend[13] = { 0 };
    memcpy(vend, &v->r[R_EBX], 4);
    memcpy(vend + 4, &v->r[R_EDX], 4);
    memcpy(vend + 8, &v->r[R_ECX], 4);
    cr_assert_str_eq(vend, "GenuineIntel");
    run_cpuid(h, 1);
    cr_assert_eq(v->r[R_EAX], 0x6f1);
    cr_assert_eq(v->r[R_ECX], 0);
    cr_assert_eq(v->r[R_EDX], 0x0100a93d, "FPU DE PSE TSC MSR CX8 SEP PGE CMOV FXSR");
    cr_assert_eq(v->r[R_EDX] & ((1u << 23) | (1u << 25) | (1u << 26) | (1u << 6) | (1u << 9) | (1u << 12)), 0,
                 "no MMX SSE SSE2 PAE APIC MTRR");
    run_cpuid(h, 0x80000000u);
    cr_assert_eq(v->r[R_EAX], 0x80000004u);
    char brand[49] = { 0 };
    for (uint32_t i = 0; i < 3; i++) {
        run_cpuid(h, 0x80000002u + i);
        memcpy(brand + 16 * i, &v->r[R_EAX], 4);
        memcpy(brand + 16 * i + 4, &v->r[R_EBX], 4);
        memcpy(brand + 16 * i + 8, &v->r[R_ECX], 4);
        memcpy(brand + 16 * i + 12, &v->r[R_EDX], 4);
    }
    cr_assert_str_eq(brand, "bt86 Virtual CPU");
    run_cpuid(h, 7); /* below the maximum, not modelled: zeros */
    cr_assert_eq(v->r[R_EAX], 0);
    cr_assert_eq(v->r[R_EBX], 0);
    run_cpuid(h, 0x15); /* TSC = crystal * 1 / 1, crystal 1 GHz */
    cr_assert_eq(v->r[R_EAX], 1);
    cr_assert_eq(v->r[R_EBX], 1);
    cr_assert_eq(v->r[R_ECX], 1000000000u);
    run_cpuid(h, 0x16); /* beyond the maximum: the highest basic leaf */
    cr_assert_eq(v->r[R_ECX], 1000000000u);
    cr_assert_eq(v->exits[EXIT_CPUID], 9);
    harness_free(h);
}

/* ---- MSRs and the TSC ---- */

Test(system, rdmsr_unknown_gp)
{
    struct harness *h = sys_new(H_PROT32);
    static const uint8_t code[] = { 0xb9, 0x45, 0x23, 0x01, 0x00, 0x0f, 0x32 };
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 5);
    cr_assert_eq(h->v->exits[EXIT_RDMSR], 1);
    harness_free(h);

    h = sys_new(H_PROT32);
    static const uint8_t wr[] = { 0xb9, 0x45, 0x23, 0x01, 0x00, 0x0f, 0x30 };
    EXPECT_EXC(h, RUN(h, wr), EXC_GP);
    cr_assert_eq(h->v->exits[EXIT_WRMSR], 1);
    harness_free(h);

    h = sys_new(H_USER32);
    static const uint8_t user[] = { 0xb9, 0x74, 0x01, 0x00, 0x00, 0x0f, 0x32 };
    EXPECT_EXC(h, RUN(h, user), EXC_GP);
    harness_free(h);
}

Test(system, wrmsr_rdmsr_round_trip)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xb9, 0x76, 0x01, 0x00, 0x00,   /* mov ecx, 0x176 */
        0xb8, 0x78, 0x56, 0x34, 0x12,   /* mov eax, 0x12345678 */
        0x31, 0xd2,                     /* xor edx, edx */
        0x0f, 0x30,                     /* wrmsr */
        0x31, 0xc0,                     /* xor eax, eax */
        0x0f, 0x32,                     /* rdmsr */
    };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->msr.sysenter_eip, 0x12345678);
    cr_assert_eq(v->r[R_EAX], 0x12345678);
    cr_assert_eq(v->r[R_EDX], 0);
    harness_free(h);

    /* PAT with an undefined memory type (2): #GP(0). */
    h = sys_new(H_PROT32);
    static const uint8_t pat[] = { 0xb9, 0x77, 0x02, 0x00, 0x00, 0xb8, 0x02, 0x00, 0x00, 0x00,
                                   0x31, 0xd2, 0x0f, 0x30 };
    EXPECT_EXC(h, RUN(h, pat), EXC_GP);
    cr_assert_eq(h->v->msr.pat, 0x0007040600070406ull);
    harness_free(h);
}

Test(system, rdtsc_deterministic)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    v->msr.tsc_offset = 0x100000000ull + 1000;
    uint64_t ic = v->icount;
    static const uint8_t code[] = { 0x90, 0x0f, 0x31 };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->r[R_EAX], (uint32_t)(ic + 1 + 1000));
    cr_assert_eq(v->r[R_EDX], 1);
    cr_assert_eq(v->exits[EXIT_RDTSC], 1);
    harness_free(h);

    h = sys_new(H_USER32);
    h->v->cr4 = CR4_TSD;
    static const uint8_t c2[] = { 0x0f, 0x31 };
    EXPECT_EXC(h, RUN(h, c2), EXC_GP);
    harness_free(h);
}

/* Writing MSR 0x10 sets the TSC: the next read continues from there. */
Test(system, wrmsr_tsc)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = {
        0xb9, 0x10, 0x00, 0x00, 0x00,   /* mov ecx, 0x10 */
        0xb8, 0x00, 0x00, 0x00, 0x00,   /* mov eax, 0 */
        0xba, 0x05, 0x00, 0x00, 0x00,   /* mov edx, 5 */
        0x0f, 0x30,                     /* wrmsr: TSC = 5 << 32 */
        0x90,
        0x0f, 0x31,                     /* rdtsc: two instructions later */
    };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->r[R_EDX], 5);
    cr_assert_eq(v->r[R_EAX], 2);
    cr_assert_eq(cpu_tsc(v), (5ull << 32) + 3);
    harness_free(h);
}

Test(system, rdpmc_gp)
{
    struct harness *h = sys_new(H_PROT32);
    static const uint8_t code[] = { 0x31, 0xc9, 0x0f, 0x33 };
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 2);
    cr_assert_eq(h->v->exits[EXIT_RDPMC], 1);
    harness_free(h);
}

/* ---- SYSENTER / SYSEXIT ---- */

Test(system, sysenter_sysexit_round_trip)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    v->msr.sysenter_cs = 0x08;
    v->msr.sysenter_esp = 0x9f000;
    v->msr.sysenter_eip = HARNESS_CODE + 2;
    v->eflags |= F_IF;
    v->r[R_ECX] = 0x8f000;
    v->r[R_EDX] = HARNESS_CODE + 4;
    static const uint8_t code[] = { 0x0f, 0x34, 0x0f, 0x35 };
    cr_assert_eq(sys_run_max(h, code, sizeof(code), 1), HR_TIMEOUT);
    cr_assert_eq(v->cpl, 0);
    cr_assert_eq(v->seg[S_CS].sel, 0x08);
    cr_assert_eq(v->seg[S_SS].sel, 0x10);
    cr_assert_eq(v->r[R_ESP], 0x9f000);
    cr_assert_eq(v->eip, HARNESS_CODE + 2);
    cr_assert_eq(v->eflags & F_IF, 0);
    cr_assert_eq(v->code32, 1);
    cr_assert_eq(cpu_step(v), STOP_INSN_LIMIT);
    cr_assert_eq(v->cpl, 3);
    cr_assert_eq(v->seg[S_CS].sel, 0x1b);
    cr_assert_eq(v->seg[S_SS].sel, 0x23);
    cr_assert_eq(SEG_ATTR_DPL(v->seg[S_SS].attr), 3);
    cr_assert_eq(v->r[R_ESP], 0x8f000);
    cr_assert_eq(v->eip, HARNESS_CODE + 4);
    cr_assert_eq(v->exits[EXIT_BT_SYSCALL], 2);
    harness_free(h);
}

/* The flat caches SYSENTER/SYSEXIT write directly are what the general
 * descriptor path derives for the same attributes (seg_cache_refresh). */
static void assert_refreshed(const struct seg_cache *c)
{
    struct seg_cache r = *c;
    seg_cache_refresh(&r, true);
    cr_assert_eq(c->base, 0);
    cr_assert_eq(c->limit, 0xffffffffu);
    cr_assert_eq(c->lo, r.lo);
    cr_assert_eq(c->hi, r.hi);
    cr_assert_eq(c->rd, r.rd);
    cr_assert_eq(c->wr, r.wr);
}

Test(system, sysenter_exit_segment_caches_are_refreshed)
{
    struct harness *h = sys_new(H_USER32);
    struct vcpu *v = h->v;
    v->msr.sysenter_cs = 0x08;
    v->msr.sysenter_esp = 0x9f000;
    v->msr.sysenter_eip = HARNESS_CODE + 2;
    v->r[R_ECX] = 0x8f000;
    v->r[R_EDX] = HARNESS_CODE + 4;
    static const uint8_t code[] = { 0x0f, 0x34, 0x0f, 0x35 };
    cr_assert_eq(sys_run_max(h, code, sizeof(code), 1), HR_TIMEOUT);
    assert_refreshed(&v->seg[S_CS]);
    assert_refreshed(&v->seg[S_SS]);
    cr_assert(v->seg[S_CS].rd && !v->seg[S_CS].wr);
    cr_assert(v->seg[S_SS].rd && v->seg[S_SS].wr);
    cr_assert_eq(cpu_step(v), STOP_INSN_LIMIT);
    assert_refreshed(&v->seg[S_CS]);
    assert_refreshed(&v->seg[S_SS]);
    cr_assert_eq(v->seg[S_CS].attr, SEG_ATTR_G | SEG_ATTR_DB | SEG_ATTR_P | SEG_ATTR_S | (3 << 5) | 0xb);
    cr_assert_eq(v->seg[S_SS].attr, SEG_ATTR_G | SEG_ATTR_DB | SEG_ATTR_P | SEG_ATTR_S | (3 << 5) | 0x3);
    harness_free(h);
}

Test(system, sysenter_without_cs_gp)
{
    struct harness *h = sys_new(H_USER32);
    static const uint8_t code[] = { 0x0f, 0x34 };
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0);
    harness_free(h);

    h = sys_new(H_USER32);
    h->v->msr.sysenter_cs = 0x08;
    static const uint8_t exit3[] = { 0x0f, 0x35 };
    EXPECT_EXC(h, RUN(h, exit3), EXC_GP);
    harness_free(h);

    h = sys_new(H_REAL16);
    h->v->msr.sysenter_cs = 0x08;
    EXPECT_EXC(h, RUN(h, code), EXC_GP);
    harness_free(h);
}

Test(system, ud2)
{
    struct harness *h = sys_new(H_PROT32);
    static const uint8_t code[] = { 0x0f, 0x0b };
    EXPECT_EXC(h, RUN(h, code), EXC_UD);
    cr_assert_eq(harness_stack(h, 0), HARNESS_CODE);
    harness_free(h);
}

/* REP INSB stops precisely at a page fault: the port is not read for the
 * element that faults, EDI/ECX show the completed part, CR2 the address. */
Test(system, rep_insb_page_fault_mid_way)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    struct io_log log = { .next_in = 0x10 };
    cr_assert_eq(iobus_register(&h->m.io, 0x3f0, 1, log_read, log_write, &log, "log"), 0);
    const uint32_t pd = 0x30000, pt = 0x31000;
    harness_write32(h, pd, pt | 0x7);
    for (uint32_t i = 0; i < 1024; i++) harness_write32(h, pt + 4 * i, (i << 12) | 0x7);
    harness_write32(h, pt + 4 * 0x23, 0); /* 0x23000 not present */
    v->cr3 = pd;
    v->cr0 |= CR0_PG;
    tlb_flush_all(&v->tlb);
    v->r[R_EDX] = 0x3f0;
    v->r[R_EDI] = 0x22ffe;
    v->r[R_ECX] = 4;
    static const uint8_t code[] = { 0x90, 0xf3, 0x6c };
    EXPECT_EXC(h, RUN(h, code), EXC_PF);
    cr_assert_eq(v->cr2, 0x23000);
    cr_assert_eq(harness_stack(h, 0), PF_W);
    cr_assert_eq(harness_stack(h, 1), HARNESS_CODE + 1);
    cr_assert_eq(v->r[R_EDI], 0x23000);
    cr_assert_eq(v->r[R_ECX], 2);
    cr_assert_eq(log.next_in, 0x12, "two port reads, none lost");
    uint8_t got[2];
    harness_peek(h, 0x22ffe, got, 2);
    cr_assert_eq(got[0], 0x10);
    cr_assert_eq(got[1], 0x11);
    harness_free(h);
}

/* Clearing CR0.PE returns to real mode: CPL 0, segment caches kept. */
Test(system, mov_cr0_leave_protected_mode)
{
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    static const uint8_t code[] = { 0x0f, 0x20, 0xc0, 0x24, 0xfe, 0x0f, 0x22, 0xc0 }; /* mov eax,cr0; and al,0xfe; mov cr0,eax */
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->cr0, CR0_ET);
    cr_assert_eq(v->cpl, 0);
    cr_assert_eq(v->seg[S_CS].sel, 0x08);
    cr_assert_eq(v->code32, 1, "still a 32-bit code segment cache");
    cr_assert(v->seg[S_DS].rd && v->seg[S_DS].wr);
    harness_free(h);
}
