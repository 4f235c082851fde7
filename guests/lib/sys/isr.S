/* IDT entry stubs, the common trap path and ring-3 entry/return for the
 * system test guests (see sys.h). Every stub is 16 bytes long, so vector v's
 * stub is at isr_table + 16*v. A stub pushes a zero error code for vectors
 * where the CPU pushes none, then the vector, and joins trap_common, which
 * completes a struct trap_frame and calls trap_dispatch(frame). */

    .section .text
    .globl isr_table
    .balign 16
isr_table:
    .set v, 0
    .rept 256
    .balign 16
    .if (v == 8) || ((v >= 10) && (v <= 14)) || (v == 17) || (v == 21) || (v == 29) || (v == 30)
    .else
    pushl $0
    .endif
    .if v < 128
    .byte 0x6a, v             /* push imm8 */
    .else
    .byte 0x68                /* push imm32 */
    .long v
    .endif
    jmp trap_common
    .set v, v + 1
    .endr
    .balign 16

trap_common:
    pushal
    pushl %ds
    pushl %es
    pushl %fs
    pushl %gs
    movl $0x10, %eax
    movw %ax, %ds
    movw %ax, %es
    cld
    pushl %esp
    call trap_dispatch
    addl $4, %esp
    popl %gs
    popl %fs
    popl %es
    popl %ds
    popal
    addl $8, %esp             /* vector, error code */
    iretl

/* uint32_t user_run(void (*fn)(void), uint32_t esp, uint32_t eflags) */
    .globl user_run
    .type user_run, @function
user_run:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, user_saved_esp
    movl 20(%esp), %eax
    movl 24(%esp), %ecx
    movl 28(%esp), %edx
    pushl $0x23               /* SS */
    pushl %ecx                /* ESP */
    pushl %edx                /* EFLAGS */
    pushl $0x1b               /* CS */
    pushl %eax                /* EIP */
    movl $0x23, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    iretl
    .size user_run, . - user_run

/* void user_return(uint32_t value): called at ring 0 (from a trap handler
 * that interrupted ring 3), abandons the handler's stack and returns value
 * from user_run(). */
    .globl user_return
    .type user_return, @function
user_return:
    movl 4(%esp), %eax
    movl $0x10, %ecx
    movw %cx, %ds
    movw %cx, %es
    movw %cx, %fs
    movw %cx, %gs
    movw %cx, %ss
    movl user_saved_esp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret
    .size user_return, . - user_return

    .section .bss
    .balign 4
user_saved_esp:
    .skip 4

    .section .note.GNU-stack, "", @progbits
