#!/usr/bin/env bash
# Instruction counts per message for the protocol scenarios of
# examples/instruction_counts.rs, under valgrind's callgrind: a figure that
# does not move with the machine's load. Each scenario runs twice (N and
# 2N iterations); the difference divided by N leaves out start-up.
#   benches/callgrind.sh                 print the table
#   benches/callgrind.sh --check FILE    also fail on > 3% over the counts in FILE
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt install valgrind)"; exit 1; }
cargo build -q --release --example instruction_counts
bin=target/release/examples/instruction_counts
out=$(mktemp -d)
n=2000
count() { # count SCENARIO ITERATIONS -> total instructions
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" "$1" "$2" >/dev/null 2>&1
    grep -E '^summary:|^totals:' "$out/cg" | head -1 | awk '{print $2}'
}
declare -A per
for s in pipe-20 pipe-1k pipe-64k pipe-fragmented-1k text-1k; do
    a=$(count "$s" "$n"); b=$(count "$s" $((2 * n)))
    per[$s]=$(( (b - a) / n ))
    printf '%-20s %10d instructions per message\n' "$s" "${per[$s]}"
done
rm -rf "$out"
if [ "${1:-}" = "--check" ]; then
    status=0
    while read -r s base; do
        [ -n "$s" ] || continue
        now=${per[$s]:-0}
        if [ $(( now * 100 )) -gt $(( base * 103 )) ]; then
            echo "REGRESSION: $s $now instructions per message, baseline $base"
            status=1
        fi
    done < "$2"
    exit $status
fi
