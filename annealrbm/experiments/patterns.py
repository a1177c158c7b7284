"""The classic 20-dimensional pattern experiment: one RBM, several samplers, same start.

Four 20-bit patterns are learned by an RBM with 8 hidden units, once per backend (long-run
Gibbs, CD-1, simulated annealing, exact), every run starting from the same initial weights
with the same hyperparameters. Each pattern is then reconstructed five times (v -> h -> v')
and the exact NLL, KL(data || model) and reconstruction accuracy are reported beside the
optimum NLL ln 4.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from annealrbm.data import datasets
from annealrbm import metrics
from annealrbm.fileio import content_digest, load_npz, save_npz, write_json
from annealrbm.models import build_model
from annealrbm.training.trainer import History, Trainer

DEFAULT_BACKENDS = ("gibbs", "cd", "sa", "exact")

# Sampling budgets of the experiment where they differ from the backends' defaults: long-run
# Gibbs draws 1000 samples per update, the QPU backends 100 reads per call (qpu-mock places
# 10 copies of the model on its emulated chip). Every other
# backend runs with its defaults, as a user's Trainer would (CD-1 uses its 4 chains started at
# the data, as CD does).
EXPERIMENT_BACKEND_OPTIONS: dict[str, dict[str, Any]] = {
    "gibbs": {"num_samples": 1000, "burn_in": 500},
    "qpu-mock": {"num_reads": 100, "num_copies": 10},  # 10 copies x 100 reads
    "qpu": {"num_reads": 100},
}

ON, OFF = "\u25a0", "\u25a1"  # ■ □


@dataclass
class BackendResult:
    """What one backend's run produced, with the figures the report and results.json show."""

    backend: str
    epochs: int
    seconds: float
    sampler_seconds: float
    nll: float
    optimal_nll: float
    kl: float
    reconstruction_accuracy: float
    reconstructions: np.ndarray  # (n_patterns, n_reconstructions, n_visible)
    history: History = field(repr=False)
    extra: dict[str, Any] = field(default_factory=dict)
    model: str = "rbm"  # the model kind (annealrbm.models.MODEL_KINDS)

    @property
    def label(self) -> str:
        """The backend's name, with the model kind when it is not the RBM."""
        return self.backend if self.model == "rbm" else f"{self.backend} ({self.model})"

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / max(self.epochs, 1)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready row of results.json."""
        return {
            "backend": self.backend,
            "model": self.model,
            "epochs": self.epochs,
            "seconds_per_epoch": self.seconds_per_epoch,
            "nll": self.nll,
            "optimal_nll": self.optimal_nll,
            "kl": self.kl,
            "reconstruction_accuracy": self.reconstruction_accuracy,
            "seconds": self.seconds,
            "sampler_seconds": self.sampler_seconds,
            **self.extra,
        }


def unsupported_reason(backend: str, model: str, n_visible: int = 20, n_hidden: int = 8) -> str | None:
    """Why `backend` cannot train a `model` of this size in the experiment, or None if it can."""
    if model == "rbm":
        return None
    if backend == "bipartite-sa":
        return "population annealing samples bipartite (RBM) graphs only"
    if backend == "exact" and model == "fully-connected" and n_visible + n_hidden - 1 > 25:
        return (f"exact sampling of {n_visible + n_hidden} fully connected units needs treewidth "
                f"{n_visible + n_hidden - 1} (TreeDecompositionSampler's limit is 25)")
    return None


def optimal_nll(data: np.ndarray) -> float:
    """The smallest mean NLL any model can reach on `data`: the entropy of its empirical distribution."""
    _, counts = np.unique(data, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def run_pattern_experiment(
    backends: Sequence[str] = DEFAULT_BACKENDS,
    epochs: int = 200,
    n_hidden: int = 8,
    seed: int = 0,
    num_reconstructions: int = 5,
    backend_options: dict[str, dict[str, Any]] | None = None,
    jobs: int | None = None,
    progress: bool | None = None,
    model: str = "rbm",
    on_done: Callable[[BackendResult], None] | None = None,
    keep_dir: Path | None = None,
    resume: bool = False,
) -> list[BackendResult]:
    """Train one model per backend on patterns20 from the same initial weights; evaluate exactly.

    model: 'rbm' (default), 'semi-restricted' or 'fully-connected' (the original experiment's
    annealer model, every pair of units coupled; see `unsupported_reason` for the backends it
    cannot use). Backends run in up to `jobs` processes (default: one per core). Each run has
    its own seeded streams, so the results do not depend on `jobs`. `on_done(result)` is called
    as each backend finishes (progress). `keep_dir`: each finished backend's result is kept
    there; with `resume`, results kept with the same settings are loaded instead of rerun.
    """
    initial = build_model(model, datasets.patterns20().shape[1], n_hidden, seed=seed)
    options = {**EXPERIMENT_BACKEND_OPTIONS, **(backend_options or {})}
    runs = [(name, initial, epochs, seed, num_reconstructions, options.get(name), progress, model) for name in backends]
    keys = [_result_key(run) for run in runs]
    kept = {key: _load_result(keep_dir, key) for key in keys} if keep_dir and resume else {}
    todo = [(run, key) for run, key in zip(runs, keys) if not kept.get(key)]

    def finished(result: BackendResult, key: str) -> None:
        if keep_dir is not None:
            _save_result(result, keep_dir, key)
        kept[key] = result
        if on_done:
            on_done(result)

    jobs = min(max(len(todo), 1), jobs or os.cpu_count() or 1)
    if jobs <= 1:
        for run, key in todo:
            finished(_train_and_evaluate(*run), key)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_train_and_evaluate, *run): key for run, key in todo}
            for future in as_completed(futures):  # reported as they finish, returned in order
                finished(future.result(), futures[future])
    return [kept[key] for key in keys]


def _result_key(run: tuple) -> str:
    """File stem of a finished run: the backend, model and a hash of every setting."""
    name, initial, epochs, seed, reconstructions, options, _, model = run
    settings = json.dumps([name, model, epochs, seed, reconstructions, options, initial.n_hidden], sort_keys=True,
                          default=repr)
    return f"{model}-{name}-{content_digest({}, settings)[:12]}"


def _save_result(result: BackendResult, directory: Path, key: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    save_npz(directory / f"{key}.npz", {"reconstructions": result.reconstructions})
    write_json(directory / f"{key}.json", {"summary": result.summary(), "history": result.history.records})


def _load_result(directory: Path, key: str) -> BackendResult | None:
    try:
        stored = json.loads((directory / f"{key}.json").read_text())
        reconstructions = load_npz(directory / f"{key}.npz", ("reconstructions",), "kept result")["reconstructions"]
    except (OSError, ValueError, KeyError):
        return None
    summary, history = stored["summary"], History()
    for record in stored["history"]:
        history.append(record)
    fields = ("backend", "epochs", "seconds", "sampler_seconds", "nll", "optimal_nll", "kl", "reconstruction_accuracy")
    extra = {k: v for k, v in summary.items() if k not in fields + ("model", "seconds_per_epoch")}
    return BackendResult(**{k: summary[k] for k in fields}, reconstructions=reconstructions, history=history,
                         extra=extra, model=summary["model"])


def _train_and_evaluate(
    name: str,
    initial,  # the shared starting model (any annealrbm model)
    epochs: int,
    seed: int,
    num_reconstructions: int,
    options: dict[str, Any] | None,
    progress: bool | None,
    model: str = "rbm",
) -> BackendResult:
    """One backend's run of the experiment (a separate function so it can run in a process)."""
    data = datasets.patterns20()
    rbm = initial.copy()
    trainer = Trainer(rbm, backend=name, epochs=epochs, seed=seed, backend_options=options, progress=progress)
    history = trainer.fit(data)
    log_z = metrics.log_partition_function(rbm)
    # each backend's reconstructions draw from their own stream (seed and backend name), so the
    # display shows each model's own errors rather than the same flips in the same places
    originals = np.repeat(data, num_reconstructions, axis=0)
    stream = np.random.default_rng([seed, *name.encode()])
    reconstructions = rbm.reconstruct(originals, stream)
    extra = {}
    if "qpu_access_seconds" in history.last:  # QPU backends: cost, chains, temperature
        extra = {
            "beta_eff": float(history["beta_eff"][-1]),
            "chain_break_fraction": float(np.nanmean(history["chain_break_fraction"])),
            "qpu_access_seconds": float(np.nansum(history["qpu_access_seconds"]))
            + float(trainer.plan.get("calibration", {}).get("qpu_access_seconds", 0.0)),
        }
    return BackendResult(
        model=model,
        extra=extra,
        backend=name,
        epochs=len(history),
        seconds=float(np.sum(history["seconds"])),  # training only, per-epoch evaluation excluded
        sampler_seconds=float(np.sum(history["sampler_seconds"])),
        nll=-metrics.log_likelihood(rbm, data, log_z),
        optimal_nll=optimal_nll(data),
        kl=metrics.kl_divergence(rbm, data, log_z),
        reconstruction_accuracy=float(np.mean(reconstructions == originals)),
        reconstructions=reconstructions.reshape(len(data), num_reconstructions, -1),
        history=history,
    )


