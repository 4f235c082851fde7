/* The VGA font (frontend/vga_font.h): the generated table, or boxes when the
 * build did not generate it (so the tree still compiles without the rule). */
#include "frontend/vga_font.h"

#if defined(__has_include)
#if __has_include("build/gen/font8x16.h")
#include "build/gen/font8x16.h"
#define HAVE_FONT 1
#endif
#endif

#ifdef HAVE_FONT
const vga_glyph *vga_font8x16(void) { return font8x16_data; }
bool vga_font_is_placeholder(void) { return false; }
#else
static vga_glyph boxes[256];

/* Every non-blank character as an outlined box. */
const vga_glyph *vga_font8x16(void)
{
    if (!boxes['A'][2]) {
        for (int c = 0; c < 256; c++) {
            if (c == 0 || c == ' ' || c == 0xff) continue;
            boxes[c][2] = boxes[c][13] = 0x7e;
            for (int r = 3; r < 13; r++) boxes[c][r] = 0x42;
        }
    }
    return boxes;
}
bool vga_font_is_placeholder(void) { return true; }
#endif
