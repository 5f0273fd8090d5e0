#!/usr/bin/env bash
# Proves a change kept behaviour: builds `sim` at two commits and compares,
# byte for byte, every output a user or CI relies on:
#   - `sim run NAME --json` of every shipped experiment (experiments/*.ron),
#   - `sim baseline NAME` of every experiment with a committed baseline,
#   - `sim sweep NAME` results.json and results.csv of every shipped sweep,
#   - `sim run NAME --trace` of S1 (the event-by-event trace),
#   - `sim run NAME` (the text summary, its wall-clock time left out) of
#     every shipped experiment.
#
#   scripts/compare-outputs.sh                 HEAD~1 against the work tree
#   scripts/compare-outputs.sh BASE            BASE against the work tree
#   scripts/compare-outputs.sh BASE HEAD       two commits
#   QUICK=1 scripts/compare-outputs.sh ...     skip the sweeps (minutes less)
#
# A commit is built in a git worktree under target/compare/ with a target
# directory of its own kept between calls (reruns build incrementally); "."
# is the work tree, built in its usual target directory.
# Prints one line per output and exits 1 if any differs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
base="${1:-HEAD~1}"
head="${2:-.}"
work="${COMPARE_DIR:-$root/target/compare}"
mkdir -p "$work"

# build REV DIR: prints the path of the sim binary built at REV.
build() {
    local rev="$1" name="$2" src
    if [ "$rev" = "." ]; then
        # The work tree builds into its usual target directory.
        (cd "$root" && cargo build --release --quiet -p sim-cli >&2)
        echo "${CARGO_TARGET_DIR:-$root/target}/release/sim"
        return
    else
        src="$work/src-$name"
        git worktree remove --force "$src" >/dev/null 2>&1 || rm -rf "$src"
        git worktree prune
        git worktree add --detach "$src" "$rev" >/dev/null 2>&1
    fi
    (cd "$src" && CARGO_TARGET_DIR="$work/target-$name" cargo build --release --quiet -p sim-cli >&2)
    echo "$work/target-$name/release/sim"
}

# outputs SIM SRC OUT: writes every compared output of SIM into OUT.
outputs() {
    local sim="$1" src="$2" out="$3"
    rm -rf "$out"
    mkdir -p "$out/run" "$out/baseline" "$out/sweep" "$out/trace" "$out/summary"
    (
        cd "$src"
        for f in experiments/*.ron; do
            case "$f" in *.sweep.ron) continue ;; esac
            n="$(basename "$f" .ron)"
            "$sim" run "$f" --json > "$out/run/$n.json"
            "$sim" run "$f" | sed '1s/ events in [0-9.]* s)/ events)/' > "$out/summary/$n.txt"
            if [ -f "experiments/baselines/$n.json" ]; then
                "$sim" baseline "$f" -o "$out/baseline/$n.json" > /dev/null
            fi
        done
        "$sim" run experiments/s1.ron --trace "$out/trace/s1.jsonl" > /dev/null
        if [ -z "${QUICK:-}" ]; then
            for f in experiments/*.sweep.ron; do
                n="$(basename "$f" .sweep.ron)"
                "$sim" sweep "$f" --out "$out/sweep/dir-$n" > /dev/null
                cp "$out/sweep/dir-$n/results.json" "$out/sweep/$n.results.json"
                cp "$out/sweep/dir-$n/results.csv" "$out/sweep/$n.results.csv"
                rm -rf "$out/sweep/dir-$n"
            done
        fi
    )
}

src_of() { if [ "$1" = "." ]; then echo "$root"; else echo "$work/src-$2"; fi; }
sim_a="$(build "$base" a)"
sim_b="$(build "$head" b)"
# Both sides read the same experiments: the base commit's, so a change that
# edits an experiment on purpose shows up here as a difference.
outputs "$sim_a" "$(src_of "$base" a)" "$work/out-a"
outputs "$sim_b" "$(src_of "$base" a)" "$work/out-b"

status=0
same=0
while IFS= read -r f; do
    rel="${f#"$work/out-a/"}"
    if cmp -s "$f" "$work/out-b/$rel"; then
        same=$((same + 1))
    else
        echo "DIFFERS  $rel"
        status=1
    fi
done < <(find "$work/out-a" -type f | sort)
extra="$(cd "$work/out-b" && find . -type f | sort | sed 's|^\./||' | while read -r r; do [ -f "$work/out-a/$r" ] || echo "$r"; done)"
if [ -n "$extra" ]; then
    echo "only in $head: $extra"
    status=1
fi
echo "compared $base with $head: $same outputs byte-identical$([ "$status" -eq 0 ] && echo ", none differ" || echo ", some differ")"
exit "$status"
