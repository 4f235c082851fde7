/* IDE/ATA PIO controller (see ide.h): the task-file registers, command
 * execution, the PIO data port, soft reset and the interrupt line. */
#include "devices/ide.h"

#include <stdio.h>
#include <string.h>

#define ST_READY (IDE_ST_DRDY | IDE_ST_DSC)

static bool present(const struct ide_drive *d) { return d->img != NULL; }
static struct ide_drive *selected(struct ide_channel *c) { return &c->drive[c->unit]; }
static bool channel_empty(const struct ide_channel *c) { return !present(&c->drive[0]) && !present(&c->drive[1]); }

/* ---- interrupt line ---- */

static void set_line(struct ide_channel *c, bool level)
{
    if (c->irq_pending == level) return;
    c->irq_pending = level;
    if (c->ide->set_irq) c->ide->set_irq(c->ide->irq_opaque, c->irq, level);
}

static void raise_irq(struct ide_channel *c)
{
    if (!(c->ctl & IDE_CTL_NIEN)) set_line(c, true);
}

/* ---- geometry and addressing ---- */

static void set_default_geometry(struct ide_drive *d)
{
    /* 16 heads, 63 sectors per track, cylinders clamped to 2..16383 as QEMU
     * does when the disk has no partition table to guess from. */
    uint32_t cyl = d->sectors / (16 * 63);
    if (cyl > 16383) cyl = 16383;
    if (cyl < 2) cyl = 2;
    d->cyls = d->cur_cyls = (uint16_t)cyl;
    d->heads = d->cur_heads = 16;
    d->spt = d->cur_spt = 63;
}

/* The address in the task file: LBA28, or CHS through the current
 * translation. False if a CHS address names no sector (sector 0, head or
 * sector beyond the translation). */
static bool taskfile_lba(const struct ide_drive *d, uint64_t *lba)
{
    if (d->select & IDE_SEL_LBA) {
        *lba = ((uint64_t)(d->select & 0x0f) << 24) | ((uint64_t)d->hcyl << 16) | ((uint64_t)d->lcyl << 8) | d->sector;
        return true;
    }
    uint32_t cyl = ((uint32_t)d->hcyl << 8) | d->lcyl;
    uint32_t head = d->select & 0x0f;
    if (d->sector == 0 || d->sector > d->cur_spt || head >= d->cur_heads) return false;
    *lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_spt + d->sector - 1;
    return true;
}

/* Write an address back into the task file, in the addressing mode in use. */
static void set_taskfile_lba(struct ide_drive *d, uint32_t lba)
{
    if (d->select & IDE_SEL_LBA) {
        d->sector = (uint8_t)lba;
        d->lcyl = (uint8_t)(lba >> 8);
        d->hcyl = (uint8_t)(lba >> 16);
        d->select = (uint8_t)((d->select & 0xf0) | ((lba >> 24) & 0x0f));
        return;
    }
    uint32_t per_cyl = (uint32_t)d->cur_heads * d->cur_spt;
    uint32_t cyl = lba / per_cyl, r = lba % per_cyl;
    d->hcyl = (uint8_t)(cyl >> 8);
    d->lcyl = (uint8_t)cyl;
    d->select = (uint8_t)((d->select & 0xf0) | (r / d->cur_spt));
    d->sector = (uint8_t)(r % d->cur_spt + 1);
}

/* The range [lba, lba + n) from the task file, or false (IDNF). */
static bool taskfile_range(const struct ide_drive *d, uint32_t n, uint32_t *lba)
{
    uint64_t l;
    if (!taskfile_lba(d, &l) || l >= d->sectors || n > d->sectors - l) return false;
    *lba = (uint32_t)l;
    return true;
}

/* ---- IDENTIFY ---- */

static void put16(uint8_t *b, int word, uint16_t v)
{
    b[word * 2] = (uint8_t)v;
    b[word * 2 + 1] = (uint8_t)(v >> 8);
}

/* ATA strings: space padded, two characters per word, first one in the high byte. */
static void put_str(uint8_t *b, int word, int nwords, const char *s)
{
    size_t len = strlen(s);
    for (int i = 0; i < nwords * 2; i++) {
        char ch = (size_t)i < len ? s[i] : ' ';
        b[word * 2 + (i ^ 1)] = (uint8_t)ch;
    }
}

