"""The Bernoulli-Bernoulli restricted Boltzmann machine: parameters, energies, conditionals.

Conventions (DESIGN.md §3): units in {0, 1}; E(v, h) = -a.v - b.h - v^T W h with W of shape
(n_visible, n_hidden); p(v, h) = exp(-E) / Z.
"""
from __future__ import annotations

import os
from pathlib import Path

import dimod
import numpy as np
from scipy.special import expit

from annealrbm.fileio import content_digest, load_npz, save_npz
from annealrbm.models import bqm as bqm_mapping
from annealrbm.models.base import EnergyModel
from annealrbm.validation import check_binary_states, check_positive_int

FORMAT_NAME = "annealrbm.RBM"
FORMAT_VERSION = 2  # 2 adds the sha256 of the parameters


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow, as max(x, 0) + log1p(exp(-|x|)): the same values as
    np.logaddexp(0, x) (within an ulp) at a third of its cost."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if x.ndim == 0:
        return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)
    result = np.abs(x)
    np.negative(result, out=result)
    np.exp(result, out=result)
    np.log1p(result, out=result)
    result += np.maximum(x, 0)
    return result


def _fast_sigmoid(logits: np.ndarray) -> np.ndarray:
    """sigmoid(x) in place with numpy's SIMD ufuncs, 2-5x faster than scipy's expit. Overwrites
    and returns `logits`.

    float64: 1 / (1 + exp(-x)), within 2.3e-16 of expit (absolute; at most 4 ulp). float32:
    0.5 + 0.5 tanh(x / 2), 1.5x faster again (numpy's float32 tanh is cheaper than exp plus a
    division) and within 1.2e-7 of expit in absolute terms (5.9e-8 measured): probabilities
    below 3e-8 come out as 0 where the exp form keeps them, at the 6e-8 resolution of the
    float32 uniforms they are compared with.
    """
    if logits.dtype == np.float32:
        logits *= 0.5
        np.tanh(logits, out=logits)
        logits *= 0.5
        logits += 0.5
        return logits
    with np.errstate(over="ignore", under="ignore"):  # exp(-x) = inf for x << 0 gives p = 0
        np.negative(logits, out=logits)
        np.exp(logits, out=logits)
        logits += 1
        return np.divide(1, logits, out=logits)


def probabilities(logits: np.ndarray) -> np.ndarray:
    """sigmoid(logits) in place: expit in float64 (the reference arithmetic), the SIMD form in
    float32, whose models are for speed."""
    return _fast_sigmoid(logits) if logits.dtype == np.float32 else expit(logits, out=logits)


