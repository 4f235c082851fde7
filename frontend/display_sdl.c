/* The SDL window of -display sdl (frontend/display_sdl.h). */
#include "frontend/display_sdl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <SDL.h>

#include "frontend/sdl_keymap.h"
#include "frontend/vga_render.h"

/* Text blinks every 32 frames of a 60 Hz VGA and the cursor every 16: at our
 * 30 Hz, 16 and 8 frames. */
#define BLINK_FRAMES  16
#define CURSOR_FRAMES 8

static int fail(struct display_sdl *d, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot open the SDL display: %s", SDL_GetError());
    display_sdl_close(d);
    return -1;
}

int display_sdl_open(struct display_sdl *d, struct phys_mem *mem, struct vga_text *vga, struct i8042 *kbc,
                     char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    d->mem = mem;
    d->vga = vga;
    d->kbc = kbc;
    /* bt86 handles its own signals (Ctrl-C ends the run as before). */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    if (!getenv("SDL_VIDEODRIVER")) {
        /* Left to itself SDL falls back to its "offscreen" driver when no
         * window system answers, and bt86 would run with an invisible window.
         * Ask for a real one; SDL_VIDEODRIVER set by the user still wins. */
        const char *x11 = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
        bool has_x11 = x11 && *x11, has_wl = wl && *wl;
        if (!has_x11 && !has_wl) {
            SDL_SetError("no window system ($DISPLAY and $WAYLAND_DISPLAY are not set)");
            return fail(d, err, errlen);
        }
        SDL_SetHint(SDL_HINT_VIDEODRIVER, has_wl ? (has_x11 ? "wayland,x11" : "wayland") : "x11");
    }
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) return fail(d, err, errlen);
    d->sdl_up = true;
    /* Twice the VGA's size when the desktop has room for it. */
    int scale = 1;
    SDL_DisplayMode dm;
    if (SDL_GetDesktopDisplayMode(0, &dm) == 0 && dm.w >= 2 * VGA_FB_W + 64 && dm.h >= 2 * VGA_FB_H + 96)
        scale = 2;
    d->win = SDL_CreateWindow("bt86", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, VGA_FB_W * scale,
                              VGA_FB_H * scale, SDL_WINDOW_RESIZABLE);
    if (!d->win) return fail(d, err, errlen);
    d->ren = SDL_CreateRenderer(d->win, -1, 0);
    if (!d->ren) d->ren = SDL_CreateRenderer(d->win, -1, SDL_RENDERER_SOFTWARE);
    if (!d->ren) return fail(d, err, errlen);
    SDL_RenderSetLogicalSize(d->ren, VGA_FB_W, VGA_FB_H);
    d->tex = SDL_CreateTexture(d->ren, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING, VGA_FB_W, VGA_FB_H);
    if (!d->tex) return fail(d, err, errlen);
    d->pixels = calloc((size_t)VGA_FB_W * VGA_FB_H, sizeof(uint32_t));
    d->vram = calloc(VGA_TEXT_SIZE, 1);
    if (!d->pixels || !d->vram) {
        SDL_SetError("out of memory");
        return fail(d, err, errlen);
    }
    if (vga_font_is_placeholder())
        fprintf(stderr, "bt86: note: built without build/gen/font8x16.h; text shows as boxes\n");
    display_sdl_render(d);
    return 0;
}

/* The screen as the renderer would see it; a frame is drawn only when this
 * differs from the last one drawn (most of the time the text is still). */
static void snapshot(struct display_sdl *d, struct vga_frame_in *in)
{
    /* Outside RAM (a machine smaller than 768 KiB) the buffer reads as blank. */
    if (phys_copy_out(d->mem, d->vram, VGA_TEXT_BASE, VGA_TEXT_SIZE)) memset(d->vram, 0, VGA_TEXT_SIZE);
    memset(in, 0, sizeof(*in));
    in->vram = d->vram;
    vga_text_view(d->vga, &in->view);
    in->font = vga_font8x16();
    in->blink_off = (d->ticks / BLINK_FRAMES) & 1;
    in->cursor_off = (d->ticks / CURSOR_FRAMES) & 1;
}

