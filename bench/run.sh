#!/usr/bin/env bash
# bench/run.sh — runs the CPU-bound benchmark guest (build/guests/bench.elf)
# under bt86's translator and interpreter, under qemu-system-i386 (TCG) and natively
# (build/bench-native: the same kernels compiled for the host), alternating
# engines for REPS rounds. Reports wall time per run, the median, the ratios
# bt86/QEMU and bt86/native, bt86's guest instructions per second (from its
# -stats output) and peak RSS, the translator's cost (ns per guest
# instruction translated, host code bytes per guest byte; BT86_BT_STATS=1),
# then per kernel CPU times (the least of the rounds): native (its own process CPU clock), QEMU and
# bt86 (each kernel run alone with "only=K", minus a run of no kernel: bt86's
# TSC is virtual, and on a shared host CPU time is steadier than wall time),
# the ratios and their geometric means. It rewrites only
# the generated section of BENCHMARKS.md (between the bench:begin/end
# markers). Called by `make bench`.
#
# Engines: bt86-bt (bt86 -engine bt), bt86 (bt86 -engine interp), qemu, native.
# Environment: BT86 (default ./bt86), QEMU (default qemu-system-i386),
#   SCALE (guest work multiplier, default 4), REPS (default 3),
#   BENCH_MD (default BENCHMARKS.md; BENCH_MD= to not write it),
#   ENGINES (default "bt86-bt bt86 qemu native"),
#   KREPS (rounds of per-kernel bt86 runs, default REPS; 0 = none),
#   KSCALE (the per-kernel runs' scale, default 4 * SCALE: a kernel must
#   take long against the noise of an emulator's start-up, which is
#   subtracted; their times are reported per SCALE).
set -uo pipefail
. "$(dirname "$0")/md_section.sh"
. "$(dirname "$0")/rounds.sh"
cd "$(dirname "$0")/.." || exit 1

BT86=${BT86:-./bt86}
QEMU=${QEMU:-qemu-system-i386}
SCALE=${SCALE:-4}
REPS=${REPS:-3}
BENCH_MD=${BENCH_MD-BENCHMARKS.md}
ENGINES=${ENGINES:-bt86-bt bt86 qemu native}
KREPS=${KREPS:-$REPS}
KSCALE=${KSCALE:-$((4 * SCALE))}
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
        bt86-bt) cmd=(env BT86_BT_STATS=1 "$BT86" -engine bt -stats -kernel "$GUEST" -append "scale=$SCALE"); okst=1 ;;
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

