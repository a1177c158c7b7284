"""Annealed importance sampling (AIS) estimates of log Z for RBMs too wide to enumerate.

Salakhutdinov & Murray (2008): anneal from an independent model A (W = 0, hidden bias 0;
visible bias = logit of the smoothed data mean for the base-rate model, 0 for the uniform one;
log Z_A = sum softplus(a_A) + n_hidden log 2) to the model B through the unnormalised marginals

    log f_k(v) = ((1 - beta_k) a_A + beta_k a_B) . v + sum_j softplus(beta_k (b_j + (v W)_j)),

with one block-Gibbs transition leaving f_k invariant at every step. All chains move at once;
the loop runs over the inverse temperatures only.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, logit, logsumexp

from annealrbm.models.rbm import RBM, softplus
from annealrbm.validation import check_binary_states, check_positive_int


def salakhutdinov_murray_betas(num_betas: int = 14500) -> np.ndarray:
    """The 2008 schedule: 500 steps to 0.5, 4000 to 0.9, 10000 to 1 (scaled to `num_betas`)."""
    num_betas = check_positive_int(num_betas, "num_betas")
    if num_betas < 3:
        raise ValueError(f"num_betas must be at least 3, got {num_betas}")
    first = max(1, round(num_betas * 500 / 14500))
    second = max(1, round(num_betas * 4000 / 14500))
    third = max(1, num_betas - first - second)
    return np.concatenate([
        np.linspace(0.0, 0.5, first, endpoint=False),
        np.linspace(0.5, 0.9, second, endpoint=False),
        np.linspace(0.9, 1.0, third),
    ])


def _steps(pairs, total: int, description: str, progress: bool | None):
    """The annealing steps, with a tqdm bar when `progress` (None: on a terminal only)."""
    if progress is False:
        return pairs
    from tqdm.auto import tqdm

    return tqdm(pairs, total=total, desc=description, unit="beta", leave=False, mininterval=0.5,
                disable=None if progress is None else not progress)


def _log_mean_and_error(log_weights: np.ndarray) -> tuple[float, float]:
    """log mean exp(w) over the chains and its standard error (delta method)."""
    count = len(log_weights)
    ratios = np.exp(log_weights - log_weights.max())
    error = float(ratios.std(ddof=1) / (np.sqrt(count) * ratios.mean())) if count > 1 else float("inf")
    return float(logsumexp(log_weights) - np.log(count)), error


def base_rate_bias(data: np.ndarray | None, n_visible: int) -> np.ndarray:
    """Visible bias of the base-rate model: logit of the data mean smoothed by one pseudo-count
    each way (zeros without data: the uniform distribution)."""
    if data is None:
        return np.zeros(n_visible)
    data = check_binary_states(data, n_visible, "data")
    return logit((data.sum(axis=0) + 1.0) / (len(data) + 2.0))


def ais_log_partition_function(
    rbm: RBM,
    data=None,
    num_chains: int = 100,
    num_betas: int = 14500,
    seed: int | np.random.Generator | None = None,
    betas: np.ndarray | None = None,
    starts: str = "both",
    progress: bool | None = False,
) -> tuple[float, float]:
    """AIS estimate of log Z and its standard error (delta method over the chains' weights).

    With `data`, chains start from the base-rate model; by default ('both') a second set of
    `num_chains` chains also starts from the uniform model: the larger estimate is returned if the
    two disagree, their inverse-variance mean if they agree (`combine_starts`).
    AIS estimates of log Z are biased low (E[log Z_hat] <= log Z), and chains started at the
    data miss modes far from it: CD- and PCD-trained models often put most of their mass on
    noise-like states, where a data-started run was measured 10-15 nats low and the uniform
    start within 0.03. 'data' or 'uniform' runs one start only.
    """
    num_chains = check_positive_int(num_chains, "num_chains")
    if starts not in ("both", "data", "uniform"):
        raise ValueError(f"starts must be 'both', 'data' or 'uniform', got {starts!r}")
    rng = np.random.default_rng(seed)
    betas = salakhutdinov_murray_betas(num_betas) if betas is None else np.asarray(betas, dtype=float)
    if betas[0] != 0.0 or betas[-1] != 1.0 or np.any(np.diff(betas) < 0):
        raise ValueError("betas must rise from 0 to 1")
    bases = []
    if data is not None and starts in ("both", "data"):
        bases.append(base_rate_bias(data, rbm.n_visible))
    if data is None or starts in ("both", "uniform"):
        bases.append(np.zeros(rbm.n_visible))
    if not rbm.two_layer_fast_paths:  # a Boltzmann machine on any graph: whole states from independent units
        return combine_starts([_anneal_any_graph(rbm, rbm.independent_base_biases(base), num_chains, betas, rng, progress)
                               for base in bases])
    return combine_starts([_anneal(rbm, base, num_chains, betas, rng, progress) for base in bases])


def combine_starts(estimates: list[tuple[float, float]]) -> tuple[float, float]:
    """One (log Z, standard error) from runs with different starts. A run far above the others
    (by more than 3 combined standard errors) found mass they missed and is taken alone;
    estimates that agree are averaged with inverse-variance weights, since picking the larger
    of equals would bias the result upwards."""
    best = max(estimates)
    agreeing = [(value, error) for value, error in estimates
                if best[0] - value <= 3.0 * np.hypot(best[1], error)]
    if len(agreeing) == 1 or not all(np.isfinite(error) and error > 0 for _, error in agreeing):
        return best
    weights = np.array([1.0 / error**2 for _, error in agreeing])
    values = np.array([value for value, _ in agreeing])
    return float(weights @ values / weights.sum()), float(1.0 / np.sqrt(weights.sum()))


def _anneal(rbm: RBM, base: np.ndarray, num_chains: int, betas: np.ndarray, rng: np.random.Generator,
            progress: bool | None = False) -> tuple[float, float]:
    """One AIS run from the independent model with visible bias `base`: (log Z, standard error)."""
    log_z_base = float(softplus(base).sum() + rbm.n_hidden * np.log(2.0))
    bias_step = rbm.visible_bias - base
    visible = (rng.random((num_chains, rbm.n_visible)) < expit(base)).astype(np.float64)
    log_weights = np.zeros(num_chains)
    for previous, beta in _steps(zip(betas[:-1], betas[1:]), len(betas) - 1, "forward AIS", progress):
        preactivation = visible @ rbm.W + rbm.hidden_bias
        log_weights += (beta - previous) * (visible @ bias_step)
        log_weights += softplus(beta * preactivation).sum(axis=1) - softplus(previous * preactivation).sum(axis=1)
        hidden = (rng.random(preactivation.shape) < expit(beta * preactivation)).astype(np.float64)
        visible_field = (1.0 - beta) * base + beta * (rbm.visible_bias + hidden @ rbm.W.T)
        visible = (rng.random(visible.shape) < expit(visible_field)).astype(np.float64)
    log_mean, standard_error = _log_mean_and_error(log_weights)
    return log_z_base + log_mean, standard_error


def _anneal_any_graph(model, base: np.ndarray, num_chains: int, betas: np.ndarray,
                      rng: np.random.Generator, progress: bool | None = False) -> tuple[float, float]:
    """AIS for a Boltzmann machine on any graph, from independent units with biases `base`
    (one per unit): f_beta(x) = exp((1 - beta) base.x - beta E(x)), block-Gibbs transitions over
    the model's colour blocks. (log Z, standard error)."""
    log_z_base = float(softplus(base).sum())
    sweep = _TemperedSweep(model, base)
    states = (rng.random((num_chains, model.n_units)) < expit(base)).astype(np.float64)
    log_weights = np.zeros(num_chains)
    for previous, beta in _steps(zip(betas[:-1], betas[1:]), len(betas) - 1, "forward AIS", progress):
        log_weights += (beta - previous) * sweep.log_ratio_slope(states)
        sweep(states, beta, rng)
    log_mean, standard_error = _log_mean_and_error(log_weights)
    return log_z_base + log_mean, standard_error


class _TemperedSweep:
    """The path of AIS on any graph, f_beta(x) = exp((1 - beta) base.x - beta E(x)): its slope
    d log f_beta / d beta, and a block-Gibbs sweep over the model's colour blocks that leaves
    f_beta invariant (in place on float64 whole states)."""

    def __init__(self, model, base: np.ndarray) -> None:
        self.model, self.base = model, base
        self.couplings = model.coupling_matrix(np.float64)
        self.biases = model.graph_parameters()[1].astype(np.float64)
        self.blocks = model.blocks()

    def log_ratio_slope(self, states: np.ndarray) -> np.ndarray:
        return -self.model.energies(states) - states @ self.base

    def __call__(self, states: np.ndarray, beta: float, rng: np.random.Generator) -> None:
        for block in self.blocks:
            fields = (1.0 - beta) * self.base[block] + beta * (states @ self.couplings[:, block] + self.biases[block])
            states[:, block] = rng.random(fields.shape) < expit(fields)


def reverse_ais_log_partition_function(
    rbm: RBM,
    start_states,
    num_betas: int = 14500,
    seed: int | np.random.Generator | None = None,
    betas: np.ndarray | None = None,
    progress: bool | None = False,
) -> tuple[float, float]:
    """Reverse AIS estimate of log Z and its standard error (Burda, Grosse & Salakhutdinov 2015).

    The chains start at `start_states` (one chain per row) and anneal from the model down to the
    base-rate model of those states, along the same path and transitions as forward AIS run
    backwards; log Z = log Z_A - log mean exp(w). Started at exact samples of the model it is a
    stochastic upper bound on log Z (E[log Z_hat] >= log Z), the mirror image of forward AIS;
    started at the data, as here by default in `log_likelihood_bounds`, it is the conservative
    estimate of the literature: a likelihood computed with it errs low where forward AIS errs high.
    A Boltzmann machine on any graph takes visible rows too: see `_reverse_anneal_any_graph`.
    """
    rng = np.random.default_rng(seed)
    visible = check_binary_states(start_states, rbm.n_visible, "start_states").astype(np.float64)
    betas = salakhutdinov_murray_betas(num_betas) if betas is None else np.asarray(betas, dtype=float)
    if betas[0] != 0.0 or betas[-1] != 1.0 or np.any(np.diff(betas) < 0):
        raise ValueError("betas must rise from 0 to 1")
    if not rbm.two_layer_fast_paths:
        return _reverse_anneal_any_graph(rbm, visible, betas, rng, progress)
    base = base_rate_bias(visible, rbm.n_visible)
    log_z_base = float(softplus(base).sum() + rbm.n_hidden * np.log(2.0))
    bias_step = rbm.visible_bias - base
    log_weights = np.zeros(len(visible))
    descending = betas[::-1]
    for current, lower in _steps(zip(descending[:-1], descending[1:]), len(betas) - 1, "reverse AIS", progress):
        preactivation = visible @ rbm.W + rbm.hidden_bias
        log_weights += (lower - current) * (visible @ bias_step)
        log_weights += softplus(lower * preactivation).sum(axis=1) - softplus(current * preactivation).sum(axis=1)
        if lower > 0:  # a transition leaving f_lower invariant (none is needed at the base)
            hidden = (rng.random(preactivation.shape) < expit(lower * preactivation)).astype(np.float64)
            visible_field = (1.0 - lower) * base + lower * (rbm.visible_bias + hidden @ rbm.W.T)
            visible = (rng.random(visible.shape) < expit(visible_field)).astype(np.float64)
    log_mean, standard_error = _log_mean_and_error(log_weights)
    return log_z_base - log_mean, standard_error


# Clamped block-Gibbs sweeps that settle the hidden units of a reverse-AIS start when they
# interact (their first draw is from the exact or mean-field E[h | v], not from p(h | v)).
CLAMPED_START_SWEEPS = 50


def _reverse_anneal_any_graph(model, visible: np.ndarray, betas: np.ndarray, rng: np.random.Generator,
                              progress: bool | None = False) -> tuple[float, float]:
    """Reverse AIS for a Boltzmann machine on any graph: each visible start row is completed by
    hidden states drawn given it (clamped sweeps when the hidden units interact), and the whole
    states anneal down to the independent-unit model of those states along forward AIS's path
    (f_beta(x) = exp((1 - beta) base.x - beta E(x)), block-Gibbs transitions). (log Z, s.e.)"""
    states = np.hstack([visible, np.zeros((len(visible), model.n_hidden))])
    hidden_mean = model.hidden_expectations(visible)
    states[:, model.n_visible:] = rng.random(hidden_mean.shape) < hidden_mean
    if model.hidden_units_interact:
        model.block_gibbs(states, CLAMPED_START_SWEEPS, rng, which="hidden")
    base = base_rate_bias(states, model.n_units)
    log_z_base = float(softplus(base).sum())
    sweep = _TemperedSweep(model, base)
    log_weights = np.zeros(len(states))
    descending = betas[::-1]
    for current, lower in _steps(zip(descending[:-1], descending[1:]), len(betas) - 1, "reverse AIS", progress):
        log_weights += (lower - current) * sweep.log_ratio_slope(states)
        if lower > 0:  # a transition leaving f_lower invariant (none is needed at the base)
            sweep(states, lower, rng)
    log_mean, standard_error = _log_mean_and_error(log_weights)
    return log_z_base - log_mean, standard_error
