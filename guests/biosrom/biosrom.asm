; bt86's own tiny firmware ROM (a -bios image, not a Multiboot guest): 64 KiB,
; entered at the reset vector F000:FFF0. It reports on the debug console
; (port 0xe9) where it runs, the CPU family from EDX at reset, the debug
; console's read-back value, fw_cfg's reset state (key 0 selected), what
; fw_cfg (0x510) and the CMOS say about RAM, the PCI host bridge's IDs
; through 0xcf8/0xcfc (after checking 0xcf8 reads back), then checks in 16-bit
; protected mode that the copy below 1 MiB is the ROM's last 64 KiB as seen at
; 0xFFFF0000 and that writes to it are ignored, shadows the F segment into
; RAM through the 440FX's PAM register as a BIOS does, and exits through port
; 0xf4
; (QEMU's isa-debug-exit: status 1 = every check passed, 3 = one failed).
; Everything printed must be the same under bt86 and qemu-system-i386.
; Build: nasm -f bin -o biosrom.bin biosrom.asm (guests/biosrom/biosrom.mk).

        bits 16
        org 0                   ; offsets within segment F000 (ROM at 0xF0000)

DEBUGCON equ 0xe9
EXIT     equ 0xf4
STACK    equ 0x7000

start:
        cli
        cld
        mov ebp, edx            ; EDX at reset: the CPU signature
        xor ax, ax
        mov ss, ax
        mov sp, STACK
        push cs
        pop ds
        mov byte [ss:fail], 0   ; the failure flag lives in RAM: the ROM is read-only

        ; where are we? IP from a call, CS from the register
        mov si, msg_where
        call puts
        mov ax, cs
        call hex16
        mov al, ':'
        call putc
        call .here
.here:  pop ax
        call hex16
        mov si, msg_reset
        call puts
        mov ax, bx              ; CS as the reset vector saw it
        call hex16
        mov si, msg_close
        call puts

        mov si, msg_family
        call puts
        mov eax, ebp
        shr eax, 8
        and ax, 0xf
        call dec16
        call newline

        mov si, msg_readback
        call puts
        in al, DEBUGCON
        call hex8
        call newline

        ; fw_cfg: key 0 is selected at reset; then the signature (key 0) and
        ; the RAM size (key 3, 64-bit LE)
        mov si, msg_fwreset
        call puts
        mov dx, 0x511
        in al, dx
        call putc
        call newline
        mov si, msg_sig
        call puts
        mov ax, 0x0000
        mov dx, 0x510
        out dx, ax
        inc dx
        mov cx, 4
.sig:   in al, dx
        call putc
        loop .sig
        call newline
        mov si, msg_ram
        call puts
        mov ax, 0x0003
        dec dx
        out dx, ax
        inc dx
        call fw_u32
        mov ebx, eax
        call fw_u32             ; high half: 0 below 4 GiB
        or eax, eax
        jz .low
        mov byte [ss:fail], 1
.low:   mov eax, ebx
        shr eax, 20
        call dec16
        mov si, msg_mib
        call puts

        ; CMOS 0x34/0x35: RAM above 16 MiB in 64 KiB units
        mov si, msg_cmos
        call puts
        mov al, 0x35
        out 0x70, al
        in al, 0x71
        mov ah, al
        mov al, 0x34
        out 0x70, al
        in al, 0x71
        call dec16
        mov si, msg_cmos2
        call puts

        ; PCI: vendor/device of 00:00.0, after checking 0xcf8 reads back
        mov si, msg_pci
        call puts
        mov dx, 0xcf8
        mov eax, 0x80000000
        out dx, eax
        in eax, dx
        cmp eax, 0x80000000
        je .cf8ok
        mov byte [ss:fail], 1
.cf8ok: mov dx, 0xcfc
        in eax, dx
        push eax
        call hex16              ; vendor (low half)
        mov al, ':'
        call putc
        pop eax
        shr eax, 16
        call hex16
        call newline

        ; the ROM copies, compared in 16-bit protected mode with a flat data
        ; segment (the code segment keeps base 0xF0000)
        lgdt [gdt_ptr]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp 0x08:.pm
.pm:    mov ax, 0x10
        mov es, ax
        mov esi, 0xffff0000
        mov edi, 0x000f0000
        mov ecx, 0x4000         ; 64 KiB in dwords
        xor bx, bx              ; mismatches
.cmp:   mov eax, [es:esi]
        cmp eax, [es:edi]
        je .same
        inc bx
.same:  add esi, 4
        add edi, 4
        dec ecx
        jnz .cmp
        ; writes to either copy are dropped
        mov edi, 0x000f0000 + marker
        mov byte [es:edi], 0x00
        mov esi, 0xffff0000 + marker
        mov byte [es:esi], 0x00
        mov cl, [es:edi]
        mov ch, [es:esi]
        mov eax, cr0
        and al, 0xfe
        mov cr0, eax
        jmp 0xf000:.rm
.rm:    xor ax, ax
        mov es, ax
        mov al, [marker]
        mov ah, [cs:marker]

        mov si, msg_alias
        call puts
        or bx, bx
        call okfail
        mov si, msg_wp
        call puts
        cmp ax, cx              ; the same through both views, in both modes
        jne .wpbad
        cmp ax, 0xa5a5
.wpbad: call okfail

        ; shadow RAM through the 440FX PAM register for 0xF0000-0xFFFFF
        ; (PCI 00:00.0 register 0x59, bits 5:4 = WE:RE), as a BIOS copies
        ; itself to RAM: from the top copy (16-bit protected mode, CS base
        ; 0xFFFF0000), set RE|WE and copy the ROM into the RAM below 1 MiB;
        ; back in real mode the code runs from that RAM copy, where a write
        ; sticks; then RE only (the copy is write-protected), and 0 (the ROM
        ; again). (WE alone, "write-only DRAM", is left out: QEMU treats it
        ; as no DRAM at all.)
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp 0x18:.hi
.hi:    mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov al, 0x30
        call pam0
        mov esi, 0xffff0000
        mov edi, 0x000f0000
        mov ecx, 0x4000
        a32 rep movsd
        mov eax, cr0
        and al, 0xfe
        mov cr0, eax
        jmp 0xf000:.shadow
.shadow:
        xor ax, ax
        mov es, ax
        push cs
        pop ds
        mov byte [marker], 0x5a
        mov bl, [marker]
        mov al, 0x10
        call pam0
        mov byte [marker], 0x77
        mov bh, [marker]
        mov al, 0x00
        call pam0
        mov cl, [marker]
        mov si, msg_pam
        call puts
        mov al, bl
        call hex8
        mov si, msg_pam2
        call puts
        mov al, bh
        call hex8
        mov si, msg_pam3
        call puts
        mov al, cl
        call hex8
        call newline
        mov si, msg_pamok
        call puts
        cmp bx, 0x5a5a
        jne .pambad
        cmp cl, 0xa5
.pambad:
        call okfail

        cmp byte [ss:fail], 0
        jne .bad
        mov si, msg_done
        call puts
        mov al, 0
        out EXIT, al
        hlt
.bad:   mov si, msg_failed
        call puts
        mov al, 1
        out EXIT, al
        hlt

; write AL to the host bridge's PAM0 register (PCI 00:00.0, 0x59)
pam0:   push dx
        push ax
        mov dx, 0xcf8
        mov eax, 0x80000058
        out dx, eax
        pop ax
        mov dx, 0xcfd
        out dx, al
        pop dx
        ret

; "ok" if ZF is set, else "FAILED" (and remember the failure)
okfail: jz .ok
        mov byte [ss:fail], 1
        mov si, msg_bad
        jmp puts
.ok:    mov si, msg_ok
        jmp puts

; EAX = next 4 fw_cfg data bytes, little-endian (DX = 0x511)
fw_u32: push cx
        mov cx, 4
.b:     in al, dx
        ror eax, 8
        loop .b
        pop cx
        ret

putc:   out DEBUGCON, al
        ret

; print the NUL-terminated string at DS:SI
puts:   push ax
.l:     lodsb
        or al, al
        jz .e
        call putc
        jmp .l
.e:     pop ax
        ret

newline:
        push ax
        mov al, 10
        call putc
        pop ax
        ret

hex16:  push ax
        mov al, ah
        call hex8
        pop ax
hex8:   push ax
        shr al, 4
        call hex4
        pop ax
hex4:   push ax
        and al, 0xf
        add al, '0'
        cmp al, '9'
        jbe .d
        add al, 'a' - '9' - 1
.d:     call putc
        pop ax
        ret

; AX in decimal
dec16:  push ax
        push bx
        push cx
        push dx
        mov bx, 10
        xor cx, cx
.div:   xor dx, dx
        div bx
        push dx
        inc cx
        or ax, ax
        jnz .div
.out:   pop ax
        add al, '0'
        call putc
        loop .out
        pop dx
        pop cx
        pop bx
        pop ax
        ret

msg_where:    db "biosrom: running at ", 0
msg_reset:    db " (reset vector CS=", 0
msg_close:    db ")", 10, 0
msg_family:   db "biosrom: CPU family at reset ", 0
msg_readback: db "biosrom: debugcon port reads ", 0
msg_fwreset:  db "biosrom: fw_cfg first byte before any select: ", 0
msg_sig:      db "biosrom: fw_cfg signature ", 0
msg_ram:      db "biosrom: fw_cfg RAM size ", 0
msg_mib:      db " MiB", 10, 0
msg_cmos:     db "biosrom: CMOS RAM above 16 MiB ", 0
msg_cmos2:    db " x 64 KiB", 10, 0
msg_pci:      db "biosrom: PCI 00:00.0 ", 0
msg_alias:    db "biosrom: ROM at 0xF0000 is the ROM at 0xFFFF0000: ", 0
msg_wp:       db "biosrom: ROM writes ignored: ", 0
msg_pam:      db "biosrom: PAM shadow RAM: written ", 0
msg_pam2:     db ", write-protected ", 0
msg_pam3:     db ", ROM again ", 0
msg_pamok:    db "biosrom: BIOS shadowing through PAM: ", 0
msg_ok:       db "ok", 10, 0
msg_bad:      db "FAILED", 10, 0
msg_done:     db "biosrom: done", 10, 0
msg_failed:   db "biosrom: some checks failed", 10, 0
marker:       db 0xa5

        align 8
gdt:    dq 0
        ; 0x08: 16-bit code, base 0xF0000, limit 0xFFFF
        dw 0xffff, 0x0000
        db 0x0f, 0x9b, 0x00, 0x00
        ; 0x10: 16-bit data, base 0, limit 4 GiB (page granular)
        dw 0xffff, 0x0000
        db 0x00, 0x93, 0x8f, 0x00
        ; 0x18: 16-bit code, base 0xFFFF0000 (the top copy), limit 0xFFFF
        dw 0xffff, 0x0000
        db 0xff, 0x9b, 0x00, 0xff
gdt_end:
gdt_ptr:
        dw gdt_end - gdt - 1
        dd 0xf0000 + gdt

fail    equ 0x0500               ; a RAM byte far below the stack (SS = 0)

        times 0xfff0 - ($ - $$) db 0xff
reset:  mov bx, cs               ; F000:FFF0, the first instruction after RESET
        jmp 0xf000:start
        times 0x10000 - ($ - $$) db 0xff
