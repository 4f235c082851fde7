/* mbmods: what a Multiboot loader hands over besides memory: the kernel's
 * command line (its path, then -append, as QEMU passes it) and the modules
 * of `-initrd "a args,b"`, each with its own command line. Prints each
 * module's command line (path shortened to its file name, since the test's
 * files live in a temporary directory), size and FNV-1a hash, and checks
 * they are page aligned, above the kernel, inside RAM and do not overlap. */
#include "../lib/rt.h"

extern char __bss_end[]; /* the end of the kernel image (guests/lib/guest.ld) */

struct mb_module { uint32_t start, end, cmdline, pad; };

/* "dir/name rest" -> "name rest" */
static const char *short_path(const char *s)
{
    const char *base = s;
    for (const char *p = s; *p && *p != ' '; p++)
        if (*p == '/') base = p + 1;
    return base;
}

static uint32_t fnv1a(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    serial_init();
    printf("mbmods guest\n");
    check_u32(magic, MB_BOOT_MAGIC, "EAX holds the Multiboot magic");
    check_true((info->flags & MB_INFO_CMDLINE) != 0, "command line present");
    printf("cmdline: %s\n", short_path((const char *)(uintptr_t)info->cmdline));
    check_true((info->flags & (1u << 3)) != 0, "module fields present");
    printf("modules: %u\n", info->mods_count);
    const struct mb_module *m = (const struct mb_module *)(uintptr_t)info->mods_addr;
    uint32_t ram_end = 0x100000u + info->mem_upper * 1024u;
    uint32_t prev_end = (uint32_t)(uintptr_t)__bss_end;
    for (uint32_t i = 0; i < info->mods_count && i < 16; i++) {
        uint32_t size = m[i].end - m[i].start;
        printf("module %u: '%s' size %u fnv1a 0x%08x\n", i, short_path((const char *)(uintptr_t)m[i].cmdline), size,
               fnv1a((const uint8_t *)(uintptr_t)m[i].start, size));
        check_true((m[i].start & 0xfff) == 0, "module page aligned");
        check_true(m[i].start >= prev_end, "module above the kernel and the previous module");
        check_true(m[i].end <= ram_end && m[i].end >= m[i].start, "module inside RAM");
        prev_end = m[i].end;
    }
    return check_finish();
}
