# fw_cfg guest (guests/fwcfg): QEMU's firmware configuration device as a
# guest sees it after -m 64 and -m 200 (signature, ID, RAM size, CPU counts,
# the file directory's form and etc/e820). Sourced by guests.sh.

# fwcfg_case NAME GUEST STATUS MAX_INSNS TIMEOUT [OPTIONS...]: guest_case
# with extra command-line options (here -m) given to bt86 and QEMU alike.
fwcfg_case() {
    local name=$1 guest=$2 want=$3 maxi=$4 tmo=$5
    shift 5
    local elf=$GUEST_DIR/$guest.elf exp=$EXPECTED/$name.out
    if [ ! -f "$elf" ]; then bad "$name" "$elf missing (make guests)"; return; fi
    local bins=("bt86:$BT86:interp" "bt86-bt:$BT86:bt") b label bin eng st
    [ -n "$BT86_SAN" ] && [ -x "$BT86_SAN" ] && bins+=("bt86-san:$BT86_SAN:interp")
    for b in "${bins[@]}"; do
        IFS=: read -r label bin eng <<<"$b"
        ASAN_OPTIONS=detect_leaks=0 timeout "$tmo" "$bin" -engine "$eng" -max-insns "$maxi" "$@" -kernel "$elf" \
            </dev/null >"$tmp/$name.$label.raw" 2>"$tmp/$name.$label.err"
        st=$?
        normalise <"$tmp/$name.$label.raw" >"$tmp/$name.$label.out"
        if [ "$st" != "$want" ]; then bad "$name ($label)" "exit status $st, want $want" "$tmp/$name.$label.err"
        elif ! cmp -s "$exp" "$tmp/$name.$label.out"; then
            bad "$name ($label)" "serial output differs from $exp"
            diff "$exp" "$tmp/$name.$label.out" | head -10 | sed 's/^/    | /'
        else ok "$name ($label)"; fi
    done
    if [ "$QEMU" = none ] || ! command -v "$QEMU" >/dev/null 2>&1; then
        echo "SKIP $name (qemu): $QEMU not installed"
        return
    fi
    timeout "$tmo" "$QEMU" -accel tcg -display none -serial stdio -monitor none \
        -device isa-debug-exit,iobase=0xf4,iosize=4 "$@" -kernel "$elf" \
        </dev/null >"$tmp/$name.qemu.raw" 2>"$tmp/$name.qemu.err"
    st=$?
    normalise <"$tmp/$name.qemu.raw" >"$tmp/$name.qemu.out"
    if [ "${UPDATE_EXPECTED:-0}" = 1 ] && [ "$st" = "$want" ]; then
        cp "$tmp/$name.qemu.out" "$exp"
        echo "UPDATED $exp"
    fi
    if [ "$st" != "$want" ]; then bad "$name (qemu)" "exit status $st, want $want" "$tmp/$name.qemu.err"
    elif ! cmp -s "$exp" "$tmp/$name.qemu.out"; then bad "$name (qemu)" "serial output differs from $exp"
    else ok "$name (qemu)"; fi
    if cmp -s "$tmp/$name.bt86.raw" "$tmp/$name.qemu.raw"; then ok "$name (bt86 = qemu, byte-identical)"
    else bad "$name (bt86 = qemu)" "serial bytes differ: $(cmp "$tmp/$name.bt86.raw" "$tmp/$name.qemu.raw" 2>&1 | head -1)"; fi
}

#          name       guest  status max-insns timeout options
fwcfg_case fwcfg-m64  fwcfg  1      20000000  20      -m 64
fwcfg_case fwcfg-m200 fwcfg  1      20000000  20      -m 200
