/* Test helper: builds small Multiboot v1 kernel images in memory (an ELF32
 * with one PT_LOAD segment, or an a.out-kludge image) and lets tests break
 * them in controlled ways. Used by test_multiboot.c and test_cli.c. */
#ifndef BT86_TESTS_MBIMAGE_H
#define BT86_TESTS_MBIMAGE_H

#include <stddef.h>
#include <stdint.h>

#define MBI_LOAD_ADDR   0x100000u /* p_paddr of the segment */
#define MBI_HDR_OFF     0x60u     /* Multiboot header: file offset */
#define MBI_CODE_OFF    0x80u     /* code: file offset (vaddr = LOAD_ADDR + 0x80) */
#define MBI_FILE_SIZE   0x100u

struct mbimage {
    uint8_t b[MBI_FILE_SIZE + 64];
    size_t len;
};

/* An ELF32 kernel: one PT_LOAD (file 0..len) at MBI_LOAD_ADDR with memsz
 * `memsz` (>= file size: the rest is BSS), entry at the code, which is
 * `code` (up to 0x80 bytes). */
void mbimage_elf(struct mbimage *im, const uint8_t *code, size_t code_len, uint32_t memsz);
/* An a.out-kludge (flag 16) raw image loaded at load_addr. */
void mbimage_aout(struct mbimage *im, uint32_t load_addr, uint32_t bss_end);

void mbimage_put32(struct mbimage *im, size_t off, uint32_t v);
uint32_t mbimage_get32(const struct mbimage *im, size_t off);
/* Recompute the header checksum after changing flags. */
void mbimage_fix_checksum(struct mbimage *im);

/* Offsets inside the ELF image. */
#define MBI_PH_OFF      52u
#define MBI_PH_PADDR    (MBI_PH_OFF + 12)
#define MBI_PH_FILESZ   (MBI_PH_OFF + 16)
#define MBI_PH_MEMSZ    (MBI_PH_OFF + 20)
#define MBI_PH_OFFSET   (MBI_PH_OFF + 4)

/* Write the image to a new temporary file; returns its malloc'ed path. */
char *mbimage_write_temp(const void *data, size_t len);

#endif
