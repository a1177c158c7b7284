"""Boltzmann machines beyond the RBM (annealrbm.models), checked against brute-force enumeration."""
import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from annealrbm import DBM, DBN, RBM, BoltzmannMachine, Trainer, load_model, metrics
from annealrbm.data import datasets
from annealrbm.gradient.estimators import Gradient, centred, centred_on_graph
from annealrbm.models import enumeration
from annealrbm.backends import ExactSampler


def randomised(model, seed: int = 0, scale: float = 1.0):
    """The model with O(1) random couplings and biases: far from uniform, so mistakes show."""
    rng = np.random.default_rng(seed)
    model.couplings[...] = scale * rng.standard_normal(len(model.couplings))
    model.biases[...] = scale * rng.standard_normal(model.n_units)
    return model


def all_states(n_units: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=n_units)))


def brute_force(model):
    """(states, probabilities, log Z) by enumerating every state of every unit."""
    states = all_states(model.n_units)
    log_weights = -model.energy(states)
    log_z = logsumexp(log_weights)
    return states, np.exp(log_weights - log_z), log_z


MODELS = {
    "fully connected": lambda: BoltzmannMachine.fully_connected(5, 3),
    "semi-restricted": lambda: BoltzmannMachine.semi_restricted(6, 3),
    "dbm": lambda: DBM([4, 3, 2]),
    "any graph": lambda: BoltzmannMachine(4, 3, [(0, 4), (1, 4), (2, 5), (5, 6), (0, 1), (3, 6)]),
    "rbm graph": lambda: BoltzmannMachine(4, 3, [(v, 4 + h) for v in range(4) for h in range(3)]),
}


@pytest.mark.parametrize("kind", MODELS)
def test_log_partition_function_and_likelihood_equal_brute_force(kind):
    model = randomised(MODELS[kind](), seed=1)
    states, probabilities, log_z = brute_force(model)
    assert metrics.log_partition_function(model) == pytest.approx(log_z, abs=1e-10)
    visible = states[:, :model.n_visible]
    marginal = np.array([probabilities[(visible == v).all(axis=1)].sum() for v in visible[:10]])
    assert np.allclose(np.exp(-model.free_energy(visible[:10]) - log_z), marginal, atol=1e-12)
    assert metrics.log_likelihood(model, visible[:10]) == pytest.approx(np.log(marginal).mean(), abs=1e-10)


@pytest.mark.parametrize("kind", MODELS)
def test_positive_statistics_equal_the_clamped_expectations(kind):
    model = randomised(MODELS[kind](), seed=2)
    states, _, _ = brute_force(model)
    batch = states[::7, :model.n_visible][:5]
    expected = []
    for v in batch:
        clamped = states[(states[:, :model.n_visible] == v).all(axis=1)]
        weights = np.exp(-model.energy(clamped))
        expected.append(model.sufficient_statistics(clamped, weights / weights.sum()))
    pairs, units = model.positive_statistics(batch)
    assert np.allclose(pairs, np.mean([e[0] for e in expected], axis=0), atol=1e-12)
    assert np.allclose(units, np.mean([e[1] for e in expected], axis=0), atol=1e-12)


def test_mean_field_is_used_for_many_interacting_hidden_units_and_is_close_when_couplings_are_weak():
    model = randomised(DBM([4, 8, 7]), seed=3, scale=0.1)  # 15 interacting hidden units: mean-field
    batch = all_states(4)
    exact, _ = enumeration.clamped_hidden_statistics(model, batch, np.zeros((0, 2), dtype=np.int64))
    assert np.abs(model.hidden_expectations(batch) - exact).max() < 0.01
    assert model.n_hidden > 12  # the mean-field branch, not enumeration


@pytest.mark.parametrize("kind", MODELS)
def test_bqm_energy_is_the_model_energy_and_fast_energies_agree(kind):
    model = randomised(MODELS[kind](), seed=4)
    states = all_states(model.n_units)
    bqm = model.to_bqm(beta=0.7)
    assert list(bqm.variables) == list(range(model.n_units))
    assert np.allclose(bqm.energies((states.astype(np.int8), range(model.n_units))), 0.7 * model.energy(states))
    assert np.allclose(model.energies(states), model.energy(states))


