#!/usr/bin/env bash
# End-to-end check of -display sdl under Xvfb: boots guests/vgademo with the
# SDL window (through build/sdl-run, see sdl_run.c), types keys into the
# window with xdotool, checks the guest read their set-1 scancodes from the
# 8042, saves a screenshot to build/display-shot.png, and ends the run with
# Escape (the guest exits with code 0: status 1). Needs xvfb, xdotool and imagemagick.
# Usage: bash tests/display/run.sh [path-to-bt86-like-binary]
set -euo pipefail
BIN=${1:-build/sdl-run}
[ -x "$BIN" ] || bash tests/display/build.sh
GUEST=build/guests/vgademo.elf
tmp=$(mktemp -d)
# A free display number chosen by Xvfb itself (-displayfd: it writes the
# number once it accepts connections), so a display left by another run
# cannot get in the way; up to 30 s for a slow start on a loaded host.
# -noreset: otherwise the server resets when its last client leaves (the
# xdotool probe below), and a client connecting during that reset (bt86) is
# dropped: "x11 not available", one run in five here and once in CI.
Xvfb -displayfd 1 -noreset -screen 0 1024x768x24 >"$tmp/display" 2>"$tmp/xvfb.log" &
xpid=$!
trap 'kill $xpid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 300); do [ -s "$tmp/display" ] && break; sleep 0.1; done
[ -s "$tmp/display" ] || { echo "FAIL: Xvfb did not start: $(tail -3 "$tmp/xvfb.log" | tr '\n' ' ')"; exit 1; }
export DISPLAY=:$(head -1 "$tmp/display")
for _ in $(seq 100); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.1; done
"$BIN" -display sdl -kernel "$GUEST" </dev/null >"$tmp/out" 2>"$tmp/err" &
bpid=$!
for _ in $(seq 100); do w=$(xdotool search --name '^bt86$' 2>/dev/null | head -1) && [ -n "$w" ] && break; sleep 0.1; done
sleep 0.5
xdotool windowfocus --sync "$w"
xdotool type --delay 50 'Hi!'
xdotool key Up
sleep 0.5
import -window root build/display-shot.png
xdotool key Escape
status=0
wait $bpid || status=$?
fail=0
expect() { grep -q "^scancode $1" "$tmp/out" || { echo "FAIL: no scancode $1 ($2)"; fail=1; }; }
expect 2a "left shift make"; expect 23 "h make"; expect a3 "h break"; expect 17 "i make"
expect 02 "1 make (for !)"; expect aa "left shift break"; expect e0 "E0 prefix"; expect 48 "up make"
expect c8 "up break"; expect 01 "escape make"
# guest code 0 through isa-debug-exit is status (0 << 1) | 1 = 1
[ "$status" = 1 ] || { echo "FAIL: exit status $status, want 1"; fail=1; }
cat "$tmp/err"
[ $fail = 0 ] && echo "PASS: keys reached the guest, guest exited with code 0 (status 1), screenshot in build/display-shot.png"
exit $fail
