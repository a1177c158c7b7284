"""Forward and reverse AIS against the exact log Z: forward errs low, reverse (from exact model
samples) errs high, and log_likelihood_bounds brackets the exact likelihood."""
import json

import numpy as np
import pytest
from dwave.samplers import TreeDecompositionSampler

from annealrbm import RBM, cli, metrics
from annealrbm.metrics.ais import ais_log_partition_function, reverse_ais_log_partition_function
from helpers import random_rbm


def exact_visible_samples(rbm: RBM, num_samples: int, seed: int) -> np.ndarray:
    sampleset = TreeDecompositionSampler().sample(rbm.to_bqm(), num_reads=num_samples, seed=seed)
    return rbm.states_from_sampleset(sampleset)[0]


def test_forward_ais_errs_low_and_reverse_ais_from_model_samples_does_not():
    rbm = random_rbm(24, 10, seed=3, scale=1.5)
    exact = metrics.log_partition_function(rbm)
    starts = exact_visible_samples(rbm, 200, seed=0)
    # a short schedule, so that forward AIS's bias shows over its noise; measured: forward
    # -1.71 +- 0.32 nats, reverse +0.005 +- 0.009 (mean over 10 seeds +- its standard error)
    forward = [ais_log_partition_function(rbm, num_chains=200, num_betas=30, seed=s)[0] for s in range(10)]
    reverse = [reverse_ais_log_partition_function(rbm, starts, num_betas=30, seed=s)[0] for s in range(10)]
    assert np.mean(forward) < exact - 0.5
    assert np.mean(reverse) == pytest.approx(exact, abs=0.04)
    long = reverse_ais_log_partition_function(rbm, starts, num_betas=3000, seed=0)
    assert long[0] == pytest.approx(exact, abs=max(0.05, 3 * long[1]))


def test_bounds_are_exact_when_log_z_can_be_enumerated_and_bracket_it_otherwise():
    rbm = random_rbm(24, 10, seed=4, scale=0.5)
    data = exact_visible_samples(rbm, 300, seed=1)
    exact = metrics.log_likelihood(rbm, data)
    low, high, details = metrics.log_likelihood_bounds(rbm, data, seed=0)
    assert low == high == pytest.approx(exact) and details["method"] == "exact"
    low, high, details = metrics.log_likelihood_bounds(rbm, data, seed=0, method="ais", num_betas=2000)
    assert details["method"] == "ais" and low <= high
    assert low - 0.1 <= exact <= high + 0.1 and high - low < 0.3, (low, exact, high)
    with pytest.raises(ValueError, match="method"):
        metrics.log_likelihood_bounds(rbm, data, method="bogus")


def test_evaluate_prints_both_figures_and_json(tmp_path, capsys):
    rbm = random_rbm(30, 21, seed=5, scale=0.3)  # 21 hidden and 30 visible: AIS, not enumeration
    rbm.save(tmp_path / "model.npz")
    data = (np.random.default_rng(0).random((50, 30)) < 0.5).astype(float)
    np.save(tmp_path / "data.npy", data)
    args = ["evaluate", "--model", str(tmp_path / "model.npz"), "--data", str(tmp_path / "data.npy"), "--ais-betas", "500"]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "forward AIS" in text and "conservative" in text and "reverse AIS" in text
    assert cli.main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"log_likelihood", "log_likelihood_conservative", "standard_error", "method"}
    assert report["method"] == "ais" and report["log_likelihood_conservative"] <= report["log_likelihood"]


def test_starts_that_agree_are_averaged_and_one_far_above_the_other_is_taken_alone():
    from annealrbm.metrics.ais import combine_starts

    value, error = combine_starts([(10.0, 0.3), (10.4, 0.3)])
    assert value == pytest.approx(10.2) and error == pytest.approx(0.3 / np.sqrt(2))
    assert combine_starts([(10.0, 0.1), (12.0, 0.1)]) == (12.0, 0.1)  # the data start missed mass
    assert combine_starts([(10.0, 0.1)]) == (10.0, 0.1)
