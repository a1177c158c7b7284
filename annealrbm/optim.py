"""Learning-rate schedules and the momentum SGD update for RBM parameters."""
from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np

from .estimators import Gradient
from .model import RBM

LearningRate = Union[float, Sequence[tuple[int, float]], Callable[[int], float]]


def piecewise_constant(segments: Sequence[tuple[int, float]]) -> Callable[[int], float]:
    """Schedule from (number_of_epochs, rate) segments, e.g. [(100, 0.1), (50, 0.01), (50, 0.001)].

    Epochs past the last segment keep its rate.
    """
    segments = [(int(length), float(rate)) for length, rate in segments]
    if not segments or any(length < 1 or not rate > 0 for length, rate in segments):
        raise ValueError(
            f"learning-rate segments must be (epochs >= 1, rate > 0) pairs, got {segments!r}"
        )
    boundaries = np.cumsum([length for length, _ in segments])
    rates = [rate for _, rate in segments]

    def rate_at(epoch: int) -> float:
        index = int(np.searchsorted(boundaries, epoch, side="right"))
        return rates[min(index, len(rates) - 1)]

    return rate_at


class DecayingRate:
    """The default schedule: `rate` for the first `hold` fraction of the epochs, then a geometric
    decay to `rate * final_ratio` at the last epoch.

    The decay is what lets a stochastic gradient settle: at a constant rate the parameters keep
    walking in the sampling noise, and the model a run ends with depends on its last few steps.
    """

    def __init__(self, rate: float, epochs: int, hold: float = 0.5, final_ratio: float = 0.1) -> None:
        if not (rate > 0 and np.isfinite(rate)):
            raise ValueError(f"learning rate must be a finite number > 0, got {rate!r}")
        if not (0 <= hold <= 1 and 0 < final_ratio <= 1):
            raise ValueError(f"hold must be in [0, 1] and final_ratio in (0, 1], got {hold!r}, {final_ratio!r}")
        self.rate, self.epochs, self.hold, self.final_ratio = float(rate), int(epochs), float(hold), float(final_ratio)

    def __call__(self, epoch: int) -> float:
        start = self.hold * (self.epochs - 1)
        if epoch <= start or self.epochs <= 1:
            return self.rate
        progress = min(1.0, (epoch - start) / (self.epochs - 1 - start))
        return self.rate * self.final_ratio**progress

    def __repr__(self) -> str:
        return (f"DecayingRate(rate={self.rate:g}, epochs={self.epochs}, hold={self.hold:g}, "
                f"final_ratio={self.final_ratio:g})")


# Base rates of the default schedule for a full-batch update; see default_learning_rate.
DEFAULT_BASE_RATES = {"sgd": 0.5, "adam": 0.1}


# Hidden layers up to this size take the full base rate; larger ones a rate shrinking with the
# square root of their size (see default_learning_rate).
FULL_RATE_HIDDEN_UNITS = 16


def default_learning_rate(optimizer: str, epochs: int, updates_per_epoch: int, n_hidden: int = 1) -> DecayingRate:
    """The schedule used when no learning rate is given: DecayingRate from a base rate that
    shrinks with the square root of the number of updates per epoch (a full-batch toy set takes
    large steps; MNIST's 500 minibatches per epoch take many small ones) and, above
    FULL_RATE_HIDDEN_UNITS hidden units, with the square root of their number: every visible
    unit's field sums over the hidden layer, so a step of the same size moves it further and
    persistent chains fall behind a wide model (784x500 MNIST: rate 0.004 instead of 0.022)."""
    base = DEFAULT_BASE_RATES[optimizer] / np.sqrt(max(1, updates_per_epoch))
    base *= np.sqrt(min(1.0, FULL_RATE_HIDDEN_UNITS / max(1, n_hidden)))
    return DecayingRate(float(base), epochs)


def as_schedule(learning_rate: LearningRate) -> Callable[[int], float]:
    """Turn a float, a list of (epochs, rate) segments or a callable into epoch -> rate."""
    if callable(learning_rate):
        return learning_rate
    if isinstance(learning_rate, (int, float, np.floating)) and not isinstance(learning_rate, bool):
        if not learning_rate > 0 or not np.isfinite(learning_rate):
            raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}")
        return lambda epoch: float(learning_rate)
    try:
        segments = [(length, rate) for length, rate in learning_rate]
    except (TypeError, ValueError):
        raise ValueError(
            f"learning_rate must be a number, (epochs, rate) segments or a callable, got {learning_rate!r}"
        ) from None
    return piecewise_constant(segments)


def with_weight_decay(gradient: Gradient, rbm: RBM, weight_decay: float) -> Gradient:
    """The gradient with L2 weight decay on the couplings (W of an RBM; the first parameter
    array of any model), in place: optimizers own their gradient."""
    if weight_decay:
        np.subtract(gradient[0], weight_decay * parameters(rbm)[0], out=gradient[0])
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

    def step(self, rbm: RBM, gradient: Gradient, rate: float) -> None:
        """Apply one update to `rbm` in place; overwrites `gradient`."""
        for velocity, direction, parameter in zip(
            self.velocity, with_weight_decay(gradient, rbm, self.weight_decay), parameters(rbm)
        ):
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
            self.first, self.second, with_weight_decay(gradient, rbm, self.weight_decay), parameters(rbm), self.scratch
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
