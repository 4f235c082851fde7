/* Smoke test: the VMM callout table's libffi interfaces build. */
#include <criterion/criterion.h>

#include "cpu/vmm.h"

Test(vmm, callout_table_builds)
{
    cr_assert_eq(vmm_init(), 0);
    cr_assert_str_eq(vmm_callouts[VMM_cpuid].name, "cpuid");
    cr_assert_eq(vmm_callouts[VMM_cpuid].reason, EXIT_CPUID);
    cr_assert_eq(exit_reason_number(EXIT_CR_ACCESS), 28);
}
