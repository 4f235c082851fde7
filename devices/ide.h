/* An IDE/ATA controller with two channels (the PC's legacy ports), each with
 * a master and a slave position, for hard disks backed by raw images
 * (devices/disk_image.h). PIO only, LBA28 and CHS addressing.
 *
 *   primary:   ports 0x1f0-0x1f7, control 0x3f6, IRQ 14  (disks 0 and 1)
 *   secondary: ports 0x170-0x177, control 0x376, IRQ 15  (disks 2 and 3)
 *
 * Commands: IDENTIFY DEVICE, READ/WRITE SECTORS, READ/WRITE MULTIPLE, SET
 * MULTIPLE MODE, READ VERIFY, SEEK, FLUSH CACHE, SET FEATURES, INITIALIZE
 * DEVICE PARAMETERS, EXECUTE DEVICE DIAGNOSTIC, CHECK POWER MODE, the
 * standby/idle family and RECALIBRATE (accepted, nothing to do), READ NATIVE
 * MAX ADDRESS. Everything else (IDENTIFY PACKET, PACKET, LBA48 commands, DMA
 * commands, ...) is aborted. Commands complete at once: BSY is only ever seen
 * while SRST is held. As in QEMU, while the selected device has BSY or DRQ
 * set, writes to the task file and the command register are ignored (a data
 * transfer runs to its end, or until SRST), and out-of-range addresses are
 * refused before any data moves (with IDNF here; QEMU reports ABRT).
 * INITIALIZE DEVICE PARAMETERS sets the CHS translation used by CHS
 * addresses and IDENTIFY words 54-58 (QEMU accepts it and changes nothing).
 * SRST completes when the bit is cleared (the ATA protocol; QEMU completes
 * it asynchronously after the bit is set) and selects device 0.
 *
 * What a missing device looks like follows QEMU: on a channel with no disk at
 * all every register reads 0; a missing device on a channel with a disk reads
 * 0 in the status, alternate status and error registers, and ignores commands.
 * The data port reads 0 outside a data transfer; a byte access to it moves a
 * whole word (a byte read returns the word's low half), as QEMU does.
 *
 * Interrupts: a device raises its channel's line (through set_irq) when a
 * data block is ready to be read, after each written block and at the end of
 * every non-data command, unless nIEN is set at that moment (as in QEMU).
 * Reading the status register or writing a command lowers it. */
#ifndef BT86_DEVICES_IDE_H
#define BT86_DEVICES_IDE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/disk_image.h"
#include "devices/iobus.h"

#define IDE_PRIMARY_BASE     0x1f0
#define IDE_PRIMARY_CTRL     0x3f6
#define IDE_PRIMARY_IRQ      14
#define IDE_SECONDARY_BASE   0x170
#define IDE_SECONDARY_CTRL   0x376
#define IDE_SECONDARY_IRQ    15

/* Register offsets from the command-block base. */
enum {
    IDE_DATA = 0, IDE_ERROR = 1, IDE_FEATURE = 1, IDE_NSECTOR = 2, IDE_SECTOR = 3,
    IDE_LCYL = 4, IDE_HCYL = 5, IDE_SELECT = 6, IDE_STATUS = 7, IDE_COMMAND = 7,
};

/* Status register. */
#define IDE_ST_ERR  0x01
#define IDE_ST_DRQ  0x08
#define IDE_ST_DSC  0x10 /* seek complete */
#define IDE_ST_DF   0x20 /* device fault */
#define IDE_ST_DRDY 0x40
#define IDE_ST_BSY  0x80
/* Error register. */
#define IDE_ER_ABRT 0x04
#define IDE_ER_IDNF 0x10
/* Device/head register. */
#define IDE_SEL_DEV 0x10
#define IDE_SEL_LBA 0x40
/* Device control register. */
#define IDE_CTL_NIEN 0x02
#define IDE_CTL_SRST 0x04
#define IDE_CTL_HOB  0x80

#define IDE_MAX_MULT 16 /* sectors per block for READ/WRITE MULTIPLE */
#define IDE_MODEL    "BT86 HARDDISK"
#define IDE_FIRMWARE "1.0"

/* level 1 = assert the line, 0 = release it. */
typedef void (*ide_irq_fn)(void *opaque, int irq, int level);

struct ide_channel;

struct ide_drive {
    struct disk_image *img;   /* NULL: no device here */
    uint32_t sectors;         /* capacity exposed (LBA28) */
    uint16_t cyls, heads, spt;             /* default CHS geometry */
    uint16_t cur_cyls, cur_heads, cur_spt; /* current translation (INITIALIZE DEVICE PARAMETERS) */
    uint16_t mult;            /* READ/WRITE MULTIPLE block size, 0 = disabled */
    bool wcache;              /* write cache enabled (SET FEATURES 02h/82h); off: every write is flushed */
    char serial[21];
    /* The task file. Register writes reach both devices of a channel; only
     * the selected one executes a command and updates its copy. */
    uint8_t status, error, feature, nsector, sector, lcyl, hcyl, select;
    /* The PIO transfer in progress. */
    uint8_t cmd;              /* the command that owns it */
    bool xfer_in, xfer_out;   /* data-in (device to host) / data-out */
    uint32_t xfer_lba;        /* first sector of the current block */
    uint32_t xfer_left;       /* sectors still to transfer, current block included */
    uint32_t xfer_block;      /* sectors per DRQ block */
    uint32_t pos, len;        /* byte position in buf / bytes in the current block */
    uint8_t buf[IDE_MAX_MULT * DISK_SECTOR_SIZE];
};

struct ide_channel {
    struct ide_drive drive[2];
    int unit;                 /* the selected device (DEV bit) */
    uint8_t ctl;              /* device control register as last written */
    int irq;                  /* 14 or 15 */
    bool irq_pending;         /* the line is asserted */
    uint16_t base, ctl_port;
    struct ide *ide;
};

struct ide {
    struct ide_channel ch[2];
    ide_irq_fn set_irq;       /* NULL: no interrupt controller attached */
    void *irq_opaque;
    uint64_t sectors_read, sectors_written, flushes; /* statistics */
};

/* Set up both channels (empty) and claim their ports on bus. 0, or -1 if the
 * bus is out of handler slots. */
int ide_init(struct ide *ide, struct iobus *bus, ide_irq_fn set_irq, void *irq_opaque);
/* Put a disk at position index (0 primary master, 1 primary slave, 2
 * secondary master, 3 secondary slave), as QEMU's -drive index=N. The image
 * stays owned by the caller. 0, or -1 for a bad index or a taken position. */
int ide_attach(struct ide *ide, int index, struct disk_image *img);
/* Hardware reset of both channels (power-on state, device 0 selected). */
void ide_reset(struct ide *ide);

/* Register access (what the port handlers call): reg 0-7 of the command
 * block, size 1, 2 or 4 (sizes 2 and 4 only mean something for the data
 * register); the alternate status / device control register. */
uint32_t ide_read(struct ide_channel *c, unsigned reg, int size);
void ide_write(struct ide_channel *c, unsigned reg, uint32_t val, int size);
uint8_t ide_read_altstatus(struct ide_channel *c);
void ide_write_control(struct ide_channel *c, uint8_t val);

/* The 256-word IDENTIFY DEVICE block of a present drive (little-endian words). */
void ide_identify(const struct ide_channel *c, const struct ide_drive *d, uint8_t out[512]);

#endif
