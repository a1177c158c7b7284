"""Energy models over binary units: the RBM (`rbm`, with its fused fast paths), and
Boltzmann machines on any graph, deep Boltzmann machines and deep belief networks.

Every model offers `to_bqm(beta)` (visible variables first, then hidden), `free_energy`,
`reconstruct`, `states_from_sampleset`, `save`/`load`; the Boltzmann machines add named
parameters, sufficient statistics, blocks of conditionally independent units and clamped
(positive-phase) expectations, which the Trainer and the sampler backends use.
"""
from __future__ import annotations

import os

from annealrbm.fileio import load_npz
from annealrbm.models.rbm import RBM
from annealrbm.models.bm import BoltzmannMachine
from annealrbm.models.dbm import DBM
from annealrbm.models.dbn import DBN

MODEL_TYPES = {cls.model_type: cls for cls in (BoltzmannMachine, DBM, DBN)}


MODEL_KINDS = ("rbm", "semi-restricted", "fully-connected", "dbm")


def build_model(kind: str, n_visible: int, hidden, seed=None, dtype=None):
    """A fresh model of `kind` (MODEL_KINDS) with `hidden` hidden units (an int, or for a DBM
    a list of hidden layer sizes, e.g. [500, 100])."""
    layers = [int(size) for size in (hidden if isinstance(hidden, (list, tuple)) else [hidden])]
    if kind == "dbm":
        return DBM([n_visible, *layers], seed=seed, **({} if dtype is None else {"dtype": dtype}))
    if len(layers) != 1:
        raise ValueError(f"the {kind} model has one hidden layer; several hidden layer sizes are for a DBM (--model dbm)")
    if kind == "rbm":
        return RBM(n_visible, layers[0], seed=seed, dtype=dtype)
    constructors = {"semi-restricted": BoltzmannMachine.semi_restricted, "fully-connected": BoltzmannMachine.fully_connected}
    if kind not in constructors:
        raise ValueError(f"unknown model kind {kind!r}; choose from {', '.join(MODEL_KINDS)}")
    return constructors[kind](n_visible, layers[0], seed=seed, **({} if dtype is None else {"dtype": dtype}))


def load_model(path: str | os.PathLike):
    """Load any saved annealrbm model (RBM, BoltzmannMachine, DBM, DBN) by the type stored in the file."""
    arrays = load_npz(path, ("format",), "annealrbm model")
    if "model_type" not in arrays:
        return RBM.load(path)
    model_type = str(arrays["model_type"])
    if model_type not in MODEL_TYPES:
        raise ValueError(f"{path} holds an unknown model type {model_type!r}; known: {', '.join(MODEL_TYPES)}")
    return MODEL_TYPES[model_type].load(path)


__all__ = ["RBM", "BoltzmannMachine", "DBM", "DBN", "build_model", "load_model", "MODEL_KINDS", "MODEL_TYPES"]
