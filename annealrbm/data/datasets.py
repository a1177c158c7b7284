"""Small binary datasets with exactly known structure, and a loader by name."""
from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np

from annealrbm.validation import check_binary_states

# The four training vectors of the 20-dimensional pattern experiment. Chosen to be distinct,
# at least 8 bits apart from each other, and neither all-on nor all-off:
#   0: left half on     1: alternating bits     2: blocks of two     3: an irregular pattern
_PATTERNS20 = np.array(
    [
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0],
        [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1],
    ],
    dtype=np.float64,
)


def patterns20() -> np.ndarray:
    """The four distinct 20-bit training patterns of the classic experiment (4 x 20, 0/1)."""
    return _PATTERNS20.copy()


def random_patterns(seed: int, n_patterns: int = 4, n_visible: int = 20) -> np.ndarray:
    """`n_patterns` distinct random `n_visible`-bit patterns (0/1, each bit on with p = 1/2),
    the same for the same seed: the random four-pattern sets the defaults are measured on."""
    if not 1 <= n_patterns <= 2**min(n_visible, 62):
        raise ValueError(f"cannot draw {n_patterns} distinct patterns of {n_visible} bits")
    rng = np.random.default_rng(seed)
    while True:
        data = (rng.random((n_patterns, n_visible)) < 0.5).astype(float)
        if len(np.unique(data, axis=0)) == n_patterns:
            return data


def bars_and_stripes(n: int = 4) -> np.ndarray:
    """All distinct n x n bars-and-stripes images, flattened row-major: 2^(n+1) - 2 rows of n*n bits.

    Each image has every row equal (stripes) or every column equal (bars); the all-off and
    all-on images belong to both families and appear once.
    """
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"bars-and-stripes size must be a whole number >= 2, got {n!r}")
    codes = ((np.arange(1 << n)[:, np.newaxis] >> np.arange(n)) & 1).astype(np.float64)
    stripes = np.repeat(codes, n, axis=1)  # row r of the image is codes[:, r]
    bars = np.tile(codes, n)  # column c of the image is codes[:, c]
    return np.unique(np.vstack([stripes, bars]), axis=0)


def digits(test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (bundled, no download), binarised at 8/16, fixed train/test split.

    Returns (train, test) as 0/1 float arrays with 64 columns; the split is a seeded
    permutation (1438 train, 359 test by default).
    """
    from sklearn.datasets import load_digits

    images = (load_digits().data >= 8).astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = int(round(test_fraction * len(images)))
    return images[order[n_test:]], images[order[:n_test]]


def load_binarized_mnist(path: str | os.PathLike, split: str = "train") -> np.ndarray:
    """Binarized MNIST from a local file: an .npz (bit-packed rows plus `n_features`, as in
    shared/datasets, or plain 0/1 arrays) holding `split`, or a Larochelle-style .amat text
    file (one image per line, 784 values separated by spaces)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"data file not found: {path}")
    if path.suffix == ".amat":
        try:
            data = np.loadtxt(path, dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise ValueError(f"{path} is not a whitespace-separated .amat text file: {exc}") from None
    else:
        try:
            with np.load(path, allow_pickle=False) as archive:
                if split not in archive.files:
                    raise ValueError(f"{path} has no split {split!r}; it has {', '.join(archive.files)}")
                data = archive[split]
                if data.dtype == np.uint8 and "n_features" in archive.files:  # bit-packed rows
                    data = np.unpackbits(data, axis=1, count=int(archive["n_features"]))
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path} is not a readable .npz file: {exc}") from None
        data = np.ascontiguousarray(data, dtype=np.float64)  # unpackbits' rows are strided
    if data.ndim != 2 or data.size == 0:
        raise ValueError(f"{path}: expected a 2-D array of images, got shape {data.shape}")
    if np.any((data != 0) & (data != 1)):
        raise ValueError(f"{path}: values outside {{0, 1}}; binarize the images first")
    return data


