"""The RBM's speed figures on this checkout beside an earlier revision, in one run: a refactor
must not slow the RBM down.

    python benchmarks/bench_revisions.py --baseline REV [--rounds 3] [--data ../shared/datasets/binarized_mnist.npz]

REV (a commit, tag or branch) is checked out into a temporary git worktree and put on
PYTHONPATH in the installed layout (annealrbm/, with backends/ as annealrbm/backends); the
current checkout runs from the installed package. Each round runs every workload once per
revision in fresh processes, alternating, and the best of the rounds is compared:
one CD-1 and one PCD-1 epoch on 10,000 MNIST images (784x500, defaults), 50 epochs of sa,
exact and pcd on a random four-pattern 20x8 set, and the wall time of `annealrbm reproduce`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOADS = r'''
import json, sys, time
from annealrbm import RBM, Trainer
try:
    from annealrbm.data.datasets import load_binarized_mnist, random_patterns
except ImportError:  # revisions before the package was organised by the flow of training
    from annealrbm.datasets import load_binarized_mnist, random_patterns

def best_fit_seconds(make, data, repeats):
    best = float("inf")
    for _ in range(repeats):
        trainer = make()
        start = time.perf_counter()
        trainer.fit(data)
        best = min(best, time.perf_counter() - start)
    return best

mnist = load_binarized_mnist(sys.argv[1])[:10000]
patterns = random_patterns(0)
figures = {}
for backend in ("cd", "pcd"):
    figures[f"{backend} epoch 784x500"] = best_fit_seconds(lambda: Trainer(
        RBM(784, 500, seed=0), backend=backend, epochs=1, seed=0, progress=False, evaluate=False), mnist, 3)
for backend in ("sa", "exact", "pcd"):
    figures[f"{backend} 20x8, 50 epochs"] = best_fit_seconds(lambda: Trainer(
        RBM(20, 8, seed=0), backend=backend, epochs=50, seed=0, progress=False, evaluate=False), patterns, 2)
print(json.dumps(figures))
'''


def baseline_package(revision: str, directory: Path) -> Path:
    """The revision's package in the installed layout under `directory`; returns the path for PYTHONPATH."""
    repository = Path(__file__).resolve().parent.parent
    tree = directory / "tree"
    subprocess.run(["git", "-C", str(repository), "worktree", "add", "--detach", "-q", str(tree), revision], check=True)
    package = directory / "package"
    shutil.copytree(tree / "annealrbm", package / "annealrbm")
    shutil.copytree(tree / "backends", package / "annealrbm" / "backends")
    return package


def measure(pythonpath: str | None, data: str) -> dict[str, float]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    else:
        env.pop("PYTHONPATH", None)
    run = subprocess.run([sys.executable, "-c", WORKLOADS, data], env=env, capture_output=True, text=True,
                         cwd=tempfile.gettempdir())
    if run.returncode:
        raise SystemExit(f"workloads failed:\n{run.stderr[-2000:]}")
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "annealrbm.cli", "reproduce"], env=env, capture_output=True, check=True,
                   cwd=tempfile.gettempdir())
    figures["reproduce wall"] = time.perf_counter() - start
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the earlier revision (commit, tag or branch)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", default="../shared/datasets/binarized_mnist.npz")
    args = parser.parse_args()
    data = str(Path(args.data).resolve())
    repository = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as directory:
        try:
            baseline = str(baseline_package(args.baseline, Path(directory)))
            rounds: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
            for index in range(args.rounds):
                for name, path in (("baseline", baseline), ("current", None)):
                    rounds[name].append(measure(path, data))
                    print(f"round {index + 1} {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in rounds[name][-1].items()),
                          flush=True)
        finally:
            subprocess.run(["git", "-C", str(repository), "worktree", "remove", "--force", str(Path(directory) / "tree")],
                           capture_output=True)
    print(f"\nbest of {args.rounds} rounds, seconds: {args.baseline} | this checkout | ratio (above 1.05: slower by more than 5 %)")
    for key in rounds["baseline"][0]:
        old, new = min(r[key] for r in rounds["baseline"]), min(r[key] for r in rounds["current"])
        print(f"  {key:24s} {old:8.3f} {new:8.3f} {new / old:7.3f}")


if __name__ == "__main__":
    main()
