"""Command line: `annealrbm backends | train | evaluate | diagnose | reproduce | compare | qpu check`.

Bad input prints one line `annealrbm: error: ...` and exits 2; failures at run time exit 1.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from annealrbm import backends, metrics, models
from annealrbm.experiments import compare, patterns
from annealrbm.data import datasets
from annealrbm.fileio import write_json
from annealrbm.models.rbm import RBM, default_dtype
from annealrbm.training.trainer import Trainer


class UsageError(ValueError):
    """Bad command-line input: reported in one line, exit code 2."""


QPU_BACKENDS = ("qpu", "qpu-mock")
DEFAULT_QPU_CHECKPOINTS = "annealrbm-qpu-checkpoints"
MAX_WARNINGS_SHOWN = 5


def _install_warning_printer() -> None:
    """Show warnings as one line each, at most MAX_WARNINGS_SHOWN, token redacted."""
    shown = [0]

    def show(message, category, filename, lineno, file=None, line=None):
        shown[0] += 1
        if shown[0] <= MAX_WARNINGS_SHOWN:
            print(f"annealrbm: warning: {backends.redact(str(message))}", file=sys.stderr)
        if shown[0] == MAX_WARNINGS_SHOWN:
            print("annealrbm: warning: further warnings are not shown", file=sys.stderr)

    warnings.showwarning = show


def _qpu_options(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Options the CLI passes to QPU backends: the QPU-time budget, retries and the connection."""
    if backend not in QPU_BACKENDS:
        return {}
    options: dict[str, Any] = {}
    if getattr(args, "max_qpu_seconds", None) is not None:
        options["max_qpu_seconds"] = args.max_qpu_seconds
    retries, delay = getattr(args, "retries", None), getattr(args, "retry_delay", None)
    if retries is not None or delay is not None:
        if retries is not None and retries < 0:
            raise UsageError(f"--retries must be >= 0, got {retries}")
        if delay is not None and not delay >= 0:
            raise UsageError(f"--retry-delay must be >= 0 seconds, got {delay}")
        given = {"max_attempts": None if retries is None else retries + 1, "initial_delay": delay}
        options["retry_policy"] = backends.RetryPolicy(**{k: v for k, v in given.items() if v is not None})
    if backend == "qpu":
        for key in ("solver", "region", "endpoint", "profile"):
            if getattr(args, key, None):
                options[key] = getattr(args, key)
    return options


def _option_value(text: str) -> Any:
    """Parse a backend option value: int, float, true/false, none, a,b list of numbers, or string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    if "," in text:
        return tuple(_option_value(part) for part in text.split(","))
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _parse_backend_options(pairs: Sequence[str]) -> dict[str, Any]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"backend option {pair!r} must look like KEY=VALUE, e.g. num_reads=500")
        options[key.strip()] = _option_value(value.strip())
    return options


def _cmd_backends(args: argparse.Namespace) -> int:
    if args.name:  # one backend: its options with their defaults
        print(f"{args.name}: {backends.describe(args.name)}")
        notes = backends.option_help(args.name)
        defaults = backends.options(args.name)
        width = max((len(key) for key in defaults), default=0)
        for key, default in defaults.items():
            shown = "required" if default is inspect.Parameter.empty else f"default {default!r}"
            note = notes.get(key, "")
            note = f"  {note}" + ("" if not note or note.endswith((".", ")")) else " ...")
            print(f"  -o {key:<{width}}  ({shown}){note}")
        return 0
    names = backends.available()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {backends.describe(name)}")
    print("\n`annealrbm backends NAME` lists a backend's options (-o KEY=VALUE) and their defaults")
    return 0


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from annealrbm.data import fetch

    if args.name != "mnist":
        raise UsageError(f"unknown dataset {args.name!r}; annealrbm data fetch knows: mnist")
    target = fetch.cached_mnist_path(Path(args.dir) if args.dir else None)
    if target.exists() and not args.force:
        print(f"binarized MNIST is already in {target} (--force downloads it again)")
        return 0
    bars: dict[str, Any] = {}

    def progress(split: str, done: int, total: int | None) -> None:
        if split not in bars:
            bars[split] = tqdm(total=total, unit="B", unit_scale=True, desc=split, disable=None)
        bars[split].update(done - bars[split].n)

    try:
        path = fetch.fetch_mnist(Path(args.dir) if args.dir else None, url=args.url, force=args.force,
                                 progress=None if args.quiet else progress)
    finally:
        for bar in bars.values():
            bar.close()
    print(f"stored binarized MNIST (train 50,000, valid 10,000, test 10,000; checksums verified) in {path}")
    return 0


def _training_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(training data, held-out data or None, where they came from) for `train`."""
    if args.dataset in datasets.SPLIT_NAMES:  # digits and mnist come with a held-out split
        if args.data_key:
            raise UsageError(f"--data-key is for your own .npz (--data PATH without --dataset), not --dataset {args.dataset}")
        if args.data and args.dataset != "mnist":
            raise UsageError(f"--dataset {args.dataset} is built in and reads no file: leave out --data")
        train, held_out = datasets.load_splits(args.dataset, args.data)
        return train, held_out, args.dataset
    if args.data:
        if args.dataset is not None:
            raise UsageError(f"--data PATH trains on your own file: leave out --dataset {args.dataset} "
                             "(or pass --dataset mnist --data PATH for a binarized MNIST file)")
        return datasets.load_file(args.data, args.data_key), None, str(args.data)
    if args.data_key:
        raise UsageError("--data-key needs --data PATH")
    name = args.dataset or "patterns20"
    return datasets.load(name), None, name


