import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler

from annealrbm import Trainer, backends
from annealrbm.data import datasets
from annealrbm.backends.threaded_reads import ThreadedReadsComposite, chunk_seeds
from helpers import random_rbm
from test_backends import assert_moments_close, sample_moments

SA_SETTINGS = {"num_sweeps": 50, "beta_range": (0.1, 1.0)}


def test_chunk_seeds_are_distinct_reproducible_and_accepted_by_the_annealer():
    seeds = chunk_seeds(12345, 8)
    assert seeds == chunk_seeds(12345, 8) and len(set(seeds)) == 8
    assert all(0 <= seed < 2**31 for seed in seeds)
    assert chunk_seeds(12346, 8) != seeds
    assert chunk_seeds(None, 3) == [None, None, None]


def test_split_reads_equal_the_child_called_once_per_chunk_in_order():
    bqm = random_rbm(7, 5, seed=1).to_bqm()
    got = ThreadedReadsComposite(SimulatedAnnealingSampler(), num_threads=3).sample(
        bqm, num_reads=10, seed=7, **SA_SETTINGS)
    child = SimulatedAnnealingSampler()
    parts = [child.sample(bqm, num_reads=size, seed=seed, **SA_SETTINGS)
             for size, seed in zip([4, 3, 3], chunk_seeds(7, 3))]
    expected = dimod.concatenate(parts)
    assert got.variables == bqm.variables
    np.testing.assert_array_equal(got.record.sample, expected.record.sample)
    np.testing.assert_allclose(got.record.energy, bqm.energies(got))
    assert got.info["num_threads"] == 3 and got.info["beta_range"] == (0.1, 1.0)


def test_initial_states_are_split_with_the_reads():
    bqm = random_rbm(6, 4, seed=2).to_bqm()
    initial = np.random.default_rng(3).integers(0, 2, (9, 10), dtype=np.int8)
    got = ThreadedReadsComposite(SimulatedAnnealingSampler(), num_threads=2).sample(
        bqm, num_reads=9, num_sweeps=0, seed=1, initial_states=(initial, range(10)), initial_states_generator="none")
    np.testing.assert_array_equal(got.record.sample, initial)  # zero sweeps: each read is its initial state


@pytest.mark.parametrize("call", [{"num_reads": 2}, {}, {"num_reads": 6, "initial_states_count": 3}])
def test_calls_that_cannot_be_split_go_to_the_child_unchanged(call):
    bqm = random_rbm(5, 3, seed=4).to_bqm()
    call = dict(call, seed=11, **SA_SETTINGS)
    if call.pop("initial_states_count", None):  # fewer initial states than reads: the child fills in
        call.update(initial_states=(np.ones((3, 8), dtype=np.int8), range(8)), initial_states_generator="random")
    got = ThreadedReadsComposite(SimulatedAnnealingSampler(), num_threads=3).sample(bqm, **call)
    expected = SimulatedAnnealingSampler().sample(bqm, **call)
    np.testing.assert_array_equal(got.record.sample, expected.record.sample)


def test_threaded_annealing_backend_matches_exact_moments_and_is_reproducible(rng):
    rbm = random_rbm(10, 6, seed=23, scale=0.5)
    backend = backends.make("sa", num_reads=4000, num_sweeps=200, num_threads=2)
    samples = backend.sample(rbm, None, rng)
    assert samples.info["num_samples"] == 4000 and samples.info["sampler_info"]["num_threads"] == 2
    assert_moments_close(rbm, sample_moments(rbm, samples), atol=0.03)
    again = [backend.sample(rbm, None, np.random.default_rng(5)).visible for _ in range(2)]
    np.testing.assert_array_equal(*again)
    with pytest.raises(ValueError, match="num_threads must be a whole number >= 1"):
        backends.make("sa", num_threads=0)


def test_persistent_threaded_annealing_resumes_bit_identically(tmp_path):
    options = {"num_reads": 40, "num_sweeps": 30, "persistent": True, "num_threads": 2}

    def trainer(**extra):
        return Trainer(random_rbm(20, 8, seed=0), backend="sa", backend_options=options, epochs=6, seed=0,
                       progress=False, **extra)

    data = datasets.patterns20()
    uninterrupted = trainer()
    uninterrupted.fit(data)
    trainer(checkpoint_dir=tmp_path, callbacks=[lambda record, _: record["epoch"] == 3]).fit(data)  # stops after 3
    resumed = trainer(checkpoint_dir=tmp_path)
    resumed.fit(data, resume=True)
    assert len(resumed.history) == 6
    np.testing.assert_array_equal(resumed.rbm.W, uninterrupted.rbm.W)
    other = Trainer(random_rbm(20, 8, seed=0), backend="sa", backend_options={**options, "num_threads": 3},
                    epochs=6, seed=0, progress=False, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match=r"\(backend differ\)"):  # another split gives other samples: refused
        other.fit(data, resume=True)
