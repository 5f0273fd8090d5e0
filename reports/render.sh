#!/usr/bin/env bash
# Regenerates every committed report under reports/ from experiments/.
#
#   reports/render.sh           all reports
#   reports/render.sh s1-rpc    only the named ones
#
# Runs: `sim run experiments/NAME.ron --json`, then `sim report`.
# Sweeps: `sim sweep experiments/NAME.ron --out DIR`, then `sim report DIR`.
# Each report is rendered into a fresh directory next to its destination,
# with the results it was made from (results.json, and results.csv for
# sweeps), and then replaces reports/NAME/ whole: no stale charts survive.
# Output is deterministic: running this twice changes nothing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Single runs: experiments/NAME.ron -> reports/NAME/
RUNS=(
    s1-rpc
)
# Sweeps: experiments/NAME.ron (a sweep file) -> reports/NAME/
# (`sim sweep` lands with the cli-sweeps branch; list sweep files here.)
SWEEPS=(
)

want() {
    # With arguments, only the named reports.
    [ "$#" -eq 1 ] && return 0
    local name="$1"
    shift
    for w in "$@"; do [ "$w" = "$name" ] && return 0; done
    return 1
}

cargo build --release --quiet -p sim-cli
sim="${CARGO_TARGET_DIR:-$root/target}/release/sim"

tmp=""
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT

# install NAME: replaces reports/NAME with the render in $tmp/report.
install() {
    rm -rf "reports/$1"
    mv "$tmp/report" "reports/$1"
    rm -rf "$tmp"
    tmp=""
    echo "reports/$1/index.html"
}

rendered=0
for name in ${RUNS[@]+"${RUNS[@]}"}; do
    want "$name" "$@" || continue
    src="experiments/$name.ron"
    [ -f "$src" ] || { echo "render.sh: $src: no such experiment" >&2; exit 2; }
    tmp="$(mktemp -d "reports/.render-$name.XXXXXX")"
    "$sim" run "$src" --json > "$tmp/results.json"
    "$sim" report "$tmp/results.json" --out "$tmp/report" > /dev/null
    mv "$tmp/results.json" "$tmp/report/results.json"
    install "$name"
    rendered=$((rendered + 1))
done
for name in ${SWEEPS[@]+"${SWEEPS[@]}"}; do
    want "$name" "$@" || continue
    src="experiments/$name.ron"
    [ -f "$src" ] || { echo "render.sh: $src: no such sweep" >&2; exit 2; }
    tmp="$(mktemp -d "reports/.render-$name.XXXXXX")"
    "$sim" sweep "$src" --out "$tmp/sweep" > /dev/null
    "$sim" report "$tmp/sweep" --out "$tmp/report" > /dev/null
    for f in results.json results.csv; do
        if [ -f "$tmp/sweep/$f" ]; then cp "$tmp/sweep/$f" "$tmp/report/$f"; fi
    done
    install "$name"
    rendered=$((rendered + 1))
done
if [ "$#" -gt 0 ] && [ "$rendered" -ne "$#" ]; then
    echo "render.sh: some of '$*' are neither in RUNS nor in SWEEPS" >&2
    exit 2
fi
