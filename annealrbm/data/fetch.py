"""`annealrbm data fetch mnist`: download the standard binarized MNIST into a cache directory.

The files are Larochelle's fixed binarisation (`binarized_mnist_{train,valid,test}.amat`, the
splits of the published RBM likelihoods: 50,000 / 10,000 / 10,000 images). Each split is
parsed and checked against the SHA-256 of its bit-packed rows before anything is stored; the
result is one bit-packed .npz (rows of 98 bytes plus `n_features`), the format
`datasets.load_binarized_mnist` reads, written atomically. A failed, interrupted or corrupted
download leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np

from annealrbm.fileio import save_npz

MNIST_URL = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
SPLITS = ("train", "valid", "test")
N_FEATURES = 784
# SHA-256 of np.packbits(split, axis=1).tobytes() for the reference copy of each split
MNIST_SHA256 = {
    "train": "727146c35424b019f3e350e1e69faa05644a0abaf787e3f4e1a9632220a13906",
    "valid": "a256ac44ae26be720fad8616a05ed6ecfd1619930d9a208379bb2a4405df5b6d",
    "test": "9fcd8da6f0fdf09b2ba30fe63a0bb784042a0de82563172530229b983e294ff2",
}


def data_dir() -> Path:
    """ANNEALRBM_DATA_DIR, else $XDG_CACHE_HOME/annealrbm/data, else ~/.cache/annealrbm/data."""
    if os.environ.get("ANNEALRBM_DATA_DIR"):
        return Path(os.environ["ANNEALRBM_DATA_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "annealrbm" / "data"


def cached_mnist_path(directory: Path | None = None) -> Path:
    return (directory or data_dir()) / "binarized_mnist.npz"


def packed_digest(images: np.ndarray) -> str:
    return hashlib.sha256(np.packbits(images.astype(np.uint8), axis=1).tobytes()).hexdigest()


def _download(url: str, target: Path, timeout: float, progress: Callable[[int, int | None], None] | None) -> None:
    """Stream `url` into `target`; ValueError if the connection fails or ends early."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
            expected = response.headers.get("Content-Length")
            expected = int(expected) if expected is not None else None
            received = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                received += len(chunk)
                if progress:
                    progress(received, expected)
    except (OSError, ValueError) as exc:  # URLError, timeouts, a connection cut mid-transfer
        raise ValueError(f"downloading {url} failed: {exc}") from None
    if expected is not None and received != expected:
        raise ValueError(f"downloading {url} was cut short: {received} of {expected} bytes")


def _parse_amat(path: Path, url: str) -> np.ndarray:
    try:
        images = np.loadtxt(path, dtype=np.uint8, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{url} is not a whitespace-separated .amat file of 0/1 values: {exc}") from None
    if images.shape[1:] != (N_FEATURES,) or images.max(initial=0) > 1:
        raise ValueError(f"{url}: expected rows of {N_FEATURES} binary pixels, got shape {images.shape}")
    return images


def fetch_mnist(directory: Path | None = None, url: str = MNIST_URL, expected_sha256: dict[str, str] | None = None,
                timeout: float = 60.0, force: bool = False,
                progress: Callable[[str, int, int | None], None] | None = None) -> Path:
    """Download, check and store binarized MNIST; returns the .npz path (kept if already there)."""
    target = cached_mnist_path(directory)
    if target.exists() and not force:
        return target
    digests = MNIST_SHA256 if expected_sha256 is None else expected_sha256
    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for split in SPLITS:
            source = f"{url.rstrip('/')}/binarized_mnist_{split}.amat"
            local = Path(scratch) / f"{split}.amat"
            _download(source, local, timeout, (lambda done, total, s=split: progress(s, done, total)) if progress else None)
            images = _parse_amat(local, source)
            digest = packed_digest(images)
            if digest != digests[split]:
                raise ValueError(f"{source} fails its checksum (sha256 of the packed images {digest[:12]}..., "
                                 f"expected {digests[split][:12]}...): a different or damaged file; nothing was stored")
            arrays[split] = np.packbits(images, axis=1)
    target.parent.mkdir(parents=True, exist_ok=True)
    return save_npz(target, {**arrays, "n_features": np.array(N_FEATURES)})
