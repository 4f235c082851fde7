#!/usr/bin/env bash
# bench/linux.sh — the Linux guest benchmark (`make bench-linux`): boots
# Debian's i386 kernel with the busybox initramfs (build/linux, `make linux`)
# and bt86.test=bench (guests/linux/tests/bench.sh) under bt86 -engine bt and
# qemu-system-i386 -accel tcg, on the same files, alternating engines for REPS
# rounds. Per run it measures:
#
#   boot     from starting the process to the "BENCH prompt" line (the point
#            where the interactive shell would start), outside; and the
#            guest's /proc/uptime at that point
#   forkwait 1,000 fork+exit+wait of a static i386 program (bt86util), timed
#            inside the guest (CLOCK_MONOTONIC) and outside (between lines)
#   gzip     gzip + gunzip + md5sum of /bin/busybox (~2 MB), inside and outside
#   total    the whole run, to power-off
#
# then prints medians and bt86/QEMU ratios and rewrites its own section of
# BENCHMARKS.md (between the bench-linux markers; bench/run.sh owns the rest).
#
# Environment: BT86 (default ./bt86), QEMU (default qemu-system-i386),
#   ENGINES (default "bt86-bt bt86-bt-nospin qemu"; "bt86" is the interpreter,
#   "bt86-bt-nospin" the translator with -spin-skip 0: PAUSE lets no time
#   pass, so the kernel's delay loops take their length in host time, as in
#   QEMU), REPS (default 3),
#   BENCH_MD (default BENCHMARKS.md; BENCH_MD= prints only), TIMEOUT (s, default 600).
set -uo pipefail
. "$(dirname "$0")/md_section.sh"
. "$(dirname "$0")/rounds.sh"
export LC_ALL=C   # EPOCHREALTIME and awk with '.' decimals
cd "$(dirname "$0")/.." || exit 1

BT86=${BT86:-./bt86}
QEMU=${QEMU:-qemu-system-i386}
ENGINES=${ENGINES:-bt86-bt bt86-bt-nospin qemu}
REPS=${REPS:-3}
BENCH_MD=${BENCH_MD-BENCHMARKS.md}
TIMEOUT=${TIMEOUT:-600}
KERNEL=build/linux/vmlinuz
INITRD=build/linux/initramfs.cpio.gz
APPEND="console=ttyS0 bt86.test=bench"

die() { echo "bench-linux: $*" >&2; exit 1; }
[ -f "$KERNEL" ] && [ -f "$INITRD" ] || die "$KERNEL or $INITRD missing (run make linux)"
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (EPOCHREALTIME)"
if ! command -v "$QEMU" >/dev/null; then
    echo "bench-linux: $QEMU not found, skipping the QEMU column" >&2
    ENGINES=${ENGINES//qemu/}
fi

engine_cmd() {
    case $1 in
        bt86-bt) cmd=("$BT86" -engine bt) ;;
        bt86-bt-nospin) cmd=("$BT86" -engine bt -spin-skip 0) ;;
        bt86)    cmd=("$BT86" -engine interp) ;;
        qemu)    cmd=("$QEMU" -accel tcg -display none -serial stdio -monitor none -no-reboot) ;;
        *) die "unknown engine '$1' (expected bt86-bt, bt86-bt-nospin, bt86 or qemu)" ;;
    esac
    cmd+=(-m 256 -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND")
}
cmd=()
# showcmd: the command line, quoted where needed, for copying
showcmd() { local a out=""; for a in "$@"; do case $a in *[\ \"\']*) out="$out \"$a\"" ;; *) out="$out $a" ;; esac; done; echo "${out# }"; }

KVER=$(awk '/^kernel/ { print $2 }' build/linux/versions 2>/dev/null | sed -E 's/^(linux-image-[^_]*)_([^_]*)_.*/\1 \2/')
echo "bench-linux: $REPS rounds, engines: $ENGINES; kernel ${KVER:-?}"
for e in $ENGINES; do
    engine_cmd "$e"
    printf 'bench-linux: %-7s $ %s\n' "$e" "$(showcmd "${cmd[@]}")"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
