"""Polyak-Ruppert parameter averaging over the last part of training."""
from __future__ import annotations

import numpy as np

from annealrbm.models.rbm import RBM
from annealrbm.optim.optimizers import _arrays_of, _load_into, parameters


class ParameterAverage:
    """Polyak-Ruppert averaging: the mean of the parameters at the end of every epoch from
    `start_epoch` on. Averaging the last part of a run cancels most of the noise its final
    steps leave in the parameters; the trainer returns the average."""

    def __init__(self, rbm: RBM, start_epoch: int) -> None:
        self.start_epoch = int(start_epoch)
        self.count = 0
        self.sums = [np.zeros(p.shape, dtype=np.float64) for p in parameters(rbm)]

    def add(self, rbm: RBM, epoch: int) -> None:
        """Include the parameters at the end of `epoch` (0-based) if it is in the window."""
        if epoch >= self.start_epoch:
            for total, parameter in zip(self.sums, parameters(rbm)):
                total += parameter
            self.count += 1

    def model(self, rbm: RBM) -> RBM:
        """The averaged model (in `rbm`'s dtype), or `rbm` itself before the window opens."""
        if self.count == 0:
            return rbm
        averages = [(total / self.count).astype(rbm.dtype) for total in self.sums]
        return rbm.with_parameters(*averages)

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {**_arrays_of({"sums": self.sums}), "count": np.array(self.count), "start_epoch": np.array(self.start_epoch)}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        _load_into({"sums": self.sums}, arrays)
        self.count = int(arrays["count"])
