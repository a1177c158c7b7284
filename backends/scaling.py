"""Scaling a problem into a QPU's coefficient ranges, as a dimod composite.

The QPU samples roughly exp(-beta_hw * E) for the problem it is given, so the factor a problem
is multiplied by sets the temperature its samples come out at. `RangeScaleComposite` applies a
chosen factor (or the largest at which the problem fits) and clips whatever still lies outside
the solver's h_range and j_range, reporting how many coefficients it clipped; choosing the
factor (temperature correction) is the caller's job.
"""
from __future__ import annotations

import dimod
import numpy as np


def _fit_ratio(values: np.ndarray, low: float, high: float) -> float:
    """How many times too large `values` are for [low, high] (<= 1 means they fit)."""
    if values.size == 0:
        return 0.0
    return max(float(values.max(initial=0.0)) / high, float(values.min(initial=0.0)) / low, 0.0)


def _largest_fitting(linear: np.ndarray, quadratic: np.ndarray, h_range, j_range) -> float:
    return 1.0 / max(_fit_ratio(linear, *h_range), _fit_ratio(quadratic, *j_range), 1e-12)


def largest_fitting_scale(bqm: dimod.BinaryQuadraticModel, h_range, j_range) -> float:
    """The largest factor by which the SPIN form of `bqm` still fits h_range and j_range."""
    linear, (_, _, quadratic), _ = bqm.spin.to_numpy_vectors()
    return _largest_fitting(linear, quadratic, h_range, j_range)


class RangeScaleComposite(dimod.ComposedSampler):
    """Multiply the SPIN problem by `scale` (default: the largest factor that fits), clip what
    still lies outside the ranges, and sample it with the child.

    h_range, j_range: default to the child's properties (a D-Wave solver has both). The answer
    holds the child's samples with energies of the problem as given, and `info` gains 'scale',
    'largest_fitting_scale' and 'clipped_coefficients'.
    """

    def __init__(self, child: dimod.Sampler, h_range=None, j_range=None) -> None:
        self._children = [child]
        properties = child.properties
        if h_range is None or j_range is None:
            if "h_range" not in properties or "j_range" not in properties:
                raise ValueError("the child sampler has no h_range/j_range properties: pass h_range= and j_range=")
        self.h_range = tuple(float(x) for x in (h_range if h_range is not None else properties["h_range"]))
        self.j_range = tuple(float(x) for x in (j_range if j_range is not None else properties["j_range"]))

    @property
    def children(self) -> list[dimod.Sampler]:
        return self._children

    @property
    def parameters(self) -> dict:
        return {**self.child.parameters, "scale": []}

    @property
    def properties(self) -> dict:
        return {"child_properties": dict(self.child.properties)}

    def sample(self, bqm: dimod.BinaryQuadraticModel, scale: float | None = None, **parameters) -> dimod.SampleSet:
        """Sample `bqm` multiplied by `scale` and clipped into the ranges."""
        linear, (rows, cols, quadratic), _, labels = bqm.spin.to_numpy_vectors(return_labels=True)
        fitting = _largest_fitting(linear, quadratic, self.h_range, self.j_range)
        scale = fitting if scale is None else float(scale)
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        linear, quadratic = linear * scale, quadratic * scale
        clipped = int(np.sum((linear < self.h_range[0]) | (linear > self.h_range[1]))
                      + np.sum((quadratic < self.j_range[0]) | (quadratic > self.j_range[1])))
        submitted = dimod.BinaryQuadraticModel.from_numpy_vectors(
            np.clip(linear, *self.h_range), (rows, cols, np.clip(quadratic, *self.j_range)), 0.0, dimod.SPIN,
            variable_order=labels)
        answer = self.child.sample(submitted, **parameters)
        answer = answer.change_vartype(bqm.vartype, inplace=False)
        result = dimod.SampleSet.from_samples_bqm((answer.record.sample, answer.variables), bqm,
                                                  num_occurrences=answer.record.num_occurrences)
        result.info.update(answer.info)
        result.info.update({"scale": scale, "largest_fitting_scale": fitting, "clipped_coefficients": clipped})
        return result
