"""Sufficient statistics of the log-likelihood gradient: positive phase from data, negative from samples.

    dL/dW = <v h^T>_data - <v h^T>_model   (and likewise for the biases with <v>, <h>)

The positive phase uses the exact p(h | v) of each training example. The negative phase uses
the sampled visible states with the exact p(h | v_sample) by default (Rao-Blackwellised:
same expectation, lower variance than the raw hidden samples).

Centring (Melchior, Fischer & Wiskott 2016, "How to center deep Boltzmann machines") writes
the energy with offsets mu (visible) and lambda (hidden),
E = -(v - mu).a' - (h - lambda).b' - (v - mu)^T W (h - lambda), takes the gradient step in
those parameters and re-expresses it in the usual ones:

    dW = <(v - mu)(h - lambda)^T>_data - <(v - mu)(h - lambda)^T>_model
    da = <v>_data - <v>_model - dW lambda,     db = <h>_data - <h>_model - dW^T mu

The model itself is unchanged; only the direction of the step is better conditioned.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from annealrbm.models.rbm import RBM, bernoulli


class Statistics(NamedTuple):
    """Means of v, h and v h^T over a set of states."""

    visible: np.ndarray
    hidden: np.ndarray
    visible_hidden: np.ndarray


def _statistics(visible: np.ndarray, hidden: np.ndarray, weights: np.ndarray | None = None) -> Statistics:
    if weights is not None:
        return Statistics(weights @ visible, weights @ hidden, (visible * weights[:, np.newaxis]).T @ hidden)
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
    hidden_probs: np.ndarray | None = None, weights: np.ndarray | None = None,
) -> Statistics:
    """Model statistics from samples (weighted by `weights` when given); `rao_blackwell`
    replaces hidden samples by p(h | v) (`hidden_probs`, when the backend already has it)."""
    return _statistics(visible, negative_hidden(rbm, visible, hidden, rao_blackwell, hidden_probs), weights)


class Gradient(NamedTuple):
    """Ascent direction of the mean log-likelihood: data minus model statistics, for (W, a, b)."""

    weights: np.ndarray
    visible: np.ndarray
    hidden: np.ndarray


def statistics_difference(positive: Statistics, negative: Statistics) -> Gradient:
    """The gradient from statistics already averaged (e.g. exact model expectations)."""
    return Gradient(positive.visible_hidden - negative.visible_hidden, positive.visible - negative.visible,
                    positive.hidden - negative.hidden)


class Centering:
    """Offsets of the centred gradient: mu = the training data's mean (fixed), lambda = a moving
    average of the positive phase's hidden means (`sliding` per update, as in Melchior et al.)."""

    def __init__(self, data_mean: np.ndarray, n_hidden: int, sliding: float = 0.01) -> None:
        if not 0 < sliding <= 1:
            raise ValueError(f"the centring sliding factor must be in (0, 1], got {sliding!r}")
        self.visible = np.asarray(data_mean, dtype=np.float64).copy()
        self.hidden = np.full(n_hidden, 0.5)
        self.sliding = float(sliding)

    def update(self, data_hidden: np.ndarray) -> None:
        """Move lambda towards this minibatch's mean of p(h | data)."""
        self.hidden *= 1 - self.sliding
        # the mean as a vector product in the minibatch's dtype (one BLAS call over a hundred
        # or so rows), rather than a float64 reduction that casts every element first
        self.hidden += self.sliding / len(data_hidden) * (np.ones(len(data_hidden), data_hidden.dtype) @ data_hidden)

    def offsets(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        return self.visible.astype(dtype, copy=False), self.hidden.astype(dtype, copy=False)

    def forget_hidden_unit(self, unit: int) -> None:
        """Start a restarted hidden unit's offset afresh, at the mean of an unbiased unit."""
        self.hidden[unit] = 0.5

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {"visible": self.visible, "hidden": self.hidden}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for name in ("visible", "hidden"):
            if name not in arrays or arrays[name].shape != getattr(self, name).shape:
                raise ValueError(f"centring offset {name!r} is missing or has the wrong shape")
            getattr(self, name)[...] = arrays[name]


def centred(gradient: Gradient, visible_offset: np.ndarray, hidden_offset: np.ndarray) -> Gradient:
    """The centred update from an uncentred gradient (in place), per the module docstring:
    dW_c = dW - mu db^T - da lambda^T, then the biases from dW_c. (GradientEstimator centres
    its stacked rows instead, at no extra cost.)"""
    weights, visible, hidden = gradient
    weights -= np.outer(visible_offset, hidden)
    weights -= np.outer(visible, hidden_offset)
    visible -= weights @ hidden_offset
    hidden -= visible_offset @ weights
    return gradient


def centred_on_graph(gradient: list[np.ndarray], offsets: np.ndarray, edges: np.ndarray) -> list[np.ndarray]:
    """The centred update of a Boltzmann machine on any graph (in place), from the uncentred
    (per-edge, per-unit) gradient: the RBM formulas above with one offset per unit,

        dJ_ij = dP_ij - mu_j dU_i - mu_i dU_j,    db_i = dU_i - sum_{j ~ i} dJ_ij mu_j

    where dP and dU are the pair and unit statistics' differences (data minus model)."""
    pairs, units = gradient
    first, second = edges[:, 0], edges[:, 1]
    pairs -= offsets[second] * units[first] + offsets[first] * units[second]
    n_units = len(units)
    units -= (np.bincount(first, weights=pairs * offsets[second], minlength=n_units)
              + np.bincount(second, weights=pairs * offsets[first], minlength=n_units)).astype(units.dtype)
    return gradient


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
        self, batch: np.ndarray, data_hidden: np.ndarray, visible: np.ndarray, hidden: np.ndarray,
        centering: Centering | None = None, weights: np.ndarray | None = None, scale: float = 1.0,
    ) -> Gradient:
        """Gradient from a minibatch with its p(h | data) and model samples (visible, hidden:
        p(h | visible) for the Rao-Blackwellised estimator, or hidden samples); the centred
        update when `centering` offsets are given (subtracted in the stacked buffers, so the
        centred weight statistics cost no extra product); samples weighted by `weights`
        (summing to 1) when given; multiplied by `scale` (a step size folded into the stacked
        rows costs nothing, where scaling the result would be a pass over the weights)."""
        num_data, num_samples = len(batch), len(visible)
        dtype = np.result_type(data_hidden, hidden)
        stacked_visible = self._buffer("visible", (num_data + num_samples, batch.shape[1]), dtype)
        stacked_hidden = self._buffer("hidden", (num_data + num_samples, data_hidden.shape[1]), dtype)
        # each row's factor in the averages: scale / B for the data, -scale / N (or -scale times
        # its weight) for the samples; the visible term is then one vector product
        row_factors = self._buffer("row_factors", (num_data + num_samples,), dtype)
        row_factors[:num_data] = scale / num_data
        if weights is None:
            row_factors[num_data:] = -scale / num_samples
        else:
            np.multiply(weights, -scale, out=row_factors[num_data:], casting="same_kind")
        # the visible rows, centred on the way in (the offsets cancel in the bias term below)
        visible_offset, hidden_offset = (0, 0) if centering is None else centering.offsets(dtype)
        np.subtract(batch, visible_offset, out=stacked_visible[:num_data])
        np.subtract(visible, visible_offset, out=stacked_visible[num_data:])
        visible_term = row_factors @ stacked_visible
        np.subtract(data_hidden, hidden_offset, out=stacked_hidden[:num_data])
        np.subtract(hidden, hidden_offset, out=stacked_hidden[num_data:])
        stacked_hidden *= row_factors[:, np.newaxis]
        weights = self._buffer("weights", (batch.shape[1], data_hidden.shape[1]), dtype)
        np.matmul(stacked_visible.T, stacked_hidden, out=weights)
        hidden_term = stacked_hidden.sum(axis=0)
        if centering is not None:
            # the centred biases, a - dW_c lambda and b - mu^T dW_c, with dW_c = V_c^T H_c
            # factored through the stacked rows: two thin products on arrays still in cache
            # instead of two passes over the weights' gradient
            visible_term -= stacked_visible.T @ (stacked_hidden @ hidden_offset)
            hidden_term -= (stacked_visible @ visible_offset) @ stacked_hidden
        return Gradient(weights, visible_term, hidden_term)
