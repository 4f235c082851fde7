/* Turns the VGA text buffer into pixels: a pure function of (text buffer,
 * register view, font, blink phases), so it can be tested without a window.
 * 80x25 cells of 8x16 pixels, the 16 CGA colours, attribute bit 7 as blink or
 * bright background, the hardware cursor from the CRTC. */
#ifndef BT86_FRONTEND_VGA_RENDER_H
#define BT86_FRONTEND_VGA_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/vga_text.h"
#include "frontend/vga_font.h"

#define VGA_COLS   80
#define VGA_ROWS   25
#define VGA_CELL_W 8
#define VGA_CELL_H 16
#define VGA_FB_W   (VGA_COLS * VGA_CELL_W)  /* 640 */
#define VGA_FB_H   (VGA_ROWS * VGA_CELL_H)  /* 400 */

/* 0xAARRGGBB (SDL_PIXELFORMAT_ARGB8888). */
extern const uint32_t vga_cga_palette[16];

struct vga_frame_in {
    const uint8_t *vram;          /* VGA_TEXT_SIZE bytes: the 0xb8000 window */
    struct vga_text_view view;
    const vga_glyph *font;        /* 256 glyphs */
    bool blink_off;               /* blinking characters are hidden now */
    bool cursor_off;              /* the blinking cursor is hidden now */
};

/* One cell at px (pitch in pixels): glyph ch in attribute attr. */
void vga_render_cell(uint8_t ch, uint8_t attr, const vga_glyph *font, bool blink_attr, bool blink_off,
                     uint32_t *px, int pitch);
/* The whole screen into VGA_FB_W x VGA_FB_H pixels (pitch VGA_FB_W). */
void vga_render_frame(const struct vga_frame_in *in, uint32_t *px);

#endif
