"""Boltzmann machines on any coupling graph: fully connected, semi-restricted, hardware-native.

Units are binary (0/1), visible first, then hidden; E(x) = -b.x - sum_{(i,j) in edges} J_ij x_i x_j
and p(x) = exp(-E(x)) / Z (DESIGN.md §7). The parameters are `couplings` (one per edge, in the
order of `edges`) and `biases` (one per unit). Every gradient is <statistic>_data - <statistic>_model
for the statistics x_i x_j (per edge) and x_i (per unit); the data term clamps the visible units.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dimod
import numpy as np
from scipy.special import expit

from annealrbm.fileio import content_digest, load_npz, save_npz
from annealrbm.models import enumeration, topology
from annealrbm.models.base import EnergyModel
from annealrbm.validation import check_binary_states, check_positive_int

FORMAT_NAME = "annealrbm.BoltzmannMachine"
FORMAT_VERSION = 1
# hidden units that interact are summed exactly in the positive phase up to this many; above,
# mean-field gives q(h | v)
MAX_EXACT_CLAMPED_HIDDEN = 12


class BoltzmannMachine(EnergyModel):
    """A binary Boltzmann machine over `n_visible` + `n_hidden` units coupled along `edges`.

    edges: pairs (u, v) of unit indices 0..n-1, visible units first. Couplings start at
    N(0, weight_scale^2), biases at 0.
    """

    model_type = "boltzmann-machine"
    parameter_names = ("couplings", "biases")

    def __init__(self, n_visible: int, n_hidden: int, edges, seed: int | np.random.Generator | None = None,
                 weight_scale: float = 0.01, dtype=np.float64) -> None:
        self.n_visible = check_positive_int(n_visible, "n_visible")
        self.n_hidden = int(n_hidden)
        if self.n_hidden < 0:
            raise ValueError(f"n_hidden must be >= 0, got {n_hidden!r}")
        if not (np.isfinite(weight_scale) and weight_scale >= 0):
            raise ValueError(f"weight_scale must be a finite number >= 0, got {weight_scale!r}")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        self.edges = topology.canonical_edges(edges, self.n_units)
        visible_end = self.edges < self.n_visible  # the graph never changes: its edge kinds neither
        self._visible_edges, self._hidden_edges = visible_end.all(axis=1), (~visible_end).all(axis=1)
        rng = np.random.default_rng(seed)
        self.couplings = (weight_scale * rng.standard_normal(len(self.edges))).astype(dtype)
        self.biases = np.zeros(self.n_units, dtype=dtype)
        self._blocks: dict[str, list[np.ndarray]] = {}
        self.qubits: list | None = None  # hardware-native models: the qubit of every unit

    # --- constructors ------------------------------------------------------------------------
    @classmethod
    def fully_connected(cls, n_visible: int, n_hidden: int, seed=None, **options) -> "BoltzmannMachine":
        """Every pair of units coupled (visible-visible, visible-hidden and hidden-hidden)."""
        return cls(n_visible, n_hidden, topology.fully_connected_edges(n_visible, n_hidden), seed=seed, **options)

    @classmethod
    def semi_restricted(cls, n_visible: int, n_hidden: int, seed=None, **options) -> "BoltzmannMachine":
        """Visible-visible and visible-hidden couplings; hidden units do not interact, so
        p(h | v) stays exact and factorised (Osindero & Hinton 2008)."""
        return cls(n_visible, n_hidden, topology.semi_restricted_edges(n_visible, n_hidden), seed=seed, **options)

    @classmethod
    def hardware_native(cls, solver_or_graph: Any, n_visible: int, n_hidden: int, seed=None,
                        **options) -> "BoltzmannMachine":
        """A model whose graph is a connected piece of a QPU working graph (a structured dimod
        sampler or a networkx graph, e.g. dwave.graphs.zephyr_graph(4)): one qubit per unit,
        every coupler between the chosen qubits an edge, so it embeds without chains.
        `model.qubits[u]` is unit u's qubit."""
        qubits, edges = topology.hardware_native_layout(topology.working_graph(solver_or_graph), n_visible, n_hidden)
        model = cls(n_visible, n_hidden, edges, seed=seed, **options)
        model.qubits = qubits
        return model

    @classmethod
    def from_arrays(cls, n_visible: int, n_hidden: int, edges, couplings, biases) -> "BoltzmannMachine":
        couplings, biases = np.asarray(couplings), np.asarray(biases)
        dtype = np.result_type(couplings, biases, np.float32)
        model = cls(n_visible, n_hidden, edges, weight_scale=0.0, dtype=dtype)
        if couplings.shape != (len(model.edges),) or biases.shape != (model.n_units,):
            raise ValueError(f"expected {len(model.edges)} couplings and {model.n_units} biases, "
                             f"got shapes {couplings.shape} and {biases.shape}")
        if not (np.all(np.isfinite(couplings)) and np.all(np.isfinite(biases))):
            raise ValueError("couplings and biases must be finite")
        pairs = np.sort(np.asarray(edges).reshape(-1, 2), axis=1)
        model.couplings[...] = couplings[np.lexsort((pairs[:, 1], pairs[:, 0]))]  # into the sorted edge order
        model.biases[...] = biases
        return model

    # --- shape and parameters ----------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self.biases.dtype

    def parameter_arrays(self) -> dict[str, np.ndarray]:
        """The arrays training updates, by name, in the order of the gradient's fields."""
        return {"couplings": self.couplings, "biases": self.biases}

    def with_parameters(self, couplings: np.ndarray, biases: np.ndarray) -> "BoltzmannMachine":
        """A model on the same graph with other parameter values (e.g. an average)."""
        model = self.copy()
        model.couplings[...] = couplings
        model.biases[...] = biases
        return model

    def copy(self) -> "BoltzmannMachine":
        model = type(self).__new__(type(self))
        model.__dict__.update(self.__dict__)
        model.couplings, model.biases = self.couplings.copy(), self.biases.copy()
        return model

    def astype(self, dtype) -> "BoltzmannMachine":
        model = self.copy()
        model.couplings, model.biases = self.couplings.astype(dtype), self.biases.astype(dtype)
        return model

    @property
    def visible_units_interact(self) -> bool:
        return bool(self._visible_edges.any())

    @property
    def hidden_units_interact(self) -> bool:
        return bool(self._hidden_edges.any())

    @property
    def is_bipartite_rbm_graph(self) -> bool:
        """No visible-visible and no hidden-hidden edges."""
        return not (self.visible_units_interact or self.hidden_units_interact)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n_visible={self.n_visible}, n_hidden={self.n_hidden}, "
                f"edges={len(self.edges)}, dtype={self.dtype})")

    # --- energies and conditionals -----------------------------------------------------------
    def energy(self, states) -> np.ndarray:
        """E(x) for each row of `states` (n_units columns, visible first)."""
        return self.energies(check_binary_states(states, self.n_units, "states"))

    def energies(self, states: np.ndarray) -> np.ndarray:
        """E(x) per row of full states, without input checks (hot paths), float64."""
        symmetric_half = self.coupling_matrix(np.float64)
        pairs = 0.5 * np.einsum("ki,ki->k", states @ symmetric_half, states)
        return -(states @ self.biases.astype(np.float64)) - pairs

    def free_energy(self, visible) -> np.ndarray:
        """F(v) = -log sum_h exp(-E(v, h)), exact (enumerating the hidden states if they interact)."""
        visible = check_binary_states(visible, self.n_visible, "visible")
        return enumeration.free_energy(self, visible)

    def blocks(self, which: str = "all") -> list[np.ndarray]:
        """Blocks of units with no edge inside ('all', 'visible' or 'hidden' units): Gibbs
        sampling updates a block at once."""
        if which not in self._blocks:
            units = {"all": np.arange(self.n_units), "visible": np.arange(self.n_visible),
                     "hidden": self.n_visible + np.arange(self.n_hidden)}[which]
            self._blocks[which] = topology.colour_blocks(self.edges, units)
        return self._blocks[which]

    def block_gibbs(self, states: np.ndarray, sweeps: int, rng: np.random.Generator,
                    which: str = "all", betas: np.ndarray | None = None) -> np.ndarray:
        """`sweeps` block-Gibbs sweeps over the blocks of `which` units, in place on `states`
        (full states, n_units columns); the other units stay clamped. `betas` (a column, one
        per row) samples each row from the tempered model exp(-beta E)."""
        if sweeps <= 0:
            return states
        symmetric = self.coupling_matrix(states.dtype)
        blocks = self.blocks(which)
        for _ in range(sweeps):
            for block in blocks:
                fields = states @ symmetric[:, block] + self.biases[block]
                if betas is not None:
                    fields *= betas
                states[:, block] = rng.random(fields.shape, dtype=fields.dtype) < expit(fields)
        return states

    def hidden_expectations(self, visible: np.ndarray) -> np.ndarray:
        """E[h | v] for each row: exact when the hidden units do not interact or are few enough
        to enumerate, mean-field otherwise."""
        visible = np.asarray(visible, dtype=np.float64)
        if not self.hidden_units_interact:
            n_v = self.n_visible
            return expit(visible @ self.coupling_matrix(np.float64)[:n_v, n_v:] + self.biases[n_v:])
        if self.n_hidden <= MAX_EXACT_CLAMPED_HIDDEN:
            return enumeration.clamped_hidden_statistics(self, visible, np.zeros((0, 2), dtype=np.int64))[0]
        return enumeration.mean_field_hidden(self, visible)

    def reconstruct(self, visible, rng: np.random.Generator) -> np.ndarray:
        """One stochastic pass: h given v, then v given h (a sweep over the visible blocks)."""
        visible = np.asarray(visible, dtype=self.dtype)
        states = np.hstack([visible, np.zeros((len(visible), self.n_hidden), dtype=self.dtype)])
        hidden_mean = self.hidden_expectations(visible)
        states[:, self.n_visible:] = rng.random(hidden_mean.shape) < hidden_mean
        self.block_gibbs(states, 1, rng, which="visible")
        return states[:, :self.n_visible]

    # --- sufficient statistics ---------------------------------------------------------------
    def sufficient_statistics(self, states: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(mean x_i x_j per edge, mean x_i per unit) over the rows of `states` (full states,
        or expected states whose pairs factorise), weighted by `weights` (summing to 1) if given."""
        states = np.asarray(states, dtype=np.float64)
        weights = np.full(len(states), 1.0 / len(states)) if weights is None else np.asarray(weights, dtype=np.float64)
        pairs = weights @ (states[:, self.edges[:, 0]] * states[:, self.edges[:, 1]]) \
            if len(self.edges) else np.zeros(0)
        return pairs.astype(self.dtype), (weights @ states).astype(self.dtype)

    def positive_statistics(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The data term: statistics with the visible units clamped to the rows of `batch` and
        the hidden units at their conditional expectation (exact pair terms for interacting
        hidden units when enumeration is cheap, mean-field products otherwise)."""
        batch = np.asarray(batch, dtype=np.float64)
        if self.hidden_units_interact and self.n_hidden <= MAX_EXACT_CLAMPED_HIDDEN:
            hidden_pairs = self.edges[self._hidden_edges] - self.n_visible
            return self._clamped_statistics(batch, *enumeration.clamped_hidden_statistics(self, batch, hidden_pairs))
        return self.sufficient_statistics(np.hstack([batch, self.hidden_expectations(batch)]))

    def _clamped_statistics(self, batch: np.ndarray, expected_hidden: np.ndarray,
                            hidden_pair_means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Statistics of the visible rows with the hidden units at their expectations; the
        hidden-hidden edges' pair means, which do not factorise, are given."""
        pairs, means = self.sufficient_statistics(np.hstack([batch, expected_hidden]))
        pairs[self._hidden_edges] = hidden_pair_means
        return pairs, means

    def clamped_bqm(self, batch: np.ndarray, beta: float = 1.0) -> dimod.BinaryQuadraticModel:
        """One BINARY BQM holding the hidden units of every row of `batch` with its visible units
        clamped: variable i * n_hidden + j is hidden unit j of example i, and the copies share no
        edge, so one sampler call samples p(h | v) for the whole minibatch (side by side on an
        annealer, as the QPU path places copies of a model)."""
        batch = np.asarray(batch, dtype=np.float64)
        n_v, n_h = self.n_visible, self.n_hidden
        symmetric = self.coupling_matrix(np.float64)
        fields = batch @ symmetric[:n_v, n_v:] + self.biases[n_v:]  # (N, n_hidden)
        hidden_edges = self._hidden_edges
        pairs = self.edges[hidden_edges] - n_v
        offsets = (np.arange(len(batch)) * n_h)[:, np.newaxis]
        rows = (offsets + pairs[:, 0]).ravel()
        cols = (offsets + pairs[:, 1]).ravel()
        values = np.tile(-beta * self.couplings[hidden_edges].astype(np.float64), len(batch))
        return dimod.BinaryQuadraticModel.from_numpy_vectors(-beta * fields.ravel(), (rows, cols, values), 0.0,
                                                             dimod.BINARY)

    def positive_statistics_from_samples(self, batch: np.ndarray, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The data term from sampled hidden states: `hidden` is (reads, N, n_hidden), reads of
        p(h | v) for each row of `batch`."""
        hidden = np.asarray(hidden, dtype=np.float64)
        first, second = (self.edges[self._hidden_edges] - self.n_visible).T
        return self._clamped_statistics(np.asarray(batch, dtype=np.float64), hidden.mean(axis=0),
                                        (hidden[:, :, first] * hidden[:, :, second]).mean(axis=(0, 1)))

    # --- BQM ---------------------------------------------------------------------------------
    def to_bqm(self, beta: float = 1.0) -> dimod.BinaryQuadraticModel:
        """The BINARY BQM whose energy is beta * E(x); variables 0..n-1, visible first."""
        return dimod.BinaryQuadraticModel.from_numpy_vectors(
            -beta * self.biases.astype(np.float64), (self.edges[:, 0], self.edges[:, 1], -beta * self.couplings.astype(np.float64)),
            0.0, dimod.BINARY)

    def to_graph_view(self, arrays) -> tuple[np.ndarray, np.ndarray]:
        """(couplings, biases): the parameters are already one value per edge and per unit."""
        pairs, units = arrays
        return pairs, units

    def from_graph_view(self, pairs: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return pairs, units

    # --- files -------------------------------------------------------------------------------
    def _stored_arrays(self) -> dict[str, np.ndarray]:
        return {"shape": np.array([self.n_visible, self.n_hidden]), "edges": self.edges,
                "couplings": self.couplings, "biases": self.biases}

    def save(self, path: str | os.PathLike) -> Path:
        """Save to .npz atomically with a model-type field and a SHA-256 of the contents; no pickle."""
        arrays = self._stored_arrays()
        return save_npz(path, {"format": np.array(FORMAT_NAME), "format_version": np.array(FORMAT_VERSION),
                               "model_type": np.array(self.model_type),
                               "sha256": np.array(content_digest(arrays)), **arrays})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "BoltzmannMachine":
        """Load a model saved by `save`; ValueError on anything malformed or failing its checksum."""
        arrays = load_npz(path, ("format", "format_version", "model_type", "sha256", "shape", "edges", "couplings",
                                 "biases"), "Boltzmann machine")
        if str(arrays["format"]) != FORMAT_NAME:
            raise ValueError(f"{path} is not an annealrbm Boltzmann machine file (format {arrays['format']!s})")
        if int(arrays["format_version"]) > FORMAT_VERSION:
            raise ValueError(f"{path} has format version {int(arrays['format_version'])}: upgrade annealrbm")
        stored = {key: arrays[key] for key in arrays if key not in ("format", "format_version", "model_type", "sha256")}
        if str(arrays["sha256"]) != content_digest(stored):
            raise ValueError(f"{path} fails its checksum: the parameters were edited or corrupted")
        return cls._from_stored(str(arrays["model_type"]), stored)

    @classmethod
    def _from_stored(cls, model_type: str, stored: dict[str, np.ndarray]) -> "BoltzmannMachine":
        if model_type != cls.model_type:
            raise ValueError(f"the file holds a {model_type!r} model; load it with the class for that type "
                             "(annealrbm.models.load_model picks it for you)")
        n_visible, n_hidden = (int(x) for x in stored["shape"])
        return cls.from_arrays(n_visible, n_hidden, stored["edges"], stored["couplings"], stored["biases"])
