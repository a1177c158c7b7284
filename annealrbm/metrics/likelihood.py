"""Exact evaluation of RBMs: log Z by enumerating the smaller layer, log-likelihood, KL, moments.

Summing out one layer analytically leaves 2^min(n_visible, n_hidden) terms; they are
enumerated in chunks and combined with logsumexp, so models with a layer of up to ~20 units
are evaluated exactly in seconds.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

import numpy as np
from scipy.special import expit, logsumexp

from annealrbm.metrics.ais import ais_log_partition_function, reverse_ais_log_partition_function
from annealrbm.models.rbm import RBM, softplus
from annealrbm.models import enumeration
from annealrbm.validation import binary_states_uint8, check_binary_states, check_positive_int

MAX_ENUMERATED_UNITS = 26
_CHUNK_ELEMENTS = 1 << 21


def exact_is_feasible(rbm: RBM, max_units: int = 20) -> bool:
    """Whether exact log Z is cheap: the smaller layer has at most `max_units` units (an RBM);
    for other models, whether enumeration needs at most 2^(max_units + 4) terms."""
    if not rbm.two_layer_fast_paths:
        try:
            return enumeration.Plan(rbm).size <= max_units + 4 and (
                not rbm.hidden_units_interact or rbm.n_hidden <= enumeration.MAX_HIDDEN_ENUMERATED)
        except ValueError:
            return False
    return min(rbm.n_visible, rbm.n_hidden) <= max_units


def all_binary_states(n_units: int) -> np.ndarray:
    """All 2^n_units states of n_units binary units as a float array, first unit fastest."""
    return enumeration.states_range(0, 1 << n_units, n_units)


def _enumeration_plan(rbm: RBM):
    """Pick the smaller layer to enumerate: (its bias, the other bias, W oriented enum x other)."""
    if rbm.n_hidden <= rbm.n_visible:
        return "hidden", rbm.hidden_bias, rbm.visible_bias, rbm.W.T
    return "visible", rbm.visible_bias, rbm.hidden_bias, rbm.W


T = TypeVar("T")


def _map_enumerated_chunks(rbm: RBM, reduce_chunk: Callable[[np.ndarray, np.ndarray, np.ndarray], T]) -> list[T]:
    """Apply `reduce_chunk(states, other_preactivation, log_weights)` to every chunk of the
    enumerated layer, on all cores (numpy releases the GIL in its ufuncs and BLAS)."""
    _, own_bias, other_bias, coupling = _enumeration_plan(rbm)
    n_enum, n_other = coupling.shape
    if n_enum > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"exact evaluation enumerates 2^{n_enum} states of the smaller layer; that is too many "
            f"(limit {MAX_ENUMERATED_UNITS} units): use an estimate such as AIS instead"
        )
    total = 1 << n_enum
    chunk = max(1, min(total, _CHUNK_ELEMENTS // max(n_other, 1)))

    def run(start: int) -> T:
        states = enumeration.states_range(start, min(start + chunk, total), n_enum)
        preactivation = states @ coupling + other_bias
        log_weights = states @ own_bias + softplus(preactivation).sum(axis=1)
        return reduce_chunk(states, preactivation, log_weights)

    starts = range(0, total, chunk)
    if len(starts) == 1:
        return [run(0)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(run, starts))


def log_partition_function(rbm: RBM) -> float:
    """Exact log Z (natural log): an RBM's smaller layer enumerated; any other model by the
    cheapest enumeration of `annealrbm.models.enumeration`."""
    if not rbm.two_layer_fast_paths:
        return enumeration.log_partition_function(rbm)
    return float(logsumexp(_map_enumerated_chunks(rbm, lambda _s, _p, log_weights: logsumexp(log_weights))))


def estimated_log_partition_function(rbm: RBM, data=None, seed=None, **ais_options) -> tuple[float, float, str]:
    """(log Z, standard error, method): exact when enumeration is cheap (`exact_is_feasible`), else AIS."""
    if exact_is_feasible(rbm):
        return log_partition_function(rbm), 0.0, "exact"
    log_z, error = ais_log_partition_function(rbm, data, seed=seed, **ais_options)
    return log_z, error, "ais"


def mean_negative_free_energy(model, data) -> tuple[float, str]:
    """The mean of -F(v) over the rows of `data` and how it was computed: "exact", or for a model
    with too many interacting hidden units to sum out, "mean-field bound" (-F_q(v) <= -F(v),
    `enumeration.mean_field_free_energy`), so a log-likelihood from it is a lower bound."""
    if not model.hidden_units_interact or enumeration.exact_free_energy_is_feasible(model):
        return float(-model.free_energy(data).mean()), "exact"
    return float(-enumeration.mean_field_free_energy(model, data).mean()), "mean-field bound"


def log_likelihood_bounds(rbm: RBM, data, seed=None, method: str = "auto", num_chains: int = 100,
                          **ais_options) -> tuple[float, float, dict]:
    """(conservative, optimistic) mean log-likelihood of `data`, and the details.

    method "exact" (or "auto" when the smaller layer has <= 20 units) gives the exact value
    twice. "ais": forward AIS, whose log Z is biased low (a likelihood too good), and reverse
    AIS started from `num_chains` rows of `data`, whose log Z errs high (a likelihood too
    poor); the lower of the two likelihoods is returned as the conservative one, so sampling
    noise never narrows the bracket. The gap says how far either figure can be trusted. The
    details hold both log Z estimates ('log_z_forward', 'log_z_reverse'), their standard
    errors, the method, and how log p(v)'s free energy was computed ('free_energy'): "exact", or
    for a model with more than 20 interacting hidden units "mean-field bound" (F_q(v) >= F(v),
    `enumeration.mean_field_free_energy`), which lowers both figures by the bound's gap.
    """
    data = check_binary_states(data, rbm.n_visible, "data")
    if method not in ("auto", "exact", "ais"):
        raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
    if method == "auto":
        method = "exact" if exact_is_feasible(rbm) else "ais"
    mean_log_f, free_energy = mean_negative_free_energy(rbm, data)
    if method == "exact":
        log_z = log_partition_function(rbm)
        details = {"method": "exact", "log_z_forward": log_z, "log_z_reverse": log_z,
                   "standard_error_forward": 0.0, "standard_error_reverse": 0.0, "free_energy": free_energy}
        return mean_log_f - log_z, mean_log_f - log_z, details
    rng = np.random.default_rng(seed)
    forward_seed, reverse_seed, pick_seed = rng.integers(2**63, size=3)
    log_z, error = ais_log_partition_function(rbm, data, num_chains=num_chains, seed=forward_seed, **ais_options)
    starts = data[np.random.default_rng(pick_seed).choice(len(data), size=min(num_chains, len(data)), replace=False)]
    reverse_options = {key: value for key, value in ais_options.items() if key in ("num_betas", "betas", "progress")}
    log_z_high, error_high = reverse_ais_log_partition_function(rbm, starts, seed=reverse_seed, **reverse_options)
    details = {"method": "ais", "log_z_forward": log_z, "log_z_reverse": log_z_high,
               "standard_error_forward": error, "standard_error_reverse": error_high, "free_energy": free_energy}
    estimates = (mean_log_f - log_z_high, mean_log_f - log_z)
    return min(estimates), max(estimates), details


def log_likelihood(rbm: RBM, data, log_z: float | None = None) -> float:
    """Exact mean log p(v) over the rows of `data`, in nats (pass `log_z` to reuse it)."""
    data = check_binary_states(data, rbm.n_visible, "data")
    if log_z is None:
        log_z = log_partition_function(rbm)
    return float(-rbm.free_energy(data).mean() - log_z)


def kl_divergence(rbm: RBM, data, log_z: float | None = None) -> float:
    """KL(data || model) in nats, with the data's empirical distribution over distinct rows."""
    data = check_binary_states(data, rbm.n_visible, "data")
    if log_z is None:
        log_z = log_partition_function(rbm)
    distinct, counts = np.unique(data, axis=0, return_counts=True)
    p_data = counts / counts.sum()
    log_p_model = -rbm.free_energy(distinct) - log_z
    return float(np.sum(p_data * (np.log(p_data) - log_p_model)))


