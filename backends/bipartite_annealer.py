"""A vectorised simulated annealer for bipartite BQMs (RBMs): block Gibbs on all reads at once.

In a bipartite model the units of one side are independent given the other side, so a sweep
is two matrix products and two vectors of Bernoulli draws for all reads together (heat-bath
acceptance). At a fixed beta this is exact block-Gibbs MCMC, so an anneal that ends at the
model's beta leaves Boltzmann samples at that beta as far as the chains have mixed.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import dimod
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import logsumexp

from annealrbm.models.rbm import RBM, sample_from_logits, softplus
from annealrbm.validation import check_positive_int

from annealrbm.backends.base import Backend, NegativeSamples
from annealrbm.backends.dimod_backends import hot_beta
from annealrbm.backends.importance import effective_sample_fraction, systematic_resample


def make_beta_schedule(beta_range: Sequence[float], num_sweeps: int, schedule_type: str = "geometric") -> np.ndarray:
    """One inverse temperature per sweep, from beta_range[0] to beta_range[1]."""
    hot, cold = float(beta_range[0]), float(beta_range[1])
    if not 0 < hot <= cold:
        raise ValueError(f"beta_range must be (hot, cold) with 0 < hot <= cold, got {beta_range!r}")
    if schedule_type == "geometric":
        return np.geomspace(hot, cold, num_sweeps)
    if schedule_type == "linear":
        return np.linspace(hot, cold, num_sweeps)
    raise ValueError(f"beta_schedule_type must be 'geometric', 'linear' or 'custom', got {schedule_type!r}")


def default_beta_range(left_bias: np.ndarray, right_bias: np.ndarray, coupling: np.ndarray) -> tuple[float, float]:
    """dwave-samplers' rule: hot enough that the strongest unit flips with probability ~1/2,
    cold enough that the weakest non-zero field flips with probability ~1/100."""
    fields = np.concatenate([np.abs(left_bias) + np.abs(coupling).sum(axis=1),
                             np.abs(right_bias) + np.abs(coupling).sum(axis=0)])
    weakest = np.concatenate([np.abs(left_bias), np.abs(right_bias), np.abs(coupling[coupling != 0])])
    weakest = weakest[weakest > 0]
    if fields.max() == 0:
        return 0.1, 1.0
    hot = np.log(2.0) / fields.max()
    cold = np.log(100.0) / weakest.min()
    return float(hot), float(max(cold, hot))


def anneal(
    left_bias: np.ndarray,
    right_bias: np.ndarray,
    coupling: np.ndarray,
    betas: np.ndarray,
    left_states: np.ndarray,
    rng: np.random.Generator,
    dtype=np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Anneal BINARY energy E = l.x + r.y + x^T C y through `betas`, every read at once.

    left_states: (num_reads, n_left) initial 0/1 states of the left side. Returns the final
    (left, right) states. Each sweep draws y | x, then x | y (heat bath).
    """
    coupling_t = np.ascontiguousarray(coupling.T, dtype=dtype)
    coupling = np.ascontiguousarray(coupling, dtype=dtype)
    left_bias = left_bias.astype(dtype)
    right_bias = right_bias.astype(dtype)
    x = left_states.astype(dtype)
    y = np.empty((x.shape[0], coupling.shape[1]), dtype=dtype)
    for beta in betas.astype(dtype):
        y = sample_from_logits(_scaled_field(x @ coupling, right_bias, -beta), rng)
        x = sample_from_logits(_scaled_field(y @ coupling_t, left_bias, -beta), rng)
    return x, y


def _scaled_field(product: np.ndarray, bias: np.ndarray, scale) -> np.ndarray:
    """scale * (product + bias), in place in `product` (no temporaries in the sweep loop)."""
    product += bias
    product *= scale
    return product


def _split_reads(run, num_reads: int, rng: np.random.Generator, workers: int | None, problem_size: int) -> list:
    """Call `run(rows, rng)` on parts of the reads in threads (numpy releases the GIL), one
    stream each; one call with `rng` itself when splitting does not pay."""
    workers = workers or os.cpu_count() or 1
    # small problems: BLAS is not threaded, so split the reads; large ones: BLAS uses the cores
    if workers == 1 or num_reads < 2 * workers or problem_size >= 100_000:
        return [run(np.arange(num_reads), rng)]
    parts = np.array_split(np.arange(num_reads), workers)
    # child streams seeded by draws from `rng` (not rng.spawn, whose counter lives outside the
    # generator's state): a generator restored from a checkpoint then gives the same streams
    streams = [np.random.default_rng(seed) for seed in rng.integers(2**63, size=workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, parts, streams))


