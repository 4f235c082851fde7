# hypercall (guests/hypercall): the VMM as the guest sees it — VMCALL and
# VMMCALL with KVM's hypercall ABI (0 for the implemented numbers, -1000 for
# unknown ones, -1 at CPL 3), #GP(0) for MSRs bt86 does not implement and for
# CR4 bits CPUID does not advertise. bt86 only: QEMU's TCG raises #UD for
# VMCALL (it is not a hypervisor to its guest) and advertises PAE and SSE,
# so its answers differ by design, not by a bug on either side.
#          name      guest     status max-insns timeout append input where
guest_case hypercall hypercall 1      50000000  20      ""     ""    bt86

# -stats and -trace sensitive on the same guest, under both engines. The
# counts checked are the ones the guest fixes: 9 hypercalls (7 at CPL 0, 2 at
# CPL 3), 3 RDMSR of which 2 raise #GP, 2 WRMSR of which 1 raises #GP, 7 MOV
# to CR4 that raise #GP, so 10 #GP delivered. The trace lines are checked
# without their addresses (those move when the guest is rebuilt).
hypercall_stats_trace() {
    local elf=$GUEST_DIR/hypercall.elf eng err tr st
    if [ ! -f "$elf" ]; then bad "hypercall-stats" "$elf missing (make guests)"; return; fi
    for eng in interp bt; do
        err=$tmp/hypercall-stats.$eng.err
        tr=$tmp/hypercall-trace.$eng.txt
        timeout 20 "$BT86" -engine "$eng" -max-insns 50000000 -kernel "$elf" -stats \
            -trace "sensitive,class=misc|msr,count=12,file:$tr" </dev/null >/dev/null 2>"$err"
        st=$?
        local why=""
        [ "$st" = 1 ] || why="exit status $st, want 1"
        # The table: "<number>  <reason>  <count>  <ms>  <ns>", sub-lines after.
        grep -Eq '^ +18  VMCALL +9 +[0-9.]+ +[0-9]+$' "$err" || why="$why; no 'VMCALL 9' row"
        grep -Eq '^ +31  RDMSR +3 +[0-9.]+ +[0-9]+$' "$err" || why="$why; no 'RDMSR 3' row"
        grep -A1 -E '^ +31  RDMSR ' "$err" | grep -Eq '\.\.\. of which raised #GP +2$' || why="$why; RDMSR #GP not 2"
        grep -Eq '^ +32  WRMSR +2 ' "$err" || why="$why; no 'WRMSR 2' row"
        grep -A1 -E '^ +32  WRMSR ' "$err" | grep -Eq '\.\.\. of which raised #GP +1$' || why="$why; WRMSR #GP not 1"
        grep -A1 -E '^ +28  control-register access ' "$err" | grep -Eq '\.\.\. of which raised #GP +7$' ||
            why="$why; CR access #GP not 7"
        grep -Eq '^ +#GP \(vector 13\) +10$' "$err" || why="$why; #GP delivered not 10"
        grep -Eq '^    host time: handler only, by the host TSC' "$err" || why="$why; no timing note"
        if [ "$eng" = bt ]; then
            grep -Eq '^    privileged/sensitive translated +[0-9]+ \(0 inline, [0-9]+ calling the VMM\)$' "$err" ||
                why="$why; no translator figures"
        fi
        # The trace: exactly count=12 lines, each "<8 hex> cpl<N> <insn>  <effect>".
        if [ ! -f "$tr" ]; then
            why="$why; no trace file"
        else
            [ "$(wc -l <"$tr")" = 12 ] || why="$why; $(wc -l <"$tr") trace lines, want 12"
            grep -Evq '^[0-9a-f]{8} cpl[0-3] [a-z].*  .+$' "$tr" && why="$why; a trace line is not in the documented format"
            sed -E 's/^[0-9a-f]{8} //' "$tr" >"$tr.n"
            cat >"$tr.want" <<'EOF'
cpl0 vmcall  hypercall 1 (VAPIC_POLL_IRQ) -> 0
cpl0 vmcall  hypercall 5 (KICK_CPU) -> 0
cpl0 vmcall  hypercall 11 (SCHED_YIELD) -> 0
cpl0 vmcall  hypercall 0 (unknown) -> -1000
cpl0 vmcall  hypercall 0x12345678 (unknown) -> -1000
cpl0 vmmcall  hypercall 1 (VAPIC_POLL_IRQ) -> 0
cpl0 vmmcall  hypercall 99 (unknown) -> -1000
cpl3 vmcall  hypercall 1 (VAPIC_POLL_IRQ) -> -1 (CPL > 0: -KVM_EPERM)
cpl3 vmmcall  hypercall 11 (SCHED_YIELD) -> -1 (CPL > 0: -KVM_EPERM)
cpl0 rdmsr  ecx=0xc0000080 -> #GP(0)
cpl0 rdmsr  ecx=0x12345678 -> #GP(0)
cpl0 wrmsr  ecx=0x12345678 -> #GP(0)
EOF
            cmp -s "$tr.n" "$tr.want" || { why="$why; trace differs"; diff "$tr.want" "$tr.n" | head -6 | sed 's/^/    | /'; }
        fi
        # Without file: the lines go to stderr, before the bt86 stats table.
        timeout 20 "$BT86" -engine "$eng" -max-insns 50000000 -kernel "$elf" -trace sensitive,count=5 \
            </dev/null >/dev/null 2>"$err.2"
        [ "$(grep -Ec '^[0-9a-f]{8} cpl[0-3] [a-z].*  .+$' "$err.2")" = 5 ] && [ "$(wc -l <"$err.2")" = 5 ] ||
            why="$why; -trace sensitive,count=5 did not print exactly 5 lines on stderr"
        if [ -n "$why" ]; then bad "hypercall-stats-trace ($eng)" "${why#; }" "$err"
        else ok "hypercall-stats-trace ($eng)"; fi
    done
}
hypercall_stats_trace
