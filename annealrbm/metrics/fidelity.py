"""How faithfully a sampler draws from an RBM's Boltzmann distribution at beta = 1.

The negative phase of the gradient needs samples from p(v, h) = exp(-E(v, h)) / Z. A sampler
that returns something else (an anneal whose modes froze early, chains that stopped moving,
an optimiser's ground states, a QPU at the wrong temperature) biases every update, and the
model then learns to compensate for the sampler rather than to fit the data. This module
measures that bias against exact references:

- moments: <v>, <h> and <v h^T> of the samples against the exact expectations (enumeration),
  as the largest absolute error and the largest z-score (the error over the standard error
  of as many independent exact samples);
- kl_visible: KL(sampled || exact) over visible states, with the same figure for as many exact
  samples beside it (its floor: a finite sample never matches exactly);
- beta_eff: the samples' effective inverse temperature against the model, by maximum
  pseudo-likelihood (dwave.system.temperatures), for models of any size.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from annealrbm.models.rbm import RBM, bernoulli
from annealrbm.validation import check_binary_states, check_positive_int

MAX_KL_VISIBLE_UNITS = 20
MAX_CALLS = 10_000
DEFAULT_BURN_IN_CALLS = 100  # calls a fresh persistent backend runs before it is measured
_ENUMERATION_CHUNK = 1 << 16


def flip_agreement(rbm: RBM, visible: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """Per sample and unit, the energy a single flip of that unit would cost (its local field
    signed by its state): positive where the unit agrees with its field. Two matrix products."""
    visible = np.asarray(visible, dtype=np.float64)
    hidden = np.asarray(hidden, dtype=np.float64)
    fields = np.hstack([rbm.visible_bias + hidden @ rbm.W.T, rbm.hidden_bias + visible @ rbm.W])
    return (2 * np.hstack([visible, hidden]) - 1) * fields


def expected_flips(rbm: RBM, visible: np.ndarray, hidden: np.ndarray) -> float:
    """How many single-unit excitations Boltzmann samples at beta = 1 would show in these
    states' neighbourhoods: below a few, no temperature can be told from them."""
    from scipy.special import expit

    return float(expit(-flip_agreement(rbm, visible, hidden)).sum())


def effective_beta(rbm: RBM, visible: np.ndarray, hidden: np.ndarray,
                   weights: np.ndarray | None = None) -> tuple[float, float]:
    """(beta_eff, standard error): the inverse temperature at which joint samples (v, h) look
    most like Boltzmann samples of `rbm`, by maximum pseudo-likelihood.

    Uses dwave.system.temperatures.maximum_pseudolikelihood_temperature with the effective
    fields computed as two matrix products (its generic path loops over samples in Python).
    The standard error is the sandwich estimate over samples; it is large (the estimate says
    little) when the model is close to uniform, whatever the sampler. Samples that are all
    local minima give (inf, nan).
    """
    agreement = flip_agreement(rbm, visible, hidden)  # minus the energy lost by each flip
    kwargs = {} if weights is None else {"sample_weights": np.asarray(weights, dtype=np.float64)}
    # imported here, not at the top: dwave.system is slow to import and every CLI command would pay for it
    from dwave.system.temperatures import maximum_pseudolikelihood_temperature

    temperature, _ = maximum_pseudolikelihood_temperature(en1=-agreement, **kwargs)
    if not np.isfinite(temperature) or temperature == 0:
        return float("inf"), float("nan")
    beta = float(1.0 / temperature)
    from scipy.special import expit

    flip = expit(-beta * agreement)  # probability of the flip under the conditional at beta
    scores = (agreement * flip).sum(axis=1)
    information = (agreement**2 * flip * (1 - flip)).sum(axis=1)
    if weights is None:
        weights = np.full(len(scores), 1.0 / len(scores))
    else:
        weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    total_information = float(weights @ information)
    variance = float(weights @ (scores - weights @ scores) ** 2) * float(np.sum(weights**2))
    error = float(np.sqrt(variance) / total_information) if total_information > 0 else float("nan")
    return beta, error


