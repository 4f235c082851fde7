/* Hypercall guest: the VMM as a guest sees it. VMCALL (0F 01 C1) and AMD's
 * VMMCALL (0F 01 D9) are bt86's hypercall with KVM's ABI (number in EAX,
 * arguments in EBX, ECX, EDX, ESI, result in EAX): the implemented numbers
 * return 0 and leave the other registers alone, unknown ones -KVM_ENOSYS
 * (-1000), and any call from CPL 3 -KVM_EPERM (-1). Then the #GP(0) the VMM
 * raises for what this CPU does not have: RDMSR/WRMSR of an MSR bt86 does
 * not implement, and MOV to CR4 setting a bit CPUID does not advertise (PAE,
 * VME, OSXMMEXCPT without SSE) or a reserved one — with the exact error code
 * and the faulting instruction's EIP, and CR4 unchanged.
 * bt86 only: QEMU's TCG raises #UD for VMCALL (it is no hypervisor) and
 * advertises PAE and SSE, so its answers differ by design. */
#include "../lib/sys/sys.h"

#define KVM_ENOSYS 1000u
#define KVM_EPERM  1u
#define HC_VAPIC_POLL_IRQ 1u
#define HC_KICK_CPU       5u
#define HC_SCHED_YIELD    11u

/* Runs INSN (asm text) with label 0 on it and label 1 after it, recording
 * both addresses, with the trap handler set to resume at label 1. */
#define PROBE(insn, ...)                                                               \
    __asm__ volatile("movl $1f, trap_resume\n\t"                                   \
                     "movl $0f, %[at]\n\t"                                         \
                     "movl $1f, %[nx]\n"                                           \
                     "0:\t" insn "\n"                                              \
                     "1:\n"                                                        \
                     : [at] "=m"(at), [nx] "=m"(nx) __VA_ARGS__)

static uint32_t at, nx;
static uint8_t ustack[8192] __attribute__((aligned(16)));

/* One hypercall; the other argument registers are returned through regs[]
 * so the test can see that they are left alone. */
struct hc { uint32_t eax, ebx, ecx, edx, esi; };

