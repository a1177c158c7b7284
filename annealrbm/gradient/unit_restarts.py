"""Restarting redundant hidden units: a way out of the saddles of early training.

From small initial weights every hidden unit of an RBM first grows along the strongest
directions of the data. On some data sets all of them saturate on the same one or two
partitions of the examples before a weaker direction is learned; a saturated unit's gradient
vanishes, and a visible unit that needs the missing direction stays unexplained (about ln 2
per such unit above the optimum) for hundreds of epochs. Two saturated units with the same
code on the data are redundant. Merging one into the other and restarting it from small
weights keeps the distribution (for saturated units softplus(x) + softplus(x') equals
softplus(x + x') wherever both inputs have the same sign) and frees a unit that learns what
the others left out. A restart is made only while some visible unit is left unexplained (its
reconstruction from the hidden layer predicts it no better than its mean does): a model that
misses nothing keeps its units, since a merged twin makes the energy landscape sharper.
"""
from __future__ import annotations

import numpy as np

from annealrbm.models.rbm import RBM

SAMPLE_ROWS = 1000  # data rows on which codes are compared
SATURATED_PROBABILITY = 0.05  # p(h | v) within this of 0 or 1 counts as saturated
SATURATED_SHARE = 0.95  # a unit is saturated if it is on that many of the rows
RESTART_WEIGHT_SCALE = 0.01  # the restarted unit's weights, as RBM's default initialisation
UNEXPLAINED_ENTROPY = 0.3  # nats: visible units with less entropy on the data are not looked at
UNEXPLAINED_SHARE = 0.5  # reconstruction cross-entropy above this share of the entropy: unexplained
CHECK_FRACTIONS = (0.05, 0.1, 0.15)  # of the epochs: when the trainer looks for redundant units


def check_epochs(epochs: int, averaging_start: int) -> set[int]:
    """The numbers of completed epochs after which a run of `epochs` epochs looks for redundant
    units: none after the last epoch, and none once epoch `averaging_start` (0-based, where
    parameter averaging begins) is done, since an average over a restart would mix two units."""
    counts = {max(1, round(fraction * epochs)) for fraction in CHECK_FRACTIONS}
    return {count for count in counts if count < min(epochs, averaging_start + 1)}


def data_rows(data: np.ndarray) -> np.ndarray:
    """Up to SAMPLE_ROWS evenly spaced rows of the training data, as floats."""
    return np.asarray(data[:: max(1, len(data) // SAMPLE_ROWS)], dtype=np.float64)


def unexplained_visible_units(rbm: RBM, rows: np.ndarray, hidden_probs: np.ndarray) -> np.ndarray:
    """Visible units whose mean-field reconstruction p(v | p(h | v)) predicts the rows no better
    (cross-entropy above UNEXPLAINED_SHARE of the entropy) than the unit's mean on the rows does."""
    entropy = _cross_entropy(rows, rows.mean(axis=0))
    reconstruction = rbm.visible_probs(hidden_probs.astype(rbm.dtype), check=False).astype(np.float64)
    cross_entropy = _cross_entropy(rows, reconstruction)
    return np.flatnonzero((entropy > UNEXPLAINED_ENTROPY) & (cross_entropy > UNEXPLAINED_SHARE * entropy))


def _cross_entropy(rows: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Per visible unit, the mean cross-entropy (nats) of the 0/1 rows under probabilities
    `probs` (one row per data row, or one shared row): the entropy when `probs` is their mean."""
    probs = np.clip(probs, 1e-12, 1 - 1e-12)
    return -(rows * np.log(probs) + (1 - rows) * np.log1p(-probs)).mean(axis=0)


def redundant_pair(hidden_probs: np.ndarray) -> tuple[int, int, bool] | None:
    """(kept unit, redundant unit, same sign) from the largest group of saturated hidden units
    that share one code on the rows (up to complement), or None if no two units do."""
    codes = hidden_probs > 0.5
    saturated = (np.minimum(hidden_probs, 1 - hidden_probs) < SATURATED_PROBABILITY).mean(axis=0) > SATURATED_SHARE
    units = np.flatnonzero(saturated)
    if len(units) < 2:
        return None
    canonical = codes[:, units] ^ codes[:1, units]  # a code and its complement map to one key
    _, group, counts = np.unique(canonical.T, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    largest = np.argmax(counts)
    if counts[largest] < 2:
        return None
    kept, redundant = units[group == largest][[0, -1]]
    return int(kept), int(redundant), bool(codes[0, kept] == codes[0, redundant])


def restart_redundant_unit(rbm: RBM, rows: np.ndarray, rng: np.random.Generator) -> int | None:
    """Merge one redundant saturated hidden unit into its twin and restart it from small random
    weights, in place, if a visible unit is unexplained; returns the restarted unit or None.
    The merged twin carries both fields: for a unit with the twin's code W_twin += W_j, b_twin += b_j; for the complementary code
    x_j = -(input of the twin) up to a linear term, so the visible bias takes W_j and the twin
    -W_j, -b_j. The restarted unit's bias centres its input on the rows' mean."""
    hidden_probs = rbm.hidden_probs(rows.astype(rbm.dtype), check=False).astype(np.float64)
    if not len(unexplained_visible_units(rbm, rows, hidden_probs)):
        return None
    pair = redundant_pair(hidden_probs)
    if pair is None:
        return None
    kept, unit, same = pair
    if same:
        rbm.W[:, kept] += rbm.W[:, unit]
        rbm.hidden_bias[kept] += rbm.hidden_bias[unit]
    else:
        rbm.visible_bias += rbm.W[:, unit]
        rbm.W[:, kept] -= rbm.W[:, unit]
        rbm.hidden_bias[kept] -= rbm.hidden_bias[unit]
    rbm.W[:, unit] = RESTART_WEIGHT_SCALE * rng.standard_normal(rbm.n_visible)
    rbm.hidden_bias[unit] = -(rows.mean(axis=0) @ rbm.W[:, unit])
    return unit
