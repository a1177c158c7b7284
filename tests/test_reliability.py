"""Checkpoint/resume under SIGKILL, sampler faults, and files that must be refused."""
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler

from annealrbm import RBM, Trainer, backends, cli, fileio
from annealrbm.training import checkpoint
from annealrbm.data import datasets
from annealrbm.backends.retry import RetryComposite, RetryPolicy, SamplerUnavailable, call_with_retries
from annealrbm.training import trainer as trainer_module
from annealrbm.training.trainer import TrainingInterrupted
from faults import FAULTS, FaultInjectingSampler, FaultInjector

SCRIPT = Path(sys.executable).parent / "annealrbm"
DATA = datasets.patterns20()


def no_wait_policy(delays=None, attempts=4):
    return RetryPolicy(max_attempts=attempts, initial_delay=0.5, sleep=(delays.append if delays is not None else lambda s: None))


def train_sa(sampler, epochs=4, **trainer_options):
    rbm = RBM(20, 8, seed=0)
    backend = backends.DimodSamplerBackend(sampler, retry_policy=trainer_options.pop("policy", no_wait_policy()),
                                           num_reads=30, num_sweeps=20)
    trainer = Trainer(rbm, backend=backend, epochs=epochs, seed=0, progress=False, **trainer_options)
    return rbm, trainer


# --- checkpoint and resume -----------------------------------------------------------------------
KILL_RUNS = {
    "cd": [],
    "pcd": ["-o", "num_chains=20"],
    "gibbs": ["-o", "num_samples=20", "-o", "burn_in=10"],
    "sa": ["-o", "num_reads=20", "-o", "num_sweeps=20"],
    "pt": ["-o", "num_chains=20", "-o", "num_temperatures=4"],
}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background job may have inherited SIG_IGN


# cd and sa (a dimod sampler) in the default run, the other persistent chains in the slow one
DEFAULT_KILL_RUNS = ("cd", "sa")


@pytest.mark.parametrize("backend, stop", [
    pytest.param(name, signal.SIGKILL, marks=() if name in DEFAULT_KILL_RUNS else pytest.mark.slow)
    for name in sorted(KILL_RUNS)] + [("cd", signal.SIGINT)])