def test_rbm_graph_matches_the_rbm():
    model = randomised(MODELS["rbm graph"](), seed=5)
    n_v = model.n_visible
    rbm = RBM.from_arrays(model.coupling_matrix()[:n_v, n_v:], model.biases[:n_v], model.biases[n_v:])
    assert metrics.log_partition_function(model) == pytest.approx(metrics.log_partition_function(rbm), abs=1e-10)
    assert model.is_bipartite_rbm_graph


def test_centred_update_on_a_graph_equals_the_rbm_formula():
    rng = np.random.default_rng(6)
    n_v, n_h = 4, 3
    model = BoltzmannMachine(n_v, n_h, [(v, n_v + h) for v in range(n_v) for h in range(n_h)])
    pairs, units = rng.standard_normal(len(model.edges)), rng.standard_normal(model.n_units)
    offsets = rng.random(model.n_units)
    weights = np.zeros((n_v, n_h))
    weights[model.edges[:, 0], model.edges[:, 1] - n_v] = pairs
    expected = centred(Gradient(weights.copy(), units[:n_v].copy(), units[n_v:].copy()), offsets[:n_v], offsets[n_v:])
    got_pairs, got_units = centred_on_graph([pairs.copy(), units.copy()], offsets, model.edges)
    assert np.allclose(got_pairs, expected.weights[model.edges[:, 0], model.edges[:, 1] - n_v])
    assert np.allclose(got_units, np.concatenate([expected.visible, expected.hidden]))


def test_centred_update_is_the_step_in_centred_coordinates():
    """A step dJ, dc in the centred parameters (E = -c.(x - mu) - sum J (x_i - mu_i)(x_j - mu_j))
    moves the uncentred parameters by exactly centred_on_graph's (dJ, db)."""
    model = randomised(BoltzmannMachine.fully_connected(3, 2), seed=7)
    states, probabilities, _ = brute_force(model)
    offsets = np.random.default_rng(8).random(model.n_units)
    data_pairs, data_units = model.sufficient_statistics(states[:5])
    model_pairs, model_units = model.sufficient_statistics(states, probabilities)
    shifted = states - offsets
    i, j = model.edges.T
    centred_pairs = (shifted[:5, i] * shifted[:5, j]).mean(axis=0) - probabilities @ (shifted[:, i] * shifted[:, j])
    centred_units = data_units - model_units
    got_pairs, got_units = centred_on_graph([data_pairs - model_pairs, data_units - model_units], offsets, model.edges)
    assert np.allclose(got_pairs, centred_pairs)
    # uncentred biases b = c - J_sym mu: a step (dJ, dc) changes b by dc - dJ_sym mu
    step = np.zeros((model.n_units, model.n_units))
    step[i, j] = step[j, i] = centred_pairs
    assert np.allclose(got_units, centred_units - step @ offsets)


@pytest.mark.parametrize("kind", ["fully connected", "dbm"])
def test_exact_backend_gives_the_exact_model_expectations(kind):
    model = randomised(MODELS[kind](), seed=9)
    states, probabilities, _ = brute_force(model)
    samples = ExactSampler().sample(model, states[:2, :model.n_visible], np.random.default_rng(0))
    pairs, units = model.sufficient_statistics(states, probabilities)
    assert np.allclose(samples.statistics[0], pairs, atol=1e-10)
    assert np.allclose(samples.statistics[1], units, atol=1e-10)


def test_gibbs_blocks_are_independent_sets_covering_every_unit():
    for kind, make in MODELS.items():
        model = make()
        blocks = model.blocks()
        assert sorted(np.concatenate(blocks).tolist()) == list(range(model.n_units)), kind
        for block in blocks:
            assert not np.isin(model.edges, block).all(axis=1).any(), kind
    assert len(DBM([4, 3, 2, 2]).blocks()) == 2


def test_block_gibbs_samples_the_boltzmann_distribution():
    model = randomised(BoltzmannMachine.fully_connected(3, 2), seed=10, scale=0.7)
    states, probabilities, _ = brute_force(model)
    chains = np.zeros((20000, model.n_units))
    model.block_gibbs(chains, 30, np.random.default_rng(11))
    codes = chains @ (2 ** np.arange(model.n_units)[::-1])
    frequencies = np.bincount(codes.astype(int), minlength=len(states)) / len(chains)
    assert np.abs(frequencies - probabilities).max() < 0.015