void ide_identify(const struct ide_channel *c, const struct ide_drive *d, uint8_t out[512])
{
    (void)c;
    memset(out, 0, 512);
    uint32_t cur_cap = (uint32_t)d->cur_cyls * d->cur_heads * d->cur_spt;
    put16(out, 0, 0x0040);                 /* fixed (non-removable) ATA device */
    put16(out, 1, d->cyls);
    put16(out, 3, d->heads);
    put16(out, 6, d->spt);
    put_str(out, 10, 10, d->serial);
    put_str(out, 23, 4, IDE_FIRMWARE);
    put_str(out, 27, 20, IDE_MODEL);
    put16(out, 47, 0x8000 | IDE_MAX_MULT); /* READ/WRITE MULTIPLE: up to 16 sectors */
    put16(out, 48, 1);                     /* 32-bit data transfers (as QEMU reports) */
    put16(out, 49, (1u << 11) | (1u << 9));/* IORDY, LBA; no DMA */
    put16(out, 50, 0x4000);
    put16(out, 51, 0x0200);                /* PIO mode 2 timing (obsolete field) */
    put16(out, 53, 0x0003);                /* words 54-58 and 64-70 valid */
    put16(out, 54, d->cur_cyls);
    put16(out, 55, d->cur_heads);
    put16(out, 56, d->cur_spt);
    put16(out, 57, (uint16_t)cur_cap);
    put16(out, 58, (uint16_t)(cur_cap >> 16));
    if (d->mult) put16(out, 59, 0x0100 | d->mult);
    put16(out, 60, (uint16_t)d->sectors);
    put16(out, 61, (uint16_t)(d->sectors >> 16));
    put16(out, 64, 0x0003);                /* PIO modes 3 and 4 */
    put16(out, 67, 120);                   /* minimum PIO cycle times, ns */
    put16(out, 68, 120);
    put16(out, 80, 0x007e);                /* ATA-1 to ATA-6 */
    put16(out, 82, (1u << 14) | (1u << 5));/* NOP, write cache */
    put16(out, 83, (1u << 14) | (1u << 12));/* FLUSH CACHE; no 48-bit addressing */
    put16(out, 84, 1u << 14);
    put16(out, 85, (1u << 14) | (d->wcache ? 1u << 5 : 0));
    put16(out, 86, 1u << 12);
    put16(out, 87, 1u << 14);
    /* Word 255: signature A5h and a checksum making all 512 bytes sum to 0. */
    out[510] = 0xa5;
    uint8_t sum = 0;
    for (int i = 0; i < 511; i++) sum = (uint8_t)(sum + out[i]);
    out[511] = (uint8_t)-sum;
}

/* ---- command completion ---- */

static void cmd_ok(struct ide_channel *c, struct ide_drive *d)
{
    d->status = ST_READY;
    d->error = 0;
    raise_irq(c);
}

static void cmd_error(struct ide_channel *c, struct ide_drive *d, uint8_t err)
{
    d->xfer_in = d->xfer_out = false;
    d->status = IDE_ST_DRDY | IDE_ST_ERR; /* as QEMU: no DSC */
    d->error = err;
    raise_irq(c);
}

static void set_signature(struct ide_drive *d)
{
    d->select &= 0xf0; /* head bits cleared, DEV kept */
    d->nsector = 1;
    d->sector = 1;
    d->lcyl = d->hcyl = present(d) ? 0x00 : 0xff;
}

/* Load the next data-in block (or fail the command with ABRT on a host I/O
 * error), set DRQ and interrupt. */
static void start_in_block(struct ide_channel *c, struct ide_drive *d)
{
    uint32_t k = d->xfer_left < d->xfer_block ? d->xfer_left : d->xfer_block;
    if (disk_image_read(d->img, d->xfer_lba, k, d->buf)) {
        cmd_error(c, d, IDE_ER_ABRT);
        return;
    }
    c->ide->sectors_read += k;
    d->pos = 0;
    d->len = k * DISK_SECTOR_SIZE;
    d->xfer_in = true;
    d->status = ST_READY | IDE_ST_DRQ;
    raise_irq(c);
}

