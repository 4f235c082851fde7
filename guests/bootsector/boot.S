/* guests/bootsector/boot.S — a two-stage boot-sector guest for the IDE disks.
 *
 * Stage 1 is sector 0 of the boot disk: the BIOS (SeaBIOS under QEMU, bt86
 * itself without -kernel) loads it at 0000:7C00 and jumps to it in real mode
 * with DL = 0x80. It uses no BIOS service: it reads sectors 1..STAGE2_SECTORS
 * into 0x7E00 over the primary IDE channel (LBA28 PIO READ SECTORS, polling
 * the status register with nIEN set) and jumps there.
 *
 * Stage 2 checks the disks through the same ports and reports TAP-like lines
 * on COM1 ("ok N - what" / "not ok N - what", then "1..N" and a summary, as
 * guests/lib/check.c does): the boot drive number, IDENTIFY DEVICE on the
 * master (a "xxxx HARDDISK" model, its capacity) and on the slave (the data
 * disk), a two-sector write to the slave read back by LBA and by CHS, FLUSH
 * CACHE, and a write past the end of the data disk failing. It leaves through
 * QEMU's isa-debug-exit port 0xf4 with 0 (all passed) or 1.
 *
 * The model check accepts any vendor word ("BT86 HARDDISK", "QEMU HARDDISK")
 * so the serial output is the same under bt86 and QEMU.
 *
 * Built with GNU as and linked at 0x7C00 as a flat binary padded to
 * BOOT_SECTORS sectors (guests/bootsector/bootsector.mk). */
    .code16
    .text
    .globl _start

    .equ COM1, 0x3f8
    .equ IDE_BASE, 0x1f0          # primary channel command block
    .equ IDE_ALTST, 0x3f6         # alternate status / device control
    .equ ST_BSY, 0x80
    .equ ST_DRDY, 0x40
    .equ ST_DF, 0x20
    .equ ST_DRQ, 0x08
    .equ ST_ERR, 0x01
    .equ STAGE2_SECTORS, 8        # stage 2 may use up to 4 KiB
    .equ BOOT_SECTORS, 64         # the boot image: 32 KiB
    .equ DATA_SECTORS, 128        # the data image: 64 KiB (bootsector.mk)
    .equ BUF, 0x1000              # scratch buffers in free low memory
    .equ PATTERN, 0x1400

/* ======================= stage 1: sector 0 ======================= */
_start:
    cli
    ljmp $0, $start1              # CS:IP = 0000:7Cxx whatever the BIOS used
start1:
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7c00, %sp
    cld
    mov %dl, boot_drive
    call serial_init
    mov $0x02, %al                # nIEN: this guest polls, no IDE interrupts
    mov $IDE_ALTST, %dx
    out %al, %dx
    mov $0xe0, %cl                # primary master, LBA
    mov $1, %bx                   # from LBA 1
    mov $STAGE2_SECTORS, %al
    mov $0x20, %ah                # READ SECTORS
    call ide_issue
    mov $stage2, %di
    mov $STAGE2_SECTORS, %cx
    call ide_read_data
    jc load_failed
    jmp stage2
load_failed:
    mov $msg_load_failed, %si
    call puts
    mov $1, %al
    /* fall through */

/* Leave with exit code AL through the isa-debug-exit port. */
exit:
    out %al, $0xf4
1:  cli
    hlt
    jmp 1b

/* COM1: 115200 8N1, FIFOs on, no interrupts. */
serial_init:
    mov $COM1 + 1, %dx
    xor %al, %al
    out %al, %dx                  # IER = 0
    mov $COM1 + 3, %dx
    mov $0x80, %al
    out %al, %dx                  # DLAB
    mov $COM1, %dx
    mov $1, %al
    out %al, %dx                  # divisor 1
    mov $COM1 + 1, %dx
    xor %al, %al
    out %al, %dx
    mov $COM1 + 3, %dx
    mov $0x03, %al
    out %al, %dx                  # 8N1
    mov $COM1 + 4, %dx
    mov $0x0b, %al
    out %al, %dx                  # DTR RTS OUT2
    mov $COM1 + 2, %dx
    mov $0xc7, %al
    out %al, %dx                  # FIFOs
    ret

