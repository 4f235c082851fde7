#!/usr/bin/env bash
# bench/vmm.sh — the VMM microbenchmarks side by side (`make bench-vmm`).
# Runs the vmbench guest (build/guests/vmbench.elf: Adams & Agesen's
# syscall, in, cr8wr, call/ret, pgfault, divzero, ptemod) under
# bt86 -engine bt, bt86 -engine interp, qemu-system-i386 -accel tcg and, where
# /dev/kvm is usable, bt86 -engine kvm and qemu-system-i386 -accel kvm;
# engines alternate for REPS rounds; the guest itself times each operation
# (local APIC timer calibrated against the PIT) and proves it happened
# (count lines). Prints one table of median ns per operation, the ratio
# bt86 bt / QEMU TCG and the paper's published figures (bench/vmm-paper.txt:
# cycles, and ns at the paper's clock or a lower bound without it), then
# rewrites the text between the vmm:begin/vmm:end markers of BENCHMARKS.md.
#
# Environment: BT86 (default ./bt86), QEMU (default qemu-system-i386),
#   ITERS (guest iterations, default 100000), REPS (default 3),
#   ENGINES (default "bt86-bt bt86 qemu bt86-kvm qemu-kvm"),
#   BENCH_MD (default BENCHMARKS.md; BENCH_MD= to only print).
set -uo pipefail
. "$(dirname "$0")/md_section.sh"
cd "$(dirname "$0")/.." || exit 1

BT86=${BT86:-./bt86}
QEMU=${QEMU:-qemu-system-i386}
ITERS=${ITERS:-100000}
REPS=${REPS:-3}
ENGINES=${ENGINES:-bt86-bt bt86 qemu bt86-kvm qemu-kvm}
BENCH_MD=${BENCH_MD-BENCHMARKS.md}
GUEST=build/guests/vmbench.elf
PAPER=bench/vmm-paper.txt
TIMEOUT=${TIMEOUT:-300}
BENCHES="syscall-int80 syscall-sysenter in cr8wr cli-sti call-ret pgfault divzero ptemod"

die() { echo "bench-vmm: $*" >&2; exit 1; }
[ -f "$GUEST" ] || die "$GUEST missing (run make guests)"
[ -x "$BT86" ] || die "$BT86 missing (run make bt86)"

# Which engines can run here; each one left out gets a one-line reason.
notes=()
kvm_reason=""
if [ ! -e /dev/kvm ]; then kvm_reason="/dev/kvm does not exist on this host"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then kvm_reason="/dev/kvm is not readable and writable by this user"
fi
# The PVM flavour of KVM (kvm_pvm: shadow paging and instruction emulation
# in the host kernel, no VT-x/AMD-V) cannot enter ring 3 of a 32-bit guest;
# the system-call benchmarks are left out of its runs ("noring3").
kvm_append=""
if [ -z "$kvm_reason" ] && [ -d /sys/module/kvm_pvm ]; then
    kvm_append=" noring3"
    notes+=("/dev/kvm on this host is kvm_pvm (software: PVM, not VT-x/AMD-V); its runs leave out the ring-3 benchmarks (noring3)")
fi
run_engines=()
for e in $ENGINES; do
    case $e in
        bt86-kvm|qemu-kvm)
            if [ -n "$kvm_reason" ]; then notes+=("$e skipped: $kvm_reason"); continue; fi ;;
    esac
    if [ "$e" = qemu-kvm ] && [ -n "$kvm_append" ] && [ -z "${QEMU_KVM_ON_PVM:-}" ]; then
        notes+=("qemu-kvm skipped: under kvm_pvm QEMU stops without any guest output (KVM internal error; QEMU_KVM_ON_PVM=1 runs it anyway)")
        continue
    fi
    case $e in
        qemu|qemu-kvm)
            if ! command -v "$QEMU" >/dev/null 2>&1; then notes+=("$e skipped: $QEMU not installed"); continue; fi ;;
    esac
    run_engines+=("$e")
