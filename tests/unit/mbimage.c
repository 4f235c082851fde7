/* Test helper implementation (mbimage.h). */
#include "mbimage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mbimage_put32(struct mbimage *im, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++) im->b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

uint32_t mbimage_get32(const struct mbimage *im, size_t off)
{
    return (uint32_t)im->b[off] | (uint32_t)im->b[off + 1] << 8 | (uint32_t)im->b[off + 2] << 16 |
           (uint32_t)im->b[off + 3] << 24;
}

static void put16(struct mbimage *im, size_t off, uint16_t v)
{
    im->b[off] = (uint8_t)v;
    im->b[off + 1] = (uint8_t)(v >> 8);
}

void mbimage_fix_checksum(struct mbimage *im)
{
    uint32_t magic = mbimage_get32(im, MBI_HDR_OFF), flags = mbimage_get32(im, MBI_HDR_OFF + 4);
    mbimage_put32(im, MBI_HDR_OFF + 8, (uint32_t)-(magic + flags));
}

void mbimage_elf(struct mbimage *im, const uint8_t *code, size_t code_len, uint32_t memsz)
{
    memset(im, 0, sizeof(*im));
    im->len = MBI_FILE_SIZE;
    uint8_t *b = im->b;
    b[0] = 0x7f; b[1] = 'E'; b[2] = 'L'; b[3] = 'F';
    b[4] = 1; /* ELFCLASS32 */
    b[5] = 1; /* little-endian */
    b[6] = 1; /* EV_CURRENT */
    put16(im, 16, 2);   /* ET_EXEC */
    put16(im, 18, 3);   /* EM_386 */
    mbimage_put32(im, 20, 1);
    mbimage_put32(im, 24, MBI_LOAD_ADDR + MBI_CODE_OFF); /* e_entry */
    mbimage_put32(im, 28, MBI_PH_OFF);                   /* e_phoff */
    put16(im, 40, 52);  /* e_ehsize */
    put16(im, 42, 32);  /* e_phentsize */
    put16(im, 44, 1);   /* e_phnum */
    mbimage_put32(im, MBI_PH_OFF + 0, 1);                /* PT_LOAD */
    mbimage_put32(im, MBI_PH_OFFSET, 0);
    mbimage_put32(im, MBI_PH_OFF + 8, MBI_LOAD_ADDR);    /* p_vaddr */
    mbimage_put32(im, MBI_PH_PADDR, MBI_LOAD_ADDR);
    mbimage_put32(im, MBI_PH_FILESZ, MBI_FILE_SIZE);
    mbimage_put32(im, MBI_PH_MEMSZ, memsz < MBI_FILE_SIZE ? MBI_FILE_SIZE : memsz);
    mbimage_put32(im, MBI_PH_OFF + 24, 7);               /* RWX */
    mbimage_put32(im, MBI_HDR_OFF, 0x1BADB002u);
    mbimage_put32(im, MBI_HDR_OFF + 4, 0x00000003u);     /* page-align modules, memory info */
    mbimage_fix_checksum(im);
    if (code_len > MBI_FILE_SIZE - MBI_CODE_OFF) code_len = MBI_FILE_SIZE - MBI_CODE_OFF;
    if (code) memcpy(b + MBI_CODE_OFF, code, code_len);
}

void mbimage_aout(struct mbimage *im, uint32_t load_addr, uint32_t bss_end)
{
    memset(im, 0, sizeof(*im));
    im->len = MBI_FILE_SIZE;
    mbimage_put32(im, MBI_HDR_OFF, 0x1BADB002u);
    mbimage_put32(im, MBI_HDR_OFF + 4, 0x00010000u);
    mbimage_fix_checksum(im);
    mbimage_put32(im, MBI_HDR_OFF + 12, load_addr + MBI_HDR_OFF); /* header_addr */
    mbimage_put32(im, MBI_HDR_OFF + 16, load_addr);               /* load_addr */
    mbimage_put32(im, MBI_HDR_OFF + 20, 0);                       /* load_end_addr: whole file */
    mbimage_put32(im, MBI_HDR_OFF + 24, bss_end);
    mbimage_put32(im, MBI_HDR_OFF + 28, load_addr + MBI_CODE_OFF); /* entry_addr */
    for (unsigned i = MBI_CODE_OFF; i < MBI_FILE_SIZE; i++) im->b[i] = (uint8_t)i;
}

char *mbimage_write_temp(const void *data, size_t len)
{
    char *path = strdup("/tmp/bt86-test-XXXXXX");
    if (!path) return NULL;
    int fd = mkstemp(path);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    if (write(fd, data, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        free(path);
        return NULL;
    }
    close(fd);
    return path;
}
