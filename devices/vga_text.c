/* VGA text-mode registers (devices/vga_text.h). */
#include "devices/vga_text.h"

#include <string.h>

#include "devices/iobus.h"

/* Mode 3 (80x25, 9x16 cells, 0x3dx ports) as the VGA BIOS programs it. */
static const uint8_t crtc_mode3[VGA_CRTC_REGS] = {
    0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00,
    0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
};
static const uint8_t ac_mode3[VGA_AC_REGS] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b,
    0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00,
};
static const uint8_t seq_mode3[VGA_SEQ_REGS] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t gc_mode3[VGA_GC_REGS] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };

#define CRTC_VRETRACE_END 0x11
#define CRTC_PROTECT      0x80 /* in 0x11: registers 0-7 are read-only ... */
#define CRTC_OVERFLOW     0x07
#define CRTC_LC8          0x10 /* ... except the line compare bit 8 of 0x07 */

void vga_text_reset(struct vga_text *t)
{
    memset(t, 0, sizeof(*t));
    memcpy(t->crtc, crtc_mode3, sizeof(t->crtc));
    memcpy(t->ac, ac_mode3, sizeof(t->ac));
    memcpy(t->seq, seq_mode3, sizeof(t->seq));
    memcpy(t->gc, gc_mode3, sizeof(t->gc));
    t->misc = 0x67;
    t->ac_index = 0x20; /* palette address source set: the screen is on */
    t->dac_mask = 0xff;
    /* The DAC's first 64 entries hold the EGA colours (6-bit rgbRGB: primary
     * bits weigh 2/3, secondary 1/3 of the 0-63 range), the rest are black. */
    for (int i = 0; i < 64; i++) {
        t->dac[i][0] = (uint8_t)(((i >> 2) & 1) * 42 + ((i >> 5) & 1) * 21);
        t->dac[i][1] = (uint8_t)(((i >> 1) & 1) * 42 + ((i >> 4) & 1) * 21);
        t->dac[i][2] = (uint8_t)((i & 1) * 42 + ((i >> 3) & 1) * 21);
    }
}

static void crtc_write(struct vga_text *t, uint8_t val)
{
    uint8_t i = t->crtc_index;
    if (i >= VGA_CRTC_REGS) return;
    if (i <= 7 && (t->crtc[CRTC_VRETRACE_END] & CRTC_PROTECT)) {
        if (i == CRTC_OVERFLOW) t->crtc[i] = (uint8_t)((t->crtc[i] & ~CRTC_LC8) | (val & CRTC_LC8));
        return;
    }
    t->crtc[i] = val;
}

uint8_t vga_text_read(struct vga_text *t, uint16_t port)
{
    switch (port) {
    case 0x3c0: return t->ac_index;
    case 0x3c1: return (t->ac_index & 0x1f) < VGA_AC_REGS ? t->ac[t->ac_index & 0x1f] : 0;
    case 0x3c2: return 0x10; /* input status 0: switch sense set (a colour monitor) */
    case 0x3c3: return 0x01; /* VGA enabled */
    case 0x3c4: return t->seq_index;
    case 0x3c5: return t->seq_index < VGA_SEQ_REGS ? t->seq[t->seq_index] : 0xff;
    case 0x3c6: return t->dac_mask;
    case 0x3c7: return t->dac_state;
    case 0x3c8: return t->dac_write_index;
    case 0x3c9: {
        uint8_t v = t->dac[t->dac_read_index][t->dac_comp];
        if (++t->dac_comp == 3) {
            t->dac_comp = 0;
            t->dac_read_index++;
        }
        return v;
    }
    case 0x3ca: return t->feature;
    case 0x3cc: return t->misc;
    case 0x3ce: return t->gc_index;
    case 0x3cf: return t->gc_index < VGA_GC_REGS ? t->gc[t->gc_index] : 0xff;
    case 0x3d4: return t->crtc_index;
    case 0x3d5: return t->crtc_index < VGA_CRTC_REGS ? t->crtc[t->crtc_index] : 0xff;
    case 0x3da: {
        /* Input status 1. Reading it resets the attribute controller to
         * expect an index. The retrace bits have no real timing: they toggle
         * as the guest polls, so "wait for retrace" loops always finish
         * (bit 0: display disabled, bit 3: vertical retrace). */
        t->ac_flipflop = false;
        uint32_t n = t->status_reads++;
        uint8_t v = 0;
        if (n & 1) v |= 0x01;
        if ((n >> 3) & 1) v |= 0x09;
        return v;
    }
    default: return 0xff;
    }
}

void vga_text_write(struct vga_text *t, uint16_t port, uint8_t val)
{
    switch (port) {
    case 0x3c0:
        if (!t->ac_flipflop) t->ac_index = val & 0x3f;
        else if ((t->ac_index & 0x1f) < VGA_AC_REGS) t->ac[t->ac_index & 0x1f] = val;
        t->ac_flipflop = !t->ac_flipflop;
        break;
    case 0x3c2: t->misc = val; break;
    case 0x3c4: t->seq_index = val; break;
    case 0x3c5: if (t->seq_index < VGA_SEQ_REGS) t->seq[t->seq_index] = val; break;
    case 0x3c6: t->dac_mask = val; break;
    case 0x3c7: t->dac_read_index = val; t->dac_comp = 0; t->dac_state = 0x03; break;
    case 0x3c8: t->dac_write_index = val; t->dac_comp = 0; t->dac_state = 0x00; break;
    case 0x3c9:
        t->dac[t->dac_write_index][t->dac_comp] = val & 0x3f;
        if (++t->dac_comp == 3) {
            t->dac_comp = 0;
            t->dac_write_index++;
        }
        break;
    case 0x3ce: t->gc_index = val; break;
    case 0x3cf: if (t->gc_index < VGA_GC_REGS) t->gc[t->gc_index] = val; break;
    case 0x3d4: t->crtc_index = val; break;
    case 0x3d5: crtc_write(t, val); break;
    case 0x3da: t->feature = val; break;
    default: break;
    }
}

/* Word and dword accesses go to consecutive ports, low byte first (an
 * "outw 0x3d4" writes index and data in one go). */
static uint32_t vga_io_read(void *opaque, uint16_t port, int size)
{
    uint32_t v = 0;
    for (int i = 0; i < size; i++) v |= (uint32_t)vga_text_read(opaque, (uint16_t)(port + i)) << (8 * i);
    return v;
}

static void vga_io_write(void *opaque, uint16_t port, uint32_t val, int size)
{
    for (int i = 0; i < size; i++) vga_text_write(opaque, (uint16_t)(port + i), (uint8_t)(val >> (8 * i)));
}

int vga_text_init(struct vga_text *t, struct iobus *bus)
{
    vga_text_reset(t);
    if (iobus_register(bus, 0x3c0, 16, vga_io_read, vga_io_write, t, "vga") ||
        iobus_register(bus, 0x3d0, 16, vga_io_read, vga_io_write, t, "vga-crtc"))
        return -1;
    return 0;
}

void vga_text_view(const struct vga_text *t, struct vga_text_view *v)
{
    v->start = (uint16_t)(t->crtc[0x0c] << 8 | t->crtc[0x0d]);
    v->cursor = (uint16_t)(t->crtc[0x0e] << 8 | t->crtc[0x0f]);
    v->cursor_on = !(t->crtc[0x0a] & 0x20);
    v->cursor_top = t->crtc[0x0a] & 0x1f;
    v->cursor_bottom = t->crtc[0x0b] & 0x1f;
    v->blink = (t->ac[0x10] & 0x08) != 0;
}