/* Expect the next data-out block: DRQ, and an interrupt except before the first. */
static void start_out_block(struct ide_channel *c, struct ide_drive *d, bool first)
{
    uint32_t k = d->xfer_left < d->xfer_block ? d->xfer_left : d->xfer_block;
    d->pos = 0;
    d->len = k * DISK_SECTOR_SIZE;
    d->xfer_out = true;
    d->status = ST_READY | IDE_ST_DRQ;
    if (!first) raise_irq(c);
}

/* The guest has taken/filled a whole block: advance the task file (the
 * address of the next sector, the count still to go, as QEMU leaves them). */
static void advance(struct ide_drive *d, uint32_t k)
{
    d->xfer_lba += k;
    d->xfer_left -= k;
    d->nsector = (uint8_t)(d->nsector - k);
    set_taskfile_lba(d, d->xfer_lba);
}

static void in_block_done(struct ide_channel *c, struct ide_drive *d)
{
    d->xfer_in = false;
    if (d->cmd == 0xec) { /* IDENTIFY: one block, no address */
        d->status = ST_READY;
        return;
    }
    advance(d, d->len / DISK_SECTOR_SIZE);
    if (d->xfer_left) start_in_block(c, d);
    else d->status = ST_READY; /* no interrupt after the last data-in block */
}

static void out_block_done(struct ide_channel *c, struct ide_drive *d)
{
    uint32_t k = d->len / DISK_SECTOR_SIZE;
    d->xfer_out = false;
    if (disk_image_write(d->img, d->xfer_lba, k, d->buf)) {
        cmd_error(c, d, IDE_ER_ABRT);
        return;
    }
    /* Write cache off (SET FEATURES 82h): on the medium before completion. */
    if (!d->wcache && disk_image_flush(d->img)) {
        cmd_error(c, d, IDE_ER_ABRT);
        return;
    }
    c->ide->sectors_written += k;
    advance(d, k);
    if (d->xfer_left) start_out_block(c, d, false);
    else cmd_ok(c, d);
}

/* ---- commands ---- */

static void cmd_rw(struct ide_channel *c, struct ide_drive *d, bool write, bool multiple)
{
    uint32_t n = d->nsector ? d->nsector : 256;
    uint32_t lba;
    if (multiple && !d->mult) {
        cmd_error(c, d, IDE_ER_ABRT);
        return;
    }
    if (!taskfile_range(d, n, &lba)) {
        cmd_error(c, d, IDE_ER_IDNF);
        return;
    }
    if (write && disk_image_read_only(d->img)) {
        cmd_error(c, d, IDE_ER_ABRT);
        return;
    }
    d->xfer_lba = lba;
    d->xfer_left = n;
    d->xfer_block = multiple ? d->mult : 1;
    if (write) start_out_block(c, d, true);
    else start_in_block(c, d);
}

static void cmd_set_features(struct ide_channel *c, struct ide_drive *d)
{
    switch (d->feature) {
    case 0x02: d->wcache = true; break;
    case 0x82: /* write cache off: what it held goes to the medium now */
        d->wcache = false;
        if (disk_image_flush(d->img)) {
            cmd_error(c, d, IDE_ER_ABRT);
            return;
        }
        break;
    case 0x03: { /* set transfer mode: PIO default or PIO flow-control modes 0-4 */
        uint8_t mode = d->nsector;
        if (!(mode >> 3 == 0 || (mode >> 3 == 1 && (mode & 7) <= 4))) {
            cmd_error(c, d, IDE_ER_ABRT); /* DMA modes: no DMA here */
            return;
        }
        break;
    }
    case 0x55: case 0xaa: case 0x66: case 0xcc: break; /* look-ahead, revert to defaults */
    default:
        cmd_error(c, d, IDE_ER_ABRT);
        return;
    }
    cmd_ok(c, d);
}

