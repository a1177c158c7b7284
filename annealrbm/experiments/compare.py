"""`annealrbm compare`: every backend on the same problem, same starts, same minibatches.

For each seed, every backend starts from the same initial parameters (RBM seeded by the seed)
and sees the same minibatches (the trainer's minibatch stream is seeded by the seed alone).
Hyperparameters are shared unless set per backend. Runs are independent, so they execute in
parallel processes (joblib) or on a Dask cluster with results identical to a serial run.
"""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from annealrbm.data import datasets
from annealrbm import metrics
from annealrbm.fileio import atomic_write, content_digest, write_json
from annealrbm.models.rbm import RBM
from annealrbm.models import build_model, load_model
from annealrbm.training.trainer import Trainer

TRAINER_KEYS = ("learning_rate", "batch_size", "momentum", "weight_decay", "optimizer", "rao_blackwell")
CSV_COLUMNS = (
    "backend", "seed", "epoch", "train_log_likelihood", "test_log_likelihood", "test_log_likelihood_conservative",
    "log_likelihood_method", "free_energy",
    "log_z_standard_error", "reconstruction_error", "wall_seconds", "sampler_seconds", "qpu_access_seconds",
    "beta_eff", "sampler_max_abs_error", "sampler_max_z", "sampler_kl_visible", "sampler_beta_eff",
)
FIDELITY_COLUMNS = {"sampler_max_abs_error": "max_abs_error", "sampler_max_z": "max_z",
                    "sampler_kl_visible": "kl_visible", "sampler_beta_eff": "beta_eff"}


@dataclass
class RunSpec:
    """One (backend, seed) run of a comparison."""

    backend: str
    seed: int
    epochs: int
    n_hidden: int
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    backend_options: dict[str, Any] = field(default_factory=dict)
    evaluate_every: int = 1
    ais_options: dict[str, Any] = field(default_factory=dict)
    dtype: str | None = None  # None: the model's default (float32 for large models)
    fidelity_samples: int = 4000  # sampler fidelity at the last epoch; 0: not measured (RBMs only)
    model: str = "rbm"  # the model kind (annealrbm.models.MODEL_KINDS)
    report_progress: bool = False  # print a line at every tenth of the epochs (when slow) and at the end


@dataclass
class RunResult:
    """Per-epoch rows of one run and its final parameters."""

    spec: RunSpec
    rows: list[dict[str, Any]]
    final_model: Any

    def model(self):
        return self.final_model

    @property
    def W(self) -> np.ndarray:
        """The couplings: the first parameter array of any model (an RBM's W, a Boltzmann
        machine's per-edge couplings)."""
        return next(iter(self.final_model.parameter_arrays().values()))


def _log_likelihoods(rbm: RBM, train: np.ndarray, test: np.ndarray, seed: int, ais_options: dict) -> dict[str, Any]:
    """Train and held-out log-likelihood (exact, or forward AIS) and the held-out conservative
    figure (metrics.log_likelihood_bounds: reverse AIS from the held-out data)."""
    log_z, error, method = metrics.estimated_log_partition_function(rbm, train, seed=seed, **ais_options)
    test_log_f, free_energy = metrics.mean_negative_free_energy(rbm, test)  # a DBM too wide to sum out: a bound
    test_log_likelihood = test_log_f - log_z
    conservative = test_log_likelihood
    if method != "exact":
        options = {key: value for key, value in ais_options.items() if key in ("num_chains", "num_betas")}
        low, _, _ = metrics.log_likelihood_bounds(rbm, test, seed=seed, method="ais", **options)
        conservative = min(low, test_log_likelihood)
    return {
        "train_log_likelihood": metrics.mean_negative_free_energy(rbm, train)[0] - log_z,
        "test_log_likelihood": test_log_likelihood,
        "test_log_likelihood_conservative": conservative,
        "log_likelihood_method": method,
        "free_energy": free_energy,
        "log_z_standard_error": error,
    }


