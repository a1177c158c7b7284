import itertools

import numpy as np
import pytest
from dwave.samplers import TreeDecompositionSampler

from annealrbm import RBM, metrics
from annealrbm.metrics import likelihood
from helpers import brute_force_joint, random_rbm


@pytest.mark.parametrize("shape", [(5, 3), (3, 6), (6, 6)])
def test_log_partition_function_equals_brute_force(shape):
    rbm = random_rbm(*shape, seed=sum(shape))
    _, _, _, log_z = brute_force_joint(rbm)
    assert metrics.log_partition_function(rbm) == pytest.approx(log_z, abs=1e-10)


@pytest.mark.parametrize("shape", [(20, 8), (9, 17), (30, 12)])
def test_log_partition_function_equals_tree_decomposition(shape):
    rbm = random_rbm(*shape, seed=shape[0], scale=0.7)
    sampleset = TreeDecompositionSampler().sample(rbm.to_bqm(), num_reads=1, marginals=False)
    reference = float(sampleset.info["log_partition_function"])
    assert metrics.log_partition_function(rbm) == pytest.approx(reference, abs=1e-9)


def test_chunked_enumeration_agrees_with_a_single_chunk(monkeypatch):
    rbm = random_rbm(40, 12, seed=3, scale=0.3)
    whole = metrics.log_partition_function(rbm)
    monkeypatch.setattr(likelihood, "_CHUNK_ELEMENTS", 4000)  # forces ~40 chunks, run on threads
    assert metrics.log_partition_function(rbm) == pytest.approx(whole, abs=1e-9)


def test_log_likelihood_and_kl_equal_brute_force():
    rbm = random_rbm(6, 4, seed=9)
    visible, _, probs, _ = brute_force_joint(rbm)
    data = np.array([[1, 0, 1, 1, 0, 0], [1, 0, 1, 1, 0, 0], [0, 1, 1, 0, 0, 1.0]])
    p_model = np.array([probs[(visible == row).all(axis=1)].sum() for row in data])
    assert metrics.log_likelihood(rbm, data) == pytest.approx(np.mean(np.log(p_model)), abs=1e-10)
    p_data = np.array([2 / 3, 1 / 3])
    expected_kl = np.sum(p_data * np.log(p_data / p_model[1:]))
    assert metrics.kl_divergence(rbm, data) == pytest.approx(expected_kl, abs=1e-10)


@pytest.mark.parametrize("shape", [(5, 4), (3, 7)])
def test_exact_moments_equal_brute_force(shape):
    rbm = random_rbm(*shape, seed=11)
    visible, hidden, probs, _ = brute_force_joint(rbm)
    moments = metrics.exact_moments(rbm)
    np.testing.assert_allclose(moments["visible"], probs @ visible, atol=1e-12)
    np.testing.assert_allclose(moments["hidden"], probs @ hidden, atol=1e-12)
    np.testing.assert_allclose(moments["visible_hidden"], (visible * probs[:, None]).T @ hidden, atol=1e-12)


def test_log_z_of_an_uncoupled_model_is_analytic():
    rbm = RBM.from_arrays(np.zeros((30, 10)), np.full(30, 0.5), np.full(10, -1.0))
    expected = 30 * np.logaddexp(0, 0.5) + 10 * np.logaddexp(0, -1.0)
    assert metrics.log_partition_function(rbm) == pytest.approx(expected, abs=1e-10)


def test_too_large_for_enumeration_says_what_to_use():
    rbm = RBM(40, 30, seed=0)
    with pytest.raises(ValueError, match="AIS"):
        metrics.log_partition_function(rbm)


def test_reconstruction_metrics_of_a_model_that_copies_its_input(rng):
    # W = 20 I, biases -10: h = v and v' = h with probability 1 - sigmoid(-10).
    rbm = RBM.from_arrays(20 * np.eye(6), np.full(6, -10.0), np.full(6, -10.0))
    data = (rng.random((50, 6)) < 0.5).astype(float)
    assert metrics.reconstruction_accuracy(rbm, data, rng) > 0.999
    assert metrics.reconstruction_error(rbm, data, rng) < 1e-6
    always_on = RBM.from_arrays(np.zeros((6, 6)), np.full(6, 30.0), np.zeros(6))
    # v' = 1 whatever the input: exactly the on-bits are right
    assert metrics.reconstruction_accuracy(always_on, data, rng) == pytest.approx(data.mean(), abs=1e-12)
    assert metrics.reconstruction_error(always_on, data, rng) == pytest.approx(1 - data.mean(), abs=1e-9)


def test_reconstruction_accuracy_in_blocks_matches_its_exact_expectation(monkeypatch, rng):
    noise = random_rbm(6, 4, seed=1, scale=0.5)  # a noisy copier of the first four bits: accuracy far from 1/2
    rbm = RBM.from_arrays(3 * np.eye(6, 4) + noise.W, noise.visible_bias - 1.5, noise.hidden_bias - 1.5)
    data = (rng.random((30, 6)) < 0.5).astype(float)
    tiled = np.repeat(data, 5, axis=0)
    one_pass = np.mean(rbm.reconstruct(tiled, np.random.default_rng(7)) == tiled)
    assert metrics.reconstruction_accuracy(rbm, data, np.random.default_rng(7)) == one_pass  # one block: same draws
    # exact E[accuracy]: sum over the 16 hidden states of p(h | v) P(v'_i = v_i | h)
    hidden = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)
    p_h = np.prod(np.where(hidden[None], rbm.hidden_probs(data)[:, None], 1 - rbm.hidden_probs(data)[:, None]), axis=2)
    p_v = rbm.visible_probs(hidden)  # (16, 6)
    agree = data[:, None] * p_v[None] + (1 - data[:, None]) * (1 - p_v[None])  # (30, 16, 6)
    expected = np.mean(np.einsum("nk,nki->ni", p_h, agree))
    monkeypatch.setattr(likelihood, "RECONSTRUCTION_BLOCK_ROWS", 12)  # 2 examples per block: 15 blocks
    estimates = [metrics.reconstruction_accuracy(rbm, data, np.random.default_rng(seed)) for seed in range(200)]
    assert np.mean(estimates) == pytest.approx(expected, abs=0.004)
    assert 0.55 < expected < 0.95
