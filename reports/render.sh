#!/usr/bin/env bash
# Regenerates every committed report under reports/ from experiments/.
#
#   reports/render.sh           all reports
#   reports/render.sh s1-rpc    only the named ones
#
# Runs: `sim run experiments/NAME.ron --json`, then `sim report`.
# Sweeps: `sim sweep experiments/NAME.sweep.ron --out DIR`, then `sim report DIR`.
# Each report is rendered into a fresh directory next to its destination,
# with the results it was made from (results.json, and results.csv for
# sweeps), and then replaces reports/NAME/ whole: no stale charts survive.
# Output is deterministic: running this twice changes nothing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Single runs: experiments/NAME.ron -> reports/NAME/ (the seed systems and
# the studies that are single scenarios).
RUNS=(
    s1
    s1-rpc
    s2-backpressure
    s3-breaker
    s4-dlq
    s5-log
    s6-herd
    s7-policies
    s8-failover
    study3-metastable
    study4-layered
    study5-overload-control
    study8-hedging
    study9-slow-replica
    study10-autoscaling
)
# Sweeps: experiments/NAME.sweep.ron -> reports/NAME/ (the studies).
SWEEPS=(
    study1-contention
    study2-budgets
    study3-metastable-sweep
    study3-no-trigger
    s1-timeout-x-retries
    study6-breaker-s1
    study6-breaker-s3
)

# Explorations (sim explore): study 7, the collapse boundary of study 3's
# server. Its spike is 15/s here; the first axis is when the spike ends
# (steps[2].at, in seconds: 61..90 is a 1 to 30 s spike), the rows the load
# after it (steps[2].rate_per_s). Three retry policies, and P(collapse)
# with no trigger at all against a steady load. Each report directory keeps
# the exploration's results.json, which records every option, so
# sim-cli/tests/gate.rs reruns them and compares the bytes.
# Found (P(collapse) = 0.5, up to 200 replications a point): with immediate
# retries the boundary is a spike of 8.3 s at a load of 6/s after it, 7.3 s
# at 6.9-7.8/s, 5.5 s at 8.6/s, and any spike at 9.5/s; exponential backoff
# gives the same boundaries; a token bucket keeps P(collapse) below 0.5
# everywhere (13 of 40 at 9.5/s). With no trigger, a steady load collapses
# half of 10-minute runs at 8.97/s (95 of 200), 41% at 8.85/s.
EXPLORATIONS=(
    study7-cliff-immediate
    study7-cliff-backoff
    study7-cliff-budget
    study7-cliff-no-trigger
)
study7_boundary=(
    study3-metastable
    --set 'clients[0].workload.steps[1].rate_per_s=15'
    --axis 'clients[0].workload.steps[2].at=61..90'
    --axis 'clients[0].workload.steps[2].rate_per_s=6..9.5'
    --rows 5 --tolerance 1 --max-replications 200
)
explore_args() {
    case "$1" in
        study7-cliff-immediate) args=("${study7_boundary[@]}") ;;
        study7-cliff-backoff) args=("${study7_boundary[@]}"
            --set 'clients[0].retry.backoff=Exponential(base: "100ms", cap: "10s")') ;;
        study7-cliff-budget) args=("${study7_boundary[@]}"
            --set 'clients[0].retry.budget=TokenBucket(max_tokens: 10, token_ratio: 0.1)') ;;
        study7-cliff-no-trigger) args=(study3-metastable
            --set 'clients[0].workload=Poisson(rate_per_s: 8)'
            --axis 'clients[0].workload.rate_per_s=6..9.8'
            --tolerance 0.1 --max-replications 200) ;;
        *) return 1 ;;
    esac
}

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
    # A sweep's report directory may carry a -sweep suffix when a run
    # report of the same name exists (study3-metastable).
    src="experiments/${name%-sweep}.sweep.ron"
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
for name in ${EXPLORATIONS[@]+"${EXPLORATIONS[@]}"}; do
    want "$name" "$@" || continue
    explore_args "$name"
    tmp="$(mktemp -d "reports/.render-$name.XXXXXX")"
    "$sim" explore "${args[@]}" --out "$tmp/explore" -q
    "$sim" report "$tmp/explore" --out "$tmp/report" > /dev/null
    for f in results.json results.csv; do cp "$tmp/explore/$f" "$tmp/report/$f"; done
    install "$name"
    rendered=$((rendered + 1))
done
if [ "$#" -gt 0 ] && [ "$rendered" -ne "$#" ]; then
    echo "render.sh: some of '$*' are in none of RUNS, SWEEPS and EXPLORATIONS" >&2
    exit 2
fi
