"""Samples per second at 1000 sweeps (best of 3 calls): annealrbm's BipartiteAnnealingSampler beside
dwave-samplers' SimulatedAnnealingSampler, in one run on the same machine, plus the accuracy of
both samplers' moments at beta = 1 against the exact ones (TreeDecompositionSampler) on 20x8.
SimulatedAnnealingSampler is also timed with its reads split over all cores
(ThreadedReadsComposite, what the 'sa' backend does with num_threads), the fairer peer for a
sampler that uses every core.

    python benchmarks/bench_annealer.py
"""
from __future__ import annotations

import os
import platform
import time

import numpy as np
from dwave.samplers import SimulatedAnnealingSampler, TreeDecompositionSampler

from annealrbm import RBM, Trainer
from annealrbm.data import datasets
from annealrbm.backends import BipartiteAnnealingSampler
from annealrbm.backends.threaded_reads import ThreadedReadsComposite
from annealrbm.backends.dimod_backends import statistics_from_marginals
from annealrbm.gradient.estimators import negative_statistics


def random_rbm(n_visible: int, n_hidden: int, seed: int, scale: float) -> RBM:
    rng = np.random.default_rng(seed)
    return RBM.from_arrays(scale * rng.standard_normal((n_visible, n_hidden)),
                           scale * rng.standard_normal(n_visible), scale * rng.standard_normal(n_hidden))


def samples_per_second(sampler, bqm, num_reads: int, beta_range, repeats: int = 3) -> tuple[float, object]:
    """The best of `repeats` calls (the first pays for warming up caches and thread pools)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        sampleset = sampler.sample(bqm, num_reads=num_reads, num_sweeps=1000, beta_range=beta_range, seed=1)
        sampleset.resolve()
        best = min(best, time.perf_counter() - start)
    return num_reads / best, sampleset


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
        threads = os.cpu_count() or 1
        threaded, _ = samples_per_second(ThreadedReadsComposite(SimulatedAnnealingSampler(), threads), bqm,
                                         sa_reads, beta_range)
        print(f"{'':<9} SA in {threads} threads: {threaded:.1f} samples/s ({threaded / theirs:.2f}x SA in one); "
              f"ours {ours / threaded:.1f}x that")
        if n_visible == 20:
            exact = TreeDecompositionSampler().sample(bqm, num_reads=1, marginals=True)
            reference = statistics_from_marginals(exact.info, n_visible, n_hidden).visible_hidden
            _, more = samples_per_second(SimulatedAnnealingSampler(), bqm, our_reads, beta_range, repeats=1)
            for name, sampleset in (("ours", our_set), ("SA", more)):
                visible, hidden = rbm.states_from_sampleset(sampleset)
                error = np.abs(negative_statistics(rbm, visible, hidden).visible_hidden - reference).max()
                print(f"          {name:>4}: max |<v h> - exact| = {error:.4f} from {len(visible)} samples at beta = 1")

    sa_training_epochs(os.cpu_count() or 1)


def sa_training_epochs(threads: int, epochs: int = 20) -> None:
    """The 'sa' backend training on patterns20 with reproduce's settings, one thread and `threads`."""
    seconds = {}
    for num_threads in (1, threads):
        options = {"num_reads": 1000, "num_sweeps": 200, "num_threads": num_threads}
        trainer = Trainer(RBM(20, 8, seed=0), backend="sa", backend_options=options, epochs=epochs, seed=0,
                          progress=False)
        start = time.perf_counter()
        trainer.fit(datasets.patterns20())
        seconds[num_threads] = (time.perf_counter() - start) / epochs
    print(f"'sa' backend epoch, patterns20, 1000 reads x 200 sweeps: num_threads=1 {seconds[1]:.3f} s, "
          f"num_threads={threads} {seconds[threads]:.3f} s, {seconds[1] / seconds[threads]:.2f}x")


if __name__ == "__main__":
    main()
