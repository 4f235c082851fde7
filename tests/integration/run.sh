#!/usr/bin/env bash
# bt86 integration tests: runs the real binaries on real guests.
#
# Environment (set by `make test`):
#   BT86       the bt86 binary (required)
#   BT86_SAN   the ASan+UBSan build (optional: every guest also runs under it)
#   GUEST_DIR  where the guests/ build puts its kernels (build/guests)
#   QEMU       qemu-system-i386 to compare with (default: found on PATH; QEMU=none disables)
#
# Sections: 1 helpers, 2 command line, 3 front-end guests (built here from
# tests/integration/frontend/*.asm), 4 the guests/ suite. To add a guest:
#
#   run_guest NAME EXPECTED_STATUS EXPECTED_OUTPUT_FILE [bt86 options...]
#
# NAME is a kernel path, or a name looked up as $GUEST_DIR/NAME.elf. The
# guest's COM1 output must equal EXPECTED_OUTPUT_FILE (with @KERNEL@ replaced
# by the kernel path) and bt86 must exit with EXPECTED_STATUS. Set INPUT=FILE
# to feed the guest's serial input (default: none), TIMEOUT=S to change the
# 60-second limit, LABEL=S to name the test. Guests that exit through port 0xf4
# (odd statuses other than 3, which is also bt86's triple-fault status) are
# also run under QEMU, which must agree on output and status; QEMU_COMPARE=1
# or 0 forces the choice.
#
# The last line is "integration: N passed, M failed"; the exit status is
# non-zero if anything failed.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BT86=${BT86:-}
BT86_SAN=${BT86_SAN:-}
GUEST_DIR=${GUEST_DIR:-$ROOT/build/guests}
if [ -z "${QEMU+x}" ]; then QEMU=$(command -v qemu-system-i386 || true); fi
[ "$QEMU" = none ] && QEMU=
TIMEOUT=${TIMEOUT:-60}
INPUT=${INPUT:-}

WORK=$(mktemp -d /tmp/bt86-integration.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------- 1. helpers
PASSED=0
FAILED=0
FAILED_NAMES=()

pass() { PASSED=$((PASSED + 1)); echo "  ok    $1"; }
fail() { FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1"); echo "  FAIL  $1: $2"; }
section() { echo "== $1"; }

# run_cmd OUT ERR INPUTFILE cmd... -> sets RC (124 on timeout)
run_cmd() {
    local out=$1 err=$2 in=${3:-/dev/null}
    shift 3
    timeout -k 5 "$TIMEOUT" "$@" <"$in" >"$out" 2>"$err"
    RC=$?
}

# check_cli NAME EXPECTED_STATUS STDERR_PATTERN bt86-args...
# bt86 (and the sanitized build) must exit with the status and print exactly
# one stderr line matching the pattern (grep -E), starting "bt86: ".
check_cli() {
    local name=$1 want=$2 pat=$3
    shift 3
    local bin
    for bin in "$BT86" ${BT86_SAN:+"$BT86_SAN"}; do
        local tag=$name
        [ "$bin" = "$BT86_SAN" ] && tag="$name [san]"
        run_cmd "$WORK/out" "$WORK/err" /dev/null "$bin" "$@"
        local lines
        lines=$(wc -l <"$WORK/err")
        if [ "$RC" != "$want" ]; then
            fail "$tag" "exit status $RC, want $want ($(head -c 300 "$WORK/err"))"
        elif [ "$lines" != 1 ] || ! grep -q '^bt86: ' "$WORK/err"; then
            fail "$tag" "want one 'bt86: ' line on stderr, got: $(head -c 300 "$WORK/err")"
        elif ! grep -Eq -- "$pat" "$WORK/err"; then
            fail "$tag" "stderr does not match /$pat/: $(cat "$WORK/err")"
        else
            pass "$tag"
        fi
    done
}

# Compare one run's output with the expectation; prints a short diff on mismatch.
same_output() {
    local expected=$1 actual=$2 name=$3
    if ! cmp -s "$expected" "$actual"; then
        fail "$name" "serial output differs: $(diff "$expected" "$actual" | head -5 | tr '\n' '|')"
        return 1
    fi
    return 0
}

run_guest() {
    local name=$1 want=$2 expected=$3
    shift 3
    local kernel=$name
    [ -f "$kernel" ] || kernel=$GUEST_DIR/$name.elf
    local label=${LABEL:-}
    [ -n "$label" ] || label=$(basename "$name" .elf)
    if [ ! -f "$kernel" ]; then
        fail "$label" "guest $kernel not built"
        return
    fi
    [ -f "$expected" ] || expected=$ROOT/$expected
    if [ ! -f "$expected" ]; then
        fail "$label" "expected-output file $3 missing"
        return
    fi
    local exp="$WORK/$label.expected"
    sed "s|@KERNEL@|$kernel|g" "$expected" >"$exp"
    local in=${INPUT:-/dev/null}
    local bin
    for bin in "$BT86" ${BT86_SAN:+"$BT86_SAN"}; do
        local tag=$label
        [ "$bin" = "$BT86_SAN" ] && tag="$label [san]"
        run_cmd "$WORK/out" "$WORK/err" "$in" "$bin" -kernel "$kernel" "$@"
        if [ "$RC" != "$want" ]; then
            fail "$tag" "exit status $RC, want $want; stderr: $(head -c 300 "$WORK/err" | tr '\n' '|')"
            continue
        fi
        if grep -Eq 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error' "$WORK/err"; then
            fail "$tag" "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error' "$WORK/err")"
            continue
        fi
        same_output "$exp" "$WORK/out" "$tag" && pass "$tag"
    done
    # The same guest under QEMU, when it reports through the exit port.
    local compare=${QEMU_COMPARE:-}
    if [ -z "$compare" ]; then
        compare=0
        [ $((want % 2)) = 1 ] && [ "$want" != 3 ] && compare=1
    fi
    if [ -n "$QEMU" ] && [ "$compare" = 1 ]; then
        local qargs=() a
        for a in "$@"; do
            case $a in -stats|-max-insns|-engine|interp) ;; *) qargs+=("$a") ;; esac
        done
        run_cmd "$WORK/qout" "$WORK/qerr" "$in" "$QEMU" -kernel "$kernel" -display none -serial stdio \
            -monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 "${qargs[@]}"
        if [ "$RC" != "$want" ]; then
            fail "$label [qemu]" "QEMU exit status $RC, want $want; stderr: $(head -c 200 "$WORK/qerr")"
        else
            same_output "$exp" "$WORK/qout" "$label [qemu]" && pass "$label [qemu]"
        fi
    fi
}

