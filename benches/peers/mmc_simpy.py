"""M/M/c in SimPy, the way SimPy's documentation writes a queue: a
Resource of c servers, one process per customer.

    python mmc_simpy.py SERVERS ARRIVALS_PER_S MEAN_SERVICE_S CUSTOMERS SEED

Prints one JSON line: customers served and their mean sojourn in seconds.
"""
import json
import random
import sys

import simpy


def main():
    c, lam, mean_s, n, seed = (int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]),
                               int(sys.argv[4]), int(sys.argv[5]))
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=c)
    stats = {"done": 0, "sojourn": 0.0}

    def customer(env):
        arrived = env.now
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(1.0 / mean_s))
        stats["done"] += 1
        stats["sojourn"] += env.now - arrived

    def source(env):
        for _ in range(n):
            yield env.timeout(rng.expovariate(lam))
            env.process(customer(env))

    env.process(source(env))
    env.run()
    print(json.dumps({"customers": stats["done"], "mean_sojourn_s": stats["sojourn"] / stats["done"]}))


if __name__ == "__main__":
    main()