done

# engine_cmd ENGINE: sets cmd to the engine's command line.
engine_cmd() {
    local app="iters=$ITERS"
    case $1 in
        bt86-bt)  cmd=("$BT86" -engine bt -kernel "$GUEST" -append "$app") ;;
        bt86)     cmd=("$BT86" -engine interp -kernel "$GUEST" -append "$app") ;;
        bt86-kvm) cmd=("$BT86" -engine kvm -kernel "$GUEST" -append "$app$kvm_append") ;;
        qemu)     cmd=("$QEMU" -accel tcg -display none -serial stdio -monitor none
                       -device "isa-debug-exit,iobase=0xf4,iosize=4" -kernel "$GUEST" -append "$app") ;;
        qemu-kvm) cmd=("$QEMU" -accel kvm -display none -serial stdio -monitor none
                       -device "isa-debug-exit,iobase=0xf4,iosize=4" -kernel "$GUEST" -append "$app$kvm_append") ;;
        *) die "unknown engine '$1' (expected bt86-bt, bt86, qemu, bt86-kvm or qemu-kvm)" ;;
    esac
}
cmd=()

label() {
    case $1 in
        bt86-bt) echo "bt86 bt" ;; bt86) echo "bt86 interp" ;; bt86-kvm) echo "bt86 kvm" ;;
        qemu) echo "QEMU TCG" ;; qemu-kvm) echo "QEMU KVM" ;; *) echo "$1" ;;
    esac
}

host="$(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
echo "bench-vmm: iters=$ITERS, $REPS rounds, engines: ${run_engines[*]}"
for e in "${run_engines[@]}"; do
    engine_cmd "$e"
    printf 'bench-vmm: %-8s $ %s\n' "$e" "${cmd[*]}"
done
for n in "${notes[@]+"${notes[@]}"}"; do echo "bench-vmm: $n"; done
echo "bench-vmm: host: $host"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# times OUT: "bench ns" for every timed operation whose count line says ok
times() {
    awk '$1 == "time" { for (i = 3; i <= NF; i++) if ($i ~ /^ns_per_op=/) { sub("ns_per_op=", "", $i); t[$2] = $i } }
         $1 == "count" && $NF == "ok" && ($2 in t) { print $2, t[$2] }' "$1"
}

# run ENGINE ROUND: one run; appends "bench ns" lines to $tmp/ENGINE.ns, or
# for a run that failed part way, the operations it did finish to
# $tmp/ENGINE.partial (used, and marked, only when no round succeeded).
run() {
    local e=$1 r=$2 st tmo=$TIMEOUT
    engine_cmd "$e"
    # QEMU stops (and waits) on a KVM internal error instead of exiting
    case $e in *kvm) tmo=${KVM_TIMEOUT:-30} ;; esac
    timeout "$tmo" "${cmd[@]}" </dev/null 2>"$tmp/$e.$r.err" | tr -d '\r' >"$tmp/$e.$r.out"
    st=${PIPESTATUS[0]}
    if [ "$st" != 1 ] || ! grep -q '^vmbench: all counts ok' "$tmp/$e.$r.out"; then
        printf 'bench-vmm: round %d %-8s FAILED (status %s)\n' "$r" "$e" "$st"
        { grep -h -e MISMATCH -e '^not ok' "$tmp/$e.$r.out"; grep -v '^qemu-system-i386: warning' "$tmp/$e.$r.err" | tail -3; } |
            sed 's/^/    | /' | tee -a "$tmp/$e.why"
        echo "$e" >>"$tmp/failed"
        times "$tmp/$e.$r.out" >>"$tmp/$e.partial"
        return
    fi
    times "$tmp/$e.$r.out" >>"$tmp/$e.ns"
    printf 'bench-vmm: round %d %-8s ok  %s\n' "$r" "$e" \
        "$(awk '{ printf "%s%s=%s", sep, $1, $2; sep = " " }' <(tail -n 9 "$tmp/$e.ns"))"
}

