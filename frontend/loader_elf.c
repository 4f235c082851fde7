/* ELF32 loader (frontend/loader_elf.h). The file is untrusted: every offset and
 * size is checked in 64-bit arithmetic before it is used. */
#include "frontend/loader_elf.h"
#include "frontend/errfmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EI_CLASS 4
#define EI_DATA 5
#define ELFCLASS32 1
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_386 3
#define PT_LOAD 1
#define EHDR_SIZE 52
#define PHDR_SIZE 32


bool elf_has_magic(const uint8_t *img, size_t len)
{
    return len >= 4 && img[0] == 0x7f && img[1] == 'E' && img[2] == 'L' && img[3] == 'F';
}

struct phdr { uint32_t type, offset, vaddr, paddr, filesz, memsz; };

static struct phdr read_phdr(const uint8_t *p)
{
    return (struct phdr){ rd32le(p), rd32le(p + 4), rd32le(p + 8), rd32le(p + 12), rd32le(p + 16), rd32le(p + 20) };
}

int elf32_load(struct phys_mem *pm, const uint8_t *img, size_t len, const char *name,
               uint32_t resv_lo, uint32_t resv_hi, struct elf_load_result *out,
               char *err, size_t errlen)
{
    if (!elf_has_magic(img, len)) return errfmt(err, errlen, "%s: not an ELF file (bad magic)", name);
    if (len < EHDR_SIZE) return errfmt(err, errlen, "%s: truncated ELF header", name);
    if (img[EI_CLASS] != ELFCLASS32) return errfmt(err, errlen, "%s: not a 32-bit ELF file (ELF class %u)", name, img[EI_CLASS]);
    if (img[EI_DATA] != ELFDATA2LSB) return errfmt(err, errlen, "%s: not a little-endian ELF file", name);
    uint16_t type = rd16le(img + 16), machine = rd16le(img + 18);
    if (machine != EM_386) return errfmt(err, errlen, "%s: not an i386 ELF file (machine %u)", name, machine);
    if (type != ET_EXEC) return errfmt(err, errlen, "%s: not an ELF executable (type %u)", name, type);
    uint32_t entry = rd32le(img + 24), phoff = rd32le(img + 28);
    uint16_t phentsize = rd16le(img + 42), phnum = rd16le(img + 44);
    if (phnum == 0) return errfmt(err, errlen, "%s: ELF file has no program headers", name);
    if (phentsize != PHDR_SIZE) return errfmt(err, errlen, "%s: bad ELF program header size %u", name, phentsize);
    if ((uint64_t)phoff + (uint64_t)phnum * PHDR_SIZE > len)
        return errfmt(err, errlen, "%s: ELF program headers lie outside the file", name);

    /* Pass 1: check every loadable segment. */
    uint64_t low = UINT64_MAX, end = 0;
    int nload = 0;
    for (unsigned i = 0; i < phnum; i++) {
        struct phdr ph = read_phdr(img + phoff + (uint64_t)i * PHDR_SIZE);
        if (ph.type != PT_LOAD || ph.memsz == 0) continue;
        if ((uint64_t)ph.offset + ph.filesz > len)
            return errfmt(err, errlen, "%s: ELF segment %u (offset 0x%x, size 0x%x) lies outside the file", name, i, ph.offset, ph.filesz);
        if (ph.filesz > ph.memsz)
            return errfmt(err, errlen, "%s: ELF segment %u has a file size larger than its memory size", name, i);
        uint64_t lo = ph.paddr, hi = (uint64_t)ph.paddr + ph.memsz;
        if (hi > pm->ram_size)
            return errfmt(err, errlen, "%s: ELF segment %u (0x%x-0x%llx) lies outside guest RAM (%u MiB; see -m)",
                        name, i, ph.paddr, (unsigned long long)hi - 1, pm->ram_size >> 20);
        if (lo < resv_hi && hi > resv_lo)
            return errfmt(err, errlen, "%s: ELF segment %u (0x%x-0x%llx) overlaps the loader's area 0x%x-0x%x",
                        name, i, ph.paddr, (unsigned long long)hi - 1, resv_lo, resv_hi - 1);
        if (lo < low) low = lo;
        if (hi > end) end = hi;
        nload++;
    }
    if (nload == 0) return errfmt(err, errlen, "%s: ELF file has no loadable segments", name);

    /* Pass 2: copy and zero the BSS (phys_copy_in re-checks the bounds). */
    for (unsigned i = 0; i < phnum; i++) {
        struct phdr ph = read_phdr(img + phoff + (uint64_t)i * PHDR_SIZE);
        if (ph.type != PT_LOAD || ph.memsz == 0) continue;
        uint8_t *dst = phys_ram_span(pm, ph.paddr, ph.memsz);
        if (!dst) return errfmt(err, errlen, "%s: ELF segment %u lies outside guest RAM", name, i);
        memcpy(dst, img + ph.offset, ph.filesz);
        memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
    }
    /* A higher-half kernel's entry point is virtual: translate it. */
    bool translated = false;
    for (unsigned i = 0; i < phnum && !translated; i++) {
        struct phdr ph = read_phdr(img + phoff + (uint64_t)i * PHDR_SIZE);
        if (ph.type == PT_LOAD && ph.memsz && ph.vaddr != ph.paddr && entry >= ph.vaddr &&
            (uint64_t)entry < (uint64_t)ph.vaddr + ph.memsz) {
            entry = entry - ph.vaddr + ph.paddr;
            translated = true;
        }
    }
    out->entry = entry;
    out->low = (uint32_t)low;
    out->end = (uint32_t)end;
    return 0;
}
