; Integration guest: loads an empty IDT and executes INT3: #GP, #DF, triple
; fault (status 3).
bits 32
section .text
align 4
    dd 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
global _start
_start:
    lidt [idtr]
    int3
section .data
idtr: dw 0
      dd 0
