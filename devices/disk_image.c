/* Raw disk images (see disk_image.h): open/check, sector I/O with bounds
 * checks, the snapshot overlay, flushing, and the list of open images that
 * disk_flush_all() walks. */
#include "devices/disk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The snapshot overlay: the image is cut into chunks of CHUNK_SECTORS; a
 * chunk is copied into memory from the file the first time the guest writes
 * into it, and from then on reads and writes of it use the copy. Chunk
 * pointers live in leaves of LEAF_CHUNKS entries, allocated on demand, under
 * one top-level array sized at open time (at most 2048 entries for a 128 GiB
 * image). */
#define CHUNK_SECTORS 128u
#define CHUNK_BYTES   (CHUNK_SECTORS * DISK_SECTOR_SIZE)
#define LEAF_CHUNKS   1024u

struct disk_image {
    int fd;
    char *path;
    uint32_t sectors;
    bool read_only;
    bool snapshot;
    bool dirty;               /* written since the last fdatasync */
    int slot;                 /* index in open_images */
    uint8_t ***top;           /* snapshot overlay: top[leaf][chunk] -> CHUNK_BYTES */
    uint32_t ntop;
    uint64_t overlay_bytes;
};

/* Images that disk_flush_all() syncs: fd + 1 of each writable file-backed
 * image (0 = free slot), read by a signal handler, hence volatile ints. */
static volatile int flush_fds[DISK_MAX_OPEN];
static struct disk_image *open_images[DISK_MAX_OPEN];

static void set_err(char *err, size_t errlen, const char *path, const char *why)
{
    if (err && errlen) snprintf(err, errlen, "disk image '%s': %s", path, why);
}

/* pread/pwrite the whole range, retrying short transfers and EINTR. Hitting
 * the end of the file (someone truncated it under us) is an I/O error. */
static int pread_full(int fd, void *buf, size_t len, off_t off)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static bool in_bounds(const struct disk_image *d, uint32_t lba, uint32_t count)
{
    return lba <= d->sectors && count <= d->sectors - lba;
}

/* The overlay chunk holding chunk index c, or NULL. With create, allocate it
 * (filled from the file) if the overlay budget allows; NULL on failure. */
static uint8_t *overlay_chunk(struct disk_image *d, uint32_t c, bool create)
{
    uint32_t t = c / LEAF_CHUNKS, i = c % LEAF_CHUNKS;
    if (t >= d->ntop) return NULL;
    uint8_t **leaf = d->top[t];
    if (leaf && leaf[i]) return leaf[i];
    if (!create) return NULL;
    if (d->overlay_bytes + CHUNK_BYTES > DISK_SNAPSHOT_MAX_BYTES) return NULL;
    if (!leaf) {
        leaf = calloc(LEAF_CHUNKS, sizeof(*leaf));
        if (!leaf) return NULL;
        d->top[t] = leaf;
    }
    uint8_t *chunk = calloc(1, CHUNK_BYTES);
    if (!chunk) return NULL;
    uint32_t first = c * CHUNK_SECTORS;
    uint32_t n = d->sectors - first < CHUNK_SECTORS ? d->sectors - first : CHUNK_SECTORS;
    if (pread_full(d->fd, chunk, (size_t)n * DISK_SECTOR_SIZE, (off_t)first * DISK_SECTOR_SIZE)) {
        free(chunk);
        return NULL;
    }
    leaf[i] = chunk;
    d->overlay_bytes += CHUNK_BYTES;
    return chunk;
}

