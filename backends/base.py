"""The interface every sampler backend implements, and the samples it returns."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from annealrbm.gradient.estimators import Statistics
from annealrbm.models.base import EnergyModel


@dataclass
class NegativeSamples:
    """States drawn (approximately) from the model for the negative phase.

    `visible` is (n_samples, n_visible), `hidden` is (n_samples, n_hidden), both 0/1 floats;
    `hidden` is None when the backend computed p(h | visible) instead (`hidden_probs`; the Gibbs
    backends): the trainer draws hidden states from it only if its estimator wants them.
    `visible_probs`, when given with `hidden`, is p(v | hidden): the trainer's Rao-Blackwellised
    estimator then averages over the visible layer instead (no p(h | visible) needed).
    `info` always has 'seconds' (wall time spent sampling) and 'num_samples'; backends add
    what their sampler reports (e.g. 'sampler_info' for dimod samplers).
    `statistics`, when a backend can give them, are the exact model expectations; the trainer
    then uses them instead of estimating from the samples. `weights`, when given, are the
    samples' importance weights (summing to 1): expectations are weighted averages.
    """

    visible: np.ndarray
    hidden: np.ndarray | None
    info: dict[str, Any] = field(default_factory=dict)
    statistics: Statistics | None = None
    hidden_probs: np.ndarray | None = None  # p(h | visible) when the backend computed it anyway
    visible_probs: np.ndarray | None = None  # p(v | hidden), likewise (PCD's last half-sweep drew visible from it)
    data_hidden_probs: np.ndarray | None = None  # p(h | batch), likewise (CD starts its chains there)
    weights: np.ndarray | None = None  # importance weights summing to 1; None: equal weights


class Backend(ABC):
    """A source of negative-phase samples for a model (an `annealrbm.models.base.EnergyModel`).

    `sample` gets the current model, the current minibatch (used by CD-style backends to
    start their chains, ignored by others) and a seeded Generator to draw randomness from.
    """

    name: ClassVar[str] = "backend"
    description: ClassVar[str] = ""
    # attributes (arrays, numbers or None) carried between calls that a checkpoint must hold
    checkpointed: ClassVar[tuple[str, ...]] = ()
    # whether `sample` starts its chains at the minibatch it is given (CD): it needs data
    uses_batch: ClassVar[bool] = False
    # whether `sample` takes any EnergyModel, not only two-layer models (RBMs)
    any_graph: ClassVar[bool] = False

    @property
    def keeps_state(self) -> bool:
        """Whether calls continue from the previous call's states (persistent chains)."""
        return bool(getattr(self, "persistent", False))

    @abstractmethod
    def sample(self, model: EnergyModel, batch: np.ndarray, rng: np.random.Generator) -> NegativeSamples:
        """Return negative samples for `model`."""

    def prepare(self, model: EnergyModel, num_updates: int, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Called once before training with the number of updates planned; may refuse the run
        (e.g. over a QPU time budget) and returns facts to record. Nothing by default."""
        return {}

    def set_final_phase(self, final: bool) -> None:
        """Told at the start of every epoch whether training is in its final phase: the epochs
        whose parameters are averaged into the model training returns (the last quarter when
        averaging is off). A backend may sample more carefully there; a no-op by default."""

    def reset(self) -> None:
        """Forget any state kept between calls (persistent chains); a no-op by default."""

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The state kept between calls (see `checkpointed`), as arrays for a checkpoint."""
        values = {name: getattr(self, name) for name in self.checkpointed}
        return {name: np.array(value) for name, value in values.items() if value is not None}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what `state_arrays` returned (absent names were None)."""
        for name in self.checkpointed:
            value = arrays.get(name)
            setattr(self, name, None if value is None else value.item() if value.ndim == 0 else value.copy())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
