# SMP LOCK guest (guests/smplock): every CPU races LOCKed read-modify-writes
# that no host atomic can do — ADD/XADD/INC on a dword split across a page
# boundary (also against LOCK ADDs of its aligned upper half), OR/AND on a
# misaligned word, CMPXCHG on a page holding code — and the BSP checks the
# exact totals (docs/SMP.md, LOCK semantics: the exclusive section). One
# host thread per vCPU under both engines, and the ASan build under both,
# byte-identical to qemu-system-i386 -smp N. Sourced by guests.sh.

#                                         name       guest    status max-insns timeout options
OPTS_SAN_ENGINES="interp bt" opts_case    smplock-2  smplock  1      0         120     -smp 2
OPTS_SAN_ENGINES="interp bt" opts_case    smplock-4  smplock  1      0         180     -smp 4