@pytest.mark.parametrize("kind", MODELS)
def test_save_and_load_round_trip_with_the_model_type(tmp_path, kind):
    model = randomised(MODELS[kind](), seed=12)
    path = model.save(tmp_path / "model.npz")
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert np.array_equal(loaded.edges, model.edges)
    assert np.array_equal(loaded.couplings, model.couplings) and np.array_equal(loaded.biases, model.biases)


def test_load_refuses_a_tampered_file_and_the_wrong_class(tmp_path):
    model = randomised(DBM([3, 2, 2]), seed=13)
    path = model.save(tmp_path / "dbm.npz")
    with pytest.raises(ValueError, match="dbm"):
        BoltzmannMachine.load(path)
    with np.load(path) as archive:
        arrays = dict(archive)
    arrays["couplings"] = arrays["couplings"] + 1
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="checksum"):
        load_model(tmp_path / "bad.npz")


def test_from_arrays_puts_couplings_in_the_canonical_edge_order():
    model = BoltzmannMachine.from_arrays(2, 1, [(2, 0), (0, 1), (1, 2)], [3.0, 5.0, 7.0], np.zeros(3))
    assert model.edges.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert model.couplings.tolist() == [5.0, 3.0, 7.0]


@pytest.mark.parametrize("edges, message", [([(0, 0)], "self-loops"), ([(0, 9)], "units 0..2"),
                                            ([(0, 1), (1, 0)], "twice"), ([(0.5, 1)], "integer")])
def test_bad_edges_are_refused_with_a_clear_message(edges, message):
    with pytest.raises(ValueError, match=message):
        BoltzmannMachine(2, 1, edges)


def test_hardware_native_model_uses_qubits_and_couplers_of_the_working_graph():
    import dwave.graphs

    graph = dwave.graphs.zephyr_graph(2)
    model = BoltzmannMachine.hardware_native(graph, 10, 6, seed=0)
    assert len(set(model.qubits)) == 16
    for u, v in model.edges:
        assert graph.has_edge(model.qubits[u], model.qubits[v])
    chosen = graph.subgraph(model.qubits)
    assert len(model.edges) == chosen.number_of_edges() > 16


def test_backends_for_rbms_only_are_refused_for_other_models():
    with pytest.raises(ValueError, match="RBMs only"):
        Trainer(BoltzmannMachine.fully_connected(3, 2), backend="bipartite-sa")


BARS_AND_STRIPES_3 = datasets.bars_and_stripes(3)


def final_nll(model, backend: str, data: np.ndarray = BARS_AND_STRIPES_3, seed: int = 0) -> float:
    Trainer(model, backend=backend, epochs=200, seed=seed, progress=False, evaluate=False).fit(data)
    return -metrics.log_likelihood(model, data)


def test_fully_connected_bm_trained_exactly_is_at_least_as_good_as_the_rbm():
    # measured: fully connected 9+3 2.662 (ln 14 = 2.639), RBM 9x3 4.445-4.460
    fully_connected = final_nll(BoltzmannMachine.fully_connected(9, 3, seed=0), "exact")
    rbm = final_nll(RBM(9, 3, seed=0), "exact")
    assert fully_connected <= rbm
    assert fully_connected <= np.log(14) + 0.1


def test_dbm_trained_exactly_learns_bars_and_stripes():
    # measured: 2.740 and 2.769 for seeds 0 and 1
    assert final_nll(DBM([9, 6, 3], seed=0), "exact") <= np.log(14) + 0.5


@pytest.mark.parametrize("backend", ["pt", "pcd"])
def test_semi_restricted_bm_learns_with_tempering_and_persistent_chains(backend):
    # measured: pt 2.662, pcd (importance-weighted whole states) 2.66 on seeds 0 and 1
    assert final_nll(BoltzmannMachine.semi_restricted(9, 3, seed=1), backend) <= np.log(14) + 0.15


@pytest.mark.slow
def test_semi_restricted_bm_learns_with_long_run_gibbs():
    assert final_nll(BoltzmannMachine.semi_restricted(9, 3, seed=0), "gibbs") <= np.log(14) + 0.15


@pytest.mark.slow
def test_fully_connected_bm_trained_with_sa_is_within_0_3_nats_of_exact():
    exact = final_nll(BoltzmannMachine.fully_connected(9, 3, seed=0), "exact")
    annealed = final_nll(BoltzmannMachine.fully_connected(9, 3, seed=0), "sa")
    assert annealed <= exact + 0.3