def collect_samples(rbm: RBM, backend, num_samples: int, rng: np.random.Generator,
                    data: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """Call the backend until it has returned `num_samples` states; returns (visible, hidden,
    weights or None, number of calls). Hidden states the backend did not draw are drawn from
    p(h | v); weighted calls keep their weights, each call counting in proportion to its size.

    `data` feeds backends that start their chains at the data (cd): every call gets
    `num_samples` rows drawn from it.
    """
    batch = None if data is None else data[rng.integers(len(data), size=num_samples)].astype(rbm.dtype)
    visible, hidden, weights = [], [], []
    total, calls = 0, 0
    if batch is None and backend.uses_batch:
        raise ValueError(f"{backend!r} starts its chains at the data: pass the training data (data=, --data)")
    while total < num_samples:
        if calls >= MAX_CALLS:
            raise RuntimeError(f"{backend!r} returned only {total} samples in {calls} calls")
        samples = backend.sample(rbm, batch, rng)
        calls += 1
        count = len(samples.visible)
        if count == 0:
            raise ValueError(f"{backend!r} returned no samples: pass data= for backends that start at the data")
        drawn = samples.hidden
        if drawn is None:
            probs = rbm.hidden_probs(samples.visible, check=False) if samples.hidden_probs is None else samples.hidden_probs
            drawn = bernoulli(np.array(probs, dtype=np.float64), rng)
        visible.append(np.asarray(samples.visible, dtype=np.float64))
        hidden.append(np.asarray(drawn, dtype=np.float64))
        weights.append(np.full(count, 1.0 / count) if samples.weights is None else np.asarray(samples.weights, float))
        total += count
    sizes = np.array([len(v) for v in visible], dtype=np.float64)
    all_weights = np.concatenate([w * size for w, size in zip(weights, sizes)])
    uniform = all(np.ptp(w) == 0 for w in weights)
    return np.vstack(visible), np.vstack(hidden), None if uniform else all_weights / all_weights.sum(), calls


def _visible_log_probs(rbm: RBM) -> np.ndarray:
    """log p(v) of all 2^n_visible visible states (state k has unit i = bit i of k), in chunks."""
    from scipy.special import logsumexp

    n = rbm.n_visible
    parts = []
    for start in range(0, 1 << n, _ENUMERATION_CHUNK):
        index = np.arange(start, min(start + _ENUMERATION_CHUNK, 1 << n), dtype=np.int64)
        states = ((index[:, np.newaxis] >> np.arange(n)) & 1).astype(np.float64)
        parts.append(-rbm.free_energy(states))
    log_weights = np.concatenate(parts)
    return log_weights - logsumexp(log_weights)


def _state_codes(visible: np.ndarray) -> np.ndarray:
    return (visible.astype(np.int64) << np.arange(visible.shape[1])).sum(axis=1)


def _kl_sampled_to_exact(codes: np.ndarray, weights: np.ndarray, log_probs: np.ndarray) -> float:
    """KL(q || p) of the weighted empirical distribution q of state codes against log p."""
    distinct, inverse = np.unique(codes, return_inverse=True)
    q = np.bincount(inverse, weights=weights)
    q /= q.sum()
    kept = q > 0
    return float(np.sum(q[kept] * (np.log(q[kept]) - log_probs[distinct[kept]])))


def sampler_fidelity(
    model: RBM,
    backend: Any = "sa",
    num_samples: int = 4000,
    seed: int | np.random.Generator | None = None,
    data=None,
    burn_in: int | None = None,
    **backend_options: Any,
) -> dict[str, Any]:
    """How closely `backend`'s samples follow `model`'s Boltzmann distribution at beta = 1.

    backend: as in Trainer (a registered name with `backend_options`, a Backend, or a dimod
        Sampler). It is called until it has returned `num_samples` states; persistent backends
        continue from their current state.
    data: training data, for backends that start their chains at it (cd).
    burn_in: calls made and discarded before measuring. None: 100 for a persistent backend
        that has no state yet (fresh chains are not what training sees), else 0.

    Returns a dict: num_samples, calls, seconds (sampling), beta_eff and beta_eff_error (any
    size); when exact moments are feasible (the smaller layer <= 20 units) max_abs_error and
    max_z over <v>, <h> and <v h^T>, and the same max_abs_error for as many exact samples
    (max_abs_error_exact_samples, the floor); when n_visible <= 20, kl_visible =
    KL(sampled || exact) over visible states and kl_visible_exact_samples (its floor).
    Figures that cannot be computed are None. `verdict` says in one line what the figures mean
    (see `fidelity_verdict`).
    """
    from annealrbm import backends, metrics

    if not model.two_layer_fast_paths:
        raise ValueError(f"model must be an annealrbm.RBM, got {type(model).__name__}")
    num_samples = check_positive_int(num_samples, "num_samples")
    rng = np.random.default_rng(seed)
    sampler = backends.make(backend, **backend_options)
    data = None if data is None else check_binary_states(data, model.n_visible, "data")
    if burn_in is None:
        burn_in = DEFAULT_BURN_IN_CALLS if sampler.keeps_state and not sampler.state_arrays() else 0
    for _ in range(int(burn_in)):
        collect_samples(model, sampler, 1, rng, data)
    start = time.perf_counter()
    visible, hidden, weights, calls = collect_samples(model, sampler, num_samples, rng, data)
    seconds = time.perf_counter() - start
    n = len(visible)
    effective_n = n if weights is None else 1.0 / float(np.sum(weights**2))
    beta, beta_error = effective_beta(model, visible, hidden, weights)
    report: dict[str, Any] = {
        "backend": repr(sampler), "num_samples": n, "effective_samples": effective_n, "calls": calls,
        "burn_in_calls": int(burn_in),
        "seconds": seconds, "beta_eff": beta, "beta_eff_error": beta_error,
        "max_abs_error": None, "max_z": None, "max_abs_error_exact_samples": None,
        "kl_visible": None, "kl_visible_exact_samples": None,
    }
    exact_moments = metrics.exact_is_feasible(model)
    exact_kl = model.n_visible <= MAX_KL_VISIBLE_UNITS
    if exact_kl:
        log_probs = _visible_log_probs(model)
        sample_weights = np.full(n, 1.0 / n) if weights is None else weights
        report["kl_visible"] = _kl_sampled_to_exact(_state_codes(visible), sample_weights, log_probs)
        reference_codes = rng.choice(len(log_probs), size=n, p=np.exp(log_probs))
        report["kl_visible_exact_samples"] = _kl_sampled_to_exact(reference_codes, np.full(n, 1.0 / n), log_probs)
    if exact_moments:
        exact = metrics.exact_moments(model)
        expected = np.concatenate([exact["visible"], exact["hidden"], exact["visible_hidden"].ravel()])
        w = np.full(n, 1.0 / n) if weights is None else weights
        measured = np.concatenate([w @ visible, w @ hidden, ((visible * w[:, np.newaxis]).T @ hidden).ravel()])
        # every statistic is the mean of a 0/1 variable: its variance is p (1 - p); at least one
        # count's worth, so that a statistic the model holds at exactly 0 or 1 gives a finite z
        standard_error = np.sqrt(np.maximum(expected * (1 - expected), 1.0 / effective_n) / effective_n)
        errors = np.abs(measured - expected)
        report["max_abs_error"] = float(errors.max())
        report["max_z"] = float((errors / standard_error).max())
        v, h = _exact_samples(model, round(effective_n), rng)  # the floor: as many exact samples
        floor = np.concatenate([v.mean(0), h.mean(0), (v.T @ h / len(v)).ravel()])
        report["max_abs_error_exact_samples"] = float(np.abs(floor - expected).max())
    report["verdict"] = fidelity_verdict(report)
    return report


# A sampler is called off its temperature when beta_eff is this far from 1 and clearly outside
# its standard error, and off in its moments when their largest z-score passes MAX_FAITHFUL_Z
# (4000 exact samples: about 3) with twice the exact samples' error, or its visible KL lies
# KL_MARGIN above the exact samples' own.
BETA_TOLERANCE = 0.1
MAX_FAITHFUL_Z = 6.0
KL_MARGIN = 0.02


def fidelity_verdict(report: dict[str, Any]) -> str:
    """One line reading a `sampler_fidelity` report: faithful, at the wrong temperature, or at
    the right temperature within the modes but with the wrong weights between them.

    The last case is the one beta_eff alone misses: pseudo-likelihood sees single-unit flips,
    so an anneal whose modes froze at the wrong weights still measures beta_eff = 1.
    """
    beta, error = report["beta_eff"], report["beta_eff_error"] or 0.0
    wrong_temperature = not np.isfinite(beta) or abs(beta - 1) > max(BETA_TOLERANCE, 4 * error)
    moments_off = report["max_z"] is not None and (
        report["max_z"] > MAX_FAITHFUL_Z and report["max_abs_error"] > 2 * report["max_abs_error_exact_samples"])
    kl_off = report["kl_visible"] is not None and report["kl_visible"] > report["kl_visible_exact_samples"] + KL_MARGIN
    if wrong_temperature:
        return (f"wrong temperature: the samples follow beta = {beta:.2f}, not the model's 1; change the "
                "schedule (beta_range, num_sweeps) or, on a QPU, the temperature correction")
    if moments_off or kl_off:
        return ("right temperature within the modes (beta_eff about 1), wrong weights between them: an anneal "
                "that froze its modes' weights on the way down, or chains that do not cross between modes; "
                "training with these samples learns to compensate for them")
    if report["max_z"] is None and report["kl_visible"] is None:
        return "beta_eff about 1; the weights of the modes are not measured on a model this large"
    return "faithful: within the sampling noise of as many exact samples"


def _exact_samples(model: RBM, num_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Independent exact samples (v, h) from the model (TreeDecompositionSampler)."""
    from dwave.samplers import TreeDecompositionSampler

    sampleset = TreeDecompositionSampler().sample(model.to_bqm(), num_reads=max(1, num_samples),
                                                  seed=int(rng.integers(2**31 - 1)))
    visible, hidden = model.states_from_sampleset(sampleset)
    return visible.astype(np.float64), hidden.astype(np.float64)
