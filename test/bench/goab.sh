#!/usr/bin/env bash
# Paired A/B of a Go benchmark across builds: builds the root package's test
# binary in each DIR (a git worktree of another commit, or a copy with a
# performance trick switched off), then runs the benchmark once per binary
# per round, rotating the order each round, so that every build sees the
# same phases of the host's speed. Prints benchstat of each build against
# the first.
#
# Usage: test/bench/goab.sh DIR_A DIR_B [DIR...]
#   BENCH (default VeilAdded), ROUNDS (default 6), BENCHTIME (default 1s).
#   benchstat comes from golang.org/x/perf/cmd/benchstat (go install it).
#
# Example, this commit against its parent:
#   git worktree add /tmp/parent HEAD~1 && test/bench/goab.sh . /tmp/parent
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
BENCH=${BENCH:-VeilAdded}
ROUNDS=${ROUNDS:-6}
BENCHTIME=${BENCHTIME:-1s}
out=$(mktemp -d /tmp/veil-goab.XXXXXX)
names=()
for i in $(seq $#); do
    dir=${!i}
    (cd "$dir" && go test -c -o "$out/$i.test" .) || { echo "goab.sh: build in $dir failed" >&2; exit 1; }
    names+=("$i")
done
order=("${names[@]}")
for _ in $(seq "$ROUNDS"); do
    for i in "${order[@]}"; do
        dir=${!i}
        (cd "$dir" && "$out/$i.test" -test.run '^$' -test.bench "$BENCH" -test.benchmem -test.count 1 -test.benchtime "$BENCHTIME") >> "$out/$i.txt"
    done
    order=("${order[@]:1}" "${order[0]}")
done
label() { # the label benchstat shows for DIR: its path as given
    printf '%s' "${1//[^A-Za-z0-9._\/-]/_}"
}
for i in "${names[@]:1}"; do
    benchstat "$(label "$1")=$out/1.txt" "$(label "${!i}")=$out/$i.txt"
done
echo "raw results: $out"
