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

from .fileio import atomic_write  # noqa: E402


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
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return atomic_write(path, buffer.getvalue())


def nll_curves(results: Sequence) -> dict[str, np.ndarray]:
    """NLL per epoch of each experiment result, keyed by backend name."""
    return {result.backend: -result.history["log_likelihood"] for result in results}