/* Send AL (waits for THRE). Preserves everything. */
putc:
    push %dx
    push %ax
    mov $COM1 + 5, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    pop %ax
    mov $COM1, %dx
    out %al, %dx
    pop %dx
    ret

/* Send the NUL-terminated string at SI; \n goes out as \r\n. Advances SI. */
puts:
    push %ax
1:  lodsb
    test %al, %al
    jz 2f
    cmp $'\n', %al
    jne 3f
    mov $'\r', %al
    call putc
    mov $'\n', %al
3:  call putc
    jmp 1b
2:  pop %ax
    ret

/* Four alternate-status reads: the 400 ns a host waits after selecting a
 * device or writing a command before the status is valid. */
ide_delay:
    push %ax
    push %dx
    mov $IDE_ALTST, %dx
    in %dx, %al
    in %dx, %al
    in %dx, %al
    in %dx, %al
    pop %dx
    pop %ax
    ret

/* Wait until BSY clears (or a long timeout); AL = status. Clobbers DX. */
ide_wait:
    push %ecx
    mov $0x1000000, %ecx
    mov $IDE_BASE + 7, %dx
1:  in %dx, %al
    test $ST_BSY, %al
    jz 2f
    dec %ecx
    jnz 1b
2:  pop %ecx
    ret

/* Issue command AH on the primary channel: CL = device/head register (0xE0
 * master LBA, 0xF0 slave LBA, 0xA0/0xB0 + head for CHS), BL = LBA bits 0-7
 * (CHS: sector), BH = LBA bits 8-15 (CHS: cylinder low), AL = sector count.
 * The high LBA byte / cylinder high is 0: these disks are small. */
ide_issue:
    push %ax
    mov $IDE_BASE + 6, %dx
    mov %cl, %al
    out %al, %dx
    call ide_delay
    call ide_wait
    pop %ax
    mov $IDE_BASE + 2, %dx
    out %al, %dx                  # sector count
    inc %dx
    mov %bl, %al
    out %al, %dx                  # LBA 0-7 / sector
    inc %dx
    mov %bh, %al
    out %al, %dx                  # LBA 8-15 / cylinder low
    inc %dx
    xor %al, %al
    out %al, %dx                  # LBA 16-23 / cylinder high
    mov $IDE_BASE + 7, %dx
    mov %ah, %al
    out %al, %dx                  # command
    call ide_delay
    ret

/* Read CX sectors of a data-in command into ES:DI. CF = 1 on ERR or no DRQ. */
ide_read_data:
    push %cx
1:  call ide_wait
    test $ST_ERR, %al
    jnz 9f
    test $ST_DRQ, %al
    jz 9f
    push %cx
    mov $256, %cx
    mov $IDE_BASE, %dx
    rep insw
    pop %cx
    loop 1b
    pop %cx
    clc
    ret
9:  pop %cx
    stc
    ret

msg_load_failed:
    .asciz "not ok 1 - stage 1 could not read stage 2 from the boot disk\n"
boot_drive:
    .byte 0

    .org 510
    .word 0xaa55

/* ======================= stage 2: sectors 1.. ======================= */
stage2:
    mov $1, %al
    mov $d_loaded, %si
    call report

    cmpb $0x80, boot_drive
    sete %al
    mov $d_drive, %si
    call report

    /* IDENTIFY DEVICE on the boot disk (primary master). */
    mov $0xa0, %cl
    xor %bx, %bx
    xor %al, %al
    mov $0xec, %ah
    call ide_issue
    mov $BUF, %di
    mov $1, %cx
    call ide_read_data
    setnc %al
    mov $d_ident0, %si
    call report
    call check_model
    mov $d_model, %si
    call report
    cmpl $BOOT_SECTORS, BUF + 120 # words 60-61: LBA28 capacity
    sete %al
    mov $d_cap0, %si
    call report

    /* IDENTIFY DEVICE on the data disk (primary slave). */
    movl $0, BUF + 120
    mov $0xb0, %cl
    xor %bx, %bx
    xor %al, %al
    mov $0xec, %ah
    call ide_issue
    mov $BUF, %di
    mov $1, %cx
    call ide_read_data
    setnc %al
    jc 1f
    cmpl $DATA_SECTORS, BUF + 120
    sete %al
