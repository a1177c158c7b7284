"""One CD-1 / PCD-1 epoch on binarized MNIST (784x500, batch 100): annealrbm beside
scikit-learn's BernoulliRBM and beside numpy's float32 matrix-multiply floor for the same FLOPs,
measured in one run on the same machine.

    python benchmarks/bench_training.py --data ../shared/datasets/binarized_mnist.npz [--examples 10000]
        [--rounds 5] [--likelihood EPOCHS]

The floor counts the products one update really does: p(h|data), the chains' conditionals
and the v^T h statistics of data and samples (one product of twice the inner dimension, the
FLOPs of two). CD-1: five (the chains start at the data: p(v|h), p(h|v')); PCD-1: six (a whole
sweep p(h|v), p(v|h), p(h|v') on chains kept as visible states), five with
average_over=visible ("pcd-v-avg": no p(h|v')); PCD-1 with persist=hidden,
scikit-learn's algorithm (chains kept as the hidden states drawn at the end of the last
update): five. A second share puts the same FLOPs at the machine's peak float32 rate (a
2048x2048 product), which the update's thinner products do not reach. Two framework-free
numpy CD-1 loops run beside them: the straightforward one and a lean one with every array
preallocated, whose time per step is printed, the lean one also with the momentum and weight
decay of annealrbm's defaults ("mom+wd"); when PyTorch is installed, the lean loop in
PyTorch too (not a dependency: pip install torch, CPU build).
--likelihood trains scikit-learn's PCD-1 and annealrbm's CD-1 and PCD-1 (float32; plain SGD at
0.1 as scikit-learn does, and Adam at 1e-3; PCD-1 also with persist=hidden) for EPOCHS epochs
on the same examples and prints the validation log-likelihood of each by the same AIS; the
straightforward numpy CD-1 is trained too, as an independent peer for annealrbm's CD-1
(scikit-learn has no CD).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
from typing import Callable

import numpy as np

from annealrbm import RBM, Trainer, metrics
from annealrbm.data import datasets
from annealrbm.training.trainer import DEFAULT_LARGE_MODEL_WEIGHT_DECAY

# Adam at 1e-3 (annealrbm's advice for large data) and scikit-learn's own algorithm: plain SGD at 0.1
OPTIMIZERS = {"adam": {"learning_rate": 1e-3}, "sgd": {"optimizer": "sgd", "momentum": 0.0, "learning_rate": 0.1}}


def make_trainer(backend: str, dtype, epochs: int, optimizer: str, options: dict | None = None) -> Trainer:
    rbm = RBM(784, 500, seed=0, dtype=dtype)
    options = {"num_chains": 100, **(options or {})} if backend == "pcd" else options
    return Trainer(rbm, backend=backend, epochs=epochs, batch_size=100, seed=0, progress=False, evaluate=False,
                   backend_options=options, **OPTIMIZERS[optimizer])


def epoch_seconds(backend: str, data: np.ndarray, dtype, optimizer: str = "adam", options: dict | None = None) -> float:
    trainer = make_trainer(backend, dtype, 1, optimizer, options)
    start = time.perf_counter()
    trainer.fit(data)
    return time.perf_counter() - start


def default_epoch_seconds(backend: str, data: np.ndarray) -> float:
    """One epoch with nothing set but the backend: the model's and the Trainer's defaults."""
    trainer = Trainer(RBM(784, 500, seed=0), backend=backend, epochs=1, seed=0, progress=False, evaluate=False)
    start = time.perf_counter()
    trainer.fit(data)
    return time.perf_counter() - start


def sklearn_epoch_seconds(data: np.ndarray, dtype=np.float64) -> float:
    """One BernoulliRBM epoch; it computes in the dtype of its input (float64 by default)."""
    from sklearn.neural_network import BernoulliRBM

    model = BernoulliRBM(n_components=500, batch_size=100, n_iter=1, learning_rate=0.05, random_state=0)
    data = data.astype(dtype)
    start = time.perf_counter()
    model.fit(data)
    return time.perf_counter() - start


def matmul_floor_seconds(num_batches: int, conditionals: int) -> float:
    """Time of an update's float32 products per batch, back to back with nothing between them:
    `conditionals` alternating 100x784 by 784x500 and 100x500 by 500x784 products (p(h|v), p(v|h)),
    and the statistics of data and samples, 784x200 by 200x500."""
    rng = np.random.default_rng(0)
    v = rng.random((100, 784), dtype=np.float32)
    w = rng.random((784, 500), dtype=np.float32)
    h = rng.random((100, 500), dtype=np.float32)
    stacked_v, stacked_h = rng.random((200, 784), dtype=np.float32), rng.random((200, 500), dtype=np.float32)
    start = time.perf_counter()
    conditional = [lambda: v @ w, lambda: h @ w.T]
    for _ in range(num_batches):
        for k in range(conditionals):
            conditional[k % 2]()
        stacked_v.T @ stacked_h
    return time.perf_counter() - start


def update_flops(num_batches: int, conditionals: int) -> float:
    """Floating-point operations of the products `matmul_floor_seconds` times."""
    return num_batches * 2.0 * (conditionals * 100 * 784 * 500 + 784 * 200 * 500)


def peak_matmul_flops_per_second(size: int = 2048, repeats: int = 5) -> float:
    """The machine's float32 matrix-multiply throughput: a large square product, best of `repeats`."""
    rng = np.random.default_rng(0)
    a, b = rng.random((size, size), dtype=np.float32), rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best


