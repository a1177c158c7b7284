"""Fixtures shared by the tests; helper functions live in helpers.py."""
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
