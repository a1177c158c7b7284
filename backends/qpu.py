"""RBM sampling on a D-Wave QPU (or an emulated one): embedding, scaling, temperature, chains, cost.

Each call:
1. takes the model's BQM in SPIN form and embeds one copy per cached disjoint embedding
   (dwave.embedding.embed_bqm), chains coupled at `chain_strength` x the largest |J|;
2. multiplies the whole embedded problem, chains included, by a scale s and clips whatever
   still lies outside the solver's h_range / j_range (`scaling.RangeScaleComposite`, with a
   warning): the QPU gets auto_scale=False, so s alone sets the temperature the samples come
   out at;
3. samples all copies in one QPU call per spin-reversal transform, answer_mode='raw', through
   `retry.RetryComposite`;
4. unembeds every copy (majority vote by default) and records chain-break fractions;
5. estimates the samples' effective inverse temperature against the model itself,
   beta_eff, by maximum pseudo-likelihood (dwave.system.temperatures), and adapts s.

Temperature correction. The hardware samples roughly exp(-beta_hw * s * E(v, h)), so
beta_eff = beta_hw * s. Every call gives an estimate of beta_hw = beta_eff / s; a running
geometric mean of these sets the next scale s = beta_target / beta_hw, so the samples follow
the model at beta = 1 (the Boltzmann distribution whose expectations the gradient needs)
instead of at whatever temperature the chip happens to run. The first call uses the largest
scale that fits the ranges.

We embed and scale with the dwave.embedding primitives rather than FixedEmbeddingComposite or
ParallelEmbeddingComposite: scaling must see the embedded problem with its chains, the
parallel composite rescales each copy and drops chain-break fractions, and one code path then
serves one copy and many.
"""
from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any

import dimod
import numpy as np
from dwave.embedding import embed_bqm, unembed_sampleset
from dwave.embedding.chain_breaks import discard, majority_vote, weighted_random

from annealrbm.models.rbm import RBM
from annealrbm.validation import check_non_negative, check_positive_int

from annealrbm.backends.base import Backend, NegativeSamples
from annealrbm.backends.embedding import EmbeddingSet, find_embeddings, find_graph_embedding
from annealrbm.backends.qpu_connection import connect
from annealrbm.backends.retry import RetryComposite, RetryPolicy
from annealrbm.backends.scaling import RangeScaleComposite, largest_fitting_scale

CHAIN_BREAK_METHODS = {"majority_vote": majority_vote, "discard": discard, "weighted_random": weighted_random}
MAX_SCALE_OVER_RANGE = 4.0  # never scale beyond 4x what fits: past that most couplers would clip


class QPUWarning(UserWarning):
    """Something in a QPU call degrades the samples (clipping, chain breaks)."""


def solver_summary(sampler: dimod.Sampler, n_visible: int | None = None) -> dict[str, Any]:
    """What `annealrbm qpu check` reports about a structured sampler: name, topology, qubits,
    ranges, and the largest RBM that fits."""
    from annealrbm.backends.embedding import largest_balanced_rbm, largest_hidden_for

    properties = sampler.properties
    graph = sampler.to_networkx_graph()
    topology = properties.get("topology", {})
    summary = {
        "solver": str(properties.get("chip_id", type(sampler).__name__)),
        "topology": f"{topology.get('type', '?')} {topology.get('shape', '')}".strip(),
        "working_qubits": graph.number_of_nodes(),
        "couplers": graph.number_of_edges(),
        "h_range": list(properties["h_range"]),
        "j_range": list(properties["j_range"]),
        "largest_balanced_rbm": largest_balanced_rbm(graph),
    }
    if n_visible:
        summary["largest_hidden_for_visible"] = [n_visible, largest_hidden_for(graph, n_visible)]
    return summary


class QPUBudgetExceeded(ValueError):
    """The estimated QPU time of a run exceeds the budget the user set."""


def _ranges(properties: dict) -> tuple[tuple[float, float], tuple[float, float]]:
    return tuple(properties["h_range"]), tuple(properties["j_range"])


