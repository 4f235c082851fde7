#!/usr/bin/env bash
# tests/integration/linux.sh — boots the Linux guest (Debian's i386 kernel and
# the busybox initramfs of guests/linux/) with bt86.test=smoke under bt86 and,
# as the reference, under qemu-system-i386 TCG. Each run must print every line
# of guests/linux/tests/smoke.expected, in order, and exit with status 0 (the
# guest powers the machine off). Called by tests/integration/run.sh.
#
# Environment:
#   BT86          bt86 binary (default ./bt86)
#   QEMU          qemu-system-i386 (default: on PATH; QEMU=none skips it)
#   LINUX_ENGINES bt86 engines to run (default "bt"; "bt interp" adds the interpreter)
#   BT86_SAN      the ASan+UBSan build; with LINUX_SAN=1 it boots the guest too
#                 (-engine bt; slow, so off by default)
#   LINUX_TIMEOUT seconds per boot (default 300)
#   LINUX_TEST    the guest test to run (default smoke)
#   LINUX_SHELL   1 (default): also type into the interactive shell (shell_case); 0: don't
#
# Prints "PASS name", "FAIL name: why" (then the last lines of the guest's
# console, indented "    |"), or "SKIP name: why" when the kernel cannot be
# fetched (no network and nothing cached); the last line is
# "linux: N passed, M failed". The consoles are kept in build/linux/test-*.log.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BT86=${BT86:-$ROOT/bt86}
if [ -z "${QEMU+x}" ]; then QEMU=$(command -v qemu-system-i386 || true); fi
[ "$QEMU" = none ] && QEMU=
ENGINES=${LINUX_ENGINES:-bt}
TIMEOUT=${LINUX_TIMEOUT:-300}
TEST=${LINUX_TEST:-smoke}
OUT=build/linux
EXPECTED=guests/linux/tests/$TEST.expected

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; [ -f "${3:-}" ] && tail -n 12 "$3" | tr -d '\r' | sed 's/^/    |/'; }
finish() { echo "linux: $passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

# The guest: fetch (exit 2 = no network and nothing cached) then build.
mkdir -p "$OUT"
bash scripts/linux-fetch.sh "$OUT" 2>"$OUT/fetch.err"
rc=$?
if [ "$rc" = 2 ]; then
    echo "SKIP linux: cannot fetch Debian's i386 kernel ($(tail -1 "$OUT/fetch.err"))"
    finish
elif [ "$rc" != 0 ]; then
    fail "linux fetch" "scripts/linux-fetch.sh failed: $(tail -2 "$OUT/fetch.err" | tr '\n' ' ')"
    finish
fi
if ! make -s linux >"$OUT/make.log" 2>&1; then
    fail "linux build" "make linux failed: $(tail -3 "$OUT/make.log" | tr '\n' ' ')"
    finish
fi
[ -f "$EXPECTED" ] || { fail "linux $TEST" "$EXPECTED missing"; finish; }

# scripts/mkcpio.c on a tiny tree: a file, a directory, a symlink and a device
# node from a spec, against the archive checked by hand (newc headers, name
# and data padding to 4 bytes, trailer, 512-byte total).
ct=$(mktemp -d)
mkdir "$ct/t" "$ct/t/d" && printf 'hi\n' >"$ct/t/a" && ln -s a "$ct/t/l" && chmod 644 "$ct/t/a" && chmod 755 "$ct/t/d"
printf '# comment\n\nnod /dev/console 0600 c 5 1\n' >"$ct/spec"
sum=$(env -u SOURCE_DATE_EPOCH build/gen/mkcpio "$ct/t" "$ct/spec" | sha256sum | cut -d' ' -f1)
if [ "$sum" = e291b2ed21b9f99b93c2a2ead37cb339e9cb3c5c4cf86671a4c2f55f9747fc86 ]; then
    pass "mkcpio archive"
else
    fail "mkcpio archive" "sha256 $sum differs from the known archive"
fi
printf 'nod /dev/x 0600 q 1 1\n' >"$ct/bad"
if build/gen/mkcpio "$ct/t" "$ct/bad" >/dev/null 2>&1; then fail "mkcpio bad spec" "accepted"; else pass "mkcpio bad spec"; fi
rm -rf "$ct"

APPEND="console=ttyS0 bt86.test=$TEST"
BOOT=(-m 256 -kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs.cpio.gz" -append "$APPEND")
SHELL_BOOT=(-m 256 -kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs.cpio.gz" -append "console=ttyS0 quiet")

# check NAME LOG STATUS SECONDS: every expected line, in order, and status 0
check() {
    local name=$1 log=$2 st=$3 secs=$4 missing
    missing=$(tr -d '\r' <"$log" | awk -v ef="$EXPECTED" '
        BEGIN { while ((getline l < ef) > 0) want[++n] = l; i = 1 }
        i <= n && $0 == want[i] { i++ }
        END { if (n == 0) print "(no expected lines)"; else if (i <= n) print want[i] }') || missing="(awk failed)"
    if [ "$st" = 124 ] || [ "$st" = 137 ]; then
        fail "$name" "timed out after ${TIMEOUT}s${missing:+; first missing line: '$missing'}" "$log"
    elif [ -n "$missing" ]; then
        fail "$name" "exit status $st; first missing line: '$missing'" "$log"
    elif [ "$st" != 0 ]; then
        fail "$name" "all $TEST lines present but exit status $st, want 0 (power off)" "$log"
    else
        pass "$name (${secs}s)"
    fi
}

# run NAME LOG cmd...: runs with the timeout, then checks
run() {
    local name=$1 log=$2 t0 t1 st
    shift 2
    t0=$(date +%s%N)
    timeout -k 5 "$TIMEOUT" "$@" </dev/null >"$log" 2>&1
    st=$?
    t1=$(date +%s%N)
    check "$name" "$log" "$st" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
}

# shell NAME LOG cmd...: the interactive path (`make run-linux`): boots
# without bt86.test, waits for init's "Type 'exit'" line, then types a command
# line with a background job into the serial console and `exit`. The output
# must show the command's result and the job table, and the run must end
# with status 0 (leaving the shell powers off).
shell_case() {
    local name=$1 log=$2 line st="" sent=0 dir infd
    shift 2
    : >"$log"
    # The VM's stdin is a FIFO this shell holds open read-write (so opening it
    # never blocks, and the VM sees no EOF before we are done).
    dir=$(mktemp -d)
    mkfifo "$dir/in"
    exec {infd}<>"$dir/in"
    while IFS= read -r line; do
        line=${line%$'\r'}
        printf '%s\n' "$line" >>"$log"
        case $line in
            *"Type 'exit'"*)
                if [ $sent = 0 ]; then
                    printf 'sleep 1 & jobs; echo "SHELL $((6 * 7)) $(cat /proc/sys/kernel/hostname)"\nexit\n' >&"$infd"
                    sent=1
                fi ;;
            "VMEXIT "*) st=${line#VMEXIT } ;;
        esac
    done < <(timeout -k 5 "$TIMEOUT" "$@" <"$dir/in" 2>&1; echo "VMEXIT $?")
    exec {infd}>&-
    rm -rf "$dir"
    if [ "$sent" = 0 ]; then
        fail "$name" "no shell (status ${st:-?})" "$log"
    elif ! grep -qx 'SHELL 42 bt86' "$log" || ! grep -q '^\[1\]+  Running  *sleep 1' "$log"; then
        fail "$name" "the typed command line did not run (status ${st:-?})" "$log"
    elif [ "$st" != 0 ]; then
        fail "$name" "exit status $st after 'exit', want 0" "$log"
    else
        pass "$name"
    fi
}

if [ ! -x "$BT86" ]; then
    fail "linux $TEST [bt86]" "no bt86 binary at $BT86"
else
    for e in $ENGINES; do
        run "linux $TEST [bt86 -engine $e]" "$OUT/test-$TEST-bt86-$e.log" "$BT86" -engine "$e" "${BOOT[@]}"
    done
    # Two vCPUs, a host thread each (bt86's default): the kernel brings up
    # the AP with INIT/STARTUP IPIs and /proc/cpuinfo lists both (smoke's
    # cpuinfo check reads bt86.cpus). A vCPU thread the host deschedules
    # gets its missed local APIC ticks back (docs/SMP.md), so Linux's
    # clocksource watchdog stays quiet even on a loaded host.
    run "linux $TEST -smp 2 [bt86 -engine bt]" "$OUT/test-$TEST-smp2.log" "$BT86" -engine bt -smp 2 \
        -m 256 -kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs.cpio.gz" -append "$APPEND bt86.cpus=2"
    [ "${LINUX_SHELL:-1}" = 1 ] && shell_case "linux shell [bt86 -engine bt]" "$OUT/test-shell-bt86.log" \
        "$BT86" -engine bt "${SHELL_BOOT[@]}"
fi
if [ "${LINUX_SAN:-0}" = 1 ] && [ -n "${BT86_SAN:-}" ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
    run "linux $TEST [san -engine bt]" "$OUT/test-$TEST-san.log" "$BT86_SAN" -engine bt "${BOOT[@]}"
    if grep -Eq 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error' "$OUT/test-$TEST-san.log"; then
        fail "linux $TEST [san report]" "$(grep -m1 -E 'Sanitizer|runtime error' "$OUT/test-$TEST-san.log")"
    fi
fi
if [ -n "$QEMU" ]; then
    run "linux $TEST [qemu]" "$OUT/test-$TEST-qemu.log" "$QEMU" -accel tcg "${BOOT[@]}" \
        -display none -serial stdio -monitor none -no-reboot
    [ "${LINUX_SHELL:-1}" = 1 ] && shell_case "linux shell [qemu]" "$OUT/test-shell-qemu.log" \
        "$QEMU" -accel tcg "${SHELL_BOOT[@]}" -display none -serial stdio -monitor none -no-reboot
else
    echo "SKIP linux $TEST [qemu]: no qemu-system-i386 (not on PATH, or QEMU=none)"
fi
finish
