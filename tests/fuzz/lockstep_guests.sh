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
fail=0
passed=0
failed=0
for g in "$dir"/*.elf; do
    name=$(basename "$g" .elf)
    [ "$name" = demo ] && continue
    case " ${LOCKSTEP_SKIP:-} " in *" $name "*) continue ;; esac
    out=$(timeout 600 "$tool" "${args[@]}" -kernel "$g" -serial none -max-insns 200000000 </dev/null 2>&1 >/dev/null)
    rc=$?
    if [ $rc -eq 99 ] || [ $rc -eq 124 ] || [ $rc -ge 128 ]; then
        echo "FAIL $name (status $rc)"
        echo "$out" | head -40
        fail=1
        failed=$((failed + 1))
    else
        echo "PASS $name: $(echo "$out" | tail -1)"
        passed=$((passed + 1))
    fi
done
echo "lockstep: $passed passed, $failed failed"
exit $fail
