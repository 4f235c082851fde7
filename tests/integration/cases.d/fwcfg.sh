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
    qemu_check "$name" "$elf" "$want" "$tmo" "$@"
}

#          name       guest  status max-insns timeout options
fwcfg_case fwcfg-m64  fwcfg  1      20000000  20      -m 64
fwcfg_case fwcfg-m200 fwcfg  1      20000000  20      -m 200
