#!/usr/bin/env bash
# linux-fetch.sh OUTDIR — fetches the Linux guest's two Debian binaries and
# extracts them into OUTDIR (guests/linux/linux.mk calls it for `make linux`):
#
#   OUTDIR/vmlinuz    /boot/vmlinuz-* of Debian's current i386 kernel, the one
#                     the metapackage linux-image-686:i386 depends on today
#                     (a relocatable, XZ-compressed bzImage)
#   OUTDIR/busybox    /bin/busybox of busybox-static:i386 (a static i386 ELF)
#   OUTDIR/versions   which packages and versions those came from
#
# The .debs are downloaded with `apt-get download` (which checks them against
# apt's signed indexes) into the cache, $BT86_CACHE (default
# ~/.cache/bt86), and reused from there. Every .deb's SHA-256 is also recorded
# in $BT86_CACHE/SHA256SUMS and checked again whenever the file is reused; a
# file that does not match the index's SHA256 field or the recorded sum is
# downloaded again (or, offline, refused).
#
# Offline (apt cannot resolve or download), the newest kernel and busybox
# recorded in SHA256SUMS are used if they still verify. While apt's lists are
# unchanged, the last resolution ($BT86_CACHE/resolved) is reused without
# asking apt again (apt-cache takes seconds where apt keeps no binary cache).
#
# Needs the i386 architecture in dpkg/apt (scripts/install-deps.sh adds it; so
# does this script, as root or through sudo, if it is missing).
# Exit status: 0 done; 2 nothing usable (no network and nothing cached); 1 other errors.
set -euo pipefail

OUT=${1:?usage: linux-fetch.sh OUTDIR}
CACHE=${BT86_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bt86}
SUMS=$CACHE/SHA256SUMS
mkdir -p "$CACHE" "$OUT"
touch "$SUMS"

say() { echo "linux-fetch: $*" >&2; }

# add_i386: adds the i386 architecture to dpkg and refreshes apt's lists
# (as root or through sudo), for when apt cannot resolve the i386 packages.
add_i386() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || { say "need root or sudo to add the i386 architecture (dpkg --add-architecture i386 && apt-get update)"; return 1; }
        sudo=sudo
    fi
    say "apt cannot resolve linux-image-686:i386: adding the i386 architecture if needed, then apt-get update"
    dpkg --print-foreign-architectures | grep -qx i386 || $sudo dpkg --add-architecture i386 || return 1
    $sudo apt-get update -qq || return 1
}

