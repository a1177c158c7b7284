"""Sufficient statistics of the log-likelihood gradient: positive phase from data, negative from samples.

    dL/dW = <v h^T>_data - <v h^T>_model   (and likewise for the biases with <v>, <h>)

The positive phase uses the exact p(h | v) of each training example. The negative phase uses
the sampled visible states with the exact p(h | v_sample) by default (Rao-Blackwellised:
same expectation, lower variance than the raw hidden samples).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from annealrbm.model import RBM, bernoulli


class Statistics(NamedTuple):
    """Means of v, h and v h^T over a set of states."""

    visible: np.ndarray
    hidden: np.ndarray
    visible_hidden: np.ndarray


def _statistics(visible: np.ndarray, hidden: np.ndarray) -> Statistics:
    visible_hidden = visible.T @ hidden
    visible_hidden /= visible.shape[0]
    return Statistics(visible.mean(axis=0), hidden.mean(axis=0), visible_hidden)


def positive_statistics(rbm: RBM, batch: np.ndarray, hidden_probs: np.ndarray | None = None) -> Statistics:
    """Data-dependent statistics with the exact hidden probabilities (`hidden_probs` if given)."""
    return _statistics(batch, rbm.hidden_probs(batch, check=False) if hidden_probs is None else hidden_probs)


def negative_hidden(
    rbm: RBM, visible: np.ndarray, hidden: np.ndarray | None, rao_blackwell: bool = True,
    hidden_probs: np.ndarray | None = None, rng: np.random.Generator | None = None,
) -> np.ndarray:
    """The negative phase's hidden half: p(h | visible) when Rao-Blackwellising (same
    expectation, lower variance; `hidden_probs` when the backend already has it), else the
    hidden samples, drawn from p(h | visible) with `rng` when the backend gave none."""
    if not rao_blackwell and hidden is not None:
        return hidden
    probs = rbm.hidden_probs(visible, check=False) if hidden_probs is None else hidden_probs
    if rao_blackwell:
        return probs
    if rng is None:
        raise ValueError("hidden samples are needed unless rao_blackwell=True; draw them from p(h | visible)")
    return bernoulli(probs, rng)


def negative_statistics(
    rbm: RBM, visible: np.ndarray, hidden: np.ndarray | None, rao_blackwell: bool = True,
    hidden_probs: np.ndarray | None = None,
) -> Statistics:
    """Model statistics from samples; `rao_blackwell` replaces hidden samples by p(h | v)
    (`hidden_probs`, when the backend already has it)."""
    return _statistics(visible, negative_hidden(rbm, visible, hidden, rao_blackwell, hidden_probs))


class Gradient(NamedTuple):
    """Ascent direction of the mean log-likelihood: data minus model statistics, for (W, a, b)."""

    weights: np.ndarray
    visible: np.ndarray
    hidden: np.ndarray


def statistics_difference(positive: Statistics, negative: Statistics) -> Gradient:
    """The gradient from statistics already averaged (e.g. exact model expectations)."""
    return Gradient(positive.visible_hidden - negative.visible_hidden, positive.visible - negative.visible,
                    positive.hidden - negative.hidden)


class GradientEstimator:
    """<v h^T>_data - <v h^T>_samples (and the bias terms) as one matrix product.

    Stacking the data over the samples, against p(h | data) / B over -hidden / N, gives both
    weight statistics and their difference in a single BLAS call with twice the inner
    dimension, into buffers kept between updates: no temporaries of the weights' size allocated
    and freed every update. The arrays returned are reused by the next call; optimizers may
    overwrite them.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = self._buffers[name] = np.empty(shape, dtype)
        return buffer

    def __call__(
        self, batch: np.ndarray, data_hidden: np.ndarray, visible: np.ndarray, hidden: np.ndarray
    ) -> Gradient:
        """Gradient from a minibatch with its p(h | data) and model samples (visible, hidden:
        p(h | visible) for the Rao-Blackwellised estimator, or hidden samples)."""
        num_data, num_samples = len(batch), len(visible)
        dtype = np.result_type(data_hidden, hidden)
        stacked_visible = self._buffer("visible", (num_data + num_samples, batch.shape[1]), dtype)
        stacked_hidden = self._buffer("hidden", (num_data + num_samples, data_hidden.shape[1]), dtype)
        stacked_visible[:num_data] = batch
        stacked_visible[num_data:] = visible
        np.divide(data_hidden, num_data, out=stacked_hidden[:num_data])
        np.divide(hidden, -num_samples, out=stacked_hidden[num_data:])
        weights = self._buffer("weights", (batch.shape[1], data_hidden.shape[1]), dtype)
        np.matmul(stacked_visible.T, stacked_hidden, out=weights)
        visible_term = batch.mean(axis=0, dtype=dtype)
        visible_term -= visible.mean(axis=0, dtype=dtype)
        return Gradient(weights, visible_term, stacked_hidden.sum(axis=0))
