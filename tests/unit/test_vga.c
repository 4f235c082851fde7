/* VGA text console: the registers (CRTC, attribute controller, status, misc,
 * DAC) through the I/O bus, SDL key to set-1 scancode translation, and the
 * renderer from text buffer + registers + font to pixels. */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/iobus.h"
#include "devices/vga_text.h"
#include "frontend/sdl_keymap.h"
#include "frontend/vga_font.h"
#include "frontend/vga_render.h"

static struct iobus bus;
static struct vga_text vga;

static void setup(void)
{
    iobus_init(&bus);
    cr_assert_eq(vga_text_init(&vga, &bus), 0);
}

static uint8_t crtc_get(uint8_t i)
{
    iobus_out(&bus, 0x3d4, i, 1);
    return (uint8_t)iobus_in(&bus, 0x3d5, 1);
}

static void crtc_set(uint8_t i, uint8_t v)
{
    iobus_out(&bus, 0x3d4, i, 1);
    iobus_out(&bus, 0x3d5, v, 1);
}

Test(vga_regs, mode3_defaults, .init = setup)
{
    cr_assert_eq(crtc_get(0x01), 0x4f);   /* 80 columns */
    cr_assert_eq(crtc_get(0x09), 0x4f);   /* 16 scan lines per row */
    cr_assert_eq(crtc_get(0x0a), 0x0d);
    cr_assert_eq(crtc_get(0x0b), 0x0e);
    cr_assert_eq(crtc_get(0x11), 0x8e);
    cr_assert_eq(iobus_in(&bus, 0x3d4, 1), 0x11); /* the index reads back */
    cr_assert_eq(iobus_in(&bus, 0x3cc, 1), 0x67); /* colour: CRTC at 0x3dx */
    struct vga_text_view v;
    vga_text_view(&vga, &v);
    cr_assert_eq(v.start, 0);
    cr_assert_eq(v.cursor, 0);
    cr_assert(v.cursor_on);
    cr_assert_eq(v.cursor_top, 13);
    cr_assert_eq(v.cursor_bottom, 14);
    cr_assert(v.blink);
}

Test(vga_regs, cursor_start_and_shape, .init = setup)
{
    crtc_set(0x0e, 0x07);
    crtc_set(0x0f, 0xd0);
    crtc_set(0x0c, 0x01);
    crtc_set(0x0d, 0x40);
    crtc_set(0x0a, 0x20 | 0x02);
    crtc_set(0x0b, 0x0f);
    cr_assert_eq(crtc_get(0x0e), 0x07);
    cr_assert_eq(crtc_get(0x0f), 0xd0);
    struct vga_text_view v;
    vga_text_view(&vga, &v);
    cr_assert_eq(v.cursor, 0x07d0);
    cr_assert_eq(v.start, 0x0140);
    cr_assert_not(v.cursor_on);
    cr_assert_eq(v.cursor_top, 2);
    cr_assert_eq(v.cursor_bottom, 15);
    /* outw 0x3d4: index in the low byte, data in the high byte */
    iobus_out(&bus, 0x3d4, 0x340f, 2);
    cr_assert_eq(crtc_get(0x0f), 0x34);
    cr_assert_eq(iobus_in(&bus, 0x3d4, 2), 0x340f);
}

Test(vga_regs, protect_bit_guards_registers_0_to_7, .init = setup)
{
    crtc_set(0x01, 0x27);
    cr_assert_eq(crtc_get(0x01), 0x4f);           /* protected by 0x11 bit 7 */
    crtc_set(0x07, 0x00);
    cr_assert_eq(crtc_get(0x07), 0x1f & ~0x10);   /* only line compare bit 8 changes */
    crtc_set(0x11, 0x0e);
    crtc_set(0x01, 0x27);
    cr_assert_eq(crtc_get(0x01), 0x27);
}

Test(vga_regs, out_of_range_indexes, .init = setup)
{
    crtc_set(0x30, 0x55);
    cr_assert_eq(crtc_get(0x30), 0xff);
    iobus_out(&bus, 0x3c4, 0x09, 1);
    cr_assert_eq(iobus_in(&bus, 0x3c5, 1), 0xff);
    iobus_out(&bus, 0x3ce, 0x06, 1);
    cr_assert_eq(iobus_in(&bus, 0x3cf, 1), 0x0e); /* text mode memory map at 0xb8000 */
}

