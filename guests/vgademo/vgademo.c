/* vgademo: the -display sdl demo and test guest. Writes coloured text to the
 * VGA text buffer at 0xb8000 (all 16x16 colour pairs, a blinking word, CP437
 * box drawing), moves the hardware cursor through the CRTC, then reads
 * set-1 scancodes from the 8042 (port 0x60, polled) and echoes the keys as
 * characters on the screen. Each scancode is also logged to COM1 as
 * "scancode XX". Escape ends the run with exit code 0. */
#include <stdbool.h>

#include "../lib/rt.h"

#define COLS 80
#define ROWS 25

static volatile uint16_t *const vram = (volatile uint16_t *)0xb8000;
static int cur_row, cur_col;

static void put_at(int row, int col, char c, uint8_t attr)
{
    vram[row * COLS + col] = (uint16_t)((uint8_t)c | attr << 8);
}

static void text_at(int row, int col, const char *s, uint8_t attr)
{
    for (; *s && col < COLS; s++) put_at(row, col++, *s, attr);
}

static void crtc_write(uint8_t index, uint8_t val)
{
    outb(0x3d4, index);
    outb(0x3d5, val);
}

static uint8_t crtc_read(uint8_t index)
{
    outb(0x3d4, index);
    return inb(0x3d5);
}

static void set_cursor(int row, int col)
{
    uint16_t pos = (uint16_t)(row * COLS + col);
    crtc_write(0x0e, (uint8_t)(pos >> 8));
    crtc_write(0x0f, (uint8_t)pos);
}

/* Set-1 make codes 0x00-0x39 to ASCII, unshifted and shifted. */
static const char plain[0x3a] = {
    0, 27, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b', '\t',
    'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\n', 0, 'a', 's',
    'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0, '\\', 'z', 'x', 'c', 'v',
    'b', 'n', 'm', ',', '.', '/', 0, '*', 0, ' ',
};
static const char shifted[0x3a] = {
    0, 27, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b', '\t',
    'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\n', 0, 'A', 'S',
    'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0, '|', 'Z', 'X', 'C', 'V',
    'B', 'N', 'M', '<', '>', '?', 0, '*', 0, ' ',
};

#define INPUT_TOP 16
#define INPUT_ATTR 0x1f /* bright white on blue */

static void echo(char c)
{
    if (c == '\n') {
        cur_col = 0;
        if (++cur_row >= ROWS) cur_row = INPUT_TOP;
    } else if (c == '\b') {
        if (cur_col > 0) put_at(cur_row, --cur_col, ' ', INPUT_ATTR);
    } else {
        put_at(cur_row, cur_col, c, INPUT_ATTR);
        if (++cur_col >= COLS) {
            cur_col = 0;
            if (++cur_row >= ROWS) cur_row = INPUT_TOP;
        }
    }
    set_cursor(cur_row, cur_col);
}

static void draw_screen(void)
{
    for (int i = 0; i < COLS * ROWS; i++) vram[i] = 0x0720;
    for (int c = 0; c < COLS; c++) put_at(0, c, ' ', 0x4e);
    text_at(0, 2, "bt86 VGA text demo", 0x4e);
    text_at(0, 50, "Esc ends the run", 0x4f);
    text_at(2, 2, "All 16 x 16 colour pairs (foreground = column, background = row):", 0x07);
    for (int bg = 0; bg < 8; bg++)
        for (int fg = 0; fg < 16; fg++) {
            uint8_t a = (uint8_t)(bg << 4 | fg);
            put_at(3 + bg, 2 + fg * 4, 'A', a);
            put_at(3 + bg, 3 + fg * 4, 'b', a);
            put_at(3 + bg, 4 + fg * 4, '0' + (fg % 10), a);
        }
    text_at(3, 68, "Blink:", 0x07);
    text_at(4, 68, "BLINK", 0x8c); /* red on black, blink bit */
    text_at(6, 68, "CP437:", 0x07);
    static const char box[] = { (char)0xc9, (char)0xcd, (char)0xcd, (char)0xbb, 0 };
    static const char mid[] = { (char)0xba, (char)0x03, (char)0x0e, (char)0xba, 0 };
    static const char bot[] = { (char)0xc8, (char)0xcd, (char)0xcd, (char)0xbc, 0 };
    text_at(7, 68, box, 0x0b);
    text_at(8, 68, mid, 0x0b);
    text_at(9, 68, bot, 0x0b);
    static const char shades[] = { (char)0xb0, (char)0xb1, (char)0xb2, (char)0xdb, (char)0xdc, (char)0xdf, 0 };
    text_at(10, 68, shades, 0x0e);
    text_at(12, 2, "Lower-case: the quick brown fox jumps over the lazy dog 0123456789", 0x0a);
    text_at(14, 2, "Type here (keys come from the 8042, port 0x60):", 0x0f);
    for (int r = INPUT_TOP; r < ROWS; r++)
        for (int c = 0; c < COLS; c++) put_at(r, c, ' ', INPUT_ATTR);
    cur_row = INPUT_TOP;
    cur_col = 0;
    set_cursor(cur_row, cur_col);
}

int guest_main(uint32_t magic, const struct mb_info *info)
{
    (void)magic;
    (void)info;
    serial_init();
    draw_screen();
    /* The CRTC holds what we wrote; report it so a test can check it. */
    printf("vgademo: screen drawn, cursor at %u\n", (unsigned)(crtc_read(0x0e) << 8 | crtc_read(0x0f)));
    bool shift = false;
    for (;;) {
        if (!(inb(0x64) & 0x01)) {
            __asm__ volatile("pause");
            continue;
        }
        uint8_t sc = inb(0x60);
        printf("scancode %02x\n", sc);
        if (sc == 0xe0) continue; /* the next byte is an extended key's code */
        uint8_t code = sc & 0x7f;
        bool down = !(sc & 0x80);
        if (code == 0x2a || code == 0x36) {
            shift = down;
            continue;
        }
        if (!down) continue;
        if (code == 0x01) {
            printf("vgademo: Escape pressed, exiting\n");
            return 0;
        }
        if (code < sizeof(plain) && plain[code] && plain[code] != 27) echo(shift ? shifted[code] : plain[code]);
    }
}
