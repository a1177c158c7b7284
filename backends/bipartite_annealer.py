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

from annealrbm.model import RBM, sample_from_logits
from annealrbm.validation import check_positive_int

from .base import Backend, NegativeSamples
from .dimod_backends import hot_beta


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


def anneal_parallel(
    left_bias, right_bias, coupling, betas, left_states, rng: np.random.Generator, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`anneal` with the reads split over threads (numpy releases the GIL), one stream each."""
    workers = workers or os.cpu_count() or 1
    reads = left_states.shape[0]
    # small problems: BLAS is not threaded, so split the reads; large ones: BLAS uses the cores
    if workers == 1 or reads < 2 * workers or coupling.size >= 100_000:
        return anneal(left_bias, right_bias, coupling, betas, left_states, rng)
    parts = np.array_split(np.arange(reads), workers)
    # child streams seeded by draws from `rng` (not rng.spawn, whose counter lives outside the
    # generator's state): a generator restored from a checkpoint then gives the same streams
    streams = [np.random.default_rng(seed) for seed in rng.integers(2**63, size=workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda job: anneal(left_bias, right_bias, coupling, betas, left_states[job[0]], job[1]),
                                zip(parts, streams)))
    return np.vstack([r[0] for r in results]), np.vstack([r[1] for r in results])


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
    """

    parameters = {"num_reads": [], "num_sweeps": [], "beta_range": [], "beta_schedule_type": ["schedule_types"],
                  "beta_schedule": [], "seed": [], "initial_states": []}
    properties = {"schedule_types": ["geometric", "linear", "custom"]}

    def sample(self, bqm: dimod.BinaryQuadraticModel, num_reads: int | None = None, num_sweeps: int = 1000,
               beta_range=None, beta_schedule_type: str = "geometric", beta_schedule=None, seed=None,
               initial_states=None, **kwargs) -> dimod.SampleSet:
        binary = bqm.change_vartype(dimod.BINARY, inplace=False)
        linear, (rows, cols, biases), _, labels = binary.to_numpy_vectors(return_labels=True)
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
        if initial_states is not None:
            states = dimod.as_samples(initial_states)
            array, labels = states
            column = {label: i for i, label in enumerate(labels)}
            positions = [column[v] for v in left]
            start = np.asarray(array)[:, positions].astype(float)
            if bqm.vartype is dimod.SPIN:
                start = (start + 1) / 2
            num_reads = num_reads or len(start)
            start = np.resize(start, (num_reads, len(left)))
        else:
            num_reads = check_positive_int(num_reads or 1, "num_reads")
            start = (rng.random((num_reads, len(left))) < 0.5).astype(float)
        if beta_schedule_type == "custom":
            if beta_schedule is None:
                raise ValueError("beta_schedule_type 'custom' needs beta_schedule")
            betas = np.asarray(beta_schedule, dtype=float)
        else:
            num_sweeps = check_positive_int(num_sweeps, "num_sweeps")
            betas = make_beta_schedule(beta_range or default_beta_range(left_bias, right_bias, coupling), num_sweeps,
                                  beta_schedule_type)
        x, y = anneal_parallel(left_bias, right_bias, coupling, betas, start, rng)
        samples = np.hstack([x, y]).astype(np.int8)
        variables = left + right
        result = dimod.SampleSet.from_samples_bqm((samples, variables), binary)
        result.info.update({"beta_range": [float(betas[0]), float(betas[-1])], "beta_schedule_type": beta_schedule_type})
        return result.change_vartype(bqm.vartype, inplace=False) if bqm.vartype is dimod.SPIN else result


class BipartiteAnnealing(Backend):
    """Backend: the vectorised bipartite annealer on the model's arrays (no BQM round trip).

    Anneals from a hot beta to `beta` over `num_sweeps` block-Gibbs sweeps. With
    `persistent=True`, every call after the first continues from the previous call's states
    with `persistent_sweeps` sweeps at `beta` instead of annealing from hot again.
    """

    name = "bipartite-sa"
    description = "vectorised block-Gibbs annealer for bipartite BQMs (all reads at once, BLAS, both cores)"
    checkpointed = ("chains",)

    def __init__(self, num_reads: int = 1000, num_sweeps: int = 200, beta: float = 1.0,
                 beta_range: tuple[float, float] | None = None, beta_schedule_type: str = "geometric",
                 persistent: bool = False, persistent_sweeps: int = 10) -> None:
        if not beta > 0:
            raise ValueError(f"beta must be > 0, got {beta!r}")
        self.num_reads = check_positive_int(num_reads, "num_reads")
        self.num_sweeps = check_positive_int(num_sweeps, "num_sweeps")
        self.beta = float(beta)
        self.beta_range = beta_range
        self.beta_schedule_type = beta_schedule_type
        make_beta_schedule((0.1, 1.0), 2, beta_schedule_type)  # reject unknown schedule types now
        self.persistent = bool(persistent)
        self.persistent_sweeps = check_positive_int(persistent_sweeps, "persistent_sweeps")
        self.chains: np.ndarray | None = None

    def reset(self) -> None:
        self.chains = None

    def __repr__(self) -> str:  # every setting: a checkpoint's config compares it on resume
        return (f"BipartiteAnnealing(num_reads={self.num_reads}, num_sweeps={self.num_sweeps}, beta={self.beta}, "
                f"beta_range={self.beta_range!r}, beta_schedule_type={self.beta_schedule_type!r}, "
                f"persistent={self.persistent}, persistent_sweeps={self.persistent_sweeps})")

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        start = time.perf_counter()
        continuing = self.persistent and self.chains is not None and self.chains.shape[1] == rbm.n_visible
        if continuing:
            betas = np.full(self.persistent_sweeps, self.beta)
            initial = self.chains
        else:
            hot = min(hot_beta(rbm), 0.1 * self.beta)
            betas = make_beta_schedule(self.beta_range or (hot, self.beta), self.num_sweeps, self.beta_schedule_type)
            initial = (rng.random((self.num_reads, rbm.n_visible)) < 0.5).astype(np.float64)
        visible, hidden = anneal_parallel(-rbm.visible_bias, -rbm.hidden_bias, -rbm.W, betas, initial, rng)
        # in the model's dtype, so a float32 model's gradient stays float32 as with cd and pcd
        visible, hidden = visible.astype(rbm.dtype), hidden.astype(rbm.dtype)
        if self.persistent:
            self.chains = visible
        info = {"seconds": time.perf_counter() - start, "num_samples": len(visible), "sweeps": len(betas)}
        return NegativeSamples(visible, hidden, info)
