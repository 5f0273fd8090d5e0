#!/bin/bash
# Sweep benchmark (BENCHMARKS.md, "Sweeps"): wall time, CPU time and peak RSS
# of `sim sweep` on the 1,000-cell S1 sweep at 1 and 2 threads (REPEATS
# alternating pairs), then the 4,000-cell sweep at 2 and 1 threads. Every run
# goes into a fresh directory and starts only once the machine has been at
# least 95% idle for 10 s (the machine is shared).
#
# Usage: benches/sweeps/run.sh [OUT_DIR] [REPEATS]    (from anywhere)
# Needs: target/release/sim (cargo build --release -p sim-cli), GNU time, bc.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIM=${SIM:-target/release/sim}
OUT=${1:-/tmp/sim-sweep-bench}
REPEATS=${2:-3}
mkdir -p "$OUT"

wait_idle() {
    local i1 t1 i2 t2
    sample() { awk '/^cpu /{print $5+$6, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
    while true; do
        read -r i1 t1 < <(sample); sleep 10; read -r i2 t2 < <(sample)
        [ $((100 * (i2 - i1) / (t2 - t1))) -ge 95 ] && return 0
    done
}

run() { # threads tag sweep-file cells
    wait_idle
    rm -rf "${OUT:?}/$2"
    local load wall user sys rss
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/$2.time" \
        "$SIM" sweep "$3" --out "$OUT/$2" --threads "$1" > "$OUT/$2.log"
    read -r wall user sys rss < "$OUT/$2.time"
    echo "$2 threads=$1 wall=$wall user=$user sys=$sys rss_kb=$rss" \
        "cells/s=$(echo "$4 / $wall" | bc -l | cut -c1-6) load_before=$load"
}

for r in $(seq 1 "$REPEATS"); do
    run 1 "1000-t1-r$r" benches/sweeps/s1-1000.sweep.ron 1000
    run 2 "1000-t2-r$r" benches/sweeps/s1-1000.sweep.ron 1000
done
run 2 4000-t2 benches/sweeps/s1-4000.sweep.ron 4000
run 1 4000-t1 benches/sweeps/s1-4000.sweep.ron 4000

# Outputs do not depend on the thread count.
diff -r "$OUT/1000-t1-r1" "$OUT/1000-t2-r1" > /dev/null && echo "1000 cells: 1- and 2-thread outputs identical"
diff -r "$OUT/4000-t1" "$OUT/4000-t2" > /dev/null && echo "4000 cells: 1- and 2-thread outputs identical"