def bare_numpy_cd(data: np.ndarray, epochs: int = 1) -> tuple[float, RBM]:
    """CD-1 (plain SGD 0.1) written as the shortest float32 numpy code, no framework: what any
    numpy implementation pays between the products, and an independent CD-1 to compare
    annealrbm's log-likelihood with. Returns (seconds, trained model)."""
    rng = np.random.default_rng(0)
    data = data.astype(np.float32)
    W = (0.01 * rng.standard_normal((784, 500))).astype(np.float32)
    a, b = np.zeros(784, np.float32), np.zeros(500, np.float32)

    def sigmoid(x):
        np.negative(x, out=x)
        np.exp(x, out=x)
        x += 1
        return np.reciprocal(x, out=x)

    start = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(data))
        for first in range(0, len(data), 100):
            v = data[order[first:first + 100]]
            p = sigmoid(v @ W + b)
            h = (rng.random(p.shape, dtype=np.float32) < p).astype(np.float32)
            q = sigmoid(h @ W.T + a)
            v2 = (rng.random(q.shape, dtype=np.float32) < q).astype(np.float32)
            p2 = sigmoid(v2 @ W + b)
            W += 0.1 / 100 * (v.T @ p - v2.T @ p2)
            a += 0.1 * (v.mean(0) - v2.mean(0))
            b += 0.1 * (p.mean(0) - p2.mean(0))
    return time.perf_counter() - start, RBM.from_arrays(W, a, b)


def lean_numpy_cd_seconds(data: np.ndarray, breakdown: dict[str, float] | None = None,
                          momentum: float = 0.0, weight_decay: float = 0.0) -> float:
    """The same CD-1 epoch as lean as numpy allows: every array preallocated and written in
    place, both weight statistics in one product, bias statistics as vector products. What a
    hand-tuned numpy implementation could reach; `breakdown` collects seconds per step.
    `momentum` and `weight_decay` (on W, inside the velocity) give it the optimiser of
    annealrbm's defaults for large models, all but centring."""
    rng = np.random.default_rng(0)
    data = np.ascontiguousarray(data, dtype=np.uint8)
    B, rate = 100, 0.1
    W = (0.01 * rng.standard_normal((784, 500))).astype(np.float32)
    a, b = np.zeros(784, np.float32), np.zeros(500, np.float32)
    visible = np.empty((2 * B, 784), np.float32)  # data rows, then reconstructions
    hidden = np.empty((2 * B, 500), np.float32)  # p(h|data), then -p(h|reconstruction)
    v, v2, p, p2 = visible[:B], visible[B:], hidden[:B], hidden[B:]
    h, q = np.empty((B, 500), np.float32), np.empty((B, 784), np.float32)
    uh, uv = np.empty_like(h), np.empty_like(q)
    signs = np.repeat(np.array([1, -1], np.float32), B)
    gradient, ga, gb = np.empty_like(W), np.empty_like(a), np.empty_like(b)
    velocities, decay = [np.zeros_like(x) for x in (W, a, b)], np.empty_like(W)

    def step(parameter, direction, velocity):
        if momentum:
            velocity *= momentum
            velocity += direction
            parameter += velocity
        else:
            parameter += direction

    def sigmoid(x):  # 0.5 + 0.5 tanh(x / 2): numpy's fastest float32 form, as annealrbm's
        x *= 0.5
        np.tanh(x, out=x)
        x *= 0.5
        x += 0.5

    clock = time.perf_counter
    times = {}

    def mark(name, since):
        now = clock()
        times[name] = times.get(name, 0.0) + now - since
        return now

    def sample(states, weights, bias, probs, uniform, out, t):
        """out ~ Bernoulli(sigmoid(states @ weights + bias)), probs kept; returns the clock."""
        np.matmul(states, weights, out=probs)
        t = mark("products", t)
        probs += bias
        sigmoid(probs)
        t = mark("sigmoids", t)
        rng.random(dtype=np.float32, out=uniform)
        t = mark("random draws", t)
        np.less(uniform, probs, out=out, casting="unsafe")
        return mark("comparisons", t)

    start = clock()
    order = rng.permutation(len(data))
    for first in range(0, len(data), B):
        t = clock()
        v[...] = data[order[first:first + B]]
        t = mark("minibatch", t)
        t = sample(v, W, b, p, uh, h, t)  # h ~ p(h | data), p kept for the statistics
        t = sample(h, W.T, a, q, uv, v2, t)  # v' ~ p(v | h)
        np.matmul(v2, W, out=p2)
        t = mark("products", t)
        p2 += b
        sigmoid(p2)
        np.negative(p2, out=p2)
        hidden *= rate / B
        t = mark("sigmoids", t)
        np.matmul(visible.T, hidden, out=gradient)
        t = mark("products", t)
        if weight_decay:
            np.multiply(W, rate * weight_decay, out=decay)
            gradient -= decay
        step(W, gradient, velocities[0])
        t = mark("weight update", t)
        np.matmul(signs, visible, out=ga)
        ga *= rate / B
        step(a, ga, velocities[1])
        np.sum(hidden, axis=0, out=gb)
        step(b, gb, velocities[2])
        mark("bias update", t)
    seconds = clock() - start
    if breakdown is not None:
        for name, value in times.items():
            breakdown[name] = min(breakdown.get(name, np.inf), value)
    return seconds