for r in $(seq 1 "$REPS"); do
    for e in "${run_engines[@]}"; do run "$e" "$r"; done
done

# med ENGINE BENCH: median ns/op over the successful rounds, or "-"
# (from partial runs only when the engine never completed: marked with *)
med() {
    local f=$tmp/$1.ns mark=""
    if [ ! -s "$f" ]; then f=$tmp/$1.partial; mark="*"; fi
    [ -s "$f" ] || { echo -; return; }
    awk -v b="$2" '$1 == b { print $2 }' "$f" | sort -g |
        awk -v m="$mark" '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.1f%s\n", v[(NR + 1) / 2], m; else printf "%.1f%s\n", (v[NR / 2] + v[NR / 2 + 1]) / 2, m }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# The paper's figures (bench/vmm-paper.txt): "name native bt vtx" in cycles,
# "clock_mhz X" (the paper machine's clock, or "-") and "bound_mhz Y" (an
# upper bound on it, for a conservative ns figure when the clock is unknown).
paper_clock=$(awk '$1 == "clock_mhz" { print $2 }' "$PAPER" 2>/dev/null)
paper_bound=$(awk '$1 == "bound_mhz" { print $2 }' "$PAPER" 2>/dev/null)
[ -n "$paper_clock" ] || paper_clock=-
[ -n "$paper_bound" ] || paper_bound=-
have_paper=0
[ -f "$PAPER" ] && awk '$1 !~ /^#/ && NF == 4 && ($2 != "-" || $3 != "-" || $4 != "-") { f = 1 } END { exit !f }' "$PAPER" && have_paper=1
paper_cycles() { # paper_cycles BENCH COLUMN(2 native, 3 bt, 4 vtx)
    local key=$1
    case $key in syscall-sysenter) key=syscall-int80 ;; cli-sti) echo -; return ;; esac
    awk -v k="$key" -v c="$2" '$1 == k { print $c }' "$PAPER" 2>/dev/null | grep . || echo -
}
# paper_ns CYCLES: ns at the paper's clock, or ">=X" at bound_mhz, or "-"
paper_ns() {
    awk -v c="$1" -v mhz="$paper_clock" -v bound="$paper_bound" 'BEGIN {
        if (c == "-") print "-"
        else if (mhz != "-" && mhz + 0 > 0) printf "%.1f\n", c * 1000 / mhz
        else if (bound != "-" && bound + 0 > 0) printf ">=%.1f\n", c * 1000 / bound
        else print "-" }'
}

table() {
    local hdr="| operation |" sep="|---|"
    for e in "${run_engines[@]}"; do hdr+=" $(label "$e") |"; sep+="---|"; done
    hdr+=" bt86 bt / QEMU TCG |"
    sep+="---|"
    if [ "$have_paper" = 1 ]; then
        hdr+=" paper native (cycles) | paper BT (cycles) | paper VT-x (cycles) | paper VT-x (ns) | bt86 bt below QEMU TCG? below paper VT-x? |"
        sep+="---|---|---|---|---|"
    else
        hdr+=" bt86 bt below QEMU TCG? |"
        sep+="---|"
    fi
    echo "$hdr"
    echo "$sep"
    local b
    for b in $BENCHES; do
        local row="| $b |" bt q vc vtx verdict
        for e in "${run_engines[@]}"; do row+=" $(med "$e" "$b") |"; done
        bt=$(med bt86-bt "$b"); q=$(med qemu "$b")
        vc=$(paper_cycles "$b" 4); vtx=$(paper_ns "$vc")
        row+=" $(ratio "$bt" "$q") |"
        [ "$have_paper" = 1 ] && row+=" $(paper_cycles "$b" 2) | $(paper_cycles "$b" 3) | $vc | $vtx |"
        if [ "$b" = call-ret ]; then verdict="(baseline, not privileged)"
        elif [ "$bt" = - ] || [ "$q" = - ]; then verdict="not measured"
        else
            verdict=$(awk -v a="$bt" -v b="$q" 'BEGIN { print (a + 0 < b + 0) ? "QEMU: yes" : "QEMU: NO" }')
            if [ "$have_paper" != 1 ]; then :
            elif [ "$vtx" = - ]; then verdict+="; VT-x: no published figure"
            else
                verdict+=$(awk -v a="$bt" -v v="$vtx" 'BEGIN {
                    bound = (substr(v, 1, 2) == ">="); x = bound ? substr(v, 3) + 0 : v + 0
                    if (a + 0 < x) print bound ? "; VT-x: yes (even at the bound)" : "; VT-x: yes"
                    else print bound ? "; VT-x: not settled (needs the paper'"'"'s clock)" : "; VT-x: NO" }')
            fi
        fi
        echo "$row $verdict |"
    done
}

