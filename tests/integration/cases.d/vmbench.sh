# vmbench (guests/vmbench): the Adams & Agesen virtualization microbenchmarks
# at a tiny iteration count. "notime" drops the calibration and timing lines,
# so what is compared is the count line of each benchmark: proof that every
# system call, port read, TPR write, fault and PTE change really happened,
# the same under every engine and QEMU (byte for byte). The timings
# themselves are measured by `make bench-vmm` (bench/vmm.sh).
#          name    guest   status max-insns timeout append          input
guest_case vmbench vmbench 1      20000000  20      "iters=64 notime" ""
# PIT IRQ0 into a halted CPU, and into one that had IF=0 while it became
# pending (taken after STI): the injection paths -engine kvm has (below)
guest_case vmbench-irq    vmbench 1 20000000 20     "irq"             ""
guest_case vmbench-irqwin vmbench 1 20000000 20     "irqwin"          ""

# -engine kvm: the same PC through /dev/kvm. Each guest must print byte for
# byte what it prints under the other engines: hello (Multiboot hand-over,
# I/O exits), vmbench irq and irqwin (interrupt injection into a halted vCPU
# and through the interrupt window). Skipped, with bt86's one-line reason,
# where /dev/kvm is not available.
vmbench_kvm_case() {
    local name=$1 guest=$2 append=$3 exp=$EXPECTED/$4.out
    local raw=$tmp/$name.raw err=$tmp/$name.err st app=()
    [ -n "$append" ] && app=(-append "$append")
    timeout 20 "$BT86" -engine kvm -kernel "$GUEST_DIR/$guest.elf" "${app[@]}" </dev/null >"$raw" 2>"$err"
    st=$?
    if [ "$st" = 1 ] && grep -q 'kvm is not available' "$err"; then
        echo "SKIP $name: $(head -1 "$err")"
    elif [ "$st" != 1 ]; then
        bad "$name" "exit status $st, want 1" "$err"
    elif ! normalise <"$raw" | cmp -s "$exp" -; then
        bad "$name" "serial output differs from $exp"
    else
        ok "$name"
    fi
}
vmbench_kvm_case kvm-hello          hello   ""       hello
vmbench_kvm_case kvm-vmbench-irq    vmbench "irq"    vmbench-irq
vmbench_kvm_case kvm-vmbench-irqwin vmbench "irqwin" vmbench-irqwin

# PAUSE as a spin-wait hint (-spin-skip, frontend/pc.c): vmbench "spin" runs
# PAUSE until PIT channel 2 has counted 1 ms. Each PAUSE lets -spin-skip ns
# of virtual time pass, so the loop ends within 1 ms / skip rounds however
# fast or slow the host is (an upper bound, not a timing); -spin-skip 0
# leaves time to the host clock. bt86 only: QEMU's PAUSE is a NOP.
spin_case() {
    local name=$1 eng=$2 skip=$3 max=$4
    local raw=$tmp/$name.raw err=$tmp/$name.err st rounds
    timeout 20 "$BT86" -engine "$eng" -spin-skip "$skip" -kernel "$GUEST_DIR/vmbench.elf" -append spin </dev/null >"$raw" 2>"$err"
    st=$?
    rounds=$(tr -d '\r' <"$raw" | sed -n 's/^spin pit_ticks=1193 rounds=\([0-9]*\)$/\1/p')
    if [ "$st" != 1 ]; then
        bad "$name" "exit status $st, want 1" "$err"
    elif [ -z "$rounds" ] || [ "$rounds" -lt 1 ] || { [ "$max" != - ] && [ "$rounds" -gt "$max" ]; }; then
        bad "$name" "spin rounds '${rounds}', want 1..$max" "$raw"
    else
        ok "$name (rounds=$rounds)"
    fi
}
spin_case vmbench-spin-bt        bt     1000 1001
spin_case vmbench-spin-interp    interp 1000 1001
spin_case vmbench-spin-bt-500    bt     500  2001
spin_case vmbench-spin-bt-off    bt     0    -
