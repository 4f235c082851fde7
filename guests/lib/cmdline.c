/* Reading options from the Multiboot command line. Loaders differ in what
 * comes first (QEMU passes "<kernel path> <-append text>"), so options are
 * found as whitespace-separated words anywhere in the line. */
#include "rt.h"

static const char *cmdline(const struct mb_info *info)
{
    if (!info || !(info->flags & MB_INFO_CMDLINE) || !info->cmdline)
        return NULL;
    return (const char *)(uintptr_t)info->cmdline;
}

/* Returns a pointer just past "word" if it starts a word in s, else NULL. */
static const char *find_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = s; *p; p++) {
        if ((p == s || p[-1] == ' ') && strncmp(p, word, n) == 0)
            return p + n;
    }
    return NULL;
}

uint32_t cmdline_uint(const struct mb_info *info, const char *key, uint32_t dflt)
{
    const char *s = cmdline(info);
    char pat[32];
    size_t k = strlen(key);
    if (!s || k + 2 > sizeof pat)
        return dflt;
    memcpy(pat, key, k);
    pat[k] = '=';
    pat[k + 1] = '\0';
    const char *v = find_word(s, pat);
    if (!v || *v < '0' || *v > '9')
        return dflt;
    uint32_t n = 0;
    while (*v >= '0' && *v <= '9')
        n = n * 10 + (uint32_t)(*v++ - '0');
    return n;
}

int cmdline_has(const struct mb_info *info, const char *word)
{
    const char *s = cmdline(info);
    if (!s)
        return 0;
    const char *e = find_word(s, word);
    return e && (*e == '\0' || *e == ' ');
}
