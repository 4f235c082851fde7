# Sourced by bench/run.sh and bench/linux.sh: the summaries of a measure's
# rounds, read one number per line on stdin ("-" when there are none).
# median: what a user sees on a shared host; least: what the engine's code
# costs (interference only ever adds time).
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
least() { sort -n | awk 'NR == 1 { print $1 } END { if (NR == 0) print "-" }'; }
