import csv

import numpy as np
import pytest

from annealrbm import RBM, Trainer, metrics
from annealrbm.experiments import compare
from annealrbm.data import datasets
from annealrbm.cli import main
from helpers import random_rbm

TIMING = {"wall_seconds", "sampler_seconds"}


def small_comparison(**kwargs):
    train = datasets.bars_and_stripes(3)
    return compare.run_comparison(train, train, ["exact", "cd", "sa"], [0, 1], 6, 6,
                                  per_backend={"sa": {"num_reads": 50, "num_sweeps": 50}}, **kwargs)


def without_timing(results):
    return [[{k: v for k, v in row.items() if k not in TIMING} for row in r.rows] for r in results]


def test_every_backend_starts_from_the_same_model_and_minibatches():
    train = datasets.bars_and_stripes(3)
    batches = {}
    for backend in ("cd", "pcd"):
        spec = compare.RunSpec(backend, seed=4, epochs=1, n_hidden=5, hyperparameters={"batch_size": 4})
        seen = []
        original = Trainer._train_epoch

        def spy(self, data, epoch, seen=seen):
            seen.append((self.rbm.W.copy(), self.data_rng.bit_generator.state["state"]["state"]))
            return original(self, data, epoch)

        Trainer._train_epoch = spy
        try:
            compare.run_one(spec, train, train)
        finally:
            Trainer._train_epoch = original
        batches[backend] = seen[0]
    np.testing.assert_array_equal(batches["cd"][0], batches["pcd"][0])  # same initial weights
    assert batches["cd"][1] == batches["pcd"][1]  # same minibatch stream


def test_parallel_runs_equal_serial_runs():
    serial = small_comparison(jobs=1)
    parallel = small_comparison(jobs=2)
    assert without_timing(serial) == without_timing(parallel)
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a.W, b.W)


def test_float32_runs_equal_a_float32_trainer_from_the_same_seed():
    train = datasets.bars_and_stripes(3)
    [run32] = compare.run_comparison(train, train, ["cd"], [2], 3, 5, dtype="float32")
    [run64] = compare.run_comparison(train, train, ["cd"], [2], 3, 5)
    assert run32.W.dtype == np.float32 and run64.W.dtype == np.float64
    by_hand = RBM(9, 5, seed=2, dtype="float32")
    Trainer(by_hand, backend="cd", epochs=3, seed=2, progress=False, evaluate=False).fit(train)
    np.testing.assert_array_equal(run32.W, by_hand.W)
    np.testing.assert_array_equal(run32.model().hidden_bias, by_hand.hidden_bias)


def test_runs_on_a_dask_cluster_equal_serial_runs():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_cluster = small_comparison(scheduler=cluster.scheduler_address)
    assert without_timing(on_cluster) == without_timing(small_comparison(jobs=1))


def test_outputs_csv_summary_and_plots(tmp_path):
    results = small_comparison(jobs=1)
    paths = compare.write_outputs(results, tmp_path, "bars-and-stripes-3")
    with open(paths["csv"]) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 2 * 6
    assert set(compare.CSV_COLUMNS) == set(rows[0])
    exact_last = [r for r in rows if r["backend"] == "exact" and r["epoch"] == "6"]
    model = RBM.load(tmp_path / "models" / "exact_seed0.npz")
    assert float(exact_last[0]["test_log_likelihood"]) == pytest.approx(metrics.log_likelihood(model, datasets.bars_and_stripes(3)))
    summary = paths["summary"].read_text()
    table, target = compare.summarise(results)
    assert [row["backend"] for row in table] == sorted({"exact", "cd", "sa"}, key=lambda b: -next(r["final_mean"] for r in table if r["backend"] == b))
    assert f"| 1 | {table[0]['backend']} |" in summary and f"{target:.3f}" in summary
    for key in ("ll_vs_epoch", "ll_vs_wall", "filters", "samples"):  # 3x3 images get filters and samples
        assert paths[key].read_bytes()[:4] == b"\x89PNG"


def test_compare_command_on_patterns20_ranks_exact_first(tmp_path, capsys):
    code = main(["compare", "--dataset", "patterns20", "--backends", "cd,exact", "--seeds", "2", "--epochs", "80",
                 "--out", str(tmp_path), "--jobs", "1"])
    assert code == 0
    summary = (tmp_path / "summary.md").read_text()
    assert "| 1 | exact |" in summary and "| 2 | cd |" in summary
    assert (tmp_path / "results.csv").exists() and not (tmp_path / "filters.png").exists()  # not an image dataset


def test_compare_rejects_bad_per_backend_settings(capsys):
    assert main(["compare", "--backends", "cd", "-o", "sa:num_reads=3"]) == 2
    assert "BACKEND:KEY=VALUE" in capsys.readouterr().err


