#!/usr/bin/env bash
# Installs the Debian packages bt86 needs to build, test and compare, if any are
# missing. Runs apt-get as root, or through sudo. Also adds the i386
# architecture to dpkg/apt: the Linux guest (guests/linux) downloads Debian's
# i386 kernel and busybox-static with apt-get download (nothing is installed).
set -euo pipefail
pkgs=(build-essential pkg-config libcapstone-dev libffi-dev libcriterion-dev libsdl2-dev
      gcc-multilib nasm qemu-system-x86 tmux xvfb xdotool imagemagick time console-setup-linux python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_i386=0
dpkg --print-foreign-architectures | grep -qx i386 || need_i386=1
[ ${#missing[@]} -eq 0 ] && [ "$need_i386" = 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
    what="${missing[*]}"
    [ "$need_i386" = 0 ] || what="$what${what:+ and }the i386 architecture"
    command -v sudo >/dev/null || { echo "bt86: need root or sudo to install: $what" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
if [ "$need_i386" = 1 ]; then
    echo "bt86: adding the i386 architecture to apt (for the Linux guest's kernel and busybox)"
    $SUDO dpkg --add-architecture i386
fi
# A mirror caught mid-sync fails one index file ("File has unexpected size");
# apt then keeps the indexes it did fetch. Retry a few times, then go on with
# those: the install below fails clearly if a package really cannot be found.
for try in 1 2 3; do
    $SUDO apt-get update -qq && break
    echo "bt86: apt-get update failed (try $try of 3)" >&2
    [ "$try" = 3 ] && echo "bt86: going on with the package indexes apt has" >&2 || sleep 10
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "bt86: installing missing packages: ${missing[*]}"
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
