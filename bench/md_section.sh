# Sourced by bench/run.sh, bench/vmm.sh and bench/linux.sh: each owns one
# generated section of BENCHMARKS.md between "<!-- NAME:begin" and
# "<!-- NAME:end -->" comments.
# md_replace_section FILE NAME SECTION [HEADING]: replace the NAME section of
# FILE with the file SECTION (which holds both markers), or append it (after
# HEADING, a markdown heading line, if given) when FILE has none yet.
md_replace_section() {
    local md=$1 name=$2 section=$3 heading=${4:-}
    [ -f "$md" ] || printf '# Benchmarks\n' >"$md"
    if grep -q "<!-- $name:begin" "$md"; then
        awk -v f="$section" -v b="<!-- $name:begin" -v e="<!-- $name:end" '
            index($0, b) == 1 { while ((getline l < f) > 0) print l; skip = 1; next }
            index($0, e) == 1 { skip = 0; next }
            !skip { print }' "$md" >"$md.tmp.$$" && cat "$md.tmp.$$" >"$md"
        rm -f "$md.tmp.$$"
    else
        { echo; [ -n "$heading" ] && { echo "$heading"; echo; }; cat "$section"; } >>"$md"
    fi
}
