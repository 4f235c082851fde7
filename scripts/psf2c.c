/* psf2c: turn Linux console fonts (PSF version 1 or 2) into a C header
 * holding 256 8x16 glyphs in code page 437 order, the character set of the
 * VGA text buffer. Fonts with a Unicode table (all of
 * Debian's console-setup fonts) are looked up by the Unicode code point of each
 * CP437 character; fonts without one are taken in glyph order.
 *
 *   psf2c /usr/share/consolefonts/Uni2-VGA16.psf.gz [FALLBACK.psf.gz...] > font8x16.h
 *
 * Characters the first font lacks come from the fallbacks in order; the
 * shade and block characters are drawn if no font has them; anything still
 * missing shows as '?'. (.gz files are read through gzip -dc.)
 *
 * Built and run on the host at build time (see the Makefile rule for
 * build/gen/font8x16.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unicode code point of each CP437 byte (0x00 is shown blank). */
static const uint16_t cp437[256] = {
    0x0020, 0x263a, 0x263b, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
    0x25d8, 0x25cb, 0x25d9, 0x2642, 0x2640, 0x266a, 0x266b, 0x263c,
    0x25ba, 0x25c4, 0x2195, 0x203c, 0x00b6, 0x00a7, 0x25ac, 0x21a8,
    0x2191, 0x2193, 0x2192, 0x2190, 0x221f, 0x2194, 0x25b2, 0x25bc,
    0x0020, 0x0021, 0x0022, 0x0023, 0x0024, 0x0025, 0x0026, 0x0027,
    0x0028, 0x0029, 0x002a, 0x002b, 0x002c, 0x002d, 0x002e, 0x002f,
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,
    0x0038, 0x0039, 0x003a, 0x003b, 0x003c, 0x003d, 0x003e, 0x003f,
    0x0040, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,
    0x0048, 0x0049, 0x004a, 0x004b, 0x004c, 0x004d, 0x004e, 0x004f,
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,
    0x0058, 0x0059, 0x005a, 0x005b, 0x005c, 0x005d, 0x005e, 0x005f,
    0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,
    0x0068, 0x0069, 0x006a, 0x006b, 0x006c, 0x006d, 0x006e, 0x006f,
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,
    0x0078, 0x0079, 0x007a, 0x007b, 0x007c, 0x007d, 0x007e, 0x2302,
    0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7,
    0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5,
    0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
    0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192,
    0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa, 0x00ba,
    0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
    0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
    0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
    0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
    0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
    0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
    0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229,
    0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
    0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};

#define MAX_FONT (4u << 20)
#define MAX_GLYPHS 4096

static unsigned char buf[MAX_FONT];
static size_t len;
static long glyph_of[0x110000]; /* code point -> glyph index + 1 */

static void die(const char *msg)
{
    fprintf(stderr, "psf2c: %s\n", msg);
    exit(1);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void map(uint32_t cp, unsigned glyph)
{
    if (cp < sizeof(glyph_of) / sizeof(glyph_of[0]) && !glyph_of[cp]) glyph_of[cp] = (long)glyph + 1;
}

/* PSF1 table: per glyph, 16-bit code points, 0xFFFE starts sequences (skipped),
 * 0xFFFF ends the glyph's entry. */
static void table_psf1(size_t off, unsigned nglyphs)
{
    for (unsigned g = 0; g < nglyphs && off + 1 < len; g++) {
        int in_seq = 0;
        while (off + 1 < len) {
            uint16_t u = (uint16_t)(buf[off] | buf[off + 1] << 8);
            off += 2;
            if (u == 0xffff) break;
            if (u == 0xfffe) in_seq = 1;
            else if (!in_seq) map(u, g);
        }
    }
}

/* PSF2 table: UTF-8, 0xFE starts sequences (skipped), 0xFF ends the entry. */
static void table_psf2(size_t off, unsigned nglyphs)
{
    for (unsigned g = 0; g < nglyphs && off < len; g++) {
        int in_seq = 0;
        while (off < len) {
            unsigned char c = buf[off];
            if (c == 0xff) { off++; break; }
            if (c == 0xfe) { in_seq = 1; off++; continue; }
            uint32_t cp;
            int n;
            if (c < 0x80) { cp = c; n = 1; }
            else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; n = 2; }
            else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; n = 3; }
            else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; n = 4; }
            else { off++; continue; }
            if (off + (size_t)n > len) return;
            for (int i = 1; i < n; i++) cp = cp << 6 | (buf[off + (size_t)i] & 0x3f);
            off += (size_t)n;
            if (!in_seq) map(cp, g);
        }
    }
}

/* The shades and block elements are pure geometry: draw them when the font
 * lacks them (Uni2-VGA16 has no U+2593 and no half blocks). Returns -1 if c is
 * not one of them. */
static int synth_row(unsigned c, unsigned r)
{
    switch (c) {
    case 0xb0: return (r & 1) ? 0x22 : 0x88;   /* light shade */
    case 0xb1: return (r & 1) ? 0x55 : 0xaa;   /* medium shade */
    case 0xb2: return (r & 1) ? 0xdd : 0x77;   /* dark shade */
    case 0xdb: return 0xff;                    /* full block */
    case 0xdc: return r >= 8 ? 0xff : 0x00;    /* lower half */
    case 0xdd: return 0xf0;                    /* left half */
    case 0xde: return 0x0f;                    /* right half */
    case 0xdf: return r < 8 ? 0xff : 0x00;     /* upper half */
    default: return -1;
    }
}

