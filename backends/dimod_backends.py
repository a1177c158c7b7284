"""Backends that sample the RBM's BQM with a dimod sampler: one adapter, then SA and exact.

The adapter builds the BQM from the current parameters, calls the sampler, turns the
SampleSet back into (visible, hidden) arrays and records timing and the sampler's info.
Simulated annealing and exact sampling differ only in the sampler and its keyword arguments.
"""
from __future__ import annotations

import time
from typing import Any

import dimod
import numpy as np
from dwave.samplers import SimulatedAnnealingSampler, TreeDecompositionSampler

from annealrbm.models.bqm import sampleset_to_states
from annealrbm.gradient.estimators import Statistics
from annealrbm.models.rbm import RBM, probabilities
from annealrbm.validation import check_positive_int, check_whole_number

from annealrbm.backends.base import Backend, NegativeSamples
from annealrbm.backends.boltzmann_check import TemperatureCheck, refuse_non_boltzmann
from annealrbm.backends.gibbs import data_jump, free_energy_from_logits
from annealrbm.backends.retry import RetryComposite, RetryPolicy
from annealrbm.backends.threaded_reads import ThreadedReadsComposite

_SEED_LIMIT = 2**31 - 1


class DimodSamplerBackend(Backend):
    """Make any `dimod.Sampler` a backend: the BQM of `bqm_beta * E(v, h)` goes to `sampler.sample`.

    `sample_kwargs` are passed on every call. If the sampler takes a `seed` parameter and none
    was given, a seed is drawn from the trainer's Generator, so runs are reproducible.
    Failed or malformed calls (timeouts, lost connections, empty SampleSets, NaN energies) are
    retried under `retry_policy` with the same arguments, so a retried run equals an untroubled one.

    check_sampler: refuse samplers known not to sample exp(-E) (optimisers such as TabuSampler,
    ExactSolver's unweighted enumeration, random states), and warn once if the answers' effective
    inverse temperature is clearly outside [0.5, 2] (SamplerTemperatureWarning). The negative
    phase needs Boltzmann samples at beta = 1; False trains with whatever the sampler returns.
    """

    any_graph = True

    name = "dimod"
    description = "any dimod.Sampler passed in by the user, sampling the RBM's BQM"

    def __init__(
        self, sampler: dimod.Sampler, bqm_beta: float = 1.0, retry_policy: RetryPolicy | None = None,
        check_sampler: bool = True, **sample_kwargs: Any
    ) -> None:
        if not isinstance(sampler, dimod.Sampler):
            raise ValueError(
                f"expected a dimod.Sampler, got {type(sampler).__name__}; wrap your sampler in a "
                "dimod.Sampler subclass or pass a registered backend name"
            )
        if not bqm_beta > 0:
            raise ValueError(f"bqm_beta must be > 0, got {bqm_beta!r}")
        if check_sampler:
            refuse_non_boltzmann(sampler)
        self.temperature_check = TemperatureCheck(type(sampler).__name__) if check_sampler else None
        self.sampler = sampler
        self.bqm_beta = float(bqm_beta)
        self.retry_policy = retry_policy or RetryPolicy()
        self.sample_kwargs = sample_kwargs

    @property
    def retrying(self) -> RetryComposite:
        """The sampler behind the retry policy: every call goes through it."""
        return RetryComposite(self.sampler, self.retry_policy)

    def call_kwargs(self, rbm: RBM, rng: np.random.Generator) -> dict[str, Any]:
        """Keyword arguments for one `sampler.sample` call (subclasses add per-call values)."""
        kwargs = dict(self.sample_kwargs)
        if "seed" in self.sampler.parameters and kwargs.get("seed") is None:
            kwargs["seed"] = int(rng.integers(_SEED_LIMIT))
        return kwargs

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        bqm = rbm.to_bqm(self.bqm_beta)
        kwargs = self.call_kwargs(rbm, rng)
        start = time.perf_counter()
        sampleset = self.retrying.sample(bqm, **kwargs)
        seconds = time.perf_counter() - start
        visible, hidden = rbm.states_from_sampleset(sampleset)
        if self.temperature_check is not None and rbm.two_layer_fast_paths:
            self.temperature_check.observe(rbm, visible, hidden)
        info = {"seconds": seconds, "num_samples": len(visible), "sampler_info": dict(sampleset.info)}
        return NegativeSamples(visible, hidden, info)

    def sample_clamped(self, model, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Hidden states drawn with the visible units clamped to each row of `batch`, all rows'
        problems in one sampler call (`model.clamped_bqm`): an array (reads, rows, n_hidden)."""
        bqm = model.clamped_bqm(batch, self.bqm_beta)
        kwargs = DimodSamplerBackend.call_kwargs(self, model, rng)  # no persistent starts: another problem
        if isinstance(self, SimulatedAnnealing):
            kwargs["beta_range"] = self.beta_range or (min(hot_beta(model), 0.1 * self.beta), self.beta)
        sampleset = self.retrying.sample(bqm, **kwargs)
        states, _ = sampleset_to_states(sampleset, bqm.num_variables, 0)  # every variable a hidden unit
        return states.reshape(len(states), len(batch), model.n_hidden)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.sample_kwargs.items())
        # the sampler's own repr if its class has one; object's default holds a memory address,
        # which would make a resumed run's settings differ (Ocean's samplers have no repr)
        has_repr = type(self.sampler).__repr__ is not object.__repr__
        sampler = repr(self.sampler) if has_repr else f"{type(self.sampler).__name__}()"
        return f"{type(self).__name__}({sampler}{', ' if options else ''}{options})"


def hot_beta(rbm: RBM) -> float:
    """An inverse temperature at which the unit with the largest possible field still flips
    with probability about 1/2 (dwave-samplers' own default for the hot end)."""
    largest = rbm.max_abs_field()
    return float(np.log(2.0) / largest) if largest > 0 else 1.0


class SimulatedAnnealing(DimodSamplerBackend):
    """dwave-samplers' SimulatedAnnealingSampler on the RBM's BQM, schedule ending at `beta`.

    Ending the anneal at the model's own inverse temperature (1) makes the returned states
    approximate Boltzmann samples rather than ground states. `beta_range` overrides the
    schedule; by default it runs linearly from a hot beta (see `hot_beta`) to `beta`: a linear
    schedule spends more sweeps near the cold end, where the weights of a sharp model's modes
    freeze, than dwave-samplers' geometric default, and trains closer to the optimum (see
    docs/benchmarks.md). With
    `persistent=True`, every call after the first starts from the previous call's samples and
    runs a short anneal of `persistent_sweeps` sweeps from `reheat_beta` to `beta` instead of
    a full anneal from hot (persistent annealing). `num_threads` > 1 splits the reads into
    that many concurrent calls, each seeded from the call's seed (`ThreadedReadsComposite`):
    1.5-2x faster updates on 2 cores; the samples depend on `num_threads`, not on the machine.

    In the final phase of training (the epochs averaged into the returned model, see
    `Backend.set_final_phase`), full anneals run `final_sweep_factor` times as many sweeps: a
    sharp model's mode weights freeze later in a slower anneal, so the returned model is
    trained on samples closer to beta = 1 (see docs/benchmarks.md). 1 turns this off.

    `data_jumps` > 0 (RBMs only; default 0, the annealer's own samples) follows each anneal
    with that many exact Metropolis-Hastings moves per read towards the minibatch
    (`gibbs.data_jump`, the moves weighted PCD makes). An anneal lands in a sharp model's modes
    about equally often whatever their weights; the moves leave the model's distribution
    invariant and carry reads between the modes the data cover, so the modes' weights come out
    right. The negative phase is then the annealer's states corrected by exact MCMC, not the
    annealer alone: keep 0 to compare the annealer itself.
    """

    name = "sa"
    description = "simulated annealing (dwave-samplers) on the BQM, linear schedule ending at beta=1"
    checkpointed = ("previous",)

    def __init__(
        self,
        num_reads: int = 100,
        num_sweeps: int = 1000,
        beta_range: tuple[float, float] | None = None,
        beta_schedule_type: str = "linear",
        beta: float = 1.0,
        seed: int | None = None,
        persistent: bool = False,
        persistent_sweeps: int = 20,
        reheat_beta: float | None = 0.3,
        num_threads: int = 1,
        final_sweep_factor: float = 3.0,
        data_jumps: int = 0,
    ) -> None:
        if not beta > 0:
            raise ValueError(f"beta must be > 0, got {beta!r}")
        if not (np.isfinite(final_sweep_factor) and final_sweep_factor >= 1):
            raise ValueError(f"final_sweep_factor must be a number >= 1 (1 turns it off), got {final_sweep_factor!r}")
        num_threads = check_positive_int(num_threads, "num_threads")
        if beta_range is not None and (len(beta_range) != 2 or not 0 < beta_range[0] <= beta_range[1]):
            raise ValueError(f"beta_range must be (hot, cold) with 0 < hot <= cold, got {beta_range!r}")
        sampler = SimulatedAnnealingSampler()
        super().__init__(
            sampler if num_threads == 1 else ThreadedReadsComposite(sampler, num_threads),
            num_reads=check_positive_int(num_reads, "num_reads"),
            num_sweeps=check_positive_int(num_sweeps, "num_sweeps"),
            beta_schedule_type=beta_schedule_type,
            seed=seed,
        )
        self.beta = float(beta)
        self.beta_range = None if beta_range is None else (float(beta_range[0]), float(beta_range[1]))
        self.persistent = bool(persistent)
        self.persistent_sweeps = check_positive_int(persistent_sweeps, "persistent_sweeps")
        if reheat_beta is not None and not 0 < reheat_beta <= beta:
            raise ValueError(f"reheat_beta must be in (0, beta], got {reheat_beta!r}")
        self.reheat_beta = reheat_beta
        self.previous: np.ndarray | None = None  # last call's states (visible then hidden)
        self.final_sweep_factor = float(final_sweep_factor)
        self.final_phase = False
        self.data_jumps = check_whole_number(data_jumps, "data_jumps")

    def reset(self) -> None:
        self.previous = None

    def set_final_phase(self, final: bool) -> None:
        self.final_phase = bool(final)

    def call_kwargs(self, rbm: RBM, rng: np.random.Generator) -> dict[str, Any]:
        kwargs = super().call_kwargs(rbm, rng)
        n_units = rbm.n_visible + rbm.n_hidden
        if self.persistent and self.previous is not None and self.previous.shape[1] == n_units:
            # persistent annealing: continue from the last samples with a short anneal from
            # reheat_beta (None: sweeps at beta only, which cannot cross between modes)
            kwargs.update(initial_states=(self.previous.astype(np.int8), range(n_units)),
                          initial_states_generator="none", num_reads=len(self.previous),
                          num_sweeps=self.persistent_sweeps,
                          beta_range=(self.reheat_beta or self.beta, self.beta))
        else:
            kwargs["beta_range"] = self.beta_range or (min(hot_beta(rbm), 0.1 * self.beta), self.beta)
            if self.final_phase:
                kwargs["num_sweeps"] = round(kwargs["num_sweeps"] * self.final_sweep_factor)
        return kwargs

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        samples = super().sample(rbm, batch, rng)
        if self.persistent:
            self.previous = np.hstack([samples.visible, samples.hidden])
        if self.data_jumps and batch is not None and len(batch):
            samples = self._jump_to_data(rbm, samples, batch, rng)
        return samples

    def __repr__(self) -> str:
        # every setting that changes the samples, so a checkpoint resumes only with the same ones
        settings = (f"beta={self.beta!r}, beta_range={self.beta_range!r}, persistent={self.persistent!r}, "
                    f"persistent_sweeps={self.persistent_sweeps!r}, reheat_beta={self.reheat_beta!r}, "
                    f"final_sweep_factor={self.final_sweep_factor!r}, data_jumps={self.data_jumps!r}")
        return f"{super().__repr__()[:-1]}, {settings})"

    def _jump_to_data(self, rbm: RBM, samples: NegativeSamples, batch: np.ndarray,
                      rng: np.random.Generator) -> NegativeSamples:
        """The annealer's visible states after `data_jumps` moves each; p(h | v) for the hidden."""
        if not rbm.two_layer_fast_paths:
            raise ValueError("data_jumps needs an RBM (its free energy); use data_jumps=0 for this model")
        start = time.perf_counter()
        visible = annealed = samples.visible.astype(rbm.dtype)
        logits = rbm.hidden_logits(visible, check=False)
        for _ in range(self.data_jumps):
            visible, logits = data_jump(rbm, visible, logits, free_energy_from_logits(rbm, visible, logits), batch, rng)
        info = dict(samples.info)
        info["seconds"] += time.perf_counter() - start
        info["data_jump_moved"] = float(np.mean(np.any(visible != annealed, axis=1)))
        return NegativeSamples(visible, None, info, hidden_probs=probabilities(logits))


def statistics_from_marginals(info: dict, n_visible: int, n_hidden: int) -> Statistics:
    """Exact <v>, <h>, <v h^T> from TreeDecompositionSampler's variable and interaction marginals."""
    variable = info["variable_marginals"]
    means = np.array([variable[label] for label in range(n_visible + n_hidden)], dtype=np.float64)
    cross = np.zeros((n_visible, n_hidden))
    pairs = info["interaction_marginals"]
    if pairs:
        labels = np.array([(int(u), int(v)) for u, v in pairs])
        both_on = np.array([table[(1, 1)] for table in pairs.values()], dtype=np.float64)
        visible_label, hidden_label = labels.min(axis=1), labels.max(axis=1)
        cross[visible_label, hidden_label - n_visible] = both_on
    return Statistics(means[:n_visible], means[n_visible:], cross)


class ExactSampler(DimodSamplerBackend):
    """Exact Boltzmann samples from dwave-samplers' TreeDecompositionSampler.

    With `marginals=True` (default) the sampler's exact marginals give the exact negative-phase
    expectations, so training follows the exact gradient: the reference every approximate
    sampler is compared with. `marginals=False` estimates them from the `num_reads` samples.
    The treewidth of an RBM is min(n_visible, n_hidden); the sampler handles up to 25.
    """

    name = "exact"
    description = "exact Boltzmann sampling and marginals (TreeDecompositionSampler); min(n_v, n_h) <= 25"
    max_treewidth = 25

    def __init__(
        self, num_reads: int = 100, beta: float = 1.0, marginals: bool = True, seed: int | None = None
    ) -> None:
        if not beta > 0:
            raise ValueError(f"beta must be > 0, got {beta!r}")
        super().__init__(
            TreeDecompositionSampler(),
            num_reads=check_positive_int(num_reads, "num_reads"),
            beta=float(beta),
            marginals=bool(marginals),
            seed=seed,
        )

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        if rbm.two_layer_fast_paths and min(rbm.n_visible, rbm.n_hidden) > self.max_treewidth:
            raise ValueError(
                f"the exact backend needs min(n_visible, n_hidden) <= {self.max_treewidth}, "
                f"got {rbm.n_visible}x{rbm.n_hidden}: use 'sa', 'pcd' or 'cd' for this model"
            )
        try:
            samples = super().sample(rbm, batch, rng)
        except ValueError as exc:  # another graph too wide for the tree decomposition
            if "treewidth" not in str(exc):
                raise
            raise ValueError(f"the exact backend needs a graph of treewidth <= {self.max_treewidth}; this "
                             f"{type(rbm).__name__}'s graph is wider: use 'sa', 'pcd' or 'pt'") from None
        if self.sample_kwargs["marginals"]:
            sampler_info = samples.info.pop("sampler_info")
            samples.info["sampler_info"] = {"log_partition_function": float(sampler_info["log_partition_function"])}
            samples.statistics = (statistics_from_marginals(sampler_info, rbm.n_visible, rbm.n_hidden)
                                  if rbm.two_layer_fast_paths
                                  else rbm.from_graph_view(*edge_statistics_from_marginals(sampler_info, rbm)))
        return samples


def edge_statistics_from_marginals(info: dict, model) -> tuple[np.ndarray, np.ndarray]:
    """Exact (<x_i x_j> per edge, <x_i> per unit) of a Boltzmann machine from
    TreeDecompositionSampler's marginals."""
    variable = info["variable_marginals"]
    means = np.array([variable[label] for label in range(model.n_units)], dtype=np.float64)
    pairs = info["interaction_marginals"]
    both_on = {tuple(sorted((int(u), int(v)))): table[(1, 1)] for (u, v), table in pairs.items()}
    edge_means = np.array([both_on[(int(u), int(v))] for u, v in model.edges], dtype=np.float64)
    return edge_means.astype(model.dtype), means.astype(model.dtype)
