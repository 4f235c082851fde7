/* The text-mode renderer (frontend/vga_render.h). */
#include "frontend/vga_render.h"

const uint32_t vga_cga_palette[16] = {
    0xff000000, 0xff0000aa, 0xff00aa00, 0xff00aaaa, 0xffaa0000, 0xffaa00aa, 0xffaa5500, 0xffaaaaaa,
    0xff555555, 0xff5555ff, 0xff55ff55, 0xff55ffff, 0xffff5555, 0xffff55ff, 0xffffff55, 0xffffffff,
};

void vga_render_cell(uint8_t ch, uint8_t attr, const vga_glyph *font, bool blink_attr, bool blink_off,
                     uint32_t *px, int pitch)
{
    uint32_t fg = vga_cga_palette[attr & 0x0f];
    uint32_t bg;
    bool hidden = false;
    if (blink_attr) {
        /* Bit 7 blinks the character; the background has 8 colours. */
        bg = vga_cga_palette[(attr >> 4) & 0x07];
        hidden = (attr & 0x80) && blink_off;
    } else {
        bg = vga_cga_palette[attr >> 4];
    }
    for (int r = 0; r < VGA_CELL_H; r++) {
        uint8_t bits = hidden ? 0 : font[ch][r];
        uint32_t *row = px + r * pitch;
        for (int c = 0; c < VGA_CELL_W; c++) row[c] = (bits & (0x80 >> c)) ? fg : bg;
    }
}

void vga_render_frame(const struct vga_frame_in *in, uint32_t *px)
{
    const struct vga_text_view *v = &in->view;
    const unsigned ncells = VGA_TEXT_SIZE / 2;
    for (int row = 0; row < VGA_ROWS; row++) {
        for (int col = 0; col < VGA_COLS; col++) {
            unsigned cell = (v->start + (unsigned)(row * VGA_COLS + col)) % ncells;
            uint8_t ch = in->vram[cell * 2], attr = in->vram[cell * 2 + 1];
            uint32_t *p = px + row * VGA_CELL_H * VGA_FB_W + col * VGA_CELL_W;
            vga_render_cell(ch, attr, in->font, v->blink, in->blink_off, p, VGA_FB_W);
        }
    }
    /* The cursor: scan lines top..bottom of the cursor cell in its foreground
     * colour (none if top > bottom, as on the VGA). */
    if (!v->cursor_on || in->cursor_off || v->cursor_top > v->cursor_bottom) return;
    unsigned rel = (v->cursor - v->start) & 0xffffu;
    if (rel >= VGA_COLS * VGA_ROWS) return;
    unsigned cell = v->cursor % ncells;
    uint32_t fg = vga_cga_palette[in->vram[cell * 2 + 1] & 0x0f];
    uint32_t *p = px + (rel / VGA_COLS) * VGA_CELL_H * VGA_FB_W + (rel % VGA_COLS) * VGA_CELL_W;
    int bottom = v->cursor_bottom < VGA_CELL_H ? v->cursor_bottom : VGA_CELL_H - 1;
    for (int r = v->cursor_top; r <= bottom; r++)
        for (int c = 0; c < VGA_CELL_W; c++) p[r * VGA_FB_W + c] = fg;
}
