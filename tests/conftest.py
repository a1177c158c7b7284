import numpy as np
import pytest

from annealrbm import RBM
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


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
