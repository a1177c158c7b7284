"""Fault injection for sampler calls: wrap a `sample` function or a whole dimod.Sampler."""
from __future__ import annotations

import dimod
import numpy as np
from dwave.cloud.exceptions import RequestTimeout, SolverFailureError

FAULTS = ("timeout", "connection", "solver-failure", "request-timeout", "not-a-sampleset", "empty", "wrong-variables",
          "nan-energies")


class FaultInjector:
    """Calls `sample` but makes calls fail with `fault`: the first `fail_first` calls, or every
    call from number `fail_from` on (forever). Counts calls and failures."""

    def __init__(self, sample, fault: str = "timeout", fail_first: int = 0, fail_from: int | None = None) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        self.sample, self.fault, self.fail_first, self.fail_from = sample, fault, fail_first, fail_from
        self.calls = self.failures = 0

    def __call__(self, bqm: dimod.BinaryQuadraticModel, **kwargs) -> dimod.SampleSet:
        self.calls += 1
        failing = self.calls <= self.fail_first or (self.fail_from is not None and self.calls >= self.fail_from)
        if not failing:
            return self.sample(bqm, **kwargs)
        self.failures += 1
        if self.fault == "timeout":
            raise TimeoutError("the read operation timed out")
        if self.fault == "connection":
            raise ConnectionError("connection reset by peer")
        if self.fault == "solver-failure":
            raise SolverFailureError("solver failed to produce an answer")
        if self.fault == "request-timeout":
            raise RequestTimeout("SAPI request timed out")
        if self.fault == "not-a-sampleset":
            return {"error": "internal"}
        if self.fault == "empty":
            return dimod.SampleSet.from_samples(([], list(bqm.variables)), bqm.vartype, energy=[])
        answer = self.sample(bqm, **kwargs)
        if self.fault == "wrong-variables":
            return answer.relabel_variables({v: f"x{v}" for v in answer.variables}, inplace=False)
        record = answer.record.copy()
        record.energy[:] = np.nan
        return dimod.SampleSet(record, answer.variables, answer.info, answer.vartype)


class FaultInjectingSampler(dimod.Sampler):
    """A dimod.Sampler whose calls go through a FaultInjector around `child.sample`."""

    def __init__(self, child: dimod.Sampler, **faults) -> None:
        self.child = child
        self.injector = FaultInjector(child.sample, **faults)

    @property
    def parameters(self):
        return self.child.parameters

    @property
    def properties(self):
        return self.child.properties

    def sample(self, bqm, **kwargs):
        return self.injector(bqm, **kwargs)
