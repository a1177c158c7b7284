"""Classical block-Gibbs backends that use the model's matrices directly: CD-k, PCD, long-run Gibbs."""
from __future__ import annotations

import time

import numpy as np

from annealrbm.models.rbm import RBM, bernoulli, probabilities, sample_from_logits, softplus
from annealrbm.validation import check_positive_int

from annealrbm.backends.base import Backend, NegativeSamples
from annealrbm.backends.importance import effective_sample_fraction, normalised_weights, systematic_resample


def _random_states(n_chains: int, n_units: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    return (rng.random((n_chains, n_units)) < 0.5).astype(dtype)


def _general_samples(model, states: np.ndarray, sweeps: int, rng: np.random.Generator, start: float) -> NegativeSamples:
    """Block-Gibbs sweeps over a Boltzmann machine's colour blocks (any graph), in place."""
    model.block_gibbs(states, sweeps, rng)
    info = {"seconds": time.perf_counter() - start, "num_samples": len(states)}
    return NegativeSamples(states[:, :model.n_visible].copy(), states[:, model.n_visible:].copy(), info)


def _clamped_start(model, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Full states with the visible units at `batch` and hidden units drawn from E[h | v]."""
    hidden = (rng.random((len(batch), model.n_hidden)) < model.hidden_expectations(batch)).astype(model.dtype)
    return np.hstack([np.asarray(batch, dtype=model.dtype), hidden])


class ContrastiveDivergence(Backend):
    """CD-k: chains start at the minibatch and run k block-Gibbs sweeps (Hinton 2002)."""

    any_graph = True

    name = "cd"
    description = "contrastive divergence CD-k: k Gibbs sweeps started at the minibatch (k=1)"
    uses_batch = True

    def __init__(self, k: int = 1) -> None:
        self.k = check_positive_int(k, "k")

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        start = time.perf_counter()
        if not rbm.two_layer_fast_paths:  # any graph: start at the data, k sweeps over the colour blocks
            return _general_samples(rbm, _clamped_start(rbm, batch, rng), self.k, rng, start)
        # p(h | data) starts the chain and is also the positive phase: computed once, handed over
        data_probs = rbm.hidden_probs(batch, check=False)
        visible = rbm.sample_visible(bernoulli(data_probs, rng), rng, check=False)
        visible, probs = rbm.gibbs_sweeps(visible, self.k - 1, rng)
        info = {"seconds": time.perf_counter() - start, "num_samples": len(visible)}
        return NegativeSamples(visible, None, info, hidden_probs=probs, data_hidden_probs=data_probs)

    def __repr__(self) -> str:
        return f"ContrastiveDivergence(k={self.k})"


# Small models (at most this many weights and visible units) get DEFAULT_SMALL_MODEL_CHAINS
# persistent chains by default: cheap there, and a population large enough that the importance
# weights keep every mode. Image-sized models (784 visible units) get DEFAULT_CHAINS, three
# minibatches, whatever their hidden layer: more chains follow the model's modes better, and
# their sweeps are cheap next to the update's products. Parallel tempering runs its chains at
# every temperature, so it keeps one minibatch per temperature (DEFAULT_CHAINS_PER_TEMPERATURE).
SMALL_MODEL_WEIGHTS = 20_000
SMALL_MODEL_VISIBLE = 256
DEFAULT_SMALL_MODEL_CHAINS = 1000
DEFAULT_CHAINS = 300
DEFAULT_CHAINS_PER_TEMPERATURE = 100


def is_small_model(rbm: RBM) -> bool:
    """Whether `rbm` is small enough for the small-model defaults of the chain backends."""
    return rbm.n_visible * rbm.n_hidden <= SMALL_MODEL_WEIGHTS and rbm.n_visible <= SMALL_MODEL_VISIBLE


def default_num_chains(rbm: RBM) -> int:
    """Persistent chains PCD uses for `rbm` when none are asked for."""
    return DEFAULT_SMALL_MODEL_CHAINS if is_small_model(rbm) else DEFAULT_CHAINS


class PersistentContrastiveDivergence(Backend):
    """PCD-k: persistent chains carried from one update to the next (Tieleman 2008), by default
    with importance weights across updates (persistent sequential Monte Carlo).

    Plain PCD's chains lag behind the model: once its modes are sharp the chains stop moving
    between them, and the share of chains per mode no longer follows the model. weighted=True
    corrects that exactly: when the parameters change from theta to theta', every chain's
    weight is multiplied by p_theta'(v) / p_theta(v) = exp(F_theta(v) - F_theta'(v)) (the free
    energies' normalisers are common to all chains), the negative phase is the weighted
    average, and the chains are resampled in proportion to their weights when the effective
    sample size falls below `ess_threshold`. The free energies reuse the sweeps' own matrix
    products, so the weights cost no extra product. weighted=False is Tieleman's PCD.
    weighted=None (default) weights the chains of small models (those that get 1000 chains,
    see `default_num_chains`) and not those of image-sized ones: with 100 chains on MNIST
    784x500 the resampling costs diversity (200 epochs: validation LL -105.2 weighted against
    -91.4 unweighted).

    Weights cannot keep a mode that no chain is in: once the chains have gathered in one mode,
    the model pushes that mode down and the likelihood collapses. data_jumps=True (default)
    gives weighted chains one Metropolis-Hastings move per update towards the minibatch (see
    `data_jump`): exact, so the chains still follow the model, and able to reach every mode
    the data cover.

    num_chains: None (default) gives 1000 chains to models with at most 20,000 weights and 256
        visible units, and 300 to larger ones.
    persist="visible" (default) keeps each chain's visible states, so every update runs whole
    sweeps with the current weights. persist="hidden" keeps the hidden states drawn at the end
    of the previous update, as scikit-learn's BernoulliRBM does: one matrix product fewer per
    update (five instead of six for PCD-1), but the first half-sweep used the previous weights;
    measured on MNIST (784x500, 10,000 images, 5 epochs, SGD 0.1, seeds 0-2) it ends 7-21 nats
    lower in validation log-likelihood (-165.5 against -150.0 on average). It is unweighted.

    average_over: the layer the negative phase averages analytically (Rao-Blackwellises).
    "hidden" (default) ends every update with p(h | v) of the chains' new visible states: one
    more product per chain. "visible" pairs each chain's last hidden sample h with p(v | h),
    which the sweep computed to draw v: (v, h) is a joint sample of a chain at equilibrium, so
    E[p(v | h) h^T] = <v h^T> without that product (PCD-1: two products per chain instead of
    three; unweighted chains only, since weights need p(h | v) for the free energies: with
    weighted=None the chains are then unweighted whatever the model's size; RBMs only). It is
    cheaper per chain but noisier where p(v | h) is nearly 0 or 1, as for most pixels of a
    trained MNIST model, so there it gains less than the chains it pays for (docs/benchmarks.md).
    """

    any_graph = True

    name = "pcd"
    description = "persistent contrastive divergence: k Gibbs sweeps on chains kept between updates, importance-weighted"
    # free_energies: F(v) of each chain (an RBM) or E(x) of its whole state (other models)
    checkpointed = ("chains", "log_weights", "free_energies")

    def __init__(self, k: int = 1, num_chains: int | None = None, persist: str = "visible",
                 weighted: bool | None = None, ess_threshold: float = 0.5, data_jumps: bool = True,
                 average_over: str = "hidden") -> None:
        self.k = check_positive_int(k, "k")
        self.num_chains = None if num_chains is None else check_positive_int(num_chains, "num_chains")
        if persist not in ("visible", "hidden"):
            raise ValueError(
                f"persist must be 'visible' (whole sweeps with the current weights) or 'hidden' "
                f"(scikit-learn's, one product fewer), got {persist!r}"
            )
        if weighted and persist == "hidden":
            raise ValueError("importance weights are kept on visible states: use persist='visible' with weighted=True")
        if not 0 <= ess_threshold <= 1:
            raise ValueError(f"ess_threshold must be a fraction in [0, 1], got {ess_threshold!r}")
        if average_over not in ("hidden", "visible"):
            raise ValueError(f"average_over must be 'hidden' (p(h | v)) or 'visible' (p(v | h)), got {average_over!r}")
        if average_over == "visible" and (weighted or persist == "hidden"):
            raise ValueError("average_over='visible' needs unweighted chains that keep visible states: "
                             "use weighted=False and persist='visible'")
        self.average_over = average_over
        self.persist = persist
        self.weighted = None if weighted is None else bool(weighted)
        self.ess_threshold = float(ess_threshold)
        self.data_jumps = bool(data_jumps)
        self.chains: np.ndarray | None = None  # states of the persisted layer, one row per chain
        self.log_weights: np.ndarray | None = None  # per chain (weighted PCD)
        self.free_energies: np.ndarray | None = None  # F(chain) under the parameters that last swept it

    keeps_state = True

    def reset(self) -> None:
        self.chains = self.log_weights = self.free_energies = None

    def weights_chains(self, rbm: RBM) -> bool:
        """Whether the chains for `rbm` carry importance weights (see `weighted`)."""
        if self.weighted is not None:
            return self.weighted
        return self.persist == "visible" and self.average_over == "hidden" and is_small_model(rbm)

    def chains_for(self, rbm: RBM) -> int:
        """The number of chains used for `rbm` (see num_chains)."""
        if self.num_chains is not None:
            return self.num_chains
        return default_num_chains(rbm)

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        start = time.perf_counter()
        if not rbm.two_layer_fast_paths:
            return self._general_sample(rbm, rng, start)
        width = rbm.n_visible if self.persist == "visible" else rbm.n_hidden
        if self.chains is None or self.chains.shape[1] != width:
            self.chains = _random_states(self.chains_for(rbm), width, rng, rbm.dtype)
            self.log_weights = self.free_energies = None
        weights = visible_probs = None
        weighted = self.weights_chains(rbm)
        if weighted:
            visible, probs, weights = self._weighted_sweeps(rbm, batch, rng)
            hidden = None
        elif self.average_over == "visible":  # unweighted chains of visible states (checked in __init__)
            for _ in range(self.k):
                hidden = rbm.sample_hidden(self.chains, rng, check=False)
                self.chains, visible_probs = rbm.sample_visible_and_probs(hidden, rng)
            visible, probs = self.chains.copy(), None
        elif self.persist == "visible":
            self.chains, probs = rbm.gibbs_sweeps(self.chains, self.k, rng)
            visible, hidden = self.chains.copy(), None
        else:
            visible, probs = rbm.gibbs_sweeps(rbm.sample_visible(self.chains, rng, check=False), self.k - 1, rng)
            self.chains = bernoulli(probs, rng)
            hidden = self.chains.copy()
        info = {"seconds": time.perf_counter() - start, "num_samples": len(visible)}
        if weighted:
            info["effective_sample_size"] = effective_sample_fraction(self.log_weights)
        return NegativeSamples(visible, hidden, info, hidden_probs=probs, visible_probs=visible_probs, weights=weights)

    def _general_sample(self, model, rng: np.random.Generator, start: float) -> NegativeSamples:
        """PCD on a Boltzmann machine on any graph: chains of whole states, k sweeps over the
        colour blocks per update, importance-weighted as for the RBM (`weights_chains`)."""
        if self.persist != "visible" or self.average_over != "hidden":
            raise ValueError("pcd on a Boltzmann machine that is not an RBM keeps whole states: use persist='visible' "
                             "and average_over='hidden'")
        if self.chains is None or self.chains.shape[1] != model.n_units:
            self.chains = _random_states(self.chains_for(model), model.n_units, rng, model.dtype)
            self.log_weights = self.free_energies = None
        if not self.weights_chains(model):
            return _general_samples(model, self.chains, self.k, rng, start)
        # importance weights on whole states: p_new(x) / p_old(x) = exp(E_old(x) - E_new(x))
        if self.free_energies is None:
            self.log_weights = np.zeros(len(self.chains))
        else:
            self.log_weights += self.free_energies - model.energies(self.chains)
            self.log_weights -= self.log_weights.max()
            if effective_sample_fraction(self.log_weights) < self.ess_threshold:
                self.chains = self.chains[systematic_resample(self.log_weights, rng)]
                self.log_weights = np.zeros(len(self.chains))
        samples = _general_samples(model, self.chains, self.k, rng, start)
        self.free_energies = model.energies(self.chains)  # the energies under the parameters that swept them
        samples.weights = normalised_weights(self.log_weights)
        samples.info["effective_sample_size"] = effective_sample_fraction(self.log_weights)
        return samples

    def _weighted_sweeps(self, rbm: RBM, batch: np.ndarray | None,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Reweight the chains for the new parameters, resample if their effective size is too
        small, let them jump to the data (`data_jumps`), sweep k times; returns the visible
        states, p(h | v) and the normalised weights."""
        logits = rbm.hidden_logits(self.chains, check=False)  # b + v W: the first sweep's product
        free_energies = free_energy_from_logits(rbm, self.chains, logits)
        if self.free_energies is None:
            self.log_weights = np.zeros(len(self.chains))
        else:
            self.log_weights += self.free_energies - free_energies
            self.log_weights -= self.log_weights.max()  # only ratios matter; keeps them bounded
            if effective_sample_fraction(self.log_weights) < self.ess_threshold:
                rows = systematic_resample(self.log_weights, rng)
                self.chains, logits, free_energies = self.chains[rows], logits[rows], free_energies[rows]
                self.log_weights = np.zeros(len(rows))
        if self.data_jumps and batch is not None and len(batch):
            self.chains, logits = data_jump(rbm, self.chains, logits, free_energies, batch, rng)
        visible = self.chains
        for sweep in range(self.k):
            if sweep:
                logits = rbm.hidden_logits(visible, check=False)
            visible = rbm.sample_visible(sample_from_logits(logits, rng), rng, check=False)
        logits = rbm.hidden_logits(visible, check=False)
        self.free_energies = free_energy_from_logits(rbm, visible, logits)
        self.chains = visible
        return visible.copy(), probabilities(logits), normalised_weights(self.log_weights)

    def __repr__(self) -> str:
        return (f"PersistentContrastiveDivergence(k={self.k}, num_chains={self.num_chains}, persist={self.persist!r}, "
                f"weighted={self.weighted}, ess_threshold={self.ess_threshold}, data_jumps={self.data_jumps}, "
                f"average_over={self.average_over!r})")


def data_jump(rbm: RBM, chains: np.ndarray, logits: np.ndarray, free_energies: np.ndarray, batch: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One Metropolis-Hastings move per chain that proposes a row of the minibatch with each bit
    flipped with probability 1/n_visible (a row of values in [0, 1] gives bits drawn with those
    probabilities, flipped alike): an independence proposal whose density q is the mixture of
    these product distributions over the batch's rows. Accepting with
    min(1, exp(F(v) - F(v')) q(v) / q(v')) leaves the model's distribution invariant, so the
    chains stay exact; the move lets them reach a mode the data cover in one step, where block
    Gibbs sweeps would have to cross the barrier between modes. Returns the chains and their
    hidden logits, both updated where the move was accepted."""
    n_chains, n_visible = chains.shape
    flip = 1.0 / n_visible
    on = np.asarray(batch, dtype=np.float64) * (1 - 2 * flip) + flip  # P(bit = 1) for each row's proposal
    proposals = (rng.random((n_chains, n_visible)) < on[rng.integers(len(on), size=n_chains)]).astype(chains.dtype)
    proposal_logits = rbm.hidden_logits(proposals, check=False)
    log_density = _log_proposal_density(np.vstack([chains, proposals]), on)
    log_ratio = (free_energies - free_energy_from_logits(rbm, proposals, proposal_logits)
                 + log_density[:n_chains] - log_density[n_chains:])
    accept = (np.log(rng.random(n_chains)) < log_ratio)[:, np.newaxis]
    return np.where(accept, proposals, chains), np.where(accept, proposal_logits, logits)


def _log_proposal_density(states: np.ndarray, on: np.ndarray) -> np.ndarray:
    """log of (1/N) sum_n prod_i on_ni^v_i (1 - on_ni)^(1 - v_i) for each state v: one product
    against the rows' log-odds, then the sum over the N rows (a minibatch, short) by one
    logaddexp per row."""
    log_terms = np.log1p(-on).sum(axis=1)[:, None] + (np.log(on) - np.log1p(-on)) @ states.astype(np.float64, copy=False).T
    total = log_terms[0].copy()
    for row in log_terms[1:]:
        np.logaddexp(total, row, out=total)
    return total - np.log(len(on))


def free_energy_from_logits(rbm: RBM, visible: np.ndarray, hidden_logits: np.ndarray) -> np.ndarray:
    """F(v) = -a.v - sum_j softplus(logit_j), given the hidden logits b + v W (float64)."""
    return -(visible @ rbm.visible_bias).astype(np.float64) - softplus(hidden_logits).sum(axis=1, dtype=np.float64)


class LongRunGibbs(Backend):
    """Fresh random chains every update, `burn_in` sweeps, one sample per chain.

    The 'Gibbs sampling' arm of the classic pattern experiment: slow, but unbiased once the
    chains have mixed.
    """

    any_graph = True

    name = "gibbs"
    description = "long-run block Gibbs: fresh chains, burn-in sweeps, then num_samples samples"

    def __init__(self, num_samples: int = 100, burn_in: int = 500) -> None:
        self.num_samples = check_positive_int(num_samples, "num_samples")
        self.burn_in = check_positive_int(burn_in, "burn_in")

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        start = time.perf_counter()
        if not rbm.two_layer_fast_paths:
            states = _random_states(self.num_samples, rbm.n_units, rng, rbm.dtype)
            return _general_samples(rbm, states, self.burn_in, rng, start)
        chains = _random_states(self.num_samples, rbm.n_visible, rng, rbm.dtype)
        visible, probs = rbm.gibbs_sweeps(chains, self.burn_in, rng)
        info = {"seconds": time.perf_counter() - start, "num_samples": self.num_samples}
        return NegativeSamples(visible, None, info, hidden_probs=probs)

    def __repr__(self) -> str:
        return f"LongRunGibbs(num_samples={self.num_samples}, burn_in={self.burn_in})"
