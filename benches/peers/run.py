"""Side-by-side runs of sim against its peers on the same work.

Run by hand (not by CI), through run.sh, which sets up the Python
environment and builds the Rust binaries. For each pair it alternates runs
(sim, peer, sim, peer, ...), times each whole process (what a user waits
for), checks that both did the same work (their outcomes agree with
queueing theory, or with each other, within a tolerance), and writes the
table between the markers in BENCHMARKS.md.

    python run.py [--runs 3] [--quick]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SIM = os.path.join(ROOT, "target", "release", "sim")
MM1 = os.path.join(ROOT, "target", "release", "examples", "mm1")
PY = sys.executable
BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def erlang_c_sojourn(c, lam, mean_s):
    """Mean sojourn time of M/M/c (Erlang C)."""
    a = lam * mean_s
    rho = a / c
    top = a ** c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    return mean_s + p_wait * mean_s / (c - a)


# Each runner returns (wall seconds, outcome dict).
def sim_mmc(c, lam, mean_s, n):
    t, out = timed([SIM, "run", os.path.join(HERE, "mm1.ron"), "--json",
                    "--set", f"services[0].workers={c}",
                    "--set", f'services[0].service_time=Exponential(mean: "{mean_s * 1000:g}ms")',
                    "--set", f"clients[0].workload=Poisson(rate_per_s: {lam:g})",
                    "--set", f"clients[0].requests={n}"])
    doc = json.loads(out)
    return t, {"customers": doc["clients"]["load"]["ok"],
               "mean_sojourn_s": doc["clients"]["load"]["latency_ms"]["mean"] / 1000}


def bare_mm1(n):
    t, out = timed([MM1, str(n), "1", "--bare"])
    line = next(l for l in out.splitlines() if l.startswith("mean sojourn"))
    return t, {"customers": n, "mean_sojourn_s": float(line.split()[2]) / 1000}


def py_mmc(script, c, lam, mean_s, n):
    t, out = timed([PY, os.path.join(HERE, script), str(c), str(lam), str(mean_s), str(n), "1"])
    return t, json.loads(out)


def sim_rpc(n, lam):
    t, out = timed([SIM, "run", os.path.join(HERE, "rpc-retries.ron"), "--json",
                    "--set", f"clients[0].requests={n}",
                    "--set", f"clients[0].workload=Poisson(rate_per_s: {lam:g})"])
    c = json.loads(out)["clients"]["rpc"]
    return t, {"requests": c["offered"], "ok": c["ok"], "attempts": c["attempts"],
               "mean_latency_s": c["latency_ms"]["mean"] / 1000}


def simpy_rpc(n, lam):
    t, out = timed([PY, os.path.join(HERE, "rpc_simpy.py"), str(n), str(lam), "1"])
    return t, json.loads(out)


def near(x, y, rel):
    return abs(x - y) <= rel * abs(y)


def mmc_check(c, lam, mean_s, rel):
    want = erlang_c_sojourn(c, lam, mean_s)

    def check(a, b):
        ok = all(near(o["mean_sojourn_s"], want, rel) for o in (a, b))
        return ok, (f"mean sojourn {a['mean_sojourn_s'] * 1000:.3f} and {b['mean_sojourn_s'] * 1000:.3f} ms, "
                    f"theory {want * 1000:.3f} ms (within {rel:.0%}: {'yes' if ok else 'NO'})")
    return check


def rpc_check(a, b):
    apr = [o["attempts"] / o["requests"] for o in (a, b)]
    sr = [o["ok"] / o["requests"] for o in (a, b)]
    lat = [o["mean_latency_s"] for o in (a, b)]
    ok = near(apr[0], apr[1], 0.005) and near(sr[0], sr[1], 0.01) and near(lat[0], lat[1], 0.10)
    return ok, (f"attempts/request {apr[0]:.4f} and {apr[1]:.4f}, success {sr[0]:.2%} and {sr[1]:.2%}, "
                f"mean latency {lat[0] * 1000:.2f} and {lat[1] * 1000:.2f} ms ({'agree' if ok else 'DISAGREE'})")


def pairs(quick):
    k = 10 if quick else 1
    n_rust, n_py, n_rpc = 10_000_000 // k, 200_000 // k, 100_000 // k
    mm1_check = mmc_check(1, 900, 0.001, 0.03)
    return [
        (f"M/M/1, rho 0.9, {n_rust:,} customers", "bare-heap Rust loop",
         lambda: sim_mmc(1, 900, 0.001, n_rust), lambda: bare_mm1(n_rust), mm1_check, n_rust),
        (f"M/M/1, rho 0.8, {n_py:,} customers", "SimPy 4.1.2",
         lambda: sim_mmc(1, 800, 0.001, n_py), lambda: py_mmc("mmc_simpy.py", 1, 800, 0.001, n_py),
         mmc_check(1, 800, 0.001, 0.06), n_py),
        (f"M/M/1, rho 0.8, {n_py:,} customers", "Ciw 3.2.7",
         lambda: sim_mmc(1, 800, 0.001, n_py), lambda: py_mmc("mmc_ciw.py", 1, 800, 0.001, n_py),
         mmc_check(1, 800, 0.001, 0.06), n_py),
        (f"M/M/4, rho 0.8, {n_py:,} customers", "SimPy 4.1.2",
         lambda: sim_mmc(4, 3200, 0.001, n_py), lambda: py_mmc("mmc_simpy.py", 4, 3200, 0.001, n_py),
         mmc_check(4, 3200, 0.001, 0.06), n_py),
        (f"M/M/4, rho 0.8, {n_py:,} customers", "Ciw 3.2.7",
         lambda: sim_mmc(4, 3200, 0.001, n_py), lambda: py_mmc("mmc_ciw.py", 4, 3200, 0.001, n_py),
         mmc_check(4, 3200, 0.001, 0.06), n_py),
        (f"RPC with retries, {n_rpc:,} requests", "SimPy 4.1.2",
         lambda: sim_rpc(n_rpc, 1200), lambda: simpy_rpc(n_rpc, 1200), rpc_check, n_rpc),
    ]


def fmt_times(ts):
    return f"{statistics.median(ts):.3f} s ({min(ts):.3f}-{max(ts):.3f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a tenth of the work (to try the harness)")
    args = ap.parse_args()
    rows, all_agree = [], True
    for work, peer, run_sim, run_peer, check, n in pairs(args.quick):
        ts, tp, ratios, note = [], [], [], ""
        for _ in range(args.runs):
            a_t, a = run_sim()
            b_t, b = run_peer()
            ts.append(a_t)
            tp.append(b_t)
            ratios.append(b_t / a_t)
            agree, note = check(a, b)
            all_agree &= agree
        r = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        rows.append(f"| {work} | {peer} | {fmt_times(ts)} | {fmt_times(tp)} | {r} | {note} |")
        print(rows[-1], flush=True)
    table = "\n".join([
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
        f"`benches/peers/run.sh{' --quick' if args.quick else ''}` ({args.runs} alternating runs per pair; "
        "wall time of each whole process; ratio = peer time / sim time, so above 1 sim is faster).",
        "",
        "| work | peer | sim run | peer | peer / sim | same work? |",
        "|---|---|---|---|---|---|",
        *rows,
    ])
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = f"{head}{BEGIN}\n{table}\n{END}{tail}"
    else:
        text += f"\n## Peers, side by side\n\n{BEGIN}\n{table}\n{END}\n"
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    print(f"wrote the table into {path}")
    if not all_agree:
        print("some pairs did not do the same work (see 'same work?')", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