1:  mov $d_cap1, %si
    call report

    /* Two sectors at LBA 5 of the data disk: write a pattern, read it back. */
    mov $PATTERN, %di
    xor %cx, %cx
1:  mov %cl, %al
    mul %cl                       # AX = i*i (low byte varies non-linearly)
    add %cl, %al
    xor $0x5a, %al
    stosb
    inc %cx
    cmp $1024, %cx
    jne 1b
    mov $d_pattern_tag, %si       # a readable tag at the start of each sector
    mov $PATTERN, %di
    call copy_tag
    mov $d_pattern_tag, %si
    mov $PATTERN + 512, %di
    call copy_tag

    mov $0xf0, %cl
    mov $5, %bx
    mov $2, %al
    mov $0x30, %ah                # WRITE SECTORS
    call ide_issue
    mov $PATTERN, %si
    mov $2, %cx
    call ide_write_data
    setnc %al
    mov $d_write, %si
    call report

    call clear_buf
    mov $0xf0, %cl
    mov $5, %bx
    mov $2, %al
    mov $0x20, %ah
    call ide_issue
    mov $BUF, %di
    mov $2, %cx
    call ide_read_data
    mov $0, %al
    jc 1f
    mov $BUF, %di
    mov $PATTERN, %si
    mov $512, %cx
    repe cmpsw
    sete %al
1:  mov $d_readback, %si
    call report

    /* The second sector again, addressed as CHS 0/0/7 (LBA 6). */
    call clear_buf
    mov $0xb0, %cl                # slave, CHS, head 0
    mov $0x0007, %bx              # cylinder 0, sector 7
    mov $1, %al
    mov $0x20, %ah
    call ide_issue
    mov $BUF, %di
    mov $1, %cx
    call ide_read_data
    mov $0, %al
    jc 1f
    mov $BUF, %di
    mov $PATTERN + 512, %si
    mov $256, %cx
    repe cmpsw
    sete %al
1:  mov $d_chs, %si
    call report

    /* FLUSH CACHE on the data disk. */
    mov $0xf0, %cl
    xor %bx, %bx
    xor %al, %al
    mov $0xe7, %ah
    call ide_issue
    call ide_wait
    and $(ST_BSY | ST_DRDY | ST_DF | ST_DRQ | ST_ERR), %al
    cmp $ST_DRDY, %al
    sete %al
    mov $d_flush, %si
    call report

    /* A write past the end of the data disk must fail (and change nothing). */
    mov $0xf0, %cl
    mov $DATA_SECTORS, %bx
    mov $1, %al
    mov $0x30, %ah
    call ide_issue
    mov $PATTERN, %si
    mov $1, %cx
    call ide_write_data
    setc %al
    mov $d_past_end, %si
    call report

    /* Summary, as guests/lib/check.c prints it. */
    mov $s_plan, %si
    call puts
    mov n_checks, %ax
    call putdec
    mov $s_nl, %si
    call puts
    cmpw $0, n_failed
    jne 1f
    mov $s_pass1, %si
    call puts
    mov n_checks, %ax
    call putdec
    mov $s_pass2, %si
    call puts
    xor %al, %al
    jmp exit
1:  mov $s_fail1, %si
    call puts
    mov n_failed, %ax
    call putdec
    mov $s_fail2, %si
    call puts
    mov n_checks, %ax
    call putdec
    mov $s_fail3, %si
    call puts
    mov $1, %al
    jmp exit

/* Write CX sectors from DS:SI with a data-out command. CF = 1 if the device
 * reported an error (before or after the data) or never asked for data. */
ide_write_data:
    push %cx
