import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from annealrbm import RBM, Trainer, backends, metrics
from annealrbm.data import datasets
from annealrbm.cli import main


def test_backends_lists_every_registered_name(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out.split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in out] == backends.available()
    assert all(len(line.split(None, 1)) == 2 for line in out)


def test_backends_name_lists_its_options_with_defaults(capsys):
    assert main(["backends", "sa"]) == 0
    out = capsys.readouterr().out
    assert "-o num_reads" in out and "(default 100)" in out and "-o num_sweeps" in out and "(default 1000)" in out


def test_train_saves_a_model_that_loads(tmp_path, capsys):
    path = tmp_path / "bas.npz"
    code = main(["train", "--dataset", "bars-and-stripes-2", "--backend", "exact", "--hidden", "4",
                 "--epochs", "300", "--seed", "3", "--save", str(path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "exact NLL" in out and "saved model" in out
    rbm = RBM.load(path)
    data = datasets.bars_and_stripes(2)
    nll = -metrics.log_likelihood(rbm, data)
    assert f"exact NLL {nll:.4f}" in out  # the summary reports the saved model's figure
    assert nll < np.log(6) + 0.2  # optimum ln 6 = 1.792; uniform over 4 bits is ln 16 = 2.773


def test_ctrl_c_during_the_final_evaluation_keeps_the_saved_model(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(metrics, "reconstruction_accuracy", interrupted)
    path = tmp_path / "model.npz"
    code = main(["train", "--dataset", "bars-and-stripes-2", "--backend", "cd", "--hidden", "4", "--epochs", "3",
                 "--save", str(path)])
    assert code == 130 and capsys.readouterr().err == "annealrbm: interrupted\n"
    assert RBM.load(path).n_hidden == 4


def test_train_passes_backend_options(capsys):
    assert main(["train", "--backend", "sa", "--epochs", "2", "-o", "num_reads=5", "-o", "num_sweeps=10",
                 "-o", "beta_range=0.1,1.0"]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--backend", "nope"], "unknown backend 'nope'"),
        (["train", "--dataset", "mnist-typo"], "unknown dataset"),
        (["train", "--epochs", "0"], "epochs must be a whole number >= 1"),
        (["train", "--hidden", "0"], "n_hidden"),
        (["train", "-o", "num_reads"], "KEY=VALUE"),
        (["train", "-o", "num_raeds=3"], "has no option 'num_raeds'"),
        (["reproduce", "--backends", "exact,bogus"], "unknown backend 'bogus'"),
    ],
)
def test_bad_input_prints_one_line_and_exits_2(argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and message in captured.err
    assert captured.err.startswith("annealrbm: error: ")


def test_reproduce_writes_results_and_plot(tmp_path, capsys):
    code = main(["reproduce", "--backends", "exact,cd", "--epochs", "60", "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert out.count("\u25a0") > 100 and "\u25a1" in out  # ■ and □ rows
    rows = json.loads((tmp_path / "results.json").read_text())
    assert [row["backend"] for row in rows] == ["exact", "cd"]
    keys = {"backend", "epochs", "seconds_per_epoch", "nll", "optimal_nll", "kl", "reconstruction_accuracy"}
    for row in rows:
        assert keys <= set(row)
        assert row["epochs"] == 60
        assert row["optimal_nll"] == pytest.approx(np.log(4))
        assert row["kl"] == pytest.approx(row["nll"] - np.log(4), abs=1e-9)  # uniform data: KL = NLL - H
    assert rows[0]["nll"] < 2.0  # exact gradient: close to ln 4 after 60 epochs
    png = (tmp_path / "nll_per_epoch.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000
    assert f"{rows[0]['nll']:.3f}" in out


def test_installed_console_script_fails_in_one_line(tmp_path):
    script = Path(sys.executable).parent / "annealrbm"
    result = subprocess.run([str(script), "train", "--epochs", "0"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "annealrbm: error: epochs must be a whole number >= 1, got 0"
    assert "Traceback" not in result.stderr


def test_bad_files_and_values_print_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ANNEALRBM_DATA_DIR", str(tmp_path / "no-data-here"))
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan]]))
    np.save(tmp_path / "twos.npy", np.array([[0, 2]]))
    np.save(tmp_path / "empty.npy", np.zeros((0, 5)))
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    np.save(tmp_path / "text.npy", np.array([["0", "1"]]))
    np.save(tmp_path / "wide.npy", np.zeros((3, 21)))
    np.savez(tmp_path / "multi.npz", a=np.zeros((2, 3)), b=np.ones((2, 3)))
    (tmp_path / "data.csv").write_text("0,1\n")
    RBM(20, 8, seed=0).save(tmp_path / "model.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    cases = [
        (["train", "--data", "nan.npy"], "NaN"),
        (["evaluate", "--model", "wide.npy", "--data", "wide.npy"], "single array (.npy)"),
        (["train", "--checkpoint", "wide.npy"], "is an existing file"),
        (["reproduce", "--jobs", "0"], "--jobs must be >= 1"),
        (["compare", "--jobs", "0"], "--jobs must be >= 1"),
        (["train", "--model", "rbm", "--hidden", "6,3"], "DBM"),
        (["train", "--data", "twos.npy"], "outside {0, 1}"),
        (["train", "--data", "empty.npy"], "is empty"),
        (["train", "--data", "cube.npy"], "2-D array"),
        (["train", "--data", "text.npy"], "numeric"),
        (["train", "--data", "missing.npy"], "not found"),
        (["train", "--data", "multi.npz"], "--data-key"),
        (["train", "--data", "multi.npz", "--data-key", "c"], "no split 'c'"),
        (["train", "--data", "data.csv"], ".npy or .npz"),
        (["train", "--data-key", "x"], "--data-key needs --data"),
        (["train", "--learning-rate", "-1"], "learning_rate must be a finite number > 0"),
        (["train", "--learning-rate", "nan"], "learning_rate must be a finite number > 0"),
        (["train", "--backend", "cd", "-o", "k=0"], "k must be a whole number >= 1"),
        (["train", "--backend", "sa", "-o", "num_reads=0"], "num_reads must be a whole number >= 1"),
        (["train", "--batch-size", "0"], "batch_size must be a whole number >= 1"),
        (["train", "--checkpoint", "ck", "--checkpoint-every", "0"], "checkpoint_every must be a whole number >= 1"),
        (["train", "--resume"], "--resume needs --checkpoint DIR"),
        (["train", "--checkpoint", "nothing-here", "--resume"], "no checkpoint to resume from"),
        (["train", "--epochs", "many"], "invalid int value: 'many'"),
        (["train", "--dataset", "mnist"], "annealrbm data fetch mnist"),
        (["train", "--dataset", "bars-and-stripes-2", "--data", "twos.npy"], "leave out --dataset bars-and-stripes-2"),
        (["train", "--dataset", "digits", "--data-key", "x"], "--data-key is for your own .npz"),
        (["train", "--dataset", "digits", "--data", "twos.npy"], "--dataset digits is built in and reads no file"),
        (["train", "--dtype", "float16"], "invalid choice: 'float16'"),
        (["train", "--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
        (["train", "--momentum", "1"], "momentum must be in [0, 1)"),
        (["compare", "--data", "twos.npy"], "--data is the MNIST file for --dataset mnist"),
        (["evaluate", "--model", "model.npz", "--data", "wide.npy"], "has 21 columns but the model"),
        (["evaluate", "--model", "broken.npz", "--data", "wide.npy"], "not a valid annealrbm model file"),
        (["evaluate", "--model", "wide.npy"], "required: --data"),
    ]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for argv, message in cases:
            try:
                code = main(argv)
            except SystemExit as exit:  # argparse's own errors
                code = exit.code
            err = capsys.readouterr().err
            assert code == 2 and err.count("\n") == 1 and message in err, (argv, err)
            assert err.startswith("annealrbm: error: ")
    finally:
        os.chdir(cwd)


def test_train_on_a_user_file_then_evaluate_it(tmp_path, capsys):
    np.save(tmp_path / "data.npy", datasets.bars_and_stripes(3).astype(np.uint8))
    assert main(["train", "--data", str(tmp_path / "data.npy"), "--backend", "exact", "--hidden", "6", "--epochs", "60",
                 "--save", str(tmp_path / "model.npz")]) == 0
    trained = capsys.readouterr().out
    assert main(["evaluate", "--model", str(tmp_path / "model.npz"), "--data", str(tmp_path / "data.npy")]) == 0
    out = capsys.readouterr().out
    nll = float(re.search(r"exact NLL ([\d.]+)", trained).group(1))
    ll = float(re.search(r"log-likelihood (-[\d.]+) nats per example \(exact log Z\)", out).group(1))
    assert ll == pytest.approx(-nll, abs=1e-4) and nll < 9 * np.log(2) - 0.5  # learned: below uniform
    assert "reconstruction accuracy" in out


def test_train_options_reach_the_model_and_trainer(tmp_path, capsys, monkeypatch):
    seen = {}
    original_fit = Trainer.fit

    def recording_fit(self, data, resume=False):
        seen.update(dtype=self.rbm.dtype, optimizer=type(self.optimizer).__name__, data=data)
        seen.update(momentum=getattr(self.optimizer, "momentum", None), weight_decay=self.optimizer.weight_decay)
        return original_fit(self, data, resume)

    monkeypatch.setattr(Trainer, "fit", recording_fit)
    path = tmp_path / "digits.npz"
    assert main(["train", "--dataset", "digits", "--backend", "cd", "--hidden", "12", "--epochs", "2", "--dtype", "float32",
                 "--optimizer", "sgd", "--momentum", "0.5", "--weight-decay", "0.001", "--save", str(path)]) == 0
    out = capsys.readouterr().out
    train, held_out = datasets.load_splits("digits")
    assert seen["dtype"] == np.float32 and seen["optimizer"] == "MomentumSGD"
    assert seen["momentum"] == 0.5 and seen["weight_decay"] == 0.001
    assert np.array_equal(seen["data"], train)  # the training split only
    rbm = RBM.load(path)
    assert rbm.W.dtype == np.float32
    log_z = metrics.log_partition_function(rbm)
    held_out_nll = -metrics.log_likelihood(rbm, held_out, log_z)
    assert f"held-out exact NLL {held_out_nll:.4f} nats ({len(held_out)} examples)" in out
    assert "held-out reconstruction accuracy" in out and " nll " in out  # exact per-epoch NLL: 12 hidden units


def test_train_without_an_exact_likelihood_leaves_the_column_out(capsys):
    assert main(["train", "--dataset", "digits", "--backend", "cd", "--hidden", "24", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "recon_err" in out and "nll" not in out.lower() and "nan" not in out


def test_train_and_evaluate_other_models(tmp_path, capsys):
    from annealrbm import load_model

    path = tmp_path / "dbm.npz"
    assert main(["train", "--model", "dbm", "--dataset", "bars-and-stripes-3", "--hidden", "6,3", "--backend", "exact",
                 "--epochs", "200", "--save", str(path)]) == 0
    model = load_model(path)
    assert type(model).__name__ == "DBM" and model.layer_sizes == [9, 6, 3]
    nll = -metrics.log_likelihood(model, datasets.bars_and_stripes(3))
    assert f"exact NLL {nll:.4f}" in capsys.readouterr().out
    np.save(tmp_path / "bas3.npy", datasets.bars_and_stripes(3))
    assert main(["evaluate", "--model", str(path), "--data", str(tmp_path / "bas3.npy"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == "exact" and report["log_likelihood"] == pytest.approx(-nll, abs=1e-9)


def test_reproduce_runs_the_fully_connected_model_beside_the_rbm(capsys):
    assert main(["reproduce", "--model", "fully-connected", "--backends", "cd,exact", "--epochs", "3", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "exact not run" in out and "treewidth 27" in out  # 28 fully connected units: too wide to sample exactly
    assert re.search(r"^cd \(fully-connected\)\s+3\s", out, re.M) and re.search(r"^exact\s+3\s", out, re.M)


def test_a_resumed_finished_run_says_it_is_complete(tmp_path, capsys):
    args = ["train", "--backend", "cd", "--epochs", "4", "--checkpoint", str(tmp_path / "ck")]
    assert main(args) == 0
    assert "done: 4 epochs (4 in this run)" in capsys.readouterr().out
    assert main([*args, "--resume"]) == 0
    assert "already complete: the checkpoint holds all 4 epochs" in capsys.readouterr().out


def test_quiet_prints_results_without_progress(capsys):
    assert main(["--quiet", "reproduce", "--backends", "cd,exact", "--epochs", "3", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "finished" not in out and re.search(r"^exact\s+3\s", out, re.M)
    assert main(["--quiet", "train", "--backend", "cd", "--epochs", "20"]) == 0
    out = capsys.readouterr().out
    assert "epoch    20" not in out and "exact NLL" in out


def test_reproduce_resume_loads_finished_backends_and_prints_the_same_results(tmp_path, capsys):
    args = ["reproduce", "--backends", "cd,exact", "--epochs", "5", "--jobs", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    first = capsys.readouterr().out
    next(tmp_path.glob("runs/rbm-cd-*.json")).unlink()  # cd as if interrupted before it finished
    assert main([*args, "--resume"]) == 0
    again = capsys.readouterr().out
    assert "1 of 2 backends were finished before" in again
    def table(text):
        return [line.split()[4:] for line in text.splitlines() if re.match(r"^(cd|exact)\s+5\s", line)]

    assert table(first) == table(again) and len(table(first)) == 2  # NLL, optimum, KL, accuracy