def test_dbn_stacks_rbms_and_transforms_and_samples(tmp_path):
    data = datasets.bars_and_stripes(3)
    dbn = DBN([9, 6, 3], seed=0).fit(data, backend="exact", epochs=200)
    features = dbn.transform(data)
    assert features.shape == (14, 3) and np.all((features >= 0) & (features <= 1))
    assert dbn.sample(4, np.random.default_rng(0), gibbs_sweeps=10).shape == (4, 9)
    loaded = load_model(dbn.save(tmp_path / "dbn.npz"))
    assert np.allclose(loaded.transform(data), features)
    # the first layer is an RBM trained on the data: better than its untrained start
    assert metrics.log_likelihood(dbn.rbms[0], data) > metrics.log_likelihood(RBM(9, 6, seed=0), data) + 1


def test_checkpointed_general_model_resumes_bit_identically(tmp_path):
    data = datasets.bars_and_stripes(3)
    whole = BoltzmannMachine.semi_restricted(9, 3, seed=0)
    Trainer(whole, backend="pt", epochs=6, seed=0, progress=False).fit(data)
    first = BoltzmannMachine.semi_restricted(9, 3, seed=0)
    stop_after_three = [lambda record, trainer: record["epoch"] == 3]
    Trainer(first, backend="pt", epochs=6, seed=0, progress=False, checkpoint_dir=tmp_path,
            callbacks=stop_after_three).fit(data)
    assert not np.array_equal(first.couplings, whole.couplings)
    resumed = BoltzmannMachine.semi_restricted(9, 3, seed=0)
    Trainer(resumed, backend="pt", epochs=6, seed=0, progress=False, checkpoint_dir=tmp_path).fit(data, resume=True)
    assert np.array_equal(resumed.couplings, whole.couplings) and np.array_equal(resumed.biases, whole.biases)


@pytest.mark.slow  # a whole training run through the emulated QPU
def test_fully_connected_bm_trains_on_the_emulated_qpu_with_a_clique_embedding(tmp_path):
    import warnings

    from annealrbm.backends.qpu import QPUWarning, mock_qpu

    backend = mock_qpu(num_reads=100, cache_dir=str(tmp_path))
    model = BoltzmannMachine.fully_connected(9, 3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QPUWarning)
        history = Trainer(model, backend=backend, epochs=60, seed=0, progress=False).fit(BARS_AND_STRIPES_3)
    embedding = backend.embeddings_for(model)
    assert len(embedding.embeddings) == 10 and embedding.max_chain_length > 1  # mock_qpu's copies; K12 needs chains
    qubits = [q for copy in embedding.embeddings for chain in copy.values() for q in chain]
    assert len(qubits) == len(set(qubits))  # disjoint
    samples = backend.sample(model, BARS_AND_STRIPES_3, np.random.default_rng(0))
    assert samples.visible.shape == (100 * 10, 9) and samples.info["num_copies"] == 10
    assert 0.8 < history.last["beta_eff"] < 1.25
    assert 0 <= history.last["chain_break_fraction"] < 0.05
    # measured: 2.88 after 100 epochs (exact training: 2.66; untrained: 6.24)
    assert -metrics.log_likelihood(model, BARS_AND_STRIPES_3) < 3.5


def test_hardware_native_bm_embeds_one_qubit_per_unit(tmp_path):
    from annealrbm.backends.qpu import mock_qpu

    backend = mock_qpu(num_reads=50, cache_dir=str(tmp_path))
    model = BoltzmannMachine.hardware_native(backend.sampler, 9, 6, seed=0)
    embedding = backend.embeddings_for(model)
    assert embedding.embeddings == [{unit: (qubit,) for unit, qubit in enumerate(model.qubits)}]
    samples = backend.sample(model, BARS_AND_STRIPES_3, np.random.default_rng(0))
    assert samples.info["chain_break_fraction"] == 0.0 and samples.visible.shape == (50, 9)


@pytest.mark.parametrize("kind", ["fully connected", "dbm", "semi-restricted"])
def test_ais_on_any_graph_agrees_with_the_exact_log_partition_function(kind):
    from annealrbm.metrics.ais import ais_log_partition_function

    model = randomised(MODELS[kind](), seed=14, scale=0.6)
    log_z, error = ais_log_partition_function(model, num_chains=100, num_betas=2000, seed=0)
    exact = metrics.log_partition_function(model)
    assert abs(log_z - exact) < max(4 * error, 0.02), (log_z, exact, error)


