/* The real-mode trip of the modes guest. rm_call() (32-bit, in the image)
 * jumps to a blob that the C side copied to physical RM_BASE: first in
 * 16-bit protected mode (SEL_CODE16/SEL_DATA16 with base RM_BASE), then with
 * CR0.PE cleared and a far jump into real mode (CS = RM_SEG), where it does
 * its checks and stores the results in the blob's data area; then it sets
 * CR0.PE and far-jumps (32-bit offset) back to pm_back in the image.
 * Offsets in the blob equal offsets in both its 16-bit segments. */

#define RM_SEG  0x2000          /* RM_BASE = 0x20000 */
#define SEL_CODE16 0x30
#define SEL_DATA16 0x38
#define PROBE_LO 0x0600         /* 0000:0600 vs FFFF:0610 (= 0x100600) */

    .text
    .code16
    .globl rm_blob_start, rm_blob_end
    .globl r_cs, r_cs_far, r_alias, r_wrap, r_isr, r_isr_flags, r_d32, r_a20, r_kbc, r_ok
    .globl r_de_ip, r_de_want, r_de_cs
rm_blob_start:
/* ---- results ---- */
r_cs:        .word 0            /* CS in real mode */
r_cs_far:    .word 0            /* CS after the far jump to 2001:... */
r_alias:     .word 0            /* word written at 2000:scratch, read at 2001:scratch-16 */
r_wrap:      .word 0            /* word read at [BX+SI] with BX+SI wrapping at 64K */
r_isr:       .word 0            /* set by the INT 0x66 handler */
r_isr_flags: .word 0            /* DF/CF of the pushed FLAGS | IF/TF in the handler */
r_d32:       .long 0            /* 32-bit arithmetic with operand-size prefixes */
r_a20:       .byte 0, 0, 0, 0, 0, 0, 0, 0   /* wrap seen at each A20 step */
r_kbc:       .byte 0, 0     /* 8042 output port bit 1 read back after DD / DF */
r_ok:        .word 0            /* reached the end of the real-mode code */
r_de_ip:     .word 0            /* IP the #DE pushed (the DIV itself) */
r_de_want:   .word 0            /* the DIV's offset */
r_de_cs:     .word 0            /* CS the #DE pushed */
scratch:     .word 0
old_ivt:     .long 0
rm_idtr:     .word 0x3ff
             .long 0

/* ---- 16-bit protected mode entry (CS = SEL_CODE16) ---- */
    .globl rm_entry16
rm_entry16:
    movw $SEL_DATA16, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    lidtw rm_idtr - rm_blob_start
    movl %cr0, %eax
    andl $0xfffffffe, %eax
    movl %eax, %cr0
    ljmp $RM_SEG, $(rm_real - rm_blob_start)

/* ---- real mode ---- */
rm_real:
    movw $RM_SEG, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $0xfff0, %sp
    movw %cs, %ax
    movw %ax, r_cs - rm_blob_start

    /* segment arithmetic: 2000:scratch and 2001:scratch-16 are one byte */
    movw $0xbeef, scratch - rm_blob_start
    movw $RM_SEG + 1, %ax
    movw %ax, %es
    movw %es:scratch - rm_blob_start - 16, %ax
    movw %ax, r_alias - rm_blob_start
    /* 16-bit effective addresses wrap at 64K: 0xffff + (scratch+1) = scratch */
    movw $0xffff, %bx
    movw $scratch - rm_blob_start + 1, %si
    movw (%bx,%si), %ax
    movw %ax, r_wrap - rm_blob_start

    /* far jump to the same code through another segment:offset pair */
    ljmp $RM_SEG + 1, $(rm_far - rm_blob_start - 16)
rm_far:
    movw %cs, %ax
    movw %ax, r_cs_far - rm_blob_start
    ljmp $RM_SEG, $(rm_far_back - rm_blob_start)
rm_far_back:

    /* 32-bit operand size in real mode */
    movl $0x12345678, %eax
    movl $0x87654321, %ebx
    addl %ebx, %eax             /* 0x99999999 */
    roll $4, %eax               /* 0x99999999 */
    xorl $0x0f0f0f0f, %eax      /* 0x96969696 */
    movl %eax, r_d32 - rm_blob_start

    /* INT 0x66 through the IVT */
    xorw %ax, %ax
    movw %ax, %es
    movl %es:(0x66 * 4), %eax
    movl %eax, old_ivt - rm_blob_start
    movw $(rm_isr - rm_blob_start), %es:(0x66 * 4)
    movw $RM_SEG, %es:(0x66 * 4 + 2)
    stc                         /* CF and DF set: the handler checks the */
    std                         /* FLAGS image INT pushed */
    int $0x66
    cld
    movl old_ivt - rm_blob_start, %eax
    movl %eax, %es:(0x66 * 4)

    /* #DE in real mode through IVT vector 0: the pushed IP is the DIV's */
    movl %es:0, %eax
    movl %eax, old_ivt - rm_blob_start
    movw $(rm_de - rm_blob_start), %es:0
    movw $RM_SEG, %es:2
    movw $(rm_div - rm_blob_start), r_de_want - rm_blob_start
    xorb %bl, %bl
    movw $0x1234, %ax
