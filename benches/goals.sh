#!/usr/bin/env bash
# Issue 15's speed goals, side by side: the `sim` binary of a base commit
# (default 4243548, the build issue 15 was filed on) against this checkout's,
# runs alternating (base, this, base, ...) so that a busy host slows both
# alike, and the bare-heap loop after each M/M/1 pair. Prints min / median /
# max wall seconds per build and goal, the ratio of the medians, and whether
# the goal is met. Run by hand, not by CI (about 3 minutes with the default
# 5 runs, plus the base build the first time).
#
#   benches/goals.sh                     base 4243548, 5 runs, 3 sweep runs
#   benches/goals.sh BASE_REV [RUNS]     another base, more or fewer runs
#   SWEEP_RUNS=0 benches/goals.sh        without the (slow) sweep goal
#
# The base is built once in a worktree under target/goals/ (its own target
# directory: a full build, a few minutes); both builds run this checkout's
# scenario files. Needs git, cargo, GNU date and awk.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
base_rev=${1:-4243548}
runs=${2:-5}
sweep_runs=${SWEEP_RUNS:-3}
work=target/goals
base_commit=$(git rev-parse --verify --quiet "$base_rev^{commit}") ||
    { echo "goals.sh: no commit $base_rev in this repository" >&2; exit 2; }
base_sim="$work/base-$base_commit/sim"

if [ ! -x "$base_sim" ]; then
    echo "building the base ($base_rev) in $work/worktree ..." >&2
    mkdir -p "$work"
    git worktree remove --force "$work/worktree" 2>/dev/null || true
    git worktree add --detach --quiet "$work/worktree" "$base_commit"
    (cd "$work/worktree" &&
        CARGO_TARGET_DIR="$root/$work/target-base" cargo build --release --quiet -p sim-cli)
    mkdir -p "$(dirname "$base_sim")"
    cp "$work/target-base/release/sim" "$base_sim"
    git worktree remove --force "$work/worktree"
fi
cargo build --release --quiet -p sim-cli
cargo build --release --quiet -p sim-core --example mm1
now_sim=target/release/sim
bare=target/release/examples/mm1

# wall seconds of one run of "$@" (to the millisecond: GNU time's 10 ms
# steps are 4% of a 0.24 s run), its output thrown away
wall() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null 2> "$work/stderr" || { echo "fail"; return; }
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}'
}
# appends one timed run of "$@" to the array named $1; stops at a failure
timed() {
    local -n into=$1; shift
    local t
    t=$(wall "$@")
    if [ "$t" = fail ]; then
        echo "goals.sh: this run failed: $*" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    into+=("$t")
}
# min / median / max of the numbers given
summary() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%s / %s / %s", a[1], a[int((NR+1)/2)], a[NR]}'; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -a T_BASE T_NOW T_BARE
# side_by_side RUNS WITH_BARE ARGS... : fills T_BASE, T_NOW (and T_BARE)
side_by_side() {
    local n=$1 with_bare=$2; shift 2
    T_BASE=(); T_NOW=(); T_BARE=()
    for _ in $(seq "$n"); do
        timed T_BASE "$base_sim" "$@"
        timed T_NOW "$now_sim" "$@"
        if [ "$with_bare" = 1 ]; then timed T_BARE "$bare" 10000000 1 --bare; fi
    done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
met() { awk -v x="$1" -v goal="$2" 'BEGIN {print (x >= goal ? "yes" : "no")}'; }

echo "base $base_rev ($base_commit) against $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)'), $runs alternating runs, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-40s %-22s %-22s %s\n' "goal" "base (s)" "now (s)" "result"

side_by_side "$runs" 1 run benches/peers/mm1.ron
b=$(median "${T_BASE[@]}"); n=$(median "${T_NOW[@]}"); x=$(median "${T_BARE[@]}")
printf '%-40s %-22s %-22s %sx faster; %s of the bare loop (%s s), goal 0.7: %s\n' \
    "M/M/1, 1e7 customers" "$(summary "${T_BASE[@]}")" "$(summary "${T_NOW[@]}")" \
    "$(ratio "$b" "$n")" "$(ratio "$x" "$n")" "$(summary "${T_BARE[@]}")" "$(met "$(ratio "$x" "$n")" 0.7)"

side_by_side "$runs" 0 run experiments/s1-rpc.ron --set 'clients[0].requests=10000000'
b=$(median "${T_BASE[@]}"); n=$(median "${T_NOW[@]}")
printf '%-40s %-22s %-22s %sx, goal 2x: %s\n' "S1's RPC path, 1e7 requests" \
    "$(summary "${T_BASE[@]}")" "$(summary "${T_NOW[@]}")" "$(ratio "$b" "$n")" "$(met "$(ratio "$b" "$n")" 2)"

side_by_side "$runs" 0 run benches/peers/rpc-retries.ron
b=$(median "${T_BASE[@]}"); n=$(median "${T_NOW[@]}")
printf '%-40s %-22s %-22s %sx, goal 2x: %s\n' "RPC with retries, 1e6 requests" \
    "$(summary "${T_BASE[@]}")" "$(summary "${T_NOW[@]}")" "$(ratio "$b" "$n")" "$(met "$(ratio "$b" "$n")" 2)"

if [ "$sweep_runs" -gt 0 ]; then
    rm -rf "$work/sweep"
    T_BASE=(); T_NOW=()
    for r in $(seq "$sweep_runs"); do
        timed T_BASE "$base_sim" sweep benches/sweeps/s1-1000.sweep.ron --threads 1 -o "$work/sweep/base-$r" -q
        timed T_NOW "$now_sim" sweep benches/sweeps/s1-1000.sweep.ron --threads 1 -o "$work/sweep/now-$r" -q
    done
    b=$(median "${T_BASE[@]}"); n=$(median "${T_NOW[@]}")
    printf '%-40s %-22s %-22s %sx cells/s, goal 1.3x: %s\n' "Sweep, 1,000 small cells, 1 thread" \
        "$(summary "${T_BASE[@]}")" "$(summary "${T_NOW[@]}")" "$(ratio "$b" "$n")" "$(met "$(ratio "$b" "$n")" 1.3)"
fi

mem=$(cargo run --release --quiet -p sim-models --example inflight_memory 2>/dev/null | tail -n 2)
echo
echo "bytes per in-flight call (cargo run --release -p sim-models --example inflight_memory; goal 256 without policies):"
echo "$mem"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
