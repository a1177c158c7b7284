"""The interface every annealrbm model implements: an energy model over binary units.

Units are 0/1, visible first, then hidden; p(x) = exp(-E(x)) / Z (DESIGN.md §7). The trainer,
the optimisers, the checkpoints, the metrics and the sampler backends use a model only through
this interface, so a new model type is one module implementing it:

- named parameter arrays (`parameter_arrays`, `with_parameters`): optimisers update them in
  place; checkpoints and files store them;
- `to_bqm(beta)` and `states_from_sampleset`: the model as a binary quadratic model (visible
  variables first, then hidden) for any dimod sampler, and back;
- `energies` of full states and `free_energy` of visible states;
- `sufficient_statistics` of states and `positive_statistics` of data, each a tuple in the order
  of the parameter arrays, so that a gradient is their difference;
- `blocks` of conditionally independent units and `block_gibbs`, which resamples them one block
  at a time (two blocks for an RBM, a graph colouring for a general Boltzmann machine);
- `hidden_expectations`, `reconstruct`, `max_abs_field`;
- `independent_base_biases`: the unit biases of the independent model AIS starts from;
- the graph view: `edges`, and `to_graph_view` / `from_graph_view` between parameter-shaped
  arrays and (one value per edge, one per unit), in which the centred gradient
  (`centred_gradient`) and exact marginals are written once for every model.

A model whose layers are two, with no lateral couplings, may also offer fused two-layer paths
(p(h | v) and p(v | h) as one matrix product each, chains kept as visible states with the hidden
layer summed out); it says so with `two_layer_fast_paths = True` and implements the RBM's
methods (`hidden_logits`, `visible_probs`, `gibbs_sweeps`, `W`, ...). Backends and metrics take
those paths when offered and the general ones otherwise.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import dimod
import numpy as np

from annealrbm.models.bqm import sampleset_to_states


class EnergyModel(ABC):
    """A binary energy model over `n_visible` + `n_hidden` units (see the module docstring)."""

    model_type: str = ""
    two_layer_fast_paths: bool = False
    n_visible: int
    n_hidden: int
    edges: np.ndarray  # the coupled pairs (u, v), u < v, one row per coupling, in the graph view's order

    @property
    def n_units(self) -> int:
        return self.n_visible + self.n_hidden

    @property
    @abstractmethod
    def dtype(self) -> np.dtype:
        """The dtype of the parameters and of the states the model computes with."""

    @property
    def visible_units_interact(self) -> bool:
        return True

    @property
    def hidden_units_interact(self) -> bool:
        return True

    # --- parameters ----------------------------------------------------------------------------
    @abstractmethod
    def parameter_arrays(self) -> dict[str, np.ndarray]:
        """The arrays training updates, by name, in the order of a gradient's fields."""

    @abstractmethod
    def with_parameters(self, *arrays: np.ndarray) -> "EnergyModel":
        """A model of the same structure with these parameter arrays (in `parameter_arrays` order)."""

    @abstractmethod
    def copy(self) -> "EnergyModel":
        """An independent copy."""

    @abstractmethod
    def astype(self, dtype) -> "EnergyModel":
        """A copy whose parameters are `dtype` (float32 or float64)."""

    # --- energies ------------------------------------------------------------------------------
    @abstractmethod
    def energies(self, states: np.ndarray) -> np.ndarray:
        """E(x) per row of full states (n_units columns), float64, without input checks."""

    @abstractmethod
    def free_energy(self, visible) -> np.ndarray:
        """F(v) = -log sum_h exp(-E(v, h)) per row of visible states."""

    @abstractmethod
    def to_bqm(self, beta: float = 1.0) -> dimod.BinaryQuadraticModel:
        """beta * E as a BINARY dimod BQM, variables 0..n_units-1 (visible first)."""

    def states_from_sampleset(self, sampleset: dimod.SampleSet) -> tuple[np.ndarray, np.ndarray]:
        """(visible, hidden) states in the model's dtype from a SampleSet over `to_bqm`'s variables."""
        visible, hidden = sampleset_to_states(sampleset, self.n_visible, self.n_hidden)
        return visible.astype(self.dtype, copy=False), hidden.astype(self.dtype, copy=False)

    # --- statistics ----------------------------------------------------------------------------
    @abstractmethod
    def sufficient_statistics(self, states: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """The (weighted) means over full states of the statistics each parameter multiplies
        in -E, in the order of `parameter_arrays`: the model term of the gradient."""

    @abstractmethod
    def positive_statistics(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        """The same statistics with the visible units clamped to the rows of `batch` and the
        hidden units at their conditional expectation: the data term of the gradient."""

    # --- sampling ------------------------------------------------------------------------------
    @abstractmethod
    def blocks(self, which: str = "all") -> list[np.ndarray]:
        """Blocks of units ('all', 'visible' or 'hidden') with no coupling inside a block."""

    @abstractmethod
    def block_gibbs(self, states: np.ndarray, sweeps: int, rng: np.random.Generator,
                    which: str = "all", betas: np.ndarray | None = None) -> np.ndarray:
        """`sweeps` block-Gibbs sweeps over the blocks of `which` units, in place on full
        states; the other units stay clamped. `betas` (a column, one per row) samples each row
        from the tempered model exp(-beta E)."""

    @abstractmethod
    def hidden_expectations(self, visible: np.ndarray) -> np.ndarray:
        """E[h | v] per row (float64)."""

    @abstractmethod
    def reconstruct(self, visible, rng: np.random.Generator) -> np.ndarray:
        """One stochastic pass v -> h -> v per row."""

    def max_abs_field(self) -> float:
        """The largest |local field| any unit can see: |b_i| + sum_j |J_ij|, from the graph view."""
        couplings, biases = (np.abs(array.astype(np.float64)) for array in self.graph_parameters())
        fields = biases + np.bincount(self.edges[:, 0], couplings, self.n_units) \
            + np.bincount(self.edges[:, 1], couplings, self.n_units)
        return float(fields.max())

    def independent_base_biases(self, visible_biases: np.ndarray) -> np.ndarray:
        """Unit biases of the independent model AIS starts from: `visible_biases` on the visible
        units (e.g. the data's base rates), 0 on the hidden ones."""
        return np.concatenate([np.asarray(visible_biases, dtype=np.float64), np.zeros(self.n_hidden)])

    # --- the graph view ------------------------------------------------------------------------
    @abstractmethod
    def to_graph_view(self, arrays) -> tuple[np.ndarray, np.ndarray]:
        """Parameter-shaped arrays (parameters, statistics or a gradient) as (per edge, per unit)."""

    @abstractmethod
    def from_graph_view(self, pairs: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, ...]:
        """(per edge, per unit) arrays back in the shapes and order of `parameter_arrays`."""

    def graph_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """(one coupling per edge, one bias per unit): the parameters in the graph view, so that
        E(x) = -biases.x - sum over edges of coupling x_u x_v."""
        return self.to_graph_view(tuple(self.parameter_arrays().values()))

    def coupling_matrix(self, dtype=None) -> np.ndarray:
        """The dense symmetric coupling matrix (n_units x n_units), zero diagonal."""
        couplings, _ = self.graph_parameters()
        matrix = np.zeros((self.n_units, self.n_units), dtype=dtype or self.dtype)
        matrix[self.edges[:, 0], self.edges[:, 1]] = couplings
        matrix[self.edges[:, 1], self.edges[:, 0]] = couplings
        return matrix

    def centred_gradient(self, gradient, offsets: np.ndarray) -> tuple[np.ndarray, ...]:
        """The centred update (Melchior, Fischer & Wiskott 2016) from the uncentred gradient,
        with one offset per unit (visible: the data mean; hidden: a moving average of p(h | v))."""
        from annealrbm.gradient.estimators import centred_on_graph  # the gradient package imports the models

        pairs, units = self.to_graph_view(gradient)
        centred_on_graph([pairs, units], offsets, self.edges)
        return self.from_graph_view(pairs, units)

    # --- files ---------------------------------------------------------------------------------
    @abstractmethod
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model atomically (pickle-free .npz with its model type and a checksum)."""
