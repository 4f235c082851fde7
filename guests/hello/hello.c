/* hello: the smallest bt86 guest. Greets over COM1, checks what the loader
 * handed over (Multiboot magic in EAX, memory size, command line) and exits 0.
 * The output holds no values that differ between loaders, so bt86 and QEMU
 * must print exactly the same bytes. */
#include "../lib/rt.h"

int guest_main(uint32_t magic, const struct mb_info *info)
{
    serial_init();
    printf("hello from bt86 guest\n");

    check_u32(magic, MB_BOOT_MAGIC, "EAX holds the Multiboot magic");
    check_true(info != NULL && (uintptr_t)info < 0x100000u + 0x4000000u,
               "EBX points at the Multiboot info");
    check_true(info && (info->flags & MB_INFO_MEM), "memory fields present");
    /* at least 1 MiB above 1 MiB, at most 4 GiB */
    check_true(info && info->mem_upper >= 1024 && info->mem_upper <= 4u * 1024 * 1024,
               "mem_upper plausible");
    check_true(info && info->mem_lower >= 64 && info->mem_lower <= 640, "mem_lower plausible");
    check_true(info && (info->flags & MB_INFO_CMDLINE) && info->cmdline != 0,
               "command line present");
    return check_finish();
}
