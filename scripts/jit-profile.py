#!/usr/bin/env python3
"""Where the translated code's time goes, by kind of host instruction.

Runs bt86 -engine bt under `valgrind --tool=callgrind --dump-instr=yes` with
BT86_PERF_MAP=1 (where each translation lies) and BT86_BT_DUMP (its bytes),
then gives every host instruction executed in the code cache a category from
its disassembly and sums callgrind's instruction counts (Ir) per category:

  guest work   the host instructions that do what the guest instruction does
  TLB probe    address computation, TLB tag compare and addend load, the
               predicted-page and same-page checks, the physical view's
               MOVABS and probe load and store (paging off)
  flags        LAHF/SETO/SAHF save and restore, the stash slot, recomputing
               the flags (the CMP/TEST/ADD/SUB run again right after a probe)
  budget       the instruction budget check and charge (r15)
  exits        leaving a block: EIP stores, exit records, jump-cache lookups

and, outside the code cache, bt86's own C code (dispatcher, helpers,
translation) and the libraries. The classification is by pattern (see
classify()), so it is an estimate: a guest CMP re-executed to recompute the
flags is counted as flags only when it follows a probe's addend load.

usage: scripts/jit-profile.py [bt86 arguments...]
  e.g. scripts/jit-profile.py -kernel build/guests/bench.elf -append "scale=1 only=5" -serial none
"""
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile


def run(args, work):
    dump = os.path.join(work, "dump")
    os.mkdir(dump)
    out = os.path.join(work, "cg.out")
    env = dict(os.environ, BT86_PERF_MAP="1", BT86_BT_DUMP=dump)
    cmd = ["valgrind", "--tool=callgrind", "--smc-check=all", "--dump-instr=yes", "--compress-pos=no",
           "--compress-strings=no", "--callgrind-out-file=" + out, "./bt86", "-engine", "bt"] + args
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r"==(\d+)== Collected : (\d+)", p.stderr)
    if not m:
        sys.exit("jit-profile: callgrind failed:\n" + p.stderr[-2000:])
    return out, dump, int(m.group(2))


def read_costs(path):
    """{address: Ir} for every instruction, and Ir per object file."""
    by_addr = collections.Counter()
    by_obj = collections.Counter()
    obj = "?"
    skip = False
    with open(path) as f:
        for line in f:
            if line.startswith("ob="):
                obj = line[3:].strip()
            elif line.startswith("calls="):
                skip = True  # the next line is the call's inclusive cost
            elif line[:2] == "0x":
                if skip:
                    skip = False
                    continue
                parts = line.split()  # address, line (positions: instr line), Ir
                if len(parts) >= 2:
                    a, ir = int(parts[0], 16), int(parts[-1])
                    by_addr[a] += ir
                    by_obj[obj] += ir
            elif line[:1].isdigit() or line[:1] in "+-*":
                skip = False
    return by_addr, by_obj


def read_map(pid):
    tbs = []
    with open("/tmp/perf-%d.map" % pid) as f:
        for line in f:
            start, size, name = line.split()
            tbs.append((int(start, 16), int(size, 16), name[len("bt86:"):]))
    tbs.sort()
    return tbs


def disassemble(path):
    """[(offset, text)] of a dumped translation."""
    p = subprocess.run(["objdump", "-D", "-b", "binary", "-m", "i386:x86-64", path], capture_output=True, text=True)
    insns = []
    for line in p.stdout.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*(.*)$", line)
        if m and m.group(2):
            insns.append((int(m.group(1), 16), m.group(2).strip()))
    return insns


FLAGS = re.compile(r"^(lahf|sahf|seto|xchg\s+%rax,%r(9|10|11)|add\s+\$0x7f,%al|or\s+%al,%ah|and\s+\$0xfe,%ah|"
                   r"mov\s+%r11b?,%al|mov\s+%r11,\(%rsp\)|mov\s+\(%rsp\),%r(9|11)|mov\s+%rax,%r(10|11)|"
                   r"mov\s+%r10,%rax)")