def _cmd_train(args: argparse.Namespace) -> int:
    data, held_out, source = _training_data(args)
    if args.resume and not args.checkpoint:
        raise UsageError("--resume needs --checkpoint DIR (the directory the interrupted run wrote)")
    if args.backend == "qpu" and not args.checkpoint:  # QPU time is paid for: keep every epoch by default
        args.checkpoint = DEFAULT_QPU_CHECKPOINTS
        print(f"checkpoints go to {DEFAULT_QPU_CHECKPOINTS}/ (pass --checkpoint DIR to choose)")
    rbm = models.build_model(args.model, data.shape[1], _hidden_layers(args.hidden), seed=args.seed,
                             dtype=None if args.dtype == "auto" else args.dtype)
    options = {**_qpu_options(args.backend, args), **_parse_backend_options(args.backend_option)}
    report_every = max(1, args.epochs // 10)

    def report(record: dict, trainer: Trainer) -> None:
        if record["epoch"] % report_every == 0 or record["epoch"] == args.epochs:
            nll = f"  nll {-record['log_likelihood']:8.4f}" if "log_likelihood" in record else ""  # exact only
            print(
                f"epoch {record['epoch']:>5}{nll}  recon_err {record['reconstruction_error']:.4f}"
                f"  {record['seconds']:.3f}s (sampler {record['sampler_seconds']:.3f}s)",
                flush=True,
            )

    trainer = Trainer(
        rbm,
        backend=args.backend,
        epochs=args.epochs,
        seed=args.seed,
        **_trainer_hyperparameters(args),
        backend_options=options,
        callbacks=[] if args.quiet else [report],
        progress=False if args.quiet else None,
        checkpoint_dir=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
        checkpoint_seconds=args.checkpoint_seconds,
    )
    print(f"training {rbm} on {source} ({len(data)} examples) with {trainer.backend!r}, {rbm.dtype}", flush=True)
    if args.resume:
        print(f"resuming from the newest checkpoint in {args.checkpoint}", flush=True)
    start = time.perf_counter()
    history = trainer.fit(data, resume=args.resume)
    seconds = time.perf_counter() - start
    done_before = getattr(trainer, "resumed_epochs", 0)
    if args.resume and done_before >= args.epochs:
        print(f"already complete: the checkpoint holds all {done_before} epochs; nothing was trained")
    else:
        new = history.records[done_before:]
        print(f"done: {len(history)} epochs ({len(new)} in this run) in {seconds:.2f}s "
              f"(sampler {sum(r['sampler_seconds'] for r in new):.2f}s)")
    if args.save:  # before the evaluation below, which Ctrl-C may cut short
        print(f"saved model to {rbm.save(args.save)}")
    if "qpu_access_seconds" in history.last:
        print(
            f"QPU access {np.sum(history['qpu_access_seconds']):.2f}s (estimate was "
            f"{trainer.plan.get('estimated_qpu_access_seconds', float('nan')):.2f}s), beta_eff "
            f"{history.last['beta_eff']:.3f}, chain breaks {np.mean(history['chain_break_fraction']):.2%}"
        )
    if metrics.exact_is_feasible(rbm):
        log_z = metrics.log_partition_function(rbm)
        print(
            f"exact NLL {-metrics.log_likelihood(rbm, data, log_z):.4f} nats "
            f"(optimum {patterns.optimal_nll(data):.4f}), KL(data||model) {metrics.kl_divergence(rbm, data, log_z):.4f}"
        )
        if held_out is not None:
            print(f"held-out exact NLL {-metrics.log_likelihood(rbm, held_out, log_z):.4f} nats ({len(held_out)} examples)")
    accuracy = metrics.reconstruction_accuracy(rbm, data, np.random.default_rng(args.seed))
    print(f"reconstruction accuracy {accuracy:.1%}")
    if held_out is not None:
        accuracy = metrics.reconstruction_accuracy(rbm, held_out, np.random.default_rng(args.seed))
        print(f"held-out reconstruction accuracy {accuracy:.1%}")
    return 0


def _hidden_layers(text: str) -> list[int]:
    """--hidden: one size, or comma-separated sizes of a DBM's hidden layers."""
    try:
        sizes = [int(part) for part in str(text).split(",")]
    except ValueError:
        raise UsageError(f"--hidden takes a number of hidden units (or sizes like 500,100 for a DBM), got {text!r}") from None
    if min(sizes) < 1:
        raise UsageError(f"--hidden: n_hidden must be a positive number of hidden units, got {text!r}")
    return sizes


def _cmd_evaluate(args: argparse.Namespace) -> int:
    rbm = models.load_model(args.model)
    if isinstance(rbm, models.DBN):
        raise UsageError("a DBN has no tractable likelihood to evaluate; evaluate its layers' RBMs or a DBM")
    data = datasets.load_file(args.data, args.data_key)
    if data.shape[1] != rbm.n_visible:
        raise ValueError(f"{args.data} has {data.shape[1]} columns but the model {args.model} has "
                         f"{rbm.n_visible} visible units: evaluate it on data of the shape it was trained on")
    exact = metrics.exact_is_feasible(rbm)
    if not exact and not args.json:
        print(f"estimating log Z: forward AIS ({args.ais_chains} chains from two starts) and reverse AIS from the "
              f"data, {args.ais_betas} betas each", flush=True)
    conservative, optimistic, details = metrics.log_likelihood_bounds(
        rbm, data, seed=args.seed, num_chains=args.ais_chains, num_betas=args.ais_betas,
        **({} if exact else {"progress": False if args.quiet else None}))
    accuracy = metrics.reconstruction_accuracy(rbm, data, np.random.default_rng(args.seed))
    if args.json:
        error = max(details["standard_error_forward"], details["standard_error_reverse"])
        print(json.dumps({"log_likelihood": optimistic, "log_likelihood_conservative": conservative,
                          "standard_error": error, "method": details["method"], "free_energy": details["free_energy"],
                          "reconstruction_accuracy": accuracy, "num_examples": len(data)}))
        return 0
    print(f"{rbm} from {args.model} on {args.data} ({len(data)} examples)")
    if details["method"] == "exact":
        print(f"log-likelihood {optimistic:.4f} nats per example (exact log Z)")
    else:
        print(f"log-likelihood {optimistic:.4f} nats per example (forward AIS, {args.ais_chains} chains x "
              f"{args.ais_betas} betas, log Z standard error {details['standard_error_forward']:.3f})")
        print(f"conservative    {conservative:.4f} nats per example (reverse AIS from the data, log Z "
              f"standard error {details['standard_error_reverse']:.3f}); gap {optimistic - conservative:.3f}")
    if details["free_energy"] != "exact":
        print("both figures use the mean-field lower bound on each example's free energy (too many interacting "
              "hidden units to sum out): the true log-likelihood is higher by the bound's gap")
    print(f"reconstruction accuracy {accuracy:.2%} (bits equal after one v -> h -> v pass)")
    return 0


def format_fidelity(report: dict[str, Any]) -> str:
    """The sampler_fidelity report as a short table, the exact sampler's figures beside."""
    def number(value, digits=4):
        return "–" if value is None else f"{value:.{digits}f}"

    lines = [f"{'figure':<34} {'sampler':>10} {'exact sampler':>14}"]
    lines.append(f"{'max |<v>,<h>,<vh> - exact|':<34} {number(report['max_abs_error']):>10} "
                 f"{number(report['max_abs_error_exact_samples']):>14}")
    lines.append(f"{'max z-score (exact: about 3)':<34} {number(report['max_z'], 2):>10} {'':>14}")
    lines.append(f"{'KL(sampled || exact), visible':<34} {number(report['kl_visible']):>10} "
                 f"{number(report['kl_visible_exact_samples']):>14}")
    beta = "inf" if report["beta_eff"] == float("inf") else f"{report['beta_eff']:.3f}"
    lines.append(f"{'beta_eff (1 = the model)':<34} {beta:>10} {'1':>14}   +- {number(report['beta_eff_error'], 3)}")
    return "\n".join(lines)


def _cmd_diagnose(args: argparse.Namespace) -> int:
    backends.describe(args.backend)  # an unknown name fails before anything is loaded
    if args.num_samples < 1:
        raise UsageError(f"--num-samples must be >= 1, got {args.num_samples}")
    rbm = RBM.load(args.model)
    data = datasets.load_file(args.data, args.data_key) if args.data else None
    options = {**_qpu_options(args.backend, args), **_parse_backend_options(args.backend_option)}
    report = metrics.sampler_fidelity(rbm, args.backend, num_samples=args.num_samples, seed=args.seed, data=data,
                                      **options)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"sampler fidelity of {report['backend']} on {rbm} from {args.model}: {report['num_samples']} samples "
          f"in {report['calls']} call(s) after {report['burn_in_calls']} burn-in call(s), {report['seconds']:.2f} s of sampling")
    print(format_fidelity(report))
    if report["max_z"] is None:
        print("(moments and KL need a layer of at most 20 units: only beta_eff is measured for this model)")
    print(f"verdict: {report['verdict']}")
    return 0


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows every option's default (those whose help does not already name it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def _check_jobs(args: argparse.Namespace) -> None:
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1 (parallel processes), got {args.jobs}")


