"""Training loop: minibatches -> positive phase -> backend samples -> gradient -> update -> history."""
from __future__ import annotations

import hashlib
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from annealrbm import backends, metrics
from annealrbm.training import checkpoint
from annealrbm.gradient import unit_restarts
from annealrbm.backends.retry import SamplerUnavailable
from annealrbm.gradient.estimators import Centering, GradientEstimator, centred, negative_hidden, positive_statistics, statistics_difference
from annealrbm.models.base import EnergyModel
from annealrbm.models.rbm import has_many_weights
from annealrbm.optim import Adam, LearningRate, MomentumSGD, ParameterAverage, as_schedule, default_learning_rate, parameters
from annealrbm.validation import binary_states_uint8, check_positive_int, check_unit_interval

# The final phase of training when averaging is off: this fraction of the epochs at the end.
DEFAULT_FINAL_PHASE = 0.25

# L2 weight decay of RBMs with more than 100,000 weights (`has_many_weights`) when none is given:
# MNIST-sized models overfit the training set without it; small ones (the toy sets) need large
# weights for their sharp modes, so they and models on other graphs get 0.
DEFAULT_LARGE_MODEL_WEIGHT_DECAY = 3e-4


def default_weight_decay(rbm: EnergyModel) -> float:
    """The weight decay a Trainer uses for `rbm` when none is given (see above)."""
    large = rbm.two_layer_fast_paths and has_many_weights(rbm.n_visible, rbm.n_hidden)
    return DEFAULT_LARGE_MODEL_WEIGHT_DECAY if large else 0.0


# Callback: called after every epoch with (record, trainer); returning True stops training.
Callback = Callable[[dict, "Trainer"], Any]

# Exact log-likelihood each epoch costs 2^min(n_v, n_h) * max(n_v, n_h) operations; above this
# budget it is skipped (NaN) to keep epochs fast. metrics.log_likelihood still works on demand.
EXACT_EVALUATION_BUDGET = 1 << 24