struct disk_image *disk_image_open(const char *path, enum disk_open_mode mode, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!path || !*path) {
        set_err(err, errlen, path ? path : "", "no file name given");
        return NULL;
    }
    bool read_only = mode != DISK_OPEN_RW;
    int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    bool fell_back = false;
    if (fd < 0 && !read_only && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) read_only = fell_back = true;
    }
    if (fd < 0) {
        set_err(err, errlen, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char why[160];
    const char *fail = NULL;
    if (fstat(fd, &st) != 0) {
        fail = strerror(errno);
    } else if (S_ISDIR(st.st_mode)) {
        fail = strerror(EISDIR);
    } else if (!S_ISREG(st.st_mode)) {
        fail = "not a regular file";
    } else if (st.st_size == 0) {
        fail = "the file is empty";
    } else if (st.st_size % DISK_SECTOR_SIZE) {
        snprintf(why, sizeof(why), "size %lld bytes is not a multiple of %u-byte sectors",
                 (long long)st.st_size, DISK_SECTOR_SIZE);
        fail = why;
    } else if ((uint64_t)st.st_size > (uint64_t)DISK_MAX_SECTORS * DISK_SECTOR_SIZE) {
        snprintf(why, sizeof(why), "size %lld bytes is larger than 128 GiB, the most LBA28 can address",
                 (long long)st.st_size);
        fail = why;
    } else if (flock(fd, ((read_only || mode == DISK_OPEN_SNAPSHOT) ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 &&
               errno != ENOLCK && errno != EOPNOTSUPP && errno != EINVAL) {
        /* Same rule as QEMU's image locking: one writer, or any number of
         * readers. File systems without locks are used unlocked. */
        fail = errno == EWOULDBLOCK ? "the image is in use (locked by another process or another -drive)"
                                    : strerror(errno);
    }
    int slot = -1;
    for (int i = 0; !fail && i < DISK_MAX_OPEN; i++)
        if (!open_images[i]) {
            slot = i;
            break;
        }
    if (!fail && slot < 0) fail = "too many disk images open";
    struct disk_image *d = NULL;
    if (!fail) {
        d = calloc(1, sizeof(*d));
        if (d) d->path = strdup(path);
        if (!d || !d->path) fail = "out of memory";
    }
    if (!fail) {
        d->fd = fd;
        d->sectors = (uint32_t)(st.st_size / DISK_SECTOR_SIZE);
        d->read_only = read_only && mode != DISK_OPEN_SNAPSHOT;
        d->snapshot = mode == DISK_OPEN_SNAPSHOT;
        d->slot = slot;
        if (d->snapshot) {
            uint32_t nchunks = (d->sectors + CHUNK_SECTORS - 1) / CHUNK_SECTORS;
            d->ntop = (nchunks + LEAF_CHUNKS - 1) / LEAF_CHUNKS;
            d->top = calloc(d->ntop, sizeof(*d->top));
            if (!d->top) fail = "out of memory";
        }
    }
    if (fail) {
        set_err(err, errlen, path, fail);
        if (d) {
            free(d->top);
            free(d->path);
            free(d);
        }
        close(fd);
        return NULL;
    }
    open_images[slot] = d;
    if (!d->read_only && !d->snapshot) flush_fds[slot] = fd + 1;
    if (fell_back)
        fprintf(stderr, "bt86: warning: disk image '%s' is read-only; using it read-only (guest writes will fail)\n",
                path);
    return d;
}

void disk_image_close(struct disk_image *d)
{
    if (!d) return;
    disk_image_flush(d);
    flush_fds[d->slot] = 0;
    open_images[d->slot] = NULL;
    close(d->fd);
    for (uint32_t t = 0; t < d->ntop; t++) {
        if (!d->top[t]) continue;
        for (uint32_t i = 0; i < LEAF_CHUNKS; i++) free(d->top[t][i]);
        free(d->top[t]);
    }
    free(d->top);
    free(d->path);
    free(d);
}

uint32_t disk_image_sectors(const struct disk_image *d) { return d->sectors; }
bool disk_image_read_only(const struct disk_image *d) { return d->read_only; }
bool disk_image_snapshot(const struct disk_image *d) { return d->snapshot; }
const char *disk_image_path(const struct disk_image *d) { return d->path; }

int disk_image_read(struct disk_image *d, uint32_t lba, uint32_t count, void *buf)
{
    if (!in_bounds(d, lba, count)) return -1;
    uint8_t *p = buf;
    while (count) {
        /* One run inside one overlay chunk (or the rest of the range). */
        uint32_t c = lba / CHUNK_SECTORS;
        uint32_t n = CHUNK_SECTORS - lba % CHUNK_SECTORS;
        if (n > count) n = count;
        size_t bytes = (size_t)n * DISK_SECTOR_SIZE;
        uint8_t *chunk = d->snapshot ? overlay_chunk(d, c, false) : NULL;
        if (chunk) memcpy(p, chunk + (size_t)(lba % CHUNK_SECTORS) * DISK_SECTOR_SIZE, bytes);
        else if (pread_full(d->fd, p, bytes, (off_t)lba * DISK_SECTOR_SIZE)) return -1;
        p += bytes;
        lba += n;
        count -= n;
    }
    return 0;
}

int disk_image_write(struct disk_image *d, uint32_t lba, uint32_t count, const void *buf)
{
    if (d->read_only || !in_bounds(d, lba, count)) return -1;
    const uint8_t *p = buf;
    if (!d->snapshot) {
        d->dirty = true;
        return pwrite_full(d->fd, p, (size_t)count * DISK_SECTOR_SIZE, (off_t)lba * DISK_SECTOR_SIZE);
    }
    while (count) {
        uint32_t c = lba / CHUNK_SECTORS;
        uint32_t n = CHUNK_SECTORS - lba % CHUNK_SECTORS;
        if (n > count) n = count;
        size_t bytes = (size_t)n * DISK_SECTOR_SIZE;
        uint8_t *chunk = overlay_chunk(d, c, true);
        if (!chunk) return -1;
        memcpy(chunk + (size_t)(lba % CHUNK_SECTORS) * DISK_SECTOR_SIZE, p, bytes);
        p += bytes;
        lba += n;
        count -= n;
    }
    return 0;
}

int disk_image_flush(struct disk_image *d)
{
    if (d->read_only || d->snapshot || !d->dirty) return 0;
    if (fdatasync(d->fd) != 0) return -1;
    d->dirty = false;
    return 0;
}

void disk_flush_all(void)
{
    for (int i = 0; i < DISK_MAX_OPEN; i++) {
        int fd = flush_fds[i] - 1;
        if (fd >= 0) fdatasync(fd);
    }
}

void disk_flush_at_exit(void)
{
    static bool registered;
    if (registered) return;
    registered = true;
    atexit(disk_flush_all);
}