def load_splits(name: str, data_path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) for a named dataset. patterns20 and bars-and-stripes have no held-out
    set (the training set is returned twice); digits uses its fixed split; mnist reads
    `data_path` (train and valid splits, or a train .amat with its _valid/_test sibling)."""
    if name == "digits":
        return digits()
    if name == "mnist":
        if data_path is None:
            from annealrbm.data.fetch import cached_mnist_path

            data_path = cached_mnist_path()
            if not data_path.exists():
                raise ValueError(f"binarized MNIST is not in the cache ({data_path}): run `annealrbm data fetch mnist` "
                                 "once, or pass --data PATH (binarized_mnist.npz or binarized_mnist_train.amat)")
        path = Path(data_path)
        if path.suffix == ".amat":
            held_out = path.with_name(path.name.replace("train", "valid"))
            return load_binarized_mnist(path), load_binarized_mnist(held_out)
        return load_binarized_mnist(path, "train"), load_binarized_mnist(path, "valid")
    data = load(name)
    return data, data


def load_file(path: str | os.PathLike, key: str | None = None) -> np.ndarray:
    """A user's 0/1 data from a .npy file or an .npz archive (the array `key`; by default the
    only array, else 'data' or 'train'), checked: 2-D, non-empty, finite, values in {0, 1}.

    Never unpickles: object arrays are refused. Bit-packed .npz files with `n_features`
    (as in shared/datasets) are unpacked.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data file not found: {path}")
    if path.suffix == ".amat":
        return load_binarized_mnist(path)
    if path.suffix not in (".npy", ".npz"):
        raise ValueError(f"{path}: data files must be .npy or .npz (or .amat), got {path.suffix or 'no suffix'!r}")
    try:
        if path.suffix == ".npy":
            if key is not None:
                raise ValueError(f"{path} is a .npy file with a single array: drop the key {key!r}")
            data = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as archive:
                names = [name for name in archive.files if name != "n_features"]
                if key is None:
                    key = names[0] if len(names) == 1 else next((n for n in ("data", "train") if n in names), None)
                    if key is None:
                        raise ValueError(f"{path} holds {', '.join(names) or 'no arrays'}: name the array to use "
                                         "(--data-key KEY)")
                data = load_binarized_mnist(path, key)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} is not a readable data file (truncated or not numpy's format): {exc}") from None
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise ValueError(f"{path} holds pickled objects, which annealrbm never loads; save plain 0/1 arrays") from None
        raise
    if data.dtype.kind not in "biuf":
        raise ValueError(f"{path}: data must be numeric 0/1 values, got dtype {data.dtype}")
    if data.ndim != 2:
        raise ValueError(f"{path}: data must be a 2-D array (examples x units), got shape {data.shape}")
    return check_binary_states(data, data.shape[1], str(path))


def image_shape(name: str, n_visible: int) -> tuple[int, int] | None:
    """The 2-D shape to draw a dataset's vectors as images, or None if they are not images."""
    side = int(round(np.sqrt(n_visible)))
    if name == "patterns20" or side * side != n_visible:
        return None
    return side, side


def load(name: str) -> np.ndarray:
    """A dataset by name: 'patterns20' or 'bars-and-stripes-N' (also 'basN')."""
    if name == "patterns20":
        return patterns20()
    match = re.fullmatch(r"(?:bars-and-stripes-|bas)(\d+)", name)
    if match:
        return bars_and_stripes(int(match.group(1)))
    if name in SPLIT_NAMES:
        raise ValueError(f"dataset {name!r} has train and held-out splits: use load_splits({name!r}, ...)")
    raise ValueError(
        f"unknown dataset {name!r}; choose patterns20, bars-and-stripes-N (e.g. bars-and-stripes-3), "
        "digits or mnist (with --data PATH)"
    )


NAMES = ("patterns20", "bars-and-stripes-N", "digits", "mnist")
SPLIT_NAMES = ("digits", "mnist")  # the datasets that come with a held-out split
