#!/usr/bin/env bash
# Builds build/sdl-run (tests/display/sdl_run.c) against the library objects of
# `make bt86` (with SAN=1: build/sdl-run-san against the ASan+UBSan objects
# of `make build/unit-tests-san`). Run from the repository root.
set -euo pipefail
make -s bt86 build/guests/vgademo.elf || echo "(make bt86 failed; linking with the objects there are)"
# the objects of the sources that exist now (build/obj may hold stale ones)
if [ "${SAN:-0}" = 1 ]; then
    make -s build/unit-tests-san || true
    dir=build/san out=build/sdl-run-san
    flags="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
else
    dir=build/obj out=build/sdl-run flags="-O2 -g"
fi
objs=$(ls {cpu,memory,devices,translator,frontend}/*.c | grep -v frontend/main.c | sed "s|^\(.*\)\.c\$|$dir/\1.o|")
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $flags -I. $(pkg-config --cflags sdl2) \
   -o $out tests/display/sdl_run.c $objs -lcapstone -lffi -lm $(pkg-config --libs sdl2)
echo "built $out"