def anneal_parallel(
    left_bias, right_bias, coupling, betas, left_states, rng: np.random.Generator, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`anneal` with the reads split over threads, one stream each."""
    results = _split_reads(lambda rows, stream: anneal(left_bias, right_bias, coupling, betas, left_states[rows], stream),
                           len(left_states), rng, workers, coupling.size)
    return np.vstack([r[0] for r in results]), np.vstack([r[1] for r in results])


def left_free_energy_increment(
    left_states: np.ndarray, right_field: np.ndarray, left_bias: np.ndarray, beta_from: float, beta_to: float
) -> np.ndarray:
    """log of exp(-beta_to F(x)) / exp(-beta_from F(x)) per row, where exp(-beta F(x)) is the
    marginal of exp(-beta E) over the right side: F_beta(x) = l.x - sum_j softplus(-beta (r_j +
    (x C)_j)) / beta. `right_field` holds r + x C for each row. Computed in float64."""
    field = right_field.astype(np.float64, copy=False)
    return (-(beta_to - beta_from) * (left_states @ left_bias.astype(np.float64))
            + softplus(-beta_to * field).sum(axis=1) - softplus(-beta_from * field).sum(axis=1))


def population_anneal(
    left_bias: np.ndarray,
    right_bias: np.ndarray,
    coupling: np.ndarray,
    betas: np.ndarray,
    num_reads: int,
    rng: np.random.Generator,
    ess_threshold: float = 0.5,
    dtype=np.float32,
) -> dict:
    """Population annealing (Hukushima & Iba 2003; Machta 2010) of E = l.x + r.y + x^T C y.

    The population starts as exact samples at beta = 0 (uniform states). At each step to the
    next beta, every read's weight is multiplied by the exact ratio of the left marginals,
    exp(-(beta' F_beta'(x) - beta F_beta(x))) (the right side summed out analytically); when
    the effective sample size falls below `ess_threshold` x num_reads the population is
    resampled in proportion to its weights; then one block-Gibbs sweep at the new beta. The
    weights correct what the sweeps cannot: the relative mass of modes that stop exchanging
    reads as beta grows, which a plain anneal freezes at the wrong values.

    Returns the final left states, their log-weights (log Z estimate = logsumexp(w) - log n,
    unbiased in Z) and the smallest effective sample fraction and number of resamplings.
    """
    scalar = np.dtype(dtype).type
    coupling_t = np.ascontiguousarray(coupling.T, dtype=dtype)
    coupling = np.ascontiguousarray(coupling, dtype=dtype)
    left_bias, right_bias = left_bias.astype(dtype), right_bias.astype(dtype)
    n_left, n_right = coupling.shape
    x = (rng.random((num_reads, n_left)) < 0.5).astype(dtype)
    # each read's absolute log-weight: exp of their mean estimates Z at the current beta
    log_weights = np.full(num_reads, (n_left + n_right) * np.log(2.0))
    smallest_ess, resamplings, previous = 1.0, 0, 0.0
    for beta in np.asarray(betas, dtype=np.float64):
        field = x @ coupling
        field += right_bias
        log_weights += left_free_energy_increment(x, field, left_bias, previous, beta)
        ess = effective_sample_fraction(log_weights)
        smallest_ess = min(smallest_ess, ess)
        if ess < ess_threshold:
            rows = systematic_resample(log_weights, rng)
            x, field = x[rows], field[rows]
            log_weights[:] = logsumexp(log_weights) - np.log(num_reads)
            resamplings += 1
        field *= scalar(-beta)
        y = sample_from_logits(field, rng)
        x = sample_from_logits(_scaled_field(y @ coupling_t, left_bias, scalar(-beta)), rng)
        previous = beta
    return {"left": x, "log_weights": log_weights, "smallest_ess": smallest_ess, "resamplings": resamplings}


def population_anneal_parallel(
    left_bias, right_bias, coupling, betas, num_reads: int, rng: np.random.Generator,
    ess_threshold: float = 0.5, workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """`population_anneal` with the reads split over threads into independent populations, then
    one resampling of all reads by their weights, so every returned state counts once, and
    right states drawn given the left ones at the final beta.

    Returns (left, right, info) with info 'log_partition_function' (the estimate of log Z at
    the final beta, unbiased in Z), 'effective_sample_size' (of the final weights, as a
    fraction of the reads), 'smallest_effective_sample_size' and 'resamplings'.
    """
    betas = np.asarray(betas, dtype=np.float64)
    parts = _split_reads(lambda rows, stream: population_anneal(left_bias, right_bias, coupling, betas, len(rows), stream,
                                                                ess_threshold),
                         num_reads, rng, workers, coupling.size)
    left = np.vstack([part["left"] for part in parts])
    log_weights = np.concatenate([part["log_weights"] for part in parts])
    info = {
        "log_partition_function": float(logsumexp(log_weights) - np.log(num_reads)),
        "effective_sample_size": effective_sample_fraction(log_weights),
        "smallest_effective_sample_size": min(part["smallest_ess"] for part in parts),
        "resamplings": int(sum(part["resamplings"] for part in parts)),
    }
    left = left[systematic_resample(log_weights, rng)]
    final = betas[-1] if len(betas) else 0.0
    field = left @ np.asarray(coupling, dtype=left.dtype)
    right = sample_from_logits(_scaled_field(field, np.asarray(right_bias, dtype=left.dtype), -final), rng)
    return left, right, info


def bipartition(bqm: dimod.BinaryQuadraticModel) -> tuple[list, list]:
    """The two sides of a bipartite BQM's interaction graph, each in the BQM's variable order;
    ValueError if it has an odd cycle. Within a component, the first variable is on the left."""
    labels = list(bqm.variables)
    _, (rows, cols, _), _ = bqm.to_numpy_vectors(variable_order=labels)
    on_left = left_side(len(labels), rows, cols)
    return [labels[i] for i in np.flatnonzero(on_left)], [labels[i] for i in np.flatnonzero(~on_left)]


def left_side(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Which of `n` variables, joined by the interactions rows[k]-cols[k], lie on the left side.

    Vectorised through the bipartite double cover (each variable v doubled into v0 and v1,
    each interaction u-v into u0-v1 and u1-v0): a component is bipartite exactly when no v0
    shares a cover component with its own v1, and then the variables whose v0 shares one with
    the component's first variable's v0 form one side.
    """
    cover = coo_matrix((np.ones(2 * len(rows), dtype=np.int8),
                        (np.concatenate([rows, rows + n]), np.concatenate([cols + n, cols]))), shape=(2 * n, 2 * n))
    _, cover_component = connected_components(cover, directed=False)
    if np.any(cover_component[:n] == cover_component[n:]):
        raise ValueError("BipartiteAnnealingSampler needs a bipartite BQM (no odd cycles); use SimulatedAnnealingSampler")
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    first = np.unique(component, return_index=True)[1]  # each component's first variable
    return cover_component[:n] == cover_component[first][component]


class BipartiteAnnealingSampler(dimod.Sampler):
    """dimod Sampler: vectorised block-Gibbs annealing of bipartite BQMs.

    Takes SimulatedAnnealingSampler's parameter names: num_reads, num_sweeps, beta_range,
    beta_schedule_type ('geometric', 'linear', 'custom' with beta_schedule), seed,
    initial_states (a SampleSet or samples-like over the BQM's variables).

    population_annealing: reweight and resample the reads between temperatures so that the
    final states follow the Boltzmann distribution at the final beta also across modes that
    stop exchanging reads on the way (`population_anneal`); the info then holds the log
    partition function estimate and the effective sample size. None (default): on, unless
    initial_states are given (an anneal continuing from given states cannot be reweighted).
    ess_threshold: resample when the effective sample size drops below this fraction.
    """

    parameters = {"num_reads": [], "num_sweeps": [], "beta_range": [], "beta_schedule_type": ["schedule_types"],
                  "beta_schedule": [], "seed": [], "initial_states": [], "initial_states_generator": [],
                  "population_annealing": [], "ess_threshold": []}
    properties = {"schedule_types": ["geometric", "linear", "custom"]}

    def sample(self, bqm: dimod.BinaryQuadraticModel, num_reads: int | None = None, num_sweeps: int = 1000,
               beta_range=None, beta_schedule_type: str = "geometric", beta_schedule=None, seed=None,
               initial_states=None, initial_states_generator: str = "random",
               population_annealing: bool | None = None, ess_threshold: float = 0.5,
               **kwargs) -> dimod.SampleSet:
        start_time = time.perf_counter_ns()
        self.remove_unknown_kwargs(**kwargs)  # warns (SamplerUnknownArgWarning) about each unknown keyword
        if num_reads is not None:
            num_reads = check_positive_int(num_reads, "num_reads")
        if initial_states is not None:  # dimod's own parsing: labels checked, reads tiled or drawn as asked
            parsed = dimod.Initialized().parse_initial_states(
                bqm, initial_states=initial_states, initial_states_generator=initial_states_generator,
                num_reads=num_reads, seed=None if seed is None else int(np.random.default_rng(seed).integers(2**31)))
            initial_states, num_reads = parsed.initial_states, len(parsed.initial_states)
        if bqm.num_variables == 0:
            empty = dimod.SampleSet.from_samples_bqm((np.empty((num_reads or 1, 0), dtype=np.int8), []), bqm)
            empty.info["timing"] = _timing(start_time)
            return empty
        binary = bqm.change_vartype(dimod.BINARY, inplace=False)
        linear, (rows, cols, biases), offset, labels = binary.to_numpy_vectors(return_labels=True)
        on_left = left_side(len(labels), rows, cols)
        left_at, right_at = np.flatnonzero(on_left), np.flatnonzero(~on_left)
        left, right = [labels[i] for i in left_at], [labels[i] for i in right_at]
        slot = np.empty(len(labels), dtype=np.intp)  # row of a left variable, column of a right one
        slot[left_at] = np.arange(len(left_at))
        slot[right_at] = np.arange(len(right_at))
        first_left = on_left[rows]
        coupling = np.zeros((len(left), len(right)))
        np.add.at(coupling, (slot[np.where(first_left, rows, cols)], slot[np.where(first_left, cols, rows)]), biases)
        left_bias, right_bias = linear[left_at], linear[right_at]
        rng = np.random.default_rng(seed)
        if population_annealing is None:
            population_annealing = initial_states is None
        if population_annealing and initial_states is not None:
            raise ValueError("population annealing starts from exact samples at beta = 0 and cannot continue from "
                             "initial_states: pass population_annealing=False to anneal from given states")
        if not 0 <= ess_threshold <= 1:
            raise ValueError(f"ess_threshold must be a fraction in [0, 1], got {ess_threshold!r}")
        if initial_states is not None:
            array, labels = dimod.as_samples(initial_states)
            column = {label: i for i, label in enumerate(labels)}
            start = np.asarray(array)[:, [column[v] for v in left]].astype(float)
            if bqm.vartype is dimod.SPIN:
                start = (start + 1) / 2
        else:
            num_reads = check_positive_int(num_reads or 1, "num_reads")
            start = None
        if beta_schedule_type == "custom":
            if beta_schedule is None:
                raise ValueError("beta_schedule_type 'custom' needs beta_schedule")
            betas = np.asarray(beta_schedule, dtype=float)
        else:
            num_sweeps = check_positive_int(num_sweeps, "num_sweeps")
            betas = make_beta_schedule(beta_range or default_beta_range(left_bias, right_bias, coupling), num_sweeps,
                                  beta_schedule_type)
        info = {"beta_range": [float(betas[0]), float(betas[-1])], "beta_schedule_type": beta_schedule_type,
                "population_annealing": bool(population_annealing)}
        if population_annealing:
            x, y, weights_info = population_anneal_parallel(left_bias, right_bias, coupling, betas, num_reads, rng,
                                                            ess_threshold)
            # the BQM's offset multiplies every weight by exp(-beta offset)
            weights_info["log_partition_function"] -= float(betas[-1]) * float(offset)
            info.update(weights_info)
        else:
            if start is None:
                start = (rng.random((num_reads, len(left))) < 0.5).astype(float)
            x, y = anneal_parallel(left_bias, right_bias, coupling, betas, start, rng)
        samples = np.hstack([x, y]).astype(np.int8)
        variables = left + right
        result = dimod.SampleSet.from_samples_bqm((samples, variables), binary)
        result.info.update(info)
        result.info["timing"] = _timing(start_time)
        return result.change_vartype(bqm.vartype, inplace=False) if bqm.vartype is dimod.SPIN else result


def _timing(start_ns: int) -> dict[str, int]:
    """info['timing'] as dwave-samplers reports it (nanoseconds)."""
    return {"preprocessing_ns": 0, "sampling_ns": time.perf_counter_ns() - start_ns, "postprocessing_ns": 0}


class BipartiteAnnealing(Backend):
    """Backend: the vectorised bipartite annealer on the model's arrays (no BQM round trip).

    Anneals from a hot beta to `beta` over `num_sweeps` block-Gibbs sweeps, by default as
    population annealing (`population_anneal`): the reads are reweighted by the exact ratio of
    the visible marginals between temperatures and resampled when their effective sample size
    drops below `ess_threshold`, so the samples follow the model at `beta` also across sharp
    modes whose relative weights a plain anneal freezes early. `info` then carries the log
    partition function estimate and the effective sample size. `population_annealing=False`
    gives the plain anneal. With `persistent=True`, every call after the first continues from
    the previous call's states with `persistent_sweeps` sweeps at `beta` instead.
    """

    name = "bipartite-sa"
    description = "vectorised block-Gibbs population annealer for RBMs (all reads at once, BLAS, both cores)"
    checkpointed = ("chains",)

    def __init__(self, num_reads: int = 1000, num_sweeps: int = 300, beta: float = 1.0,
                 beta_range: tuple[float, float] | None = None, beta_schedule_type: str = "geometric",
                 population_annealing: bool = True, ess_threshold: float = 0.5,
                 persistent: bool = False, persistent_sweeps: int = 10) -> None:
        if not beta > 0:
            raise ValueError(f"beta must be > 0, got {beta!r}")
        self.num_reads = check_positive_int(num_reads, "num_reads")
        self.num_sweeps = check_positive_int(num_sweeps, "num_sweeps")
        self.beta = float(beta)
        self.beta_range = beta_range
        self.beta_schedule_type = beta_schedule_type
        make_beta_schedule((0.1, 1.0), 2, beta_schedule_type)  # reject unknown schedule types now
        self.population_annealing = bool(population_annealing)
        if not 0 <= ess_threshold <= 1:
            raise ValueError(f"ess_threshold must be a fraction in [0, 1], got {ess_threshold!r}")
        self.ess_threshold = float(ess_threshold)
        self.persistent = bool(persistent)
        self.persistent_sweeps = check_positive_int(persistent_sweeps, "persistent_sweeps")
        self.chains: np.ndarray | None = None

    def reset(self) -> None:
        self.chains = None

    def __repr__(self) -> str:  # every setting: a checkpoint's config compares it on resume
        return (f"BipartiteAnnealing(num_reads={self.num_reads}, num_sweeps={self.num_sweeps}, beta={self.beta}, "
                f"beta_range={self.beta_range!r}, beta_schedule_type={self.beta_schedule_type!r}, "
                f"population_annealing={self.population_annealing}, ess_threshold={self.ess_threshold}, "
                f"persistent={self.persistent}, persistent_sweeps={self.persistent_sweeps})")

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        start = time.perf_counter()
        continuing = self.persistent and self.chains is not None and self.chains.shape[1] == rbm.n_visible
        info: dict = {}
        if continuing:
            betas = np.full(self.persistent_sweeps, self.beta)
            visible, hidden = anneal_parallel(-rbm.visible_bias, -rbm.hidden_bias, -rbm.W, betas, self.chains, rng)
        else:
            hot = min(hot_beta(rbm), 0.1 * self.beta)
            betas = make_beta_schedule(self.beta_range or (hot, self.beta), self.num_sweeps, self.beta_schedule_type)
            if self.population_annealing:
                visible, hidden, info = population_anneal_parallel(
                    -rbm.visible_bias, -rbm.hidden_bias, -rbm.W, betas, self.num_reads, rng, self.ess_threshold)
            else:
                initial = (rng.random((self.num_reads, rbm.n_visible)) < 0.5).astype(np.float64)
                visible, hidden = anneal_parallel(-rbm.visible_bias, -rbm.hidden_bias, -rbm.W, betas, initial, rng)
        # in the model's dtype, so a float32 model's gradient stays float32 as with cd and pcd
        visible, hidden = visible.astype(rbm.dtype), hidden.astype(rbm.dtype)
        if self.persistent:
            self.chains = visible
        info.update({"seconds": time.perf_counter() - start, "num_samples": len(visible), "sweeps": len(betas)})
        return NegativeSamples(visible, hidden, info)
