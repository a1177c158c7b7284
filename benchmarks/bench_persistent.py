"""Persistent annealing against the full anneal: final exact NLL and sampler time, side by side.

Each configuration trains the default 200-epoch run with the `sa` backend (1000 reads) on
patterns20 (20x8) and bars-and-stripes 4x4 (16x16), seeds 0..S-1, on all cores:

    python benchmarks/bench_persistent.py [--seeds 3] [--epochs 200]

The full anneal runs 200 sweeps from hot every update; persistent annealing continues from the
previous update's samples with `persistent_sweeps` sweeps from `reheat_beta` to beta = 1.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from annealrbm import RBM, Trainer, metrics
from annealrbm.data import datasets

PROBLEMS = {"patterns20": ("patterns20", 8), "bars-and-stripes 4x4": ("bars-and-stripes-4", 16)}
FULL = {"num_reads": 1000, "num_sweeps": 200}
PERSISTENT = [{"persistent_sweeps": sweeps, "reheat_beta": reheat} for sweeps in (20, 50, 100) for reheat in (0.1, 0.3)]


def run(dataset: str, hidden: int, options: dict, seed: int, epochs: int) -> tuple[float, float]:
    """(final exact NLL, total sampler seconds) of one training run."""
    data = datasets.load(dataset)
    rbm = RBM(data.shape[1], hidden, seed=seed)
    history = Trainer(rbm, backend="sa", epochs=epochs, seed=seed, backend_options=options, progress=False,
                      evaluate=False).fit(data)
    return -metrics.log_likelihood(rbm, data), float(np.sum(history["sampler_seconds"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()
    configs = [("full anneal, 200 sweeps from hot", FULL)] + [
        (f"persistent, {p['persistent_sweeps']} sweeps from beta {p['reheat_beta']}", {**FULL, "persistent": True, **p})
        for p in PERSISTENT
    ]
    jobs = [(problem, label, dataset, hidden, options, seed)
            for problem, (dataset, hidden) in PROBLEMS.items() for label, options in configs for seed in range(args.seeds)]
    print(f"{time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores  sa, 1000 reads, "
          f"{args.epochs} epochs, seeds 0..{args.seeds - 1}")
    with ProcessPoolExecutor() as pool:
        results = list(pool.map(run, *zip(*[(d, h, o, s, args.epochs) for _, _, d, h, o, s in jobs])))
    table: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for (problem, label, *_), result in zip(jobs, results):
        table.setdefault((problem, label), []).append(result)
    for problem, (dataset, _) in PROBLEMS.items():
        optimum = float(np.log(len(datasets.load(dataset))))
        full_nll, full_seconds = np.array(table[(problem, configs[0][0])]).T
        print(f"\n{problem} (optimum ln {len(datasets.load(dataset))} = {optimum:.3f})")
        print(f"{'':<40} {'NLL mean +- std':>16} {'sampler s/run':>14} {'time vs full':>13}")
        for label, _ in configs:
            nll, seconds = np.array(table[(problem, label)]).T
            print(f"{label:<40} {nll.mean():>8.3f} +- {nll.std():<5.3f} {seconds.mean():>14.1f} "
                  f"{seconds.mean() / full_seconds.mean():>12.0%}")


if __name__ == "__main__":
    main()
