"""The RBM as one implementation of the EnergyModel interface: its generic methods agree with its
fused paths and with enumeration, and an RBM trained through the generic path (the one every
other model takes) matches the fused path."""
import numpy as np
import pytest

from annealrbm import RBM, BoltzmannMachine, DBM, Trainer, metrics
from annealrbm.data.datasets import bars_and_stripes
from annealrbm.gradient.estimators import centred, positive_statistics
from annealrbm.metrics import all_binary_states
from annealrbm.models.base import EnergyModel
from helpers import brute_force_joint, random_rbm


class GenericRBM(RBM):
    """An RBM that declines its fused paths, so everything reaches it through EnergyModel."""

    two_layer_fast_paths = False


def test_every_model_is_an_energy_model():
    for model in (RBM(4, 3, seed=0), BoltzmannMachine.fully_connected(3, 2, seed=0), DBM([4, 3, 2], seed=0)):
        assert isinstance(model, EnergyModel)
    with pytest.raises(TypeError):
        EnergyModel()  # the interface itself has no implementation


def test_rbm_energies_statistics_and_graph_view_agree_with_its_own_arrays():
    rbm = random_rbm(5, 4, seed=1)
    states = all_binary_states(9)
    visible, hidden = states[:, :5], states[:, 5:]
    np.testing.assert_allclose(rbm.energies(states), rbm.energy(visible, hidden), atol=1e-12)
    np.testing.assert_allclose(rbm.energies(states), rbm.to_bqm().energies((states, range(9))), atol=1e-12)
    weights = np.random.default_rng(0).dirichlet(np.ones(len(states)))
    cross, visible_mean, hidden_mean = rbm.sufficient_statistics(states, weights)
    np.testing.assert_allclose(cross, np.einsum("n,ni,nj->ij", weights, visible, hidden), atol=1e-12)
    np.testing.assert_allclose(visible_mean, weights @ visible, atol=1e-12)
    np.testing.assert_allclose(hidden_mean, weights @ hidden, atol=1e-12)
    batch = visible[::7]
    reference = positive_statistics(rbm, batch)
    for mine, theirs in zip(rbm.positive_statistics(batch), (reference.visible_hidden, reference.visible, reference.hidden)):
        np.testing.assert_allclose(mine, theirs, atol=1e-12)
    pairs, units = rbm.to_graph_view(rbm.parameter_arrays().values())
    bqm = rbm.to_bqm()
    np.testing.assert_allclose(pairs, [-bqm.quadratic[tuple(edge)] for edge in rbm.edges.tolist()], atol=1e-12)
    np.testing.assert_allclose(units, [-bqm.linear[unit] for unit in range(9)], atol=1e-12)
    for back, original in zip(rbm.from_graph_view(pairs, units), rbm.parameter_arrays().values()):
        np.testing.assert_array_equal(back, original)
    assert rbm.max_abs_field() == pytest.approx(max(
        abs(bqm.linear[unit]) + sum(abs(bias) for _, bias in bqm.iter_neighborhood(unit)) for unit in bqm.variables))


def test_graph_view_centring_equals_the_rbm_formula():
    rbm = random_rbm(6, 4, seed=2)
    rng = np.random.default_rng(3)
    gradient = [rng.standard_normal((6, 4)), rng.standard_normal(6), rng.standard_normal(4)]
    visible_offset, hidden_offset = rng.random(6), rng.random(4)
    expected = centred(tuple(array.copy() for array in gradient), visible_offset, hidden_offset)
    generic = rbm.centred_gradient([array.copy() for array in gradient], np.concatenate([visible_offset, hidden_offset]))
    for mine, theirs in zip(generic, expected):
        np.testing.assert_allclose(mine, theirs, atol=1e-12)


def test_rbm_block_gibbs_samples_the_joint_distribution():
    rbm = random_rbm(4, 3, seed=4)
    visible, hidden, probabilities, _ = brute_force_joint(rbm)
    rng = np.random.default_rng(5)
    states = (rng.random((20000, 7)) < 0.5).astype(np.float64)
    rbm.block_gibbs(states, 30, rng)
    codes = states @ (1 << np.arange(7))
    exact_codes = np.hstack([visible, hidden]) @ (1 << np.arange(7))
    empirical = np.bincount(codes.astype(int), minlength=128)[exact_codes.astype(int)] / len(states)
    assert 0.5 * np.abs(empirical - probabilities).sum() < 0.03


def test_rbm_trained_through_the_generic_path_matches_the_fused_path():
    data = bars_and_stripes(3)
    models = [RBM(9, 4, seed=0), GenericRBM(9, 4, seed=0)]
    for model in models:
        Trainer(model, backend="exact", epochs=30, seed=0, restart_units=False, progress=False, evaluate=False).fit(data)
    for fused, generic in zip(models[0].parameter_arrays().values(), models[1].parameter_arrays().values()):
        np.testing.assert_allclose(generic, fused, atol=1e-8)


@pytest.mark.parametrize("backend", ["pcd", "sa"])
def test_generic_path_trains_an_rbm_with_sampling_backends(backend):
    data = bars_and_stripes(3)
    fused, generic = RBM(9, 6, seed=1), GenericRBM(9, 6, seed=1)
    options = {"num_sweeps": 200} if backend == "sa" else {}
    for model in (fused, generic):
        Trainer(model, backend=backend, epochs=200, seed=1, progress=False, evaluate=False,
                backend_options=options).fit(data)
    fused_ll, generic_ll = (metrics.log_likelihood(RBM.from_arrays(**m.parameter_arrays()), data) for m in (fused, generic))
    assert generic_ll > -np.log(14) - 0.3  # bars and stripes 3x3: 14 patterns
    assert abs(generic_ll - fused_ll) < 0.2


def test_metrics_reach_an_rbm_through_the_generic_interface():
    rbm = random_rbm(6, 4, seed=6)
    generic = GenericRBM.from_arrays(**rbm.parameter_arrays())
    exact = metrics.log_partition_function(rbm)
    assert metrics.log_partition_function(generic) == pytest.approx(exact, abs=1e-9)  # enumeration on the graph view
    np.testing.assert_allclose(generic.coupling_matrix()[:6, 6:], rbm.W)
    log_z, error = metrics.ais_log_partition_function(generic, num_chains=200, num_betas=2000, seed=0)  # AIS on any graph
    assert abs(log_z - exact) < max(0.1, 4 * error)


def test_max_abs_field_from_the_graph_view_equals_the_bqm_and_the_rbm_override():
    rng = np.random.default_rng(7)
    bm = BoltzmannMachine.semi_restricted(5, 3, seed=7)
    bm.couplings[:] = rng.standard_normal(len(bm.edges))
    bm.biases[:] = rng.standard_normal(bm.n_units)
    bqm = bm.to_bqm()
    assert bm.max_abs_field() == pytest.approx(max(
        abs(bqm.linear[unit]) + sum(abs(bias) for _, bias in bqm.iter_neighborhood(unit)) for unit in bqm.variables))
    rbm = random_rbm(6, 4, seed=8)
    assert EnergyModel.max_abs_field(rbm) == pytest.approx(rbm.max_abs_field())
