/* SDL key events to PC keyboard scancode set 1 (what the guest reads from the
 * 8042 with translation on): make codes, break = make | 0x80, E0 prefixes for
 * the extended keys, the special sequences of Pause and Print Screen. */
#ifndef BT86_FRONTEND_SDL_KEYMAP_H
#define BT86_FRONTEND_SDL_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

#include <SDL.h>

#define SDL_KEYMAP_MAX_BYTES 6

/* Writes the bytes for key sc going down (or up) to out and returns how many
 * (0 for keys with no PC scancode). */
int sdl_key_to_set1(SDL_Scancode sc, bool down, uint8_t out[SDL_KEYMAP_MAX_BYTES]);

#endif
