/* Names and VT-x numbers of the exit reasons (cpu/exit_reason.h). */
#include "cpu/exit_reason.h"

static const int numbers[EXIT_COUNT] = {
#define X(name, num, text) num,
    EXIT_REASONS(X)
#undef X
};

static const char *const texts[EXIT_COUNT] = {
#define X(name, num, text) text,
    EXIT_REASONS(X)
#undef X
};

int exit_reason_number(enum exit_reason r)
{
    return (unsigned)r < EXIT_COUNT ? numbers[r] : -1;
}

const char *exit_reason_text(enum exit_reason r)
{
    return (unsigned)r < EXIT_COUNT ? texts[r] : "?";
}
