# The -bios path (guests/biosrom, a 64 KiB ROM image): the vCPU starts at the
# reset vector F000:FFF0 in the ROM, which prints through the debug console
# (port 0xe9, -debugcon stdio; COM1 is off) and exits through port 0xf4.
# bt86 (interpreter, translator, ASan build) and QEMU must print the same
# bytes and exit with the same status. Also: a ROM of a bad size is one
# error line and status 1. Sourced by guests.sh.

# biosrom_case NAME STATUS: run build/guests/biosrom.bin, compare with
# expected/NAME.out.
biosrom_case() {
    local name=$1 want=$2 rom=$GUEST_DIR/biosrom.bin exp=$EXPECTED/$1.out
    if [ ! -f "$rom" ]; then bad "$name" "$rom missing (make guests)"; return; fi
    local bins=("bt86:$BT86:interp" "bt86-bt:$BT86:bt") b label bin eng
    [ -n "$BT86_SAN" ] && [ -x "$BT86_SAN" ] && bins+=("bt86-san:$BT86_SAN:interp")
    for b in "${bins[@]}"; do
        IFS=: read -r label bin eng <<<"$b"
        run_check "$name" "$label" "$bin" "$eng" "$want" 20 "" -max-insns 10000000 -bios "$rom" -debugcon stdio -serial none
    done
    if [ "$QEMU" = none ] || ! command -v "$QEMU" >/dev/null 2>&1; then
        echo "SKIP $name (qemu): $QEMU not installed"
        return
    fi
    timeout 20 "$QEMU" -accel tcg -bios "$rom" -debugcon stdio -serial none -display none -monitor none \
        -device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$tmp/$name.qemu.raw" 2>"$tmp/$name.qemu.err"
    st=$?
    if [ "${UPDATE_EXPECTED:-0}" = 1 ] && [ "$st" = "$want" ]; then
        cp "$tmp/$name.qemu.raw" "$exp"
        echo "UPDATED $exp"
    fi
    if [ "$st" != "$want" ]; then bad "$name (qemu)" "exit status $st, want $want" "$tmp/$name.qemu.err"
    elif ! cmp -s "$exp" "$tmp/$name.qemu.raw"; then bad "$name (qemu)" "debug console output differs from $exp"
    else ok "$name (qemu)"; fi
    if cmp -s "$tmp/$name.bt86.raw" "$tmp/$name.qemu.raw"; then ok "$name (bt86 = qemu, byte-identical)"
    else bad "$name (bt86 = qemu)" "bytes differ: $(cmp "$tmp/$name.bt86.raw" "$tmp/$name.qemu.raw" 2>&1 | head -1)"; fi
}
biosrom_case biosrom 1

# A ROM whose size is not a multiple of 64 KiB: one error line, status 1.
head -c 1000 /dev/zero >"$tmp/bad-rom.bin"
"$BT86" -bios "$tmp/bad-rom.bin" -serial none </dev/null >"$tmp/bad-rom.out" 2>"$tmp/bad-rom.err"
st=$?
if [ "$st" = 1 ] && [ "$(wc -l <"$tmp/bad-rom.err")" = 1 ] && grep -q "^bt86: BIOS image '.*' is 1000 bytes: it must be 64 KiB to 2 MiB and a multiple of 64 KiB$" "$tmp/bad-rom.err"; then
    ok "biosrom-bad-size"
else
    bad "biosrom-bad-size" "status $st, want 1 and one error line" "$tmp/bad-rom.err"
fi
