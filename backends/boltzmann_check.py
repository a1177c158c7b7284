"""Catch dimod samplers that do not draw from exp(-E) at beta = 1, the negative phase's need.

Two checks. Known optimisers and other non-Boltzmann samplers (in a composite too) are refused
by name when a backend is built. Any other sampler's answers are tested against the model: the
first answer whose effective inverse temperature (maximum pseudo-likelihood) is clearly
identified decides; a beta_eff outside [0.5, 2] gets a warning saying what to change.
"""
from __future__ import annotations

import warnings

import dimod
import numpy as np

from annealrbm.metrics.fidelity import effective_beta, expected_flips
from annealrbm.models.rbm import RBM

ACCEPTED_BETA = (0.5, 2.0)
MAX_CHECKED_CALLS = 50  # stop testing a sampler whose temperature stays unidentifiable
# An answer decides only if Boltzmann samples at beta = 1 would show this many single-unit
# excitations in it: seeing none of 10 expected happens by chance with probability 5e-5.
MIN_EXPECTED_FLIPS = 10.0


class SamplerTemperatureWarning(UserWarning):
    """A sampler's samples follow the model at a temperature other than beta = 1."""


def _known_non_boltzmann() -> list[tuple[type, str]]:
    """(class, why it is no Boltzmann sampler) for the optimisers Ocean ships."""
    import dwave.samplers as samplers

    found = [
        (dimod.ExactSolver, "enumerates every state once, unweighted, instead of sampling them by probability "
                            "(use backend 'exact' for exact Boltzmann samples and marginals)"),
        (dimod.RandomSampler, "draws uniformly random states (beta = 0)"),
        (dimod.NullSampler, "returns no samples"),
        (dimod.IdentitySampler, "returns the initial states it is given"),
    ]
    optimisers = {"TabuSampler": "is a tabu-search optimiser: it returns low-energy states, not samples at beta = 1",
                  "SteepestDescentSolver": "is a greedy descent: it returns local minima, not samples at beta = 1",
                  "PlanarGraphSolver": "returns ground states, not samples at beta = 1",
                  "TreeDecompositionSolver": "returns ground states, not samples at beta = 1",
                  "RandomSampler": "draws uniformly random states (beta = 0)"}
    found += [(getattr(samplers, name), why) for name, why in optimisers.items() if hasattr(samplers, name)]
    try:
        from dwave.system import LeapHybridSampler
    except ImportError:  # pragma: no cover - dwave-system is a dependency
        pass
    else:
        found.append((LeapHybridSampler, "is a hybrid optimiser: it returns low-energy states, not samples at beta = 1"))
    return found


def non_boltzmann_reason(sampler: dimod.Sampler) -> str | None:
    """Why `sampler` (or a child of a composite) is known not to sample exp(-E), else None."""
    pending = [sampler]
    while pending:
        current = pending.pop()
        for cls, why in _known_non_boltzmann():
            if isinstance(current, cls):
                return f"{type(current).__name__} {why}"
        pending.extend(getattr(current, "children", []) or [])
    return None


def refuse_non_boltzmann(sampler: dimod.Sampler) -> None:
    """ValueError for a known non-Boltzmann sampler, saying what to use instead."""
    reason = non_boltzmann_reason(sampler)
    if reason:
        raise ValueError(
            f"{reason}; the negative phase needs samples from exp(-E) at beta = 1: use backend 'sa' "
            "(simulated annealing ending at beta = 1) or 'exact' (exact Boltzmann samples), or pass "
            "check_sampler=False to train with it anyway"
        )


class TemperatureCheck:
    """Tests a sampler's answers for beta_eff until one answer identifies it clearly."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0
        self.decided = False
        self.beta_eff: float | None = None

    def observe(self, rbm: RBM, visible: np.ndarray, hidden: np.ndarray) -> None:
        """Estimate beta_eff from one answer; warn once if it lies clearly outside ACCEPTED_BETA."""
        if self.decided:
            return
        self.calls += 1
        if self.calls > MAX_CHECKED_CALLS:
            self.decided = True
            return
        if expected_flips(rbm, visible, hidden) < MIN_EXPECTED_FLIPS:
            return  # too sharp a model for this few samples: wait for a more telling answer
        beta, error = effective_beta(rbm, visible, hidden)
        low, high = ACCEPTED_BETA
        too_cold = beta > high and (np.isinf(beta) or beta - 3 * error > high)
        too_hot = beta < low and beta + 3 * error < low
        if too_cold or too_hot:
            self.decided, self.beta_eff = True, beta
            advice = ("it behaves like an optimiser or an anneal ending past beta = 1: end its schedule at beta = 1 "
                      "(e.g. beta_range=(0.1, 1.0)) or use backend 'sa'" if too_cold else
                      "its samples are too hot: raise num_sweeps or end the schedule at beta = 1")
            found = ("only local minima of the energy (beta_eff infinite)" if np.isinf(beta) else
                     f"samples at beta_eff = {beta:.3g} +- {error:.2g}")
            warnings.warn(
                f"{self.name} returns {found} by maximum pseudo-likelihood against the model's beta = 1, outside "
                f"[{low:g}, {high:g}]; {advice}, or pass bqm_beta to rescale the problem it is given",
                SamplerTemperatureWarning, stacklevel=4)
        elif np.isfinite(error) and error < 0.2 * max(beta, 0.1):
            self.decided, self.beta_eff = True, beta
