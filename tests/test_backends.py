import warnings

import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler, TreeDecompositionSampler

from annealrbm import RBM, Trainer, backends, metrics
from annealrbm.data import datasets
from annealrbm.gradient.estimators import negative_statistics
from annealrbm.backends.gibbs import data_jump, free_energy_from_logits
from helpers import exactly_trained, random_rbm


def sample_moments(rbm, samples):
    stats = negative_statistics(rbm, samples.visible, samples.hidden, rao_blackwell=True)
    return stats.visible, stats.hidden, stats.visible_hidden


def assert_moments_close(rbm, got, atol):
    exact = metrics.exact_moments(rbm)
    np.testing.assert_allclose(got[0], exact["visible"], atol=atol)
    np.testing.assert_allclose(got[1], exact["hidden"], atol=atol)
    np.testing.assert_allclose(got[2], exact["visible_hidden"], atol=atol)


def test_registry_lists_describes_and_builds():
    assert backends.available()[:5] == ["cd", "pcd", "gibbs", "sa", "exact"]
    for name in backends.available():
        assert backends.describe(name)
    backend = backends.make("sa", num_reads=7, num_sweeps=11)
    assert backend.sample_kwargs["num_reads"] == 7 and backend.sample_kwargs["num_sweeps"] == 11
    with pytest.raises(ValueError, match="unknown backend 'nope'; choose one of: cd, pcd"):
        backends.make("nope")
    with pytest.raises(ValueError, match="has no option 'num_raeds'"):
        backends.make("sa", num_raeds=3)
    with pytest.raises(ValueError, match="num_reads must be a whole number >= 1"):
        backends.make("sa", num_reads=0)
    with pytest.raises(ValueError, match="k must be"):
        backends.make("cd", k=0)
    with pytest.raises(ValueError, match="persist must be 'visible' .* or 'hidden'"):
        backends.make("pcd", persist="both")


def test_exact_backend_marginals_equal_enumeration(rng):
    rbm = random_rbm(12, 5, seed=21)
    samples = backends.make("exact").sample(rbm, None, rng)
    stats = samples.statistics
    assert_moments_close(rbm, (stats.visible, stats.hidden, stats.visible_hidden), atol=1e-10)
    assert samples.info["sampler_info"]["log_partition_function"] == pytest.approx(metrics.log_partition_function(rbm))


def test_exact_backend_samples_follow_the_boltzmann_distribution(rng):
    rbm = random_rbm(8, 5, seed=22)
    samples = backends.make("exact", num_reads=20000, marginals=False).sample(rbm, None, rng)
    assert samples.statistics is None
    assert samples.visible.shape == (20000, 8) and samples.hidden.shape == (20000, 5)
    # standard error <= 0.5/sqrt(20000) = 0.0035: 0.015 is over 4 standard errors
    assert_moments_close(rbm, sample_moments(rbm, samples), atol=0.015)


def test_exact_backend_refuses_models_too_wide_for_it(rng):
    with pytest.raises(ValueError, match="min\\(n_visible, n_hidden\\) <= 25"):
        backends.make("exact").sample(RBM(30, 30, seed=0), None, rng)


def test_simulated_annealing_ending_at_beta_one_matches_exact_moments(rng):
    rbm = random_rbm(10, 6, seed=23, scale=0.5)
    samples = backends.make("sa", num_reads=4000, num_sweeps=200).sample(rbm, None, rng)
    assert samples.info["seconds"] > 0 and samples.info["num_samples"] == 4000
    assert samples.info["sampler_info"]["beta_range"][1] == 1.0
    assert_moments_close(rbm, sample_moments(rbm, samples), atol=0.03)


def test_simulated_annealing_is_reproducible_from_the_generator():
    rbm = random_rbm(6, 4, seed=24)
    backend = backends.make("sa", num_reads=20, num_sweeps=50)
    first = backend.sample(rbm, None, np.random.default_rng(5)).visible
    second = backend.sample(rbm, None, np.random.default_rng(5)).visible
    np.testing.assert_array_equal(first, second)


