import numpy as np
import pytest

from annealrbm import datasets


def test_patterns20_are_four_distinct_20_bit_vectors():
    data = datasets.patterns20()
    assert data.shape == (4, 20)
    assert set(np.unique(data)) == {0.0, 1.0}
    distances = (data[:, None, :] != data[None, :, :]).sum(axis=2)
    assert distances[np.triu_indices(4, 1)].min() >= 8


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_bars_and_stripes_has_every_pattern_once(n):
    data = datasets.bars_and_stripes(n)
    assert data.shape == (2 ** (n + 1) - 2, n * n)
    assert len(np.unique(data, axis=0)) == len(data)
    images = data.reshape(-1, n, n)
    rows_equal = (images == images[:, :1, :]).all(axis=(1, 2))
    cols_equal = (images == images[:, :, :1]).all(axis=(1, 2))
    assert np.all(rows_equal | cols_equal)
    assert rows_equal.sum() == 2**n and cols_equal.sum() == 2**n  # all-off/all-on are in both


def test_load_by_name():
    np.testing.assert_array_equal(datasets.load("bars-and-stripes-3"), datasets.bars_and_stripes(3))
    np.testing.assert_array_equal(datasets.load("bas2"), datasets.bars_and_stripes(2))
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.load("mnist-typo")
    with pytest.raises(ValueError, match="size"):
        datasets.bars_and_stripes(1)