@pytest.mark.parametrize("kind", ["fully connected", "dbm", "semi-restricted"])
def test_likelihood_bounds_on_any_graph_bracket_the_exact_likelihood(kind):
    from annealrbm.metrics.ais import reverse_ais_log_partition_function

    model = randomised(MODELS[kind](), seed=16, scale=0.6)
    exact_log_z = metrics.log_partition_function(model)
    states = all_states(model.n_units)
    energies = model.energies(states)
    probs = np.exp(-energies - exact_log_z)
    samples = states[np.random.default_rng(0).choice(len(states), size=200, p=probs / probs.sum())]
    visible = samples[:, :model.n_visible]
    # reverse AIS from exact samples of the model errs high, never far: an upper estimate
    log_z_high, error = reverse_ais_log_partition_function(model, visible, num_betas=2000, seed=1)
    assert exact_log_z - 4 * error - 0.02 < log_z_high < exact_log_z + 0.15, (log_z_high, exact_log_z, error)
    low, high, details = metrics.log_likelihood_bounds(model, visible, seed=0, method="ais", num_betas=2000)
    exact_ll = metrics.log_likelihood(model, visible)
    assert details["method"] == "ais" and low <= high
    assert low - 0.05 < exact_ll < high + 0.05, (low, exact_ll, high)
    assert high - low < 0.1


def test_clamped_bqm_holds_each_examples_conditional_distribution():
    model = randomised(DBM([4, 3, 2]), seed=15)
    batch = all_states(4)[[3, 9]]
    bqm = model.clamped_bqm(batch)
    hidden = all_states(model.n_hidden)
    for row, visible in enumerate(batch):
        labels = row * model.n_hidden + np.arange(model.n_hidden)
        # energies of this example's hidden states (the other example's units at 0) differ from
        # the model's energies of (v, h) by a constant in h
        states = np.zeros((len(hidden), bqm.num_variables))
        states[:, labels] = hidden
        difference = bqm.energies((states, range(bqm.num_variables))) - model.energy(
            np.hstack([np.repeat(visible[None], len(hidden), axis=0), hidden]))
        assert np.allclose(difference, difference[0])


def test_clamped_sampling_with_exact_samples_gives_the_exact_positive_phase_and_trains():
    from annealrbm.backends import ExactSampler

    model = randomised(DBM([4, 3, 2]), seed=16)
    batch = all_states(4)[::3]
    hidden = ExactSampler(num_reads=4000).sample_clamped(model, batch, np.random.default_rng(0))
    assert hidden.shape == (4000, len(batch), model.n_hidden)
    pairs, units = model.positive_statistics_from_samples(batch, hidden)
    exact_pairs, exact_units = model.positive_statistics(batch)
    assert np.abs(pairs - exact_pairs).max() < 0.03 and np.abs(units - exact_units).max() < 0.03
    dbm = DBM([9, 6, 3], seed=0)
    Trainer(dbm, backend="exact", epochs=200, seed=0, progress=False, evaluate=False, clamped_sampling=True).fit(
        BARS_AND_STRIPES_3)
    assert -metrics.log_likelihood(dbm, BARS_AND_STRIPES_3) <= np.log(14) + 0.5  # measured 2.743
    with pytest.raises(ValueError, match="clamped_sampling"):
        Trainer(DBM([9, 6, 3]), backend="pcd", clamped_sampling=True)