# A run's progress line at a tenth of its epochs is printed only this many seconds after its
# previous line: fast runs print only their final line.
PROGRESS_SECONDS = 5.0


def _progress_line(spec: RunSpec, row: dict[str, Any]) -> str:
    if "test_log_likelihood" in row:
        quality = f"log-likelihood {row['test_log_likelihood']:.3f}"
    else:
        quality = f"reconstruction error {row['reconstruction_error']:.4f}"
    return f"  {spec.backend} seed {spec.seed}: epoch {row['epoch']}/{spec.epochs}, {quality}, {row['wall_seconds']:.1f} s of training"


def run_one(spec: RunSpec, train: np.ndarray, test: np.ndarray) -> RunResult:
    """Train one backend from the seed's initial model; evaluate at the chosen epochs."""
    rbm = build_model(spec.model, train.shape[1], spec.n_hidden, seed=spec.seed, dtype=spec.dtype)
    rows: list[dict[str, Any]] = []
    totals = {"wall_seconds": 0.0, "sampler_seconds": 0.0, "qpu_access_seconds": 0.0}
    evaluation_rng = np.random.default_rng(spec.seed)
    last_line = [time.perf_counter()]
    tenth = max(1, spec.epochs // 10)

    def evaluate(record: dict, trainer: Trainer) -> None:
        totals["wall_seconds"] += record["seconds"]
        totals["sampler_seconds"] += record["sampler_seconds"]
        totals["qpu_access_seconds"] += record.get("qpu_access_seconds", 0.0)
        model = trainer.current_model()  # the parameter average once averaging has begun
        row = {"backend": spec.backend, "seed": spec.seed, "epoch": record["epoch"], **totals,
               "beta_eff": record.get("beta_eff"),
               "reconstruction_error": metrics.reconstruction_error(model, train, evaluation_rng)}
        if record["epoch"] % spec.evaluate_every == 0 or record["epoch"] == spec.epochs:
            # the same AIS seed for every backend: their estimates share random numbers
            row.update(_log_likelihoods(model, train, test, spec.seed, spec.ais_options))
        rows.append(row)
        now = time.perf_counter()
        if (spec.report_progress and record["epoch"] % tenth == 0 and record["epoch"] < spec.epochs
                and now - last_line[0] >= PROGRESS_SECONDS):
            print(_progress_line(spec, row), flush=True)
            last_line[0] = now

    trainer = Trainer(rbm, backend=spec.backend, epochs=spec.epochs, seed=spec.seed, progress=None,
                      evaluate=False, callbacks=[evaluate], backend_options=spec.backend_options,
                      **spec.hyperparameters)
    trainer.fit(train)
    if spec.fidelity_samples and rows and rbm.two_layer_fast_paths:
        rows[-1].update(_sampler_fidelity(trainer, train, spec))
    if spec.report_progress and rows:
        last = rows[-1]
        print(f"  {spec.backend} seed {spec.seed} finished: log-likelihood {last.get('test_log_likelihood', float('nan')):.3f}, "
              f"{last['wall_seconds']:.1f} s of training", flush=True)
    return RunResult(spec, rows, rbm)


def _sampler_fidelity(trainer: Trainer, train: np.ndarray, spec: RunSpec) -> dict[str, Any]:
    """How faithful the run's own sampler (its persistent state included) is to the final
    model: the columns FIDELITY_COLUMNS, from metrics.sampler_fidelity."""
    report = metrics.sampler_fidelity(trainer.rbm, trainer.backend, num_samples=spec.fidelity_samples,
                                      seed=spec.seed, data=train)
    return {column: report[key] for column, key in FIDELITY_COLUMNS.items()}


def split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per-backend settings: trainer hyperparameters vs backend options."""
    trainer = {k: v for k, v in overrides.items() if k in TRAINER_KEYS}
    backend = {k: v for k, v in overrides.items() if k not in TRAINER_KEYS}
    return trainer, backend


def _run_key(spec: RunSpec) -> str:
    """File stem of a finished run in the resume directory: backend, seed and a hash of every setting."""
    settings = json.dumps(asdict(spec) | {"report_progress": None}, sort_keys=True, default=repr)
    return f"{spec.backend}_seed{spec.seed}_{content_digest({}, settings)[:12]}"


def _save_run(result: RunResult, directory: Path) -> None:
    """Keep a finished run (rows as JSON, final model as .npz) so --resume does not redo it."""
    key = _run_key(result.spec)
    directory.mkdir(parents=True, exist_ok=True)
    result.model().save(directory / f"{key}.npz")
    write_json(directory / f"{key}.json", {"rows": result.rows})  # written last: marks the run complete


def _load_run(spec: RunSpec, directory: Path) -> RunResult | None:
    key = _run_key(spec)
    rows_path, model_path = directory / f"{key}.json", directory / f"{key}.npz"
    if not (rows_path.exists() and model_path.exists()):
        return None
    try:
        return RunResult(spec, json.loads(rows_path.read_text())["rows"], load_model(model_path))
    except (ValueError, KeyError):  # damaged: run it again
        return None


def _run_and_keep(spec: RunSpec, train: np.ndarray, test: np.ndarray, directory: Path | None) -> RunResult:
    result = run_one(spec, train, test)
    if directory is not None:
        _save_run(result, directory)
    return result


def run_comparison(
    train: np.ndarray,
    test: np.ndarray,
    backends: Sequence[str],
    seeds: Sequence[int],
    epochs: int,
    n_hidden: int,
    hyperparameters: dict[str, Any] | None = None,
    per_backend: dict[str, dict[str, Any]] | None = None,
    default_backend_options: dict[str, dict[str, Any]] | None = None,
    evaluate_every: int = 1,
    ais_options: dict[str, Any] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    dtype: str | None = None,
    fidelity_samples: int = 4000,
    model: str = "rbm",
    progress: bool = False,
    resume_dir: Path | None = None,
    resume: bool = False,
) -> list[RunResult]:
    """Run every (backend, seed) pair; serially, on `jobs` processes, or on a Dask scheduler.

    resume_dir: every finished run is kept there; with `resume`, runs already kept with the same
    settings are loaded instead of trained again (their rows and final models are those computed
    then, so the outputs equal an uninterrupted run's).
    """
    from joblib import Parallel, delayed, parallel_config

    specs = []
    for backend in backends:
        trainer_overrides, option_overrides = split_overrides((per_backend or {}).get(backend, {}))
        options = {**(default_backend_options or {}).get(backend, {}), **option_overrides}
        for seed in seeds:
            specs.append(RunSpec(backend, int(seed), epochs, n_hidden, {**(hyperparameters or {}), **trainer_overrides},
                                 options, evaluate_every, dict(ais_options or {}), dtype, fidelity_samples, model,
                                 progress))
    kept = {index: _load_run(spec, resume_dir) for index, spec in enumerate(specs)} if resume and resume_dir else {}
    if progress and any(kept.values()):
        print(f"  {sum(1 for r in kept.values() if r)} of {len(specs)} runs already finished in {resume_dir}: not redone")
    todo = [spec for index, spec in enumerate(specs) if not kept.get(index)]
    tasks = (delayed(_run_and_keep)(spec, train, test, resume_dir) for spec in todo)
    if not todo:
        fresh = []
    elif scheduler:
        from dask.distributed import Client

        with Client(scheduler, timeout="10s") as client, parallel_config(backend="dask", wait_for_workers_timeout=30):
            del client
            fresh = Parallel()(tasks)
    else:
        fresh = Parallel(n_jobs=jobs)(tasks)
    fresh = iter(fresh)
    return [kept.get(index) or next(fresh) for index in range(len(specs))]


# --- outputs ---------------------------------------------------------------------------------

def write_csv(results: Sequence[RunResult], path: Path) -> Path:
    """results.csv: long format, one row per (backend, seed, epoch)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", restval="")
    writer.writeheader()
    for result in results:
        for row in result.rows:
            writer.writerow({k: ("" if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()})
    return atomic_write(path, buffer.getvalue().encode())


def _column(result: RunResult, key: str) -> np.ndarray:
    return np.array([row.get(key, np.nan) for row in result.rows], dtype=float)


def default_target(results: Sequence[RunResult]) -> float:
    """95% of the way from the first evaluated test log-likelihood to the best backend's mean
    final one: 'time to reach the target' then says who gets close first."""
    finals: dict[str, list[float]] = {}
    starts = []
    for result in results:
        values = _column(result, "test_log_likelihood")
        values = values[~np.isnan(values)]
        finals.setdefault(result.spec.backend, []).append(values[-1])
        starts.append(values[0])
    best = max(np.mean(v) for v in finals.values())
    return float(best - 0.05 * (best - np.mean(starts)))


def summarise(results: Sequence[RunResult], target: float | None = None) -> tuple[list[dict[str, Any]], float]:
    """Per backend: mean and std over seeds of the final and best held-out log-likelihood, time
    to reach the target, total times; ranked by final held-out log-likelihood."""
    target = default_target(results) if target is None else target
    by_backend: dict[str, list[RunResult]] = {}
    for result in results:
        by_backend.setdefault(result.spec.backend, []).append(result)
    table = []
    for backend, runs in by_backend.items():
        finals, conservatives, bests, reach, walls, samplers, qpus = [], [], [], [], [], [], []
        for run in runs:
            test = _column(run, "test_log_likelihood")
            evaluated = ~np.isnan(test)
            finals.append(test[evaluated][-1])
            conservatives.append(_column(run, "test_log_likelihood_conservative")[evaluated][-1])
            bests.append(test[evaluated].max())
            hit = np.flatnonzero(evaluated & (test >= target))
            reach.append(_column(run, "wall_seconds")[hit[0]] if hit.size else np.nan)
            walls.append(run.rows[-1]["wall_seconds"])
            samplers.append(run.rows[-1]["sampler_seconds"])
            qpus.append(run.rows[-1]["qpu_access_seconds"])
        reached = np.array(reach)[~np.isnan(reach)]
        table.append({
            "backend": backend, "runs": len(runs),
            "final_mean": float(np.mean(finals)), "final_std": float(np.std(finals)),
            "conservative_mean": float(np.mean(conservatives)),
            "best_mean": float(np.mean(bests)), "best_std": float(np.std(bests)),
            "reached": int(reached.size),
            "time_to_target_mean": float(reached.mean()) if reached.size else np.nan,
            "time_to_target_std": float(reached.std()) if reached.size else np.nan,
            "wall_mean": float(np.mean(walls)), "sampler_mean": float(np.mean(samplers)),
            "qpu_mean": float(np.mean(qpus)),
            **{f"{column}_mean": _mean_of_last(runs, column) for column in FIDELITY_COLUMNS},
        })
    table.sort(key=lambda row: row["final_mean"], reverse=True)
    return table, target


def _mean_of_last(runs: Sequence[RunResult], column: str) -> float:
    """Mean over runs of `column` in each run's last row (NaN where it was not measured)."""
    values = [run.rows[-1].get(column) for run in runs]
    values = [float(v) for v in values if v is not None]
    return float(np.mean(values)) if values else float("nan")


def _figure(value: float, digits: int) -> str:
    return "–" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def summary_markdown(table: list[dict[str, Any]], target: float, title: str, held_out: bool = True,
                     free_energy_bound: bool = False) -> str:
    """summary.md: the ranked table with its definitions. `held_out` False: the dataset has no
    held-out split and the training set is scored (the labels say so). `free_energy_bound`: the
    likelihoods use the mean-field bound on the free energy (said under the title)."""
    lines = _summary_lines(table, target, title)
    if free_energy_bound:
        lines.insert(2, "The model's hidden units are too many and interact, so every log-likelihood here uses the "
                        "mean-field lower bound on each example's free energy: the true figures are higher.\n")
    text = "\n".join(lines)
    if not held_out:
        text = text.replace("held-out", "training-set")
        text = text.replace("Held-out log-likelihood", "Training-set log-likelihood (this dataset has no held-out split)")
    return text + "\n"


def _summary_lines(table: list[dict[str, Any]], target: float, title: str) -> list[str]:
    lines = [
        f"# {title}", "",
        "Held-out log-likelihood in nats per example (higher is better), mean ± std over seeds; "
        f"time to target = training wall seconds until the held-out log-likelihood first reached {target:.3f}. "
        "Sampler fidelity at the last epoch (mean over seeds; `annealrbm diagnose`): the largest z-score of the "
        "sampler's <v>, <h>, <v h^T> against the exact ones (about 3 for an exact sampler; larger: a biased "
        "sampler, so a low likelihood may be the sampler's fault rather than the optimiser's) and the samples' "
        "effective inverse temperature beta_eff (1 is right). Conservative: the final held-out log-likelihood "
        "by reverse AIS (equal to the final one when exact); a gap over 1 nat is flagged (!): the AIS figure "
        "cannot be trusted to within it.", "",
        "| rank | backend | final held-out LL | conservative | best held-out LL | time to target (s) | total wall (s) "
        "| sampler (s) | QPU access (s) | sampler max z | sampler beta_eff |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rank, row in enumerate(table, 1):
        reach = (f"{row['time_to_target_mean']:.2f} ± {row['time_to_target_std']:.2f} ({row['reached']}/{row['runs']})"
                 if row["reached"] else f"not reached (0/{row['runs']})")
        gap = row["final_mean"] - row["conservative_mean"]
        conservative = f"{row['conservative_mean']:.3f}" + (f" (! gap {gap:.1f})" if gap > 1.0 else "")
        lines.append(
            f"| {rank} | {row['backend']} | {row['final_mean']:.3f} ± {row['final_std']:.3f} | {conservative} | "
            f"{row['best_mean']:.3f} ± {row['best_std']:.3f} | {reach} | {row['wall_mean']:.2f} | "
            f"{row['sampler_mean']:.2f} | {row['qpu_mean']:.3f} | {_figure(row.get('sampler_max_z_mean'), 1)} | "
            f"{_figure(row.get('sampler_beta_eff_mean'), 3)} |"
        )
    return lines


def write_outputs(results: Sequence[RunResult], out: Path, dataset: str, target: float | None = None) -> dict[str, Path]:
    """results.csv, summary.md, curves, and for image datasets filters and model samples; also
    every run's final model as models/<backend>_seed<k>.npz."""
    from annealrbm.experiments import plots

    out = Path(out)
    table, target = summarise(results, target)
    paths = {
        "csv": write_csv(results, out / "results.csv"),
        "summary": atomic_write(out / "summary.md", summary_markdown(
            table, target, f"annealrbm compare: {dataset}", held_out=dataset in datasets.SPLIT_NAMES,
            free_energy_bound=any(row.get("free_energy") == "mean-field bound" for r in results for row in r.rows),
        ).encode()),
        "ll_vs_epoch": plots.plot_comparison(results, "epoch", out / "log_likelihood_vs_epoch.png", dataset),
        "ll_vs_wall": plots.plot_comparison(results, "wall_seconds", out / "log_likelihood_vs_wall_seconds.png", dataset),
    }
    for result in results:
        result.model().save(out / "models" / f"{result.spec.backend}_seed{result.spec.seed}.npz")
    shape = datasets.image_shape(dataset, results[0].model().n_visible)
    if shape and all(isinstance(r.model(), RBM) for r in results):
        first_seed = min(r.spec.seed for r in results)
        models = {r.spec.backend: r.model() for r in results if r.spec.seed == first_seed}
        paths["filters"] = plots.plot_filters(models, shape, out / "filters.png")
        paths["samples"] = plots.plot_model_samples(models, shape, out / "model_samples.png", seed=first_seed)
    return paths

