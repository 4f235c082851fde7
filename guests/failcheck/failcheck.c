/* failcheck: a guest that fails on purpose, to prove the failure path of the
 * check helpers and of the test runners: one check passes, two fail, and
 * the guest must leave with code 1 (status 3 from bt86 and QEMU). */
#include "../lib/rt.h"

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)info;
    serial_init();
    printf("failcheck: this guest fails on purpose\n");
    check_u32(magic, MB_BOOT_MAGIC, "a check that passes");
    volatile uint32_t two = 2;
    check_u32(two + two, 5, "a check that fails: 2+2 is not 5");
    check_u64((uint64_t)two << 40, 1, "a 64-bit check that fails");
    printf("printf: [%5d] [%-5d] [%05d] [%x] [%X] [%08x] [%c] [%s] [%u] [%lld] [%llu] [%%]\n",
           -42, 42, -42, 0xbeefu, 0xbeefu, 0x1234u, 'z', "str", 4000000000u,
           -5000000000ll, 18446744073709551615ull);
    return check_finish();
}
