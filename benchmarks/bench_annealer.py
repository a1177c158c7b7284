"""Samples per second at 1000 sweeps: annealrbm's BipartiteAnnealingSampler beside
dwave-samplers' SimulatedAnnealingSampler, in one run on the same machine, plus the accuracy of
both samplers' moments at beta = 1 against the exact ones (TreeDecompositionSampler) on 20x8.

    python benchmarks/bench_annealer.py
"""
from __future__ import annotations

import os
import platform
import time

import numpy as np
from dwave.samplers import SimulatedAnnealingSampler, TreeDecompositionSampler

from annealrbm import RBM
from annealrbm.backends import BipartiteAnnealingSampler
from annealrbm.backends.dimod_backends import statistics_from_marginals
from annealrbm.estimators import negative_statistics


def random_rbm(n_visible: int, n_hidden: int, seed: int, scale: float) -> RBM:
    rng = np.random.default_rng(seed)
    return RBM.from_arrays(scale * rng.standard_normal((n_visible, n_hidden)),
                           scale * rng.standard_normal(n_visible), scale * rng.standard_normal(n_hidden))


def samples_per_second(sampler, bqm, num_reads: int, beta_range) -> tuple[float, object]:
    start = time.perf_counter()
    sampleset = sampler.sample(bqm, num_reads=num_reads, num_sweeps=1000, beta_range=beta_range, seed=1)
    sampleset.resolve()
    return num_reads / (time.perf_counter() - start), sampleset


def main() -> None:
    print(f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}  {os.cpu_count()} cores  "
          f"python {platform.python_version()}")
    print(f"{'model':<9} {'reads (ours / SA)':>18} {'ours samples/s':>15} {'SA samples/s':>13} {'ratio':>7}")
    cases = [((20, 8), 4000, 1000), ((784, 500), 40, 4)]
    for (n_visible, n_hidden), our_reads, sa_reads in cases:
        rbm = random_rbm(n_visible, n_hidden, seed=0, scale=0.5 if n_visible == 20 else 0.05)
        bqm = rbm.to_bqm()
        beta_range = (0.1, 1.0)
        ours, our_set = samples_per_second(BipartiteAnnealingSampler(), bqm, our_reads, beta_range)
        theirs, their_set = samples_per_second(SimulatedAnnealingSampler(), bqm, sa_reads, beta_range)
        print(f"{n_visible}x{n_hidden:<6} {our_reads:>8} / {sa_reads:<7} {ours:>15.1f} {theirs:>13.1f} {ours / theirs:>6.1f}x")
        if n_visible == 20:
            exact = TreeDecompositionSampler().sample(bqm, num_reads=1, marginals=True)
            reference = statistics_from_marginals(exact.info, n_visible, n_hidden).visible_hidden
            _, more = samples_per_second(SimulatedAnnealingSampler(), bqm, our_reads, beta_range)
            for name, sampleset in (("ours", our_set), ("SA", more)):
                visible, hidden = rbm.states_from_sampleset(sampleset)
                error = np.abs(negative_statistics(rbm, visible, hidden).visible_hidden - reference).max()
                print(f"          {name:>4}: max |<v h> - exact| = {error:.4f} from {len(visible)} samples at beta = 1")


if __name__ == "__main__":
    main()
