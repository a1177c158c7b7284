"""What each backend reaches with the Trainer's defaults on random four-pattern sets (20x8,
200 epochs): pattern sets and seeds that were not used to choose the defaults."""
import numpy as np
import pytest

from annealrbm import RBM, Trainer, metrics
from annealrbm.experiments.patterns import run_pattern_experiment
from annealrbm.data.datasets import random_patterns

LN4 = np.log(4)
HELD_OUT_SETS = (1002, 1003, 1005)
# Sets on which, without unit restarts, the gradient from the default initial weights stalls in
# a saddle: every hidden unit saturates on one or two partitions of the patterns and a visible
# unit that follows another stays uncoupled, about ln 2 above the optimum per such unit.
SADDLE_SETS = (1001, 1004)


def final_nll(backend: str, pattern_seed: int, seed: int, **options) -> float:
    data = random_patterns(pattern_seed)
    rbm = RBM(20, 8, seed=seed)
    Trainer(rbm, backend=backend, epochs=200, seed=seed, progress=False, evaluate=False, **options).fit(data)
    return -metrics.log_likelihood(rbm, data)


@pytest.mark.parametrize("backend, bound", [("exact", LN4 + 0.1), ("pcd", LN4 + 0.5)])
def test_exact_gradient_and_weighted_pcd_reach_their_targets(backend, bound):
    nlls = [final_nll(backend, pattern_seed, seed) for pattern_seed in HELD_OUT_SETS for seed in (0, 1)]
    assert max(nlls) <= bound, nlls


@pytest.mark.parametrize("pattern_seed", SADDLE_SETS)
def test_unit_restarts_lead_the_exact_gradient_out_of_a_saddle(pattern_seed):
    assert final_nll("exact", pattern_seed, 0, restart_units=False) > LN4 + 0.5  # stalled
    assert final_nll("exact", pattern_seed, 0) <= LN4 + 0.1


@pytest.mark.slow
def test_population_annealing_reaches_its_target():
    nlls = [final_nll("bipartite-sa", pattern_seed, seed) for pattern_seed in HELD_OUT_SETS for seed in (0, 1)]
    assert max(nlls) <= LN4 + 0.3, nlls


@pytest.mark.slow
def test_simulated_annealing_reaches_its_target_with_little_spread_over_seeds():
    nlls = np.array([[final_nll("sa", pattern_seed, seed) for seed in (0, 1, 2)] for pattern_seed in HELD_OUT_SETS])
    # the target is on each set's mean over seeds: the annealer's frozen mode weights differ
    # from run to run, so single runs are bounded more loosely
    assert nlls.mean(axis=1).max() <= LN4 + 0.2, nlls  # the worst set
    assert nlls.max() <= LN4 + 0.3, nlls
    assert nlls.std(axis=1).mean() <= 0.05, nlls


@pytest.mark.slow
def test_the_pattern_experiment_meets_its_targets_for_every_seed():
    for seed in range(5):
        results = {r.backend: r for r in run_pattern_experiment(backends=("sa", "exact"), seed=seed)}
        assert results["exact"].nll <= LN4 + 0.1, (seed, results["exact"].nll)
        assert results["sa"].nll <= LN4 + 0.2, (seed, results["sa"].nll)
