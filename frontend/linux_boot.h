/* Booting a Linux bzImage with the x86 32-bit boot protocol
 * (Documentation/arch/x86/boot.rst): the boot loader, not the kernel's
 * real-mode setup code, fills the "zero page" (struct boot_params: the setup
 * header copied from the image, the E820 map, the command line and initrd
 * pointers, the text-mode screen) and enters the protected-mode kernel at
 * code32_start with flat segments and ESI pointing at the zero page.
 *
 * Guest low memory written by the loader:
 *   0x08000  GDT: 0x10 flat 32-bit code, 0x18 flat data (the protocol's
 *            __BOOT_CS / __BOOT_DS)
 *   0x10000  boot_params (4 KiB)
 *   0x20000  kernel command line (up to the header's cmdline_size)
 * The protected-mode kernel goes at 1 MiB, the initrd at the top of low
 * memory. */
#ifndef BT86_FRONTEND_LINUX_BOOT_H
#define BT86_FRONTEND_LINUX_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;
struct vcpu;

#define LB_GDT_ADDR      0x8000u
#define LB_PARAMS_ADDR   0x10000u
#define LB_CMDLINE_ADDR  0x20000u
#define LB_CMDLINE_MAX   0x10000u
#define LB_KERNEL_ADDR   0x100000u
#define LB_BOOT_CS       0x10u
#define LB_BOOT_DS       0x18u
/* The lowest boot protocol bt86 loads: 2.06 has cmdline_size and a 32-bit
 * entry every kernel since 2.6.22 honours. */
#define LB_MIN_VERSION   0x0206u

/* True if the image carries the bzImage setup header ("HdrS"). */
bool linux_is_bzimage(const uint8_t *img, size_t len);

struct linux_boot {
    uint32_t entry;    /* code32_start */
    uint32_t params;   /* zero page address (ESI) */
};

/* Load a bzImage held in host memory, its initrd (may be NULL/0) and command
 * line into m's RAM and fill the zero page. 0, or -1 with a message. */
int linux_load_image(struct machine *m, const uint8_t *img, size_t len, const char *name,
                     const uint8_t *initrd, size_t initrd_len, const char *cmdline,
                     struct linux_boot *out, char *err, size_t errlen);

/* Read the files and load them (initrd may be NULL). 0, or -1 with a message. */
int linux_load(struct machine *m, const char *kernel, const char *append, const char *initrd,
               struct linux_boot *out, char *err, size_t errlen);

/* Write the boot GDT and set v to the protocol's 32-bit entry state. */
void linux_enter(struct machine *m, struct vcpu *v, const struct linux_boot *b);

#endif
