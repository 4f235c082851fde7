#!/usr/bin/env bash
# Installs the Debian packages bt86 needs to build, test and compare, if any are
# missing. Runs apt-get as root, or through sudo.
set -euo pipefail
pkgs=(build-essential pkg-config libcapstone-dev libffi-dev libcriterion-dev libsdl2-dev
      gcc-multilib nasm qemu-system-x86 tmux xvfb time console-setup-linux)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "bt86: installing missing packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "bt86: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
