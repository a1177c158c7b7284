"""Deep Boltzmann machines: layers of binary units, each coupled only to the layers next to it
(Salakhutdinov & Hinton 2009). A DBM is a Boltzmann machine on a layered graph; what it adds is
the layer structure: Gibbs sampling in two blocks (even and odd layers) and a mean-field
positive phase when its hidden layers are too large to sum exactly.
"""
from __future__ import annotations

import numpy as np

from annealrbm.models import topology
from annealrbm.models.bm import BoltzmannMachine


class DBM(BoltzmannMachine):
    """DBM(layer_sizes=[n_visible, n_h1, n_h2, ...]); units are numbered layer by layer."""

    model_type = "dbm"

    def __init__(self, layer_sizes, seed=None, weight_scale: float = 0.01, dtype=np.float64) -> None:
        sizes = [int(size) for size in layer_sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"layer_sizes must list at least two positive layer sizes, got {layer_sizes!r}")
        self.layer_sizes = sizes
        super().__init__(sizes[0], sum(sizes[1:]), topology.layered_edges(sizes), seed=seed,
                         weight_scale=weight_scale, dtype=dtype)

    def layer_units(self, index: int) -> np.ndarray:
        start = sum(self.layer_sizes[:index])
        return np.arange(start, start + self.layer_sizes[index])

    def blocks(self, which: str = "all") -> list[np.ndarray]:
        """Two blocks: the even layers and the odd layers (restricted to `which` units)."""
        if which not in self._blocks:
            keep = {"all": lambda u: u, "visible": lambda u: u[u < self.n_visible],
                    "hidden": lambda u: u[u >= self.n_visible]}[which]
            parity = [np.concatenate([self.layer_units(i) for i in range(first, len(self.layer_sizes), 2)])
                      for first in (0, 1)]
            self._blocks[which] = [block for block in (keep(np.sort(p)) for p in parity) if len(block)]
        return self._blocks[which]

    def __repr__(self) -> str:
        return f"DBM(layer_sizes={self.layer_sizes}, dtype={self.dtype})"

    def _stored_arrays(self) -> dict[str, np.ndarray]:
        return {**super()._stored_arrays(), "layer_sizes": np.array(self.layer_sizes)}

    @classmethod
    def _from_stored(cls, model_type: str, stored: dict[str, np.ndarray]) -> "DBM":
        if model_type != cls.model_type:
            raise ValueError(f"the file holds a {model_type!r} model, not a DBM (annealrbm.models.load_model reads any)")
        model = cls([int(x) for x in stored["layer_sizes"]], weight_scale=0.0, dtype=stored["biases"].dtype)
        if not np.array_equal(model.edges, stored["edges"]):
            raise ValueError("the stored DBM's edges do not match its layer sizes")
        model.couplings[...] = stored["couplings"]
        model.biases[...] = stored["biases"]
        return model