def test_long_run_gibbs_matches_exact_moments(rng):
    rbm = random_rbm(10, 6, seed=25, scale=0.5)
    samples = backends.make("gibbs", num_samples=4000, burn_in=100).sample(rbm, None, rng)
    assert samples.visible.shape == (4000, 10)
    assert_moments_close(rbm, sample_moments(rbm, samples), atol=0.03)


def test_pcd_chains_persist_and_converge(rng):
    rbm = random_rbm(10, 6, seed=26, scale=0.5)
    backend = backends.make("pcd", num_chains=4000)
    first = backend.sample(rbm, None, rng)
    np.testing.assert_array_equal(backend.chains, first.visible)
    for _ in range(60):
        samples = backend.sample(rbm, None, rng)
    assert_moments_close(rbm, sample_moments(rbm, samples), atol=0.03)
    backend.reset()
    assert backend.chains is None


@pytest.mark.parametrize("persist", ["visible", "hidden"])
def test_pcd_continues_from_the_states_it_kept(rng, persist):
    # Strong self-copying model (v = h): each update's samples are the states kept by the last.
    rbm = RBM.from_arrays(20 * np.eye(5), np.full(5, -10.0), np.full(5, -10.0))
    backend = backends.make("pcd", num_chains=30, persist=persist)
    previous = backend.sample(rbm, None, rng)
    assert previous.visible.std() > 0.3  # random 0/1 starts
    for _ in range(3):
        samples = backend.sample(rbm, None, rng)
        np.testing.assert_array_equal(samples.visible, previous.visible)
        np.testing.assert_array_equal(samples.hidden_probs.round(), samples.visible)
        np.testing.assert_array_equal(backend.chains, samples.visible)  # v = h here, whichever is kept
        assert (samples.hidden is None) == (persist == "visible")
        previous = samples


@pytest.mark.parametrize("persist", ["visible", "hidden"])
def test_pcd_matches_exact_moments_whichever_layer_it_keeps(rng, persist):
    rbm = random_rbm(10, 6, seed=27, scale=0.5)
    backend = backends.make("pcd", num_chains=4000, persist=persist)
    for _ in range(60):
        samples = backend.sample(rbm, None, rng)
    assert backend.chains.shape == (4000, 10 if persist == "visible" else 6)
    assert_moments_close(rbm, sample_moments(rbm, samples), atol=0.03)


def test_pcd_averaging_over_the_visible_layer_matches_exact_moments(rng):
    rbm = random_rbm(10, 6, seed=29, scale=0.5)
    backend = backends.make("pcd", num_chains=4000, weighted=False, average_over="visible")
    for _ in range(60):
        samples = backend.sample(rbm, None, rng)
    assert samples.hidden_probs is None and set(np.unique(samples.hidden)) == {0.0, 1.0}
    np.testing.assert_array_equal(samples.visible, backend.chains)  # the chains' binary states
    assert samples.visible_probs.min() > 0 and samples.visible_probs.max() < 1
    # E[p(v | h) h^T] over joint samples (v, h) is <v h^T>: the estimator the trainer uses
    probs, hidden = samples.visible_probs, samples.hidden
    assert_moments_close(rbm, (probs.mean(0), hidden.mean(0), probs.T @ hidden / len(hidden)), atol=0.03)
    assert_moments_close(rbm, sample_moments(rbm, samples), atol=0.03)  # the binary visible states too


def test_pcd_averages_over_the_visible_layer_only_when_asked_and_then_unweighted(rng):
    rbm = RBM(20, 8, seed=0)  # small: its chains are weighted by default
    default, asked = backends.make("pcd"), backends.make("pcd", average_over="visible")
    assert default.weights_chains(rbm) and not asked.weights_chains(rbm)
    assert default.sample(rbm, None, rng).visible_probs is None
    samples = asked.sample(rbm, None, rng)
    assert samples.hidden_probs is None and samples.visible_probs.shape == (1000, 20)
    with pytest.raises(ValueError, match="weighted=False"):
        backends.make("pcd", weighted=True, average_over="visible")
    with pytest.raises(ValueError, match="weighted=False"):
        backends.make("pcd", persist="hidden", average_over="visible")
    with pytest.raises(ValueError, match="'hidden' .* or 'visible'"):
        backends.make("pcd", average_over="both")
    from annealrbm.models import build_model
    with pytest.raises(ValueError, match="average_over='hidden'"):  # an RBM's layers only
        asked.sample(build_model("fully-connected", 6, 3, seed=0), None, rng)


