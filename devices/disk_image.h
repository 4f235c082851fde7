/* Raw disk images: the storage behind the IDE disks. An image is a regular
 * file holding the sectors back to back (QEMU's format=raw). It is opened
 * read-write, or read-only with a warning when the file cannot be written, or
 * in snapshot mode (QEMU's -snapshot) where guest writes go to a copy-on-write
 * overlay in host memory and the file is never modified.
 *
 * Writes go straight to the file with pwrite(), so once a write has returned
 * (and the device has told the guest it is done) the data is in the host's
 * page cache and survives bt86 dying in any way; disk_image_flush() /
 * disk_flush_all() add fdatasync() so it also survives the host going down.
 *
 * Every open image is on a small fixed list so that disk_flush_all() can be
 * called from an atexit handler or a fatal-signal handler: it only calls
 * fdatasync() on file descriptors and is async-signal-safe. */
#ifndef BT86_DEVICES_DISK_IMAGE_H
#define BT86_DEVICES_DISK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISK_SECTOR_SIZE 512u
/* LBA28 addresses 2^28 sectors (128 GiB); larger images are refused. */
#define DISK_MAX_SECTORS (1u << 28)
/* Open images at once (4 IDE positions, with room to spare). */
#define DISK_MAX_OPEN 8
/* Snapshot overlays hold at most this much written data; further writes to
 * new areas fail (the guest sees a write error) instead of exhausting host
 * memory. */
#define DISK_SNAPSHOT_MAX_BYTES (1ull << 30)

enum disk_open_mode {
    DISK_OPEN_RW,        /* read-write; falls back to read-only (with a warning) */
    DISK_OPEN_READONLY,  /* read-only on purpose (QEMU's readonly=on): no warning */
    DISK_OPEN_SNAPSHOT,  /* writes go to an in-memory overlay; the file is never written */
};

struct disk_image;

/* Open path. On failure returns NULL with one line in err (no trailing
 * newline), e.g. "disk image 'x.img': No such file or directory". A fall back
 * to read-only prints one "bt86: warning: ..." line on stderr. */
struct disk_image *disk_image_open(const char *path, enum disk_open_mode mode, char *err, size_t errlen);
/* Flush (unless snapshot/read-only), close and free. NULL is fine. */
void disk_image_close(struct disk_image *d);

uint32_t disk_image_sectors(const struct disk_image *d);
/* Guest writes fail (read-only file or readonly mode). Snapshot images are
 * writable (the overlay takes the writes). */
bool disk_image_read_only(const struct disk_image *d);
bool disk_image_snapshot(const struct disk_image *d);
const char *disk_image_path(const struct disk_image *d);

/* Transfer count sectors at lba. 0, or -1 if the range is out of bounds, the
 * image is read-only (writes), the host I/O failed, or the snapshot overlay
 * is full. Nothing outside buf is touched either way. */
int disk_image_read(struct disk_image *d, uint32_t lba, uint32_t count, void *buf);
int disk_image_write(struct disk_image *d, uint32_t lba, uint32_t count, const void *buf);
/* fdatasync() if anything was written since the last flush. 0 or -1. */
int disk_image_flush(struct disk_image *d);

/* Flush every open image. Async-signal-safe (fdatasync only): call it from
 * termination/crash signal handlers too. */
void disk_flush_all(void);
/* Register disk_flush_all() with atexit() (the first call only). */
void disk_flush_at_exit(void);

#endif
