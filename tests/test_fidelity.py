import json

import numpy as np
import pytest
from dwave.samplers import TreeDecompositionSampler

from annealrbm import backends, metrics
from annealrbm.cli import main
from helpers import exactly_trained, random_rbm


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_effective_beta_recovers_the_temperature_of_exact_samples(beta):
    rbm = random_rbm(12, 6, seed=70, scale=0.7)
    sampleset = TreeDecompositionSampler().sample(rbm.to_bqm(), beta=beta, num_reads=3000, seed=1)
    visible, hidden = rbm.states_from_sampleset(sampleset)
    estimate, error = metrics.effective_beta(rbm, visible, hidden)
    assert 0 < error < 0.1 * beta
    assert estimate == pytest.approx(beta, abs=4 * error)


def test_an_exact_sampler_is_faithful_and_a_hot_or_frozen_one_is_not():
    rbm = exactly_trained(905)
    exact = metrics.sampler_fidelity(rbm, "exact", seed=1)
    # 188 statistics of 4000 independent samples: the largest z-score is about 3
    assert exact["max_z"] < 5 and exact["max_abs_error"] < 0.03 and exact["num_samples"] == 4000
    assert exact["beta_eff"] == pytest.approx(1.0, abs=4 * exact["beta_eff_error"])
    assert exact["kl_visible"] < exact["kl_visible_exact_samples"] + 0.02
    assert exact["verdict"].startswith("faithful")
    hot = metrics.sampler_fidelity(rbm, "bipartite-sa", seed=1, beta=0.6, population_annealing=False)
    assert hot["beta_eff"] == pytest.approx(0.6, abs=0.1) and hot["max_z"] > 10
    assert hot["verdict"].startswith("wrong temperature: the samples follow beta = 0.6")
    # a model whose modes a plain anneal freezes at clearly wrong weights (measured z-score 57)
    rbm = exactly_trained(707)
    exact = metrics.sampler_fidelity(rbm, "exact", seed=1)
    frozen = metrics.sampler_fidelity(rbm, "bipartite-sa", seed=1, num_reads=4000, population_annealing=False)
    assert frozen["beta_eff"] == pytest.approx(1.0, abs=0.1)  # right temperature within the modes...
    assert frozen["max_z"] > 3 * exact["max_z"] and frozen["kl_visible"] > exact["kl_visible"] + 0.01  # ...wrong weights
    assert frozen["verdict"].startswith("right temperature within the modes") and exact["verdict"].startswith("faithful")


def test_fidelity_needs_data_for_cd_and_weighs_weighted_samples():
    rbm = exactly_trained(905)
    with pytest.raises(ValueError, match="pass the training data"):
        metrics.sampler_fidelity(rbm, "cd")
    report = metrics.sampler_fidelity(rbm, "cd", num_samples=500, seed=0, data=np.eye(20)[:4])
    assert report["num_samples"] == 500 and report["calls"] == 1
    pcd = backends.make("pcd", num_chains=400)
    report = metrics.sampler_fidelity(rbm, pcd, num_samples=800, seed=0)
    assert report["burn_in_calls"] == 100 and report["calls"] == 2  # a fresh persistent backend settles first
    assert metrics.sampler_fidelity(rbm, pcd, num_samples=400, seed=0)["burn_in_calls"] == 0


def test_large_models_get_beta_eff_only():
    rbm = random_rbm(30, 25, seed=71, scale=0.1)
    report = metrics.sampler_fidelity(rbm, "bipartite-sa", num_samples=300, seed=0, num_sweeps=50)
    assert report["max_z"] is None and report["kl_visible"] is None
    assert report["beta_eff"] == pytest.approx(1.0, abs=0.3)
    assert report["verdict"].startswith("beta_eff about 1; the weights of the modes are not measured")


def test_diagnose_prints_a_table_or_json(tmp_path, capsys):
    path = exactly_trained(905).save(tmp_path / "model.npz")
    assert main(["diagnose", "--model", str(path), "--backend", "bipartite-sa", "-o", "num_reads=1000"]) == 0
    out = capsys.readouterr().out
    assert "max z-score" in out and "beta_eff" in out and "KL(sampled || exact)" in out
    assert "verdict: faithful" in out  # population annealing on an exactly trained model
    assert main(["diagnose", "--model", str(path), "--backend", "exact", "--num-samples", "500", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["num_samples"] == 500 and report["max_z"] < 6
    assert main(["diagnose", "--model", str(path), "--backend", "cd"]) == 2
    assert "training data" in capsys.readouterr().err
    assert main(["diagnose", "--model", str(path), "--backend", "nope"]) == 2