# Per-kernel runs: kernel K alone ("only=K"), and K = NK+1 (none: the
# start-up baseline), alternating engines and kernels. Timed by the CPU time
# (user + system, all threads) the process used, from wait4(): on a shared
# host, wall time also counts the time spent waiting for a CPU.
NK=$(wc -l <"$tmp/ref.sums")
kengines=""
for e in $ENGINES; do case $e in bt86|bt86-bt|qemu) kengines="$kengines $e" ;; esac; done
# cputime CMD...: runs CMD (output discarded), prints "cpu_seconds status".
cputime() {
    python3 -c '
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, st, ru = os.wait4(p.pid, 0)
print("%.6f %d" % (ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(st)))' "$@"
}
krun() {
    local e=$1 k=$2 out
    engine_cmd "$e"
    local -a c=("${cmd[@]}")
    c[${#c[@]}-1]="scale=$KSCALE only=$k"
    out=$(cputime timeout "$TIMEOUT" "${c[@]}")
    if [ "${out#* }" != "$okst" ]; then
        echo "bench: $e only=$k failed (status ${out#* })" >&2
        echo "$e" >>"$tmp/failed"
        return
    fi
    echo "${out% *}" >>"$tmp/$e.k$k"
}
if [ "$KREPS" -gt 0 ] && [ -n "$kengines" ]; then
    command -v python3 >/dev/null || die "python3 missing (per-kernel CPU times; KREPS=0 skips them)"
    echo "bench: per-kernel runs ($KREPS rounds of $NK kernels + baseline:$kengines)"
    for r in $(seq 1 "$KREPS"); do
        for k in $(seq 1 $((NK + 1))); do
            for e in $kengines; do krun "$e" "$k"; done
        done
    done
fi


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

# The translator's own figures from the last bt86-bt run (BT86_BT_STATS=1).
btstats() {
    local f="$tmp/bt86-bt.$REPS.err"
    [ -f "$f" ] || return
    local tns cb tb ti
    tns=$(awk '/^bt translate ns\/insn/ { print $4 }' "$f")
    cb=$(awk '/^bt code bytes\/guest byte/ { print $5 }' "$f")
    tb=$(awk '/^bt translated blocks/ { print $4 }' "$f")
    ti=$(awk '/^bt translated insns/ { print $4, $5, $6, $7, $8 }' "$f")
    [ -n "$tns" ] || return
    echo "Translator (last bt86-bt run): $tb blocks, $ti translated; ${tns} ns per guest instruction translated; ${cb} host code bytes per guest byte."
}

# Per-kernel times in ms: native (its own CPU-time clock), the others (the
# kernel run alone minus the baseline run, CPU time). The least of the
# rounds, for every engine alike: on a shared host, CPU time only grows with
# interference (the native build alone varies by 30% from run to run here,
# and a median of five still moved a kernel's ratio by half), so the
# fastest round is the closest to what each engine's code costs. Ratios and
# their geometric means.
pk() {
    local ms=$tmp/pk
    : >"$ms"
    kms() { # kms ENGINE K: least CPU ms of kernel K minus the baseline's
        [ -f "$tmp/$1.k$2" ] && [ -f "$tmp/$1.k$((NK + 1))" ] || { echo -; return; }
        local base
        base=$(least <"$tmp/$1.k$((NK + 1))")
        least <"$tmp/$1.k$2" | awk -v b="$base" -v s="$SCALE" -v ks="$KSCALE" '
            { x = ($1 - b) * 1000 * s / ks; if (x < 0.001) x = 0.001; printf "%.1f", x }'
    }
    local k=0
    while read -r name _; do
        k=$((k + 1))
        local nat
        nat=$(for r in $(seq 1 "$REPS"); do awk -v k="$name" '$1 == k { for (i = 1; i <= NF; i++) if ($i ~ /^ns=/) { sub("ns=", "", $i); printf "%.2f\n", $i / 1e6 } }' "$tmp/native.$r.out" 2>/dev/null; done | least)
        echo "$name ${nat:--} $(kms qemu $k) $(kms bt86-bt $k) $(kms bt86 $k)" >>"$ms"
    done <"$tmp/ref.sums"
    echo "| kernel | native (ms) | QEMU TCG (ms) | bt86 bt (ms) | bt86 interp (ms) | bt / QEMU | bt / native | QEMU / native | interp / bt |"
    echo "|---|---|---|---|---|---|---|---|---|"
    awk '
        function r(a, b) { return (a == "-" || b == "-" || b + 0 == 0) ? "-" : sprintf("%.2fx", a / b) }
        function acc(i, a, b) { if (a != "-" && b != "-" && b + 0 > 0 && a + 0 > 0) { lg[i] += log(a / b); ng[i]++ } }
        function g(i) { return ng[i] ? sprintf("%.2fx", exp(lg[i] / ng[i])) : "-" }
        { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, r($4, $3), r($4, $2), r($3, $2), r($5, $4)
          acc(1, $4, $3); acc(2, $4, $2); acc(3, $3, $2); acc(4, $5, $4) }
        END { printf "| **geometric mean** | | | | | %s | %s | %s | %s |\n", g(1), g(2), g(3), g(4) }' "$ms"
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
btstats
echo
pk

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
        btstats
        echo
        echo "Per kernel: CPU time (user + system) in ms, the least of $KREPS rounds for every engine"
        echo "(interference on this shared host only adds time: the native build alone varies by ~30%"
        echo "from run to run); native: its"
        echo "own process CPU clock around the kernel; QEMU and bt86: the kernel run alone"
        echo "(\`-append \"scale=$KSCALE only=K\"\`) minus a run of no kernel (\`only=$((NK + 1))\`), divided"
        echo "by $((KSCALE / SCALE)) to give the time at scale=$SCALE (the larger scale keeps the emulators' start-up noise"
        echo "small against the kernel). Ratios below 1 mean bt86 -engine bt is faster."
        echo
        pk
        echo
        echo "Per kernel, last round (TSC cycles are what the guest reads with RDTSC:"
        echo "QEMU's follows the host clock, bt86's its virtual clock at 1 GHz):"
        echo
        kernels
        echo "<!-- bench:end -->"
    } >"$section"
    md_replace_section "$BENCH_MD" bench "$section"
    echo
    echo "bench: results written to $BENCH_MD"
fi

[ -f "$tmp/failed" ] && { echo "bench: failed engines: $(sort -u "$tmp/failed" | tr '\n' ' ')" >&2; exit 1; }
exit 0
