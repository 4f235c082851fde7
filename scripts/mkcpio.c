/* mkcpio — writes a newc ("070701") cpio archive, the format the Linux kernel
 * unpacks as an initramfs, to stdout. Used by guests/linux/linux.mk so that
 * building the Linux guest needs neither the cpio package nor Python.
 *
 *   mkcpio ROOTDIR [SPECFILE]
 *
 * Every file, directory and symlink under ROOTDIR goes in (names relative to
 * ROOTDIR, sorted, so the archive is reproducible), owned by root, with its
 * permission bits; mtimes are $SOURCE_DATE_EPOCH or 0. SPECFILE adds entries
 * that an unprivileged build cannot create on disk, one per line:
 *
 *   nod PATH MODE c|b MAJOR MINOR     a device node (e.g. /dev/console)
 *   dir PATH MODE                     a directory
 *   slink PATH TARGET MODE            a symbolic link
 *
 * MODE is octal; blank lines and lines starting with '#' are ignored. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static uint32_t next_ino = 1;
static uint32_t mtime;
static unsigned long long written;

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "mkcpio: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static void out(const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, stdout) != n)
        die("write error: %s", strerror(errno));
    written += n;
}

static void pad4(void)
{
    static const char zeros[4];
    out(zeros, (4 - written % 4) % 4);
}

/* One header and the name; the caller writes size bytes of data after it. */
static void header(const char *name, uint32_t mode, uint32_t size, uint32_t rmaj, uint32_t rmin)
{
    char h[111];
    size_t namesize = strlen(name) + 1;
    uint32_t nlink = (mode & S_IFMT) == S_IFDIR ? 2 : 1;
    snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
             next_ino++, mode, 0u, 0u, nlink, mtime, size, 0u, 0u, rmaj, rmin,
             (uint32_t)namesize, 0u);
    out(h, 110);
    out(name, namesize);
    pad4();
}

static void add_file(const char *name, const char *path, const struct stat *st)
{
    if (st->st_size > (off_t)UINT32_MAX)
        die("%s: too large for a newc archive", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    header(name, S_IFREG | (st->st_mode & 07777), (uint32_t)st->st_size, 0, 0);
    char buf[65536];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (total + n > (size_t)st->st_size)
            die("%s grew while being archived", path);
        out(buf, n);
        total += n;
    }
    if (ferror(f) || total != (size_t)st->st_size)
        die("read error or size change on %s", path);
    fclose(f);
    pad4();
}

static void add_symlink(const char *name, const char *target, uint32_t perm)
{
    size_t len = strlen(target);
    header(name, S_IFLNK | (perm & 07777), (uint32_t)len, 0, 0);
    out(target, len);
    pad4();
}

/* Byte order, whatever the locale: the same tree gives the same archive. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Walks dir (the on-disk path) whose archive name is name ("" for the root). */
static void walk(const char *dir, const char *name)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, by_name);
    if (n < 0)
        die("cannot read directory %s", dir);
    for (int i = 0; i < n; i++) {
        const char *e = ents[i]->d_name;
        if (strcmp(e, ".") && strcmp(e, "..")) {
            char path[PATH_MAX], aname[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", dir, e) >= (int)sizeof path ||
                snprintf(aname, sizeof aname, "%s%s%s", name, *name ? "/" : "", e) >= (int)sizeof aname)
                die("path too long under %s", dir);
            struct stat st;
            if (lstat(path, &st) != 0)
                die("cannot stat %s", path);
            if (S_ISDIR(st.st_mode)) {
                header(aname, S_IFDIR | (st.st_mode & 07777), 0, 0, 0);
                walk(path, aname);
            } else if (S_ISREG(st.st_mode)) {
                add_file(aname, path, &st);
            } else if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t len = readlink(path, target, sizeof target - 1);
                if (len < 0)
                    die("cannot read link %s", path);
                target[len] = 0;
                add_symlink(aname, target, 0777);
            } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
                header(aname, st.st_mode & (S_IFMT | 07777), 0, major(st.st_rdev), minor(st.st_rdev));
            } else {
                die("%s: unsupported file type", path);
            }
        }
        free(ents[i]);
    }
    free(ents);
}

static const char *strip_slash(const char *p)
{
    while (*p == '/')
        p++;
    if (!*p)
        die("empty path in spec%s", "");
    return p;
}

static void spec(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        die("cannot open spec %s", file);
    char line[2 * PATH_MAX], a[PATH_MAX], b[PATH_MAX], c[32];
    unsigned mode, maj, min;
    while (fgets(line, sizeof line, f)) {
        char kind[16];
        if (sscanf(line, "%15s", kind) != 1 || kind[0] == '#')
            continue;
        if (!strcmp(kind, "nod") &&
            sscanf(line, "nod %4095s %o %31s %u %u", a, &mode, c, &maj, &min) == 5 &&
            (!strcmp(c, "c") || !strcmp(c, "b"))) {
            header(strip_slash(a), (c[0] == 'c' ? S_IFCHR : S_IFBLK) | (mode & 07777), 0, maj, min);
        } else if (!strcmp(kind, "dir") && sscanf(line, "dir %4095s %o", a, &mode) == 2) {
            header(strip_slash(a), S_IFDIR | (mode & 07777), 0, 0, 0);
        } else if (!strcmp(kind, "slink") &&
                   sscanf(line, "slink %4095s %4095s %o", a, b, &mode) == 3) {
            add_symlink(strip_slash(a), b, mode);
        } else {
            line[strcspn(line, "\n")] = 0;
            die("bad spec line: %s", line);
        }
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: mkcpio ROOTDIR [SPECFILE] > archive.cpio\n");
        return 2;
    }
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    mtime = sde ? (uint32_t)strtoul(sde, NULL, 10) : 0;
    if (isatty(STDOUT_FILENO))
        die("refusing to write an archive to a terminal%s", "");
    walk(argv[1], "");
    if (argc == 3)
        spec(argv[2]);
    header("TRAILER!!!", 0, 0, 0, 0);
    /* the kernel does not need it, but cpio(1) pads archives to 512 bytes */
    while (written % 512)
        out("", 1);
    if (fflush(stdout) != 0)
        die("write error: %s", strerror(errno));
    return 0;
}
