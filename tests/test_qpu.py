"""The QPU path, offline: dwave.system.testing.MockDWaveSampler behind the same code as Leap."""
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from annealrbm import RBM, Trainer, metrics
from annealrbm.data import datasets
from annealrbm.backends import QPUBudgetExceeded, QPUConfigurationError, QPUWarning, make, redact
from annealrbm.backends.embedding import find_embeddings
from helpers import random_rbm

TOKEN = "DEV-0123456789abcdef-dummy-token"
SCRIPT = Path(sys.executable).parent / "annealrbm"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNEALRBM_CACHE_DIR", str(tmp_path / "cache"))


def mock(**options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QPUWarning)
        return make("qpu-mock", **options)


def record_submissions(backend):
    """Wrap the emulated chip's sample() to keep every problem and its keyword arguments."""
    calls = []
    original = backend.sampler.sample

    def sample(bqm, **kwargs):
        calls.append((bqm.copy(), kwargs))
        return original(bqm, **kwargs)

    backend.sampler.sample = sample
    return calls


def test_embedding_cache_is_hit_on_the_second_run(tmp_path):
    first = mock(num_copies=3).embeddings_for(RBM(20, 8, seed=0))
    assert not first.cache_hit and first.path.exists() and len(first.embeddings) == 3
    second = mock(num_copies=3).embeddings_for(RBM(20, 8, seed=1))
    assert second.cache_hit and second.embeddings == first.embeddings
    qubits = [q for e in first.embeddings for chain in e.values() for q in chain]
    assert len(qubits) == len(set(qubits))  # copies are disjoint
    assert sorted(first.embeddings[0]) == list(range(28))  # visible 0..19, hidden 20..27


def test_a_boltzmann_machine_graph_gets_disjoint_cached_copies():
    import networkx as nx
    from dwave.embedding import is_valid_embedding

    from annealrbm.models import BoltzmannMachine

    model = BoltzmannMachine.semi_restricted(9, 3, seed=0)  # visible-visible and visible-hidden edges
    first = mock(num_copies=4).embeddings_for(model)
    assert len(first.embeddings) == 4 and not first.cache_hit
    target = mock(num_copies=4).sampler.to_networkx_graph()
    source = nx.Graph([tuple(edge) for edge in model.edges.tolist()])
    assert all(is_valid_embedding(copy, source, target) for copy in first.embeddings)
    qubits = [q for copy in first.embeddings for chain in copy.values() for q in chain]
    assert len(qubits) == len(set(qubits))
    second = mock(num_copies=4).embeddings_for(BoltzmannMachine.semi_restricted(9, 3, seed=1))
    assert second.cache_hit and second.embeddings == first.embeddings
    samples = mock(num_copies=4, num_reads=10).sample(model, None, np.random.default_rng(0))
    assert samples.visible.shape == (40, 9) and samples.hidden.shape == (40, 3)
    with pytest.raises(QPUConfigurationError, match=r"only \d+ disjoint copies of this 12-unit model"):
        mock(num_copies=5000).embeddings_for(model)


def test_corrupt_cache_entry_is_replaced(tmp_path):
    found = mock(num_copies=1).embeddings_for(RBM(6, 4, seed=0))
    found.path.write_text(json.dumps({"format": "annealrbm.embeddings", "embeddings": [{"0": [999999]}]}))
    again = mock(num_copies=1).embeddings_for(RBM(6, 4, seed=0))
    assert not again.cache_hit and json.loads(found.path.read_text())["shape"] == [6, 4]


def test_model_too_large_states_what_fits():
    backend = mock(num_copies=1)
    with pytest.raises(QPUConfigurationError, match=r"does not fit .* largest that fits is 184x184"):
        backend.embeddings_for(RBM(300, 250, seed=0))
    with pytest.raises(QPUConfigurationError, match=r"only \d+ disjoint copies"):
        find_embeddings(backend.sampler.to_networkx_graph(), 20, 8, num_copies=500)


@pytest.mark.parametrize("weight_scale", [0.5, 30.0])
def test_submitted_problem_lies_within_the_ranges(weight_scale):
    backend = mock(num_reads=10, num_copies=4)
    calls = record_submissions(backend)
    rbm = random_rbm(20, 8, seed=3, scale=weight_scale)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        samples = backend.sample(rbm, None, np.random.default_rng(0))
        backend.fixed_scale = 0.4  # fits small weights (chains at -0.8); large ones must clip, and say so
        backend.sample(rbm, None, np.random.default_rng(1))
    for bqm, kwargs in calls:
        assert kwargs["auto_scale"] is False and kwargs["answer_mode"] == "raw"
        assert kwargs["label"].startswith("annealrbm ") and " call " in kwargs["label"]
        linear, (_, _, quadratic), _ = bqm.to_numpy_vectors()
        assert -4.0 <= linear.min() and linear.max() <= 4.0
        assert -1.0 <= quadratic.min() and quadratic.max() <= 1.0
    first_linear, (_, _, first_quadratic), _ = calls[0][0].to_numpy_vectors()
    assert max(np.abs(first_linear).max() / 4.0, np.abs(first_quadratic).max()) == pytest.approx(1.0)  # fills the range
    clipped = [w for w in caught if issubclass(w.category, QPUWarning) and "clipped" in str(w.message)]
    assert bool(clipped) == (weight_scale > 1)
    assert samples.visible.shape == (40, 20) and samples.info["num_copies"] == 4


