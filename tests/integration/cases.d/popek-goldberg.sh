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
    local elf=$GUEST_DIR/$2.elf
    if [ ! -f "$elf" ]; then bad "$1" "$elf missing (make guests)"; return; fi
    RUN_EXPECTED=$4 run_check "$1" "bt86 -engine trap" "$BT86" trap "$3" 20 "" -max-insns 50000000 -kernel "$elf"
}
trap_case popek-goldberg-trap popek-goldberg 3 popek-goldberg-trap
trap_case hello-trap          hello          1 hello
trap_case cpu-trap            cpu            1 cpu
