"""One CD-1 / PCD-1 epoch on binarized MNIST (784x500, batch 100): annealrbm beside
scikit-learn's BernoulliRBM and beside numpy's float32 matrix-multiply floor for the same FLOPs,
measured in one run on the same machine.

    python benchmarks/bench_training.py --data ../shared/datasets/binarized_mnist.npz [--examples 10000]
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from annealrbm import RBM, Trainer, datasets


def epoch_seconds(backend: str, data: np.ndarray, dtype) -> float:
    rbm = RBM(784, 500, seed=0, dtype=dtype)
    trainer = Trainer(rbm, backend=backend, epochs=1, batch_size=100, learning_rate=1e-3, seed=0,
                      progress=False, evaluate=False, backend_options={"num_chains": 100} if backend == "pcd" else None)
    start = time.perf_counter()
    trainer.fit(data)
    return time.perf_counter() - start


def sklearn_epoch_seconds(data: np.ndarray) -> float:
    from sklearn.neural_network import BernoulliRBM

    model = BernoulliRBM(n_components=500, batch_size=100, n_iter=1, learning_rate=0.05, random_state=0)
    start = time.perf_counter()
    model.fit(data)
    return time.perf_counter() - start


def matmul_floor_seconds(num_batches: int, matmuls_per_batch: int) -> float:
    """Time of the bare float32 products a CD-1 update needs (100x784 by 784x500 and alike)."""
    rng = np.random.default_rng(0)
    v = rng.random((100, 784), dtype=np.float32)
    w = rng.random((784, 500), dtype=np.float32)
    h = rng.random((100, 500), dtype=np.float32)
    start = time.perf_counter()
    for _ in range(num_batches):
        for k in range(matmuls_per_batch // 2):
            (v @ w) if k % 2 == 0 else (h @ w.T)
            v.T @ h
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/datasets/binarized_mnist.npz")
    parser.add_argument("--examples", type=int, default=10000)
    args = parser.parse_args()
    data = datasets.load_binarized_mnist(args.data)[: args.examples]
    batches = len(data) // 100
    print(f"{time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores  {len(data)} examples, batch 100, 784x500")
    sk = sklearn_epoch_seconds(data)
    floor = matmul_floor_seconds(batches, 6)
    print(f"{'':<22} {'s/epoch':>8} {'vs sklearn':>11} {'matmul floor share':>19}")
    print(f"{'sklearn BernoulliRBM':<22} {sk:>8.2f} {1.0:>10.2f}x")
    for backend in ("cd", "pcd"):
        for dtype in (np.float64, np.float32):
            seconds = epoch_seconds(backend, data, dtype)
            print(f"{backend + ' ' + np.dtype(dtype).name:<22} {seconds:>8.2f} {sk / seconds:>10.2f}x {floor / seconds:>18.0%}")
    print(f"{'float32 matmul floor':<22} {floor:>8.2f}   (6 products of the update's shapes per batch)")


if __name__ == "__main__":
    main()
