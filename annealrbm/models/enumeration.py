"""Exact sums over the states of a Boltzmann machine on any graph.

log w(x) = b.x + sum_{(i,j) in edges} J_ij x_i x_j is the negative energy. Three plans, the
cheapest that applies is used:

- hidden units do not interact: sum the hidden units out analytically (softplus) and
  enumerate the 2^n_visible visible states;
- visible units do not interact: the same with the roles swapped;
- otherwise split the units into two halves A and B and enumerate 2^|A| x 2^|B| states as
  one matrix product per chunk: log w = w_A[:, None] + w_B[None, :] + X_A J_AB X_B^T.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, logsumexp, softmax

from annealrbm.models.rbm import softplus

MAX_LAYER_UNITS = 26  # one layer enumerated, the other summed out: 2^26 states
MAX_SPLIT_UNITS = 32  # meet in the middle: 2^16 x 2^16 terms
MAX_HIDDEN_ENUMERATED = 20  # interacting hidden units summed exactly per example (free energies)
_CHUNK_ELEMENTS = 1 << 22


def states_range(start: int, stop: int, n_units: int) -> np.ndarray:
    """States number start..stop-1 of n_units binary units (first unit fastest), float64."""
    index = np.arange(start, stop, dtype=np.int64)
    return ((index[:, np.newaxis] >> np.arange(n_units)) & 1).astype(np.float64)


def upper_couplings(n_units: int, edges: np.ndarray, couplings: np.ndarray) -> np.ndarray:
    """Dense strictly upper-triangular coupling matrix: x^T U x = sum_edges J x_i x_j."""
    matrix = np.zeros((n_units, n_units))
    matrix[edges[:, 0], edges[:, 1]] = couplings
    return matrix


def quadratic_log_weight(states: np.ndarray, bias: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """b.x + x^T U x for each row x of `states`."""
    return states @ bias + np.einsum("ki,ki->k", states @ upper, states)


class Plan:
    """How to enumerate a model: 'visible' or 'hidden' layer (the other summed out) or 'split'."""

    def __init__(self, model) -> None:
        n_v, n_h = model.n_visible, model.n_hidden
        options = []
        if not model.hidden_units_interact:
            options.append((n_v, "visible"))
        if not model.visible_units_interact:
            options.append((n_h, "hidden"))
        options = [(size, kind) for size, kind in options if size <= MAX_LAYER_UNITS]
        n_units = n_v + n_h
        if n_units <= MAX_SPLIT_UNITS:
            options.append((n_units, "split"))
        if not options:
            raise ValueError(
                f"exact evaluation of this {n_v}+{n_h}-unit model would enumerate too many states "
                f"(limits: {MAX_LAYER_UNITS} units of a layer whose partner layer has no internal "
                f"couplings, or {MAX_SPLIT_UNITS} units in all); use a smaller model or an estimate")
        self.size, self.kind = min(options)


def _layer_split(model, kind: str):
    """(enumerated units, summed-out units) index arrays."""
    visible, hidden = np.arange(model.n_visible), model.n_visible + np.arange(model.n_hidden)
    return (visible, hidden) if kind == "visible" else (hidden, visible)


def _upper_and_biases(model) -> tuple[np.ndarray, np.ndarray]:
    """The model's couplings as an upper-triangular matrix and its unit biases, in float64."""
    couplings, biases = (array.astype(np.float64) for array in model.graph_parameters())
    return upper_couplings(model.n_units, model.edges, couplings), biases


