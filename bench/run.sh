#!/usr/bin/env bash
# bench/run.sh — runs the CPU-bound benchmark guest (build/guests/bench.elf)
# under bt86's translator and interpreter, under qemu-system-i386 (TCG) and natively
# (build/bench-native: the same kernels compiled for the host), alternating
# engines for REPS rounds. Reports wall time per run, the median, the ratios
# bt86/QEMU and bt86/native, bt86's guest instructions per second (from its
# -stats output) and peak RSS, then rewrites the generated section of
# BENCHMARKS.md. Called by `make bench`.
#
# Engines: bt86-bt (bt86 -engine bt), bt86 (bt86 -engine interp), qemu, native.
# Environment: BT86 (default ./bt86), QEMU (default qemu-system-i386),
#   SCALE (guest work multiplier, default 4), REPS (default 3),
#   BENCH_MD (default BENCHMARKS.md; BENCH_MD= to not write it),
#   ENGINES (default "bt86-bt bt86 qemu native").
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BT86=${BT86:-./bt86}
QEMU=${QEMU:-qemu-system-i386}
SCALE=${SCALE:-4}
REPS=${REPS:-3}
BENCH_MD=${BENCH_MD-BENCHMARKS.md}
ENGINES=${ENGINES:-bt86-bt bt86 qemu native}
GUEST=build/guests/bench.elf
NATIVE=build/bench-native
TIMEOUT=${TIMEOUT:-600}
TIME=/usr/bin/time

die() { echo "bench: $*" >&2; exit 1; }
[ -f "$GUEST" ] || die "$GUEST missing (run make guests)"
[ -x "$TIME" ] || die "/usr/bin/time missing (apt-get install time)"
make -s "$NATIVE" >/dev/null || die "cannot build $NATIVE"
command -v "$QEMU" >/dev/null || { echo "bench: $QEMU not found, skipping the QEMU column" >&2; ENGINES=${ENGINES//qemu/}; }

# engine_cmd ENGINE: sets the array cmd to the engine's command line and okst
# to the exit status meaning "guest finished and all checksums matched".
engine_cmd() {
    case $1 in
        bt86)   cmd=("$BT86" -engine interp -stats -kernel "$GUEST" -append "scale=$SCALE"); okst=1 ;;
        bt86-bt) cmd=("$BT86" -engine bt -stats -kernel "$GUEST" -append "scale=$SCALE"); okst=1 ;;
        qemu)   cmd=("$QEMU" -accel tcg -display none -serial stdio
                     -device "isa-debug-exit,iobase=0xf4,iosize=4" -kernel "$GUEST" -append "scale=$SCALE"); okst=1 ;;
        native) cmd=("$NATIVE" "$SCALE"); okst=0 ;;
        *) die "unknown engine '$1' (expected bt86-bt, bt86, qemu or native)" ;;
    esac
}
cmd=() okst=0

echo "bench: scale=$SCALE, $REPS rounds, engines: $ENGINES"
for e in $ENGINES; do
    engine_cmd "$e"
    printf 'bench: %-6s $ %s\n' "$e" "${cmd[*]}"
done
echo "bench: host: $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run ENGINE ROUND: one timed run; appends "wall rss status ips insns" to $tmp/ENGINE.runs
run() {
    local e=$1 r=$2 t0 t1 st
    engine_cmd "$e"
    t0=$(date +%s%N)
    timeout "$TIMEOUT" "$TIME" -v -o "$tmp/$e.$r.time" "${cmd[@]}" </dev/null >"$tmp/$e.$r.out" 2>"$tmp/$e.$r.err"
    st=$?
    t1=$(date +%s%N)
    local wall rss ips insns
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$tmp/$e.$r.time" 2>/dev/null)
    insns=$(awk '/guest instructions/ { print $3 }' "$tmp/$e.$r.err")
    ips=$(awk '/instructions\/second/ { print $2 }' "$tmp/$e.$r.err")
    tr -d '\r' <"$tmp/$e.$r.out" | grep -o '^[a-z0-9]* *checksum=[0-9a-f]*' >"$tmp/$e.$r.sums"
    local verdict=ok
    if [ "$st" != "$okst" ]; then
        verdict="FAILED (status $st, want $okst)"
    elif ! cmp -s "$tmp/ref.sums" "$tmp/$e.$r.sums"; then
        verdict="FAILED (checksums differ from native)"
    fi
    [ "$verdict" = ok ] || echo "$e" >>"$tmp/failed"
    # failed runs are listed but left out of medians and ratios
    echo "$wall ${rss:-0} $st ${ips:--} ${insns:--} $([ "$verdict" = ok ] && echo ok || echo fail)" >>"$tmp/$e.runs"
    printf 'bench: round %d %-6s %8.3f s  rss %7s KiB  %s\n' "$r" "$e" "$wall" "${rss:-?}" "$verdict"
    if [ "$verdict" != ok ]; then
        sed 's/^/    | /' "$tmp/$e.$r.err" | tail -5
    fi
}

# The native build's checksums are the reference every engine must match.
"$NATIVE" "$SCALE" | grep -o '^[a-z0-9]* *checksum=[0-9a-f]*' >"$tmp/ref.sums"
[ -s "$tmp/ref.sums" ] || die "$NATIVE printed no checksums"

