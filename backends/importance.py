"""Importance weights of a population of states: effective sample size and resampling.

Shared by the samplers that carry weights between temperatures (population annealing) or
between parameter updates (weighted persistent chains).
"""
from __future__ import annotations

import numpy as np


def systematic_resample(log_weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of len(log_weights) draws in proportion to the weights, by systematic resampling
    (one uniform, evenly spaced pointers: the lowest-variance standard scheme)."""
    weights = np.exp(log_weights - log_weights.max())
    cumulative = np.cumsum(weights)
    pointers = (rng.random() + np.arange(len(weights))) * (cumulative[-1] / len(weights))
    return np.minimum(np.searchsorted(cumulative, pointers, side="right"), len(weights) - 1)


def effective_sample_fraction(log_weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights, as a fraction of their number."""
    weights = np.exp(log_weights - log_weights.max())
    return float(weights.sum() ** 2 / (len(weights) * np.square(weights).sum()))


def normalised_weights(log_weights: np.ndarray) -> np.ndarray | None:
    """Weights summing to 1, or None when they are all equal (plain averages then apply)."""
    if np.ptp(log_weights) == 0:
        return None
    weights = np.exp(log_weights - log_weights.max())
    return weights / weights.sum()


def systematic_resample_groups(log_weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling within each row of a (groups, size) array of log weights, all rows
    at once; returns indices into the flattened array, `size` of them per row, each pointing
    into its own row."""
    groups, size = log_weights.shape
    weights = np.exp(log_weights - log_weights.max(axis=1, keepdims=True))
    cumulative = np.cumsum(weights, axis=1)
    cumulative /= cumulative[:, -1:]
    offsets = np.arange(groups)[:, np.newaxis]
    pointers = (rng.random((groups, 1)) + np.arange(size)) / size + offsets  # row k's in [k, k + 1)
    flat = np.searchsorted((cumulative + offsets).ravel(), pointers.ravel(), side="right")
    return np.minimum(flat, np.repeat((offsets.ravel() + 1) * size - 1, size))
