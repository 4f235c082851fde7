/* -drive / -hdX parsing (see drive_opt.h). */
#include "frontend/drive_opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy the next ",,"-escaped field of *p (up to an unescaped comma) into
 * out; advance *p past it. False if it does not fit. */
static bool next_field(const char **p, char *out, size_t outlen)
{
    size_t n = 0;
    const char *s = *p;
    while (*s) {
        if (*s == ',') {
            if (s[1] != ',') break;
            s++; /* ",," is a literal comma */
        }
        if (n + 1 >= outlen) return false;
        out[n++] = *s++;
    }
    out[n] = '\0';
    if (*s == ',') s++;
    *p = s;
    return true;
}

static int parse_bool(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
    if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) *out = true;
    else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) *out = false;
    else {
        snprintf(err, errlen, "-drive: %s=%s: expected on or off", key, v);
        return -1;
    }
    return 0;
}

static int parse_small(const char *key, const char *v, int max, int *out, char *err, size_t errlen)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < 0 || x > max) {
        snprintf(err, errlen, "-drive: %s=%s: expected 0 to %d", key, v, max);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int drive_parse(const char *arg, struct drive_opt *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->index = -1;
    int bus = -1, unit = -1;
    bool have_file = false;
    char field[DRIVE_PATH_MAX + 64];
    const char *p = arg;
    while (*p) {
        if (!next_field(&p, field, sizeof(field))) {
            snprintf(err, errlen, "-drive: parameter too long");
            return -1;
        }
        if (!field[0]) continue;
        char *eq = strchr(field, '=');
        if (!eq) {
            snprintf(err, errlen, "-drive: '%s' is not key=value", field);
            return -1;
        }
        *eq = '\0';
        const char *k = field, *v = eq + 1;
        if (!strcmp(k, "file")) {
            if (!*v || strlen(v) >= DRIVE_PATH_MAX) {
                snprintf(err, errlen, "-drive: file= is %s", *v ? "too long" : "empty");
                return -1;
            }
            snprintf(out->file, sizeof(out->file), "%s", v);
            have_file = true;
        } else if (!strcmp(k, "index")) {
            if (parse_small(k, v, DRIVE_MAX - 1, &out->index, err, errlen)) return -1;
        } else if (!strcmp(k, "bus")) {
            if (parse_small(k, v, 1, &bus, err, errlen)) return -1;
        } else if (!strcmp(k, "unit")) {
            if (parse_small(k, v, 1, &unit, err, errlen)) return -1;
        } else if (!strcmp(k, "format")) {
            if (strcmp(v, "raw")) {
                snprintf(err, errlen, "-drive: format=%s: only raw images are supported", v);
                return -1;
            }
        } else if (!strcmp(k, "if")) {
            if (strcmp(v, "ide")) {
                snprintf(err, errlen, "-drive: if=%s: only IDE disks are supported", v);
                return -1;
            }
        } else if (!strcmp(k, "media")) {
            if (strcmp(v, "disk")) {
                snprintf(err, errlen, "-drive: media=%s: only disks are supported", v);
                return -1;
            }
        } else if (!strcmp(k, "snapshot")) {
            if (parse_bool(k, v, &out->snapshot, err, errlen)) return -1;
        } else if (!strcmp(k, "readonly")) {
            if (parse_bool(k, v, &out->readonly, err, errlen)) return -1;
        } else if (!strcmp(k, "cache")) {
            static const char *const modes[] = { "writeback", "writethrough", "none", "directsync", "unsafe" };
            bool ok = false;
            for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) ok |= !strcmp(v, modes[i]);
            if (!ok) {
                snprintf(err, errlen, "-drive: cache=%s: unknown cache mode", v);
                return -1;
            }
        } else if (!strcmp(k, "id")) {
            /* a name for the drive: nothing refers to it in bt86 */
        } else {
            snprintf(err, errlen, "-drive: unknown parameter '%s'", k);
            return -1;
        }
    }
    if (!have_file) {
        snprintf(err, errlen, "-drive: file= is required");
        return -1;
    }
    if (bus >= 0 || unit >= 0) {
        if (out->index >= 0) {
            snprintf(err, errlen, "-drive: index cannot be used with bus and unit");
            return -1;
        }
        out->index = (bus < 0 ? 0 : bus) * 2 + (unit < 0 ? 0 : unit);
    }
    return 0;
}

int drive_add(struct drive_set *s, const char *arg, char *err, size_t errlen)
{
    if (s->n >= DRIVE_MAX) {
        snprintf(err, errlen, "too many disks (at most %d IDE disks)", DRIVE_MAX);
        return -1;
    }
    if (drive_parse(arg, &s->d[s->n], err, errlen)) return -1;
    s->n++;
    return 0;
}

int drive_add_hd(struct drive_set *s, int index, const char *path, char *err, size_t errlen)
{
    static const char *const names[DRIVE_MAX] = { "-hda", "-hdb", "-hdc", "-hdd" };
    if (index < 0 || index >= DRIVE_MAX) {
        snprintf(err, errlen, "no such disk position %d", index);
        return -1;
    }
    if (!path || !*path) {
        snprintf(err, errlen, "%s: empty file name", names[index]);
        return -1;
    }
    if (s->n >= DRIVE_MAX) {
        snprintf(err, errlen, "too many disks (at most %d IDE disks)", DRIVE_MAX);
        return -1;
    }
    if (strlen(path) >= DRIVE_PATH_MAX) {
        snprintf(err, errlen, "%s: file name too long", names[index]);
        return -1;
    }
    struct drive_opt *d = &s->d[s->n++];
    memset(d, 0, sizeof(*d));
    snprintf(d->file, sizeof(d->file), "%s", path);
    d->index = index;
    return 0;
}

int drive_set_finish(struct drive_set *s, char *err, size_t errlen)
{
    bool used[DRIVE_MAX] = { false };
    for (int i = 0; i < s->n; i++) {
        int x = s->d[i].index;
        if (x < 0) continue;
        if (used[x]) {
            snprintf(err, errlen, "two disks at index=%d (bus=%d, unit=%d)", x, x / 2, x % 2);
            return -1;
        }
        used[x] = true;
    }
    for (int i = 0; i < s->n; i++) {
        if (s->d[i].index >= 0) continue;
        int x = 0;
        while (x < DRIVE_MAX && used[x]) x++;
        if (x == DRIVE_MAX) {
            snprintf(err, errlen, "too many disks (at most %d IDE disks)", DRIVE_MAX);
            return -1;
        }
        s->d[i].index = x;
        used[x] = true;
    }
    return 0;
}

const struct drive_opt *drive_set_boot(const struct drive_set *s)
{
    const struct drive_opt *best = NULL;
    for (int i = 0; i < s->n; i++)
        if (s->d[i].index >= 0 && (!best || s->d[i].index < best->index)) best = &s->d[i];
    return best;
}