def test_cd_starts_at_the_batch(rng):
    # Strong self-copying model: CD-1 from the data returns the data itself.
    rbm = RBM.from_arrays(20 * np.eye(5), np.full(5, -10.0), np.full(5, -10.0))
    batch = (rng.random((30, 5)) < 0.5).astype(float)
    samples = backends.make("cd", k=3).sample(rbm, batch, rng)
    np.testing.assert_array_equal(samples.visible, batch)
    np.testing.assert_array_equal(samples.data_hidden_probs.round(), batch)
    np.testing.assert_array_equal(samples.hidden_probs.round(), batch)


class EnumerationSampler(dimod.Sampler):
    """A user's own dimod sampler: exact Boltzmann samples of any small BQM by enumeration."""

    parameters = {"num_reads": [], "seed": []}
    properties = {}

    def sample(self, bqm, num_reads=10, seed=None):
        rng = np.random.default_rng(seed)
        labels = list(bqm.variables)
        states = metrics.all_binary_states(len(labels))
        energies = bqm.energies((states, labels))
        probs = np.exp(-(energies - energies.min()))
        picks = rng.choice(len(states), size=num_reads, p=probs / probs.sum())
        # histogram answer: distinct states with occurrence counts
        unique, counts = np.unique(picks, return_counts=True)
        return dimod.SampleSet.from_samples(
            (states[unique], labels), dimod.BINARY, energy=energies[unique], num_occurrences=counts
        )


def test_any_dimod_sampler_works_as_a_backend(rng):
    rbm = random_rbm(6, 5, seed=27)
    backend = backends.make(EnumerationSampler(), num_reads=20000)
    assert isinstance(backend, backends.DimodSamplerBackend)
    samples = backend.sample(rbm, None, rng)
    assert samples.visible.shape == (20000, 6)  # histogram rows expanded by num_occurrences
    assert_moments_close(rbm, sample_moments(rbm, samples), atol=0.015)
    with pytest.raises(ValueError, match="expected a dimod.Sampler"):
        backends.DimodSamplerBackend(object())


def test_persistent_annealing_continues_from_the_last_samples(rng):
    rbm = random_rbm(10, 6, seed=28, scale=0.5)
    backend = backends.make("sa", num_reads=2000, num_sweeps=100, persistent=True, persistent_sweeps=30, reheat_beta=0.2)
    first = backend.sample(rbm, None, rng)
    np.testing.assert_array_equal(backend.previous, np.hstack([first.visible, first.hidden]))
    second = backend.sample(rbm, None, rng)
    assert list(second.info["sampler_info"]["beta_range"]) == [0.2, 1.0]  # the short anneal, not from hot
    assert first.info["sampler_info"]["beta_range"][0] < 0.2
    assert_moments_close(rbm, sample_moments(rbm, second), atol=0.04)
    backend.reset()
    assert backend.previous is None
    with pytest.raises(ValueError, match="reheat_beta"):
        backends.make("sa", persistent=True, reheat_beta=2.0)