def pattern_row(bits: np.ndarray) -> str:
    """A 0/1 vector as a row of ■ (on) and □ (off)."""
    return "".join(ON if bit else OFF for bit in np.asarray(bits).astype(bool))


def format_reconstruction_grid(data: np.ndarray, results: Sequence[BackendResult]) -> str:
    """Each pattern once, with every backend's reconstructions beside it in one column per
    backend (■ on, □ off); a number after a reconstruction counts its wrong bits."""
    width = data.shape[1] + 3
    header = " " * (11 + data.shape[1]) + "   " + "".join(f"{r.label[:width - 1]:<{width}}" for r in results)
    lines = [header]
    for index, pattern in enumerate(data):
        for number in range(results[0].reconstructions.shape[1]):
            left = f"pattern {index}  {pattern_row(pattern)}" if number == 0 else " " * (11 + data.shape[1])
            cells = []
            for result in results:
                recon = result.reconstructions[index, number]
                wrong = int(np.sum(recon != pattern))
                cells.append(f"{pattern_row(recon)} {wrong if wrong else ' ':<{width - data.shape[1] - 1}}")
            lines.append(f"{left}   {''.join(cells)}".rstrip())
    return "\n".join(lines)


def format_table(results: Sequence[BackendResult]) -> str:
    """One line per backend: epochs, training time per epoch, total sampler time, exact NLL vs
    optimum, KL(data || model), reconstruction bit accuracy."""
    width = max([8, *(len(r.label) for r in results)])
    header = (
        f"{'backend':<{width}} {'epochs':>6} {'s/epoch':>9} {'sampler s':>9} {'NLL (nats)':>10} "
        f"{'optimum':>8} {'KL':>7} {'recon acc':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.label:<{width}} {r.epochs:>6d} {r.seconds_per_epoch:>9.4f} {r.sampler_seconds:>9.2f} {r.nll:>10.3f} "
            f"{r.optimal_nll:>8.3f} {r.kl:>7.3f} {r.reconstruction_accuracy:>9.1%}"
        )
    for r in results:
        if "beta_eff" in r.extra:
            lines.append(
                f"{r.backend}: beta_eff {r.extra['beta_eff']:.3f} (last call), chain breaks "
                f"{r.extra['chain_break_fraction']:.2%} (mean), QPU access {r.extra['qpu_access_seconds']:.2f} s (total"
                f"{', emulated timing' if r.backend == 'qpu-mock' else ''})"
            )
    return "\n".join(lines)
