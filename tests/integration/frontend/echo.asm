; Integration guest: echoes COM1 input (polling LSR.DR) until a newline, then
; exits with 5 (status 11). Checks serial input from a pipe.
bits 32
section .text
align 4
    dd 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
global _start
_start:
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 1
    jz .wait
    mov dx, 0x3f8
    in al, dx
    out dx, al
    cmp al, 10
    jne _start
    mov al, 5
    out 0xf4, al
    hlt
