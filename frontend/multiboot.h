/* Booting a Multiboot v1 kernel the way a Multiboot boot loader (and QEMU's
 * -kernel) does: find the header, load the image (ELF32, or the a.out-kludge
 * addresses of header flag 16), load the modules page-aligned above it, build
 * the Multiboot information in low memory, and put the vCPU in the entry state
 * the specification defines.
 *
 * Guest low memory written by the loader (the kernel may not load below
 * MB_RESERVED_END):
 *   0x00400  BIOS data area: COM1 base, EBDA segment, base memory size
 *   0x08000  GDT: 0x08 flat 32-bit code, 0x10 flat data (ring 0)
 *   0x09000  multiboot_info
 *   0x09100  memory map (E820-style)
 *   0x09200  module list (up to MB_MAX_MODULES)
 *   0x09600  boot loader name "bt86"
 *   0x09700  command lines (kernel, then modules) up to 0x10000
 */
#ifndef BT86_FRONTEND_MULTIBOOT_H
#define BT86_FRONTEND_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

struct machine;
struct vcpu;

#define MB_HEADER_MAGIC     0x1BADB002u
#define MB_BOOT_MAGIC       0x2BADB002u
#define MB_SEARCH_BYTES     8192

#define MB_GDT_ADDR         0x8000u
#define MB_INFO_ADDR        0x9000u
#define MB_MMAP_ADDR        0x9100u
#define MB_MODS_ADDR        0x9200u
#define MB_MAX_MODULES      64
#define MB_NAME_ADDR        0x9600u
#define MB_STRINGS_ADDR     0x9700u
#define MB_RESERVED_END     0x10000u
#define MB_INITIAL_ESP      MB_GDT_ADDR /* not specified by Multiboot; below the GDT */

/* multiboot_info.flags bits */
#define MBI_MEM      0x001u
#define MBI_CMDLINE  0x004u
#define MBI_MODS     0x008u
#define MBI_MMAP     0x040u
#define MBI_LOADER   0x200u

/* Header flags bt86 understands: 0 page-align modules, 1 memory info,
 * 2 video mode (a preference; no framebuffer is provided), 16 a.out kludge. */
#define MBH_FLAGS_KNOWN 0x00010007u
#define MBH_AOUT_KLUDGE 0x00010000u

struct mb_module {
    const uint8_t *data;
    size_t len;
    const char *cmdline; /* the -initrd item: file name and arguments */
};

struct mb_boot {
    uint32_t entry;      /* physical entry point */
    uint32_t info;       /* multiboot_info address (EBX) */
    uint32_t kernel_end; /* one past the kernel's last byte */
};

/* Load a kernel image already in host memory, and its modules, into m's RAM.
 * cmdline is the whole kernel command line. 0, or -1 with a message. */
int multiboot_load_image(struct machine *m, const uint8_t *img, size_t len, const char *name,
                         const char *cmdline, const struct mb_module *mods, int nmods,
                         struct mb_boot *out, char *err, size_t errlen);

/* Read the kernel file and the -initrd list (NULL: none; "file args,file2" with
 * ",," for a literal comma), build the command line "<path> <append>" as QEMU
 * does, and load everything. 0, or -1 with a message. */
int multiboot_load(struct machine *m, const char *kernel, const char *append, const char *initrd,
                   struct mb_boot *out, char *err, size_t errlen);

/* Write the GDT and BIOS data area and set v to the Multiboot entry state:
 * EAX = 0x2BADB002, EBX = info, flat CS 0x08 / data 0x10, CR0 = PE|ET,
 * EFLAGS = 2 (IF=0), A20 enabled. */
void multiboot_enter(struct machine *m, struct vcpu *v, const struct mb_boot *b);

#endif