def test_killed_or_interrupted_then_resumed_gives_the_uninterrupted_parameters(backend, stop, tmp_path):
    args = ["train", "--dataset", "bars-and-stripes-3", "--hidden", "4", "--batch-size", "5", "--epochs", "150",
            "--backend", backend, *KILL_RUNS[backend]]
    assert cli.main([*args, "--save", str(tmp_path / "reference.npz")]) == 0
    checkpoints = tmp_path / "ck"
    run = [str(SCRIPT), *args, "--checkpoint", str(checkpoints), "--checkpoint-every", "1", "--save", str(tmp_path / "resumed.npz")]
    process = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_sigint)
    deadline = time.monotonic() + 60
    while not (found := checkpoint.list_checkpoints(checkpoints)) or checkpoint.checkpoint_epoch(found[-1]) < 10:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.002)
    process.send_signal(stop)
    if stop == signal.SIGKILL:
        assert process.wait() == -signal.SIGKILL
    else:  # Ctrl-C: the last completed epoch is saved and named in one line, exit 1
        err = process.communicate(timeout=60)[1]
        assert process.returncode == 1 and err.count("\n") == 1, err
        assert err.startswith("annealrbm: error: interrupted; epoch ") and "is saved in" in err and "--resume" in err
    killed_at = checkpoint.load_checkpoint(checkpoint.latest_checkpoint(checkpoints))[1]["epoch"]
    assert 10 <= killed_at < 150 and not (tmp_path / "resumed.npz").exists()
    resumed = subprocess.run([*run, "--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    reference, result = RBM.load(tmp_path / "reference.npz"), RBM.load(tmp_path / "resumed.npz")
    for name in ("W", "visible_bias", "hidden_bias"):
        np.testing.assert_array_equal(getattr(result, name), getattr(reference, name))


class _CtrlCOnFirstWrite(io.BytesIO):
    """A buffer that sends this process SIGINT while zipfile is writing the first array into it."""
    interrupted = False

    def write(self, data):
        if not self.interrupted:
            self.interrupted = True
            os.kill(os.getpid(), signal.SIGINT)
        return super().write(data)


def test_ctrl_c_during_a_save_is_held_until_the_file_is_complete(tmp_path, monkeypatch):
    # CI once saw Ctrl-C land inside np.savez's zip writer: zipfile then raised "Can't close
    # the ZIP file while there is an open writing handle", which hid the interrupt (exit 2)
    arrays = {"W": np.arange(12.0).reshape(3, 4), "b": np.ones(3)}
    monkeypatch.setattr(fileio, "io", type("io", (), {"BytesIO": _CtrlCOnFirstWrite}))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            fileio.save_npz(tmp_path / "model.npz", arrays)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    finally:
        signal.signal(signal.SIGINT, previous)
    loaded = fileio.load_npz(tmp_path / "model.npz", ("W", "b"), "test file")
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_save_leaves_a_sigint_handler_the_user_installed_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(fileio, "io", type("io", (), {"BytesIO": _CtrlCOnFirstWrite}))
    received = []
    handler = lambda signum, frame: received.append(signum)  # noqa: E731
    previous = signal.signal(signal.SIGINT, handler)
    try:
        fileio.save_npz(tmp_path / "model.npz", {"W": np.eye(3)})
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert received == [signal.SIGINT]
    np.testing.assert_array_equal(fileio.load_npz(tmp_path / "model.npz", ("W",), "test file")["W"], np.eye(3))


class _BarInterruptedBeforeEpoch:
    """Stands in for tqdm: Ctrl-C surfaces between two epochs, outside any epoch's own code."""

    def __init__(self, epochs, **options):
        self.epochs = epochs

    def __iter__(self):
        for epoch in self.epochs:
            if epoch == 3:
                raise KeyboardInterrupt
            yield epoch

    def set_postfix(self, **values):
        pass

    def close(self):
        pass


def test_ctrl_c_between_epochs_still_saves_and_names_the_last_epoch(tmp_path, monkeypatch):
    # Python runs a signal's handler at its next check, which can fall just after an epoch's call returned
    monkeypatch.setattr(trainer_module, "tqdm", _BarInterruptedBeforeEpoch)
    rbm = RBM(20, 8, seed=0)
    trainer = Trainer(rbm, backend="cd", epochs=6, seed=0, progress=False, checkpoint_dir=tmp_path, checkpoint_every=2)
    with pytest.raises(TrainingInterrupted, match="interrupted; epoch 3 is saved in .*checkpoint-000003.npz"):
        try:
            trainer.fit(DATA)
        except KeyboardInterrupt:
            pytest.fail("Ctrl-C between epochs escaped the trainer without saying which epoch is saved")
    np.testing.assert_array_equal(checkpoint.load_checkpoint(tmp_path / "checkpoint-000003.npz")[0]["model/W"], rbm.W)


def test_checkpoint_every_n_keeps_the_newest_and_holds_the_whole_state(tmp_path):
    rbm = RBM(20, 8, seed=0)
    Trainer(rbm, backend="pcd", epochs=7, seed=0, progress=False, checkpoint_dir=tmp_path, checkpoint_every=3,
            keep_checkpoints=2, backend_options={"num_chains": 10}).fit(DATA)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["checkpoint-000006.npz", "checkpoint-000007.npz"]
    arrays, document = checkpoint.load_checkpoint(tmp_path / "checkpoint-000007.npz")
    # the trained model is the average of the parameters over the last quarter (epochs 6 and 7)
    assert int(arrays["average/count"]) == 2
    np.testing.assert_array_equal(arrays["average/sums.0"] / 2, rbm.W)
    assert not np.array_equal(arrays["model/W"], rbm.W)  # the last iterate itself
    assert arrays["backend/chains"].shape == (10, 20) and arrays["centering/hidden"].shape == (8,)
    assert document["epoch"] == 7 and len(document["history"]) == 7
    assert set(document["random_streams"]) == {"data_rng", "sample_rng", "eval_rng"}
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path):
    reference = RBM(20, 8, seed=0)
    Trainer(reference, backend="pcd", epochs=6, seed=0, progress=False).fit(DATA)
    Trainer(RBM(20, 8, seed=0), backend="pcd", epochs=6, seed=0, progress=False, checkpoint_dir=tmp_path,
            checkpoint_every=1, callbacks=[lambda record, trainer: record["epoch"] == 4]).fit(DATA)  # stops after 4
    newest = tmp_path / "checkpoint-000004.npz"
    newest.write_bytes(newest.read_bytes()[:-100])
    resumed = RBM(20, 8, seed=0)
    with pytest.warns(RuntimeWarning, match="checkpoint-000004.npz is not a valid checkpoint.*resumed from the older checkpoint-000003"):
        Trainer(resumed, backend="pcd", epochs=6, seed=0, progress=False, checkpoint_dir=tmp_path,
                checkpoint_every=1).fit(DATA, resume=True)
    np.testing.assert_array_equal(resumed.W, reference.W)


def test_checkpoints_by_default_are_time_based_and_always_include_the_last_epoch(tmp_path):
    Trainer(RBM(20, 8, seed=0), backend="cd", epochs=30, seed=0, progress=False, checkpoint_dir=tmp_path).fit(DATA)
    assert [checkpoint.checkpoint_epoch(p) for p in checkpoint.list_checkpoints(tmp_path)] == [30]  # fast epochs: one write
    Trainer(RBM(20, 8, seed=0), backend="cd", epochs=3, seed=0, progress=False, checkpoint_dir=tmp_path / "every",
            checkpoint_seconds=0).fit(DATA)
    assert [checkpoint.checkpoint_epoch(p) for p in checkpoint.list_checkpoints(tmp_path / "every")] == [2, 3]


def test_resume_refuses_other_settings_or_data_and_needs_a_checkpoint(tmp_path):
    Trainer(RBM(20, 8, seed=0), backend="cd", epochs=2, seed=0, progress=False, checkpoint_dir=tmp_path).fit(DATA)
    with pytest.raises(ValueError, match="batch_size differ"):
        Trainer(RBM(20, 8, seed=0), backend="cd", epochs=4, seed=0, batch_size=2, progress=False,
                checkpoint_dir=tmp_path).fit(DATA, resume=True)
    with pytest.raises(ValueError, match="data_sha256 differ"):
        Trainer(RBM(20, 8, seed=0), backend="cd", epochs=4, seed=0, progress=False,
                checkpoint_dir=tmp_path).fit(DATA[::-1], resume=True)
    with pytest.raises(ValueError, match="no checkpoint to resume from"):
        Trainer(RBM(20, 8, seed=0), backend="cd", epochs=4, seed=0, progress=False,
                checkpoint_dir=tmp_path / "empty").fit(DATA, resume=True)


# --- sampler faults --------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", FAULTS)
def test_transient_faults_are_retried_and_change_nothing(fault):
    clean, clean_trainer = train_sa(SimulatedAnnealingSampler())
    clean_trainer.fit(DATA)
    delays = []
    sampler = FaultInjectingSampler(SimulatedAnnealingSampler(), fault=fault, fail_first=2)
    flaky, trainer = train_sa(sampler, policy=no_wait_policy(delays))
    with pytest.warns(RuntimeWarning, match="retry 1 of 3"):
        trainer.fit(DATA)
    assert sampler.injector.failures == 2 and delays == [0.5, 1.0]  # exponential backoff
    np.testing.assert_array_equal(flaky.W, clean.W)  # retried with the same seed: same run


def test_persistent_failure_saves_the_last_epoch_and_resume_finishes_the_run(tmp_path):
    reference, trainer = train_sa(SimulatedAnnealingSampler(), epochs=6)
    trainer.fit(DATA)
    broken = SimulatedAnnealingSampler()  # the same sampler as the resumed run's, failing from call 4 on
    broken.sample = FaultInjector(broken.sample, fault="connection", fail_from=4)
    _, trainer = train_sa(broken, epochs=6, checkpoint_dir=tmp_path, checkpoint_every=2)
    with pytest.raises(TrainingInterrupted, match="failed 4 time.*epoch 3 is saved in .*checkpoint-000003.npz"):
        trainer.fit(DATA)
    assert broken.sample.failures == 4
    resumed, trainer = train_sa(SimulatedAnnealingSampler(), epochs=6, checkpoint_dir=tmp_path)
    trainer.fit(DATA, resume=True)
    np.testing.assert_array_equal(resumed.W, reference.W)


def test_the_retry_composite_repeats_a_failed_call_with_the_same_arguments():
    bqm = RBM(4, 3, seed=0).to_bqm()
    clean = SimulatedAnnealingSampler().sample(bqm, num_reads=20, seed=7)
    flaky = FaultInjectingSampler(SimulatedAnnealingSampler(), fault="timeout", fail_first=2)
    delays = []
    retrying = RetryComposite(flaky, no_wait_policy(delays))
    assert retrying.child is flaky and retrying.parameters == flaky.parameters
    with pytest.warns(RuntimeWarning, match="FaultInjectingSampler call failed"):
        answer = retrying.sample(bqm, num_reads=20, seed=7)
    assert flaky.injector.failures == 2 and delays == [0.5, 1.0]
    np.testing.assert_array_equal(answer.record.sample, clean.record.sample)
    with pytest.raises(SamplerUnavailable, match="failed 3 time"):
        RetryComposite(FaultInjectingSampler(SimulatedAnnealingSampler(), fault="empty", fail_first=5),
                       no_wait_policy(attempts=3)).sample(bqm, num_reads=2)


def test_errors_that_retrying_cannot_fix_are_raised_at_once():
    calls = []

    def bad_problem(bqm, **kwargs):
        calls.append(1)
        raise ValueError("problem has too many variables")

    with pytest.raises(ValueError, match="too many variables"):
        call_with_retries(lambda: bad_problem(None), [0], no_wait_policy())
    assert len(calls) == 1


def test_qpu_calls_are_retried_and_a_dead_qpu_stops_training_cleanly(tmp_path):
    qpu = backends.mock_qpu(num_reads=20, num_copies=2, retry_policy=no_wait_policy())
    qpu.sampler.sample = FaultInjector(qpu.sampler.sample, fault="solver-failure", fail_first=2)
    with pytest.warns(RuntimeWarning, match="QPU call failed"):
        Trainer(RBM(20, 8, seed=0), backend=qpu, epochs=2, seed=0, progress=False).fit(DATA)
    assert qpu.sampler.sample.failures == 2 and qpu.calls == 3  # calibration + 2 epochs
    dead = backends.mock_qpu(num_reads=20, num_copies=2, retry_policy=no_wait_policy())
    dead.sampler.sample = FaultInjector(dead.sampler.sample, fault="request-timeout", fail_from=3)
    trainer = Trainer(RBM(20, 8, seed=0), backend=dead, epochs=5, seed=0, progress=False, checkpoint_dir=tmp_path)
    with pytest.raises(TrainingInterrupted, match="QPU failed 4 time.*epoch 1 is saved"):
        trainer.fit(DATA)
    assert float(checkpoint.load_checkpoint(tmp_path / "checkpoint-000001.npz")[0]["backend/hardware_beta"]) > 0


def test_cli_reports_a_dead_sampler_in_one_line_with_the_checkpoint(tmp_path, capsys, monkeypatch):
    def dead_sampler(**options):
        broken = FaultInjectingSampler(SimulatedAnnealingSampler(), fault="timeout", fail_from=3)
        return backends.DimodSamplerBackend(broken, retry_policy=no_wait_policy(), num_reads=10)

    monkeypatch.setitem(backends.registry._FACTORIES, "dead", (dead_sampler, "always times out from call 3"))
    code = cli.main(["train", "--backend", "dead", "--epochs", "5", "--checkpoint", str(tmp_path)])
    err = capsys.readouterr().err.splitlines()
    lines = [line for line in err if not line.startswith("annealrbm: warning")]
    assert code == 1 and len(lines) == 1
    assert "failed 4 time(s) in a row (last: TimeoutError" in lines[0] and "checkpoint-000002.npz" in lines[0]


def test_sampler_unavailable_without_checkpoint_dir_says_so():
    broken = FaultInjectingSampler(SimulatedAnnealingSampler(), fault="empty", fail_from=1)
    _, trainer = train_sa(broken)
    with pytest.raises(TrainingInterrupted, match="empty SampleSet.*no checkpoint directory"):
        trainer.fit(DATA)
    with pytest.raises(SamplerUnavailable):
        call_with_retries(lambda: broken.sample(RBM(2, 2).to_bqm()), range(4), no_wait_policy(attempts=1))


# --- files ---------------------------------------------------------------------------------------
class _Payload:
    """Unpickling this would create the file `marker`: the test fails if it ever exists."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_bomb(path, marker, names):
    arrays = {name: np.zeros(3) for name in names}
    arrays[names[0]] = np.array([_Payload(marker)], dtype=object)
    np.savez(path, **arrays)


def test_crafted_pickles_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    _pickle_bomb(tmp_path / "model.npz", marker, ["W", "visible_bias", "hidden_bias", "format", "format_version"])
    _pickle_bomb(tmp_path / "checkpoint-000001.npz", marker, ["document", "format", "format_version", "sha256"])
    np.save(tmp_path / "data.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="pickled"):
        RBM.load(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="pickled"):
        checkpoint.load_checkpoint(tmp_path / "checkpoint-000001.npz")
    with pytest.raises(ValueError, match="pickled"):
        Trainer(RBM(20, 8), backend="cd", progress=False, checkpoint_dir=tmp_path).fit(DATA, resume=True)
    with pytest.raises(ValueError, match="pickled objects"):
        datasets.load_file(tmp_path / "data.npy")
    assert not marker.exists()


def test_tampered_and_truncated_files_are_refused(tmp_path):
    model = RBM(20, 8, seed=0)
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz") as archive:
        arrays = dict(archive)
    arrays["W"][0, 0] += 1.0  # an edit that keeps the file well-formed
    np.savez(tmp_path / "edited.npz", **arrays)
    with pytest.raises(ValueError, match="fails its checksum"):
        RBM.load(tmp_path / "edited.npz")
    Trainer(model, backend="cd", epochs=2, seed=0, progress=False, checkpoint_dir=tmp_path / "ck").fit(DATA)
    newest = checkpoint.latest_checkpoint(tmp_path / "ck")
    with np.load(newest) as archive:
        arrays = dict(archive)
    arrays["document"] = np.array(str(arrays["document"]).replace('"epoch": 2', '"epoch": 9'))
    np.savez(tmp_path / "ck" / "checkpoint-000009.npz", **arrays)
    with pytest.raises(ValueError, match="fails its checksum"):
        checkpoint.load_checkpoint(tmp_path / "ck" / "checkpoint-000009.npz")
    payload = newest.read_bytes()
    newest.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(ValueError, match="truncated"):
        checkpoint.load_checkpoint(newest)


def test_cli_retries_and_retry_delay_reach_the_qpu(tmp_path, capsys, monkeypatch):
    injectors = []

    def flaky_mock(**options):
        qpu = backends.mock_qpu(num_reads=20, num_copies=2, **options)
        qpu.sampler.sample = FaultInjector(qpu.sampler.sample, fault="connection", fail_from=3)
        injectors.append(qpu.sampler.sample)
        return qpu

    monkeypatch.setitem(backends.registry._FACTORIES, "qpu-mock", (flaky_mock, "emulated QPU that loses its link"))
    code = cli.main(["train", "--backend", "qpu-mock", "--epochs", "4", "--retries", "1", "--retry-delay", "0",
                     "--checkpoint", str(tmp_path)])
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("annealrbm: warning")]
    assert code == 1 and len(lines) == 1 and injectors[0].failures == 2  # the first try and 1 retry
    assert "the QPU failed 2 time(s) in a row" in lines[0] and "epoch 1 is saved" in lines[0]
