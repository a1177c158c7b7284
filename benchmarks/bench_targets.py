"""What each backend reaches with the Trainer's defaults on random four-pattern 20-bit sets.

    python benchmarks/bench_targets.py --backends exact,pcd,pt --sets 2000-2019 --seeds 0,1,2
    python benchmarks/bench_targets.py --backends sa --sets 200-209 --seeds 0,1,2 --jobs 2
    python benchmarks/bench_targets.py --backends exact --sets 2100-2299 --seeds 3 --no-restarts
    python benchmarks/bench_targets.py --backends sa --sets 8000-8009 --seeds 0,1 --base-rate 0.25
    python benchmarks/bench_targets.py --backends sa --sets 8000-8009 --seeds 0,1 -o num_reads=400

Trains RBM(20, 8, seed=s) with `Trainer(backend=..., epochs=200, seed=s)` (nothing else set) on
each set and seed, and prints, per backend, the final exact NLL above the optimum ln 4: median,
90th percentile, worst run, the worst set's mean over seeds, the mean spread over seeds and the
share of runs more than 0.1 nats above the optimum. --no-restarts sets restart_units=False;
--base-rate R replaces the default schedule's base rate (learning_rate=DecayingRate(R, 200));
-o KEY=VALUE (repeatable) goes to every backend as a backend option, as in `annealrbm train`.
"""
from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from annealrbm import RBM, Trainer, metrics
from annealrbm.cli import _parse_backend_options
from annealrbm.data.datasets import random_patterns
from annealrbm.optim import DecayingRate

LN4 = np.log(4)


def excess_nll(job: tuple[str, int, int, bool, float | None, dict]) -> tuple[float, float]:
    backend, pattern_seed, seed, restart_units, base_rate, options = job
    data = random_patterns(pattern_seed)
    rbm = RBM(20, 8, seed=seed)
    start = time.perf_counter()
    schedule = None if base_rate is None else DecayingRate(base_rate, 200)
    Trainer(rbm, backend=backend, epochs=200, seed=seed, progress=False, evaluate=False,
            restart_units=restart_units, learning_rate=schedule, backend_options=options).fit(data)
    return -metrics.log_likelihood(rbm, data) - LN4, time.perf_counter() - start


def parse_range(text: str) -> list[int]:
    if "-" in text:
        first, last = map(int, text.split("-"))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="exact,pcd,pt,bipartite-sa,sa")
    parser.add_argument("--sets", default="2000-2009", help="pattern-set seeds: a range A-B or a list")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-restarts", action="store_true", help="train with restart_units=False")
    parser.add_argument("--base-rate", type=float, help="base rate of the decaying schedule (default: the Trainer's)")
    parser.add_argument("-o", "--backend-option", action="append", default=[], metavar="KEY=VALUE",
                        help="a backend option, as in `annealrbm train` (repeatable)")
    args = parser.parse_args()
    options = _parse_backend_options(args.backend_option)
    sets, seeds = parse_range(args.sets), parse_range(args.seeds)
    print(f"{'backend':<13} {'median':>7} {'p90':>7} {'worst':>7} {'worst set':>10} {'spread':>7} {'>+0.1':>6} {'s/run':>6}"
          "   (NLL - ln 4, nats)")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for backend in args.backends.split(","):
            jobs = [(backend, p, s, not args.no_restarts, args.base_rate, options) for p in sets for s in seeds]
            results = np.array(list(pool.map(excess_nll, jobs)))
            excess = results[:, 0].reshape(len(sets), len(seeds))
            print(f"{backend:<13} {np.median(excess):7.3f} {np.quantile(excess, 0.9):7.3f} {excess.max():7.3f} "
                  f"{excess.mean(axis=1).max():10.3f} {excess.std(axis=1).mean():7.3f} {np.mean(excess > 0.1):6.1%} "
                  f"{results[:, 1].mean():6.1f}",
                  flush=True)
            worst = np.unravel_index(np.argmax(excess), excess.shape)
            print(f"{'':<13} worst run: set {sets[worst[0]]}, seed {seeds[worst[1]]}", flush=True)


if __name__ == "__main__":
    main()