rm_div:
    divb %bl                    /* 2 bytes: F6 F3 */
    movl old_ivt - rm_blob_start, %eax
    movl %eax, %es:0

    /* A20: 8042 output port and port 0x92 */
    call a20_probe
    movb %al, r_a20 - rm_blob_start + 0     /* enabled at entry: no wrap */
    movb $0xdd, %bl
    call kbc_outport
    call p92_off
    call a20_probe
    movb %al, r_a20 - rm_blob_start + 1     /* both off: wrap */
    call kbc_read_outport
    andb $2, %al
    movb %al, r_kbc - rm_blob_start + 0
    call p92_on
    call a20_probe
    movb %al, r_a20 - rm_blob_start + 2     /* 0x92 on: no wrap */
    call p92_off
    call a20_probe
    movb %al, r_a20 - rm_blob_start + 3     /* 0x92 off: wrap */
    movb $0xdf, %bl
    call kbc_outport
    call a20_probe
    movb %al, r_a20 - rm_blob_start + 4     /* 8042 on: no wrap */
    call kbc_read_outport
    andb $2, %al
    movb %al, r_kbc - rm_blob_start + 1
    movb $0xdd, %bl
    call kbc_outport
    call a20_probe
    movb %al, r_a20 - rm_blob_start + 5     /* 8042 off: wrap */
    movb $0xdf, %bl
    call kbc_outport
    call p92_on
    call a20_probe
    movb %al, r_a20 - rm_blob_start + 6     /* both on: no wrap */

    movw $0x600d, r_ok - rm_blob_start

    /* back to protected mode (GDTR still holds the guest's GDT) */
    cli
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $pm_back

/* INT 0x66 handler: records that it ran and the FLAGS it was entered with */
rm_isr:
    pushw %bp
    movw %sp, %bp
    movw $0x5a5a, %cs:r_isr - rm_blob_start
    movw 6(%bp), %ax            /* FLAGS pushed by INT */
    andw $0x0401, %ax           /* caller's DF, CF */
    pushfw
    popw %bx
    andw $0x0300, %bx           /* IF, TF inside the handler (INT clears them) */
    orw %bx, %ax
    movw %ax, %cs:r_isr_flags - rm_blob_start
    popw %bp
    iretw

/* #DE handler: records the pushed CS:IP, returns past the 2-byte DIV */
rm_de:
    pushw %bp
    movw %sp, %bp
    movw 2(%bp), %ax
    movw %ax, %cs:r_de_ip - rm_blob_start
    movw 4(%bp), %ax
    movw %ax, %cs:r_de_cs - rm_blob_start
    addw $2, 2(%bp)
    popw %bp
    iretw

/* AL = 1 if FFFF:0610 aliases 0000:0600 (A20 masked), else 0 */
a20_probe:
    pushw %ds
    pushw %es
    xorw %ax, %ax
    movw %ax, %ds
    movw $0xffff, %ax
    movw %ax, %es
    movw PROBE_LO, %dx          /* saved */
    xorw %cx, %cx
    movw $0x1234, PROBE_LO
    cmpw $0x1234, %es:PROBE_LO + 0x10
    jne 1f
    movw $0x4321, PROBE_LO
    cmpw $0x4321, %es:PROBE_LO + 0x10
    jne 1f
    incw %cx
1:  movw %dx, PROBE_LO
    movw %cx, %ax
    popw %es
    popw %ds
    ret

p92_off:
    inb $0x92, %al
    andb $0xfc, %al             /* bit 0 is the fast reset: never write 1 */
    outb %al, $0x92
    ret
p92_on:
    inb $0x92, %al
    andb $0xfe, %al
    orb $0x02, %al
    outb %al, $0x92
    ret

/* waits (bounded) until the 8042 input buffer is empty */
kbc_wait_in:
    movw $0xffff, %cx
1:  inb $0x64, %al
    testb $2, %al
    jz 2f
    loop 1b
2:  ret
/* 8042 command 0xD1: write output port = BL */
kbc_outport:
    call kbc_wait_in
    movb $0xd1, %al
    outb %al, $0x64
    call kbc_wait_in
    movb %bl, %al
    outb %al, $0x60
    call kbc_wait_in
    ret
/* 8042 command 0xD0: AL = output port (0xff if nothing answers) */
kbc_read_outport:
    call kbc_wait_in
    movb $0xd0, %al
    outb %al, $0x64
    movw $0xffff, %cx
1:  inb $0x64, %al
    testb $1, %al
    jnz 2f
    loop 1b
    movb $0xff, %al
    ret
2:  inb $0x60, %al
    ret

rm_blob_end:

/* ---- 32-bit side, in the image ---- */
    .code32
    .globl rm_call
    .type rm_call, @function
rm_call:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, saved_esp
    sidt saved_idtr
    ljmp $SEL_CODE16, $(rm_entry16 - rm_blob_start)
pm_back:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl saved_esp, %esp
    lidt saved_idtr
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret
    .size rm_call, . - rm_call

    .section .bss
    .balign 4
saved_esp:  .skip 4
saved_idtr: .skip 8

    .section .note.GNU-stack, "", @progbits
