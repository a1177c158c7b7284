"""Optimisers for any model's parameter arrays: momentum SGD and Adam, with L2 weight decay on
the couplings."""
from __future__ import annotations

import numpy as np

from annealrbm.gradient.estimators import Gradient
from annealrbm.models.rbm import RBM


def with_weight_decay(
    gradient: Gradient, rbm: RBM, weight_decay: float, scratch: np.ndarray | None = None
) -> Gradient:
    """The gradient with L2 weight decay on the couplings (W of an RBM; the first parameter
    array of any model), in place: optimizers own their gradient. `scratch`, an array of the
    couplings' shape and dtype, holds weight_decay * W instead of a temporary per call."""
    if weight_decay:
        couplings = parameters(rbm)[0]
        decay = np.multiply(couplings, weight_decay, out=scratch)
        np.subtract(gradient[0], decay, out=gradient[0])
    return gradient


def parameters(rbm) -> tuple[np.ndarray, ...]:
    """The arrays an optimizer updates in place, in the order of a gradient's fields: the
    model's `parameter_arrays()` ((W, visible bias, hidden bias) for an RBM)."""
    return tuple(rbm.parameter_arrays().values())


def _arrays_of(lists: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    return {f"{name}.{index}": array for name, arrays in lists.items() for index, array in enumerate(arrays)}


def _load_into(lists: dict[str, list[np.ndarray]], arrays: dict[str, np.ndarray]) -> None:
    """Copy checkpointed arrays into the optimizer's own, checking names and shapes."""
    for key, target in _arrays_of(lists).items():
        if key not in arrays or arrays[key].shape != target.shape:
            raise ValueError(f"optimizer state {key!r} is missing or has the wrong shape")
        target[...] = arrays[key]


def _forget_hidden_unit(state: list[np.ndarray], unit: int) -> None:
    """Zero the optimizer state of hidden unit `unit` in per-parameter arrays (W, a, b)."""
    weights, _, hidden_bias = state
    weights[:, unit] = 0
    hidden_bias[unit] = 0


class MomentumSGD:
    """Gradient ascent with classical momentum and L2 weight decay on W.

    velocity <- momentum * velocity + rate * (gradient - weight_decay * W);  params += velocity
    """

    def __init__(self, rbm: RBM, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.velocity = [np.zeros_like(p) for p in parameters(rbm)]
        self.scratch = np.empty_like(parameters(rbm)[0]) if self.weight_decay else None

    # the trainer may hand over the gradient already multiplied by the rate (the gradient
    # estimator's `scale`, free there), saving a pass over the weights here
    accepts_scaled_gradient = True

    def step(self, rbm: RBM, gradient: Gradient, rate: float, scaled: bool = False) -> None:
        """Apply one update to `rbm` in place; overwrites `gradient`. `scaled`: `gradient` is
        already `rate` times the log-likelihood gradient."""
        decay = self.weight_decay * rate if scaled else self.weight_decay
        for velocity, direction, parameter in zip(
            self.velocity, with_weight_decay(gradient, rbm, decay, self.scratch), parameters(rbm)
        ):
            if not scaled:
                direction *= rate
            if self.momentum:
                velocity *= self.momentum
                velocity += direction
                parameter += velocity
            else:  # plain SGD: the same numbers without touching the velocity
                parameter += direction

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Everything the next step depends on besides the model, for a checkpoint."""
        return _arrays_of({"velocity": self.velocity})

    def forget_hidden_unit(self, unit: int) -> None:
        """Drop the momentum of one hidden unit of an RBM (its weights and bias), restarted."""
        _forget_hidden_unit(self.velocity, unit)

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        _load_into({"velocity": self.velocity}, arrays)


class Adam:
    """Adam (Kingma & Ba 2015) ascent on the log-likelihood gradient, L2 weight decay on W.

    Per-parameter step sizes let weights grow to the large values sharply peaked
    distributions need within a few hundred updates, where plain SGD stalls.
    """

    accepts_scaled_gradient = False  # the rate does not factor out of Adam's step

    def __init__(
        self, rbm: RBM, beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8, weight_decay: float = 0.0
    ) -> None:
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam betas must be in [0, 1), got {beta1!r}, {beta2!r}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)
        self.weight_decay = float(weight_decay)
        self.first = [np.zeros_like(p) for p in parameters(rbm)]
        self.second = [np.zeros_like(p) for p in parameters(rbm)]
        self.scratch = [np.empty_like(p) for p in parameters(rbm)]
        self.steps = 0

    def step(self, rbm: RBM, gradient: Gradient, rate: float) -> None:
        """Apply one update to `rbm` in place; overwrites `gradient`."""
        self.steps += 1
        correction1 = 1 - self.beta1**self.steps
        correction2 = 1 - self.beta2**self.steps
        # In place, operation for operation the textbook expression
        #   parameter += rate * (m / c1) / (sqrt(v / c2) + eps)
        # so results are bit-identical to it, without a temporary per operation.
        for first, second, direction, parameter, scratch in zip(
            self.first, self.second, with_weight_decay(gradient, rbm, self.weight_decay, self.scratch[0]), parameters(rbm), self.scratch
        ):
            np.multiply(direction, 1 - self.beta1, out=scratch)
            first *= self.beta1
            first += scratch
            np.square(direction, out=scratch)
            scratch *= 1 - self.beta2
            second *= self.beta2
            second += scratch
            np.divide(first, correction1, out=scratch)
            scratch *= rate
            np.divide(second, correction2, out=direction)
            np.sqrt(direction, out=direction)
            direction += self.epsilon
            scratch /= direction
            parameter += scratch

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Everything the next step depends on besides the model, for a checkpoint."""
        return {**_arrays_of({"first": self.first, "second": self.second}), "steps": np.array(self.steps)}

    def forget_hidden_unit(self, unit: int) -> None:
        """Drop both moment estimates of one hidden unit of an RBM (its weights and bias), restarted."""
        _forget_hidden_unit(self.first, unit)
        _forget_hidden_unit(self.second, unit)

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        _load_into({"first": self.first, "second": self.second}, arrays)
        self.steps = int(arrays["steps"])
