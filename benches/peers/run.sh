#!/usr/bin/env bash
# The peer harness: sim against SimPy, Ciw and a bare-heap Rust loop on
# the same work, side by side. Run by hand, not by CI (it takes a few
# minutes and installs SimPy and Ciw from PyPI into target/peers-venv).
#
#   benches/peers/run.sh            the full table, written into BENCHMARKS.md
#   benches/peers/run.sh --quick    a tenth of the work, to try it out
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv=target/peers-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet simpy==4.1.2 ciw==3.2.7
fi
cargo build --release --quiet -p sim-cli
cargo build --release --quiet -p sim-core --example mm1
exec "$venv/bin/python" benches/peers/run.py "$@"