METRICS="boot uptime fork_in fork_out gzip_in gzip_out total"

# run ENGINE ROUND: one boot; appends "ok|fail boot uptime fork_in fork_out
# gzip_in gzip_out total status" (seconds) to $tmp/ENGINE.runs
run() {
    local e=$1 r=$2 t0 t1 log=$tmp/$1.$2.log marks=$tmp/$1.$2.marks
    engine_cmd "$e"
    t0=$EPOCHREALTIME
    # Timestamp the BENCH lines as they arrive (EPOCHREALTIME: no fork per line).
    { timeout -k 5 "$TIMEOUT" "${cmd[@]}" </dev/null 2>&1; echo "BENCHEXIT $?"; } |
        while IFS= read -r line; do
            line=${line%$'\r'}
            printf '%s\n' "$line" >>"$log"
            case $line in BENCH*) printf '%s %s\n' "$EPOCHREALTIME" "$line" >>"$marks" ;; esac
        done
    t1=$EPOCHREALTIME
    touch "$marks"
    awk -v t0="$t0" -v t1="$t1" '
        function field(k,   i) { for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
        $2 == "BENCHEXIT" { st = $3 }
        $2 == "BENCH" && $3 == "prompt" { tp = $1; up = field("uptime") }
        $2 == "BENCH" && $3 == "forkwait" && $4 == "n=1000" { tf = $1; fin = field("ns") / 1e9 }
        $2 == "BENCH" && $3 == "gzip-start" { tgs = $1 }
        $2 == "BENCH" && $3 == "gzip" && $4 != "FAIL:" { tg = $1; gin = field("ns") / 1e9 }
        $2 == "BENCH" && $3 == "done" { done = 1 }
        END {
            ok = (tp != "" && tf != "" && tgs != "" && tg != "" && done) ? "ok" : "fail"
            printf "%s %.3f %s %.3f %.3f %.3f %.3f %.3f %s\n", ok, tp - t0, up == "" ? "-" : up,
                   fin, tf - tp, gin, tg - tgs, t1 - t0, st == "" ? "?" : st
        }' "$marks" >>"$tmp/$e.runs"
    local last; last=$(tail -1 "$tmp/$e.runs")
    set -- $last
    if [ "$1" = ok ]; then
        printf 'bench-linux: round %d %-7s boot %6.2f s (uptime %s)  forkwait %6.3f s in / %6.3f out  gzip %6.3f in / %6.3f out  total %6.2f s  status %s\n' \
            "$r" "$e" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9"
    else
        echo "bench-linux: round $r $e FAILED (status $9); last lines:"
        tail -5 "$log" | sed 's/^/    | /'
        echo "$e" >>"$tmp/failed"
    fi
}

for r in $(seq 1 "$REPS"); do
    for e in $ENGINES; do
        run "$e" "$r"
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2fx", a / b }'; }

declare -A MED LEAST STATUS
for e in $ENGINES; do
    i=2
    for m in $METRICS; do
        MED[$e.$m]=$(awk -v c="$i" '$1 == "ok" && $c != "-" { print $c }' "$tmp/$e.runs" 2>/dev/null | median)
        LEAST[$e.$m]=$(awk -v c="$i" '$1 == "ok" && $c != "-" { print $c }' "$tmp/$e.runs" 2>/dev/null | least)
        i=$((i + 1))
    done
    STATUS[$e]=$(awk '{ print $9 }' "$tmp/$e.runs" 2>/dev/null | sort -u | tr '\n' ' ' | sed 's/ $//')
done