def test_beta_eff_is_recovered_when_the_hardware_temperature_is_known():
    # hardware beta 3 at submitted scale 0.5: samples follow the model at beta 1.5
    # (the emulator anneals, so strongly coupled chains freeze a little early: measured 1.445)
    backend = mock(hardware_beta=3.0, scale=0.5, temperature_correction=False, chain_strength=2.0,
                   min_chain_strength=1.0, num_sweeps=1000, num_copies=10, num_reads=200)
    samples = backend.sample(random_rbm(10, 4, seed=0, scale=0.5), None, np.random.default_rng(0))
    assert samples.info["beta_eff"] == pytest.approx(1.5, rel=0.10)
    assert samples.info["chain_break_fraction"] < 0.05


@pytest.mark.slow
def test_temperature_correction_holds_beta_eff_at_one_and_lowers_the_nll():
    data = datasets.patterns20()
    results = {}
    for correction in (True, False):
        rbm = RBM(20, 8, seed=0)
        backend = mock(temperature_correction=correction, num_copies=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QPUWarning)
            history = Trainer(rbm, backend=backend, epochs=120, seed=0, progress=False).fit(data)
        results[correction] = (-metrics.log_likelihood(rbm, data), history)
    (corrected, history), (uncorrected, drifting) = results[True], results[False]
    # measured: NLL 1.438 against 1.534; mean |beta_eff - 1| after epoch 20: 0.042 against 0.107
    assert corrected < uncorrected and corrected < np.log(4) + 0.2
    deviation = np.mean(np.abs(history["beta_eff"][20:] - 1.0))
    assert deviation < 0.07 and deviation < 0.6 * np.mean(np.abs(drifting["beta_eff"][20:] - 1.0))
    assert np.all(np.abs(history["beta_eff"][20:] - 1.0) < 0.3)  # held near the model's beta = 1
    assert np.all(history["qpu_access_seconds"] > 0) and np.all(history["chain_break_fraction"] < 0.2)
    assert history.records[-1]["beta_eff_per_call"] == [history.records[-1]["beta_eff"]]  # one call per epoch


def test_spin_reversal_transforms_make_separate_calls_and_keep_timing():
    backend = mock(num_reads=30, num_copies=2, num_spin_reversal_transforms=3, label="my run")
    calls = record_submissions(backend)
    samples = backend.sample(random_rbm(10, 4, seed=1), None, np.random.default_rng(0))
    assert len(calls) == 3 and all(kwargs["num_reads"] == 10 for _, kwargs in calls)
    assert [kwargs["label"] for _, kwargs in calls] == [f"my run call 1 srt {i}/3" for i in (1, 2, 3)]
    assert samples.visible.shape == (3 * 10 * 2, 10)
    assert samples.info["qpu_access_seconds"] == pytest.approx(3 * 8550.28e-6)  # the mock's fixed timing


def test_budget_refuses_a_run_before_any_qpu_call():
    backend = mock(max_qpu_seconds=0.5)
    calls = record_submissions(backend)
    with pytest.raises(QPUBudgetExceeded, match=r"estimated .* s of QPU access time \(201 calls\), over the budget of 0.5 s"):
        Trainer(RBM(20, 8, seed=0), backend=backend, epochs=200, progress=False).fit(datasets.patterns20())
    assert calls == []


def test_high_chain_break_fraction_warns():
    backend = mock(chain_strength=0.0, min_chain_strength=0.0, num_reads=20, num_copies=2)
    with pytest.warns(QPUWarning, match="chains broke"):
        samples = backend.sample(random_rbm(20, 8, seed=2), None, np.random.default_rng(0))
    assert samples.info["chain_break_fraction"] > 0.1


def run_cli(args, tmp_path, token=None, timeout=120):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DWAVE")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), ANNEALRBM_CACHE_DIR=str(tmp_path / "cache"))
    if token:
        env["DWAVE_API_TOKEN"] = token
    start = time.perf_counter()
    result = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=timeout)
    return result, time.perf_counter() - start


