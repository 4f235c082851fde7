/* VMCALL / VMMCALL (cpu/vmm_hypercall.c): KVM's hypercall ABI under both
 * engines — numbers in EAX, result in EAX, no other register or flag
 * changed, -KVM_ENOSYS for unknown numbers, -KVM_EPERM at CPL 3, counted
 * under the VMCALL exit reason — and the #GP(0) the VMM raises for an MSR it
 * does not implement and for CR4 bits CPUID does not advertise (exact error
 * code, saved EIP, nothing changed). */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/decode.h"
#include "cpu/decode_cache.h"
#include "cpu/interp.h"
#include "cpu/vmm.h"
#include "sys_test_util.h"
#include "translator/bt.h"

#define ENOSYS_RET 0xfffffc18u /* -1000 */
#define EPERM_RET  0xffffffffu /* -1 */

/* mov eax, NR; vmcall (or vmmcall); 16-bit code needs the 66 prefix. */
static size_t hc_code(uint8_t *c, uint32_t nr, int amd, int code16)
{
    size_t k = 0;
    if (code16) c[k++] = 0x66;
    c[k++] = 0xb8;
    memcpy(c + k, &nr, 4);
    k += 4;
    c[k++] = 0x0f;
    c[k++] = 0x01;
    c[k++] = amd ? 0xd9 : 0xc1;
    return k;
}

/* Run one hypercall in mode m and return EAX; checks every other register,
 * EFLAGS and the exit count. */
static uint32_t hypercall(enum harness_mode m, uint32_t nr, int amd)
{
    struct harness *h = sys_new(m);
    struct vcpu *v = h->v;
    uint8_t code[9];
    size_t len = hc_code(code, nr, amd, m == H_REAL16 || m == H_PROT16);
    v->r[R_EBX] = 0x11111111u;
    v->r[R_ECX] = 0x22222222u;
    v->r[R_EDX] = 0x33333333u;
    v->r[R_ESI] = 0x44444444u;
    v->r[R_EDI] = 0x55555555u;
    v->r[R_EBP] = 0x66666666u;
    v->eflags = F_FIXED1 | F_CF | F_ZF | F_OF;
    uint32_t esp = v->r[R_ESP];
    cr_assert_eq(sys_run_max(h, code, len, 100), HR_DONE);
    cr_assert_eq(v->r[R_EBX], 0x11111111u);
    cr_assert_eq(v->r[R_ECX], 0x22222222u);
    cr_assert_eq(v->r[R_EDX], 0x33333333u);
    cr_assert_eq(v->r[R_ESI], 0x44444444u);
    cr_assert_eq(v->r[R_EDI], 0x55555555u);
    cr_assert_eq(v->r[R_EBP], 0x66666666u);
    cr_assert_eq(v->r[R_ESP], esp);
    cr_assert_eq(v->eflags, F_FIXED1 | F_CF | F_ZF | F_OF, "flags untouched");
    cr_assert_eq(v->exits[EXIT_VMCALL], 1);
    cr_assert_eq(v->icount, 2);
    uint32_t eax = v->r[R_EAX];
    harness_free(h);
    return eax;
}

Test(hypercall, decodes_as_sensitive)
{
    struct decoder *d = decoder_new();
    cr_assert_not_null(d);
    interp_init();
    static const uint8_t vmcall[] = { 0x0f, 0x01, 0xc1 }, vmmcall[] = { 0x0f, 0x01, 0xd9 };
    struct insn in;
    cr_assert_eq(decode_one(d, vmcall, sizeof(vmcall), 0, true, &in), DECODE_OK);
    cr_assert_eq(in.len, 3);
    cr_assert(in.flags & IF_SENSITIVE);
    cr_assert_eq((void *)in.exec, (void *)exec_vmcall);
    cr_assert_eq(decode_one(d, vmmcall, sizeof(vmmcall), 0, false, &in), DECODE_OK);
    cr_assert_eq(in.len, 3);
    cr_assert(in.flags & IF_SENSITIVE);
    cr_assert_eq((void *)in.exec, (void *)exec_vmcall);
    /* The rest of the VM group stays #UD: VMLAUNCH (0F 01 C2), VMXOFF (0F 01 C4). */
    static const uint8_t vmlaunch[] = { 0x0f, 0x01, 0xc2 }, vmxoff[] = { 0x0f, 0x01, 0xc4 };
    cr_assert_eq(decode_one(d, vmlaunch, sizeof(vmlaunch), 0, true, &in), DECODE_UD);
    cr_assert_eq(decode_one(d, vmxoff, sizeof(vmxoff), 0, true, &in), DECODE_UD);
    decoder_free(d);
}