if [ -z "$BT86" ] || [ ! -x "$BT86" ]; then
    echo "integration: BT86 must name the bt86 binary (make test sets it)"
    echo "integration: 0 passed, 1 failed"
    exit 1
fi

# fold_results LOG: a sub-suite's PASS/FAIL lines into this runner's counts.
fold_results() {
    local line m
    while IFS= read -r line; do
        case $line in
            "PASS "*) pass "${line#PASS }" ;;
            "FAIL "*) m=${line#FAIL }; fail "${m%%: *}" "${m#*: }" ;;
            "    |"*|"SKIP "*) echo "  $line" ;;
        esac
    done <"$1"
}

# ---------------------------------------------------------- 2. command line
section "command line"
run_cmd "$WORK/out" "$WORK/err" /dev/null "$BT86" -version
if [ "$RC" = 0 ] && grep -Eq '^bt86 [0-9]+\.[0-9]+' "$WORK/out" && [ ! -s "$WORK/err" ]; then pass "-version"; else fail "-version" "status $RC: $(cat "$WORK/out" "$WORK/err")"; fi
run_cmd "$WORK/out" "$WORK/err" /dev/null "$BT86" -help
if [ "$RC" = 0 ] && grep -q '^usage: bt86' "$WORK/out"; then pass "-help"; else fail "-help" "status $RC"; fi
check_cli "no kernel" 1 'nothing to boot' -m 64
check_cli "unknown option" 1 "unknown option '-bogus'" -bogus
check_cli "missing argument" 1 'option -m needs an argument' -kernel x -m
check_cli "missing kernel file" 1 "cannot open kernel '/nonexistent'" -kernel /nonexistent
check_cli "kernel is a directory" 1 'is not a regular file' -kernel /
check_cli "not multiboot" 1 'no Multiboot header' -kernel "$ROOT/Makefile"
check_cli "-m 0" 1 'cannot be zero' -m 0 -kernel x
check_cli "-m 1" 1 'too small' -m 1 -kernel x
check_cli "-m 4G" 1 'too large' -m 4G -kernel x
check_cli "-engine bt, missing kernel" 1 "cannot open kernel '/nonexistent'" -engine bt -kernel /nonexistent
check_cli "bad -serial" 1 "unknown -serial" -serial pty -kernel x
# A bzImage header with nothing after the setup sectors, and one too old.
head -c 1024 /dev/zero >"$WORK/trunc.bz"
printf '\x55\xaa\xeb\x66HdrS\x0f\x02' | dd of="$WORK/trunc.bz" bs=1 seek=510 conv=notrunc 2>/dev/null
printf '\x01' | dd of="$WORK/trunc.bz" bs=1 seek=$((0x211)) conv=notrunc 2>/dev/null
check_cli "truncated bzImage" 1 'truncated bzImage \(setup code only\)' -kernel "$WORK/trunc.bz"
cp "$WORK/trunc.bz" "$WORK/old.bz"
printf '\x01\x02' | dd of="$WORK/old.bz" bs=1 seek=$((0x206)) conv=notrunc 2>/dev/null
check_cli "old boot protocol" 1 'Linux boot protocol 2.01 is too old' -kernel "$WORK/old.bz"

