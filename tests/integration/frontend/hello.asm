; Integration guest: prints a line on COM1 and exits through port 0xf4 with 0x10
; (exit status 0x21). Also prints its Multiboot command line, so a run checks
; what the loader passes. Assemble: nasm -f elf32; link: ld -m elf_i386 -Ttext=0x100000
bits 32
section .text
align 4
    dd 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
global _start
_start:
    cmp eax, 0x2BADB002
    jne fail
    mov esi, hello
    call puts
    mov esi, [ebx + 16]          ; multiboot_info.cmdline
    call puts
    mov al, 10
    call putc
    mov al, 0x10
    out 0xf4, al
fail:
    mov al, 0x7f
    out 0xf4, al
    hlt
putc:                            ; wait for THRE, then send AL
    push eax
    mov dx, 0x3fd
.w: in al, dx
    test al, 0x20
    jz .w
    pop eax
    mov dx, 0x3f8
    out dx, al
    ret
puts:
    lodsb
    test al, al
    jz .d
    call putc
    jmp puts
.d: ret
section .data
hello: db "hello from a Multiboot guest", 10, "cmdline: ", 0
