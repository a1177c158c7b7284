"""Learning-rate schedules: constant, piecewise constant, decaying, and the defaults chosen
from what is being trained."""
from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np

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
