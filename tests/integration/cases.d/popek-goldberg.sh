# popek-goldberg (guests/popek-goldberg): the sensitive but unprivileged
# instructions Robin & Irvine list for the Pentium, checked against their
# architected results at CPL 0 (and a few at CPL 3). Every check passes under
# the interpreter, the translator, ASan and QEMU, byte for byte.
#          name           guest          status max-insns timeout append input
guest_case popek-goldberg popek-goldberg 1      50000000  20      ""     ""

# trap_case NAME GUEST STATUS EXPECTED: GUEST under bt86 -engine trap (the
# model of classic trap-and-emulate, docs/POPEK-GOLDBERG.md), bt86 only;
# serial output must equal expected/EXPECTED.out. For popek-goldberg that is
# the list of checks plain trap-and-emulate gets wrong (status 3); hello and
# cpu execute few sensitive instructions and still pass (their usual output).
trap_case() {
    local name=$1 guest=$2 want=$3 expname=$4
    local elf=$GUEST_DIR/$guest.elf exp=$EXPECTED/$expname.out st
    if [ ! -f "$elf" ]; then bad "$name" "$elf missing (make guests)"; return; fi
    timeout 20 "$BT86" -engine trap -max-insns 50000000 -kernel "$elf" </dev/null \
        >"$tmp/$name.raw" 2>"$tmp/$name.err"
    st=$?
    normalise <"$tmp/$name.raw" >"$tmp/$name.out"
    if [ "$st" != "$want" ]; then
        bad "$name (bt86 -engine trap)" "exit status $st, want $want" "$tmp/$name.err"
    elif ! cmp -s "$exp" "$tmp/$name.out"; then
        bad "$name (bt86 -engine trap)" "serial output differs from $exp"
        diff "$exp" "$tmp/$name.out" | head -10 | sed 's/^/    | /'
    else
        ok "$name (bt86 -engine trap)"
    fi
}
trap_case popek-goldberg-trap popek-goldberg 3 popek-goldberg-trap
trap_case hello-trap          hello          1 hello
trap_case cpu-trap            cpu            1 cpu
