; Integration guest: CLI; HLT -- nothing can wake it (status 2).
bits 32
section .text
align 4
    dd 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
global _start
_start:
    cli
    hlt