Test(hypercall, implemented_numbers_return_zero)
{
    cr_assert_eq(hypercall(H_PROT32, 1, 0), 0, "KVM_HC_VAPIC_POLL_IRQ");
    cr_assert_eq(hypercall(H_PROT32, 5, 0), 0, "KVM_HC_KICK_CPU");
    cr_assert_eq(hypercall(H_PROT32, 11, 0), 0, "KVM_HC_SCHED_YIELD");
    cr_assert_eq(hypercall(H_PROT32, 1, 1), 0, "VMMCALL: KVM_HC_VAPIC_POLL_IRQ");
    cr_assert_eq(hypercall(H_PROT32, 11, 1), 0, "VMMCALL: KVM_HC_SCHED_YIELD");
}

Test(hypercall, unknown_numbers_return_enosys)
{
    cr_assert_eq(hypercall(H_PROT32, 0, 0), ENOSYS_RET);
    cr_assert_eq(hypercall(H_PROT32, 2, 0), ENOSYS_RET, "KVM_HC_MMU_OP: not implemented");
    cr_assert_eq(hypercall(H_PROT32, 10, 0), ENOSYS_RET, "KVM_HC_SEND_IPI: not implemented");
    cr_assert_eq(hypercall(H_PROT32, 12, 0), ENOSYS_RET);
    cr_assert_eq(hypercall(H_PROT32, 0xffffffffu, 1), ENOSYS_RET);
}

Test(hypercall, cpl3_gets_eperm)
{
    cr_assert_eq(hypercall(H_USER32, 1, 0), EPERM_RET);
    cr_assert_eq(hypercall(H_USER32, 11, 1), EPERM_RET);
    cr_assert_eq(hypercall(H_USER32, 0x1234, 0), EPERM_RET, "EPERM before the number is looked at");
}

Test(hypercall, real_mode_is_cpl0)
{
    cr_assert_eq(hypercall(H_REAL16, 1, 0), 0);
}

/* Both engines: the translator reaches the same handler through its fallback
 * stub, with the same result and exit count. */
Test(hypercall, both_engines_agree)
{
    /* mov eax,11; vmcall; mov ebx,eax; mov eax,0x77; vmmcall; mov ecx,eax; hlt */
    static const uint8_t code[] = { 0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xc1, 0x89, 0xc3,
                                    0xb8, 0x77, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xd9, 0x89, 0xc1, 0xf4 };
    struct harness *hs[2] = { sys_new(H_PROT32), sys_new(H_PROT32) };
    for (int k = 0; k < 2; k++) {
        struct vcpu *v = hs[k]->v;
        harness_poke(hs[k], HARNESS_CODE, code, sizeof(code));
        v->eip = HARNESS_CODE;
        /* The HLT with IF=0 ends the run (the harness has no idle hook). */
        enum vcpu_stop s = k == 0 ? cpu_run(v, 100) : bt_run(v, 100);
        cr_assert_eq(s, STOP_HALT_FOREVER, "engine %d: stop %d", k, s);
        cr_assert_eq(v->eip, HARNESS_CODE + 21, "engine %d", k);
        cr_assert_eq(v->r[R_EBX], 0, "engine %d: SCHED_YIELD", k);
        cr_assert_eq(v->r[R_ECX], ENOSYS_RET, "engine %d: 0x77", k);
        cr_assert_eq(v->exits[EXIT_VMCALL], 2, "engine %d", k);
        cr_assert_eq(v->icount, 7);
    }
    struct bt_stats st;
    bt_get_stats(hs[1]->v, &st);
    cr_assert_eq(st.interp_blocks, 0, "the block was translated");
    cr_assert_eq(st.sensitive_called, 3, "both hypercalls and HLT translated as VMM calls");
    bt_vcpu_free(hs[1]->v);
    harness_free(hs[0]);
    harness_free(hs[1]);
}

/* ---- #GP(0) for what this CPU does not have ---- */

