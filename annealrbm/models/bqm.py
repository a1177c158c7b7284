"""The one mapping between RBM parameters and a dimod binary quadratic model.

Variables are labelled 0..n_visible-1 for the visible units and n_visible..n_visible+n_hidden-1
for the hidden units (visible first, then hidden). With E(v, h) = -a.v - b.h - v^T W h:

    linear[v_i] = -beta a_i,   linear[h_j] = -beta b_j,   quadratic[(v_i, h_j)] = -beta W_ij

so the BQM energy of a state equals beta * E(v, h) exactly (vartype BINARY).
"""
from __future__ import annotations

import dimod
import numpy as np


def rbm_to_bqm(
    weights: np.ndarray, visible_bias: np.ndarray, hidden_bias: np.ndarray, beta: float = 1.0
) -> dimod.BinaryQuadraticModel:
    """Build the BINARY BQM of an RBM from its arrays, without Python loops over couplings."""
    n_visible, n_hidden = weights.shape
    linear = -beta * np.concatenate([visible_bias, hidden_bias])
    rows = np.repeat(np.arange(n_visible), n_hidden)
    cols = n_visible + np.tile(np.arange(n_hidden), n_visible)
    values = -beta * weights.ravel()
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        linear, (rows, cols, values), 0.0, dimod.BINARY
    )


def sampleset_to_states(
    sampleset: dimod.SampleSet, n_visible: int, n_hidden: int
) -> tuple[np.ndarray, np.ndarray]:
    """Turn a SampleSet over the RBM's labels into (visible, hidden) 0/1 float arrays.

    Rows are expanded by `num_occurrences`, so histogram-mode answers weigh correctly.
    SPIN samples are converted to BINARY.
    """
    n_units = n_visible + n_hidden
    labels = np.asarray(list(sampleset.variables))
    if labels.shape != (n_units,) or not np.array_equal(np.sort(labels), np.arange(n_units)):
        raise ValueError(
            f"sample set variables do not match an RBM with {n_visible} visible and "
            f"{n_hidden} hidden units (expected labels 0..{n_units - 1})"
        )
    column_of_label = np.empty(n_units, dtype=np.intp)
    column_of_label[labels.astype(np.intp)] = np.arange(n_units)
    record = sampleset.record
    states = np.asarray(record.sample, dtype=np.float64)[:, column_of_label]
    if sampleset.vartype is dimod.SPIN:
        states = (states + 1.0) / 2.0
    counts = np.asarray(record.num_occurrences, dtype=np.intp)
    if np.any(counts != 1):
        states = np.repeat(states, counts, axis=0)
    return states[:, :n_visible], states[:, n_visible:]