echo
echo "ns per operation, median of $REPS rounds:"
table | tee "$tmp/table.md"

if [ -n "$BENCH_MD" ]; then
    section="$tmp/section.md"
    {
        echo "<!-- vmm:begin (generated by bench/vmm.sh; edits inside are overwritten) -->"
        echo "### Latest run"
        echo
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $host; iters=$ITERS, $REPS rounds, engines alternating."
        echo
        echo "Commands (\`make bench-vmm\`, i.e. \`bash bench/vmm.sh\`):"
        echo
        echo '```'
        for e in "${run_engines[@]}"; do engine_cmd "$e"; echo "${cmd[*]}"; done
        echo '```'
        echo
        for n in "${notes[@]+"${notes[@]}"}"; do echo "- $n"; done
        [ ${#notes[@]} -gt 0 ] && echo
        echo "Median ns per operation (the guest's local APIC timer, calibrated against the PIT):"
        echo
        cat "$tmp/table.md"
        echo
        if [ "$have_paper" != 1 ]; then
            echo "No paper columns: \`bench/vmm-paper.txt\` holds none of Adams & Agesen's figures."
        elif [ "$paper_clock" != - ]; then
            echo "Paper columns: Adams & Agesen (ASPLOS 2006), section 6 / Figure 4, cycles as published,"
            echo "ns at the paper machine's ${paper_clock} MHz (\`bench/vmm-paper.txt\` gives the source)."
        else
            echo "Paper columns: Adams & Agesen (ASPLOS 2006), section 6 / Figure 4, the cycle counts its text"
            echo "states (\`bench/vmm-paper.txt\` gives the source; \`-\`: no number in the text). The paper"
            echo "machine's clock was not available here, so its VT-x figure in ns is given as a lower bound"
            echo "at ${paper_bound} MHz (\`>=\`): the comparison is settled only where bt86 is below that bound."
        fi
        if [ -f "$tmp/failed" ]; then
            echo
            echo "FAILED runs (left out of the medians; \`*\`: operations finished by runs that failed later, used only when no run of that engine succeeded):"
            echo
            for e in $(sort -u "$tmp/failed"); do
                echo "- $e: $(sort -u "$tmp/$e.why" 2>/dev/null | sed 's/^ *| //' | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
            done
        fi
        echo "<!-- vmm:end -->"
    } >"$section"
    md_replace_section "$BENCH_MD" vmm "$section" "## VMM microbenchmarks"
    echo
    echo "bench-vmm: results written to $BENCH_MD"
fi

[ -f "$tmp/failed" ] || exit 0
echo "bench-vmm: failed engines: $(sort -u "$tmp/failed" | tr '\n' ' ')" >&2
# bt86-kvm failing on kvm_pvm is the host's limit (see the note above), not a failure of the benchmark
[ -n "$kvm_append" ] && [ -z "$(grep -vx bt86-kvm "$tmp/failed")" ] && exit 0
exit 1
