import dimod
import numpy as np
import pytest

from annealrbm import RBM
from annealrbm.models.bqm import sampleset_to_states
from annealrbm.metrics import all_binary_states
from helpers import brute_force_joint, random_rbm


def test_bqm_energy_equals_rbm_energy_on_random_states(rng):
    rbm = random_rbm(13, 7, seed=1)
    visible = (rng.random((200, 13)) < 0.5).astype(float)
    hidden = (rng.random((200, 7)) < 0.5).astype(float)
    bqm = rbm.to_bqm()
    assert bqm.vartype is dimod.BINARY
    assert list(bqm.variables) == list(range(20))  # visible first, then hidden
    samples = np.hstack([visible, hidden])
    np.testing.assert_allclose(bqm.energies((samples, range(20))), rbm.energy(visible, hidden), rtol=0, atol=1e-12)
    np.testing.assert_allclose(rbm.to_bqm(beta=2.5).energies((samples, range(20))), 2.5 * rbm.energy(visible, hidden), atol=1e-11)


def test_bqm_coefficients_follow_the_sign_convention():
    rbm = random_rbm(3, 2, seed=2)
    bqm = rbm.to_bqm()
    assert bqm.linear[1] == pytest.approx(-rbm.visible_bias[1])
    assert bqm.linear[3 + 1] == pytest.approx(-rbm.hidden_bias[1])
    assert bqm.quadratic[(2, 3 + 1)] == pytest.approx(-rbm.W[2, 1])
    assert bqm.num_interactions == 6  # bipartite: no visible-visible or hidden-hidden couplings


def test_sampleset_round_trip_including_spin_and_occurrences():
    rbm = random_rbm(4, 3, seed=3)
    states = np.array([[1, 0, 1, 1, 0, 1, 0], [0, 0, 1, 0, 1, 1, 1]])
    order = [6, 2, 0, 5, 1, 4, 3]  # shuffled labels: the conversion must reorder columns
    binary = dimod.SampleSet.from_samples((states[:, order], order), dimod.BINARY, energy=[0, 0], num_occurrences=[2, 1])
    visible, hidden = rbm.states_from_sampleset(binary)
    np.testing.assert_array_equal(visible, states[[0, 0, 1], :4])
    np.testing.assert_array_equal(hidden, states[[0, 0, 1], 4:])
    spin = dimod.SampleSet.from_samples((2 * states - 1, range(7)), dimod.SPIN, energy=[0, 0])
    visible, hidden = sampleset_to_states(spin, 4, 3)
    np.testing.assert_array_equal(np.hstack([visible, hidden]), states)
    visible, hidden = rbm.astype(np.float32).states_from_sampleset(binary)  # in the model's dtype
    assert visible.dtype == hidden.dtype == np.float32 and rbm.states_from_sampleset(binary)[0].dtype == np.float64
    np.testing.assert_array_equal(visible, states[[0, 0, 1], :4])


def test_sampleset_with_other_labels_is_rejected():
    sampleset = dimod.SampleSet.from_samples(([[0, 1]], ["a", "b"]), dimod.BINARY, energy=[0])
    with pytest.raises(ValueError, match="variables do not match"):
        sampleset_to_states(sampleset, 1, 1)


def test_free_energy_and_conditionals_match_enumeration():
    rbm = random_rbm(4, 5, seed=4)
    visible, hidden, probs, log_z = brute_force_joint(rbm)
    all_visible = all_binary_states(4)
    # p(v) = sum_h p(v, h) = exp(-F(v)) / Z
    marginal = np.array([probs[(visible == v).all(axis=1)].sum() for v in all_visible])
    np.testing.assert_allclose(np.exp(-rbm.free_energy(all_visible) - log_z), marginal, rtol=1e-10)
    # p(h_j = 1 | v) from the joint
    for v in all_visible[[0, 5, 11, 15]]:
        rows = (visible == v).all(axis=1)
        expected = (probs[rows] @ hidden[rows]) / probs[rows].sum()
        np.testing.assert_allclose(rbm.hidden_probs(v)[0], expected, rtol=1e-10)
    for h in all_binary_states(5)[[0, 9, 31]]:
        rows = (hidden == h).all(axis=1)
        expected = (probs[rows] @ visible[rows]) / probs[rows].sum()
        np.testing.assert_allclose(rbm.visible_probs(h)[0], expected, rtol=1e-10)