def synthetic_images(n, n_visible, seed):
    """Noisy copies of a few random prototypes: structured data a 784-unit RBM can learn."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((5, n_visible)) < 0.15
    data = prototypes[rng.integers(5, size=n)] ^ (rng.random((n, n_visible)) < 0.03)
    return data.astype(float)


@pytest.mark.parametrize("shape, data", [pytest.param((784, 16), "synthetic", marks=pytest.mark.slow), ((64, 20), "digits")])
def test_ais_agrees_with_the_exact_log_z_on_trained_models(shape, data):
    train = synthetic_images(500, 784, seed=1) if data == "synthetic" else datasets.digits()[0]
    rbm = RBM(*shape, seed=0)
    Trainer(rbm, backend="cd", epochs=5, batch_size=20, optimizer="sgd", learning_rate=0.05, momentum=0.5,
            weight_decay=1e-3, seed=0, progress=False, evaluate=False).fit(train)
    exact = metrics.log_partition_function(rbm)
    assert metrics.log_likelihood(rbm, train, exact) > -0.6 * shape[0] * np.log(2)  # trained: far above uniform
    log_z, error = metrics.ais_log_partition_function(rbm, train, seed=0)
    # within 3 of its own standard errors, which must be small: on 784x16 (three training seeds x
    # three AIS seeds) the error was -0.27..+0.09 with standard errors 0.08-0.43, see the AIS docstring
    assert 0 < error < 0.2
    assert log_z == pytest.approx(exact, abs=3 * error)


def test_ais_without_data_starts_from_the_uniform_model():
    rbm = RBM(30, 6, seed=1, weight_scale=0.5)
    log_z, _ = metrics.ais_log_partition_function(rbm, None, num_chains=200, num_betas=3000, seed=1)
    assert log_z == pytest.approx(metrics.log_partition_function(rbm), abs=0.05)


def test_held_out_likelihood_by_ais_comes_with_a_conservative_figure_and_a_flagged_gap():
    rbm = random_rbm(30, 21, seed=2, scale=0.3)  # 21 hidden: AIS (exact still affordable to check)
    rng = np.random.default_rng(0)
    train, test = (rng.random((200, 30)) < 0.5).astype(float), (rng.random((100, 30)) < 0.5).astype(float)
    row = compare._log_likelihoods(rbm, train, test, seed=0, ais_options={"num_betas": 2000})
    exact = metrics.log_likelihood(rbm, test)
    assert row["log_likelihood_method"] == "ais"
    assert row["test_log_likelihood_conservative"] <= row["test_log_likelihood"]
    assert row["test_log_likelihood_conservative"] == pytest.approx(exact, abs=0.3)
    assert row["test_log_likelihood"] == pytest.approx(exact, abs=0.3)
    base = {"backend": "pcd", "runs": 1, "final_std": 0.0, "best_mean": -90.0, "best_std": 0.0, "reached": 0,
            "wall_mean": 1.0, "sampler_mean": 1.0, "qpu_mean": 0.0}
    text = compare.summary_markdown([{**base, "final_mean": -90.0, "conservative_mean": -93.5}], -95.0, "t")
    assert "-93.500 (! gap 3.5)" in text
    text = compare.summary_markdown([{**base, "final_mean": -90.0, "conservative_mean": -90.4}], -95.0, "t")
    assert "-90.400 |" in text and "!" not in text.split("\n")[-2]


def test_compare_trains_other_models_from_the_same_start():
    train = datasets.bars_and_stripes(3)
    runs = compare.run_comparison(train, train, ["exact", "pcd"], [0], 20, 3, model="semi-restricted", fidelity_samples=0)
    assert all(type(run.model()).__name__ == "BoltzmannMachine" for run in runs)
    assert all(run.rows[-1]["log_likelihood_method"] == "exact" for run in runs)
    # both improved on the shared initial model (about -6.24 nats)
    assert all(run.rows[-1]["test_log_likelihood"] > -4.0 for run in runs)


def test_resume_loads_finished_runs_and_gives_the_same_results(tmp_path):
    train = datasets.bars_and_stripes(3)
    first = compare.run_comparison(train, train, ["cd", "pcd"], [0, 1], 5, 3, fidelity_samples=0, resume_dir=tmp_path)
    kept = sorted(p.name for p in tmp_path.glob("*.json"))
    assert len(kept) == 4
    (tmp_path / kept[0]).unlink()  # as if that run had been interrupted
    again = compare.run_comparison(train, train, ["cd", "pcd"], [0, 1], 5, 3, fidelity_samples=0, resume_dir=tmp_path,
                                   resume=True)
    assert without_timing(again) == without_timing(first)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.W, b.W)
    # other settings are not taken from the kept runs
    other = compare.run_comparison(train, train, ["cd"], [0], 6, 3, fidelity_samples=0, resume_dir=tmp_path, resume=True)
    assert other[0].rows[-1]["epoch"] == 6


def test_a_slow_run_reports_its_progress_at_every_tenth_of_its_epochs(capsys, monkeypatch):
    monkeypatch.setattr(compare, "PROGRESS_SECONDS", 0.0)  # every run counts as slow
    train = datasets.bars_and_stripes(3)
    spec = compare.RunSpec("cd", seed=0, epochs=20, n_hidden=4, fidelity_samples=0, report_progress=True)
    result = compare.run_one(spec, train, train)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[:-1]] == [f"  cd seed 0: epoch {e}/20" for e in range(2, 20, 2)]
    log_likelihood = result.rows[1]["test_log_likelihood"]  # epoch 2
    assert f"log-likelihood {log_likelihood:.3f}" in lines[0]
    assert lines[-1].startswith("  cd seed 0 finished:")
    monkeypatch.setattr(compare, "PROGRESS_SECONDS", 1e9)  # a fast run prints only its final line
    compare.run_one(spec, train, train)
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_compare_says_when_its_likelihoods_use_the_mean_field_bound(tmp_path):
    code = main(["--quiet", "compare", "--dataset", "bars-and-stripes-3", "--model", "fully-connected", "--hidden", "22",
                 "--backends", "pcd", "--seeds", "1", "--epochs", "1", "--ais-betas", "200", "--out", str(tmp_path)])
    assert code == 0
    assert "mean-field lower bound" in (tmp_path / "summary.md").read_text()
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert rows[-1]["free_energy"] == "mean-field bound" and float(rows[-1]["test_log_likelihood"]) < 0
