"""Property-based tests of the model's identities (hypothesis), including weights up to +-100."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import logsumexp

from annealrbm import RBM, metrics
from annealrbm.metrics import all_binary_states

finite = st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False)


@st.composite
def rbms(draw, max_visible=6, max_hidden=5):
    n_visible = draw(st.integers(1, max_visible))
    n_hidden = draw(st.integers(1, max_hidden))
    return RBM.from_arrays(
        draw(arrays(np.float64, (n_visible, n_hidden), elements=finite)),
        draw(arrays(np.float64, n_visible, elements=finite)),
        draw(arrays(np.float64, n_hidden, elements=finite)),
    )


def joint_log_weights(rbm):
    """-E(v, h) for every (v, h): rows are visible states, columns hidden states."""
    visible, hidden = all_binary_states(rbm.n_visible), all_binary_states(rbm.n_hidden)
    return (visible @ rbm.visible_bias)[:, None] + (hidden @ rbm.hidden_bias)[None, :] + visible @ rbm.W @ hidden.T


SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(rbms())
def test_free_energy_is_the_hidden_marginal_of_the_energy(rbm):
    expected = -logsumexp(joint_log_weights(rbm), axis=1)
    free_energy = rbm.free_energy(all_binary_states(rbm.n_visible))
    assert np.all(np.isfinite(free_energy))
    np.testing.assert_allclose(free_energy, expected, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(rbms())
def test_log_partition_function_matches_brute_force(rbm):
    log_z = metrics.log_partition_function(rbm)
    assert np.isfinite(log_z)
    np.testing.assert_allclose(log_z, logsumexp(joint_log_weights(rbm)), rtol=1e-10, atol=1e-9)


@SETTINGS
@given(rbms())
def test_conditionals_are_the_joint_normalised_over_one_layer(rbm):
    log_weights = joint_log_weights(rbm)
    hidden = all_binary_states(rbm.n_hidden)
    visible = all_binary_states(rbm.n_visible)
    p_h_given_v = np.exp(log_weights - logsumexp(log_weights, axis=1, keepdims=True))
    p_v_given_h = np.exp(log_weights - logsumexp(log_weights, axis=0, keepdims=True))
    hidden_probs = rbm.hidden_probs(visible)
    visible_probs = rbm.visible_probs(hidden)
    for probs in (hidden_probs, visible_probs):
        assert np.all((probs >= 0) & (probs <= 1))
    np.testing.assert_allclose(hidden_probs, p_h_given_v @ hidden, atol=1e-9)
    np.testing.assert_allclose(visible_probs, p_v_given_h.T @ visible, atol=1e-9)


@SETTINGS
@given(rbms(), st.integers(0, 2**32 - 1))
def test_bqm_energy_equals_the_model_energy(rbm, seed):
    rng = np.random.default_rng(seed)
    visible = (rng.random((16, rbm.n_visible)) < 0.5).astype(float)
    hidden = (rng.random((16, rbm.n_hidden)) < 0.5).astype(float)
    states = np.hstack([visible, hidden])
    bqm_energies = rbm.to_bqm().energies((states, range(states.shape[1])))
    np.testing.assert_allclose(bqm_energies, rbm.energy(visible, hidden), rtol=1e-12, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(rbms())
def test_save_load_round_trip_is_exact(tmp_path_factory, rbm):
    path = tmp_path_factory.mktemp("models") / "model.npz"
    loaded = RBM.load(rbm.save(path))
    for name in ("W", "visible_bias", "hidden_bias"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(rbm, name))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weights_of_plus_minus_100_give_finite_everything(dtype):
    rng = np.random.default_rng(0)
    rbm = RBM.from_arrays(100 * rng.choice([-1.0, 1.0], (12, 6)), 100 * rng.choice([-1.0, 1.0], 12),
                          100 * rng.choice([-1.0, 1.0], 6)).astype(dtype)
    states = all_binary_states(12)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for values in (rbm.hidden_probs(states), rbm.visible_probs(all_binary_states(6)), rbm.free_energy(states),
                       rbm.sample_hidden(states, rng), rbm.sample_visible(all_binary_states(6), rng)):
            assert np.all(np.isfinite(values))
        log_z = metrics.log_partition_function(rbm)
        ais_log_z, error = metrics.ais_log_partition_function(rbm.astype(np.float64), states[:50], num_betas=300, seed=0)
        log_likelihood = metrics.log_likelihood(rbm, states[:50], log_z)
    assert np.isfinite(log_z) and np.isfinite(ais_log_z) and np.isfinite(error) and np.isfinite(log_likelihood)
    assert ais_log_z <= log_z + 1.0  # AIS is biased low, never wildly high