def lean_torch_cd_seconds(data: np.ndarray) -> float:
    """The lean CD-1 epoch in PyTorch (CPU), when it is installed: does another library's
    threading of the element-wise steps beat numpy's? Same loop, same shapes, float32."""
    import torch

    generator = torch.Generator().manual_seed(0)
    data = torch.from_numpy(np.ascontiguousarray(data, dtype=np.uint8))
    B, rate = 100, 0.1
    W = 0.01 * torch.randn(784, 500, generator=generator)
    a, b = torch.zeros(784), torch.zeros(500)
    visible, hidden = torch.empty(2 * B, 784), torch.empty(2 * B, 500)
    v, v2, p, p2 = visible[:B], visible[B:], hidden[:B], hidden[B:]
    h, q, gradient = torch.empty(B, 500), torch.empty(B, 784), torch.empty(784, 500)
    signs = torch.cat([torch.ones(B), -torch.ones(B)])
    start = time.perf_counter()
    shuffled = data[torch.randperm(len(data), generator=generator)]
    for first in range(0, len(data), B):
        v.copy_(shuffled[first:first + B])
        torch.addmm(b, v, W, out=p).sigmoid_()
        torch.bernoulli(p, generator=generator, out=h)
        torch.addmm(a, h, W.T, out=q).sigmoid_()
        torch.bernoulli(q, generator=generator, out=v2)
        torch.addmm(b, v2, W, out=p2).sigmoid_().neg_()
        hidden.mul_(rate / B)
        torch.mm(visible.T, hidden, out=gradient)
        W.add_(gradient)
        a.add_(signs @ visible, alpha=rate / B)
        b.add_(hidden.sum(0))
    return time.perf_counter() - start