def log_partition_function(model) -> float:
    """Exact log Z of `model` (natural log)."""
    plan = Plan(model)
    upper, biases = _upper_and_biases(model)
    if plan.kind in ("visible", "hidden"):
        enumerated, summed = _layer_split(model, plan.kind)
        own_upper = upper[np.ix_(enumerated, enumerated)]
        cross = upper[np.ix_(enumerated, summed)] + upper[np.ix_(summed, enumerated)].T
        total = 1 << len(enumerated)
        chunk = max(1, min(total, _CHUNK_ELEMENTS // max(len(summed), 1)))
        parts = []
        for start in range(0, total, chunk):
            states = states_range(start, min(start + chunk, total), len(enumerated))
            log_w = quadratic_log_weight(states, biases[enumerated], own_upper)
            log_w += softplus(states @ cross + biases[summed]).sum(axis=1)
            parts.append(logsumexp(log_w))
        return float(logsumexp(parts))
    half = model.n_units // 2
    first, second = np.arange(half), np.arange(half, model.n_units)
    states_b = states_range(0, 1 << len(second), len(second))
    log_w_b = quadratic_log_weight(states_b, biases[second], upper[np.ix_(second, second)])
    cross_b = upper[np.ix_(first, second)] @ states_b.T  # (|A|, 2^|B|)
    total = 1 << len(first)
    chunk = max(1, min(total, _CHUNK_ELEMENTS // len(states_b)))
    parts = []
    for start in range(0, total, chunk):
        states_a = states_range(start, min(start + chunk, total), len(first))
        log_w_a = quadratic_log_weight(states_a, biases[first], upper[np.ix_(first, first)])
        parts.append(logsumexp(log_w_a[:, None] + log_w_b[None, :] + states_a @ cross_b))
    return float(logsumexp(parts))


def hidden_log_weights(model, visible: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """log w(v, h) - (the terms in v alone), for every row of `visible` against every enumerated
    hidden state: (N, K)."""
    n_v = model.n_visible
    upper, biases = _upper_and_biases(model)
    fields = visible @ (upper[:n_v, n_v:]) + biases[n_v:]
    hidden_only = np.einsum("ki,ki->k", hidden @ upper[n_v:, n_v:], hidden)
    return fields @ hidden.T + hidden_only


def free_energy(model, visible: np.ndarray) -> np.ndarray:
    """F(v) = -log sum_h exp(-E(v, h)), exactly: analytic when hidden units do not interact,
    else by enumerating the hidden states in chunks (up to MAX_HIDDEN_ENUMERATED hidden units)."""
    visible = np.asarray(visible, dtype=np.float64)
    n_v = model.n_visible
    upper, biases = _upper_and_biases(model)
    visible_part = quadratic_log_weight(visible, biases[:n_v], upper[:n_v, :n_v])
    if not model.hidden_units_interact:
        return -(visible_part + softplus(visible @ upper[:n_v, n_v:] + biases[n_v:]).sum(axis=1))
    if model.n_hidden > MAX_HIDDEN_ENUMERATED:
        raise ValueError(f"the exact free energy of a model whose {model.n_hidden} hidden units interact "
                         f"enumerates 2^{model.n_hidden} hidden states per example (limit {MAX_HIDDEN_ENUMERATED}): "
                         "metrics.log_likelihood_bounds (annealrbm evaluate) bounds it by mean field instead")
    total = 1 << model.n_hidden
    chunk = max(1, min(total, _CHUNK_ELEMENTS // max(len(visible), 1)))
    parts = [logsumexp(hidden_log_weights(model, visible, states_range(start, min(start + chunk, total), model.n_hidden)),
                       axis=1) for start in range(0, total, chunk)]
    return -(visible_part + logsumexp(np.column_stack(parts), axis=1))


def exact_free_energy_is_feasible(model) -> bool:
    """Whether `free_energy` can sum out the hidden units (not interacting, or few enough)."""
    return not model.hidden_units_interact or model.n_hidden <= MAX_HIDDEN_ENUMERATED


def mean_field_free_energy(model, visible: np.ndarray) -> np.ndarray:
    """F_q(v) = E_q[E(v, h)] - H(q) for the mean-field q(h | v) = prod_j mu_j (`mean_field_hidden`).

    By Gibbs' inequality F_q(v) >= F(v), so -F_q(v) - log Z is a lower bound on log p(v): the
    variational bound DBM likelihoods are reported with (Salakhutdinov & Hinton 2009) when the
    interacting hidden units are too many to sum out.
    """
    visible = np.asarray(visible, dtype=np.float64)
    n_v = model.n_visible
    upper, biases = _upper_and_biases(model)
    mu = np.clip(mean_field_hidden(model, visible), 1e-12, 1 - 1e-12)
    fields = visible @ upper[:n_v, n_v:] + biases[n_v:]
    # under a factorised q, E[h_i h_j] = mu_i mu_j for the distinct pairs of the upper triangle
    expected_log_weight = (quadratic_log_weight(visible, biases[:n_v], upper[:n_v, :n_v]) + np.sum(fields * mu, axis=1)
                           + np.einsum("ki,ki->k", mu @ upper[n_v:, n_v:], mu))
    entropy = -np.sum(mu * np.log(mu) + (1 - mu) * np.log1p(-mu), axis=1)
    return -(expected_log_weight + entropy)


def clamped_hidden_statistics(model, visible: np.ndarray, hidden_pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact E[h | v] (N, n_hidden) and the batch mean of E[h_i h_j | v] for the hidden-hidden
    edges `hidden_pairs` (indices into the hidden layer), by enumerating the hidden states."""
    hidden = states_range(0, 1 << model.n_hidden, model.n_hidden)
    probabilities = softmax(hidden_log_weights(model, visible, hidden), axis=1)
    expected_hidden = probabilities @ hidden
    pair_products = hidden[:, hidden_pairs[:, 0]] * hidden[:, hidden_pairs[:, 1]]
    return expected_hidden, probabilities.mean(axis=0) @ pair_products


def mean_field_hidden(model, visible: np.ndarray, iterations: int = 30, damping: float = 0.5) -> np.ndarray:
    """Mean-field q(h | v) = prod_j mu_j (Salakhutdinov & Hinton 2009): damped fixed-point
    iterations mu <- sigmoid(b_h + v J_vh + mu J_hh), from the factorised start without J_hh."""
    n_v = model.n_visible
    symmetric = model.coupling_matrix(np.float64)
    fields = np.asarray(visible, dtype=np.float64) @ symmetric[:n_v, n_v:] + model.graph_parameters()[1][n_v:]
    hidden_couplings = symmetric[n_v:, n_v:]
    mu = expit(fields)
    for _ in range(iterations):
        mu = damping * mu + (1 - damping) * expit(fields + mu @ hidden_couplings)
    return mu