class History:
    """Per-epoch records of a training run; `history["log_likelihood"]` gives a numpy column."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str) -> np.ndarray:
        return np.array([record.get(key, np.nan) for record in self.records])

    @property
    def last(self) -> dict[str, Any]:
        return self.records[-1] if self.records else {}

    def as_dict(self) -> dict[str, list]:
        """Column-wise plain lists, ready for JSON."""
        keys = list(dict.fromkeys(key for record in self.records for key in record))
        return {key: [record.get(key) for record in self.records] for key in keys}


# How an epoch summarises what backends report per call (QPU backends report these).
_SUMMED_INFO = ("qpu_access_seconds", "clipped_coefficients")
_AVERAGED_INFO = ("chain_break_fraction",)
_LAST_INFO = ("beta_eff", "scale")


def _summarise_sampler_info(infos: list[dict]) -> dict[str, float]:
    summary = {}
    for key in _SUMMED_INFO:
        if any(key in info for info in infos):
            summary[key] = float(sum(info.get(key, 0.0) for info in infos))
    for key in _AVERAGED_INFO:
        values = [info[key] for info in infos if key in info]
        if values:
            summary[key] = float(np.mean(values))
    for key in _LAST_INFO:
        values = [info[key] for info in infos if key in info]
        if values:
            summary[key] = float(values[-1])
            summary[f"{key}_per_call"] = [float(value) for value in values]
    return summary


class TrainingInterrupted(RuntimeError):
    """Training stopped early (a sampler that stays unavailable, Ctrl-C); the message says
    which checkpoint holds the last completed epoch."""


def _exact_evaluation_is_cheap(rbm) -> bool:
    if not rbm.two_layer_fast_paths:
        return metrics.exact_is_feasible(rbm, max_units=18)
    small, large = sorted((rbm.n_visible, rbm.n_hidden))
    return small <= 20 and (1 << small) * large <= EXACT_EVALUATION_BUDGET


class Trainer:
    """Fit an RBM, or a Boltzmann machine of annealrbm.models (any graph, DBM), by stochastic
    gradient ascent with negative samples from a backend.

    backend: a registered name ('sa', 'cd', 'pcd', 'gibbs', 'exact', ...), a Backend, or any
        dimod.Sampler; `backend_options` go to the backend's constructor when it is a name.
    optimizer: 'sgd' (default: momentum SGD) or 'adam'; `momentum` is SGD's momentum or Adam's
        beta1. Adam's normalised steps keep a noisy gradient's parameters walking at the full
        rate however small the signal, so its endings depend on the sampling noise.
    weight_decay: L2 on the weights, subtracted from the gradient (weight_decay * W). None
        (default) is 3e-4 for RBMs with more than 100,000 weights, which overfit without it
        (docs/benchmarks.md), and 0 otherwise (`default_weight_decay`).
    centering: the centred gradient (Melchior, Fischer & Wiskott 2016; see estimators), on by
        default: offsets from the data mean and a moving average of the hidden means make the
        steps far better conditioned, so momentum SGD can take large steps without diverging.
    learning_rate: a number, (epochs, rate) segments such as [(100, 0.1), (50, 0.01)], or a
        callable epoch -> rate. The default (`optim.default_learning_rate`) holds a base rate
        for half the epochs and decays it geometrically to a tenth by the last; the base rate
        (SGD 0.5, Adam 0.1 for one update per epoch) shrinks with the square root of the
        number of minibatches per epoch and, beyond 16 hidden units, with the square root of
        the hidden layer's size.
    averaging: the fraction of the epochs at the end over which the parameters are averaged
        (Polyak-Ruppert, at the end of each epoch); the trainer's model is set to the average
        when training ends, and each epoch's evaluation uses the average once it has begun.
        None (or 0) turns averaging off. Default 0.25.
    restart_units: after 5, 10 and 15 % of the epochs (and before averaging begins), merge
        one redundant hidden unit of an RBM (saturated, with the same code on the data as
        another, up to complement) into its twin and restart it from small weights
        (`unit_restarts`): the distribution is kept and the unit is free to learn a direction
        the others missed, the way out of the saddles early training can stall in. Records
        count the restarts (`units_restarted`). False turns it off. Default True.
    seed: seeds three independent streams (minibatch order, sampling, evaluation), so two
        trainers with the same seed see the same minibatches whatever their backends.
    clamped_sampling: for a Boltzmann machine whose hidden units interact, draw the positive
        phase's hidden states with the backend's dimod sampler (all examples of a minibatch as
        one BQM of disjoint clamped problems, one call) instead of exact sums or mean-field.
    visible_values: 'binary' (default: data must be 0/1) or 'unit-interval' (data in [0, 1] are
        visible probabilities, as scikit-learn's BernoulliRBM takes them; no per-epoch evaluation).
    checkpoint_dir: save a checkpoint (model, optimizer, persistent chains, random streams,
        history) there after an epoch once `checkpoint_seconds` (30) have passed since the last
        one, and after the last epoch (writing every 1 ms epoch would cost 30 times the
        training); `checkpoint_every` N saves every N epochs instead. The newest
        `keep_checkpoints` are kept;
        `fit(data, resume=True)` continues from the newest one and ends with exactly the
        parameters an uninterrupted run would have. If a remote sampler stays unavailable
        (after its retries) or training is interrupted, the last completed epoch is saved
        before TrainingInterrupted is raised.
    """

    def __init__(
        self,
        rbm: EnergyModel,
        backend: Any = "sa",
        epochs: int = 200,
        learning_rate: LearningRate | None = None,
        batch_size: int = 100,
        momentum: float = 0.9,
        weight_decay: float | None = None,
        rao_blackwell: bool = True,
        optimizer: str = "sgd",
        centering: bool = True,
        averaging: float | None = 0.25,
        restart_units: bool = True,
        backend_options: dict[str, Any] | None = None,
        seed: int | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool | None = None,
        evaluate: bool = True,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int | None = None,
        checkpoint_seconds: float = 30.0,
        keep_checkpoints: int = 2,
        visible_values: str = "binary",
        clamped_sampling: bool = False,
    ) -> None:
        if not isinstance(rbm, EnergyModel):
            raise ValueError(f"rbm must be an annealrbm model (an RBM, or a Boltzmann machine of annealrbm.models), "
                             f"got {type(rbm).__name__}")
        self.general = not rbm.two_layer_fast_paths  # the generic path, through the EnergyModel interface
        self.rbm = rbm
        if visible_values not in ("binary", "unit-interval"):
            raise ValueError(f"visible_values must be 'binary' or 'unit-interval', got {visible_values!r}")
        self.visible_values = visible_values
        self.clamped_sampling = bool(clamped_sampling)
        self.backend = backends.make(backend, **(backend_options or {}))
        if clamped_sampling and not (self.general and hasattr(self.backend, "sample_clamped")):
            raise ValueError("clamped_sampling samples the positive phase of a Boltzmann machine whose hidden units "
                             "interact with a dimod-sampler backend ('sa', 'exact', 'qpu' or a dimod sampler)")
        if self.general and not self.backend.any_graph:
            raise ValueError(
                f"backend {self.backend.name!r} samples RBMs only; a {type(rbm).__name__} trains with 'exact', 'sa', "
                "'pcd', 'pt', 'cd', 'gibbs', 'qpu', 'qpu-mock' or any dimod sampler")
        self.epochs = check_positive_int(epochs, "epochs")
        # the default schedule depends on the number of minibatches per epoch: built in fit
        self.schedule = None if learning_rate is None else as_schedule(learning_rate)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if weight_decay is None:
            weight_decay = default_weight_decay(rbm)
        if optimizer == "adam":
            self.optimizer = Adam(rbm, beta1=momentum, weight_decay=weight_decay)
        elif optimizer == "sgd":
            self.optimizer = MomentumSGD(rbm, momentum, weight_decay)
        else:
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        self.optimizer_name = optimizer
        self.centering = bool(centering)
        self.offsets: Centering | None = None  # built in fit, from the data mean
        if averaging is not None and not 0 <= averaging <= 1:
            raise ValueError(f"averaging must be a fraction of the epochs in [0, 1] or None, got {averaging!r}")
        averaging_start = math.floor(self.epochs * (1 - averaging)) if averaging else self.epochs
        # a window of one epoch averages the final model with itself: nothing to keep
        self.average = ParameterAverage(rbm, averaging_start) if averaging_start < self.epochs - 1 else None
        self.rao_blackwell = bool(rao_blackwell)
        # the epochs whose parameters make the returned model: backends may sample more carefully there
        self.final_phase_start = (averaging_start if averaging
                                  else math.floor(self.epochs * (1 - DEFAULT_FINAL_PHASE)))
        self.restart_epochs = (unit_restarts.check_epochs(self.epochs, averaging_start)
                               if restart_units and not self.general else set())
        self.gradient = GradientEstimator()
        self.seed = seed
        self.callbacks = list(callbacks)
        self.progress = progress
        self.evaluate = bool(evaluate)
        data_seed, sample_seed, eval_seed = np.random.SeedSequence(seed).spawn(3)
        self.data_rng = np.random.default_rng(data_seed)
        self.sample_rng = np.random.default_rng(sample_seed)
        self.eval_rng = np.random.default_rng(eval_seed)
        self.history = History()
        self.plan: dict[str, Any] = {}
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        if self.checkpoint_dir is not None and self.checkpoint_dir.exists() and not self.checkpoint_dir.is_dir():
            raise ValueError(f"checkpoint directory {self.checkpoint_dir} is an existing file; name a directory "
                             "(it is created if missing)")
        self.checkpoint_every = None if checkpoint_every is None else check_positive_int(checkpoint_every, "checkpoint_every")
        if not (np.isfinite(checkpoint_seconds) and checkpoint_seconds >= 0):
            raise ValueError(f"checkpoint_seconds must be a number >= 0, got {checkpoint_seconds!r}")
        self.checkpoint_seconds = float(checkpoint_seconds)
        self._last_write = time.monotonic()
        self.keep_checkpoints = check_positive_int(keep_checkpoints, "keep_checkpoints")
        self._hyperparameters = {"epochs": self.epochs, "batch_size": self.batch_size, "momentum": float(momentum),
                                 "weight_decay": float(weight_decay), "optimizer": optimizer,
                                 "rao_blackwell": self.rao_blackwell, "seed": seed, "centering": self.centering,
                                 "averaging": None if not averaging else float(averaging),
                                 "restart_units": bool(restart_units),
                                 "visible_values": visible_values, "clamped_sampling": bool(clamped_sampling)}
        self._default_schedule = learning_rate is None
        self._data_digest = ""
        self._unsaved: tuple[dict, dict] | None = None  # state of the last epoch not yet on disk

    def fit(self, data, resume: bool = False) -> History:
        """Train on `data` (examples x n_visible, 0/1) for `epochs` epochs; returns the History.

        resume: continue from the newest checkpoint in `checkpoint_dir` (same data and settings).
        """
        if self.visible_values == "unit-interval":  # visible probabilities: no per-epoch evaluation
            data = check_unit_interval(data, self.rbm.n_visible, "data").astype(self.rbm.dtype, order="C")
            self.evaluate = False
        else:  # kept as uint8 (1/8 of float64's memory), converted to the model's dtype per minibatch
            data = binary_states_uint8(data, self.rbm.n_visible, "data")  # row-major
        if self.checkpoint_dir is not None:
            self._data_digest = hashlib.sha256(data.tobytes()).hexdigest()
        updates_per_epoch = math.ceil(len(data) / self.batch_size)
        if self.schedule is None or self._default_schedule:
            self._default_schedule = True
            self.schedule = default_learning_rate(self.optimizer_name, self.epochs, updates_per_epoch, self.rbm.n_hidden)
        if self.centering and self.offsets is None:
            self.offsets = Centering(data.mean(axis=0, dtype=np.float64), self.rbm.n_hidden)
        if resume:
            self._resume()
        exact = self.evaluate and _exact_evaluation_is_cheap(self.rbm)
        remaining = self.epochs - len(self.history)
        self.resumed_epochs = len(self.history)  # epochs a resumed run found done (0 for a fresh run)
        self.plan = self.backend.prepare(self.rbm, remaining * updates_per_epoch, self.sample_rng)
        epochs = range(len(self.history), self.epochs)
        hide = None if self.progress is None else not self.progress  # None: show on a terminal only
        bar = tqdm(epochs, desc=f"train[{self.backend.name}]", unit="epoch", disable=hide, leave=False)
        # the try holds the whole loop: Ctrl-C can surface a few bytecodes after the call it hit
        try:
            for epoch in bar:
                if self._run_epoch(data, epoch, exact, bar):
                    break
        except (SamplerUnavailable, KeyboardInterrupt) as exc:  # keep what the completed epochs learned
            bar.close()
            raise TrainingInterrupted(f"{str(exc) or 'interrupted'}; {self._save_after_failure()}") from None
        bar.close()
        if self.average is not None and self.average.count:  # the run's result is the averaged model
            for target, value in zip(parameters(self.rbm), parameters(self.average.model(self.rbm))):
                target[...] = value
        return self.history

    def current_model(self) -> EnergyModel:
        """The model training would return if it stopped now: the parameter average once
        averaging has begun, else the trainer's model itself."""
        return self.rbm if self.average is None else self.average.model(self.rbm)

    def _run_epoch(self, data: np.ndarray, epoch: int, exact: bool, bar) -> bool:
        """Train, evaluate, record, call back and checkpoint one epoch; True if a callback stops."""
        self.backend.set_final_phase(epoch >= self.final_phase_start)
        record = self._train_epoch(data, epoch)
        if epoch + 1 in self.restart_epochs:
            record["units_restarted"] = self._restart_redundant_unit(data)
        if self.average is not None:
            self.average.add(self.rbm, epoch)
        if self.evaluate:
            record.update(self._evaluate(data, exact))
        self.history.append(record)
        if "log_likelihood" in record:
            bar.set_postfix(nll=f"{-record['log_likelihood']:.3f}")
        stop = any(callback(record, self) for callback in self.callbacks)
        self._checkpoint(final=stop or epoch + 1 == self.epochs)
        return stop

    def _restart_redundant_unit(self, data: np.ndarray) -> int:
        """Restart one redundant hidden unit (see `restart_units`); the number restarted."""
        unit = unit_restarts.restart_redundant_unit(self.rbm, unit_restarts.data_rows(data), self.sample_rng)
        if unit is None:
            return 0
        self.optimizer.forget_hidden_unit(unit)
        if self.offsets is not None:
            self.offsets.forget_hidden_unit(unit)
        return 1

    # --- checkpoints -------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        """What must match for a checkpoint to continue this run exactly (epochs may grow)."""
        config = {key: value for key, value in self._hyperparameters.items() if key != "epochs"}
        model = [self.rbm.n_visible, self.rbm.n_hidden, str(self.rbm.dtype)]
        if self.general:  # the graph too: same sizes on another graph is another model
            model += [self.rbm.model_type, hashlib.sha256(self.rbm.edges.tobytes()).hexdigest()]
        return {**config, "backend": repr(self.backend), "model": model,
                "data_sha256": self._data_digest}

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, document) that let a new Trainer continue exactly where this one is."""
        arrays = {f"model/{name}": value for name, value in self.rbm.parameter_arrays().items()}
        arrays.update({f"optimizer/{k}": v for k, v in self.optimizer.state_arrays().items()})
        arrays.update({f"backend/{k}": v for k, v in self.backend.state_arrays().items()})
        if self.offsets is not None:
            arrays.update({f"centering/{k}": v for k, v in self.offsets.state_arrays().items()})
        if self.average is not None:
            arrays.update({f"average/{k}": v for k, v in self.average.state_arrays().items()})
        document = {
            "epoch": len(self.history),
            "config": self._config(),
            "random_streams": {name: getattr(self, name).bit_generator.state for name in ("data_rng", "sample_rng", "eval_rng")},
            "history": list(self.history.records),  # records are never changed once appended
        }
        return {key: np.array(value, copy=True) for key, value in arrays.items()}, document

    def _checkpoint(self, final: bool) -> None:
        if self.checkpoint_dir is None:
            return
        self._unsaved = self.state()
        if self.checkpoint_every is not None:
            due = len(self.history) % self.checkpoint_every == 0
        else:
            due = time.monotonic() - self._last_write >= self.checkpoint_seconds
        if final or due:
            self._write(self._unsaved)

    def _write(self, state: tuple[dict, dict]) -> Path:
        arrays, document = state
        path = checkpoint.save_checkpoint(self.checkpoint_dir, document["epoch"], arrays, document, self.keep_checkpoints)
        self._unsaved = None
        self._last_write = time.monotonic()
        return path

    def _save_after_failure(self) -> str:
        if self.checkpoint_dir is None:
            return "no checkpoint directory was set, so completed epochs exist only in memory (pass checkpoint_dir / --checkpoint)"
        if self._unsaved is not None:  # the newest completed epoch, if it is not on disk yet
            self._write(self._unsaved)
        latest = checkpoint.latest_checkpoint(self.checkpoint_dir)
        if latest is None:
            return f"no epoch had completed, nothing to save in {self.checkpoint_dir}"
        return f"epoch {checkpoint.checkpoint_epoch(latest)} is saved in {latest}; rerun with --resume (fit(..., resume=True)) to continue"

    def _resume(self) -> None:
        if self.checkpoint_dir is None:
            raise ValueError("resume needs a checkpoint directory (checkpoint_dir / --checkpoint DIR)")
        candidates = checkpoint.list_checkpoints(self.checkpoint_dir)[::-1]  # newest first
        if not candidates:
            raise ValueError(f"no checkpoint to resume from in {self.checkpoint_dir}; run without --resume to start")
        failures = []
        for path in candidates:  # a damaged newest checkpoint falls back to the one before
            try:
                self.restore(path)
            except ValueError as exc:
                failures.append(exc)
                continue
            if failures:
                warnings.warn(f"{failures[0]}; resumed from the older {path.name} instead", RuntimeWarning, stacklevel=3)
            return
        raise failures[0]

    def restore(self, path: str | os.PathLike) -> None:
        """Load a checkpoint written by a Trainer with the same settings and data."""
        arrays, document = checkpoint.load_checkpoint(path)
        saved, current = document.get("config", {}), self._config()
        if not self._data_digest:
            saved = {key: value for key, value in saved.items() if key != "data_sha256"}
            current.pop("data_sha256")
        differing = sorted(key for key in set(saved) | set(current) if saved.get(key) != current.get(key))
        if differing:
            raise ValueError(
                f"{path} was written by a run with other settings ({', '.join(differing)} differ); "
                "rerun with the same arguments and data, or use a new checkpoint directory"
            )
        for name, value in self.rbm.parameter_arrays().items():
            value[...] = arrays[f"model/{name}"]
        prefixed = {prefix: {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix + "/")}
                    for prefix in ("optimizer", "backend", "centering", "average")}
        self.optimizer.load_state_arrays(prefixed["optimizer"])
        if self.centering:
            if self.offsets is None:  # restored before fit has seen the data
                self.offsets = Centering(prefixed["centering"].get("visible", np.zeros(self.rbm.n_visible)), self.rbm.n_hidden)
            self.offsets.load_state_arrays(prefixed["centering"])
        if self.average is not None:
            self.average.load_state_arrays(prefixed["average"])
        self.backend.load_state_arrays(prefixed["backend"])
        for name, state in document["random_streams"].items():
            getattr(self, name).bit_generator.state = state
        self.history = History()
        for record in document["history"]:
            self.history.append(record)

    def _train_epoch(self, data: np.ndarray, epoch: int) -> dict[str, Any]:
        start = time.perf_counter()
        rate = self.schedule(epoch)
        sampler_seconds = 0.0
        infos = []
        # one shuffled copy per epoch, then contiguous minibatches: gathering scattered rows right
        # after the matrix products took 0.6 ms per 784-wide minibatch, slicing the copy 0.03 ms
        shuffled = data[self.data_rng.permutation(len(data))]
        for first in range(0, len(data), self.batch_size):
            batch = shuffled[first : first + self.batch_size].astype(self.rbm.dtype)
            samples = self.backend.sample(self.rbm, batch, self.sample_rng)
            if samples.visible.ndim != 2 or samples.visible.shape[1] != self.rbm.n_visible or len(samples.visible) == 0:
                raise RuntimeError(
                    f"backend {self.backend!r} returned visible samples of shape {samples.visible.shape}"
                )
            sampler_seconds += samples.info.get("seconds", 0.0)
            infos.append(samples.info)
            if self.general:
                self.optimizer.step(self.rbm, self._general_gradient(batch, samples), rate)
                continue
            data_hidden = samples.data_hidden_probs
            if data_hidden is None:
                data_hidden = self.rbm.hidden_probs(batch, check=False)
            if self.offsets is not None:
                self.offsets.update(data_hidden)
            if samples.statistics is not None:  # exact model expectations
                gradient = statistics_difference(positive_statistics(self.rbm, batch, data_hidden), samples.statistics)
                if self.offsets is not None:
                    centred(gradient, *self.offsets.offsets(gradient.weights.dtype))
                self.optimizer.step(self.rbm, gradient, rate)
            else:
                scaled = self.optimizer.accepts_scaled_gradient
                if self.rao_blackwell and samples.visible_probs is not None:  # averaged over the visible layer
                    visible, hidden = samples.visible_probs, samples.hidden
                else:
                    visible, hidden = samples.visible, negative_hidden(
                        self.rbm, samples.visible, samples.hidden, self.rao_blackwell, samples.hidden_probs, self.sample_rng)
                gradient = self.gradient(batch, data_hidden, visible, hidden, self.offsets, samples.weights,
                                         scale=rate if scaled else 1.0)
                self.optimizer.step(self.rbm, gradient, rate, scaled=scaled)
        return {
            "epoch": epoch + 1,
            "learning_rate": rate,
            "seconds": time.perf_counter() - start,
            "sampler_seconds": sampler_seconds,
            **_summarise_sampler_info(infos),
        }

    def _general_gradient(self, batch: np.ndarray, samples) -> list[np.ndarray]:
        """<statistics>_data - <statistics>_model for a Boltzmann machine on any graph: the data
        term clamps the visible units; the model term is the backend's exact expectations or
        the (weighted) mean over its samples."""
        if self.clamped_sampling and self.rbm.hidden_units_interact:
            hidden = self.backend.sample_clamped(self.rbm, batch, self.sample_rng)
            positive = self.rbm.positive_statistics_from_samples(batch, hidden)
        else:
            positive = self.rbm.positive_statistics(batch)
        negative = samples.statistics
        if negative is None:
            negative = self.rbm.sufficient_statistics(np.hstack([samples.visible, samples.hidden]), samples.weights)
        gradient = [np.subtract(p, n, dtype=self.rbm.dtype) for p, n in zip(positive, negative)]
        if self.offsets is not None:
            self.offsets.update(self.rbm.to_graph_view(positive)[1][np.newaxis, self.rbm.n_visible:])
            gradient = list(self.rbm.centred_gradient(gradient, np.concatenate(self.offsets.offsets(np.float64))))
        return gradient

    def _evaluate(self, data: np.ndarray, exact: bool) -> dict[str, float]:
        model = self.current_model()
        result = {"reconstruction_error": metrics.reconstruction_error(model, data, self.eval_rng)}
        if exact:
            result["log_likelihood"] = metrics.log_likelihood(model, data)
        return result