def _cmd_reproduce(args: argparse.Namespace) -> int:
    _check_jobs(args)
    names = [name.strip() for name in args.backends.split(",") if name.strip()]
    if not names:
        raise UsageError("--backends needs at least one backend name, e.g. --backends gibbs,cd,sa,exact")
    for name in names:
        backends.describe(name)  # unknown names fail before any training starts
    data = datasets.patterns20()
    print(
        f"20-dimensional pattern experiment: {len(data)} patterns, RBM 20x{args.hidden}, {args.epochs} epochs, "
        f"seed {args.seed}, backends {', '.join(names)}"
    )
    model_names = []
    if args.model != "rbm":
        model_names = [name for name in names if not patterns.unsupported_reason(name, args.model, 20, args.hidden)]
        for name in names:
            reason = patterns.unsupported_reason(name, args.model, 20, args.hidden)
            if reason:
                print(f"  {args.model} model: {name} not run: {reason}")
        print(f"beside the RBM: a {args.model} Boltzmann machine (20+{args.hidden} units) with {', '.join(model_names)}")
    for name in names:
        options = patterns.EXPERIMENT_BACKEND_OPTIONS.get(name, {})
        print(f"  {name}: {backends.describe(name)}{'  ' + str(options) if options else ''}")
    print(flush=True)
    start = time.perf_counter()
    backend_options = {name: {**patterns.EXPERIMENT_BACKEND_OPTIONS.get(name, {}), **_qpu_options(name, args)}
                       for name in names}
    ran: list[str] = []

    def finished(result: patterns.BackendResult) -> None:
        ran.append(result.label)
        if args.quiet:
            return
        print(f"  {result.label} finished: NLL {result.nll:.3f} nats, {result.seconds:.1f} s of training "
              f"({time.perf_counter() - start:.0f} s elapsed)", flush=True)

    if args.resume and not args.out:
        raise UsageError("--resume needs --out DIR (the directory the interrupted run wrote)")
    keep = {"keep_dir": Path(args.out) / "runs" if args.out else None, "resume": args.resume,
            "on_done": finished}
    results = patterns.run_pattern_experiment(
        backends=names, epochs=args.epochs, n_hidden=args.hidden, seed=args.seed, jobs=args.jobs,
        backend_options=backend_options, **keep)
    if model_names:
        results += patterns.run_pattern_experiment(
            backends=model_names, epochs=args.epochs, n_hidden=args.hidden, seed=args.seed, jobs=args.jobs,
            backend_options=backend_options, model=args.model, **keep)
    wall = time.perf_counter() - start
    if args.resume and len(ran) < len(results):
        print(f"{len(results) - len(ran)} of {len(results)} backends were finished before (kept in {args.out}/runs): "
              "loaded, not redone")
    print("each pattern, then five reconstructions v -> h -> v' per backend (a number: wrong bits)\n")
    print(patterns.format_reconstruction_grid(data, results))
    print()
    print(patterns.format_table(results))
    print("s/epoch: training seconds per epoch; sampler s: seconds in the negative-phase sampler; NLL: exact mean "
          "-log p(pattern); optimum: ln 4, the entropy of four equally likely patterns; KL = NLL - optimum; "
          "recon acc: bits equal after one reconstruction")
    print(f"\nwall time {wall:.1f}s; every backend started from the same initial weights; "
          "each draws its reconstructions from its own stream")
    if args.out:
        out = Path(args.out)
        write_json(out / "results.json", [result.summary() for result in results])
        from annealrbm.experiments import plots  # matplotlib is slow to import: only when a plot is wanted

        plots.plot_nll_per_epoch(
            plots.nll_curves(results),
            out / "nll_per_epoch.png",
            optimum=patterns.optimal_nll(data),
            title="patterns20: exact NLL per epoch",
        )
        print(f"\nwrote {out / 'results.json'} and {out / 'nll_per_epoch.png'}")
    return 0