def train_annealrbm(backend: str, data: np.ndarray, epochs: int, optimizer: str, options: dict | None = None) -> RBM:
    trainer = make_trainer(backend, np.float32, epochs, optimizer, options)
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
    models["annealrbm pcd-1 persist=hidden (SGD 0.1)"] = (
        lambda: train_annealrbm("pcd", train, epochs, "sgd", {"persist": "hidden"}))
    models["numpy CD-1, no framework (SGD 0.1)"] = lambda: bare_numpy_cd(train, epochs)[1]
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
    parser.add_argument("--rounds", type=int, default=5, help="measure everything this many times, keep the best")
    parser.add_argument("--likelihood", type=int, metavar="EPOCHS", default=0,
                        help="also compare validation log-likelihoods after EPOCHS epochs (minutes)")
    args = parser.parse_args()
    data = datasets.load_binarized_mnist(args.data)[: args.examples]
    batches = len(data) // 100
    print(f"{time.strftime('%Y-%m-%d')}  {platform.machine()}  {os.cpu_count()} cores  {len(data)} examples, batch 100, 784x500")
    # every contender runs once per round, rounds interleaved; the best of the rounds is kept,
    # as timeit does, because a shared machine only ever adds time
    contenders: dict[str, Callable[[], float]] = {
        "sklearn BernoulliRBM": lambda: sklearn_epoch_seconds(data),
        "sklearn float32 input": lambda: sklearn_epoch_seconds(data, np.float32),
        "floor 5": lambda: matmul_floor_seconds(batches, 3),
        "floor 6": lambda: matmul_floor_seconds(batches, 4),
        "bare numpy CD-1 sgd": lambda: bare_numpy_cd(data)[0],
        "lean numpy CD-1 sgd": lambda: lean_numpy_cd_seconds(data, breakdown),
        "lean numpy CD-1 mom+wd": lambda: lean_numpy_cd_seconds(
            data, momentum=0.9, weight_decay=DEFAULT_LARGE_MODEL_WEIGHT_DECAY),
    }
    if importlib.util.find_spec("torch") is not None:  # optional: not a dependency of annealrbm
        contenders["lean torch CD-1 sgd"] = lambda: lean_torch_cd_seconds(data)
    for backend in ("cd", "pcd"):
        for dtype, optimizer in ((np.float64, "adam"), (np.float32, "adam"), (np.float32, "sgd")):
            label = f"{backend} {np.dtype(dtype).name} {optimizer}"
            contenders[label] = lambda b=backend, d=dtype, o=optimizer: epoch_seconds(b, data, d, o)
    contenders["pcd-hidden float32 sgd"] = lambda: epoch_seconds("pcd", data, np.float32, "sgd", {"persist": "hidden"})
    contenders["pcd-v-avg float32 sgd"] = lambda: epoch_seconds(
        "pcd", data, np.float32, "sgd", {"average_over": "visible"})
    for backend in ("cd", "pcd"):  # what a user who sets nothing gets
        contenders[f"{backend} defaults"] = lambda b=backend: default_epoch_seconds(b, data)
    breakdown: dict[str, float] = {}
    best = {name: float("inf") for name in contenders}
    peak = 0.0
    for _ in range(args.rounds):
        peak = max(peak, peak_matmul_flops_per_second())
        for name, measure in contenders.items():
            best[name] = min(best[name], measure())
    sk, sk32 = best["sklearn BernoulliRBM"], best["sklearn float32 input"]
    print(f"best of {args.rounds} rounds; scikit-learn computes in float64 unless given float32 data")
    print(f"{'':<22} {'s/epoch':>8} {'vs sklearn':>11} {'vs sklearn f32':>15} {'floor share':>12} {'peak share':>11}")
    products = {"pcd": 6}  # the others (CD-1, PCD-1 with persist=hidden or average_over=visible): 5
    for name, seconds in best.items():
        if name.startswith("floor"):
            continue
        count = products.get(name.split()[0], 5)
        shares = "" if name.startswith("sklearn") else (
            f"{best[f'floor {count}'] / seconds:>11.0%} {update_flops(batches, count - 2) / peak / seconds:>11.0%}")
        note = {"bare": "   (no framework, straightforward numpy)",
                "lean": f"   (no framework, every array preallocated{', PyTorch' if 'torch' in name else ''})"
                }.get(name.split()[0], "")
        print(f"{name:<22} {seconds:>8.2f} {sk / seconds:>10.2f}x {sk32 / seconds:>14.2f}x {shares}{note}")
    for count in (5, 6):
        at_peak = update_flops(batches, count - 2) / peak
        print(f"{'floor ' + str(count):<22} {best[f'floor {count}']:>8.2f}   ({count} float32 products of the update's "
              f"shapes per batch; {at_peak:.2f} s at the peak rate)")
    print(f"peak float32 matmul throughput (2048x2048 by 2048x2048): {peak / 1e9:.0f} GFLOP/s. floor share: the update's "
          "own products timed alone over the epoch's time; peak share: its FLOPs at the peak rate over the epoch's time")
    steps = ", ".join(f"{name} {seconds * 1000 / batches:.2f}" for name, seconds in breakdown.items())
    print(f"lean numpy CD-1, ms per minibatch (best round): {steps}")
    if args.likelihood:
        valid = datasets.load_binarized_mnist(args.data, "valid")[:2000]
        likelihood_comparison(data, valid, args.likelihood)


if __name__ == "__main__":
    main()
