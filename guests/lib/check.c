/* Check lines for self-testing guests, one per check, TAP-like:
 *   ok N - description
 *   not ok N - description (got X, want Y)
 * check_finish() prints "1..N" and a summary comment and returns the exit
 * code the guest should leave with (0 all passed, 1 otherwise). */
#include "rt.h"

static unsigned n_checks;
static unsigned n_failed;

int check_u32(uint32_t got, uint32_t want, const char *desc)
{
    n_checks++;
    if (got == want) {
        printf("ok %u - %s\n", n_checks, desc);
        return 1;
    }
    n_failed++;
    printf("not ok %u - %s (got 0x%08x, want 0x%08x)\n", n_checks, desc, got, want);
    return 0;
}

int check_u64(uint64_t got, uint64_t want, const char *desc)
{
    n_checks++;
    if (got == want) {
        printf("ok %u - %s\n", n_checks, desc);
        return 1;
    }
    n_failed++;
    printf("not ok %u - %s (got 0x%016llx, want 0x%016llx)\n", n_checks, desc,
           (unsigned long long)got, (unsigned long long)want);
    return 0;
}

int check_true(int cond, const char *desc)
{
    n_checks++;
    if (cond) {
        printf("ok %u - %s\n", n_checks, desc);
        return 1;
    }
    n_failed++;
    printf("not ok %u - %s (got false, want true)\n", n_checks, desc);
    return 0;
}

int check_finish(void)
{
    printf("1..%u\n", n_checks);
    if (n_failed)
        printf("# FAIL: %u of %u checks failed\n", n_failed, n_checks);
    else
        printf("# PASS: all %u checks passed\n", n_checks);
    return n_failed ? 1 : 0;
}
