# Multiboot command line and modules (guests/mbmods): -append after the
# kernel's path, and `-initrd "file args,file"` as one module each with its
# own command line, under bt86's engines and QEMU (byte-identical).
mbmods_case() {
    local name=mbmods elf=$GUEST_DIR/mbmods.elf want=1
    if [ ! -f "$elf" ]; then bad "$name" "$elf missing (make guests)"; return; fi
    printf 'first module\n' >"$tmp/m1.txt"
    awk 'BEGIN { for (i = 0; i < 1250; i++) printf "%04d", i }' >"$tmp/m2.bin"
    local args=(-kernel "$elf" -append "a b" -initrd "$tmp/m1.txt one two,$tmp/m2.bin")
    local bins=("bt86:$BT86:interp" "bt86-bt:$BT86:bt") b label bin eng
    [ -n "$BT86_SAN" ] && [ -x "$BT86_SAN" ] && bins+=("bt86-san:$BT86_SAN:interp")
    for b in "${bins[@]}"; do
        IFS=: read -r label bin eng <<<"$b"
        run_check "$name" "$label" "$bin" "$eng" "$want" 20 "" -max-insns 20000000 "${args[@]}"
    done
    qemu_check "$name" "$elf" "$want" 20 -append "a b" -initrd "$tmp/m1.txt one two,$tmp/m2.bin"
}
mbmods_case
