"""Deep belief networks: a stack of RBMs trained greedily, one layer at a time (Hinton, Osindero
& Teh 2006). Each RBM learns the distribution of the hidden states the layer below produces
from the data; the top RBM is the DBN's undirected prior, the layers below are directed
generative connections p(layer | layer above).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from annealrbm.fileio import content_digest, load_npz, save_npz
from annealrbm.models.rbm import RBM, bernoulli
from annealrbm.validation import check_binary_states, check_positive_int

FORMAT_NAME = "annealrbm.DBN"
FORMAT_VERSION = 1


class DBN:
    """DBN(layer_sizes=[n_visible, n_h1, n_h2, ...]).fit(data, backend=..., epochs=...)

    `fit` trains one RBM per pair of consecutive layers with annealrbm's Trainer (any RBM
    backend: 'pcd', 'sa', 'exact', a dimod sampler, ...); the input of layer k+1 is a sample of
    the hidden units of layer k given its input. `transform` gives the top layer's
    activation probabilities (an up pass of p(h | v)); `sample` draws visible states from the
    generative model (Gibbs sampling in the top RBM, then a down pass).
    """

    model_type = "dbn"

    def __init__(self, layer_sizes, seed: int | None = None) -> None:
        sizes = [check_positive_int(size, "layer size") for size in layer_sizes]
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes must list at least two layers, got {layer_sizes!r}")
        self.layer_sizes = sizes
        self.seed = seed
        seeds = np.random.SeedSequence(seed).spawn(len(sizes) - 1)
        self.rbms = [RBM(n_in, n_out, seed=np.random.default_rng(s))
                     for n_in, n_out, s in zip(sizes[:-1], sizes[1:], seeds)]

    @property
    def n_visible(self) -> int:
        return self.layer_sizes[0]

    def fit(self, data, backend: Any = "pcd", epochs: int = 50, **trainer_options) -> "DBN":
        """Train the layers bottom-up on `data` (examples x n_visible, 0/1); returns self.
        `trainer_options` go to every layer's Trainer (batch_size, learning_rate, ...)."""
        from annealrbm.training.trainer import Trainer  # the trainer imports the models package

        inputs = check_binary_states(data, self.n_visible, "data")
        rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(len(self.rbms) + 1)[-1])
        options = {"progress": False, "evaluate": False, **trainer_options}
        self.histories = []
        for index, rbm in enumerate(self.rbms):
            layer_seed = None if self.seed is None else self.seed + index
            trainer = Trainer(rbm, backend=backend, epochs=epochs, seed=layer_seed, **options)
            self.histories.append(trainer.fit(inputs))
            if index + 1 < len(self.rbms):
                inputs = bernoulli(rbm.hidden_probs(inputs.astype(rbm.dtype)), rng).astype(np.float64)
        return self

    def transform(self, data) -> np.ndarray:
        """Top-layer probabilities of an up pass (each layer's p(h | layer below) on the
        probabilities of the layer below): features for a classifier."""
        activations = check_binary_states(data, self.n_visible, "data")
        for rbm in self.rbms:
            activations = rbm.hidden_probs(activations.astype(rbm.dtype), check=False)
        return np.asarray(activations, dtype=np.float64)

    def sample(self, num_samples: int, rng: np.random.Generator, gibbs_sweeps: int = 1000) -> np.ndarray:
        """Visible states from the generative model: `gibbs_sweeps` sweeps of the top RBM from
        random states, then a down pass v_k ~ p(v_k | h_k) through the lower layers."""
        num_samples = check_positive_int(num_samples, "num_samples")
        top = self.rbms[-1]
        states = (rng.random((num_samples, top.n_visible)) < 0.5).astype(top.dtype)
        states, _ = top.gibbs_sweeps(states, gibbs_sweeps, rng)
        for rbm in reversed(self.rbms[:-1]):
            states = rbm.sample_visible(states.astype(rbm.dtype), rng, check=False)
        return np.asarray(states, dtype=np.float64)

    def __repr__(self) -> str:
        return f"DBN(layer_sizes={self.layer_sizes})"

    def save(self, path: str | os.PathLike) -> Path:
        """Save all layers to one .npz atomically, with a checksum; no pickle."""
        arrays = {"layer_sizes": np.array(self.layer_sizes)}
        for index, rbm in enumerate(self.rbms):
            arrays.update({f"{index}/W": rbm.W, f"{index}/visible_bias": rbm.visible_bias,
                           f"{index}/hidden_bias": rbm.hidden_bias})
        return save_npz(path, {"format": np.array(FORMAT_NAME), "format_version": np.array(FORMAT_VERSION),
                               "model_type": np.array(self.model_type), "sha256": np.array(content_digest(arrays)),
                               **arrays})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "DBN":
        arrays = load_npz(path, ("format", "format_version", "sha256", "layer_sizes"), "DBN")
        if str(arrays["format"]) != FORMAT_NAME:
            raise ValueError(f"{path} is not an annealrbm DBN file (format {arrays['format']!s})")
        stored = {key: value for key, value in arrays.items() if key not in ("format", "format_version", "model_type", "sha256")}
        if str(arrays["sha256"]) != content_digest(stored):
            raise ValueError(f"{path} fails its checksum: the parameters were edited or corrupted")
        model = cls([int(size) for size in stored["layer_sizes"]])
        for index in range(len(model.rbms)):
            try:
                model.rbms[index] = RBM.from_arrays(*(stored[f"{index}/{name}"] for name in ("W", "visible_bias", "hidden_bias")))
            except KeyError as missing:
                raise ValueError(f"{path} is not a valid DBN file: missing layer array {missing}") from None
        return model