PROBE = re.compile(r"(%r14|,%r8d$|,%r9d$|,%r10d$|%r8d,%r10d|\$0x3ff0|\$0xfffff000|\$0xfff,%r10d|\$0xff[0-9a-f],%r10d|"
                   r"\(%rip\),%r(9|10)d|^j(ne|a|ae)\s)")
# The physical view's address before a direct read's probe load (MODE_PHYS_DIRECT).
DIRECT_BASE = re.compile(r"^movabs\s+\$0x[0-9a-f]+,%r9$")
# An access through the physical view (paging off): movabs view, then a load of the bytes into r10
# (a write: and their store back), or the guest instruction itself (a fused site, bt_gen.c view_fuse).
VIEW_LOAD = re.compile(r"^mov(zbl|zwl)?\s+\(%r9,%r8,1\),%r10d?$")
VIEW_STORE = re.compile(r"^mov\s+%r10[bwd]?,\(%r9,%r8,1\)$")
BUDGET = re.compile(r"(%r15|jecxz|jrcxz|mov\s+%rcx,%r8$|mov\s+%r8,%rcx$)")
EXITS = re.compile(r"(0x20\(%r13\)|movabs|^jmp|0x180c60|%r11d?$|\*|,0x10\(%r9\))")


def classify(insns):
    """Category of each instruction of one translation, by offset."""
    cat = {}
    after_probe = 0
    for i, (off, text) in enumerate(insns):
        nxt = insns[i + 1][1] if i + 1 < len(insns) else ""
        if DIRECT_BASE.search(text) and (VIEW_LOAD.search(nxt) or "(%r9,%r8," in nxt):
            c = "TLB probe"
        elif VIEW_STORE.search(text):
            c = "TLB probe"
        elif FLAGS.search(text):
            c = "flags"
        elif BUDGET.search(text):
            c = "budget"
        elif PROBE.search(text):
            c = "TLB probe"
        elif EXITS.search(text):
            c = "exits"
        elif after_probe and re.match(r"^(cmp|test|sub|add)\s", text) and "%r9,%r8" not in text:
            c = "flags"  # a recompute right after the addend load
        else:
            c = "guest work"
        after_probe = 1 if re.search(r"0x8\(%r14,%r9,1\),%r9", text) or c == "TLB probe" and text.startswith("movabs") else 0
        cat[off] = c
    return cat


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as work:
        out, dump, total = run(args, work)
        pid = int(re.search(r"pid:\s*(\d+)", open(out).read(4096)).group(1))
        by_addr, by_obj = read_costs(out)
        tbs = read_map(pid)
        starts = [t[0] for t in tbs]
        cats = collections.Counter()
        per_tb = collections.Counter()
        cache = {}
        jit_total = 0
        for a, ir in by_addr.items():
            i = bisect.bisect_right(starts, a) - 1
            if i < 0 or a >= tbs[i][0] + tbs[i][1]:
                continue
            start, size, name = tbs[i]
            jit_total += ir
            per_tb[name] += ir
            if name not in cache:
                path = os.path.join(dump, name + ".bin")
                cache[name] = classify(disassemble(path)) if os.path.exists(path) else {}
            cats[cache[name].get(a - start, "unknown")] += ir
        os.unlink("/tmp/perf-%d.map" % pid)
    print("host instructions (callgrind Ir): %d" % total)
    print("  in translated code  %5.1f%%" % (100.0 * jit_total / total))
    for c, ir in cats.most_common():
        print("    %-12s      %5.1f%%  (%4.1f%% of translated code)" % (c, 100.0 * ir / total, 100.0 * ir / jit_total))
    rest = total - jit_total
    print("  outside it          %5.1f%%" % (100.0 * rest / total))
    for obj, ir in by_obj.most_common(6):
        if obj.endswith("???"):
            ir -= jit_total  # (the code cache has no object file)
        if ir * 200 > total:
            print("    %-20s %5.1f%%" % (os.path.basename(obj), 100.0 * ir / total))
    print("hottest translations (guest EIP-mode, share of all Ir):")
    for name, ir in per_tb.most_common(6):
        print("    %s  %5.1f%%" % (name, 100.0 * ir / total))


if __name__ == "__main__":
    main()
