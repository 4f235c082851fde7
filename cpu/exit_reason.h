/* Why the VMM was entered. Each VMM entry is counted under the VT-x basic exit
 * reason it stands for (Intel SDM vol. 3, appendix C), so the binary-translation
 * path can be set side by side with hardware virtualization. Sensitive
 * instructions that VT-x lets the guest run without an exit (CLI, POPF, far
 * transfers...) are counted under bt86's own reasons, numbered from 100, with
 * no VT-x number. */
#ifndef BT86_CPU_EXIT_REASON_H
#define BT86_CPU_EXIT_REASON_H

#define EXIT_REASONS(X) \
    X(EXCEPTION,        0,  "exception or NMI") \
    X(EXTINT,           1,  "external interrupt") \
    X(TRIPLE_FAULT,     2,  "triple fault") \
    X(INIT,             3,  "INIT signal") \
    X(SIPI,             4,  "start-up IPI") \
    X(INTR_WINDOW,      7,  "interrupt window") \
    X(TASK_SWITCH,      9,  "task switch") \
    X(CPUID,            10, "CPUID") \
    X(HLT,              12, "HLT") \
    X(INVD,             13, "INVD") \
    X(INVLPG,           14, "INVLPG") \
    X(RDPMC,            15, "RDPMC") \
    X(RDTSC,            16, "RDTSC") \
    X(VMCALL,           18, "VMCALL") \
    X(CR_ACCESS,        28, "control-register access") \
    X(DR_ACCESS,        29, "debug-register access") \
    X(IO,               30, "I/O instruction") \
    X(RDMSR,            31, "RDMSR") \
    X(WRMSR,            32, "WRMSR") \
    X(DTR_ACCESS,       46, "GDTR/IDTR access") \
    X(LDTR_TR_ACCESS,   47, "LDTR/TR access") \
    X(SHADOW_PF,        48, "shadow-paging fault (EPT violation)") \
    X(WBINVD,           54, "WBINVD") \
    X(BT_FLAGS,        100, "IF/IOPL access (CLI, STI, PUSHF, POPF)") \
    X(BT_SEGMENT,      101, "segment load") \
    X(BT_DESCRIPTOR,   102, "descriptor check (LAR, LSL, VERR, VERW)") \
    X(BT_FAR,          103, "far transfer (JMP, CALL, RET far)") \
    X(BT_INT,          104, "software interrupt or IRET") \
    X(BT_SYSCALL,      105, "SYSENTER or SYSEXIT")

enum exit_reason {
#define X(name, num, text) EXIT_##name,
    EXIT_REASONS(X)
#undef X
    EXIT_COUNT
};

/* VT-x exit-reason number (or the bt86 number >= 100) and a description. */
int exit_reason_number(enum exit_reason r);
const char *exit_reason_text(enum exit_reason r);

#endif
