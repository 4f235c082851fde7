#!/bin/sh
# Profiling aid (bt86.test=forkwait): 10,000 fork+exit+wait, so that a
# profile of the whole run (e.g. perf record on bt86) is mostly this loop
# rather than the boot. bench/linux.sh times 1,000 of them.
echo "FORKWAIT $(bt86util forkwait 10000)"