static void exec_command(struct ide_channel *c, uint8_t cmd)
{
    struct ide_drive *d = selected(c);
    /* As QEMU: a command to a missing device is ignored, and so is one
     * written while BSY or DRQ is set (a transfer is never abandoned). */
    if (!present(d) || (d->status & (IDE_ST_BSY | IDE_ST_DRQ))) return;
    set_line(c, false);
    d->cmd = cmd;
    d->xfer_in = d->xfer_out = false;
    d->error = 0;
    switch (cmd) {
    case 0xec: /* IDENTIFY DEVICE */
        ide_identify(c, d, d->buf);
        d->pos = 0;
        d->len = 512;
        d->xfer_in = true;
        d->status = ST_READY | IDE_ST_DRQ;
        raise_irq(c);
        break;
    case 0x20: case 0x21: cmd_rw(c, d, false, false); break; /* READ SECTORS (with/without retry) */
    case 0x30: case 0x31: cmd_rw(c, d, true, false); break;  /* WRITE SECTORS */
    case 0xc4: cmd_rw(c, d, false, true); break;             /* READ MULTIPLE */
    case 0xc5: cmd_rw(c, d, true, true); break;              /* WRITE MULTIPLE */
    case 0xc6: /* SET MULTIPLE MODE: a power of two up to IDE_MAX_MULT; 0 disables (as QEMU) */
        if (d->nsector > IDE_MAX_MULT || (d->nsector & (d->nsector - 1))) {
            cmd_error(c, d, IDE_ER_ABRT);
        } else {
            d->mult = d->nsector;
            cmd_ok(c, d);
        }
        break;
    case 0x40: case 0x41: /* READ VERIFY SECTORS: the range must exist */
    {
        uint32_t lba;
        if (taskfile_range(d, d->nsector ? d->nsector : 256, &lba)) cmd_ok(c, d);
        else cmd_error(c, d, IDE_ER_IDNF);
        break;
    }
    case 0x70: /* SEEK */
    {
        uint32_t lba;
        if (taskfile_range(d, 1, &lba)) cmd_ok(c, d);
        else cmd_error(c, d, IDE_ER_IDNF);
        break;
    }
    case 0xe7: /* FLUSH CACHE */
        c->ide->flushes++;
        if (disk_image_flush(d->img)) cmd_error(c, d, IDE_ER_ABRT);
        else cmd_ok(c, d);
        break;
    case 0xef: cmd_set_features(c, d); break;
    case 0x91: /* INITIALIZE DEVICE PARAMETERS: sectors per track, heads */
    {
        uint32_t heads = (d->select & 0x0f) + 1u, spt = d->nsector;
        if (!spt) {
            cmd_error(c, d, IDE_ER_ABRT);
            break;
        }
        uint32_t cyl = d->sectors / (heads * spt);
        d->cur_heads = (uint16_t)heads;
        d->cur_spt = (uint16_t)spt;
        d->cur_cyls = (uint16_t)(cyl > 65535 ? 65535 : cyl);
        cmd_ok(c, d);
        break;
    }
    case 0x90: /* EXECUTE DEVICE DIAGNOSTIC: every device passes */
        for (int i = 0; i < 2; i++) {
            struct ide_drive *x = &c->drive[i];
            x->xfer_in = x->xfer_out = false;
            set_signature(x);
            if (present(x)) x->status = ST_READY;
            x->error = 0x01;
        }
        raise_irq(c);
        break;
    case 0xe5: /* CHECK POWER MODE: active or idle */
        d->nsector = 0xff;
        cmd_ok(c, d);
        break;
    case 0xe0: case 0xe1: case 0xe2: case 0xe3: /* STANDBY/IDLE (IMMEDIATE) */
    case 0x94: case 0x95: case 0x96: case 0x97: /* their ATA-1 opcodes */
        cmd_ok(c, d);
        break;
    case 0xf8: /* READ NATIVE MAX ADDRESS (LBA only) */
        if (!(d->select & IDE_SEL_LBA)) {
            cmd_error(c, d, IDE_ER_ABRT);
            break;
        }
        set_taskfile_lba(d, d->sectors - 1);
        cmd_ok(c, d);
        break;
    default:
        if (cmd >= 0x10 && cmd <= 0x1f) { /* RECALIBRATE */
            cmd_ok(c, d);
            break;
        }
        /* IDENTIFY PACKET (A1h), PACKET, LBA48, DMA, SMART, NOP, ...: abort. */
        cmd_error(c, d, IDE_ER_ABRT);
        break;
    }
}

