"""scikit-learn's "RBM features for digit classification" example, run twice with identical
settings: once with sklearn.neural_network.BernoulliRBM, once with annealrbm.sklearn.BernoulliRBM
(its defaults: scikit-learn's PCD-1 with the centred gradient). Prints test accuracy per seed,
the means, their difference and the training-time ratio.

    python benchmarks/bench_sklearn_digits.py [--seeds 0,1,2] [--backend pcd]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.ndimage import convolve
from sklearn import datasets, linear_model
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM as SklearnRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import minmax_scale

from annealrbm.sklearn import BernoulliRBM


def nudged_digits() -> tuple[np.ndarray, np.ndarray]:
    """The example's data: the 8x8 digits and their copies shifted by one pixel each way, scaled to [0, 1]."""
    X, y = datasets.load_digits(return_X_y=True)
    X = np.asarray(X, "float32")
    directions = [[[0, 1, 0], [0, 0, 0], [0, 0, 0]], [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
                  [[0, 0, 0], [0, 0, 1], [0, 0, 0]], [[0, 0, 0], [0, 0, 0], [0, 1, 0]]]
    shifted = [np.apply_along_axis(lambda x, w=np.array(w): convolve(x.reshape((8, 8)), mode="constant", weights=w).ravel(),
                                   1, X) for w in directions]
    X = np.concatenate([X, *shifted])
    y = np.concatenate([y for _ in range(5)])
    return minmax_scale(X, feature_range=(0, 1)), y


def accuracy(rbm, X_train, X_test, y_train, y_test) -> tuple[float, float]:
    # the example's solver="newton-cg", tol=1 stops before its first step in scikit-learn 1.9
    # (chance accuracy for both RBMs); lbfgs to convergence instead
    logistic = linear_model.LogisticRegression(C=6000, max_iter=1000)
    pipeline = Pipeline(steps=[("rbm", rbm), ("logistic", logistic)])
    start = time.perf_counter()
    pipeline.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return float(pipeline.score(X_test, y_test)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--backend", default="pcd", help="annealrbm backend for the second run")
    args = parser.parse_args()
    X, y = nudged_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    settings = {"learning_rate": 0.06, "n_iter": 10, "n_components": 100}
    ours, theirs, our_time, their_time = [], [], [], []
    for seed in (int(s) for s in args.seeds.split(",")):
        score, seconds = accuracy(SklearnRBM(random_state=seed, **settings), X_train, X_test, y_train, y_test)
        theirs.append(score)
        their_time.append(seconds)
        score, seconds = accuracy(BernoulliRBM(random_state=seed, backend=args.backend, **settings),
                                  X_train, X_test, y_train, y_test)
        ours.append(score)
        our_time.append(seconds)
        print(f"seed {seed}: scikit-learn {theirs[-1]:.4f} ({their_time[-1]:.1f} s), "
              f"annealrbm {ours[-1]:.4f} ({our_time[-1]:.1f} s)", flush=True)
    print(f"mean accuracy: scikit-learn {np.mean(theirs):.4f}, annealrbm {np.mean(ours):.4f} "
          f"(difference {np.mean(ours) - np.mean(theirs):+.4f}); time ratio annealrbm/scikit-learn "
          f"{np.sum(our_time) / np.sum(their_time):.2f}")


if __name__ == "__main__":
    main()