class QPUSampler(Backend):
    """Negative-phase samples from a D-Wave QPU through Leap (see the module docstring).

    num_reads: reads per QPU call; every read gives one sample per embedded copy.
    num_copies: disjoint copies of the RBM per call (None: as many as the chip holds).
    chain_strength: chain coupling relative to the largest |J| of the model (SPIN form), and
        at least `min_chain_strength` in the model's own energy units: a broken link then costs
        >= 4 kT at beta = 1, so chains hold even while the weights are small.
    num_spin_reversal_transforms: 0 for none; k > 0 splits num_reads over k gauge-transformed calls.
    temperature_correction: adapt the scale so that beta_eff -> beta (True by default).
    max_qpu_seconds: refuse to start a run whose estimated QPU access time exceeds this.
    label: names the run in Leap's dashboard; each call is labelled "<label> call <n>"
        (default "annealrbm <start time>").
    solver, region, endpoint, profile, config_file: Ocean configuration (else DWAVE_API_* / dwave.conf).
    sampler: a ready dimod structured sampler to use instead of connecting (tests, emulation).
    retry_policy: retries of failed or malformed QPU calls (default 5 attempts, pauses 2, 4, 8, 16 s).
    """

    name = "qpu"
    description = "D-Wave QPU through Leap: cached biclique embeddings, own scaling, temperature correction"
    checkpointed = ("hardware_beta", "calls", "total_qpu_access_seconds")
    any_graph = True  # RBMs get disjoint biclique copies, other graphs copies of their own embedding

    def __init__(
        self,
        num_reads: int = 100,
        num_copies: int | None = None,
        chain_strength: float = 1.5,
        min_chain_strength: float = 2.0,
        chain_break_method: str = "majority_vote",
        chain_break_warning: float = 0.1,
        num_spin_reversal_transforms: int = 0,
        temperature_correction: bool = True,
        beta: float = 1.0,
        scale: float | None = None,
        max_qpu_seconds: float | None = None,
        label: str | None = None,
        annealing_time: float | None = None,
        solver: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
        profile: str | None = None,
        config_file: str | None = None,
        sampler: dimod.Sampler | None = None,
        cache_dir: str | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.retry_policy = retry_policy or RetryPolicy()
        self.num_reads = check_positive_int(num_reads, "num_reads")
        self.num_copies = None if num_copies is None else check_positive_int(num_copies, "num_copies")
        self.chain_strength = check_non_negative(chain_strength, "chain_strength")
        self.min_chain_strength = check_non_negative(min_chain_strength, "min_chain_strength")
        if chain_break_method not in CHAIN_BREAK_METHODS:
            raise ValueError(f"chain_break_method must be one of {', '.join(CHAIN_BREAK_METHODS)}, got {chain_break_method!r}")
        self.chain_break_method = chain_break_method
        self.chain_break_warning = check_non_negative(chain_break_warning, "chain_break_warning")
        self.num_spin_reversal_transforms = int(check_non_negative(num_spin_reversal_transforms, "num_spin_reversal_transforms"))
        self.temperature_correction = bool(temperature_correction)
        if not beta > 0:
            raise ValueError(f"beta must be > 0, got {beta!r}")
        self.beta = float(beta)
        if scale is not None and not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        self.fixed_scale = scale
        self.max_qpu_seconds = None if max_qpu_seconds is None else check_non_negative(max_qpu_seconds, "max_qpu_seconds")
        self.label = label or f"annealrbm {time.strftime('%Y%m%d-%H%M%S')}"
        self.annealing_time = annealing_time
        self.cache_dir = cache_dir
        self.sampler = sampler if sampler is not None else connect(
            solver=solver, region=region, endpoint=endpoint, profile=profile, config_file=config_file
        )
        self.solver_name = str(self.sampler.properties.get("chip_id", type(self.sampler).__name__))
        self.h_range, self.j_range = _ranges(self.sampler.properties)
        self._embeddings: dict[tuple[int, int], EmbeddingSet] = {}
        self.hardware_beta: float | None = None  # running estimate of beta_eff per unit scale
        self._clipping_reported = False
        self.calls = 0
        self.total_qpu_access_seconds = 0.0

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(solver={self.solver_name!r}, num_reads={self.num_reads}, "
                f"num_copies={self.num_copies}, temperature_correction={self.temperature_correction})")

    # --- embedding -----------------------------------------------------------------------------
    def embeddings_for(self, rbm: RBM) -> EmbeddingSet:
        """The cached disjoint embeddings for this RBM's shape, or of a Boltzmann machine's graph
        (`find_graph_embedding`), found on first use."""
        if not rbm.two_layer_fast_paths:
            qubits = getattr(rbm, "qubits", None)  # hardware-native models: one qubit per unit
            key = ("graph", rbm.n_units, rbm.edges.tobytes(), tuple(qubits or ()))
            if key not in self._embeddings:
                self._embeddings[key] = find_graph_embedding(
                    self.sampler.to_networkx_graph(), rbm.n_units, rbm.edges, qubits=qubits,
                    solver=self.solver_name, directory=Path(self.cache_dir) if self.cache_dir else None,
                    num_copies=self.num_copies)
            return self._embeddings[key]
        shape = (rbm.n_visible, rbm.n_hidden)
        if shape not in self._embeddings:
            self._embeddings[shape] = find_embeddings(
                self.sampler.to_networkx_graph(), *shape, num_copies=self.num_copies,
                solver=self.solver_name, directory=Path(self.cache_dir) if self.cache_dir else None,
            )
        return self._embeddings[shape]

    # --- cost ----------------------------------------------------------------------------------
    def estimate_call_seconds(self, rbm: RBM) -> float:
        """Estimated QPU access time of one `sample` call, in seconds.

        Uses the solver's own estimator when it has one (Leap solvers); otherwise a model of an
        Advantage system: 15 ms programming per call plus (anneal + 150 us readout and delay) per read.
        """
        qubits = self.embeddings_for(rbm).num_qubits
        calls = max(1, self.num_spin_reversal_transforms)
        reads = math.ceil(self.num_reads / calls)
        solver = getattr(self.sampler, "solver", None)
        if solver is not None and hasattr(solver, "estimate_qpu_access_time"):
            extra = {"annealing_time": self.annealing_time} if self.annealing_time else {}
            return calls * solver.estimate_qpu_access_time(num_qubits=qubits, num_reads=reads, **extra) * 1e-6
        anneal = self.annealing_time or self.sampler.properties.get("default_annealing_time", 20.0)
        return calls * (15_000.0 + reads * (anneal + 150.0)) * 1e-6

    def prepare(self, rbm: RBM, num_updates: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Before training: check the estimated QPU time against max_qpu_seconds, then (with
        temperature correction) make one calibration call so the first update already samples
        near beta = 1 instead of at the coldest scale the ranges allow."""
        calibrate = self.temperature_correction and self.fixed_scale is None and self.hardware_beta is None
        calls = num_updates + int(calibrate)
        estimate = calls * self.estimate_call_seconds(rbm)
        if self.max_qpu_seconds is not None and estimate > self.max_qpu_seconds:
            raise QPUBudgetExceeded(
                f"this run needs an estimated {estimate:.1f} s of QPU access time ({calls} calls), "
                f"over the budget of {self.max_qpu_seconds:g} s: raise --max-qpu-seconds or reduce "
                "epochs, num_reads or spin-reversal transforms"
            )
        plan: dict[str, Any] = {"estimated_qpu_access_seconds": estimate, "planned_qpu_calls": calls}
        if calibrate:
            info = self.sample(rbm, np.empty((0, rbm.n_visible)), rng or np.random.default_rng()).info
            plan["calibration"] = {key: info[key] for key in ("beta_eff", "scale", "qpu_access_seconds")}
        return plan

    # --- problem -------------------------------------------------------------------------------
    def _embedded_problem(self, copies: list[tuple[dimod.BinaryQuadraticModel, dict]]) -> dimod.BinaryQuadraticModel:
        """Every (SPIN source, embedding) pair embedded side by side at scale 1."""
        largest_j = max(float(np.abs(source.to_numpy_vectors()[1][2]).max(initial=0.0)) for source, _ in copies)
        chain = max(self.chain_strength * largest_j, self.min_chain_strength)
        adjacency = self.sampler.adjacency
        target = dimod.BinaryQuadraticModel(dimod.SPIN)
        for source, embedding in copies:
            target.update(embed_bqm(source, embedding, adjacency, chain_strength=chain))
        return target

    def _next_scale(self, largest_fitting: float) -> float:
        if self.fixed_scale is not None:
            return self.fixed_scale
        if self.temperature_correction and self.hardware_beta:
            return min(self.beta / self.hardware_beta, MAX_SCALE_OVER_RANGE * largest_fitting)
        return largest_fitting

    # --- sampling ------------------------------------------------------------------------------
    def _before_call(self, rng: np.random.Generator) -> None:
        """Hook run before every QPU call (the emulated QPU reseeds its annealer here)."""

    def _submit(self, problem: dimod.BinaryQuadraticModel, rng: np.random.Generator) -> tuple[list[dimod.SampleSet], float, int, float]:
        """One QPU call per spin-reversal transform (or one plain call) at the scale the
        temperature correction chooses; returns the answers, the access seconds, the clipped
        coefficients per call and the scale."""
        from dwave.preprocessing import SpinReversalTransformComposite

        scale = self._next_scale(largest_fitting_scale(problem, self.h_range, self.j_range))
        params: dict[str, Any] = {"answer_mode": "raw", "auto_scale": False, "scale": scale}
        if self.annealing_time:
            params["annealing_time"] = self.annealing_time
        transforms = self.num_spin_reversal_transforms
        reads = math.ceil(self.num_reads / max(1, transforms))
        # timeouts, lost connections, solver failures and malformed answers are retried
        chip = RetryComposite(self.sampler, self.retry_policy, "QPU")
        sampler = RangeScaleComposite(SpinReversalTransformComposite(chip) if transforms else chip, self.h_range, self.j_range)
        answers, access, clipped = [], 0.0, 0
        for index in range(max(1, transforms)):
            self._before_call(rng)
            label = f"{self.label} call {self.calls + 1}" + (f" srt {index + 1}/{transforms}" if transforms else "")
            if transforms:
                params["srts"] = rng.random((1, problem.num_variables)) < 0.5  # drawn from our seeded stream
            sampleset = sampler.sample(problem, num_reads=reads, label=label, **params)
            timing = sampleset.info.get("timing", {})
            access += float(timing.get("qpu_access_time", 0.0)) * 1e-6
            clipped = sampleset.info["clipped_coefficients"]
            answers.append(sampleset)
        self.calls += 1
        self.total_qpu_access_seconds += access
        return answers, access, clipped, scale

    def sample(self, rbm: RBM, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        from dwave.system.temperatures import maximum_pseudolikelihood_temperature

        start = time.perf_counter()
        embeddings = self.embeddings_for(rbm)
        source = rbm.to_bqm()
        source_spin = source.spin  # the QPU's form; answers come back SPIN and unembed against it
        problem = self._embedded_problem([(source_spin, e) for e in embeddings.embeddings])
        answers, access_seconds, clipped, scale = self._submit(problem, rng)
        if clipped and not self._clipping_reported:  # once per run; every call's count is in info
            self._clipping_reported = True
            warnings.warn(
                f"{clipped} of {problem.num_variables + problem.num_interactions} coefficients lie outside the QPU "
                f"ranges at scale {scale:.3g} (fits up to {answers[0].info['largest_fitting_scale']:.3g}) and were "
                "clipped, so those terms are sampled hotter than beta = 1; the count per epoch is in the history "
                "('clipped_coefficients'). If it stays high, lower chain_strength or pass scale= to trade temperature "
                "for range", QPUWarning, stacklevel=2)
        method = CHAIN_BREAK_METHODS[self.chain_break_method]
        visible, hidden, breaks = [], [], []
        for answer in answers:
            for embedding in embeddings.embeddings:
                unembedded = unembed_sampleset(answer, embedding, source_spin, chain_break_method=method,
                                               chain_break_fraction=True)
                if len(unembedded) == 0:
                    continue
                v, h = rbm.states_from_sampleset(unembedded)
                visible.append(v)
                hidden.append(h)
                breaks.append(np.asarray(unembedded.record.chain_break_fraction, dtype=float))
        if not visible:
            raise RuntimeError("the QPU returned no usable samples (every chain broken?)")
        visible, hidden = np.vstack(visible), np.vstack(hidden)
        chain_break_fraction = float(np.concatenate(breaks).mean())
        if chain_break_fraction > self.chain_break_warning:
            warnings.warn(f"{chain_break_fraction:.1%} of chains broke: raise chain_strength", QPUWarning, stacklevel=2)
        states = np.hstack([visible, hidden])
        temperature, _ = maximum_pseudolikelihood_temperature(bqm=source, sampleset=(states, list(range(states.shape[1]))))
        beta_eff = 1.0 / temperature
        estimate = beta_eff / scale
        if not (np.isfinite(estimate) and estimate > 0):  # too few or degenerate samples to estimate
            warnings.warn(f"could not estimate beta_eff from these samples (got {beta_eff!r}); "
                          "the temperature correction keeps its previous estimate", QPUWarning, stacklevel=2)
        elif self.hardware_beta is None:
            self.hardware_beta = estimate
        else:  # running geometric mean: damps the noise of single estimates
            self.hardware_beta = math.exp(0.5 * math.log(self.hardware_beta) + 0.5 * math.log(estimate))
        info = {
            "seconds": time.perf_counter() - start,
            "num_samples": len(visible),
            "qpu_access_seconds": access_seconds,
            "chain_break_fraction": chain_break_fraction,
            "beta_eff": beta_eff,
            "scale": scale,
            "clipped_coefficients": clipped,
            "num_copies": len(embeddings.embeddings),
            "num_qubits": embeddings.num_qubits,
            "problem_label": f"{self.label} call {self.calls}",
        }
        return NegativeSamples(visible, hidden, info)

    # --- clamped sampling ----------------------------------------------------------------------
    def hidden_embeddings_for(self, model) -> EmbeddingSet:
        """Disjoint embeddings of the graph among a Boltzmann machine's hidden units (cached)."""
        n_v, n_h = model.n_visible, model.n_hidden
        hidden_pairs = model.edges[(model.edges >= n_v).all(axis=1)] - n_v
        key = ("hidden", n_h, hidden_pairs.tobytes())
        if key not in self._embeddings:
            self._embeddings[key] = find_graph_embedding(
                self.sampler.to_networkx_graph(), n_h, hidden_pairs, solver=self.solver_name,
                directory=Path(self.cache_dir) if self.cache_dir else None, num_copies=self.num_copies)
        return self._embeddings[key]

    def sample_clamped(self, model, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Hidden states drawn with the visible units clamped to each row of `batch` (the positive
        phase of a model whose hidden units interact): each row's problem on its own embedded
        copy of the hidden graph, as many rows per QPU call as there are copies, at the scale
        the temperature correction has set. Returns (reads, rows, n_hidden) 0/1 states."""
        embeddings = self.hidden_embeddings_for(model).embeddings
        method = CHAIN_BREAK_METHODS[self.chain_break_method]
        per_row: list[np.ndarray] = []
        for first in range(0, len(batch), len(embeddings)):
            rows = batch[first:first + len(embeddings)]
            sources = [model.clamped_bqm(row[np.newaxis], 1.0).spin for row in rows]  # variables 0..n_hidden-1
            answers, _, _, _ = self._submit(self._embedded_problem(list(zip(sources, embeddings))), rng)
            for source, embedding in zip(sources, embeddings):
                states = []
                for answer in answers:
                    unembedded = unembed_sampleset(answer, embedding, source, chain_break_method=method)
                    order = np.argsort(np.asarray(list(unembedded.variables)))  # columns as variables 0..n_hidden-1
                    states.append(unembedded.record.sample[:, order])
                per_row.append((np.vstack(states) > 0).astype(np.float64))  # SPIN -> 0/1
        reads = min(len(states) for states in per_row)
        if reads == 0:
            raise RuntimeError("the QPU returned no usable clamped samples (every chain broken?)")
        return np.stack([states[:reads] for states in per_row], axis=1)


def mock_qpu(
    hardware_beta: float = 4.0,
    topology: str = "zephyr",
    num_sweeps: int = 100,
    num_copies: int | None = 10,
    **options: Any,
) -> QPUSampler:
    """QPUSampler on dwave.system.testing.MockDWaveSampler: the same code path, offline.

    The emulated chip anneals the submitted Ising problem with simulated annealing down to
    `hardware_beta` (per unit of the [-1, 1] coupler range), so temperature mismatch,
    chains, chain breaks and clipping all behave as on hardware. topology: 'zephyr'
    (Zephyr 12x4, like Advantage2) or 'pegasus' (Pegasus 16, like Advantage). Emulating a
    copy costs annealing time, unlike on a QPU, so 10 copies are placed by default.
    """
    from dwave.samplers import SimulatedAnnealingSampler
    from dwave.system.testing import MockDWaveSampler

    if not hardware_beta > 0:
        raise ValueError(f"hardware_beta must be > 0, got {hardware_beta!r}")
    shapes = {"zephyr": [12, 4], "pegasus": [16]}
    if topology not in shapes:
        raise ValueError(f"topology must be 'zephyr' or 'pegasus', got {topology!r}")
    substitute = {"beta_range": [hardware_beta / 100.0, hardware_beta],
                  "num_sweeps": check_positive_int(num_sweeps, "num_sweeps")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chip = MockDWaveSampler(topology_type=topology, topology_shape=shapes[topology], parameter_warnings=False,
                                substitute_sampler=SimulatedAnnealingSampler(), substitute_kwargs=substitute)
    chip.properties["chip_id"] = f"mock-{topology}"
    return EmulatedQPUSampler(sampler=chip, num_copies=num_copies, **options)


class EmulatedQPUSampler(QPUSampler):
    """QPUSampler on a MockDWaveSampler whose annealer is seeded from the trainer's stream."""

    name = "qpu-mock"
    description = "emulated QPU (MockDWaveSampler, SA down to a hardware beta != 1): the qpu path offline"

    def _before_call(self, rng: np.random.Generator) -> None:
        self.sampler.substitute_kwargs["seed"] = int(rng.integers(2**31 - 1))
