#!/bin/sh
# Profiling aid (bt86.test=forkwait): 10,000 fork+exit+wait, so that a
# profile of the whole run (e.g. perf record on bt86) is mostly this loop
# rather than the boot. bench/linux.sh times 1,000 of them. `forkn=N` on the
# kernel command line (passed to init's environment) sets the count, so
# that the difference of two runs' -stats is N forks' worth.
echo "FORKWAIT $(bt86util forkwait ${forkn:-10000})"
