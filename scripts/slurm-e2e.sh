#!/usr/bin/env bash
# End-to-end test of `sim sweep --plan slurm` under a real Slurm.
#
# On a Debian machine where it runs as root, it installs slurm-wlm and
# munge if absent, starts a private single-node cluster on localhost
# (munged, slurmctld and slurmd on their own socket, ports and
# configuration under a temporary directory), and runs what
# docs/sweeps.md's cluster section tells users to run:
#   1. sim sweep FILE --plan slurm --shards 3 --max-running 2 --out RUN
#   2. bash RUN/slurm/submit.sh    (the array, then the merge with afterok),
#      with task 2 made to fail: the merge then waits forever
#   3. the recipe for a failed task: sbatch --array=2 array.sh, sbatch
#      --dependency=afterok:JOBID merge.sh, scancel the old merge
#   4. the merged directory equals an unsharded run's, byte for byte
#   5. a task run again resumes and counts once; a task that lost a cell
#      recomputes it; merging again (sbatch merge.sh) gives the same bytes
#   6. a plan split into several arrays (--max-array-size) merges the same
# It stops exactly the processes it started, and removes its directory.
#
# Where the daemons cannot start (not root, not Debian, packages not
# installable), it prints why and exits 0, saying SKIPPED plainly;
# SLURM_E2E=require makes that a failure. Where Slurm runs, any
# difference fails.
#
# Usage: scripts/slurm-e2e.sh   (SIM=path/to/sim to test a built binary;
# default: target/ci/sim, built if absent)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
started=$(date +%s)
say() { echo "slurm-e2e: $*"; }

skip() {
    say "SKIPPED: $*"
    say "the Slurm end-to-end test did not run; nothing about Slurm was checked"
    if [ "${SLURM_E2E:-}" = require ]; then
        exit 1
    fi
    exit 0
}

[ "$(id -u)" = 0 ] || skip "not running as root (it installs packages and starts daemons)"
[ -f /etc/debian_version ] && command -v apt-get >/dev/null ||
    skip "not a Debian machine (it installs Debian's slurm-wlm and munge)"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    install() {
        timeout 600 apt-get install -y -q --no-install-recommends slurm-wlm munge >/tmp/slurm-e2e-apt.log 2>&1
    }
    install || { timeout 300 apt-get update -q >/tmp/slurm-e2e-apt.log 2>&1 && install; } ||
        skip "cannot install slurm-wlm and munge: $(tail -1 /tmp/slurm-e2e-apt.log)"
fi
say "$(slurmctld -V), $(munged -V 2>&1 | head -1)"

SIM=${SIM:-$ROOT/target/ci/sim}
if [ ! -x "$SIM" ]; then
    say "building sim (cargo build --profile ci -p sim-cli)"
    cargo build -q --profile ci -p sim-cli
fi
SIM=$(readlink -f "$SIM")

