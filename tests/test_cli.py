import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from annealrbm import RBM, backends, datasets, metrics
from annealrbm.cli import main


def test_backends_lists_every_registered_name(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == backends.available()
    assert all(len(line.split(None, 1)) == 2 for line in out)


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
