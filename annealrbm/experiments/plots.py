"""Figures: negative log-likelihood per epoch, one line per backend."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from annealrbm.fileio import atomic_write  # noqa: E402
from annealrbm.models.rbm import bernoulli  # noqa: E402


def plot_nll_per_epoch(
    curves: dict[str, np.ndarray], path: str | os.PathLike, optimum: float | None = None, title: str = ""
) -> Path:
    """Save a PNG of NLL (nats) per epoch for each named curve, with the optimum as a dashed line."""
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, nll in curves.items():
        axes.plot(np.arange(1, len(nll) + 1), nll, label=name, linewidth=1.6)
    if optimum is not None:
        axes.axhline(optimum, color="black", linestyle="--", linewidth=1, label=f"optimum {optimum:.3f}")
    axes.set_xlabel("epoch")
    axes.set_ylabel("exact NLL (nats per example)")
    axes.set_yscale("log")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    return _save(figure, path)


def nll_curves(results: Sequence) -> dict[str, np.ndarray]:
    """NLL per epoch of each experiment result, keyed by backend name."""
    return {result.label: -result.history["log_likelihood"] for result in results}


def _save(figure, path) -> Path:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return atomic_write(path, buffer.getvalue())


def plot_comparison(results: Sequence, x: str, path: str | os.PathLike, dataset: str) -> Path:
    """Held-out log-likelihood against `x` ('epoch' or 'wall_seconds'): mean line and a ±1 std
    band over seeds per backend (against wall seconds, x is the mean over seeds)."""
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    backends = list(dict.fromkeys(r.spec.backend for r in results))
    for backend in backends:
        runs = [r for r in results if r.spec.backend == backend]
        length = min(len(r.rows) for r in runs)
        ll = np.array([[row.get("test_log_likelihood", np.nan) for row in r.rows[:length]] for r in runs], float)
        xs = np.array([[row[x] for row in r.rows[:length]] for r in runs], float).mean(axis=0)
        keep = ~np.isnan(ll).any(axis=0)
        mean, std = ll[:, keep].mean(axis=0), ll[:, keep].std(axis=0)
        (line,) = axes.plot(xs[keep], mean, label=f"{backend} ({len(runs)} seeds)", linewidth=1.6)
        axes.fill_between(xs[keep], mean - std, mean + std, color=line.get_color(), alpha=0.2)
    axes.set_xlabel("epoch" if x == "epoch" else "training wall seconds")
    split = "held-out" if dataset in ("digits", "mnist") else "training-set"
    axes.set_ylabel(f"{split} log-likelihood (nats)")
    if x != "epoch":
        axes.set_xscale("log")
    axes.set_title(f"{dataset}: mean ± std over seeds")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _save(figure, path)


def _image_grid(axes, images: np.ndarray, shape: tuple[int, int], columns: int, cmap: str) -> None:
    rows = int(np.ceil(len(images) / columns))
    canvas = np.full((rows * (shape[0] + 1), columns * (shape[1] + 1)), np.nan)
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        canvas[r * (shape[0] + 1): r * (shape[0] + 1) + shape[0], c * (shape[1] + 1): c * (shape[1] + 1) + shape[1]] = image.reshape(shape)
    axes.imshow(canvas, cmap=cmap, interpolation="nearest")
    axes.axis("off")


def plot_filters(models: dict, shape: tuple[int, int], path: str | os.PathLike, max_filters: int = 64) -> Path:
    """Each backend's learned filters: the weight column of each hidden unit drawn as an image."""
    figure, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.6), dpi=110, squeeze=False)
    for axis, (backend, rbm) in zip(axes[0], models.items()):
        filters = rbm.W.T[:max_filters]
        scaled = filters / (np.abs(filters).max(axis=1, keepdims=True) + 1e-12)
        _image_grid(axis, scaled, shape, int(np.ceil(np.sqrt(len(filters)))), "RdBu_r")
        axis.set_title(backend)
    return _save(figure, path)


def plot_model_samples(models: dict, shape: tuple[int, int], path: str | os.PathLike, seed: int = 0,
                       num_samples: int = 36, num_sweeps: int = 1000) -> Path:
    """Samples from each backend's model: block-Gibbs chains from random states, `num_sweeps` sweeps."""
    figure, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 3.6), dpi=110, squeeze=False)
    for axis, (backend, rbm) in zip(axes[0], models.items()):
        rng = np.random.default_rng(seed)
        start = (rng.random((num_samples, rbm.n_visible)) < 0.5).astype(float)
        hidden = bernoulli(rbm.gibbs_sweeps(start, num_sweeps, rng)[1], rng)
        _image_grid(axis, rbm.visible_probs(hidden, check=False), shape, int(np.ceil(np.sqrt(num_samples))), "gray_r")
        axis.set_title(backend)
    return _save(figure, path)
