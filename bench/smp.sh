#!/usr/bin/env bash
# bench/smp.sh — -smp throughput and IPI cost with the SMP guest's benchmark
# mode (guests/smp, -append "work=N ipis=M"):
#
#   scaling   every vCPU runs WORK iterations of a CPU-bound loop; the
#             throughput ratio is (2 * WORK / t(-smp 2)) / (WORK / t(-smp 1))
#             (2.0 is perfect scaling on two host cores)
#             and, since a shared host gives uneven CPU, the same per host
#             CPU-second: 2 * cpu(-smp 1) / cpu(-smp 2)
#   ipi       CPU 0 <-> CPU 1 fixed-IPI round trips: (t(2*IPIS) - t(IPIS)) / IPIS,
#             so start-up and the rest of the run cancel out
#
# Each figure is the median of REPS runs (wall clock, EPOCHREALTIME).
# Environment: BT86 (default ./bt86), ENGINES (default "bt interp"),
#   SMP_OPT (default "": bt86's default mode; e.g. ",threads=single"),
#   WORK (default 20000000; -engine bt: WORK_BT, default 20 * WORK, as the
#   translator is about 20 times faster), IPIS (default 20000), REPS (default 3).
set -uo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.." || exit 1
BT86=${BT86:-./bt86}
ENGINES=${ENGINES:-bt interp}
SMP_OPT=${SMP_OPT:-}
WORK=${WORK:-20000000}
WORK_BT=${WORK_BT:-$((20 * WORK))}
IPIS=${IPIS:-20000}
REPS=${REPS:-3}
ELF=build/guests/smp.elf
[ -x "$BT86" ] && [ -f "$ELF" ] || { echo "bench/smp.sh: build bt86 and guests first (make bt86 guests)" >&2; exit 1; }

# run ENGINE NCPU APPEND: wall seconds of one run (fails loudly if the guest
# does); with CPUTIME=1, the process's user+system seconds instead.
run() {
    local t0 t1 tf
    tf=$(mktemp)
    t0=$EPOCHREALTIME
    /usr/bin/time -o "$tf" -f "%U %S" "$BT86" -engine "$1" -smp "$2$SMP_OPT" -append "$3" -kernel "$ELF" \
        -serial none </dev/null
    local st=$? # the guest exits with check_finish's 0 through port 0xf4: status 1
    t1=$EPOCHREALTIME
    [ $st -eq 1 ] || { echo "bench/smp.sh: run failed (status $st): -engine $1 -smp $2 -append '$3'" >&2; exit 1; }
    if [ "${CPUTIME:-0}" = 1 ]; then tail -1 "$tf" | awk '{ printf "%.4f\n", $1 + $2 }'
    else awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'; fi
    rm -f "$tf"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

med_run() {
    local i
    for ((i = 0; i < REPS; i++)); do run "$@"; done | median
}

echo "bench/smp.sh: IPIS=$IPIS REPS=$REPS SMP_OPT='$SMP_OPT' host cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for e in $ENGINES; do
    w=$WORK
    [ "$e" = bt ] && w=$WORK_BT
    t1=$(med_run "$e" 1 "work=$w")
    t2=$(med_run "$e" 2 "work=$w")
    ratio=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", 2 * a / b }')
    echo "engine $e: work=$w: -smp 1 ${t1}s, -smp 2 ${t2}s (2x the work): throughput ratio ${ratio}x"
    c1=$(CPUTIME=1 med_run "$e" 1 "work=$w")
    c2=$(CPUTIME=1 med_run "$e" 2 "work=$w")
    echo "engine $e: host CPU time: -smp 1 ${c1}s, -smp 2 ${c2}s: work per CPU-second ratio" \
        "$(awk -v a="$c1" -v b="$c2" 'BEGIN { printf "%.2f", 2 * a / b }') (1.00: no per-instruction cost of -smp;" \
        "the throughput ratio on two idle cores would be about twice this if the vCPUs overlap fully)"
    ta=$(med_run "$e" 2 "work=1 ipis=$IPIS")
    tb=$(med_run "$e" 2 "work=1 ipis=$((2 * IPIS))")
    us=$(awk -v a="$ta" -v b="$tb" -v n="$IPIS" 'BEGIN { printf "%.2f", (b - a) / n * 1e6 }')
    echo "engine $e: IPI round trip ${us} us (${IPIS} vs $((2 * IPIS)) round trips: ${ta}s, ${tb}s)"
done