label() {
    case $1 in
        boot) echo "boot to shell prompt, outside (s)" ;;
        uptime) echo "boot: guest /proc/uptime at the prompt (s)" ;;
        fork_in) echo "1,000 fork+exit+wait, inside (s)" ;;
        fork_out) echo "1,000 fork+exit+wait, outside (s)" ;;
        gzip_in) echo "gzip+gunzip of busybox (2 MB), inside (s)" ;;
        gzip_out) echo "gzip+gunzip of busybox (2 MB), outside (s)" ;;
        total) echo "whole run to power-off (s)" ;;
    esac
}

# table MED|LEAST: the medians or the least values of the rounds
table() {
    local -n val=$1
    local hdr="| measure |" sep="|---|" e m row
    for e in $ENGINES; do hdr="$hdr $e |"; sep="$sep---|"; done
    case " $ENGINES " in *" bt86-bt "*) case " $ENGINES " in *" qemu "*) hdr="$hdr bt86-bt / qemu |"; sep="$sep---|" ;; esac ;; esac
    case " $ENGINES " in *" bt86-bt-nospin "*) case " $ENGINES " in *" qemu "*) hdr="$hdr bt86-bt-nospin / qemu |"; sep="$sep---|" ;; esac ;; esac
    echo "$hdr"
    echo "$sep"
    for m in $METRICS; do
        row="| $(label "$m") |"
        for e in $ENGINES; do row="$row ${val[$e.$m]:--} |"; done
        case $hdr in *"bt86-bt / qemu"*) row="$row $(ratio "${val[bt86-bt.$m]:-}" "${val[qemu.$m]:-}") |" ;; esac
        case $hdr in *"bt86-bt-nospin / qemu"*) row="$row $(ratio "${val[bt86-bt-nospin.$m]:-}" "${val[qemu.$m]:-}") |" ;; esac
        echo "$row"
    done
    row="| exit status |"
    for e in $ENGINES; do row="$row ${STATUS[$e]:--} |"; done
    case $hdr in *"bt86-bt / qemu"*) row="$row |" ;; esac
    case $hdr in *"bt86-bt-nospin / qemu"*) row="$row |" ;; esac
    echo "$row"
}

echo
echo "Medians of $REPS rounds:"
echo
table MED
echo
echo "Least of $REPS rounds:"
echo
table LEAST

if [ -n "$BENCH_MD" ]; then
    section=$tmp/section.md
    {
        echo "<!-- bench-linux:begin (generated by bench/linux.sh, make bench-linux; edits inside are overwritten) -->"
        echo "## Linux guest"
        echo
        echo "Debian's stock i386 kernel (${KVER:-?}) with a busybox initramfs"
        echo "(\`guests/linux/\`, \`make linux\`), booted with \`bt86.test=bench\`"
        echo "(\`guests/linux/tests/bench.sh\`). \"Inside\" is the guest's CLOCK_MONOTONIC,"
        echo "\"outside\" the host's clock between the guest's console lines. Wall times on"
        echo "these shared 2-CPU hosts vary by up to 2x between rounds, and interference"
        echo "only ever adds time: the medians are what a user sees on such a host, the least"
        echo "values what each engine's code costs. Rerun before drawing conclusions."
        echo
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; medians of $REPS rounds, engines alternating."
        echo
        echo '```'
        for e in $ENGINES; do
            engine_cmd "$e"
            showcmd "${cmd[@]}"
        done
        echo '```'
        echo
        echo "Medians of $REPS rounds:"
        echo
        table MED
        echo
        echo "Least of $REPS rounds (each measure on its own):"
        echo
        table LEAST
        echo "<!-- bench-linux:end -->"
    } >"$section"
    md_replace_section "$BENCH_MD" bench-linux "$section"
    echo
    echo "bench-linux: results written to $BENCH_MD"
fi

[ -f "$tmp/failed" ] && { echo "bench-linux: failed runs: $(sort -u "$tmp/failed" | tr '\n' ' ')" >&2; exit 1; }
exit 0