def test_weighted_pcd_reweights_its_chains_by_the_change_of_free_energy():
    before = random_rbm(10, 4, seed=60)
    after = RBM.from_arrays(before.W + 0.3, before.visible_bias - 0.2, before.hidden_bias)
    backend = backends.make("pcd", num_chains=50, ess_threshold=0.0)  # never resample
    first = backend.sample(before, None, np.random.default_rng(0))
    assert first.weights is None  # fresh chains are equally weighted
    chains = backend.chains.copy()
    second = backend.sample(after, None, np.random.default_rng(1))
    # the weight of each chain is p_after(v) / p_before(v) = exp(F_before(v) - F_after(v)) (normalised)
    log_ratio = before.free_energy(chains) - after.free_energy(chains)
    expected = np.exp(log_ratio - log_ratio.max())
    np.testing.assert_allclose(second.weights, expected / expected.sum(), rtol=1e-10)
    assert 0 < second.info["effective_sample_size"] < 1
    # below the threshold the chains are resampled in proportion to their weights, then equal
    resampling = backends.make("pcd", num_chains=50, ess_threshold=1.0)
    resampling.sample(before, None, np.random.default_rng(0))
    assert resampling.sample(after, None, np.random.default_rng(1)).weights is None
    assert not backends.make("pcd", weighted=False).weights_chains(RBM(20, 8))
    default = backends.make("pcd")  # weighted for small models, plain for image-sized ones
    assert default.weights_chains(RBM(20, 8)) and not default.weights_chains(RBM(784, 500))
    assert not backends.make("pcd", persist="hidden").weights_chains(RBM(20, 8))
    with pytest.raises(ValueError, match="persist='visible'"):
        backends.make("pcd", persist="hidden", weighted=True)


def test_pcd_chain_count_defaults_to_the_model_size():
    backend = backends.make("pcd")
    assert backend.chains_for(RBM(20, 8)) == 1000 and backend.chains_for(RBM(784, 500)) == 300
    assert backend.chains_for(RBM(64, 64)) == 1000 and backend.chains_for(RBM(784, 16)) == 300  # image-sized
    assert backends.make("pcd", num_chains=7).chains_for(RBM(20, 8)) == 7
    tempering = backends.make("pt")  # chains per temperature: fewer for image-sized models
    assert tempering.chains_for(RBM(20, 8)) == 1000 and tempering.chains_for(RBM(784, 500)) == 100


@pytest.mark.parametrize("sampler", [
    "TabuSampler", "SteepestDescentSolver", "RandomSampler", "ExactSolver", "composite", "PlanarGraphSolver"])
def test_optimisers_are_refused_as_negative_phase_samplers(sampler):
    import dwave.samplers

    built = {"ExactSolver": dimod.ExactSolver(), "RandomSampler": dimod.RandomSampler(),
             "composite": dimod.TrackingComposite(dwave.samplers.TabuSampler())}.get(sampler)
    built = built or getattr(dwave.samplers, sampler)()
    with pytest.raises(ValueError, match="not|unweighted|random|local minima") as refused:
        Trainer(RBM(30, 20, seed=0), backend=built)  # 50 variables: ExactSolver would need 2^50 states
    assert "'sa'" in str(refused.value) and "'exact'" in str(refused.value)
    backends.make(built, check_sampler=False)  # allowed when asked for


