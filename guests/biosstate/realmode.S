/* The real-mode part of the biosstate guest. rm_irq_trip() (32-bit) loads
 * the guest's own small GDT (the entry GDT has no 16-bit segments; the
 * PIC and IVT are left exactly as the firmware left them), drops through
 * 16-bit protected mode into real mode at RM_SEG:..., hooks IVT vector 8
 * with a handler that counts, records the master PIC's ISR and chains to
 * the firmware's own IRQ 0 handler, enables interrupts until that handler
 * has run RM_WANT times (bounded), restores vector 8, reads the PIC's ISR
 * and IRR after the handler returned, and comes back to 32-bit protected
 * mode. The blob is copied to RM_BASE by the C side; offsets in the blob
 * equal offsets in its 16-bit segments. */

#define RM_SEG   0x2000          /* RM_BASE = 0x20000 */
#define G_CODE32 0x08
#define G_DATA32 0x10
#define G_CODE16 0x18
#define G_DATA16 0x20
#define RM_WANT  3

    .text
    .code16
    .globl rm_blob_start, rm_blob_end
    .globl r_hits, r_isr_in, r_isr_after, r_ticks0, r_ticks1, r_done, r_old8
    .globl r_hits70, r_isr2_after, r_old70
rm_blob_start:
r_hits:      .word 0             /* IRQ 0s seen through vector 8 */
r_isr_in:    .byte 0             /* master ISR inside our hook (first time) */
r_isr_after: .byte 0             /* master ISR after the firmware's handler returned */
r_ticks0:    .long 0             /* BDA tick count before */
r_ticks1:    .long 0             /* ... and after */
r_done:      .word 0             /* reached the end */
r_old8:      .long 0             /* the firmware's vector 8 */
r_hits70:    .word 0             /* RTC IRQ 8s seen through vector 0x70 */
r_isr2_after: .byte 0, 0         /* slave ISR, master ISR after the RTC part */
r_old70:     .long 0             /* the firmware's vector 0x70 */
r_regb:      .byte 0, 0          /* RTC register B at entry */
rm_idtr:     .word 0x3ff
             .long 0

rm_entry16:
    movw $G_DATA16, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    lidtw rm_idtr - rm_blob_start
    movl %cr0, %eax
    andl $0xfffffffe, %eax
    movl %eax, %cr0
    ljmp $RM_SEG, $(rm_real - rm_blob_start)

rm_real:
    movw $RM_SEG, %ax
    movw %ax, %ds
    movw %ax, %ss
    movw $0xfff0, %sp
    xorw %ax, %ax
    movw %ax, %es
    movl %es:(8 * 4), %eax
    movl %eax, r_old8 - rm_blob_start
    movl %es:0x46c, %eax
    movl %eax, r_ticks0 - rm_blob_start
    cli
    movw $(rm_hook - rm_blob_start), %es:(8 * 4)
    movw $RM_SEG, %es:(8 * 4 + 2)
    movl $50000000, %ecx
    sti
1:  cmpw $RM_WANT, r_hits - rm_blob_start
    jae 2f
    decl %ecx
    jnz 1b
2:  cli
    movl r_old8 - rm_blob_start, %eax
    movl %eax, %es:(8 * 4)
    movl %es:0x46c, %eax
    movl %eax, r_ticks1 - rm_blob_start
    movb $0x0b, %al              /* OCW3: read ISR */
    outb %al, $0x20
    inb $0x20, %al
    movb %al, r_isr_after - rm_blob_start
    movb $0x0a, %al              /* back to reading IRR */
    outb %al, $0x20

    /* RTC periodic interrupt (IRQ 8, slave IR0) through vector 0x70 */
    movl %es:(0x70 * 4), %eax
    movl %eax, r_old70 - rm_blob_start
    movw $(rm_hook70 - rm_blob_start), %es:(0x70 * 4)
    movw $RM_SEG, %es:(0x70 * 4 + 2)
    movb $0x0b, %al
    outb %al, $0x70
    inb $0x71, %al
    movb %al, r_regb - rm_blob_start
    orb $0x40, %al               /* PIE */
    movb %al, %ah
    movb $0x0b, %al
    outb %al, $0x70
    movb %ah, %al
    outb %al, $0x71
    movl $50000000, %ecx
    sti
1:  cmpw $RM_WANT, r_hits70 - rm_blob_start
    jae 2f
    decl %ecx
    jnz 1b
2:  cli
    movb $0x0b, %al
    outb %al, $0x70
    movb r_regb - rm_blob_start, %al
    outb %al, $0x71
    movb $0x0c, %al              /* clear any flag left */
    outb %al, $0x70
    inb $0x71, %al
    movl r_old70 - rm_blob_start, %eax
    movl %eax, %es:(0x70 * 4)
    movb $0x0b, %al
    outb %al, $0xa0
    inb $0xa0, %al
    movb %al, r_isr2_after - rm_blob_start
    movb $0x0b, %al
    outb %al, $0x20
    inb $0x20, %al
    movb %al, r_isr2_after - rm_blob_start + 1
    movb $0x0a, %al
    outb %al, $0xa0
    outb %al, $0x20

    movw $0x600d, r_done - rm_blob_start

    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $G_CODE32, $pm_back

/* vector 8: count, record ISR the first time, chain to the firmware */
rm_hook:
    pushw %ax
    incw %cs:r_hits - rm_blob_start
    cmpw $1, %cs:r_hits - rm_blob_start
    jne 1f
    movb $0x0b, %al
    outb %al, $0x20
    inb $0x20, %al
    movb %al, %cs:r_isr_in - rm_blob_start
    movb $0x0a, %al
    outb %al, $0x20
1:  popw %ax
    ljmp *%cs:r_old8 - rm_blob_start

/* vector 0x70: count, chain to the firmware (which must read RTC register
 * C, or the RTC would not interrupt again, and send EOI to both PICs) */
rm_hook70:
    incw %cs:r_hits70 - rm_blob_start
    ljmp *%cs:r_old70 - rm_blob_start

rm_blob_end:

/* ---- 32-bit side, in the image ---- */
    .code32
    .globl rm_irq_trip
    .type rm_irq_trip, @function
rm_irq_trip:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, saved_esp
    lgdt gdt_desc
    ljmp $G_CODE32, $1f
1:  movw $G_DATA32, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    ljmp $G_CODE16, $(rm_entry16 - rm_blob_start)
pm_back:
    movw $G_DATA32, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl saved_esp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret
    .size rm_irq_trip, . - rm_irq_trip

    .data
    .balign 8
/* null; flat 32-bit code and data; 16-bit code and data based at 0x20000 */
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff
    .quad 0x00cf93000000ffff
    .quad 0x00009b020000ffff
    .quad 0x000093020000ffff
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

    .section .bss
    .balign 4
saved_esp:  .skip 4

    .section .note.GNU-stack, "", @progbits