T=$(mktemp -d /tmp/slurm-e2e.XXXXXX)
chmod 711 "$T"
pids=()
cleanup() {
    local rc=$?
    if [ ${#pids[@]} -gt 0 ]; then
        scancel --quiet --user=root 2>/dev/null || true
        # Reverse order: slurmd, slurmctld, then munged.
        for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
            kill "${pids[i]}" 2>/dev/null || true
        done
        for pid in "${pids[@]}"; do
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.2
            done
            kill -9 "$pid" 2>/dev/null || true
        done
    fi
    if [ "$rc" != 0 ]; then
        say "FAILED; daemon logs:"
        tail -n 20 "$T"/log/* 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT

# A TCP port nothing listens on.
free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    return 1
}

# munge: its own key and socket, so a site's munged is left alone.
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/log"
chmod 711 "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$T/munge/munge.key"
munged --foreground --force --num-threads=10 --socket="$T/munge/socket" \
    --key-file="$T/munge/munge.key" --log-file="$T/log/munged.log" \
    --pid-file="$T/munge/munged.pid" --seed-file="$T/munge/seed" \
    >"$T/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$T/munge/socket" ] && break; sleep 0.2; done
[ -S "$T/munge/socket" ] || skip "munged did not start: $(tail -1 "$T/log/munged.out")"

HOST=$(hostname -s)
export SLURM_CONF=$T/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=sime2e
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/socket
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=5
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=e2e Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$T/log/slurmd.out" 2>&1 &
pids+=($!)
state=
for _ in $(seq 120); do
    state=$(sinfo -h -o %T 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.5
done
[ "$state" = idle ] || skip "the single-node cluster did not come up (node state: ${state:-none}); see the daemon logs above"
say "single-node cluster up on $HOST ($(nproc) CPUs) in $(($(date +%s) - started)) s"

# A small sweep: 6 cells of S1.
W=$T/work
mkdir -p "$W"
cp experiments/s1-rpc.ron "$W/"
cat >"$W/small.sweep.ron" <<'EOF'
(
    name: "e2e",
    description: "a small sweep for the Slurm end-to-end test",
    scenario: "s1-rpc.ron",
    replications: 2,
    seed: 5,
    grid: [
        (path: "clients[0].timeout", values: ["15ms", "40ms"]),
        (path: "clients[0].retry.max_attempts", range: (start: 1, end: 3, step: 1)),
    ],
)
EOF
RUN=$W/run
cd "$W"

# Waits until none of the jobs $@ (all jobs when none given) is queued
# or running (bounded); a job that can never start counts as done.
wait_done() {
    local jobs=${*:+-j $(IFS=,; echo "$*")}
    for _ in $(seq 600); do
        # shellcheck disable=SC2086
        [ -z "$(squeue -h $jobs -o '%i %r' | grep -v DependencyNeverSatisfied)" ] && return 0
        sleep 0.5
    done
    say "jobs still queued after 300 s:"
    squeue
    return 1
}

# The state of job (or array task) $1.
state_of() {
    scontrol show job -o "$1" | grep -o "JobState=[A-Z_]*" | head -1 | cut -d= -f2
}

expect_state() {
    local got
    got=$(state_of "$1")
    if [ "$got" != "$2" ]; then
        say "FAIL: job $1 is $got, expected $2"
        tail -n 5 "$RUN"/logs/*
        exit 1
    fi
}

same() {
    if ! diff -r "$1" "$2"; then
        say "FAIL: $2 differs from $1"
        exit 1
    fi
}

"$SIM" sweep small.sweep.ron --plan slurm --shards 3 --max-running 2 --out "$RUN"
"$SIM" sweep small.sweep.ron --out "$W/unsharded" >/dev/null

# Task 2 fails (its output directory is a file), as a task on a dead node
# would; the merge then can never start.
touch "$RUN/shards/shard-2"
submitted=$(bash "$RUN/slurm/submit.sh")
echo "$submitted"
array=$(echo "$submitted" | sed -n 's/.*shards as job \([0-9]*\) .*/\1/p')
old_merge=$(echo "$submitted" | sed -n 's/.*the merge as job \([0-9]*\) .*/\1/p')
[ -n "$array" ] && [ -n "$old_merge" ] || { say "FAIL: cannot read the job ids"; exit 1; }
wait_done "$array"
expect_state "${array}_1" COMPLETED
expect_state "${array}_2" FAILED
expect_state "$old_merge" PENDING
# The controller marks it at its next scheduling pass.
for _ in $(seq 120); do
    reason=$(squeue -h -j "$old_merge" -o %r)
    [ "$reason" = DependencyNeverSatisfied ] && break
    sleep 0.5
done
[ "$reason" = DependencyNeverSatisfied ] ||
    { say "FAIL: the merge should wait forever after a failed task (reason: $reason)"; squeue; exit 1; }
say "a failed task leaves the merge pending (DependencyNeverSatisfied)"

# docs/sweeps.md's recipe: resubmit the task alone, the merge after it,
# and cancel the merge that can no longer start.
rm "$RUN/shards/shard-2"
retry=$(sbatch --parsable --array=2 "$RUN/slurm/array.sh")
retry=${retry%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$retry" "$RUN/slurm/merge.sh")
merge=${merge%%;*}
scancel "$old_merge"
wait_done "$retry" "$merge"
expect_state "${retry}_2" COMPLETED
expect_state "$merge" COMPLETED
[ -f "$RUN/merged/results.json" ] || { say "FAIL: no merged results"; ls -R "$RUN"; exit 1; }
same "$W/unsharded" "$RUN/merged"
say "after the retry, merged equals unsharded, byte for byte"

# A task run again resumes (nothing to do), a task that lost a cell
# recomputes it, and merging again gives the same bytes.
sbatch --wait --quiet --array=2 "$RUN/slurm/array.sh"
grep -q "ran 0, 2 already done" "$RUN"/logs/shard-2.job-*.out ||
    { say "FAIL: the rerun shard 2 did not resume"; cat "$RUN"/logs/shard-2.job-*.out; exit 1; }
rm "$RUN/shards/shard-3/cells/cell-000002.json"
sbatch --wait --quiet --array=3 "$RUN/slurm/array.sh"
grep -q "ran 1, 1 already done" "$RUN"/logs/shard-3.job-*.out ||
    { say "FAIL: shard 3 did not recompute its lost cell"; cat "$RUN"/logs/shard-3.job-*.out; exit 1; }
sbatch --wait --quiet "$RUN/slurm/merge.sh"
same "$W/unsharded" "$RUN/merged"
say "tasks run twice count once; merging again gives the same bytes"

# Past MaxArraySize the plan submits several arrays (here 5 shards with
# indices below 3: arrays of 2, 2 and 1), and the merge waits for all.
"$SIM" sweep small.sweep.ron --plan slurm --shards 5 --max-array-size 3 --out "$W/split"
[ -f "$W/split/slurm/array-3.sh" ] || { say "FAIL: expected three arrays"; ls "$W/split/slurm"; exit 1; }
bash "$W/split/slurm/submit.sh"
wait_done
same "$W/unsharded" "$W/split/merged"
say "a plan split into 3 arrays merges to the same bytes"
say "PASSED in $(($(date +%s) - started)) s"
