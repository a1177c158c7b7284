"""Parallel tempering (replica exchange) for RBMs: persistent chains at a ladder of inverse
temperatures, swept all at once, with neighbour swaps decided by the exact marginal free
energies of the visible states (Swendsen & Wang 1986; for RBMs Desjardins et al. 2010)."""
from __future__ import annotations

import time

import numpy as np

from annealrbm.models.rbm import RBM, probabilities, sample_from_logits, softplus
from annealrbm.validation import check_positive_int

from annealrbm.backends.base import Backend, NegativeSamples
from annealrbm.backends.gibbs import DEFAULT_CHAINS_PER_TEMPERATURE, DEFAULT_SMALL_MODEL_CHAINS, is_small_model
from annealrbm.backends.importance import systematic_resample_groups


def geometric_ladder(num_temperatures: int, beta_min: float) -> np.ndarray:
    """Inverse temperatures from beta_min up to 1, equally spaced in log beta."""
    betas = np.geomspace(beta_min, 1.0, num_temperatures) if num_temperatures > 1 else np.ones(1)
    betas[-1] = 1.0
    return betas


class ParallelTempering(Backend):
    """Replica-exchange block Gibbs: `num_chains` persistent chains at each of
    `num_temperatures` inverse temperatures (a geometric ladder from `beta_min` to 1, or the
    `betas` given), the tempered model being p_beta(v, h) ∝ exp(-beta E(v, h)).

    Every call runs `k` sweeps of all replicas at once (one matrix product per layer for the
    whole ladder), each followed by a round of swaps between neighbouring temperatures
    (alternately the even and the odd pairs). A swap of visible states v, v' between betas
    b < b' is accepted with probability
        min(1, exp(F_b(v) + F_b'(v') - F_b(v') - F_b'(v))),
    F_beta being the exact free energy of the tempered model with the hidden units summed out.
    The beta = 1 replicas are the negative samples; `info` reports each pair's swap acceptance
    rate since the chains were started.

    With `follow_updates=True` (default) the chains follow the parameter updates as weighted
    PCD's do: before sweeping, each temperature's chains are resampled in proportion to
    exp(F_old(v) - F_new(v)), the change of their tempered free energy since the previous call
    (sequential Monte Carlo with resampling at every update, so the swaps always see equally
    weighted chains). Without it the beta = 1 chains lag behind a model that moves fast and
    training can diverge, as plain PCD does.

    num_chains: chains per temperature; None gives 1000 for small models (as PCD) and 100 for
        image-sized ones (see `gibbs.is_small_model`).
    """

    name = "pt"
    description = "parallel tempering: persistent replica-exchange block-Gibbs chains over a ladder of betas"
    # free_energies: tempered F(v) of each chain (an RBM) or E(x) of its whole state (other models)
    checkpointed = ("chains", "free_energies", "swap_round", "swap_attempts", "swap_accepts")
    keeps_state = True
    any_graph = True

    def __init__(self, num_chains: int | None = None, num_temperatures: int = 10, beta_min: float = 0.1,
                 k: int = 1, betas=None, follow_updates: bool = True) -> None:
        self.num_chains = None if num_chains is None else check_positive_int(num_chains, "num_chains")
        self.k = check_positive_int(k, "k")
        if betas is None:
            num_temperatures = check_positive_int(num_temperatures, "num_temperatures")
            if not 0 < beta_min < 1:
                raise ValueError(f"beta_min must be in (0, 1), got {beta_min!r}")
            betas = geometric_ladder(num_temperatures, float(beta_min))
        betas = np.asarray(betas, dtype=float)
        if betas.ndim != 1 or len(betas) < 1 or not np.all(np.isfinite(betas)) or betas.min() <= 0:
            raise ValueError(f"betas must be a 1-D list of positive numbers ending at 1, got {betas!r}")
        if np.any(np.diff(betas) <= 0) or betas[-1] != 1.0:
            raise ValueError(f"betas must increase strictly and end at 1 (the model), got {betas.tolist()}")
        self.betas = betas
        self.follow_updates = bool(follow_updates)
        self.num_temperatures, self.beta_min = len(betas), float(betas[0])
        self.reset()

    def reset(self) -> None:
        self.chains: np.ndarray | None = None  # (num_temperatures * chains, n_visible), coldest last
        self.free_energies: np.ndarray | None = None  # each chain's tempered F when last swept
        self.swap_round: int | None = None  # swap rounds made: their parity picks the pairs
        self.swap_attempts: np.ndarray | None = None  # per neighbouring pair, since the chains started
        self.swap_accepts: np.ndarray | None = None

    def chains_for(self, rbm: RBM) -> int:
        """Chains per temperature used for `rbm` (see num_chains)."""
        if self.num_chains is not None:
            return self.num_chains
        return DEFAULT_SMALL_MODEL_CHAINS if is_small_model(rbm) else DEFAULT_CHAINS_PER_TEMPERATURE

    def _start_chains(self, rows: int, width: int, dtype, rng: np.random.Generator) -> None:
        if self.chains is None or self.chains.shape != (rows, width):
            self.chains = (rng.random((rows, width)) < 0.5).astype(dtype)
            self.free_energies = None
            self.swap_round = 0
            self.swap_attempts = np.zeros(self.num_temperatures - 1)
            self.swap_accepts = np.zeros(self.num_temperatures - 1)

    def _info(self, start: float, per_temperature: int) -> dict:
        return {
            "seconds": time.perf_counter() - start,
            "num_samples": per_temperature,
            "betas": self.betas.tolist(),
            "swap_acceptance": (self.swap_accepts / np.maximum(self.swap_attempts, 1)).tolist(),
        }

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        start = time.perf_counter()
        per_temperature = self.chains_for(rbm)
        rows = self.num_temperatures * per_temperature
        if not rbm.two_layer_fast_paths:
            return self._sample_general(rbm, per_temperature, rng, start)
        self._start_chains(rows, rbm.n_visible, rbm.dtype, rng)
        row_betas = np.repeat(self.betas, per_temperature).astype(rbm.dtype)[:, None]
        visible = self.chains
        hidden_input = rbm.hidden_logits(visible, check=False)
        if self.follow_updates and self.free_energies is not None:
            change = self.free_energies - tempered_free_energy(rbm, visible, hidden_input, row_betas)
            picked = systematic_resample_groups(change.reshape(self.num_temperatures, per_temperature), rng)
            visible, hidden_input = visible[picked], hidden_input[picked]
        for _ in range(self.k):  # hidden_input is always b + v W of the current visible states
            hidden = sample_from_logits(row_betas * hidden_input, rng)
            visible = sample_from_logits(row_betas * (hidden @ rbm.W.T + rbm.visible_bias), rng)
            hidden_input = rbm.hidden_logits(visible, check=False)
            visible, hidden_input = self._swap(rbm, visible, hidden_input, per_temperature, rng)
        self.chains = visible
        if self.follow_updates:
            self.free_energies = tempered_free_energy(rbm, visible, hidden_input, row_betas)
        cold = slice(rows - per_temperature, rows)
        info = self._info(start, per_temperature)
        return NegativeSamples(visible[cold].copy(), None, info, hidden_probs=probabilities(hidden_input[cold].copy()))

    def _sample_general(self, model, per_temperature: int, rng: np.random.Generator, start: float) -> NegativeSamples:
        """The same ladder for a Boltzmann machine on any graph: whole states, block-Gibbs sweeps
        over its colour blocks, swaps accepted with min(1, exp((b - b')(E(x) - E(x')))) and
        resampling by exp(beta (E_old(x) - E_new(x))) when following updates."""
        rows = self.num_temperatures * per_temperature
        self._start_chains(rows, model.n_units, model.dtype, rng)
        row_betas = np.repeat(self.betas, per_temperature)
        states = self.chains
        if self.follow_updates and self.free_energies is not None:
            change = row_betas * (self.free_energies - model.energies(states))
            states = states[systematic_resample_groups(change.reshape(self.num_temperatures, per_temperature), rng)]
        for _ in range(self.k):
            model.block_gibbs(states, 1, rng, betas=row_betas.astype(model.dtype)[:, None])
            energy = model.energies(states).reshape(self.num_temperatures, per_temperature)
            order = self._swap_order(
                lambda lower: (self.betas[lower] - self.betas[lower + 1])[:, None] * (energy[lower] - energy[lower + 1]),
                per_temperature, rng)
            states, energies = states[order], energy.ravel()[order]
        self.chains = states
        if self.follow_updates:
            self.free_energies = energies  # the swapped states' energies under the current parameters
        cold = states[rows - per_temperature:]
        return NegativeSamples(cold[:, :model.n_visible].copy(), cold[:, model.n_visible:].copy(),
                               self._info(start, per_temperature))

    def _swap_order(self, log_ratio_of, per_temperature: int, rng: np.random.Generator) -> np.ndarray:
        """Row order after one round of neighbour swaps (even or odd pairs, alternately), all
        chains at once; `log_ratio_of(lower)` gives the log acceptance ratios of the pairs
        (lower, lower + 1), one row per pair and a column per chain."""
        first = self.swap_round % 2
        self.swap_round += 1
        order = np.arange(self.num_temperatures * per_temperature).reshape(self.num_temperatures, per_temperature)
        lower = np.arange(first, self.num_temperatures - 1, 2)  # pairs (lower, lower + 1)
        if len(lower) == 0:
            return order.ravel()
        accept = np.log(rng.random((len(lower), per_temperature))) < log_ratio_of(lower)
        self.swap_attempts[lower] += per_temperature
        self.swap_accepts[lower] += accept.sum(axis=1)
        pair, chain = np.nonzero(accept)
        low, high = lower[pair], lower[pair] + 1
        order[low, chain], order[high, chain] = order[high, chain], order[low, chain].copy()
        return order.ravel()

    def _swap(self, rbm: RBM, visible: np.ndarray, hidden_input: np.ndarray, per_temperature: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One round of neighbour swaps decided by the exact tempered free energies."""
        shape = (self.num_temperatures, per_temperature)
        visible_term = (visible @ rbm.visible_bias).astype(np.float64).reshape(shape)
        inputs = hidden_input.reshape(self.num_temperatures, per_temperature, -1)

        def free_energy(beta: np.ndarray, replica: np.ndarray) -> np.ndarray:
            """F_beta of the states of the replicas `replica` (one beta per replica), per chain."""
            tempered = beta[:, None, None] * inputs[replica]
            return -beta[:, None] * visible_term[replica] - softplus(tempered).sum(axis=2, dtype=np.float64)

        def log_ratio(lower: np.ndarray) -> np.ndarray:
            cold_beta, hot_beta = self.betas[lower + 1], self.betas[lower]
            return (free_energy(hot_beta, lower) + free_energy(cold_beta, lower + 1)
                    - free_energy(hot_beta, lower + 1) - free_energy(cold_beta, lower))

        order = self._swap_order(log_ratio, per_temperature, rng)
        return visible[order], hidden_input[order]

    def __repr__(self) -> str:
        ladder = "" if np.allclose(self.betas, geometric_ladder(self.num_temperatures, self.beta_min)) else \
            f", betas={np.round(self.betas, 6).tolist()}"
        return (f"ParallelTempering(num_chains={self.num_chains}, num_temperatures={self.num_temperatures}, "
                f"beta_min={self.beta_min:g}, k={self.k}{ladder}, follow_updates={self.follow_updates})")


def tempered_free_energy(rbm: RBM, visible: np.ndarray, hidden_input: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """F_beta(v) = -beta a.v - sum_j softplus(beta (b + v W)) per row, given b + v W and each
    row's beta (a column), in float64."""
    betas = betas.astype(np.float64)
    return (-(betas[:, 0] * (visible @ rbm.visible_bias))
            - softplus(betas * hidden_input).sum(axis=1, dtype=np.float64))
