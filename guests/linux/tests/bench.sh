#!/bin/sh
# Benchmark workload of the Linux guest (bt86.test=bench; bench/linux.sh):
# "BENCH prompt" marks the point where the interactive shell would start,
# then 1,000 fork+exit+wait and a gzip/gunzip round trip of /bin/busybox
# (about 2 MB), each timed inside the guest with CLOCK_MONOTONIC.
echo "BENCH prompt uptime=$(cut -d' ' -f1 /proc/uptime)"

out=$(bt86util forkwait 1000) && echo "BENCH $out" || echo "BENCH forkwait FAIL: $out"

want=$(md5sum </bin/busybox | cut -d' ' -f1)
echo "BENCH gzip-start"   # the outside timing of gzip starts here
t0=$(bt86util now)
gzip -c /bin/busybox >/tmp/bb.gz
got=$(gunzip -c /tmp/bb.gz | md5sum | cut -d' ' -f1)
t1=$(bt86util now)
if [ "$got" = "$want" ]; then
    echo "BENCH gzip bytes=$(wc -c </bin/busybox) gz=$(wc -c </tmp/bb.gz) ns=$((t1 - t0))"
else
    echo "BENCH gzip FAIL: md5 $got, want $want"
fi
rm -f /tmp/bb.gz
echo "BENCH done"