# The kernel package the metapackage depends on today, e.g.
# linux-image-6.1.0-50-686:i386 (the ABI number changes: never hard-code it).
resolve_kernel() {
    { apt-cache depends linux-image-686:i386 2>/dev/null || true; } | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

# apt-cache is slow where apt keeps no binary cache (Debian's container
# images): the last resolution is reused while apt's lists are unchanged.
lists_key() {
    local L=/var/lib/apt/lists/
    eval "$(apt-config shell L Dir::State::lists/d 2>/dev/null)"
    echo "$(stat -c %Y "$L" "$L"*Packages* 2>/dev/null | sort -n | tail -1) $(dpkg --print-foreign-architectures | tr '\n' ' ')"
}

# recorded_sum FILE: the sum SHA256SUMS records for FILE (empty if none)
recorded_sum() { awk -v f="$1" '$2 == f { print $1 }' "$SUMS" | tail -1; }

# record_sum FILE SUM: replaces FILE's line in SHA256SUMS
record_sum() {
    { awk -v f="$1" '$2 != f' "$SUMS"; echo "$2  $1"; } >"$SUMS.tmp" && mv "$SUMS.tmp" "$SUMS"
}

# fetch RECORD VAR: for the package of an `apt-cache show` RECORD (its
# candidate version), makes sure the verified .deb is in the cache and sets
# VAR to its file name.
fetch() {
    local info=$1 name ver arch want file have rec
    name=$(awk '/^Package:/ { print $2; exit }' <<<"$info")
    ver=$(awk '/^Version:/ { print $2; exit }' <<<"$info")
    arch=$(awk '/^Architecture:/ { print $2; exit }' <<<"$info")
    want=$(awk '/^SHA256:/ { print $2; exit }' <<<"$info")
    [ -n "$name" ] && [ -n "$ver" ] && [ -n "$want" ] || return 1
    file=${name}_${ver//:/%3a}_${arch}.deb   # apt-get download's name for it
    if [ -f "$CACHE/$file" ]; then
        have=$(sha256sum "$CACHE/$file" | cut -d' ' -f1)
        rec=$(recorded_sum "$file")
        if [ "$have" != "$want" ] || { [ -n "$rec" ] && [ "$rec" != "$have" ]; }; then
            say "$file in the cache does not verify; downloading it again"
            rm -f "$CACHE/$file"
        fi
    fi
    if [ ! -f "$CACHE/$file" ]; then
        say "downloading $name $ver ($arch)"
        (cd "$CACHE" && apt-get download -q "$name:$arch=$ver" >&2) || { rm -f "$CACHE/$file"; return 1; }
        [ -f "$CACHE/$file" ] || { say "apt-get download did not produce $file"; return 1; }
        have=$(sha256sum "$CACHE/$file" | cut -d' ' -f1)
        if [ "$have" != "$want" ]; then
            say "$file: SHA-256 $have does not match apt's index ($want)"
            rm -f "$CACHE/$file"
            return 1
        fi
    fi
    record_sum "$file" "$want"
    printf -v "$2" '%s' "$file"
}

# offline PATTERN VAR: the newest cached .deb matching PATTERN that SHA256SUMS
# records and that still verifies.
offline() {
    local pat=$1 file
    file=$(awk -v p="$pat" '$2 ~ p { print $2 }' "$SUMS" | sort -V | tail -1)
    [ -n "$file" ] && [ -f "$CACHE/$file" ] || return 1
    [ "$(sha256sum "$CACHE/$file" | cut -d' ' -f1)" = "$(recorded_sum "$file")" ] || {
        say "$file in the cache does not match SHA256SUMS"; return 1; }
    printf -v "$2" '%s' "$file"
}

# verified FILE: FILE is in the cache and matches its SHA256SUMS line
verified() {
    local rec; rec=$(recorded_sum "$1")
    [ -n "$1" ] && [ -f "$CACHE/$1" ] && [ -n "$rec" ] && [ "$(sha256sum "$CACHE/$1" | cut -d' ' -f1)" = "$rec" ]
}

# record PACKAGE: PACKAGE's paragraph of the `apt-cache show` output in $info
record() { awk -v RS= -v p="Package: ${1%:*}" '{ split($0, l, "\n"); if (l[1] == p) { print; exit } }' <<<"$info"; }

KDEB="" BDEB=""
RESOLVED=$CACHE/resolved
key=$(lists_key)
if [ -f "$RESOLVED" ] && [ "$(sed -n 1p "$RESOLVED")" = "$key" ] &&
   verified "$(sed -n 2p "$RESOLVED")" && verified "$(sed -n 3p "$RESOLVED")"; then
    KDEB=$(sed -n 2p "$RESOLVED") BDEB=$(sed -n 3p "$RESOLVED")
else
    kpkg=""
    dpkg --print-foreign-architectures | grep -qx i386 && kpkg=$(resolve_kernel)
    if [ -z "$kpkg" ] && add_i386; then
        kpkg=$(resolve_kernel)
    fi
    if [ -n "$kpkg" ] && info=$(apt-cache show --no-all-versions "$kpkg" busybox-static:i386 2>/dev/null); then
        fetch "$(record "$kpkg")" KDEB || KDEB=""
        fetch "$(record busybox-static)" BDEB || BDEB=""
        [ -n "$KDEB" ] && [ -n "$BDEB" ] && printf '%s\n%s\n%s\n' "$(lists_key)" "$KDEB" "$BDEB" >"$RESOLVED"
    fi
fi
if [ -z "$KDEB" ]; then
    offline '^linux-image-[0-9].*-686_.*_i386[.]deb$' KDEB && say "offline: using cached $KDEB" || KDEB=""
fi
if [ -z "$BDEB" ]; then
    offline '^busybox-static_.*_i386[.]deb$' BDEB && say "offline: using cached $BDEB" || BDEB=""
fi
if [ -z "$KDEB" ] || [ -z "$BDEB" ]; then
    say "cannot get the Debian i386 kernel and busybox-static (no network, and nothing usable cached in $CACHE)"
    exit 2
fi

# Already extracted from these very files: nothing to do.
versions=$(printf "kernel  %s  %s\nbusybox %s  %s\n" "$KDEB" "$(recorded_sum "$KDEB")" "$BDEB" "$(recorded_sum "$BDEB")")
if [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/busybox" ] && [ "$(cat "$OUT/versions" 2>/dev/null)" = "$versions" ]; then
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb --fsys-tarfile "$CACHE/$KDEB" | tar -xf - -C "$tmp" --wildcards './boot/vmlinuz-*'
dpkg-deb --fsys-tarfile "$CACHE/$BDEB" | tar -xf - -C "$tmp" ./bin/busybox
set -- "$tmp"/boot/vmlinuz-*
[ $# = 1 ] && [ -f "$1" ] || { say "$KDEB holds no single /boot/vmlinuz-*"; exit 1; }
cp "$1" "$tmp/vmlinuz"
echo "$versions" >"$tmp/versions"
# Replace outputs only when they change, so make rebuilds only what it must.
for f in vmlinuz:vmlinuz bin/busybox:busybox versions:versions; do
    src=$tmp/${f%%:*} dst=$OUT/${f#*:}
    if ! cmp -s "$src" "$dst"; then
        cp "$src" "$dst.tmp" && mv "$dst.tmp" "$dst"
    fi
done
chmod 755 "$OUT/busybox"
say "$(basename "$1") and busybox $(echo "${BDEB#busybox-static_}" | cut -d_ -f1 | sed "s/%3a/:/") in $OUT"
