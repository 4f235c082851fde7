/* The timed loops and the minimal trap handlers of the vmbench guest (see
 * main.c). Each loop is written out in assembly so that the operation under
 * test is the only thing in it besides a counter; each handler does the least
 * an OS would (count, fix up, return) so the figure is the round trip through
 * the CPU's (or the VMM's) event path, not through the guest's C dispatcher.
 * Every loop and handler leaves evidence in a counter that main.c checks. */

    .set VB_PF_VA, 0x00400000      /* must match main.c */
    .set VB_PTE_VA, 0x00401000

    .section .text

/* ---- ring 3: INT 0x80 round trips ----
 * Entered at CPL 3 by user_run(); loops vb_iters times, then leaves through
 * INT 0x82 (a DPL-3 gate whose C handler calls user_return). */
    .globl vb_int80_user
vb_int80_user:
    movl vb_iters, %ecx
1:  int $0x80
    decl %ecx
    jnz 1b
    int $0x82
2:  jmp 2b

/* INT 0x80 handler: count and return. */
    .globl vb_int80_entry
vb_int80_entry:
    incl vb_int80_count
    iretl

/* ---- ring 3: SYSENTER/SYSEXIT round trips ----
 * Convention: ECX = ESP and EDX = EIP to return to (SYSEXIT's inputs). */
    .globl vb_sysenter_user
vb_sysenter_user:
    movl vb_iters, %esi
1:  movl %esp, %ecx
    movl $2f, %edx
    sysenter
2:  decl %esi
    jnz 1b
    int $0x82
3:  jmp 3b

    .globl vb_sysenter_entry
vb_sysenter_entry:
    incl vb_sysenter_count
    sysexit

/* ---- ring 0 loops: cdecl, uint32_t f(uint32_t n), n > 0 ---- */

/* IN from the master PIC's IMR (all masked: reads 0xff). Returns how many
 * reads gave 0xff. */
    .globl vb_in_loop
vb_in_loop:
    pushl %ebx
    movl 8(%esp), %ecx
    xorl %ebx, %ebx
1:  inb $0x21, %al
    cmpb $0xff, %al
    jne 2f
    incl %ebx
2:  decl %ecx
    jnz 1b
    movl %ebx, %eax
    popl %ebx
    ret

/* TPR writes through the local APIC page (0xfee00080), alternating 0x10 and
 * 0x20 (no interrupt is pending, so neither lets anything in). Returns the
 * TPR read back after the loop. */
    .globl vb_tpr_loop
vb_tpr_loop:
    movl 4(%esp), %ecx
    movl $0x10, %eax
1:  movl %eax, 0xfee00080
    xorl $0x30, %eax
    decl %ecx
    jnz 1b
    movl 0xfee00080, %eax
    ret

/* CLI/STI pairs (everything is masked at the PIC and APIC). Returns EFLAGS. */
    .globl vb_clisti_loop
vb_clisti_loop:
    movl 4(%esp), %ecx
1:  cli
    sti
    decl %ecx
    jnz 1b
    cli
    pushfl
    popl %eax
    ret

/* Near CALL/RET to a subroutine that counts in EDX. Returns that count. */
    .globl vb_callret_loop
vb_callret_loop:
    movl 4(%esp), %ecx
    xorl %edx, %edx
1:  call vb_leaf
    decl %ecx
    jnz 1b
    movl %edx, %eax
    ret
vb_leaf:
    incl %edx
    ret

/* #PF on a not-present page: the handler maps it, the load is retried; then
 * unmap + INVLPG for the next round. The page holds the value 1, so the sum
 * returned is the number of loads that completed through the mapping. */
    .globl vb_pgfault_loop
vb_pgfault_loop:
    pushl %esi
    pushl %edi
    movl 12(%esp), %ecx
    movl vb_pf_pte, %edi
    xorl %esi, %esi
1:  movl VB_PF_VA, %eax
    addl %eax, %esi
    movl $0, (%edi)
    invlpg VB_PF_VA
    decl %ecx
    jnz 1b
    movl %esi, %eax
    popl %edi
    popl %esi
    ret

/* #PF handler (error code on the stack): count (only faults at the test
 * address), map the page, drop the error code, return to retry. */
    .globl vb_pf_entry
vb_pf_entry:
    pushl %eax
    movl %cr2, %eax
    cmpl $VB_PF_VA, %eax
    jne 1f
    incl vb_pf_count
1:  movl vb_pf_map, %eax
    pushl %edx
    movl vb_pf_pte, %edx
    movl %eax, (%edx)
    popl %edx
    popl %eax
    addl $4, %esp
    iretl

/* #DE round trips: DIV by zero (2 bytes, F7 F3); the handler skips it. */
    .globl vb_divzero_loop
vb_divzero_loop:
    pushl %ebx
    movl 8(%esp), %ecx
    xorl %ebx, %ebx
1:  movl $1, %eax
    xorl %edx, %edx
    divl %ebx
    decl %ecx
    jnz 1b
    popl %ebx
    ret

    .globl vb_de_entry
vb_de_entry:
    incl vb_de_count
    addl $2, (%esp)
    iretl

/* PTE write + INVLPG + a load through the page, the PTE alternating between
 * frames A and B. Each frame's first word is the address of its own counter
 * (vb_seen_a, vb_seen_b), which the loop increments: a load through a stale
 * mapping bumps the wrong one. */
    .globl vb_ptemod_loop
vb_ptemod_loop:
    pushl %ebx
    pushl %esi
    pushl %edi
    movl 16(%esp), %ecx
    movl vb_pte_pte, %edi
    movl vb_pte_a, %edx
    movl %edx, %ebx
    xorl vb_pte_b, %ebx
1:  movl %edx, (%edi)
    invlpg VB_PTE_VA
    movl VB_PTE_VA, %eax
    incl (%eax)
    xorl %ebx, %edx
    decl %ecx
    jnz 1b
    popl %edi
    popl %esi
    popl %ebx
    ret

/* "irq" mode (main.c): STI; HLT, and the IRQ0 handler, which never
 * returns (it reports and exits), so the test needs no IRET: an interrupt
 * delivered to a halted vCPU, the path -engine kvm injects through. */
    .globl vb_sti_hlt
vb_sti_hlt:
    sti
    hlt
    .globl vb_after_hlt
vb_after_hlt:
    cli
    ret

/* "irqwin" mode: with IF=0, wait until PIT channel 2's OUT2 rises (armed
 * by main.c after IRQ0, so IRQ0 is pending by then), STI, and spin: the
 * interrupt is taken once the STI shadow ends, at vb_spin (the interrupt
 * window path of -engine kvm). */
    .globl vb_cli_wait_sti
vb_cli_wait_sti:
    cli
1:  inb $0x61, %al
    testb $0x20, %al
    jz 1b
    sti
    .globl vb_spin
vb_spin:
    jmp vb_spin

    .globl vb_irq0_entry
vb_irq0_entry:
    pushl (%esp)            /* saved EIP */
    call vb_irq0_c          /* does not return */
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