def exact_moments(rbm: RBM) -> dict[str, np.ndarray]:
    """Exact model expectations <v>, <h> and <v h^T> (keys 'visible', 'hidden', 'visible_hidden')."""
    log_z = log_partition_function(rbm)
    layer = _enumeration_plan(rbm)[0]

    def chunk_moments(states, preactivation, log_weights):
        probs = np.exp(log_weights - log_z)
        other_given_enum = expit(preactivation)
        return probs @ states, probs @ other_given_enum, (states * probs[:, np.newaxis]).T @ other_given_enum

    parts = _map_enumerated_chunks(rbm, chunk_moments)
    mean_enum, mean_other, cross = (sum(part[k] for part in parts) for k in range(3))
    if layer == "hidden":
        return {"visible": mean_other, "hidden": mean_enum, "visible_hidden": cross.T}
    return {"visible": mean_enum, "hidden": mean_other, "visible_hidden": cross}


RECONSTRUCTION_SUBSET = 5000


def reconstruction_error(rbm: RBM, data, rng: np.random.Generator, max_examples: int = RECONSTRUCTION_SUBSET) -> float:
    """Mean squared error per bit between v and p(v | h), h ~ p(h | v).

    Over the first `max_examples` rows (a per-epoch monitor on 50,000 MNIST images would
    otherwise cost as much as the training epoch itself).
    """
    if isinstance(data, np.ndarray) and data.ndim == 2:  # slice before the float64 check: it copies
        data = data[:max_examples]
    data = check_binary_states(data, rbm.n_visible, "data")[:max_examples]
    if not rbm.two_layer_fast_paths:  # visible units may interact: a sampled reconstruction
        return float(np.mean((data - rbm.reconstruct(data, rng)) ** 2))
    reconstruction = rbm.visible_probs(rbm.sample_hidden(data, rng))
    return float(np.mean((data - reconstruction) ** 2))


RECONSTRUCTION_BLOCK_ROWS = 4096


def reconstruction_accuracy(
    rbm: RBM, data, rng: np.random.Generator, num_reconstructions: int = 5
) -> float:
    """Fraction of bits equal to the original in sampled reconstructions v -> h -> v'.

    Reconstructs blocks of RECONSTRUCTION_BLOCK_ROWS tiled rows, so memory stays bounded on
    large data (50,000 MNIST images x 5 in one piece needed several GB); data that fits in one
    block draws exactly the random numbers a single pass would.
    """
    data = binary_states_uint8(data, rbm.n_visible, "data")  # one byte per unit until a block is reconstructed
    repeats = check_positive_int(num_reconstructions, "num_reconstructions")
    examples_per_block = max(1, RECONSTRUCTION_BLOCK_ROWS // repeats)
    equal_bits = 0
    for first in range(0, len(data), examples_per_block):
        tiled = np.repeat(data[first : first + examples_per_block], repeats, axis=0)
        equal_bits += int(np.count_nonzero(rbm.reconstruct(tiled, rng) == tiled))
    return equal_bits / (data.size * repeats)
