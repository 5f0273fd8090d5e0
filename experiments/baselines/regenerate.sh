#!/usr/bin/env bash
# Regenerates the baselines that CI checks every experiment against
# (experiments/baselines/NAME.json for experiments/NAME.ron).
#
#   experiments/baselines/regenerate.sh            every experiment
#   experiments/baselines/regenerate.sh s1 s6-herd only these
#
# Only legitimate when a model's behaviour changed on purpose (a bug fixed,
# a semantics changed, a scenario edited): say which and why in the commit
# message, and look at the diff of the baselines first. Never to turn a red
# check green without understanding it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release --quiet -p sim-cli
sim="${CARGO_TARGET_DIR:-$root/target}/release/sim"
names=("$@")
if [ "${#names[@]}" -eq 0 ]; then
    for f in experiments/*.ron; do
        case "$f" in *.sweep.ron) continue ;; esac
        names+=("$(basename "$f" .ron)")
    done
fi
for name in "${names[@]}"; do
    "$sim" baseline "experiments/$name.ron" -o "experiments/baselines/$name.json" --force
    echo "experiments/baselines/$name.json"
done
