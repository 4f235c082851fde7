/* The 8x16 glyphs of the VGA text display, in code page 437 order (one byte
 * per scan line, bit 7 = leftmost pixel). They come from a Debian console
 * font turned into build/gen/font8x16.h at build time by scripts/psf2c.c. */
#ifndef BT86_FRONTEND_VGA_FONT_H
#define BT86_FRONTEND_VGA_FONT_H

#include <stdbool.h>

typedef unsigned char vga_glyph[16];

/* The 256 glyphs. */
const vga_glyph *vga_font8x16(void);
/* True if build/gen/font8x16.h was missing when this was compiled: the glyphs
 * are then plain boxes (the display still works, text is unreadable). */
bool vga_font_is_placeholder(void);

#endif
