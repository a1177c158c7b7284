"""Checks for user input: one place that turns bad data into a ValueError that says what to do."""
from __future__ import annotations

import numpy as np


def check_binary_states(states, n_units: int, name: str = "data") -> np.ndarray:
    """Return `states` as a 2-D float64 array of 0/1 values with `n_units` columns.

    A single state (1-D) is promoted to a batch of one. Raises ValueError naming the
    problem for wrong shape, empty input, NaN/inf or values outside {0, 1}.
    """
    try:
        array = np.asarray(states, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array of 0/1 values: {exc}") from None
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (examples x {n_units} units), got {array.ndim} dimensions"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: give at least one example")
    if array.shape[1] != n_units:
        raise ValueError(
            f"{name} has {array.shape[1]} columns but the model has {n_units} units in that layer"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; clean the data first")
    if np.any((array != 0.0) & (array != 1.0)):
        raise ValueError(f"{name} has values outside {{0, 1}}; binarise it first (e.g. x > 0.5)")
    return array


def check_unit_interval(values, n_units: int, name: str = "data") -> np.ndarray:
    """Return `values` as a 2-D float64 array in [0, 1] with `n_units` columns (visible
    probabilities, as scikit-learn's BernoulliRBM takes them); ValueError otherwise."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array of values in [0, 1]: {exc}") from None
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != n_units:
        raise ValueError(f"{name} must be a non-empty 2-D array with {n_units} columns, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; clean the data first")
    if array.min() < 0 or array.max() > 1:
        raise ValueError(f"{name} has values outside [0, 1]; scale it first (e.g. sklearn.preprocessing.minmax_scale)")
    return array


def binary_states_uint8(states, n_units: int, name: str = "data") -> np.ndarray:
    """`check_binary_states` returning uint8: a data set stays at one byte per unit, with no
    float64 copy (8 bytes per unit) on the way. Same checks and error messages. Row-major, as
    training and evaluation take whole rows: from a column-major array a shuffled gather of
    rows strides through memory and takes twenty times as long."""
    array = np.asarray(states)
    if array.ndim == 2 and array.shape[0] > 0 and array.shape[1] == n_units:
        if array.dtype.kind in "bui" and array.min() >= 0 and array.max() <= 1:
            return array.astype(np.uint8, order="C", copy=False)
        if array.dtype.kind == "f":  # all values are 0 or 1 exactly when every nonzero one is a 1
            ones = np.equal(array, 1, order="C")
            if np.count_nonzero(ones) == np.count_nonzero(array):
                return ones.view(np.uint8)
    return check_binary_states(array, n_units, name).astype(np.uint8)  # raises, naming the problem


def check_whole_number(value, name: str, minimum: int = 0) -> int:
    """Return `value` as an int >= `minimum`, or raise ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def check_positive_int(value, name: str) -> int:
    """Return `value` as an int >= 1, or raise ValueError naming the parameter."""
    return check_whole_number(value, name, minimum=1)


def check_non_negative(value, name: str) -> float:
    """Return `value` as a finite float >= 0, or raise ValueError naming the parameter."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}") from None
    if not np.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number