/* The run stops in the #GP stub with error code 0 and the faulting EIP. */
static void expect_gp0(struct harness *h, enum harness_result r, uint32_t eip)
{
    EXPECT_EXC(h, r, EXC_GP);
    cr_assert_eq(harness_stack(h, 0), 0, "error code");
    cr_assert_eq(harness_stack(h, 1), eip, "saved EIP %#x, want %#x", harness_stack(h, 1), eip);
    cr_assert_eq(h->v->exceptions[EXC_GP], 1);
}

Test(hypercall, unknown_msr_is_gp0)
{
    /* mov ecx, 0xc0000080; mov eax, 0x5a; mov edx, 0xa5; rdmsr */
    static const uint8_t rd[] = { 0xb9, 0x80, 0x00, 0x00, 0xc0, 0xb8, 0x5a, 0x00, 0x00, 0x00,
                                  0xba, 0xa5, 0x00, 0x00, 0x00, 0x0f, 0x32 };
    struct harness *h = sys_new(H_PROT32);
    expect_gp0(h, RUN(h, rd), HARNESS_CODE + 15);
    cr_assert_eq(h->v->r[R_EAX], 0x5a, "EDX:EAX untouched");
    cr_assert_eq(h->v->r[R_EDX], 0xa5);
    cr_assert_eq(h->v->exits[EXIT_RDMSR], 1);
    cr_assert_eq(h->v->exits[EXIT_EXCEPTION], 1);
    harness_free(h);

    /* mov ecx, 0x12345678; wrmsr */
    static const uint8_t wr[] = { 0xb9, 0x78, 0x56, 0x34, 0x12, 0x0f, 0x30 };
    h = sys_new(H_PROT32);
    expect_gp0(h, RUN(h, wr), HARNESS_CODE + 5);
    cr_assert_eq(h->v->exits[EXIT_WRMSR], 1);
    harness_free(h);
}

/* mov eax, VAL; mov cr4, eax */
static enum harness_result set_cr4(struct harness *h, uint32_t val)
{
    uint8_t code[8] = { 0xb8, 0, 0, 0, 0, 0x0f, 0x22, 0xe0 };
    memcpy(code + 1, &val, 4);
    return sys_run_max(h, code, sizeof(code), 100);
}

Test(hypercall, unadvertised_cr4_bits_are_gp0)
{
    static const uint32_t bad[] = { CR4_VME, CR4_PVI, CR4_PAE, CR4_MCE, CR4_OSXMMEXCPT, 1u << 11, 1u << 13,
                                    0x80000000u };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct harness *h = sys_new(H_PROT32);
        h->v->cr4 = CR4_PSE;
        expect_gp0(h, set_cr4(h, CR4_PSE | bad[i]), HARNESS_CODE + 5);
        cr_assert_eq(h->v->cr4, CR4_PSE, "bit %#x: CR4 unchanged", bad[i]);
        cr_assert_eq(h->v->exits[EXIT_CR_ACCESS], 1);
        harness_free(h);
    }
    /* Advertised ones can be set: TSC (TSD), DE, PSE, PGE, FXSR (OSFXSR); PCE. */
    struct harness *h = sys_new(H_PROT32);
    uint32_t good = CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE | CR4_OSFXSR;
    cr_assert_eq(set_cr4(h, good), HR_DONE);
    cr_assert_eq(h->v->cr4, good);
    cr_assert_eq(h->v->exceptions[EXC_GP], 0);
    harness_free(h);
}

Test(hypercall, cr4_check_leaves_registers)
{
    /* cr4_allowed runs CPUID leaf 1 on the vCPU's registers: they must come back. */
    struct harness *h = sys_new(H_PROT32);
    struct vcpu *v = h->v;
    /* mov ebx,0x1111; mov ecx,0x2222; mov edx,0x3333; mov eax,0x10; mov cr4,eax */
    static const uint8_t code[] = { 0xbb, 0x11, 0x11, 0x00, 0x00, 0xb9, 0x22, 0x22, 0x00, 0x00, 0xba, 0x33, 0x33,
                                    0x00, 0x00, 0xb8, 0x10, 0x00, 0x00, 0x00, 0x0f, 0x22, 0xe0 };
    cr_assert_eq(RUN(h, code), HR_DONE);
    cr_assert_eq(v->cr4, CR4_PSE);
    cr_assert_eq(v->r[R_EAX], 0x10);
    cr_assert_eq(v->r[R_EBX], 0x1111);
    cr_assert_eq(v->r[R_ECX], 0x2222);
    cr_assert_eq(v->r[R_EDX], 0x3333);
    harness_free(h);
}
