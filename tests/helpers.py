"""Helpers shared by the tests: reference models and brute-force enumeration.

Test modules import them (`from helpers import ...`); conftest.py holds only fixtures."""
import functools

import numpy as np

from annealrbm import RBM
from annealrbm.data.datasets import random_patterns
from annealrbm.metrics import all_binary_states


def random_rbm(n_visible: int, n_hidden: int, seed: int, scale: float = 1.0) -> RBM:
    """An RBM with O(1) random parameters: far from uniform, so mistakes show."""
    rng = np.random.default_rng(seed)
    return RBM.from_arrays(
        scale * rng.standard_normal((n_visible, n_hidden)),
        scale * rng.standard_normal(n_visible),
        scale * rng.standard_normal(n_hidden),
    )


def brute_force_joint(rbm: RBM):
    """All (v, h) states with their exact probabilities, by enumerating both layers."""
    states = all_binary_states(rbm.n_visible + rbm.n_hidden)
    visible, hidden = states[:, : rbm.n_visible], states[:, rbm.n_visible :]
    energies = rbm.energy(visible, hidden)
    log_z = np.log(np.sum(np.exp(-(energies - energies.min())))) - energies.min()
    return visible, hidden, np.exp(-energies - log_z), log_z


@functools.lru_cache(maxsize=None)
def _exactly_trained(pattern_seed: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from annealrbm import Trainer

    rbm = RBM(20, 8, seed=seed)
    Trainer(rbm, backend="exact", epochs=200, seed=seed, progress=False, evaluate=False).fit(random_patterns(pattern_seed))
    return rbm.W, rbm.visible_bias, rbm.hidden_bias


def exactly_trained(pattern_seed: int, seed: int = 0) -> RBM:
    """A sharp 20x8 model: the exact gradient's fit to a random four-pattern set (cached)."""
    return RBM.from_arrays(*_exactly_trained(pattern_seed, seed))