Test(vga_regs, status_toggles_retrace_and_resets_attribute_flipflop, .init = setup)
{
    uint8_t seen_or = 0, seen_and = 0xff;
    for (int i = 0; i < 32; i++) {
        uint8_t s = (uint8_t)iobus_in(&bus, 0x3da, 1);
        seen_or |= s;
        seen_and &= s;
    }
    cr_assert_eq(seen_or & 0x09, 0x09); /* both bits are seen set ... */
    cr_assert_eq(seen_and & 0x09, 0);   /* ... and clear */
    /* A stray data write leaves the flip-flop in "data"; 0x3da resets it. */
    iobus_out(&bus, 0x3c0, 0x10, 1);
    (void)iobus_in(&bus, 0x3da, 1);
    iobus_out(&bus, 0x3c0, 0x30, 1);    /* index 0x10, palette source on */
    iobus_out(&bus, 0x3c0, 0x04, 1);    /* mode control: blink off */
    cr_assert_eq(iobus_in(&bus, 0x3c0, 1), 0x30);
    cr_assert_eq(iobus_in(&bus, 0x3c1, 1), 0x04);
    struct vga_text_view v;
    vga_text_view(&vga, &v);
    cr_assert_not(v.blink);
}

Test(vga_regs, misc_output_and_dac, .init = setup)
{
    iobus_out(&bus, 0x3c2, 0x63, 1);
    cr_assert_eq(iobus_in(&bus, 0x3cc, 1), 0x63);
    iobus_out(&bus, 0x3c8, 5, 1);
    iobus_out(&bus, 0x3c9, 1, 1);
    iobus_out(&bus, 0x3c9, 2, 1);
    iobus_out(&bus, 0x3c9, 0x7f, 1);    /* 6-bit DAC */
    cr_assert_eq(iobus_in(&bus, 0x3c8, 1), 6);
    iobus_out(&bus, 0x3c7, 5, 1);
    cr_assert_eq(iobus_in(&bus, 0x3c7, 1), 0x03);
    cr_assert_eq(iobus_in(&bus, 0x3c9, 1), 1);
    cr_assert_eq(iobus_in(&bus, 0x3c9, 1), 2);
    cr_assert_eq(iobus_in(&bus, 0x3c9, 1), 0x3f);
    iobus_out(&bus, 0x3c7, 0x3f, 1);    /* EGA colour 63: white */
    cr_assert_eq(iobus_in(&bus, 0x3c9, 1), 63);
    cr_assert_eq(iobus_in(&bus, 0x3c9, 1), 63);
    cr_assert_eq(iobus_in(&bus, 0x3c9, 1), 63);
}

/* --- SDL keys to set 1 --- */