1:  call ide_wait
    test $ST_ERR, %al
    jnz 9f
    test $ST_DRQ, %al
    jz 9f
    push %cx
    mov $256, %cx
    mov $IDE_BASE, %dx
    rep outsw
    pop %cx
    call ide_delay
    loop 1b
    call ide_wait                 # the last block is on the disk when BSY clears
    test $(ST_ERR | ST_DF), %al
    jnz 9f
    pop %cx
    clc
    ret
9:  pop %cx
    stc
    ret

/* Zero the 1 KiB at BUF. */
clear_buf:
    mov $BUF, %di
    mov $512, %cx
    xor %ax, %ax
    rep stosw
    ret

/* Copy the NUL-terminated string at SI to DI (without the NUL). */
copy_tag:
1:  lodsb
    test %al, %al
    jz 2f
    stosb
    jmp 1b
2:  ret

/* AL = 1 on the model "xxxx HARDDISK" (padded with spaces) in the IDENTIFY
 * block at BUF (words 27-46, two characters per word, high byte first). */
check_model:
    mov $BUF + 54, %si
    mov $model_want, %di
    mov $20, %cx
1:  lodsw
    xchg %al, %ah                 # first character of the pair
    cmp $19, %cx                  # skip the 4-character vendor: words 27-28
    jae 2f
    cmp (%di), %ax
    jne 8f
2:  add $2, %di
    loop 1b
    mov $1, %al
    ret
8:  xor %al, %al
    ret

/* Print AX in decimal. */
putdec:
    push %bx
    push %cx
    push %dx
    mov $10, %bx
    xor %cx, %cx
1:  xor %dx, %dx
    div %bx
    push %dx
    inc %cx
    test %ax, %ax
    jnz 1b
2:  pop %ax
    add $'0', %al
    call putc
    loop 2b
    pop %dx
    pop %cx
    pop %bx
    ret

/* One check line: AL = 1 pass / 0 fail, SI = description (ends with \n). */
report:
    incw n_checks
    push %si
    test %al, %al
    jnz 1f
    incw n_failed
    mov $s_not, %si
    call puts
1:  mov $s_ok, %si
    call puts
    mov n_checks, %ax
    call putdec
    mov $s_dash, %si
    call puts
    pop %si
    call puts
    ret

n_checks: .word 0
n_failed: .word 0
/* The model as the characters pair up in memory after the byte swap: words
 * 27-28 (vendor) are skipped, the rest must be " HARDDISK" then spaces. */
model_want:
    .ascii "????"
    .ascii " HARDDISK"
    .fill 40 - 13, 1, ' '
    .byte 0
d_loaded:      .asciz "stage 2 loaded from the boot disk over IDE\n"
d_drive:       .asciz "boot drive in DL is 0x80\n"
d_ident0:      .asciz "IDENTIFY DEVICE on the boot disk\n"
d_model:       .asciz "model is a HARDDISK\n"
d_cap0:        .asciz "boot disk capacity is 64 sectors\n"
d_cap1:        .asciz "IDENTIFY DEVICE on the data disk: 128 sectors\n"
d_write:       .asciz "WRITE SECTORS: 2 sectors at LBA 5 of the data disk\n"
d_readback:    .asciz "READ SECTORS by LBA returns what was written\n"
d_chs:         .asciz "READ SECTORS by CHS 0/0/7 returns LBA 6\n"
d_flush:       .asciz "FLUSH CACHE completes without error\n"
d_past_end:    .asciz "a write past the end of the data disk fails\n"
d_pattern_tag: .asciz "bt86 bootsector guest data\n"
s_not:   .asciz "not "
s_ok:    .asciz "ok "
s_dash:  .asciz " - "
s_plan:  .asciz "1.."
s_nl:    .asciz "\n"
s_pass1: .asciz "# PASS: all "
s_pass2: .asciz " checks passed\n"
s_fail1: .asciz "# FAIL: "
s_fail2: .asciz " of "
s_fail3: .asciz " checks failed\n"

    .org 512 + STAGE2_SECTORS * 512   # fails to assemble if stage 2 outgrew its sectors
    .org BOOT_SECTORS * 512           # pad the image to its full size