/* ---- the data port ---- */

static uint32_t data_read(struct ide_channel *c, int size)
{
    struct ide_drive *d = selected(c);
    /* Outside a data-in block, or a dword that would run past its end: 0
     * and nothing consumed (as QEMU). */
    if (!d->xfer_in || !(d->status & IDE_ST_DRQ) || d->len - d->pos < (uint32_t)size) return 0;
    uint32_t v = 0;
    for (int i = 0; i < size; i++) v |= (uint32_t)d->buf[d->pos++] << (8 * i);
    if (d->pos >= d->len) in_block_done(c, d);
    return v;
}

static void data_write(struct ide_channel *c, uint32_t val, int size)
{
    struct ide_drive *d = selected(c);
    if (!d->xfer_out || !(d->status & IDE_ST_DRQ) || d->len - d->pos < (uint32_t)size) return;
    for (int i = 0; i < size; i++) d->buf[d->pos++] = (uint8_t)(val >> (8 * i));
    if (d->pos >= d->len) out_block_done(c, d);
}

/* ---- registers ---- */

uint32_t ide_read(struct ide_channel *c, unsigned reg, int size)
{
    struct ide_drive *d = selected(c);
    bool none = channel_empty(c);
    reg &= 7;
    /* A byte access to the data port moves a whole word (QEMU does the same:
     * the byte read gets its low half). */
    if (reg == IDE_DATA) return data_read(c, size == 1 ? 2 : size) & (size == 1 ? 0xffu : 0xffffffffu);
    switch (reg) {
    case IDE_ERROR: return none || !present(d) ? 0 : d->error;
    case IDE_NSECTOR: return none ? 0 : d->nsector;
    case IDE_SECTOR: return none ? 0 : d->sector;
    case IDE_LCYL: return none ? 0 : d->lcyl;
    case IDE_HCYL: return none ? 0 : d->hcyl;
    case IDE_SELECT: return none ? 0 : d->select;
    default: /* status: also acknowledges the interrupt */
        set_line(c, false);
        return none || !present(d) ? 0 : d->status;
    }
}

void ide_write(struct ide_channel *c, unsigned reg, uint32_t val, int size)
{
    reg &= 7;
    if (reg == IDE_DATA) {
        data_write(c, size == 1 ? val & 0xff : val, size == 1 ? 2 : size);
        return;
    }
    uint8_t b = (uint8_t)val;
    if (reg == IDE_COMMAND) {
        exec_command(c, b);
        return;
    }
    /* As QEMU: the task file is read-only while the selected device is busy
     * or transferring data. */
    if (selected(c)->status & (IDE_ST_BSY | IDE_ST_DRQ)) return;
    for (int i = 0; i < 2; i++) {
        struct ide_drive *d = &c->drive[i];
        switch (reg) {
        case IDE_FEATURE: d->feature = b; break;
        case IDE_NSECTOR: d->nsector = b; break;
        case IDE_SECTOR: d->sector = b; break;
        case IDE_LCYL: d->lcyl = b; break;
        case IDE_HCYL: d->hcyl = b; break;
        default: d->select = b | 0xa0; break; /* bits 7 and 5 always read as one */
        }
    }
    if (reg == IDE_SELECT) c->unit = (b & IDE_SEL_DEV) ? 1 : 0;
}

uint8_t ide_read_altstatus(struct ide_channel *c)
{
    struct ide_drive *d = selected(c);
    return channel_empty(c) || !present(d) ? 0 : d->status;
}

/* The state after a reset (hardware reset, or the end of SRST). */
static void drive_reset(struct ide_drive *d)
{
    d->xfer_in = d->xfer_out = false;
    d->feature = 0;
    d->select = 0xa0;
    set_signature(d);
    d->status = present(d) ? ST_READY : 0;
    d->error = 0x01; /* diagnostic code: no error */
    d->mult = IDE_MAX_MULT; /* QEMU's reset value */
    d->wcache = true;
    if (present(d)) set_default_geometry(d);
}