static void expect_key(SDL_Scancode sc, bool down, const uint8_t *want, int n)
{
    uint8_t out[SDL_KEYMAP_MAX_BYTES] = { 0 };
    int got = sdl_key_to_set1(sc, down, out);
    cr_assert_eq(got, n, "scancode %d down=%d: %d bytes, want %d", (int)sc, down, got, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(out[i], want[i], "scancode %d down=%d byte %d: %02x, want %02x", (int)sc, down, i, out[i], want[i]);
}

Test(vga_keymap, plain_keys)
{
    expect_key(SDL_SCANCODE_A, true, (const uint8_t[]){ 0x1e }, 1);
    expect_key(SDL_SCANCODE_A, false, (const uint8_t[]){ 0x9e }, 1);
    expect_key(SDL_SCANCODE_Z, true, (const uint8_t[]){ 0x2c }, 1);
    expect_key(SDL_SCANCODE_1, true, (const uint8_t[]){ 0x02 }, 1);
    expect_key(SDL_SCANCODE_0, false, (const uint8_t[]){ 0x8b }, 1);
    expect_key(SDL_SCANCODE_ESCAPE, true, (const uint8_t[]){ 0x01 }, 1);
    expect_key(SDL_SCANCODE_RETURN, true, (const uint8_t[]){ 0x1c }, 1);
    expect_key(SDL_SCANCODE_BACKSPACE, true, (const uint8_t[]){ 0x0e }, 1);
    expect_key(SDL_SCANCODE_SPACE, false, (const uint8_t[]){ 0xb9 }, 1);
    expect_key(SDL_SCANCODE_LSHIFT, true, (const uint8_t[]){ 0x2a }, 1);
    expect_key(SDL_SCANCODE_RSHIFT, false, (const uint8_t[]){ 0xb6 }, 1);
    expect_key(SDL_SCANCODE_LCTRL, true, (const uint8_t[]){ 0x1d }, 1);
    expect_key(SDL_SCANCODE_F1, true, (const uint8_t[]){ 0x3b }, 1);
    expect_key(SDL_SCANCODE_F11, true, (const uint8_t[]){ 0x57 }, 1);
    expect_key(SDL_SCANCODE_F12, false, (const uint8_t[]){ 0xd8 }, 1);
    expect_key(SDL_SCANCODE_KP_7, true, (const uint8_t[]){ 0x47 }, 1);
    expect_key(SDL_SCANCODE_KP_MULTIPLY, true, (const uint8_t[]){ 0x37 }, 1);
}

Test(vga_keymap, extended_keys_have_e0)
{
    expect_key(SDL_SCANCODE_UP, true, (const uint8_t[]){ 0xe0, 0x48 }, 2);
    expect_key(SDL_SCANCODE_UP, false, (const uint8_t[]){ 0xe0, 0xc8 }, 2);
    expect_key(SDL_SCANCODE_LEFT, true, (const uint8_t[]){ 0xe0, 0x4b }, 2);
    expect_key(SDL_SCANCODE_DELETE, true, (const uint8_t[]){ 0xe0, 0x53 }, 2);
    expect_key(SDL_SCANCODE_HOME, false, (const uint8_t[]){ 0xe0, 0xc7 }, 2);
    expect_key(SDL_SCANCODE_RCTRL, true, (const uint8_t[]){ 0xe0, 0x1d }, 2);
    expect_key(SDL_SCANCODE_RALT, false, (const uint8_t[]){ 0xe0, 0xb8 }, 2);
    expect_key(SDL_SCANCODE_KP_ENTER, true, (const uint8_t[]){ 0xe0, 0x1c }, 2);
    expect_key(SDL_SCANCODE_KP_DIVIDE, true, (const uint8_t[]){ 0xe0, 0x35 }, 2);
    expect_key(SDL_SCANCODE_LGUI, true, (const uint8_t[]){ 0xe0, 0x5b }, 2);
}

Test(vga_keymap, special_sequences_and_unknown_keys)
{
    expect_key(SDL_SCANCODE_PAUSE, true, (const uint8_t[]){ 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 }, 6);
    expect_key(SDL_SCANCODE_PAUSE, false, NULL, 0);
    expect_key(SDL_SCANCODE_PRINTSCREEN, true, (const uint8_t[]){ 0xe0, 0x2a, 0xe0, 0x37 }, 4);
    expect_key(SDL_SCANCODE_PRINTSCREEN, false, (const uint8_t[]){ 0xe0, 0xb7, 0xe0, 0xaa }, 4);
    expect_key(SDL_SCANCODE_UNKNOWN, true, NULL, 0);
    expect_key(SDL_SCANCODE_F24, true, NULL, 0);
    expect_key((SDL_Scancode)SDL_NUM_SCANCODES, true, NULL, 0);
    expect_key((SDL_Scancode)-1, true, NULL, 0);
}

/* --- the renderer --- */

static vga_glyph test_font[256];
static uint8_t vram[VGA_TEXT_SIZE];
static uint32_t fb[VGA_FB_W * VGA_FB_H];

#define BLUE   0xff0000aau
#define YELLOW 0xffffff55u
#define BLACK  0xff000000u
#define RED_BR 0xffff5555u
#define GREY   0xff555555u
#define WHITE  0xffffffffu

static void render_setup(void)
{
    memset(test_font, 0, sizeof(test_font));
    for (int r = 0; r < 16; r++) test_font['X'][r] = (uint8_t)(0x80 >> (r % 8) | 0x01); /* diagonal + right column */
    memset(vram, 0, sizeof(vram));
    memset(fb, 0x11, sizeof(fb));
}

static void check_cell(const uint32_t *px, int pitch, uint8_t ch, uint32_t fg, uint32_t bg)
{
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 8; c++) {
            uint32_t want = (test_font[ch][r] & (0x80 >> c)) ? fg : bg;
            cr_assert_eq(px[r * pitch + c], want, "pixel (%d,%d): %08x, want %08x", c, r, px[r * pitch + c], want);
        }
}

Test(vga_render, cell_colours_and_glyph, .init = render_setup)
{
    uint32_t cell[8 * 16];
    vga_render_cell('X', 0x1e, test_font, true, false, cell, 8);
    check_cell(cell, 8, 'X', YELLOW, BLUE);
    vga_render_cell(' ', 0x1e, test_font, true, false, cell, 8);
    for (int i = 0; i < 8 * 16; i++) cr_assert_eq(cell[i], BLUE);
}

Test(vga_render, attribute_bit7_blinks_or_brightens, .init = render_setup)
{
    uint32_t cell[8 * 16];
    vga_render_cell('X', 0x8c, test_font, true, false, cell, 8);   /* blink on, visible phase */
    check_cell(cell, 8, 'X', RED_BR, BLACK);
    vga_render_cell('X', 0x8c, test_font, true, true, cell, 8);    /* hidden phase */
    for (int i = 0; i < 8 * 16; i++) cr_assert_eq(cell[i], BLACK);
    vga_render_cell('X', 0x8c, test_font, false, true, cell, 8);   /* blink off: bright background */
    check_cell(cell, 8, 'X', RED_BR, GREY);
    vga_render_cell('X', 0x0c, test_font, true, true, cell, 8);    /* no bit 7: never hidden */
    check_cell(cell, 8, 'X', RED_BR, BLACK);
}

