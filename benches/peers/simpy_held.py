"""SimPy peer for meshsim's held-worker Jackson network (scenarios/queueing/jackson-held.yaml).

The network of ../../../shared/peers/README.md (`net`): A (c=4, mu=1) -> B (c=2, mu=2)
-> C (c=1, mu=2) with probability 0.5, exponential service, FIFO queues, external
Poisson arrivals into A -- but with thread-per-request servers: a caller keeps its
worker while it waits for the callee's response. A's worker is busy for A's own
service plus B's response time (which includes C's when B calls C); B's worker
for B's service plus C's response time. No product form, hence this peer.

At the README's lambda = 3/s this is unstable (B's held service has mean
0.5 + 0.5 * T_C >= 1 s on 2 workers), so meshsim's scenario and this model use a
lower arrival rate (default 1.2/s, the figure in RESULTS.md).

Usage: python simpy_held.py [N_customers] [seed] [lambda]
Written in the style of shared/peers/simpy_models.py (same RNG layout: seed for
arrivals, seed+1 for service, seed+2 for the routing draw; first 1 % of customers
dropped as warm-up; 20 batch means in arrival order).
"""
import math
import random
import sys
import time

import simpy

P_TO_C = 0.5
STATIONS = [("A", 4, 1.0), ("B", 2, 2.0), ("C", 1, 2.0)]
T_975_19 = 2.093   # t_{0.975, 19}


def run_held(n, seed, lam):
    env = simpy.Environment()
    res = [simpy.Resource(env, capacity=c) for _, c, _ in STATIONS]
    rng_a, rng_s, rng_r = random.Random(seed), random.Random(seed + 1), random.Random(seed + 2)
    resp = [0.0] * n
    busy = [0.0] * 3   # total worker-seconds held per station

    def serve(k):
        """Station k: take a worker, compute, then (B only) call C, holding the worker."""
        with res[k].request() as req:
            yield req
            start = env.now
            yield env.timeout(rng_s.expovariate(STATIONS[k][2]))
            if k == 0:
                yield from serve(1)                  # A calls B and waits, worker held
            elif k == 1 and rng_r.random() < P_TO_C:
                yield from serve(2)                  # B calls C and waits, worker held
            busy[k] += env.now - start

    def customer(i):
        t0 = env.now
        yield from serve(0)
        resp[i] = env.now - t0

    def source():
        for i in range(n):
            yield env.timeout(rng_a.expovariate(lam))
            env.process(customer(i))

    env.process(source())
    t = time.perf_counter()
    env.run()
    return time.perf_counter() - t, env.now, resp, busy


def batch_means(xs, batches=20):
    m = len(xs) // batches
    return [sum(xs[i * m:(i + 1) * m]) / m for i in range(batches)]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    lam = float(sys.argv[3]) if len(sys.argv) > 3 else 1.2
    wall, end, resp, busy = run_held(n, seed, lam)
    xs = resp[n // 100:]
    bm = batch_means(xs)
    mean = sum(xs) / len(xs)
    bmean = sum(bm) / len(bm)
    se = math.sqrt(sum((b - bmean) ** 2 for b in bm) / (len(bm) - 1) / len(bm))
    h = T_975_19 * se
    util = ", ".join(f"{name} {busy[k] / (c * end):.4f}" for k, (name, c, _) in enumerate(STATIONS))
    print(f"# SimPy {simpy.__version__}, python {sys.version.split()[0]}")
    print(f"simpy held-net N={n} seed={seed} lambda={lam} wall={wall:.1f}s")
    print(f"  end-to-end response mean={mean:.5f} 95%CI [{bmean - h:.5f}, {bmean + h:.5f}] "
          f"(batch-means SE {se:.5f}, 20 batches, first 1% dropped)")
    print(f"  utilisation (held worker-time / capacity): {util}")


if __name__ == "__main__":
    main()
