#!/usr/bin/env bash
# tests/fuzz/lockstep_guests.sh TOOL GUEST_DIR [ENGINES] — runs every
# Multiboot guest in GUEST_DIR (except the interactive demo) under
# bt86-lockstep (tests/fuzz/lockstep_guest.c) and fails if any diverges.
# ENGINES is "A,B" (default: the tool's, bt,run when the translator is linked).
# LOCKSTEP_SKIP: space-separated guest names to leave out (make test skips the
# long-running bench and vgademo; `make lockstep` runs them all).
set -uo pipefail
tool=$1
dir=$2
engines=${3:-}
args=()
[ -n "$engines" ] && args=(-engines "$engines")
# LOCKSTEP_CHUNK: instructions between comparisons (bt86-lockstep's -chunk,
# 64 by default). Large chunks let the translator chain blocks and keep its
# return-address frames between comparisons, which 64-instruction chunks
# (each block run alone at the limit) never do.
[ -n "${LOCKSTEP_CHUNK:-}" ] && args+=(-chunk "$LOCKSTEP_CHUNK")

# Guests that also run with extra options: the SMP cases of the integration
# tests (smp_case lines in tests/integration/cases.d/*.sh: NAME GUEST STATUS
# MAX-INSNS TIMEOUT OPTIONS...), each run here with its OPTIONS and required
# to agree and end with its STATUS. Lockstep is always deterministic round
# robin, so -smp N,threads=single is the same run as -smp N and runs once.
cases_dir=$(dirname "$0")/../integration/cases.d
[ -d "$cases_dir" ] || echo "lockstep: no $cases_dir: guests run with one vCPU only"
extra_runs=$(
    for f in "$cases_dir"/*.sh; do
        [ -f "$f" ] || continue
        while read -ra w; do
            while [ ${#w[@]} -gt 0 ] && [[ ${w[0]} == *=* ]]; do w=("${w[@]:1}"); done
            [ ${#w[@]} -ge 6 ] && [ "${w[0]}" = smp_case ] || continue
            echo "${w[2]}|${w[3]}|$(echo "${w[*]:6}" | sed 's/,threads=single//g')"
        done <"$f"
    done | awk '!seen[$0]++'
)

fail=0
passed=0
failed=0

# run_one NAME WANT [OPTIONS...]: one lockstep run of $g (WANT: the exit
# status required, empty for any status but a divergence, timeout or crash).
run_one() {
    local name=$1 want=$2
    shift 2
    local out rc
    out=$(timeout 600 "$tool" "${args[@]}" "$@" -kernel "$g" -serial none -max-insns 200000000 </dev/null 2>&1 >/dev/null)
    rc=$?
    if [ $rc -eq 99 ] || [ $rc -eq 124 ] || [ $rc -ge 128 ] || { [ -n "$want" ] && [ $rc -ne "$want" ]; }; then
        echo "FAIL $name (status $rc${want:+, want $want})"
        echo "$out" | head -40
        fail=1
        failed=$((failed + 1))
    else
        echo "PASS $name: $(echo "$out" | grep '^bt86-lockstep:' | tail -1)"
        passed=$((passed + 1))
    fi
}

for g in "$dir"/*.elf; do
    name=$(basename "$g" .elf)
    [ "$name" = demo ] && continue
    case " ${LOCKSTEP_SKIP:-} " in *" $name "*) continue ;; esac
    run_one "$name" ""
    while IFS='|' read -r eg want opts; do
        [ "$eg" = "$name" ] || continue
        read -ra o <<<"$opts"
        run_one "$name $opts" "$want" "${o[@]}"
    done <<<"$extra_runs"
done
echo "lockstep: $passed passed, $failed failed"
exit $fail