# ------------------------------------------------------ 3. front-end guests
section "front-end guests (tests/integration/frontend)"
FE=$ROOT/tests/integration/frontend
if command -v nasm >/dev/null && command -v ld >/dev/null; then
    for src in "$FE"/*.asm; do
        g=$(basename "$src" .asm)
        if ! nasm -f elf32 "$src" -o "$WORK/$g.o" 2>"$WORK/asm.err" ||
           ! ld -m elf_i386 -Ttext=0x100000 -e _start "$WORK/$g.o" -o "$WORK/$g.elf" 2>>"$WORK/asm.err"; then
            fail "build $g" "$(head -c 300 "$WORK/asm.err")"
        fi
    done
    run_guest "$WORK/hello.elf" 33 "$FE/hello.expected" -append "one two"
    INPUT=$FE/echo.input run_guest "$WORK/echo.elf" 11 "$FE/echo.expected"
    run_guest "$WORK/halt.elf" 2 "$FE/empty.expected"
    run_guest "$WORK/triple.elf" 3 "$FE/empty.expected"
    LABEL="-max-insns" run_guest "$WORK/halt.elf" 4 "$FE/empty.expected" -max-insns 1
    check_cli "halt diagnostic" 2 'CPU halted forever: HLT at EIP=[0-9a-f]{8} with interrupts disabled' -kernel "$WORK/halt.elf"
    check_cli "triple fault diagnostic" 3 '^bt86: triple fault \(vector chain: 03 -> [0-9a-f]{2}( -> [0-9a-f]{2})*\) at EIP=[0-9a-f]{8} CPL=0$' -kernel "$WORK/triple.elf"
else
    fail "front-end guests" "nasm and ld are needed (make deps installs them)"
fi

# ------------------------------------------------------- 4. guests/ suite
section "guests ($GUEST_DIR)"
# >>> guests/ suite: owned by the guests engineer; the cases live in
# tests/integration/guests.sh (hello, cpu, demo, bench, failcheck under bt86
# with -max-insns bounds, the ASan build, and QEMU, with byte-identical
# output). Its PASS/FAIL lines are folded into this runner's counts.
QEMU=${QEMU:-none} BT86=$BT86 BT86_SAN=$BT86_SAN GUEST_DIR=$GUEST_DIR \
    bash "$ROOT/tests/integration/guests.sh" >"$WORK/guests.log" 2>&1
fold_results "$WORK/guests.log"
grep -q '^guests: ' "$WORK/guests.log" || fail "guests.sh" "did not finish: $(tail -3 "$WORK/guests.log" | tr '\n' '|')"
# <<< guests/ suite

# ------------------------------------------------------- 5. Linux guest
# >>> Linux guest: Debian's i386 kernel + busybox initramfs booted with
# bt86.test=smoke under bt86 -engine bt and QEMU (tests/integration/linux.sh;
# fetches and builds it, SKIPs without network and cache).
section "Linux guest (guests/linux)"
QEMU=${QEMU:-none} BT86=$BT86 BT86_SAN=$BT86_SAN bash "$ROOT/tests/integration/linux.sh" >"$WORK/linux.log" 2>&1
fold_results "$WORK/linux.log"
grep -q '^linux: ' "$WORK/linux.log" || fail "linux.sh" "did not finish: $(tail -3 "$WORK/linux.log" | tr '\n' '|')"
# <<< Linux guest

# ------------------------------------------------ 6. the SDL window (Xvfb)
# -display sdl under a virtual X server: keys typed into the window reach the
# guest through the 8042, and a screenshot is taken (tests/display/run.sh).
section "SDL display (tests/display)"
if command -v Xvfb >/dev/null && command -v xdotool >/dev/null && command -v import >/dev/null; then
    if out=$(cd "$ROOT" && timeout 180 bash tests/display/run.sh 2>&1); then pass "-display sdl under Xvfb"
    else fail "-display sdl under Xvfb" "$(echo "$out" | tail -3 | tr '\n' '|')"; fi
else
    echo "  SKIP -display sdl: needs Xvfb, xdotool and ImageMagick's import (make deps installs them)"
fi

# ------------------------------------------------------------------ summary
if [ "$FAILED" -gt 0 ]; then
    echo "failed: ${FAILED_NAMES[*]}"
fi
echo "integration: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
