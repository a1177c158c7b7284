"""Small binary datasets with exactly known structure, and a loader by name."""
from __future__ import annotations

import re

import numpy as np

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


def load(name: str) -> np.ndarray:
    """A dataset by name: 'patterns20' or 'bars-and-stripes-N' (also 'basN')."""
    if name == "patterns20":
        return patterns20()
    match = re.fullmatch(r"(?:bars-and-stripes-|bas)(\d+)", name)
    if match:
        return bars_and_stripes(int(match.group(1)))
    raise ValueError(f"unknown dataset {name!r}; choose patterns20 or bars-and-stripes-N (e.g. bars-and-stripes-3)")


NAMES = ("patterns20", "bars-and-stripes-N")
