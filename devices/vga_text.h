/* The register side of a VGA in 80x25 colour text mode (mode 3): the CRTC
 * (0x3d4/0x3d5: cursor shape and location, display start address), input
 * status 1 (0x3da, which also resets the attribute controller's flip-flop),
 * misc output (0x3c2 write / 0x3cc read), the attribute controller
 * (0x3c0/0x3c1), sequencer (0x3c4/0x3c5), graphics controller (0x3ce/0x3cf)
 * and DAC (0x3c6-0x3c9) as plain read-back registers. Enough for guests and
 * Linux's vgacon to find colour text at 0xb8000. The text buffer itself is
 * ordinary guest RAM at 0xb8000-0xbffff; a display (frontend/display_sdl.h)
 * reads it together with the state here. */
#ifndef BT86_DEVICES_VGA_TEXT_H
#define BT86_DEVICES_VGA_TEXT_H

#include <stdbool.h>
#include <stdint.h>

struct iobus;

#define VGA_TEXT_BASE  0xb8000u
#define VGA_TEXT_SIZE  0x8000u   /* 32 KiB window: 16 Ki character cells */
#define VGA_CRTC_REGS  25
#define VGA_AC_REGS    21
#define VGA_SEQ_REGS   5
#define VGA_GC_REGS    9

struct vga_text {
    uint8_t crtc_index;
    uint8_t crtc[VGA_CRTC_REGS];
    uint8_t misc;                /* misc output (bit 0: CRTC at 0x3dx) */
    uint8_t ac_index;            /* index register incl. bit 5 (palette address source) */
    bool ac_flipflop;            /* false: next 0x3c0 write is an index */
    uint8_t ac[VGA_AC_REGS];
    uint8_t seq_index, seq[VGA_SEQ_REGS];
    uint8_t gc_index, gc[VGA_GC_REGS];
    uint8_t dac_mask, dac_read_index, dac_write_index, dac_comp, dac_state;
    uint8_t dac[256][3];
    uint8_t feature;
    uint32_t status_reads;       /* drives the retrace bits of 0x3da */
};

/* Mode 3 register values; then claim ports 0x3c0-0x3cf and 0x3d4-0x3d5,
 * 0x3da. 0, or -1 if the bus is out of handler slots. */
int  vga_text_init(struct vga_text *t, struct iobus *bus);
void vga_text_reset(struct vga_text *t);
uint8_t vga_text_read(struct vga_text *t, uint16_t port);
void    vga_text_write(struct vga_text *t, uint16_t port, uint8_t val);

/* What a display needs, decoded from the registers. */
struct vga_text_view {
    uint16_t start;        /* first displayed cell (CRTC 0x0c/0x0d), in cells */
    uint16_t cursor;       /* cursor cell (CRTC 0x0e/0x0f) */
    bool cursor_on;        /* CRTC 0x0a bit 5 clear */
    uint8_t cursor_top, cursor_bottom; /* scan lines (CRTC 0x0a/0x0b bits 0-4) */
    bool blink;            /* attribute bit 7 blinks (AC 0x10 bit 3) rather than brightening the background */
};
void vga_text_view(const struct vga_text *t, struct vga_text_view *v);

#endif
