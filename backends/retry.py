"""Retries with exponential backoff for remote sampler calls, and checks of what comes back.

A QPU or cloud sampler can time out, lose its connection, report a solver failure, or (rarely)
return an answer that cannot be used: no samples, the wrong variables, NaN energies. All of
these are retried with exponentially growing pauses; errors that retrying cannot fix (bad
credentials, an invalid problem) are raised at once. When every attempt fails,
`SamplerUnavailable` is raised; the trainer then saves a checkpoint of the last completed
epoch and stops with that message.
"""
from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable

import dimod
import numpy as np

from annealrbm.backends.qpu_connection import redact


class SamplerFault(RuntimeError):
    """The sampler answered, but with something unusable (treated as transient)."""


class SamplerUnavailable(RuntimeError):
    """Every attempt at a sampler call failed."""


@functools.cache
def transient_errors() -> tuple[type[BaseException], ...]:
    """Exception types worth retrying (looked up on first use: dwave-cloud is slow to import)."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError, SamplerFault]
    try:
        from dwave.cloud import exceptions as cloud

        errors += [cloud.RequestTimeout, cloud.Timeout, cloud.PollingTimeout, cloud.SolverFailureError,
                   cloud.SolverOfflineError, cloud.ProblemUploadError]
    except ImportError:  # pragma: no cover - dwave-cloud-client comes with dwave-system
        pass
    try:
        import requests

        errors += [requests.ConnectionError, requests.Timeout]
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


@dataclass
class RetryPolicy:
    """Up to `max_attempts` tries; pause initial_delay, x multiplier each time, at most max_delay."""

    max_attempts: int = 5
    initial_delay: float = 2.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if int(self.max_attempts) != self.max_attempts or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, got {self.max_attempts!r}")
        if not (self.initial_delay >= 0 and self.max_delay >= 0 and self.multiplier >= 1):
            raise ValueError("retry delays must be >= 0 and the multiplier >= 1")

    def delays(self) -> Iterable[float]:
        """The pauses between consecutive attempts."""
        delay = self.initial_delay
        for _ in range(self.max_attempts - 1):
            yield min(delay, self.max_delay)
            delay *= self.multiplier


def check_sampleset(sampleset: dimod.SampleSet, variables: Iterable) -> dimod.SampleSet:
    """Raise SamplerFault unless `sampleset` (resolved here) has samples over exactly `variables`
    with finite energies; returns it."""
    if not isinstance(sampleset, dimod.SampleSet):
        raise SamplerFault(f"the sampler returned a {type(sampleset).__name__}, not a dimod.SampleSet")
    sampleset.resolve()  # a future's answer arrives here
    if len(sampleset) == 0:
        raise SamplerFault("the sampler returned an empty SampleSet")
    if set(sampleset.variables) != set(variables):
        raise SamplerFault("the sampler returned samples over other variables than the problem's")
    record = sampleset.record
    if not np.all(np.isfinite(record.energy)):
        raise SamplerFault("the sampler returned NaN or infinite energies")
    if not np.all(np.isin(record.sample, (-1, 0, 1))):
        raise SamplerFault("the sampler returned values that are not binary or spin states")
    return sampleset


def call_with_retries(
    call: Callable[[], dimod.SampleSet], variables: Iterable, policy: RetryPolicy | None = None,
    what: str = "sampler",
) -> dimod.SampleSet:
    """Run `call` (which returns a SampleSet) until it gives a usable answer over `variables`.

    Transient failures (`transient_errors()`, malformed answers) are retried after the policy's
    pauses, with a warning each time; anything else propagates at once.
    """
    policy = policy or RetryPolicy()
    variables = list(variables)
    delays = iter(policy.delays())
    attempt = 0
    while True:
        attempt += 1
        try:
            return check_sampleset(call(), variables)
        except transient_errors() as exc:
            reason = redact(f"{type(exc).__name__}: {exc}")
            delay = next(delays, None)
            if delay is None:
                raise SamplerUnavailable(
                    f"the {what} failed {attempt} time(s) in a row (last: {reason})"
                ) from None
            warnings.warn(f"{what} call failed ({reason}); retry {attempt} of {policy.max_attempts - 1} in {delay:g} s",
                          RuntimeWarning, stacklevel=2)
            policy.sleep(delay)


class RetryComposite(dimod.ComposedSampler):
    """A dimod composite that retries its child's failed or malformed answers (`call_with_retries`).

    Wrap any sampler, local or remote: `RetryComposite(DWaveSampler(), RetryPolicy(max_attempts=3))`.
    The child's parameters and properties pass through unchanged, and every retry repeats the
    call with the same arguments, so a retried run equals an untroubled one. `what` names the
    sampler in warnings and errors (default: the child's class name).
    """

    def __init__(self, child: dimod.Sampler, policy: RetryPolicy | None = None, what: str | None = None) -> None:
        self._children = [child]
        self.policy = policy or RetryPolicy()
        self.what = what or type(child).__name__

    @property
    def children(self) -> list[dimod.Sampler]:
        return self._children

    @property
    def parameters(self) -> dict:
        return dict(self.child.parameters)

    @property
    def properties(self) -> dict:
        return {"child_properties": dict(self.child.properties)}

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters) -> dimod.SampleSet:
        """The child's answer for `bqm`, retried under the policy until it is usable."""
        return call_with_retries(lambda: self.child.sample(bqm, **parameters), bqm.variables, self.policy, self.what)