def test_a_sampler_far_from_beta_one_is_warned_about_once_and_sa_is_not():
    data = datasets.patterns20()
    with pytest.warns(backends.SamplerTemperatureWarning, match="local minima.*beta_range") as caught:
        Trainer(RBM(20, 8, seed=0), backend=SimulatedAnnealingSampler(), backend_options={"num_reads": 50},
                epochs=20, seed=0, progress=False, evaluate=False).fit(data)
    assert len([w for w in caught if issubclass(w.category, backends.SamplerTemperatureWarning)]) == 1
    hot = backends.make(SimulatedAnnealingSampler(), num_reads=200, beta_range=(0.01, 0.2), num_sweeps=100)
    with pytest.warns(backends.SamplerTemperatureWarning, match="too hot"):
        hot.sample(exactly_trained(904), None, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", backends.SamplerTemperatureWarning)
        Trainer(RBM(20, 8, seed=0), backend="sa", epochs=20, seed=0, progress=False, evaluate=False).fit(data)
        for _ in range(3):  # a few samples of a sharp model show no excitations: not evidence of an optimiser
            backends.make(TreeDecompositionSampler(), num_reads=3).sample(exactly_trained(904), None, np.random.default_rng(0))


def test_data_jumps_leave_the_model_distribution_invariant():
    """Metropolis-Hastings moves to noisy data vectors, from exact samples of a sharp model
    (enumeration), keep the exact visible distribution, and most chains move."""
    rbm = random_rbm(6, 4, seed=3, scale=2.0)
    states = metrics.all_binary_states(6)
    exact = np.exp(-rbm.free_energy(states) - metrics.log_partition_function(rbm))
    batch = states[np.argsort(exact)[-3:]]  # data where the model has its modes, as late in training
    rng = np.random.default_rng(0)
    chains = states[rng.choice(64, size=20000, p=exact / exact.sum())]
    start = chains.copy()
    logits = rbm.hidden_logits(chains, check=False)
    for _ in range(20):
        chains, logits = data_jump(rbm, chains, logits, free_energy_from_logits(rbm, chains, logits), batch, rng)
    np.testing.assert_allclose(logits, rbm.hidden_logits(chains, check=False))
    codes = chains @ (2 ** np.arange(6))  # the index of each state in all_binary_states
    sampled = np.bincount(codes.astype(int), minlength=64) / len(chains)
    assert np.abs(sampled - exact).max() < 0.015
    assert 0.5 * np.abs(sampled - exact).sum() < 0.03  # total variation
    assert np.mean(np.any(chains != start, axis=1)) > 0.2
    fractional = np.full((2, 6), 0.3)  # data in [0, 1] (visible_values="unit-interval"): proposals stay binary
    jumped, _ = data_jump(rbm, chains[:500], logits[:500], free_energy_from_logits(rbm, chains[:500], logits[:500]),
                          fractional, rng)
    assert set(np.unique(jumped)) <= {0.0, 1.0}


def test_data_jumps_keep_pcd_from_diverging_on_a_set_where_its_chains_collapse():
    data = datasets.random_patterns(2521)  # plain weighted PCD: 4 of seeds 0-9 diverge (5 to 81 nats)
    results = {}
    for jumps in (False, True):
        rbm = RBM(20, 8, seed=2)
        Trainer(rbm, backend="pcd", epochs=200, seed=2, progress=False, evaluate=False,
                backend_options={"data_jumps": jumps}).fit(data)
        results[jumps] = -metrics.log_likelihood(rbm, data) - np.log(4)
    assert results[False] > 5.0
    assert results[True] < 0.1


def test_sa_data_jumps_correct_the_weights_the_anneal_gives_the_modes():
    """An anneal lands in a sharp model's modes about equally often whatever their weights;
    data_jumps' exact moves towards the minibatch give each mode its weight under the model."""
    patterns = datasets.random_patterns(611)
    data = np.repeat(patterns, [4, 2, 1, 1], axis=0)  # the exact fit weighs the modes about 1/2, 1/4, 1/8, 1/8
    rbm = RBM(20, 8, seed=0)
    Trainer(rbm, backend="exact", epochs=200, seed=0, progress=False, evaluate=False).fit(data)
    exact = np.exp(-rbm.free_energy(patterns) - metrics.log_partition_function(rbm))
    errors = {}
    for jumps in (0, 5):
        samples = backends.make("sa", num_reads=2000, data_jumps=jumps).sample(rbm, data, np.random.default_rng(1))
        shares = (samples.visible[:, np.newaxis, :] == patterns).all(axis=2).mean(axis=0)
        errors[jumps] = np.abs(shares - exact).max()
    assert errors[0] > 0.15  # measured 0.25: about a quarter each
    assert errors[5] < 0.04  # 2000 exact samples: standard error at most 0.011
    assert samples.hidden is None and samples.hidden_probs.shape == (2000, 8)
    assert 0.1 < samples.info["data_jump_moved"] < 1
    with pytest.raises(ValueError, match="whole number >= 0"):
        backends.make("sa", data_jumps=-1)


def test_sa_settings_that_change_the_samples_are_in_its_repr():
    """The checkpoint compares the backend's repr, so a resume with other settings is refused."""
    base = repr(backends.make("sa"))
    for option, value in [("data_jumps", 5), ("persistent", True), ("final_sweep_factor", 1.0), ("beta", 2.0)]:
        assert repr(backends.make("sa", **{option: value})) != base, option
