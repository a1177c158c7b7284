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