def sample_from_logits(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0/1 states (in the dtype of `logits`) that are 1 with p = sigmoid(logits); overwrites `logits`.

    Decides with the SIMD sigmoid in every dtype: in float64 it differs from expit by at most
    2.3e-16, which changes a draw only when the uniform falls inside that gap.
    """
    return bernoulli(_fast_sigmoid(logits), rng)


def bernoulli(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0/1 states (in the dtype of `probs`) that are 1 with the given probabilities."""
    uniform = rng.random(probs.shape, dtype=probs.dtype)
    return np.less(uniform, probs, out=uniform, casting="unsafe")  # written over the uniforms


# Models with more weights than this compute in float32 unless a dtype is given: BLAS runs
# twice as fast and memory traffic halves, while exact metrics and AIS still compute in float64.
LARGE_MODEL_WEIGHTS = 100_000


def has_many_weights(n_visible: int, n_hidden: int) -> bool:
    """Whether an RBM of these sizes has more than LARGE_MODEL_WEIGHTS weights."""
    return n_visible * n_hidden > LARGE_MODEL_WEIGHTS


def default_dtype(n_visible: int, n_hidden: int) -> np.dtype:
    """float32 for large models (more than LARGE_MODEL_WEIGHTS weights), float64 otherwise."""
    return np.dtype(np.float32 if has_many_weights(n_visible, n_hidden) else np.float64)


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


class RBM(EnergyModel):
    """A binary RBM with weights `W` (n_visible x n_hidden), `visible_bias` and `hidden_bias`.

    One implementation of `EnergyModel`, with fused two-layer paths besides: p(h | v) and
    p(v | h) as one matrix product each (`hidden_probs`, `visible_probs`), and chains kept as
    visible states (`gibbs_sweeps`), which the backends and metrics use for RBMs.
    """

    model_type = "rbm"
    two_layer_fast_paths = True

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        seed: int | np.random.Generator | None = None,
        weight_scale: float = 0.01,
        dtype=None,
    ) -> None:
        """W ~ N(0, weight_scale^2), zero biases. dtype float32 halves memory traffic and doubles
        BLAS speed for large models; exact metrics still compute in float64. dtype None (default)
        picks float32 for models with more than 100,000 weights (784x500 MNIST models), else
        float64 (the reference arithmetic)."""
        n_visible = check_positive_int(n_visible, "n_visible")
        n_hidden = check_positive_int(n_hidden, "n_hidden")
        dtype = default_dtype(n_visible, n_hidden) if dtype is None else _float_dtype(dtype)
        if not (np.isfinite(weight_scale) and weight_scale >= 0):
            raise ValueError(f"weight_scale must be a finite number >= 0, got {weight_scale!r}")
        rng = np.random.default_rng(seed)
        self.W = (weight_scale * rng.standard_normal((n_visible, n_hidden))).astype(dtype)
        self.visible_bias = np.zeros(n_visible, dtype=dtype)
        self.hidden_bias = np.zeros(n_hidden, dtype=dtype)

    # --- shape -----------------------------------------------------------------------------
    @property
    def n_visible(self) -> int:
        return self.W.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.W.shape[1]

    def parameter_arrays(self) -> dict[str, np.ndarray]:
        """The arrays training updates, by name, in the order of the gradient's fields (the
        interface every annealrbm model offers: optimisers, averaging and checkpoints use it)."""
        return {"W": self.W, "visible_bias": self.visible_bias, "hidden_bias": self.hidden_bias}

    def with_parameters(self, W, visible_bias, hidden_bias) -> "RBM":
        """A model of the same shape with other parameter values (e.g. an average)."""
        return type(self).from_arrays(W, visible_bias, hidden_bias)

    @classmethod
    def from_arrays(cls, W, visible_bias, hidden_bias) -> "RBM":
        """Build an RBM from given parameter arrays (copied, float64, checked)."""
        W = np.array(W)
        dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.float64
        W = W.astype(dtype)
        visible_bias = np.array(visible_bias, dtype=dtype)
        hidden_bias = np.array(hidden_bias, dtype=dtype)
        if W.ndim != 2 or W.shape[0] < 1 or W.shape[1] < 1:
            raise ValueError(f"W must be a non-empty 2-D array, got shape {W.shape}")
        if visible_bias.shape != (W.shape[0],) or hidden_bias.shape != (W.shape[1],):
            raise ValueError(
                f"bias shapes {visible_bias.shape} and {hidden_bias.shape} do not match W {W.shape}"
            )
        for name, array in (("W", W), ("visible_bias", visible_bias), ("hidden_bias", hidden_bias)):
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name} contains NaN or infinite values")
        rbm = cls.__new__(cls)
        rbm.W, rbm.visible_bias, rbm.hidden_bias = W, visible_bias, hidden_bias
        return rbm

    @property
    def dtype(self) -> np.dtype:
        return self.W.dtype

    def astype(self, dtype) -> "RBM":
        """A copy with parameters in `dtype` (float32 or float64)."""
        dtype = _float_dtype(dtype)
        return RBM.from_arrays(self.W.astype(dtype), self.visible_bias.astype(dtype), self.hidden_bias.astype(dtype))

    def copy(self) -> "RBM":
        """An independent copy with equal parameters."""
        return RBM.from_arrays(self.W, self.visible_bias, self.hidden_bias)

    def __repr__(self) -> str:
        return f"RBM(n_visible={self.n_visible}, n_hidden={self.n_hidden})"

    # --- energies ----------------------------------------------------------------------------
    def energy(self, visible, hidden) -> np.ndarray:
        """E(v, h) per row of the batches `visible` and `hidden`."""
        v = check_binary_states(visible, self.n_visible, "visible")
        h = check_binary_states(hidden, self.n_hidden, "hidden")
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"visible has {v.shape[0]} rows but hidden has {h.shape[0]}")
        return -(v @ self.visible_bias) - (h @ self.hidden_bias) - np.einsum("ni,ij,nj->n", v, self.W, h)

    def free_energy(self, visible) -> np.ndarray:
        """F(v) = -a.v - sum_j softplus(b_j + (v^T W)_j), so that p(v) = exp(-F(v)) / Z."""
        v = check_binary_states(visible, self.n_visible, "visible")
        return -(v @ self.visible_bias) - softplus(v @ self.W + self.hidden_bias).sum(axis=1)

    # --- conditionals ------------------------------------------------------------------------
    def _checked(self, states, n_units: int, name: str) -> np.ndarray:
        """Validated 0/1 states in the model's dtype, so float32 models compute in float32."""
        return check_binary_states(states, n_units, name).astype(self.dtype, copy=False)

    def _hidden_logits(self, visible, check: bool) -> np.ndarray:
        """b + v^T W per row, a fresh array the caller may overwrite."""
        v = self._checked(visible, self.n_visible, "visible") if check else visible
        logits = v @ self.W
        logits += self.hidden_bias
        return logits

    def _visible_logits(self, hidden, check: bool) -> np.ndarray:
        """a + W h per row, a fresh array the caller may overwrite."""
        h = self._checked(hidden, self.n_hidden, "hidden") if check else hidden
        logits = h @ self.W.T
        logits += self.visible_bias
        return logits

    def hidden_logits(self, visible, check: bool = True) -> np.ndarray:
        """b_j + (v^T W)_j per row: the hidden units' log-odds given v (a fresh array)."""
        return self._hidden_logits(visible, check)

    def hidden_probs(self, visible, check: bool = True) -> np.ndarray:
        """p(h_j = 1 | v) = sigmoid(b_j + (v^T W)_j), one row per visible state.

        `check=False` skips input validation on hot paths whose input is known to be good.
        """
        return probabilities(self._hidden_logits(visible, check))

    def visible_probs(self, hidden, check: bool = True) -> np.ndarray:
        """p(v_i = 1 | h) = sigmoid(a_i + (W h)_i), one row per hidden state."""
        return probabilities(self._visible_logits(hidden, check))

    def sample_hidden(self, visible, rng: np.random.Generator, check: bool = True) -> np.ndarray:
        """Draw h ~ p(h | v) for each row of `visible`."""
        return sample_from_logits(self._hidden_logits(visible, check), rng)

    def sample_visible(self, hidden, rng: np.random.Generator, check: bool = True) -> np.ndarray:
        """Draw v ~ p(v | h) for each row of `hidden`."""
        return sample_from_logits(self._visible_logits(hidden, check), rng)

    def sample_visible_and_probs(self, hidden, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw v ~ p(v | h) for each row of `hidden` (valid 0/1 states, unchecked: a hot path)
        and return p(v | h) too, as the draw computed it (the SIMD sigmoid in every dtype)."""
        probs = _fast_sigmoid(self._visible_logits(hidden, check=False))
        return bernoulli(probs, rng), probs

    def gibbs_sweeps(
        self, visible: np.ndarray, num_sweeps: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run `num_sweeps` block-Gibbs sweeps (h|v then v|h) on all chains at once.

        Returns the final visible states and p(h | v_final): what a Rao-Blackwellised estimator
        uses; `bernoulli(probs, rng)` draws the hidden states from it when they are wanted.
        `visible` must already be valid 0/1 states (this is a hot path and does not check).
        """
        for _ in range(num_sweeps):
            visible = self.sample_visible(self.sample_hidden(visible, rng, False), rng, False)
        return visible, self.hidden_probs(visible, check=False)

    def reconstruct(self, visible, rng: np.random.Generator) -> np.ndarray:
        """One stochastic up-down pass v -> h ~ p(h|v) -> v' ~ p(v|h)."""
        return self.sample_visible(self.sample_hidden(visible, rng), rng, False)

    # --- the EnergyModel interface on full states (visible then hidden columns) --------------
    @property
    def visible_units_interact(self) -> bool:
        return False

    @property
    def hidden_units_interact(self) -> bool:
        return False

    def energies(self, states: np.ndarray) -> np.ndarray:
        """E(v, h) per row of full states, without input checks, float64."""
        states = np.asarray(states, dtype=np.float64)
        visible, hidden = states[:, :self.n_visible], states[:, self.n_visible:]
        return -(visible @ self.visible_bias) - (hidden @ self.hidden_bias) - np.einsum(
            "ni,ni->n", visible @ self.W.astype(np.float64), hidden)

    def sufficient_statistics(self, states: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """(<v h^T>, <v>, <h>) over the rows of full states (or expected states whose pairs
        factorise), weighted by `weights` (summing to 1) if given, in the model's dtype."""
        states = np.asarray(states, dtype=np.float64)
        weights = np.full(len(states), 1.0 / len(states)) if weights is None else np.asarray(weights, dtype=np.float64)
        visible, hidden = states[:, :self.n_visible], states[:, self.n_visible:]
        return tuple(statistic.astype(self.dtype) for statistic in (
            (visible * weights[:, np.newaxis]).T @ hidden, weights @ visible, weights @ hidden))

    def positive_statistics(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        """(<v h^T>, <v>, <h>) with v the rows of `batch` and h at p(h | v): exact, since the
        hidden units are conditionally independent."""
        batch = np.asarray(batch, dtype=np.float64)
        return self.sufficient_statistics(np.hstack([batch, self.hidden_expectations(batch)]))

    def blocks(self, which: str = "all") -> list[np.ndarray]:
        """The two layers: [visible, hidden] unit indices ('all'), or one of them."""
        layers = {"visible": [np.arange(self.n_visible)], "hidden": [self.n_visible + np.arange(self.n_hidden)]}
        if which == "all":
            return layers["visible"] + layers["hidden"]
        if which not in layers:
            raise ValueError(f"which must be 'all', 'visible' or 'hidden', got {which!r}")
        return layers[which]

    def block_gibbs(self, states: np.ndarray, sweeps: int, rng: np.random.Generator,
                    which: str = "all", betas: np.ndarray | None = None) -> np.ndarray:
        """Block-Gibbs sweeps on full states in place (the layers of `which`, visible first);
        `betas` (a column) tempers each row. The visible-chain form is `gibbs_sweeps`."""
        n_v = self.n_visible
        for _ in range(max(0, sweeps)):
            for block in self.blocks(which):
                if block[0] < n_v:
                    logits = self._visible_logits(states[:, n_v:].astype(self.dtype, copy=False), False)
                else:
                    logits = self._hidden_logits(states[:, :n_v].astype(self.dtype, copy=False), False)
                if betas is not None:
                    logits *= betas
                states[:, block] = bernoulli(_fast_sigmoid(logits), rng)
        return states

    def hidden_expectations(self, visible: np.ndarray) -> np.ndarray:
        """p(h = 1 | v) per row, float64."""
        return expit(np.asarray(visible, dtype=np.float64) @ self.W + self.hidden_bias)

    @property
    def edges(self) -> np.ndarray:
        """Every (visible i, hidden j) pair as units (i, n_visible + j), in the order of W.ravel()."""
        visible, hidden = np.divmod(np.arange(self.n_visible * self.n_hidden), self.n_hidden)
        return np.stack([visible, self.n_visible + hidden], axis=1)

    def to_graph_view(self, arrays) -> tuple[np.ndarray, np.ndarray]:
        """(W, a, b)-shaped arrays as (one value per edge, one per unit)."""
        weights, visible, hidden = arrays
        return np.ravel(weights), np.concatenate([visible, hidden])

    def from_graph_view(self, pairs: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, ...]:
        return pairs.reshape(self.n_visible, self.n_hidden), units[:self.n_visible], units[self.n_visible:]

    def max_abs_field(self) -> float:
        """The largest |local field| any unit can see: |bias| + the sum of its |weights| (from W
        directly, without the graph view's edge list)."""
        visible_field = np.abs(self.visible_bias) + np.abs(self.W).sum(axis=1)
        hidden_field = np.abs(self.hidden_bias) + np.abs(self.W).sum(axis=0)
        return float(max(visible_field.max(), hidden_field.max()))

    # --- BQM ---------------------------------------------------------------------------------
    def to_bqm(self, beta: float = 1.0) -> dimod.BinaryQuadraticModel:
        """The BINARY BQM whose energy is beta * E(v, h); visible variables first, then hidden."""
        return bqm_mapping.rbm_to_bqm(self.W, self.visible_bias, self.hidden_bias, beta)

    # --- files -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Save to .npz atomically, with a format name, version and SHA-256 of the parameters; no pickle."""
        parameters = self.parameter_arrays()
        return save_npz(path, {
            "format": np.array(FORMAT_NAME),
            "format_version": np.array(FORMAT_VERSION),
            "sha256": np.array(content_digest(parameters)),
            **parameters,
        })

    @classmethod
    def load(cls, path: str | os.PathLike) -> "RBM":
        """Load a model saved by `save`; never unpickles; ValueError on anything malformed or
        failing its checksum (files of format 1, without one, still load)."""
        arrays = load_npz(path, ("format", "format_version", "W", "visible_bias", "hidden_bias"), "RBM model")
        if str(arrays["format"]) != FORMAT_NAME:
            raise ValueError(f"{path} is not an annealrbm model file (format {arrays['format']!s})")
        version = int(arrays["format_version"])
        if version > FORMAT_VERSION:
            raise ValueError(
                f"{path} has model format version {version}; this annealrbm reads up to "
                f"{FORMAT_VERSION}: upgrade annealrbm"
            )
        parameters = {key: arrays[key] for key in ("W", "visible_bias", "hidden_bias")}
        if version >= 2 and ("sha256" not in arrays or str(arrays["sha256"]) != content_digest(parameters)):
            raise ValueError(f"{path} fails its checksum: the parameters were edited or corrupted")
        return cls.from_arrays(**parameters)
