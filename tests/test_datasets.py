import numpy as np
import pytest

from annealrbm.data import datasets


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


def test_digits_are_binarised_with_a_fixed_split():
    train, test = datasets.digits()
    assert train.shape == (1438, 64) and test.shape == (359, 64)
    again_train, _ = datasets.digits()
    np.testing.assert_array_equal(train, again_train)
    assert set(np.unique(train)) == {0.0, 1.0}


def test_mnist_from_packed_npz_plain_npz_and_amat(tmp_path):
    rng = np.random.default_rng(0)
    images = (rng.random((7, 784)) < 0.2).astype(np.uint8)
    valid = (rng.random((3, 784)) < 0.2).astype(np.uint8)
    np.savez(tmp_path / "packed.npz", train=np.packbits(images, axis=1), valid=np.packbits(valid, axis=1),
             n_features=np.array(784))
    train, held_out = datasets.load_splits("mnist", tmp_path / "packed.npz")
    np.testing.assert_array_equal(train, images)
    np.testing.assert_array_equal(held_out, valid)
    assert train.flags.c_contiguous  # rows are gathered every epoch
    np.savez(tmp_path / "plain.npz", train=images.astype(float), valid=valid.astype(float))
    np.testing.assert_array_equal(datasets.load_splits("mnist", tmp_path / "plain.npz")[0], images)
    np.savetxt(tmp_path / "binarized_mnist_train.amat", images, fmt="%d")
    np.savetxt(tmp_path / "binarized_mnist_valid.amat", valid, fmt="%d")
    train, held_out = datasets.load_splits("mnist", tmp_path / "binarized_mnist_train.amat")
    np.testing.assert_array_equal(train, images)
    np.testing.assert_array_equal(held_out, valid)


def test_mnist_errors_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNEALRBM_DATA_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(ValueError, match="annealrbm data fetch mnist"):
        datasets.load_splits("mnist")
    with pytest.raises(ValueError, match="not found"):
        datasets.load_splits("mnist", tmp_path / "absent.npz")
    np.savez(tmp_path / "gray.npz", train=np.full((2, 4), 0.5), valid=np.zeros((1, 4)))
    with pytest.raises(ValueError, match="binarize"):
        datasets.load_splits("mnist", tmp_path / "gray.npz")


def test_random_patterns_are_distinct_binary_and_fixed_by_the_seed():
    data = datasets.random_patterns(1004)
    assert data.shape == (4, 20) and set(np.unique(data)) <= {0.0, 1.0}
    assert len(np.unique(data, axis=0)) == 4
    np.testing.assert_array_equal(data, datasets.random_patterns(1004))
    assert not np.array_equal(data, datasets.random_patterns(1005))
    assert len(np.unique(datasets.random_patterns(0, n_patterns=8, n_visible=3), axis=0)) == 8  # every 3-bit state
    with pytest.raises(ValueError, match="cannot draw 9 distinct patterns of 3 bits"):
        datasets.random_patterns(0, n_patterns=9, n_visible=3)