static void vmcall(struct hc *r)
{
    __asm__ volatile(".byte 0x0f, 0x01, 0xc1" /* vmcall */
                     : "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx), "+S"(r->esi) : : "memory");
}

static void vmmcall(struct hc *r)
{
    __asm__ volatile(".byte 0x0f, 0x01, 0xd9" /* vmmcall */
                     : "+a"(r->eax), "+b"(r->ebx), "+c"(r->ecx), "+d"(r->edx), "+S"(r->esi) : : "memory");
}

static void check_call(int amd, uint32_t nr, uint32_t want, const char *desc)
{
    struct hc r = { nr, 0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u };
    if (nr == HC_KICK_CPU) r.ecx = 7; /* no vCPU with APIC ID 7: KVM ignores it */
    uint32_t ecx = r.ecx;
    trap_clear();
    if (amd) vmmcall(&r);
    else vmcall(&r);
    expect_no_trap(desc);
    check_u32(r.eax, want, desc);
    check_true(r.ebx == 0x11111111u && r.ecx == ecx && r.edx == 0x33333333u && r.esi == 0x44444444u,
               "EBX, ECX, EDX, ESI unchanged");
}

/* Ring 3: a hypercall each, the result handed back through the exit call. */
extern char u_vmcall[], u_vmmcall[];
__asm__(".text\n"
        "u_vmcall:\n\t"
        "movl $1, %eax\n\t"
        ".byte 0x0f, 0x01, 0xc1\n\t"
        "movl %eax, %ebx\n\txorl %eax, %eax\n\tint $0x80\n"
        "u_vmmcall:\n\t"
        "movl $11, %eax\n\t"
        ".byte 0x0f, 0x01, 0xd9\n\t"
        "movl %eax, %ebx\n\txorl %eax, %eax\n\tint $0x80\n");

static uint32_t user(char *fn)
{
    trap_clear();
    return user_run((void (*)(void))fn, (uint32_t)(ustack + sizeof(ustack)), 0x2);
}

static void hypercalls(void)
{
    printf("-- hypercalls at CPL 0\n");
    check_call(0, HC_VAPIC_POLL_IRQ, 0, "VMCALL 1 (VAPIC_POLL_IRQ) returns 0");
    check_call(0, HC_KICK_CPU, 0, "VMCALL 5 (KICK_CPU) returns 0");
    check_call(0, HC_SCHED_YIELD, 0, "VMCALL 11 (SCHED_YIELD) returns 0");
    check_call(0, 0, -KVM_ENOSYS, "VMCALL 0 returns -KVM_ENOSYS");
    check_call(0, 0x12345678u, -KVM_ENOSYS, "VMCALL 0x12345678 returns -KVM_ENOSYS");
    check_call(1, HC_VAPIC_POLL_IRQ, 0, "VMMCALL 1 returns 0");
    check_call(1, 99, -KVM_ENOSYS, "VMMCALL 99 returns -KVM_ENOSYS");
    printf("-- hypercalls at CPL 3\n");
    check_u32(user(u_vmcall), -KVM_EPERM, "VMCALL 1 at CPL 3 returns -KVM_EPERM");
    expect_no_trap("VMCALL at CPL 3");
    check_u32(user(u_vmmcall), -KVM_EPERM, "VMMCALL 11 at CPL 3 returns -KVM_EPERM");
    expect_no_trap("VMMCALL at CPL 3");
}

static void msrs(void)
{
    printf("-- MSRs bt86 does not implement\n");
    trap_clear();
    uint32_t eax = 0x5a5a5a5au, edx = 0xa5a5a5a5u;
    PROBE("rdmsr", , "+a"(eax), "+d"(edx) : "c"(0xc0000080u) /* EFER: no long mode here */);
    expect_trap("RDMSR 0xc0000080", 13, 0, at);
    check_true(eax == 0x5a5a5a5au && edx == 0xa5a5a5a5u, "RDMSR that faults leaves EDX:EAX");
    PROBE("rdmsr", : "c"(0x12345678u) : "eax", "edx");
    expect_trap("RDMSR 0x12345678", 13, 0, at);
    PROBE("wrmsr", : "c"(0x12345678u), "a"(0), "d"(0));
    expect_trap("WRMSR 0x12345678", 13, 0, at);
    /* A known one still works: IA32_SYSENTER_CS. */
    wrmsr(0x174, 0x08);
    check_u64(rdmsr(0x174), 0x08, "IA32_SYSENTER_CS reads back");
    expect_no_trap("RDMSR/WRMSR 0x174");
}

static void cr4_bits(void)
{
    printf("-- CR4 bits CPUID does not advertise\n");
    uint32_t cr4 = read_cr4();
    static const struct { uint32_t bit; const char *what; } bad[] = {
        { 0x00000001u, "MOV CR4: VME (no CPUID.1:EDX.VME)" },
        { 0x00000002u, "MOV CR4: PVI (no CPUID.1:EDX.VME)" },
        { 0x00000020u, "MOV CR4: PAE (no CPUID.1:EDX.PAE)" },
        { 0x00000040u, "MOV CR4: MCE (no CPUID.1:EDX.MCE)" },
        { 0x00000400u, "MOV CR4: OSXMMEXCPT (no CPUID.1:EDX.SSE)" },
        { 0x00000800u, "MOV CR4: reserved bit 11" },
        { 0x80000000u, "MOV CR4: reserved bit 31" },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        trap_clear();
        PROBE("movl %%eax, %%cr4", : "a"(cr4 | bad[i].bit));
        expect_trap(bad[i].what, 13, 0, at);
        check_u32(read_cr4(), cr4, "CR4 unchanged");
    }
    /* FXSR is advertised: OSFXSR may be set (and cleared again). */
    trap_clear();
    write_cr4(cr4 | CR4_OSFXSR);
    check_u32(read_cr4(), cr4 | CR4_OSFXSR, "MOV CR4: OSFXSR (FXSR advertised) is set");
    write_cr4(cr4);
    expect_no_trap("MOV CR4: OSFXSR");
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    (void)info;
    serial_init();
    sys_init();
    printf("hypercall guest\n");
    hypercalls();
    msrs();
    cr4_bits();
    return check_finish();
}
