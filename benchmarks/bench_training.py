"""One CD-1 / PCD-1 epoch on binarized MNIST (784x500, batch 100): annealrbm beside
scikit-learn's BernoulliRBM and beside numpy's float32 matrix-multiply floor for the same FLOPs,
measured in one run on the same machine.

    python benchmarks/bench_training.py --data ../shared/datasets/binarized_mnist.npz [--examples 10000]
        [--likelihood EPOCHS]

The floor counts the products one update really does: CD-1 five (p(h|data), p(v|h), p(h|v'),
and the two v^T h statistics), PCD-1 six (p(h|data) and a full sweep on the chains).
--likelihood trains scikit-learn's PCD-1 and annealrbm's CD-1 and PCD-1 (float32; with
scikit-learn's algorithm, plain SGD at 0.1, and with Adam at 1e-3) for EPOCHS epochs on the same
examples and prints the validation log-likelihood of each by the same AIS.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from annealrbm import RBM, Trainer, datasets, metrics

# Adam at 1e-3 (annealrbm's advice for large data) and scikit-learn's own algorithm: plain SGD at 0.1
OPTIMIZERS = {"adam": {"learning_rate": 1e-3}, "sgd": {"optimizer": "sgd", "momentum": 0.0, "learning_rate": 0.1}}


def make_trainer(backend: str, dtype, epochs: int, optimizer: str) -> Trainer:
    rbm = RBM(784, 500, seed=0, dtype=dtype)
    return Trainer(rbm, backend=backend, epochs=epochs, batch_size=100, seed=0, progress=False, evaluate=False,
                   backend_options={"num_chains": 100} if backend == "pcd" else None, **OPTIMIZERS[optimizer])


def epoch_seconds(backend: str, data: np.ndarray, dtype, optimizer: str = "adam") -> float:
    trainer = make_trainer(backend, dtype, 1, optimizer)
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
    """Time of `matmuls_per_batch` bare float32 products of a 784x500 update's shapes per batch
    (100x784 by 784x500, 100x500 by 500x784 and the 784x100 by 100x500 statistics)."""
    rng = np.random.default_rng(0)
    v = rng.random((100, 784), dtype=np.float32)
    w = rng.random((784, 500), dtype=np.float32)
    h = rng.random((100, 500), dtype=np.float32)
    shapes = [lambda: v @ w, lambda: h @ w.T, lambda: v.T @ h]
    start = time.perf_counter()
    for _ in range(num_batches):
        for k in range(matmuls_per_batch):
            shapes[k % 3]()
    return time.perf_counter() - start


def train_annealrbm(backend: str, data: np.ndarray, epochs: int, optimizer: str) -> RBM:
    trainer = make_trainer(backend, np.float32, epochs, optimizer)
    trainer.fit(data)
    return trainer.rbm


def train_sklearn(data: np.ndarray, epochs: int) -> RBM:
    from sklearn.neural_network import BernoulliRBM

    model = BernoulliRBM(n_components=500, batch_size=100, n_iter=epochs, random_state=0).fit(data)
    return RBM.from_arrays(model.components_.T, model.intercept_visible_, model.intercept_hidden_)


def likelihood_comparison(train: np.ndarray, valid: np.ndarray, epochs: int) -> None:
    """Validation log-likelihood after the same epochs, every model's log Z by the same AIS."""
    print(f"\nvalidation log-likelihood after {epochs} epochs on {len(train)} examples "
          f"(AIS 100 chains x 14500 betas, both starts; {len(valid)} validation examples)")
    models = {"sklearn BernoulliRBM (PCD-1, SGD 0.1)": lambda: train_sklearn(train, epochs)}
    for backend in ("cd", "pcd"):
        for optimizer, label in (("sgd", "SGD 0.1"), ("adam", "Adam 1e-3")):
            models[f"annealrbm {backend}-1 float32 ({label})"] = (
                lambda backend=backend, optimizer=optimizer: train_annealrbm(backend, train, epochs, optimizer))
    for name, make in models.items():
        start = time.perf_counter()
        rbm = make().astype(np.float64)
        trained = time.perf_counter() - start
        log_z, error = metrics.ais_log_partition_function(rbm, train, seed=0)
        ll = float(np.mean(-rbm.free_energy(valid))) - log_z
        print(f"{name:<40} LL {ll:9.2f} nats (log Z {log_z:.2f} +- {error:.2f}), trained in {trained:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/datasets/binarized_mnist.npz")
    parser.add_argument("--examples", type=int, default=10000)
    parser.add_argument("--likelihood", type=int, metavar="EPOCHS", default=0,
                        help="also compare validation log-likelihoods after EPOCHS epochs (minutes)")
    args = parser.parse_args()
    data = datasets.load_binarized_mnist(args.data)[: args.examples]
    batches = len(data) // 100
    print(f"{time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores  {len(data)} examples, batch 100, 784x500")
    sk = sklearn_epoch_seconds(data)
    floors = {"cd": matmul_floor_seconds(batches, 5), "pcd": matmul_floor_seconds(batches, 6)}
    print(f"{'':<22} {'s/epoch':>8} {'vs sklearn':>11} {'matmul floor share':>19}")
    print(f"{'sklearn BernoulliRBM':<22} {sk:>8.2f} {1.0:>10.2f}x")
    for backend in ("cd", "pcd"):
        for dtype, optimizer in ((np.float64, "adam"), (np.float32, "adam"), (np.float32, "sgd")):
            seconds = epoch_seconds(backend, data, dtype, optimizer)
            label = f"{backend} {np.dtype(dtype).name} {optimizer}"
            print(f"{label:<22} {seconds:>8.2f} {sk / seconds:>10.2f}x {floors[backend] / seconds:>18.0%}")
    for backend, products in (("cd", 5), ("pcd", 6)):
        print(f"{'floor ' + backend:<22} {floors[backend]:>8.2f}   ({products} float32 products of the update's shapes per batch)")
    if args.likelihood:
        valid = datasets.load_binarized_mnist(args.data, "valid")[:2000]
        likelihood_comparison(data, valid, args.likelihood)


if __name__ == "__main__":
    main()
