#!/bin/sh
# Smoke test of the Linux guest (bt86.test=smoke): a little of everything a
# busybox system does. Each check prints "SMOKE <name> ok" or
# "SMOKE <name> FAIL: <why>"; the last line is "SMOKE done" followed by the
# count. tests/integration/linux.sh expects every line of
# guests/linux/tests/smoke.expected. Exit status: number of failures.

fails=0
ok()   { echo "SMOKE $1 ok"; }
bad()  { echo "SMOKE $1 FAIL: $2"; fails=$((fails + 1)); }

# 1. the kernel identifies itself
uname -a
if [ "$(uname -s)" = Linux ] && case $(uname -m) in i[3-6]86) true ;; *) false ;; esac; then
    ok uname
else
    bad uname "$(uname -sm)"
fi

# 2. one CPU, with the features Debian's 686 kernel needs
ncpu=$(grep -c '^processor' /proc/cpuinfo)
flags=$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2)
echo "cpuinfo: $ncpu CPU, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "flags:$flags"
missing=
for f in fpu tsc cx8 cmov; do
    case " $flags " in *" $f "*) ;; *) missing="$missing $f" ;; esac
done
# bt86.cpus=N on the command line: the run was given -smp N
want_cpus=1
for word in $(cat /proc/cmdline); do
    case $word in bt86.cpus=*) want_cpus=${word#bt86.cpus=} ;; esac
done
online=$(cat /sys/devices/system/cpu/online 2>/dev/null)
echo "cpus online: $online"
if [ "$ncpu" = "$want_cpus" ] && [ -z "$missing" ]; then ok cpuinfo; else bad cpuinfo "cpus=$ncpu (want $want_cpus) missing:$missing"; fi

# 3. a pipeline through three processes
sum=$(seq 1 100 | awk '{ s += $1 } END { print s }' | cat)
[ "$sum" = 5050 ] && ok pipe || bad pipe "sum=$sum"

# 4. fork and exec: 200 runs of /bin/true, 200 subshells
n=0 i=0
while [ $i -lt 200 ]; do
    /bin/true && n=$((n + 1))
    ( exit 3 ); [ $? = 3 ] && n=$((n + 1))
    i=$((i + 1))
done
[ $n = 400 ] && ok fork || bad fork "n=$n of 400"

# 5. gzip round trip of generated data, checked against a known digest
seq 1 20000 >/tmp/data
want=f6351f5ead9a700e34275480b3856ea738122a7c57bdeb744a631251c069587a
before=$(sha256sum </tmp/data | cut -d' ' -f1)
gzip -9 -c /tmp/data >/tmp/data.gz
after=$(gunzip -c /tmp/data.gz | sha256sum | cut -d' ' -f1)
md5a=$(md5sum </tmp/data | cut -d' ' -f1)
md5b=$(gzip -dc /tmp/data.gz | md5sum | cut -d' ' -f1)
echo "gzip: $(wc -c </tmp/data) -> $(wc -c </tmp/data.gz) bytes"
if [ "$before" = "$want" ] && [ "$after" = "$want" ] && [ "$md5a" = "$md5b" ]; then
    ok gzip
else
    bad gzip "sha256 before=$before after=$after md5 $md5a/$md5b"
fi
rm -f /tmp/data /tmp/data.gz

# 6. shell arithmetic: sum of i*i mod 7 and a 32-bit multiply-xor hash
i=0 s=0 h=2166136261
while [ $i -lt 2000 ]; do
    s=$((s + i * i % 7))
    h=$(( ((h ^ i) * 16777619) & 0xffffffff ))
    i=$((i + 1))
done
[ "$s" = 3999 ] && [ "$h" = 1026962901 ] && ok arith || bad arith "s=$s h=$h"

# 7. timers: sleep returns and time moves forward
u0=$(cut -d' ' -f1 /proc/uptime)
sleep 0.2
u1=$(cut -d' ' -f1 /proc/uptime)
if awk -v a="$u0" -v b="$u1" 'BEGIN { exit !(b - a >= 0.19) }'; then ok sleep; else bad sleep "uptime $u0 -> $u1"; fi

# 8. a static i386 program built by bt86's build (fork/exit/waitpid by INT 0x80)
out=$(bt86util forkwait 20)
case $out in "forkwait n=20 ns="*) ok prog ;; *) bad prog "$out" ;; esac

# 9. the kernel had nothing to complain about: no oops, BUG, WARNING, call
# trace, unstable clocksource, unchecked MSR access or "unknown vendor"
complaints=$(dmesg | grep -E 'WARNING|BUG|Oops|Call Trace|unstable|unchecked MSR|may be unstable|nobody cared' )
if [ -z "$complaints" ]; then ok dmesg; else echo "$complaints"; bad dmesg "$(echo "$complaints" | wc -l) complaint(s)"; fi

echo "SMOKE done: $fails failed"
exit $fails