def test_sampling_frequencies_follow_the_conditionals(rng):
    rbm = random_rbm(6, 4, seed=5)
    v = np.array([1, 0, 1, 1, 0, 1.0])
    draws = rbm.sample_hidden(np.repeat(v[None], 40000, axis=0), rng)
    np.testing.assert_allclose(draws.mean(axis=0), rbm.hidden_probs(v)[0], atol=0.012)
    h = np.array([0, 1, 1, 0.0])
    draws = rbm.sample_visible(np.repeat(h[None], 40000, axis=0), rng)
    np.testing.assert_allclose(draws.mean(axis=0), rbm.visible_probs(h)[0], atol=0.012)


@pytest.mark.parametrize("dtype, atol", [(np.float64, 2.3e-16), (np.float32, 1.2e-7)])
def test_fast_sigmoid_is_within_its_stated_error_of_expit(dtype, atol):
    from scipy.special import expit

    from annealrbm.models.rbm import _fast_sigmoid

    logits = np.concatenate([np.linspace(-120, 120, 400_001), [-np.inf, np.inf]]).astype(dtype)
    probs = _fast_sigmoid(logits.copy())
    assert probs.dtype == dtype
    assert probs.min() == 0 and probs.max() == 1
    np.testing.assert_allclose(probs, expit(logits.astype(np.float64)), rtol=0, atol=atol)
    assert np.all(np.diff(probs[:-2]) >= 0)  # monotone: no draw flips order


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sampling_with_saturated_conditionals_is_exact_and_silent(dtype):
    rbm = RBM.from_arrays(np.array([[1000.0, -1000.0, 0.0]]), [0.0], [0.0, 0.0, 0.0]).astype(dtype)
    rng = np.random.default_rng(0)
    with np.errstate(all="raise"):  # no overflow warning from exp(1000)
        hidden = rbm.sample_hidden(np.ones((20000, 1), dtype=dtype), rng)
    assert hidden.dtype == dtype
    assert hidden[:, 0].all() and not hidden[:, 1].any()
    assert abs(hidden[:, 2].mean() - 0.5) < 0.015


def test_free_energy_is_stable_for_large_weights():
    rbm = random_rbm(5, 3, seed=6, scale=400.0)
    values = rbm.free_energy(all_binary_states(5))
    assert np.all(np.isfinite(values))
    assert np.all(np.isfinite(rbm.hidden_probs(all_binary_states(5))))


def test_save_load_round_trip_is_exact(tmp_path):
    rbm = random_rbm(9, 4, seed=7)
    path = rbm.save(tmp_path / "model.npz")
    loaded = RBM.load(path)
    np.testing.assert_array_equal(loaded.W, rbm.W)
    np.testing.assert_array_equal(loaded.visible_bias, rbm.visible_bias)
    np.testing.assert_array_equal(loaded.hidden_bias, rbm.hidden_bias)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left behind


def test_load_never_unpickles(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    path = tmp_path / "evil.npz"
    np.savez(path, format=np.array("annealrbm.RBM"), format_version=np.array(1),
             W=np.array([Boom()], dtype=object), visible_bias=np.zeros(1), hidden_bias=np.zeros(1))
    with pytest.raises(ValueError, match="not a valid RBM model file"):
        RBM.load(path)


def test_load_rejects_truncated_and_foreign_files(tmp_path):
    rbm = random_rbm(3, 2, seed=8)
    good = rbm.save(tmp_path / "m.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="not a valid RBM model file"):
        RBM.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "other.npz", W=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="missing"):
        RBM.load(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="not found"):
        RBM.load(tmp_path / "absent.npz")


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 5)), "has 5 columns"),
        (np.full((2, 4), 0.5), r"outside \{0, 1\}"),
        (np.array([[0, 1, np.nan, 1]]), "NaN"),
        (np.array([[0, 1, np.inf, 1]]), "NaN or infinite"),
        (np.zeros((0, 4)), "empty"),
        (np.zeros((2, 2, 4)), "2-D"),
        ([["a", "b", "c", "d"]], "numeric"),
    ],
)
def test_bad_states_raise_value_errors_naming_the_problem(bad, message):
    rbm = RBM(4, 3, seed=0)
    with pytest.raises(ValueError, match=message):
        rbm.free_energy(bad)
    with pytest.raises(ValueError, match=message):
        rbm.hidden_probs(bad)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="n_hidden"):
        RBM(4, 0)
    with pytest.raises(ValueError, match="NaN"):
        RBM.from_arrays(np.full((2, 2), np.nan), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="do not match"):
        RBM.from_arrays(np.zeros((2, 2)), np.zeros(3), np.zeros(2))
    for scale in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="weight_scale must be a finite number >= 0"):
            RBM(4, 2, weight_scale=scale)
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        RBM(4, 2, dtype=int)
