"""M/M/c in Ciw, as Ciw's tutorials write it: one node, exponential
arrivals and services, c servers, run until CUSTOMERS have finished.

    python mmc_ciw.py SERVERS ARRIVALS_PER_S MEAN_SERVICE_S CUSTOMERS SEED

Prints one JSON line: customers served and their mean sojourn in seconds.
"""
import json
import sys

import ciw


def main():
    c, lam, mean_s, n, seed = (int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]),
                               int(sys.argv[4]), int(sys.argv[5]))
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / mean_s)],
        number_of_servers=[c],
    )
    ciw.seed(seed)
    q = ciw.Simulation(network)
    q.simulate_until_max_customers(n, method="Finish")
    records = q.get_all_records()
    sojourn = sum(r.waiting_time + r.service_time for r in records)
    print(json.dumps({"customers": len(records), "mean_sojourn_s": sojourn / len(records)}))


if __name__ == "__main__":
    main()