void ide_write_control(struct ide_channel *c, uint8_t val)
{
    bool was = c->ctl & IDE_CTL_SRST, now = val & IDE_CTL_SRST;
    c->ctl = val;
    if (!was && now) {
        /* Reset asserted: both devices busy until it is released. */
        for (int i = 0; i < 2; i++) {
            struct ide_drive *d = &c->drive[i];
            d->xfer_in = d->xfer_out = false;
            if (present(d)) d->status = IDE_ST_BSY | IDE_ST_DSC;
        }
        set_line(c, false);
    } else if (was && !now) {
        for (int i = 0; i < 2; i++) drive_reset(&c->drive[i]);
        c->unit = 0;
    }
}

/* ---- port handlers ---- */

static uint32_t port_read(void *opaque, uint16_t port, int size)
{
    struct ide_channel *c = opaque;
    if (port == c->ctl_port) return ide_read_altstatus(c) | (size > 1 ? 0xffffff00u : 0);
    unsigned reg = (unsigned)(port - c->base);
    if (reg == IDE_DATA) return ide_read(c, reg, size);
    /* Wider accesses to the byte registers: one byte per port, as on ISA. */
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        unsigned r = reg + (unsigned)i;
        v |= (r < 8 ? ide_read(c, r, 1) : 0xffu) << (8 * i);
    }
    return v;
}

static void port_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    struct ide_channel *c = opaque;
    if (port == c->ctl_port) {
        ide_write_control(c, (uint8_t)val);
        return;
    }
    unsigned reg = (unsigned)(port - c->base);
    if (reg == IDE_DATA) {
        ide_write(c, reg, val, size);
        return;
    }
    for (int i = 0; i < size; i++) {
        unsigned r = reg + (unsigned)i;
        if (r < 8) ide_write(c, r, (val >> (8 * i)) & 0xff, 1);
    }
}

void ide_reset(struct ide *ide)
{
    for (int ch = 0; ch < 2; ch++) {
        struct ide_channel *c = &ide->ch[ch];
        c->ctl = 0;
        c->unit = 0;
        set_line(c, false);
        for (int i = 0; i < 2; i++) drive_reset(&c->drive[i]);
    }
}

int ide_init(struct ide *ide, struct iobus *bus, ide_irq_fn set_irq, void *irq_opaque)
{
    memset(ide, 0, sizeof(*ide));
    ide->set_irq = set_irq;
    ide->irq_opaque = irq_opaque;
    static const uint16_t base[2] = { IDE_PRIMARY_BASE, IDE_SECONDARY_BASE };
    static const uint16_t ctl[2] = { IDE_PRIMARY_CTRL, IDE_SECONDARY_CTRL };
    static const int irq[2] = { IDE_PRIMARY_IRQ, IDE_SECONDARY_IRQ };
    static const char *const name[2] = { "ide0", "ide1" };
    for (int i = 0; i < 2; i++) {
        struct ide_channel *c = &ide->ch[i];
        c->ide = ide;
        c->base = base[i];
        c->ctl_port = ctl[i];
        c->irq = irq[i];
        if (iobus_register(bus, base[i], 8, port_read, port_write, c, name[i]) ||
            iobus_register(bus, ctl[i], 1, port_read, port_write, c, name[i]))
            return -1;
    }
    ide_reset(ide);
    return 0;
}

int ide_attach(struct ide *ide, int index, struct disk_image *img)
{
    if (index < 0 || index > 3 || !img) return -1;
    struct ide_channel *c = &ide->ch[index / 2];
    struct ide_drive *d = &c->drive[index % 2];
    if (d->img) return -1;
    d->img = img;
    uint32_t n = disk_image_sectors(img);
    d->sectors = n > 0x0fffffffu ? 0x0fffffffu : n; /* LBA28 reaches sectors 0..0x0ffffffe */
    snprintf(d->serial, sizeof(d->serial), "BT86%05d", index + 1);
    /* The devices of this channel see it now, as after power-on. */
    for (int i = 0; i < 2; i++) drive_reset(&c->drive[i]);
    c->unit = 0;
    return 0;
}
