"""Sufficient statistics of the log-likelihood gradient: positive phase from data, negative from samples.

    dL/dW = <v h^T>_data - <v h^T>_model   (and likewise for the biases with <v>, <h>)

The positive phase uses the exact p(h | v) of each training example. The negative phase uses
the sampled visible states with the exact p(h | v_sample) by default (Rao-Blackwellised:
same expectation, lower variance than the raw hidden samples).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from annealrbm.model import RBM


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


def negative_statistics(
    rbm: RBM, visible: np.ndarray, hidden: np.ndarray, rao_blackwell: bool = True,
    hidden_probs: np.ndarray | None = None,
) -> Statistics:
    """Model statistics from samples; `rao_blackwell` replaces hidden samples by p(h | v)
    (`hidden_probs`, when the backend already has it)."""
    if rao_blackwell:
        hidden = rbm.hidden_probs(visible, check=False) if hidden_probs is None else hidden_probs
    return _statistics(visible, hidden)
