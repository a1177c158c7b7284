"""Restarting redundant hidden units: detection, a merge that keeps the distribution, and the
trainer's schedule and bookkeeping."""
import numpy as np
import pytest

from annealrbm import RBM, Trainer, metrics
from annealrbm.gradient import unit_restarts
from annealrbm.gradient.unit_restarts import check_epochs, redundant_pair, restart_redundant_unit, unexplained_visible_units
from annealrbm.data.datasets import random_patterns


def trained_without_restarts(pattern_seed: int) -> tuple[RBM, np.ndarray]:
    """A 20x8 RBM trained with the exact gradient and no restarts: saturated, with twins."""
    data = random_patterns(pattern_seed)
    rbm = RBM(20, 8, seed=0)
    Trainer(rbm, backend="exact", epochs=200, seed=0, learning_rate=0.5, averaging=None, restart_units=False,
            progress=False, evaluate=False).fit(data)
    return rbm, data


# without restarts, sets 1004 and 2057 stall in a saddle with one visible unit unexplained; the
# twins are a unit and its complement (1004) or two units of one code (2057)
@pytest.mark.parametrize("pattern_seed, same_sign", [(2057, True), (1004, False)])
def test_twins_are_found_and_merged_without_changing_the_likelihood(pattern_seed, same_sign):
    rbm, data = trained_without_restarts(pattern_seed)
    probs = rbm.hidden_probs(data)
    assert len(unexplained_visible_units(rbm, data, probs)) == 1
    kept, unit, same = redundant_pair(probs)
    assert same == same_sign
    np.testing.assert_array_equal(probs[:, kept] > 0.5, (probs[:, unit] > 0.5) == same)
    before = metrics.log_likelihood(rbm, data)
    assert restart_redundant_unit(rbm, data, np.random.default_rng(0)) == unit
    assert np.abs(rbm.W[:, unit]).max() < 0.1  # restarted from small weights
    assert abs(rbm.hidden_probs(data)[:, unit] - 0.5).max() < 0.05  # its input centred on the data
    assert metrics.log_likelihood(rbm, data) == pytest.approx(before, abs=1e-3)
    assert before > -2.5  # trained: far above the untrained 20 ln 2 = 13.9 nats


def test_a_model_that_explains_every_visible_unit_keeps_its_twins():
    rbm, data = trained_without_restarts(1002)  # reaches the optimum without restarts
    probs = rbm.hidden_probs(data)
    assert redundant_pair(probs) is not None and not len(unexplained_visible_units(rbm, data, probs))
    W = rbm.W.copy()
    assert restart_redundant_unit(rbm, data, np.random.default_rng(0)) is None
    np.testing.assert_array_equal(rbm.W, W)


def test_no_restart_without_saturated_twins():
    rbm = RBM(12, 4, seed=0)  # small random weights: nothing saturated
    data = np.random.default_rng(1).integers(0, 2, (30, 12)).astype(float)
    assert redundant_pair(rbm.hidden_probs(data)) is None
    W = rbm.W.copy()
    assert restart_redundant_unit(rbm, data, np.random.default_rng(0)) is None
    np.testing.assert_array_equal(rbm.W, W)


def test_check_epochs_fall_before_averaging_and_inside_the_run():
    assert check_epochs(200, 150) == {10, 20, 30}
    assert check_epochs(200, 25) == {10, 20}  # averaging from epoch 25 on: no check at 30
    assert check_epochs(4, 3) == {1}
    assert check_epochs(1, 1) == set()


def test_trainer_records_restarts_and_turns_them_off():
    data = random_patterns(1004)  # a set whose training needs a restart (see test_training_targets)
    rbm = RBM(20, 8, seed=0)
    history = Trainer(rbm, backend="exact", epochs=200, seed=0, progress=False, evaluate=False).fit(data)
    restarted = {record["epoch"]: record["units_restarted"] for record in history.records if "units_restarted" in record}
    assert set(restarted) == {10, 20, 30}
    assert sum(restarted.values()) >= 1
    off = Trainer(RBM(20, 8, seed=0), backend="exact", epochs=200, seed=0, progress=False, evaluate=False,
                  restart_units=False).fit(data)
    assert not any("units_restarted" in record for record in off.records)


def test_restarts_resume_bit_identically(tmp_path):
    data = random_patterns(1004)
    full = RBM(20, 8, seed=0)
    Trainer(full, backend="pcd", epochs=40, seed=3, progress=False, evaluate=False).fit(data)
    stop_after_the_first_restart = [lambda record, trainer: record["epoch"] == 15]
    Trainer(RBM(20, 8, seed=0), backend="pcd", epochs=40, seed=3, progress=False, evaluate=False,
            checkpoint_dir=tmp_path, checkpoint_every=1, callbacks=stop_after_the_first_restart).fit(data)
    resumed = RBM(20, 8, seed=0)
    Trainer(resumed, backend="pcd", epochs=40, seed=3, progress=False, evaluate=False,
            checkpoint_dir=tmp_path, checkpoint_every=1).fit(data, resume=True)
    np.testing.assert_array_equal(resumed.W, full.W)
    np.testing.assert_array_equal(resumed.hidden_bias, full.hidden_bias)


def test_module_constants_are_the_documented_schedule():
    assert unit_restarts.CHECK_FRACTIONS == (0.05, 0.1, 0.15)