def _parse_per_backend(pairs: Sequence[str], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """-o BACKEND:KEY=VALUE settings, grouped by backend."""
    grouped: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        backend, sep, setting = pair.partition(":")
        if not sep or backend not in names:
            raise UsageError(f"per-backend setting {pair!r} must look like BACKEND:KEY=VALUE with BACKEND one of {', '.join(names)}")
        grouped.setdefault(backend, {}).update(_parse_backend_options([setting]))
    return grouped


def _cmd_compare(args: argparse.Namespace) -> int:
    _check_jobs(args)
    if args.scheduler:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise UsageError("--scheduler needs Dask: pip install 'annealrbm[dask]'") from None
    names = [name.strip() for name in args.backends.split(",") if name.strip()]
    for name in names:
        backends.describe(name)  # unknown names fail before any training starts
    if args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    if args.fidelity_samples < 0:
        raise UsageError(f"--fidelity-samples must be >= 0 (0: not measured), got {args.fidelity_samples}")
    if args.data and args.dataset != "mnist":
        raise UsageError(f"--data is the MNIST file for --dataset mnist; --dataset {args.dataset} does not read it")
    train, test = datasets.load_splits(args.dataset, args.data)
    hyper = _trainer_hyperparameters(args)
    exact = metrics.exact_is_feasible(models.build_model(args.model, train.shape[1], args.hidden), max_units=18) \
        if args.model != "rbm" else min(train.shape[1], args.hidden) <= 20
    every = args.evaluate_every or (1 if exact else args.epochs)
    defaults = {name: {**patterns.EXPERIMENT_BACKEND_OPTIONS.get(name, {}), **_qpu_options(name, args)} for name in names}
    split = (f"{len(train)} train / {len(test)} held-out examples" if args.dataset in datasets.SPLIT_NAMES else
             f"{len(train)} examples (no held-out split: the training set is scored)")
    print(f"compare on {args.dataset}: {split}, {args.model} {train.shape[1]}x{args.hidden}, "
          f"{default_dtype(train.shape[1], args.hidden) if args.dtype == 'auto' else args.dtype}, "
          f"{args.epochs} epochs, seeds 0..{args.seeds - 1}, backends {', '.join(names)}; log-likelihood "
          f"{'exact' if exact else 'by AIS'} every {every} epoch(s); {args.jobs} job(s)"
          + (f" on {args.scheduler}" if args.scheduler else ""), flush=True)
    start = time.perf_counter()
    results = compare.run_comparison(
        train, test, names, range(args.seeds), args.epochs, args.hidden, hyperparameters=hyper,
        per_backend=_parse_per_backend(args.backend_option, names), default_backend_options=defaults,
        evaluate_every=every, ais_options={"num_chains": args.ais_chains, "num_betas": args.ais_betas},
        jobs=args.jobs, scheduler=args.scheduler, dtype=None if args.dtype == "auto" else args.dtype, fidelity_samples=args.fidelity_samples,
        model=args.model, progress=not args.quiet, resume_dir=Path(args.out) / "runs",
        resume=args.resume,
    )
    paths = compare.write_outputs(results, Path(args.out), args.dataset, args.target)
    print(Path(paths["summary"]).read_text())
    print(f"wall time {time.perf_counter() - start:.1f}s; wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _cmd_qpu_check(args: argparse.Namespace) -> int:
    if args.mock:
        sampler = backends.make("qpu-mock").sampler
        print("token: not needed (emulated QPU)")
    else:
        print(f"token: {'configured (not shown)' if backends.token_is_configured(args.profile) else 'NOT configured'}")
        sampler = backends.connect(solver=args.solver, region=args.region, endpoint=args.endpoint, profile=args.profile)
    summary = backends.solver_summary(sampler, args.visible)
    print(f"solver: {summary['solver']}")
    print(f"topology: {summary['topology']}, {summary['working_qubits']} working qubits, {summary['couplers']} couplers")
    print(f"h_range: {summary['h_range']}  j_range: {summary['j_range']}")
    n = summary["largest_balanced_rbm"]
    print(f"largest RBM that fits: {n} x {n} (n_visible x n_hidden)")
    if "largest_hidden_for_visible" in summary:
        visible, hidden = summary["largest_hidden_for_visible"]
        print(f"with {visible} visible units: at most {hidden} hidden units" if hidden else
              f"with {visible} visible units: no RBM fits")
    return 0


def _trainer_hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    """The Trainer hyperparameters given on the command line; the ones left out keep the
    Trainer's defaults (and, in compare, per-backend settings)."""
    given = {key: getattr(args, key) for key in ("learning_rate", "batch_size", "optimizer", "momentum", "weight_decay")}
    return {key: value for key, value in given.items() if value is not None}


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """--optimizer, --momentum, --weight-decay and --dtype, shared by train and compare; unset,
    the first three keep the Trainer's defaults."""
    parser.add_argument("--optimizer", choices=("adam", "sgd"), help="default sgd (momentum SGD)")
    parser.add_argument("--momentum", type=float, help="Adam's beta1 or SGD's momentum (default 0.9)")
    parser.add_argument("--weight-decay", type=float,
                        help="L2 on W (default: 3e-4 for models with more than 100,000 weights, else 0)")
    parser.add_argument("--dtype", choices=("auto", "float64", "float32"), default="auto",
                        help="arithmetic of the model and the Gibbs backends; auto (default): float32 for models "
                             "with more than 100,000 weights (it about halves their epochs), else float64")


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("D-Wave connection (default: DWAVE_API_* variables, then dwave.conf)")
    group.add_argument("--solver", help="solver name or feature filter")
    group.add_argument("--region", help="Leap region, e.g. na-west-1")
    group.add_argument("--endpoint", help="SAPI endpoint URL")
    group.add_argument("--profile", help="dwave.conf profile")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage text is one --help away)."""

    def error(self, message: str):
        self.exit(2, f"annealrbm: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="annealrbm",
        description="Train Boltzmann machines with annealing-based samplers and compare them with classical ones.")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bars or progress lines (results and errors are still printed)")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("backends", help="list the sampler backends", formatter_class=_HelpFormatter)
    listing.add_argument("name", nargs="?", help="a backend whose options to list")
    listing.set_defaults(run=_cmd_backends)

    train = commands.add_parser("train", help="train an RBM (or --model) on a dataset", formatter_class=_HelpFormatter)
    train.add_argument("--dataset", help="patterns20 (default), bars-and-stripes-N, digits or mnist (with --data PATH)")
    train.add_argument("--data", metavar="PATH", help="train on your own 0/1 data (.npy or .npz) instead of --dataset; "
                       "with --dataset mnist, the binarized MNIST file (.npz or .amat)")
    train.add_argument("--data-key", metavar="KEY", help="the array to use in an .npz with several")
    train.add_argument("--backend", default="sa", help="sampler backend (see `annealrbm backends`)")
    train.add_argument("--model", choices=models.MODEL_KINDS, default="rbm",
                       help="rbm (default); semi-restricted (visible-visible couplings too); fully-connected "
                            "(every pair); dbm (--hidden lists its layers, e.g. 500,100)")
    train.add_argument("--hidden", default="8", help="number of hidden units (default 8); a DBM's layers: 6,3")
    train.add_argument("--epochs", type=int, default=200, help="passes over the data")
    train.add_argument("--seed", type=int, default=0, help="seeds the model, minibatches and sampler")
    train.add_argument("--learning-rate", type=float, default=None, help="constant learning rate (default: schedule)")
    train.add_argument("--batch-size", type=int, default=100, help="examples per update")
    _add_model_options(train)
    train.add_argument(
        "-o", "--backend-option", action="append", default=[], metavar="KEY=VALUE",
        help="backend option, repeatable, e.g. -o num_reads=500 -o num_sweeps=200",
    )
    train.add_argument("--save", metavar="PATH", help="save the trained model (.npz)")
    train.add_argument("--checkpoint", metavar="DIR", help="save a resumable checkpoint in DIR after every epoch "
                       f"(default for --backend qpu: {DEFAULT_QPU_CHECKPOINTS})")
    train.add_argument("--checkpoint-every", type=int, metavar="N",
                       help="checkpoint every N epochs (default: once 30 s have passed since the last, and at the end)")
    train.add_argument("--checkpoint-seconds", type=float, default=30.0, metavar="S",
                       help="seconds between time-based checkpoints")
    train.add_argument("--resume", action="store_true",
                       help="continue from the newest checkpoint in --checkpoint DIR (same arguments otherwise)")
    train.add_argument("--max-qpu-seconds", type=float, help="refuse to start if the QPU time estimate exceeds this")
    train.add_argument("--retries", type=int, metavar="N",
                       help="QPU: retry a failed or malformed call N times (default 4) before saving and stopping")
    train.add_argument("--retry-delay", type=float, metavar="S",
                       help="QPU: first pause between retries in seconds, doubling each time (default 2)")
    _add_connection_options(train)
    train.set_defaults(run=_cmd_train)

    evaluate = commands.add_parser("evaluate", help="log-likelihood and reconstruction of a saved model on data", formatter_class=_HelpFormatter)
    evaluate.add_argument("--model", required=True, metavar="PATH", help="a model saved by train --save")
    evaluate.add_argument("--data", required=True, metavar="PATH", help="0/1 data (.npy or .npz)")
    evaluate.add_argument("--data-key", metavar="KEY", help="the array to use in an .npz with several")
    evaluate.add_argument("--ais-chains", type=int, default=100, help="AIS chains when log Z cannot be enumerated")
    evaluate.add_argument("--ais-betas", type=int, default=14500, help="AIS intermediate distributions")
    evaluate.add_argument("--seed", type=int, default=0, help="seeds AIS and the reconstructions")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    evaluate.set_defaults(run=_cmd_evaluate)

    reproduce = commands.add_parser("reproduce", help="the 20-dimensional pattern experiment", formatter_class=_HelpFormatter)
    reproduce.add_argument("--backends", default=",".join(patterns.DEFAULT_BACKENDS), help="comma-separated backend names")
    reproduce.add_argument("--epochs", type=int, default=200, help="full-batch epochs per backend")
    reproduce.add_argument("--hidden", type=int, default=8, help="hidden units")
    reproduce.add_argument("--model", choices=("rbm", "semi-restricted", "fully-connected"), default="rbm",
                           help="also train this Boltzmann machine (the original experiment's annealer used a "
                                "fully connected one) beside the RBM")
    reproduce.add_argument("--seed", type=int, default=0, help="the shared initial weights and every stream")
    reproduce.add_argument("--jobs", type=int, default=None, help="parallel processes (default: one per core)")
    reproduce.add_argument("--out", metavar="DIR", help="write DIR/results.json and DIR/nll_per_epoch.png "
                           "(finished backends are kept in DIR/runs)")
    reproduce.add_argument("--resume", action="store_true",
                           help="load the backends an interrupted run with --out DIR finished instead of redoing them")
    reproduce.add_argument("--max-qpu-seconds", type=float, help="QPU time budget per QPU backend")
    _add_connection_options(reproduce)
    reproduce.set_defaults(run=_cmd_reproduce)

    comparison = commands.add_parser("compare", help="compare backends on one dataset over several seeds", formatter_class=_HelpFormatter)
    comparison.add_argument("--dataset", default="patterns20", help="patterns20, bars-and-stripes-N, digits or mnist")
    comparison.add_argument("--data", metavar="PATH", help="local data file for mnist (.npz or .amat)")
    comparison.add_argument("--backends", default="cd,pcd,sa,exact", help="comma-separated backend names")
    comparison.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    comparison.add_argument("--epochs", type=int, default=200, help="epochs per run")
    comparison.add_argument("--hidden", type=int, default=8, help="hidden units")
    comparison.add_argument("--model", choices=("rbm", "semi-restricted", "fully-connected"), default="rbm",
                            help="the model every backend trains (default rbm)")
    comparison.add_argument("--learning-rate", type=float, help="constant rate for every backend (default: the Trainer's schedule)")
    comparison.add_argument("--batch-size", type=int, help="examples per update (default 100)")
    _add_model_options(comparison)
    comparison.add_argument("-o", "--backend-option", action="append", default=[], metavar="BACKEND:KEY=VALUE",
                            help="per-backend backend option or hyperparameter, e.g. -o sa:num_reads=200 -o cd:learning_rate=0.05")
    comparison.add_argument("--evaluate-every", type=int, help="epochs between log-likelihood evaluations (default: every epoch when exact, else the last only)")
    comparison.add_argument("--ais-chains", type=int, default=100, help="AIS chains when log Z cannot be enumerated")
    comparison.add_argument("--ais-betas", type=int, default=14500, help="AIS intermediate distributions")
    comparison.add_argument("--target", type=float, help="held-out log-likelihood target for time-to-target")
    comparison.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel processes (default: one per core)")
    comparison.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    comparison.add_argument("--out", default="compare-results", metavar="DIR", help="output directory")
    comparison.add_argument("--resume", action="store_true",
                            help="load the runs an interrupted comparison finished (DIR/runs) instead of redoing them")
    comparison.add_argument("--max-qpu-seconds", type=float, help="QPU time budget per QPU run")
    comparison.add_argument("--fidelity-samples", type=int, default=4000, metavar="N",
                            help="samples for each run's sampler fidelity at the last epoch (0: not measured)")
    comparison.set_defaults(run=_cmd_compare)

    diagnose = commands.add_parser("diagnose", help="how faithfully a backend samples a saved model (sampler fidelity)", formatter_class=_HelpFormatter)
    diagnose.add_argument("--model", required=True, metavar="PATH", help="a model saved by train --save")
    diagnose.add_argument("--backend", required=True, help="sampler backend (see `annealrbm backends`)")
    diagnose.add_argument("-o", "--backend-option", action="append", default=[], metavar="KEY=VALUE",
                          help="backend option, repeatable, e.g. -o num_reads=1000")
    diagnose.add_argument("--num-samples", type=int, default=4000, help="samples to draw (default 4000)")
    diagnose.add_argument("--data", metavar="PATH", help="training data, for backends that start at the data (cd)")
    diagnose.add_argument("--data-key", metavar="KEY", help="the array to use in an .npz with several")
    diagnose.add_argument("--seed", type=int, default=0, help="seeds the sampler")
    diagnose.add_argument("--json", action="store_true", help="print the report as one JSON object")
    diagnose.add_argument("--max-qpu-seconds", type=float, help="QPU time budget")
    _add_connection_options(diagnose)
    diagnose.set_defaults(run=_cmd_diagnose)

    data = commands.add_parser("data", help="datasets a user can download")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="{fetch}")
    fetch_parser = data_commands.add_parser("fetch", help="download a dataset into the cache and check it",
                                            formatter_class=_HelpFormatter)
    fetch_parser.add_argument("name", help="mnist: the standard binarized MNIST (Larochelle's binarisation)")
    fetch_parser.add_argument("--dir", metavar="DIR", help="store here instead of the cache "
                              "(ANNEALRBM_DATA_DIR, else ~/.cache/annealrbm/data)")
    fetch_parser.add_argument("--url", default="http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/",
                              help="where the binarized_mnist_{train,valid,test}.amat files are")
    fetch_parser.add_argument("--force", action="store_true", help="download again even if present")
    fetch_parser.set_defaults(run=_cmd_data_fetch)

    qpu = commands.add_parser("qpu", help="D-Wave QPU utilities")
    qpu_commands = qpu.add_subparsers(dest="qpu_command", required=True)
    check = qpu_commands.add_parser("check", help="show the configured solver and the largest RBM that fits")
    check.add_argument("--mock", action="store_true", help="check the emulated QPU instead (offline)")
    check.add_argument("--visible", type=int, help="also report the most hidden units for this many visible")
    _add_connection_options(check)
    check.set_defaults(run=_cmd_qpu_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _install_warning_printer()
    try:
        return args.run(args)
    except ValueError as exc:  # bad input or configuration: the message names the problem
        print(f"annealrbm: error: {backends.redact(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a reader that stopped (e.g. `| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (RuntimeError, OSError) as exc:
        print(f"annealrbm: error: {backends.redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("annealrbm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
