"""RPC with retries in SimPy, the twin of rpc-retries.ron, semantics as
sim's documentation states them (docs/scenario-format.md):

- Poisson arrivals; each request makes up to 4 attempts, each with its own
  120 ms timeout (the timeout is the innermost policy); Error and Timeout
  are retried after a full-jitter backoff: Uniform(0, min(400 ms, 20 ms *
  2^(k-1))) before retry k.
- The service: 16 workers, FIFO, unbounded queue, Exponential(10 ms) work.
  When a job starts, load = max(0.5, in_service / 8) with the starting job
  counted; past load 1 its work takes (load - 1) * 2 ms longer and fails
  with probability min(0.5, (load - 1) * 0.02), reported when it ends.
- A timed-out attempt's work runs on (on_abandon: Orphan).

    python rpc_simpy.py REQUESTS ARRIVALS_PER_S SEED

Prints one JSON line: requests, successes, attempts, mean latency of the
successful requests in seconds.
"""
import json
import random
import sys

import simpy

WORKERS = 16
MEAN_SERVICE = 0.010
KNEE = 8
LATENCY_PER_UNIT = 0.002
FAILURE_PER_UNIT = 0.02
MAX_FAILURE = 0.5
MIN_LOAD = 0.5
TIMEOUT = 0.120
MAX_ATTEMPTS = 4
BASE, CAP = 0.020, 0.400


def main():
    n, lam, seed = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    env = simpy.Environment()
    workers = simpy.Resource(env, capacity=WORKERS)
    state = {"in_service": 0, "ok": 0, "attempts": 0, "latency": 0.0}

    def job(done):
        with workers.request() as req:
            yield req
            state["in_service"] += 1
            load = max(MIN_LOAD, state["in_service"] / KNEE)
            extra = max(0.0, load - 1.0)
            fail = rng.random() < min(MAX_FAILURE, extra * FAILURE_PER_UNIT)
            yield env.timeout(rng.expovariate(1.0 / MEAN_SERVICE) + extra * LATENCY_PER_UNIT)
            state["in_service"] -= 1
        done.succeed(not fail)

    def request():
        start = env.now
        for k in range(MAX_ATTEMPTS):
            if k > 0:
                yield env.timeout(rng.uniform(0.0, min(CAP, BASE * 2 ** (k - 1))))
            state["attempts"] += 1
            done = env.event()
            env.process(job(done))
            timer = env.timeout(TIMEOUT)
            result = yield done | timer
            if done in result and result[done]:
                state["ok"] += 1
                state["latency"] += env.now - start
                return

    def source():
        for _ in range(n):
            yield env.timeout(rng.expovariate(lam))
            env.process(request())

    env.process(source())
    env.run()
    print(json.dumps({
        "requests": n,
        "ok": state["ok"],
        "attempts": state["attempts"],
        "mean_latency_s": state["latency"] / max(1, state["ok"]),
    }))


if __name__ == "__main__":
    main()