static struct vga_frame_in frame_in(void)
{
    struct vga_frame_in in;
    memset(&in, 0, sizeof(in));
    in.vram = vram;
    vga_text_reset(&vga);
    vga_text_view(&vga, &in.view);
    in.font = test_font;
    return in;
}

Test(vga_render, frame_places_cells_and_honours_start_address, .init = render_setup)
{
    /* row 2, column 5 = cell 165; with start = 80 it appears on row 1 */
    vram[165 * 2] = 'X';
    vram[165 * 2 + 1] = 0x1e;
    struct vga_frame_in in = frame_in();
    in.view.cursor_on = false;
    vga_render_frame(&in, fb);
    check_cell(fb + 2 * 16 * VGA_FB_W + 5 * 8, VGA_FB_W, 'X', YELLOW, BLUE);
    cr_assert_eq(fb[0], BLACK);                          /* attribute 0 cells */
    cr_assert_eq(fb[VGA_FB_W * VGA_FB_H - 1], BLACK);
    in.view.start = 80;
    vga_render_frame(&in, fb);
    check_cell(fb + 1 * 16 * VGA_FB_W + 5 * 8, VGA_FB_W, 'X', YELLOW, BLUE);
    cr_assert_eq(fb[2 * 16 * VGA_FB_W + 5 * 8 + 7], BLACK);
    /* start near the end of the 32 KiB window wraps to its beginning */
    in.view.start = 0x4000 - 1;
    vga_render_frame(&in, fb);
    check_cell(fb + 2 * 16 * VGA_FB_W + 6 * 8, VGA_FB_W, 'X', YELLOW, BLUE);
}

Test(vga_render, cursor_scan_lines, .init = render_setup)
{
    vram[(81 * 2) + 1] = 0x1f;                           /* white on blue at row 1, col 1 */
    struct vga_frame_in in = frame_in();
    in.view.cursor = 81;
    vga_render_frame(&in, fb);
    const uint32_t *cell = fb + 16 * VGA_FB_W + 8;
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 8; c++)
            cr_assert_eq(cell[r * VGA_FB_W + c], (r == 13 || r == 14) ? WHITE : BLUE, "(%d,%d)", c, r);
    in.cursor_off = true;                                /* blink phase */
    vga_render_frame(&in, fb);
    cr_assert_eq(cell[13 * VGA_FB_W], BLUE);
    in.cursor_off = false;
    in.view.cursor_on = false;                           /* CRTC 0x0a bit 5 */
    vga_render_frame(&in, fb);
    cr_assert_eq(cell[13 * VGA_FB_W], BLUE);
    in.view.cursor_on = true;
    in.view.cursor_top = 10;
    in.view.cursor_bottom = 5;                           /* top > bottom: no cursor */
    vga_render_frame(&in, fb);
    for (int r = 0; r < 16; r++) cr_assert_eq(cell[r * VGA_FB_W], BLUE);
    in.view.cursor_top = 0;
    in.view.cursor_bottom = 31;                          /* clipped to the cell */
    vga_render_frame(&in, fb);
    for (int r = 0; r < 16; r++) cr_assert_eq(cell[r * VGA_FB_W + 7], WHITE);
    cr_assert_eq(fb[32 * VGA_FB_W + 8], BLACK);          /* the cell below is untouched */
    in.view.cursor = 2000;                               /* off screen: nothing drawn */
    vga_render_frame(&in, fb);
    cr_assert_eq(cell[0], BLUE);
}

Test(vga_render, generated_font_is_cp437)
{
    const vga_glyph *f = vga_font8x16();
    cr_assert_not(vga_font_is_placeholder(), "build/gen/font8x16.h was not generated");
    int a = 0, sp = 0;
    for (int r = 0; r < 16; r++) {
        a += f['A'][r] != 0;
        sp += f[' '][r] != 0;
    }
    cr_assert_geq(a, 7);                                 /* 'A' has ink on many rows */
    cr_assert_eq(sp, 0);
    for (int r = 0; r < 16; r++) cr_assert_eq(f[0xdb][r], 0xff); /* full block */
    for (int r = 0; r < 16; r++) cr_assert_eq(f[0xdf][r], r < 8 ? 0xff : 0x00); /* upper half */
    cr_assert_neq(memcmp(f[0xc9], f['?'], 16), 0);       /* box drawing present, not '?' */
}
