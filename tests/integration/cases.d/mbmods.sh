# Multiboot command line and modules (guests/mbmods): -append after the
# kernel's path, and `-initrd "file args,file"` as one module each with its
# own command line, under bt86's engines and QEMU (byte-identical).
mbmods_case() {
    local name=mbmods elf=$GUEST_DIR/mbmods.elf exp=$EXPECTED/mbmods.out want=1 st
    if [ ! -f "$elf" ]; then bad "$name" "$elf missing (make guests)"; return; fi
    printf 'first module\n' >"$tmp/m1.txt"
    awk 'BEGIN { for (i = 0; i < 1250; i++) printf "%04d", i }' >"$tmp/m2.bin"
    local args=(-kernel "$elf" -append "a b" -initrd "$tmp/m1.txt one two,$tmp/m2.bin")
    local bins=("bt86:$BT86:interp" "bt86-bt:$BT86:bt") b label bin eng
    [ -n "$BT86_SAN" ] && [ -x "$BT86_SAN" ] && bins+=("bt86-san:$BT86_SAN:interp")
    for b in "${bins[@]}"; do
        IFS=: read -r label bin eng <<<"$b"
        ASAN_OPTIONS=detect_leaks=0 timeout 20 "$bin" -engine "$eng" -max-insns 20000000 "${args[@]}" \
            </dev/null >"$tmp/$name.$label.raw" 2>"$tmp/$name.$label.err"
        st=$?
        normalise <"$tmp/$name.$label.raw" >"$tmp/$name.$label.out"
        if [ "$st" != "$want" ]; then bad "$name ($label)" "exit status $st, want $want" "$tmp/$name.$label.err"
        elif ! cmp -s "$exp" "$tmp/$name.$label.out"; then
            bad "$name ($label)" "serial output differs from $exp"
            diff "$exp" "$tmp/$name.$label.out" | head -10 | sed 's/^/    | /'
        else ok "$name ($label)"; fi
    done
    qemu_check "$name" "$elf" "$want" 20 -append "a b" -initrd "$tmp/m1.txt one two,$tmp/m2.bin"
}
mbmods_case
