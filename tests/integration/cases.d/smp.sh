# SMP guest (guests/smp): -smp 2 and -smp 4 — INIT-SIPI-SIPI start-up, LOCK XADD/CMPXCHG
# and spinlock counters, IPIs (fixed physical/logical, self, all, NMI), TLB
# shootdown and cross-modifying code (docs/SMP.md). Sourced by guests.sh.

# smp_case NAME GUEST STATUS MAX_INSNS TIMEOUT [OPTIONS...]: guest_case
# with extra command-line options (here -smp) given to bt86 and QEMU alike.
smp_case() {
    local name=$1 guest=$2 want=$3 maxi=$4 tmo=$5
    shift 5
    local elf=$GUEST_DIR/$guest.elf exp=$EXPECTED/$name.out
    if [ ! -f "$elf" ]; then bad "$name" "$elf missing (make guests)"; return; fi
    local bins=("bt86:$BT86:interp" "bt86-bt:$BT86:bt") b label bin eng st
    [ -n "$BT86_SAN" ] && [ -x "$BT86_SAN" ] && bins+=("bt86-san:$BT86_SAN:interp" "bt86-san-bt:$BT86_SAN:bt")
    for b in "${bins[@]}"; do
        IFS=: read -r label bin eng <<<"$b"
        # MAX_INSNS 0: no -max-insns, which would make bt86 run the vCPUs
        # round robin (with it the count is exact); the timeout bounds the run.
        local lim=(-max-insns "$maxi")
        [ "$maxi" = 0 ] && lim=()
        ASAN_OPTIONS=detect_leaks=0 timeout "$tmo" "$bin" -engine "$eng" "${lim[@]}" "$@" -kernel "$elf" \
            </dev/null >"$tmp/$name.$label.raw" 2>"$tmp/$name.$label.err"
        st=$?
        normalise <"$tmp/$name.$label.raw" >"$tmp/$name.$label.out"
        if [ "$st" != "$want" ]; then bad "$name ($label)" "exit status $st, want $want" "$tmp/$name.$label.err"
        elif ! cmp -s "$exp" "$tmp/$name.$label.out"; then
            bad "$name ($label)" "serial output differs from $exp"
            diff "$exp" "$tmp/$name.$label.out" | head -10 | sed 's/^/    | /'
        else ok "$name ($label)"; fi
    done
    if [ "${SMP_NO_QEMU:-0}" = 1 ]; then
        echo "SKIP $name (qemu): bt86-only option"
        return
    fi
    qemu_check "$name" "$elf" "$want" "$tmo" "$@"
}

#        name    guest status max-insns  timeout options
# One host thread per vCPU under both engines (and the ASan build).
smp_case smp-2   smp   1      0          120     -smp 2
smp_case smp-4   smp   1      0          180     -smp 4
# The deterministic round-robin mode, and -icount (which implies it).
SMP_NO_QEMU=1 smp_case smp-4-single smp 1 800000000 180 -smp 4,threads=single
SMP_NO_QEMU=1 smp_case smp-3-icount smp 1 800000000 180 -smp 3 -icount 3
