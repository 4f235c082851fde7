/* -display sdl: the VGA text console in an SDL2 window, and the window's
 * keyboard fed to the 8042 as set-1 scancodes. Everything runs on the vCPU
 * thread (SDL wants its events pumped on the thread that made the window):
 * the board calls display_sdl_poll from its poll and idle hooks, and the
 * window is redrawn at about 30 Hz of host time. */
#ifndef BT86_FRONTEND_DISPLAY_SDL_H
#define BT86_FRONTEND_DISPLAY_SDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/i8042.h"
#include "devices/vga_text.h"
#include "frontend/vga_render.h"
#include "memory/phys.h"

#define DISPLAY_SDL_FRAME_MS 33   /* redraw period */
#define DISPLAY_SDL_PUMP_MS  10   /* event polling period */
#define DISPLAY_SDL_KEYS     512  /* SDL_NUM_SCANCODES */

struct SDL_Window;
struct SDL_Renderer;
struct SDL_Texture;

struct display_sdl {
    struct SDL_Window *win;
    struct SDL_Renderer *ren;
    struct SDL_Texture *tex;
    uint32_t *pixels;              /* VGA_FB_W x VGA_FB_H */
    uint8_t *vram;                 /* snapshot of the text buffer per frame */
    struct phys_mem *mem;
    struct vga_text *vga;
    struct i8042 *kbc;
    uint64_t next_pump_ms, next_frame_ms;
    unsigned ticks;                /* 30 Hz ticks: the blink clock */
    unsigned frames;               /* frames actually drawn */
    /* what the last drawn frame showed, to skip frames that would not change */
    uint8_t last_cells[VGA_COLS * VGA_ROWS * 2];
    struct vga_text_view last_view;
    bool last_blink_off, last_cursor_off, force;
    bool held[DISPLAY_SDL_KEYS];   /* keys the guest has seen go down and not up */
    bool quit;                     /* the window was closed */
    bool sdl_up;
};

/* Open the window for the board's VGA text registers, RAM and keyboard
 * controller. 0, or -1 with "cannot open the SDL display: <why>" in err (no
 * X display, for example); then d needs no close. */
int  display_sdl_open(struct display_sdl *d, struct phys_mem *mem, struct vga_text *vga, struct i8042 *kbc,
                      char *err, size_t errlen);
/* Pump window events (keys to the 8042) and redraw if a frame is due. Cheap
 * when nothing is due. Returns true once the user has closed the window. */
bool display_sdl_poll(struct display_sdl *d);
/* Redraw now (whether or not a frame is due). */
void display_sdl_render(struct display_sdl *d);
void display_sdl_close(struct display_sdl *d);

#endif
