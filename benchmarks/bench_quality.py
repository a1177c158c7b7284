"""Time to quality: validation log-likelihood against training wall seconds on binarized MNIST
(784x500), for scikit-learn's BernoulliRBM and annealrbm's backends with their defaults.

    python benchmarks/bench_quality.py --data ../shared/datasets/binarized_mnist.npz
        [--budgets 30,120] [--methods sklearn,cd,pcd,pcd-uncentred,pt,bipartite-sa]
        [--num-betas 14500] [--out docs/quality]

Every method is given each wall-time budget the way a user plans a run: after an untimed
warm-up minibatch, one calibration pass on a few minibatches measures its seconds per training
image, the number of epochs that fits the budget is trained with the method's defaults (so
learning-rate schedules and averaging finish as designed), and the real training seconds are
recorded. A method too slow for one epoch in the budget (bipartite-sa: population annealing at
every minibatch) trains one epoch on the first images that fit. scikit-learn runs as its
documentation suggests for MNIST-sized data: batch 100, learning rate 0.1, PCD-1.

Each model is scored on the validation set by `metrics.log_likelihood_bounds`: forward AIS
(optimistic) and reverse AIS (conservative), the same estimator for every method. The table's
last column is the conservative figure minus scikit-learn's at the same budget.
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from annealrbm import RBM, Trainer, metrics
from annealrbm.data import datasets

METHODS = {
    "sklearn": None,
    "cd": {"backend": "cd"},
    "pcd": {"backend": "pcd"},
    "pcd-uncentred": {"backend": "pcd", "centering": False},
    "pt": {"backend": "pt"},
    "bipartite-sa": {"backend": "bipartite-sa"},
}
N_HIDDEN = 500
CALIBRATION_IMAGES = 200
WARM_UP_IMAGES = 100


def train_sklearn(data: np.ndarray, epochs: int, seed: int) -> RBM:
    from sklearn.neural_network import BernoulliRBM

    model = BernoulliRBM(n_components=N_HIDDEN, batch_size=100, learning_rate=0.1, n_iter=epochs, random_state=seed)
    model.fit(data.astype(np.float64))
    return RBM.from_arrays(model.components_.T, model.intercept_visible_, model.intercept_hidden_)


def train_annealrbm(options: dict, data: np.ndarray, epochs: int, seed: int) -> RBM:
    rbm = RBM(data.shape[1], N_HIDDEN, seed=seed)
    Trainer(rbm, epochs=epochs, seed=seed, progress=False, evaluate=False, **options).fit(data)
    return rbm


def train(method: str, data: np.ndarray, epochs: int, seed: int) -> tuple[RBM, float]:
    start = time.perf_counter()
    options = METHODS[method]
    rbm = train_sklearn(data, epochs, seed) if options is None else train_annealrbm(options, data, epochs, seed)
    return rbm, time.perf_counter() - start


def plan(method: str, train_data: np.ndarray, budget: float, seed: int) -> tuple[int, int]:
    """(epochs, training images) that fit `budget` seconds, from a one-epoch calibration pass
    after an untimed one-minibatch pass, so that imports and first calls do not count as
    training time."""
    train(method, train_data[:WARM_UP_IMAGES], 1, seed)
    _, seconds = train(method, train_data[:CALIBRATION_IMAGES], 1, seed)
    per_image = seconds / CALIBRATION_IMAGES
    if per_image * 10 * CALIBRATION_IMAGES < budget / 10:  # fast: calibrate again on more images
        _, seconds = train(method, train_data[:10 * CALIBRATION_IMAGES], 1, seed)
        per_image = seconds / (10 * CALIBRATION_IMAGES)
    epochs = int(budget // (per_image * len(train_data)))
    if epochs >= 1:
        return epochs, len(train_data)
    images = max(100, int(budget / per_image) // 100 * 100)
    return 1, min(images, len(train_data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="binarized MNIST .npz (train/valid/test)")
    parser.add_argument("--budgets", default="30,120", help="comma-separated training wall seconds")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated, from: " + ", ".join(METHODS))
    parser.add_argument("--num-betas", type=int, default=14500, help="AIS intermediate distributions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="directory for quality.csv, quality.md and quality.png")
    args = parser.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {list(METHODS)}")
    train_data = datasets.load_binarized_mnist(args.data, "train")
    valid = datasets.load_binarized_mnist(args.data, "valid")

    rows = []
    for budget in budgets:
        for method in methods:
            epochs, images = plan(method, train_data, budget, args.seed)
            rbm, seconds = train(method, train_data[:images], epochs, args.seed)
            conservative, optimistic, _ = metrics.log_likelihood_bounds(
                rbm, valid, seed=args.seed, method="ais", num_betas=args.num_betas)
            rows.append({"budget_s": budget, "method": method, "epochs": epochs, "images": images,
                         "train_s": round(seconds, 1), "valid_ll_conservative": round(conservative, 2),
                         "valid_ll_optimistic": round(optimistic, 2)})
            print(rows[-1], flush=True)
    for row in rows:
        reference = [r for r in rows if r["method"] == "sklearn" and r["budget_s"] == row["budget_s"]]
        row["vs_sklearn"] = round(row["valid_ll_conservative"] - reference[0]["valid_ll_conservative"], 2) if reference else None
    table = markdown_table(rows)
    print(table)
    if args.out:
        write_outputs(Path(args.out), rows, table)


def markdown_table(rows: list[dict]) -> str:
    lines = ["| budget (s) | method | epochs × images | train (s) | valid LL conservative | optimistic | vs sklearn |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        gap = "" if r["vs_sklearn"] is None else f"{r['vs_sklearn']:+.2f}"
        lines.append(f"| {r['budget_s']:g} | {r['method']} | {r['epochs']} × {r['images']} | {r['train_s']:.1f} | "
                     f"{r['valid_ll_conservative']:.2f} | {r['valid_ll_optimistic']:.2f} | {gap} |")
    return "\n".join(lines)


def write_outputs(out: Path, rows: list[dict], table: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "quality.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "quality.md").write_text(table + "\n")
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    for method in dict.fromkeys(r["method"] for r in rows):
        points = sorted((r["train_s"], r["valid_ll_conservative"], r["valid_ll_optimistic"]) for r in rows if r["method"] == method)
        seconds, low, high = map(np.array, zip(*points))
        line, = axes.plot(seconds, low, marker="o", label=method)
        axes.fill_between(seconds, low, high, color=line.get_color(), alpha=0.2)
    axes.set_xscale("log")
    axes.set_xlabel("training wall seconds")
    axes.set_ylabel("validation log-likelihood (nats; band: reverse to forward AIS)")
    axes.set_title("Binarized MNIST, 784x500, defaults")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out / "quality.png")


if __name__ == "__main__":
    main()
