/* QEMU's disk options, parsed (parsing only: no file is opened here).
 *
 *   -drive file=PATH[,index=N][,format=raw][,if=ide][,media=disk]
 *          [,bus=B,unit=U][,snapshot=on|off][,readonly=on|off][,cache=MODE][,id=NAME]
 *   -hda PATH  -hdb PATH  -hdc PATH  -hdd PATH   (index 0-3)
 *
 * index 0-3 is the IDE position: primary master, primary slave, secondary
 * master, secondary slave (= bus * 2 + unit). A drive without index or
 * bus/unit takes the next free position, in command-line order, as in QEMU.
 * As in QEMU's option syntax, ",," in a value stands for one comma.
 * format= other than raw, if= other than ide and media=cdrom are refused
 * with a message saying so; cache= is accepted and has no effect (writes
 * always reach the file; FLUSH CACHE and exit add fdatasync). */
#ifndef BT86_FRONTEND_DRIVE_OPT_H
#define BT86_FRONTEND_DRIVE_OPT_H

#include <stdbool.h>
#include <stddef.h>

#define DRIVE_MAX 4
#define DRIVE_PATH_MAX 4096

struct drive_opt {
    char file[DRIVE_PATH_MAX];
    int index;       /* 0-3, or -1 until drive_set_finish() assigns one */
    bool snapshot;   /* snapshot=on (the global -snapshot applies to every drive) */
    bool readonly;   /* readonly=on */
};

struct drive_set {
    struct drive_opt d[DRIVE_MAX];
    int n;
};

/* Parse one -drive argument. 0, or -1 with a one-line message in err. */
int drive_parse(const char *arg, struct drive_opt *out, char *err, size_t errlen);
/* Add a -drive argument / an -hdX path (index 0-3) to s. 0 or -1 (message). */
int drive_add(struct drive_set *s, const char *arg, char *err, size_t errlen);
int drive_add_hd(struct drive_set *s, int index, const char *path, char *err, size_t errlen);
/* After the whole command line: give drives without an index the next free
 * position, refuse two drives at one position. 0 or -1 (message). */
int drive_set_finish(struct drive_set *s, char *err, size_t errlen);
/* The drive to boot without -kernel: the lowest position (index 0 normally;
 * SeaBIOS also boots the first disk it finds). NULL if there is none. */
const struct drive_opt *drive_set_boot(const struct drive_set *s);

#endif