static unsigned char out[256][16];
static int have[256];         /* 0 = none yet, 1 = from a font, 2 = drawn */
static unsigned char qmark[16];
static int have_qmark;

/* Read one font (gunzipped through gzip if its name ends in .gz) into buf. */
static void load(const char *path)
{
    size_t n = strlen(path);
    FILE *f;
    int piped = n > 3 && strcmp(path + n - 3, ".gz") == 0;
    if (piped) {
        char cmd[4096];
        if (strchr(path, '\'') || n > sizeof(cmd) - 32) die("odd font file name");
        snprintf(cmd, sizeof(cmd), "gzip -dc -- '%s'", path);
        f = popen(cmd, "r");
    } else {
        f = fopen(path, "rb");
    }
    if (!f) die("cannot open the font");
    len = fread(buf, 1, sizeof(buf), f);
    int bad = piped ? pclose(f) != 0 : fclose(f) != 0;
    if (bad || len == 0) die("cannot read the font");
    if (len == sizeof(buf)) die("font too large");
}

/* Take from the font in buf every CP437 character still missing. */
static void take(const char *name)
{
    size_t glyphs_off, charsize;
    unsigned nglyphs, height, width;
    int has_table, v2;
    if (len >= 4 && buf[0] == 0x36 && buf[1] == 0x04) {
        v2 = 0;
        nglyphs = (buf[2] & 0x01) ? 512 : 256;
        has_table = (buf[2] & 0x06) != 0;
        charsize = height = buf[3];
        width = 8;
        glyphs_off = 4;
    } else if (len >= 32 && le32(buf) == 0x864ab572u) {
        v2 = 1;
        glyphs_off = le32(buf + 8);
        has_table = le32(buf + 12) & 1;
        nglyphs = le32(buf + 16);
        charsize = le32(buf + 20);
        height = le32(buf + 24);
        width = le32(buf + 28);
    } else {
        fprintf(stderr, "psf2c: %s: ", name);
        die("not a PSF font");
    }
    if (width != 8 || height != 16 || charsize != 16) {
        fprintf(stderr, "psf2c: %s: ", name);
        die("need an 8x16 font");
    }
    if (nglyphs == 0 || nglyphs > MAX_GLYPHS || glyphs_off + nglyphs * charsize > len) die("truncated font");
    memset(glyph_of, 0, sizeof(glyph_of));
    if (has_table) {
        size_t table_off = glyphs_off + nglyphs * charsize;
        if (v2) table_psf2(table_off, nglyphs);
        else table_psf1(table_off, nglyphs);
    }
    for (unsigned c = 0; c < 256; c++) {
        if (have[c]) continue;
        long g = has_table ? glyph_of[cp437[c]] - 1 : (c < nglyphs ? (long)c : -1);
        if (g < 0) continue;
        memcpy(out[c], buf + glyphs_off + (size_t)g * charsize, 16);
        have[c] = 1;
    }
    long q = has_table ? glyph_of['?'] - 1 : '?';
    if (!have_qmark && q >= 0) {
        memcpy(qmark, buf + glyphs_off + (size_t)q * charsize, 16);
        have_qmark = 1;
    }
}

/* psf2c FONT [FALLBACK...]: characters missing from the first font come from
 * the next, then the drawn block elements, then '?'. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: psf2c FONT.psf[.gz] [FALLBACK.psf[.gz]...] > font8x16.h\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        load(argv[i]);
        take(argv[i]);
    }
    memset(out[0], 0, 16); /* NUL shows blank */
    have[0] = 1;
    int missing = 0;
    for (unsigned c = 0; c < 256; c++) {
        if (have[c]) continue;
        if (synth_row(c, 0) >= 0) {
            for (unsigned r = 0; r < 16; r++) out[c][r] = (unsigned char)synth_row(c, r);
            have[c] = 2;
            continue;
        }
        memcpy(out[c], qmark, 16);
        missing++;
        if (getenv("PSF2C_VERBOSE")) fprintf(stderr, "psf2c: no glyph for CP437 0x%02x (U+%04X)\n", c, cp437[c]);
    }

    printf("/* Generated by scripts/psf2c from");
    for (int i = 1; i < argc; i++) {
        const char *b = strrchr(argv[i], '/');
        printf(" %s", b ? b + 1 : argv[i]);
    }
    printf(":\n * 256 8x16 glyphs in CP437 order, one byte per row, bit 7 = leftmost\n"
           " * pixel. Do not edit. */\n");
    printf("static const unsigned char font8x16_data[256][16] = {\n");
    for (unsigned c = 0; c < 256; c++) {
        printf("    {");
        for (unsigned r = 0; r < 16; r++) printf("0x%02x%s", out[c][r], r < 15 ? "," : "");
        printf("}, /* 0x%02x%s */\n", c, have[c] == 2 ? ", drawn by psf2c" : have[c] ? "" : ", missing");
    }
    printf("};\n");
    if (missing) fprintf(stderr, "psf2c: %d CP437 characters in none of the fonts (shown as '?')\n", missing);
    return 0;
}