def test_missing_token_fails_at_once_in_one_line(tmp_path):
    result, seconds = run_cli(["train", "--backend", "qpu"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert "DWAVE_API_TOKEN" in result.stderr and "dwave config create" in result.stderr
    assert "--backend sa" in result.stderr and "qpu-mock" in result.stderr
    assert seconds < 30  # no network wait (generous: this includes starting Python)


def test_unreachable_endpoint_fails_quickly_in_one_line(tmp_path):
    result, seconds = run_cli(["train", "--backend", "qpu", "--endpoint", "http://127.0.0.1:9/sapi/v2/"], tmp_path, token=TOKEN)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "cannot reach D-Wave at http://127.0.0.1:9" in result.stderr
    assert seconds < 30  # bounded timeout and retries, not minutes
    assert TOKEN not in result.stdout + result.stderr


def test_token_appears_in_no_output_or_file(tmp_path):
    outputs = []
    np.save(tmp_path / "patterns.npy", datasets.patterns20())
    for args in (["train", "--backend", "qpu-mock", "--epochs", "3", "--save", "model.npz", "--checkpoint", "ck"],
                 ["train", "--backend", "qpu-mock", "--epochs", "4", "--save", "model.npz", "--checkpoint", "ck", "--resume"],
                 ["evaluate", "--model", "model.npz", "--data", "patterns.npy"],
                 ["reproduce", "--backends", "qpu-mock", "--epochs", "3", "--out", "results"],
                 ["qpu", "check"],
                 ["qpu", "check", "--mock"]):
        result, _ = run_cli(args, tmp_path, token=TOKEN)
        outputs.append(result.stdout + result.stderr)
    assert "token: configured (not shown)" in outputs[4]
    assert (tmp_path / "model.npz").exists() and (tmp_path / "results" / "results.json").exists()
    assert (tmp_path / "ck" / "checkpoint-000004.npz").exists() and "resuming" in outputs[1]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 3
    for text in outputs:
        assert TOKEN not in text
    for path in files:
        assert TOKEN.encode() not in path.read_bytes(), path


def test_redact_hides_the_token():
    os.environ["DWAVE_API_TOKEN"] = TOKEN
    try:
        assert TOKEN not in redact(f"failed with token={TOKEN} at endpoint")
        assert redact("token: abc123, other") == "token: <redacted>, other"
    finally:
        del os.environ["DWAVE_API_TOKEN"]


@pytest.mark.slow  # a whole training run through the emulated QPU
def test_reproduce_reports_qpu_figures(tmp_path):
    result, _ = run_cli(["reproduce", "--backends", "exact,qpu-mock", "--epochs", "40", "--out", "out"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["backend"]: row for row in json.loads((tmp_path / "out" / "results.json").read_text())}
    qpu = rows["qpu-mock"]
    assert {"beta_eff", "chain_break_fraction", "qpu_access_seconds"} <= set(qpu)
    assert 0.5 < qpu["beta_eff"] < 2.0 and 0 <= qpu["chain_break_fraction"] < 0.2
    assert qpu["qpu_access_seconds"] == pytest.approx(41 * 8550.28e-6)  # calibration + 40 calls, mock timing
    assert "beta_eff" not in rows["exact"]
    assert "qpu-mock: beta_eff" in result.stdout


def test_range_scale_composite_scales_clips_and_reports_energies_of_the_given_problem():
    import dimod
    from dimod.testing import assert_composite_api, assert_sampler_api

    from annealrbm.backends import RangeScaleComposite

    submitted = []

    class Recorder(dimod.ExactSolver):
        def sample(self, bqm, **kwargs):
            submitted.append(bqm.copy())
            return super().sample(bqm, **kwargs)

    composite = RangeScaleComposite(Recorder(), h_range=(-2, 2), j_range=(-1, 1))
    assert_sampler_api(composite)
    assert_composite_api(composite)
    bqm = dimod.BinaryQuadraticModel({0: 3.0, 1: -0.5}, {(0, 1): 1.5}, 0.25, dimod.SPIN)
    fitting = composite.sample(bqm)  # the largest scale that fits: 2/3 (h) and 1/1.5 (J)
    assert fitting.info["scale"] == pytest.approx(2 / 3) and fitting.info["clipped_coefficients"] == 0
    assert submitted[-1].linear[0] == pytest.approx(2.0) and submitted[-1].quadratic[(0, 1)] == pytest.approx(1.0)
    hot = composite.sample(bqm, scale=2.0)  # 6 and 3 clipped to 2 and 1; -1 fits
    assert hot.info["clipped_coefficients"] == 2
    assert (submitted[-1].linear[0], submitted[-1].linear[1], submitted[-1].quadratic[(0, 1)]) == (2.0, -1.0, 1.0)
    np.testing.assert_allclose(hot.record.energy, bqm.energies((hot.record.sample, hot.variables)))
    binary = composite.sample(bqm.change_vartype(dimod.BINARY, inplace=False), scale=0.5)
    assert binary.vartype is dimod.BINARY and set(np.unique(binary.record.sample)) <= {0, 1}
    with pytest.raises(ValueError, match="h_range"):
        RangeScaleComposite(dimod.ExactSolver())
