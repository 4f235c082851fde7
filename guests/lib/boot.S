/* Multiboot v1 header and entry point shared by every bt86 test guest.
 * The loader (bt86, QEMU -kernel, GRUB) enters here in 32-bit protected mode
 * with flat segments, EAX = 0x2BADB002 and EBX = physical address of the
 * Multiboot info. We set up our own stack, zero .bss (a loader is supposed to,
 * but it costs nothing to be sure), call guest_main(magic, info) and exit with
 * its return value through the isa-debug-exit port. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003   /* page-align modules, want memory info */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .text
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    movl $stack_top, %esp
    movl %eax, %esi          /* keep magic and info pointer across the bss clear */
    movl %ebx, %edi
    /* zero .bss with a plain loop (no string instructions before main) */
    movl $__bss_start, %ecx
1:  cmpl $__bss_end, %ecx
    jae 2f
    movl $0, (%ecx)
    addl $4, %ecx
    jmp 1b
2:  pushl %edi               /* guest_main(magic, info) */
    pushl %esi
    call guest_main
    addl $8, %esp
    pushl %eax
    call guest_exit          /* does not return */
3:  cli
    hlt
    jmp 3b
    .size _start, . - _start

    .section .bss
    .align 16
stack_bottom:
    .skip 65536
stack_top:

    .section .note.GNU-stack, "", @progbits