def test_clamped_sampling_on_the_emulated_qpu_matches_the_exact_positive_phase(tmp_path):
    import warnings

    from annealrbm.backends.qpu import QPUWarning, mock_qpu

    model = randomised(DBM([4, 3, 2]), seed=16)  # hidden units 4..8 interact across layers
    batch = all_states(4)[::3]  # 6 rows
    backend = mock_qpu(num_reads=500, num_copies=4, cache_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QPUWarning)
        backend.prepare(model, 1, np.random.default_rng(0))  # calibrates the temperature correction
        hidden = backend.sample_clamped(model, batch, np.random.default_rng(1))
    assert hidden.shape == (500, 6, model.n_hidden) and backend.calls == 1 + 2  # calibration, then 4 + 2 rows
    assert len(backend.hidden_embeddings_for(model).embeddings) == 4
    pairs, units = model.positive_statistics_from_samples(batch, hidden)
    exact_pairs, exact_units = model.positive_statistics(batch)
    assert np.abs(pairs - exact_pairs).max() < 0.04 and np.abs(units - exact_units).max() < 0.04  # measured 0.011
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QPUWarning)
        dbm = DBM([9, 6, 3], seed=0)
        history = Trainer(dbm, backend=mock_qpu(num_reads=50, cache_dir=str(tmp_path)), epochs=3, seed=0,
                          progress=False, evaluate=False, clamped_sampling=True).fit(BARS_AND_STRIPES_3)
    assert len(history) == 3 and np.isfinite(dbm.couplings).all()


def test_exact_backend_refuses_a_graph_too_wide_in_one_line():
    from annealrbm.backends import ExactSampler

    with pytest.raises(ValueError, match=r"treewidth <= 25.*'pt'") as refused:
        ExactSampler().sample(BoltzmannMachine.fully_connected(20, 8, seed=0), np.zeros((1, 20)), np.random.default_rng(0))
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("backend", ["pt", "pcd"])
def test_persistent_backends_sample_the_boltzmann_distribution_of_any_graph(backend):
    """Whole-state chains (tempered swaps by energy; PCD's importance weights) against enumeration."""
    from annealrbm.backends import make

    model = randomised(BoltzmannMachine.fully_connected(3, 2), seed=17, scale=0.8)
    states, probabilities, _ = brute_force(model)
    sampler = make(backend, num_chains=4000) if backend == "pcd" else make(backend, num_chains=4000, num_temperatures=4)
    rng = np.random.default_rng(18)
    for _ in range(20):  # burn in
        samples = sampler.sample(model, states[:1, :3], rng)
    drawn = np.hstack([samples.visible, samples.hidden])
    weights = np.full(len(drawn), 1 / len(drawn)) if samples.weights is None else samples.weights
    frequencies = np.bincount((drawn @ (2 ** np.arange(model.n_units)[::-1])).astype(int), weights=weights,
                              minlength=len(states))
    assert np.abs(frequencies - probabilities).max() < 0.02


def test_mean_field_free_energy_bounds_the_exact_one_and_is_exact_without_hidden_couplings():
    from annealrbm.models import enumeration

    visible = all_states(6)
    dbm = randomised(DBM([6, 5, 4]), seed=3, scale=0.8)  # 9 interacting hidden units
    bound, exact = enumeration.mean_field_free_energy(dbm, visible), dbm.free_energy(visible)
    assert np.all(bound >= exact - 1e-9) and np.mean(bound - exact) < 0.3
    weak = randomised(DBM([6, 5, 4]), seed=3, scale=0.2)
    weak_gap = enumeration.mean_field_free_energy(weak, visible) - weak.free_energy(visible)
    assert np.all(weak_gap >= -1e-9) and weak_gap.max() < 0.05  # second order in the couplings: measured 0.026
    semi = randomised(BoltzmannMachine.semi_restricted(6, 4), seed=5)  # q(h | v) is the exact posterior
    np.testing.assert_allclose(enumeration.mean_field_free_energy(semi, visible), semi.free_energy(visible), atol=1e-9)


def test_likelihood_bounds_of_a_dbm_with_too_many_hidden_units_use_the_mean_field_bound(monkeypatch):
    from annealrbm.models import enumeration

    dbm = randomised(DBM([6, 5, 4]), seed=3, scale=0.8)
    data = all_states(6)[::5]
    exact = metrics.log_likelihood(dbm, data)
    monkeypatch.setattr(enumeration, "MAX_HIDDEN_ENUMERATED", 6)  # as if its 9 hidden units were too many
    with pytest.raises(ValueError, match="mean field"):
        dbm.free_energy(data)
    low, high, details = metrics.log_likelihood_bounds(dbm, data, seed=0, method="ais", num_betas=3000)
    assert details["free_energy"] == "mean-field bound"
    assert low <= high <= exact + 0.02 and exact - low < 0.3  # the bound lowers both figures
    low_exact_z, high_exact_z, details = metrics.log_likelihood_bounds(dbm, data, method="exact")
    assert low_exact_z == high_exact_z <= exact and details["free_energy"] == "mean-field bound"