for r in $(seq 1 "$REPS"); do
    for e in $ENGINES; do
        run "$e" "$r"
    done
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A MED RSS IPS INSNS RUNS
for e in $ENGINES; do
    [ -f "$tmp/$e.runs" ] || continue
    MED[$e]=$(awk '$6 == "ok" { print $1 }' "$tmp/$e.runs" | median)
    RSS[$e]=$(awk '$6 == "ok" { print $2 }' "$tmp/$e.runs" | sort -n | tail -1)
    IPS[$e]=$(awk '$6 == "ok" && $4 != "-" { print $4 }' "$tmp/$e.runs" | median)
    INSNS[$e]=$(awk '$6 == "ok" && $5 != "-" { print $5 }' "$tmp/$e.runs" | tail -1)
    RUNS[$e]=$(awk '{ printf "%s%s%s", sep, $1, $6 == "ok" ? "" : " (failed)"; sep = ", " }' "$tmp/$e.runs")
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.1fx", a / b }'; }

table() {
    echo "| engine | runs (s) | median (s) | vs native | peak RSS (MiB) | guest insns | guest insns/s |"
    echo "|---|---|---|---|---|---|---|"
    for e in $ENGINES; do
        [ -n "${MED[$e]:-}" ] || continue
        local rssm ipsm
        rssm=$(awk -v k="${RSS[$e]:-}" 'BEGIN { if (k == "") print "-"; else printf "%.1f", k / 1024 }')
        ipsm=$(awk -v i="${IPS[$e]:--}" 'BEGIN { if (i == "-") print "-"; else printf "%.1fM", i / 1e6 }')
        local label=$e; [ -f "$tmp/failed" ] && grep -qx "$e" "$tmp/failed" && label="$e (FAILED)"
        echo "| $label | ${RUNS[$e]} | ${MED[$e]} | $(ratio "${MED[$e]}" "${MED[native]:-}") | $rssm | ${INSNS[$e]:--} | $ipsm |"
    done
    echo
    echo "Median wall time ratios: bt86 -engine bt / QEMU $(ratio "${MED[bt86-bt]:-}" "${MED[qemu]:-}");" \
         "bt86 -engine bt / native $(ratio "${MED[bt86-bt]:-}" "${MED[native]:-}");" \
         "interpreter / QEMU $(ratio "${MED[bt86]:-}" "${MED[qemu]:-}");" \
         "interpreter / native $(ratio "${MED[bt86]:-}" "${MED[native]:-}");" \
         "QEMU / native $(ratio "${MED[qemu]:-}" "${MED[native]:-}")"
}

# Per-kernel figures from the last round: native nanoseconds, guest TSC cycles.
kernels() {
    echo "| kernel | checksum | native (ms) | QEMU TSC cycles | bt86 TSC cycles |"
    echo "|---|---|---|---|---|"
    local nat="$tmp/native.$REPS.out" q="$tmp/qemu.$REPS.out" b="$tmp/bt86.$REPS.out"
    [ -f "$nat" ] || nat="$tmp/native.1.out"
    awk '/checksum=/ { print $1 }' "$nat" | while read -r k; do
        local sum ns qc bc
        sum=$(awk -v k="$k" '$1 == k { sub("checksum=", "", $2); print $2 }' "$nat")
        ns=$(awk -v k="$k" '$1 == k { for (i = 1; i <= NF; i++) if ($i ~ /^ns=/) { sub("ns=", "", $i); printf "%.2f", $i / 1e6 } }' "$nat")
        qc=$(tr -d '\r' <"$q" 2>/dev/null | awk -v k="$k" '$1 == k { for (i = 1; i <= NF; i++) if ($i ~ /^cycles=/) { sub("cycles=", "", $i); print $i } }')
        bc=$(tr -d '\r' <"$b" 2>/dev/null | awk -v k="$k" '$1 == k { for (i = 1; i <= NF; i++) if ($i ~ /^cycles=/) { sub("cycles=", "", $i); print $i } }')
        echo "| $k | $sum | $ns | ${qc:--} | ${bc:--} |"
    done
}

echo
table
echo
kernels

if [ -n "$BENCH_MD" ]; then
    section="$tmp/section.md"
    {
        echo "<!-- bench:begin (generated by bench/run.sh; edits inside are overwritten) -->"
        echo "### Latest run"
        echo
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; scale=$SCALE, $REPS rounds, engines alternating."
        echo
        echo "Commands:"
        echo
        echo '```'
        for e in $ENGINES; do
            engine_cmd "$e"
            echo "${cmd[*]}"
        done
        echo '```'
        echo
        table
        echo
        echo "Per kernel (last round; TSC cycles are what the guest reads with RDTSC:"
        echo "QEMU's follows the host clock, bt86's is virtual):"
        echo
        kernels
        echo "<!-- bench:end -->"
    } >"$section"
    [ -f "$BENCH_MD" ] || printf '# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n' >"$BENCH_MD"
    if grep -q '<!-- bench:begin' "$BENCH_MD"; then
        awk -v f="$section" '
            /<!-- bench:begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
            /<!-- bench:end/ { skip = 0; next }
            !skip { print }' "$BENCH_MD" >"$tmp/md" && cat "$tmp/md" >"$BENCH_MD"
    else
        { echo; cat "$section"; } >>"$BENCH_MD"
    fi
    echo
    echo "bench: results written to $BENCH_MD"
fi

[ -f "$tmp/failed" ] && { echo "bench: failed engines: $(sort -u "$tmp/failed" | tr '\n' ' ')" >&2; exit 1; }
exit 0
