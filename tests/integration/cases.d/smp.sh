# SMP guest (guests/smp): -smp 2 and -smp 4 — INIT-SIPI-SIPI start-up, LOCK XADD/CMPXCHG
# and spinlock counters, IPIs (fixed physical/logical, self, all, NMI), TLB
# shootdown and cross-modifying code (docs/SMP.md). Sourced by guests.sh.

# Under the ASan build both engines run (the threads mode is what it checks).
smp_case() { OPTS_SAN_ENGINES="interp bt" opts_case "$@"; }

#        name    guest status max-insns  timeout options
# One host thread per vCPU under both engines (and the ASan build).
smp_case smp-2   smp   1      0          120     -smp 2
smp_case smp-4   smp   1      0          180     -smp 4
# The deterministic round-robin mode, and -icount (which implies it).
OPTS_NO_QEMU=1 smp_case smp-4-single smp 1 800000000 180 -smp 4,threads=single
OPTS_NO_QEMU=1 smp_case smp-3-icount smp 1 800000000 180 -smp 3 -icount 3