static bool changed(struct display_sdl *d, const struct vga_frame_in *in)
{
    const unsigned ncells = VGA_TEXT_SIZE / 2;
    bool diff = d->force || memcmp(&in->view, &d->last_view, sizeof(in->view)) != 0 ||
                (in->view.cursor_on && in->cursor_off != d->last_cursor_off);
    bool any_blink = false;
    for (unsigned i = 0; i < VGA_COLS * VGA_ROWS; i++) {
        unsigned cell = (in->view.start + i) % ncells;
        uint8_t ch = d->vram[cell * 2], attr = d->vram[cell * 2 + 1];
        if (ch != d->last_cells[i * 2] || attr != d->last_cells[i * 2 + 1]) {
            diff = true;
            d->last_cells[i * 2] = ch;
            d->last_cells[i * 2 + 1] = attr;
        }
        any_blink |= (attr & 0x80) != 0;
    }
    if (any_blink && in->view.blink && in->blink_off != d->last_blink_off) diff = true;
    d->last_view = in->view;
    d->last_cursor_off = in->cursor_off;
    d->last_blink_off = in->blink_off;
    d->force = false;
    return diff;
}

static void draw(struct display_sdl *d, const struct vga_frame_in *in)
{
    vga_render_frame(in, d->pixels);
    SDL_UpdateTexture(d->tex, NULL, d->pixels, VGA_FB_W * (int)sizeof(uint32_t));
    SDL_RenderClear(d->ren);
    SDL_RenderCopy(d->ren, d->tex, NULL, NULL);
    SDL_RenderPresent(d->ren);
    d->frames++;
}

void display_sdl_render(struct display_sdl *d)
{
    struct vga_frame_in in;
    snapshot(d, &in);
    changed(d, &in); /* brings the comparison state up to date */
    draw(d, &in);
}

_Static_assert(SDL_NUM_SCANCODES == DISPLAY_SDL_KEYS, "DISPLAY_SDL_KEYS must match SDL");

static void key(struct display_sdl *d, SDL_Scancode sc, bool down)
{
    uint8_t b[SDL_KEYMAP_MAX_BYTES];
    if ((unsigned)sc >= DISPLAY_SDL_KEYS) return;
    if (!down && !d->held[sc]) return; /* its press went elsewhere (or was released on focus loss) */
    d->held[sc] = down;
    int n = sdl_key_to_set1(sc, down, b);
    if (n > 0) i8042_key_bytes(d->kbc, b, n);
}

/* The window lost the keyboard: release what the guest thinks is held, or
 * it would see e.g. Alt stuck down after an Alt-Tab. */
static void release_all(struct display_sdl *d)
{
    for (int sc = 0; sc < DISPLAY_SDL_KEYS; sc++)
        if (d->held[sc]) key(d, (SDL_Scancode)sc, false);
}

bool display_sdl_poll(struct display_sdl *d)
{
    if (!d->win) return d->quit;
    uint64_t now = SDL_GetTicks64();
    if (now >= d->next_pump_ms) {
        d->next_pump_ms = now + DISPLAY_SDL_PUMP_MS;
        SDL_Event e;
        while (SDL_PollEvent(&e)) {
            switch (e.type) {
            case SDL_QUIT:
                d->quit = true;
                break;
            case SDL_WINDOWEVENT:
                if (e.window.event == SDL_WINDOWEVENT_CLOSE) d->quit = true;
                else if (e.window.event == SDL_WINDOWEVENT_FOCUS_LOST) release_all(d);
                else if (e.window.event == SDL_WINDOWEVENT_EXPOSED || e.window.event == SDL_WINDOWEVENT_RESIZED ||
                         e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED) {
                    d->force = true;
                    d->next_frame_ms = 0;
                }
                break;
            case SDL_KEYDOWN:
            case SDL_KEYUP:
                key(d, e.key.keysym.scancode, e.type == SDL_KEYDOWN);
                break;
            default:
                break;
            }
        }
    }
    if (now >= d->next_frame_ms) {
        d->next_frame_ms = now + DISPLAY_SDL_FRAME_MS;
        d->ticks++;
        struct vga_frame_in in;
        snapshot(d, &in);
        if (changed(d, &in)) draw(d, &in);
    }
    return d->quit;
}

void display_sdl_close(struct display_sdl *d)
{
    if (d->tex) SDL_DestroyTexture(d->tex);
    if (d->ren) SDL_DestroyRenderer(d->ren);
    if (d->win) SDL_DestroyWindow(d->win);
    if (d->sdl_up) SDL_QuitSubSystem(SDL_INIT_VIDEO);
    free(d->pixels);
    free(d->vram);
    bool quit = d->quit;
    memset(d, 0, sizeof(*d));
    d->quit = quit;
}
