import numpy as np
import pytest

from annealrbm import RBM, Trainer, metrics
from annealrbm.data import datasets
from annealrbm.gradient.estimators import Gradient
from annealrbm.experiments.patterns import EXPERIMENT_BACKEND_OPTIONS
from annealrbm.optim import Adam, DecayingRate, MomentumSGD, as_schedule, default_learning_rate, piecewise_constant
from annealrbm.validation import binary_states_uint8, check_binary_states

LN4 = np.log(4)


def train_patterns(backend, epochs=200, seed=0, **kwargs):
    data = datasets.patterns20()
    rbm = RBM(20, 8, seed=seed)
    history = Trainer(rbm, backend=backend, epochs=epochs, seed=seed, progress=False, **kwargs).fit(data)
    return rbm, history, -metrics.log_likelihood(rbm, data)


@pytest.mark.parametrize("pattern_seed", [1, 2, 3])
def test_defaults_with_exact_backend_learn_random_patterns(pattern_seed):
    data = (np.random.default_rng(pattern_seed).random((4, 20)) < 0.5).astype(float)
    assert len(np.unique(data, axis=0)) == 4
    rbm = RBM(20, 8, seed=pattern_seed)
    Trainer(rbm, backend="exact", epochs=200, seed=pattern_seed, progress=False).fit(data)
    assert -metrics.log_likelihood(rbm, data) <= LN4 + 0.15


# What each backend reaches on patterns20 (200 epochs, seed 0, the experiment's sampling
# budgets, default hyperparameters). The untrained model is at 20 ln 2 = 13.86 nats.
# CD-1 on four full-batch examples is the textbook case of CD's bias growing with the weights
# (Fischer & Igel 2010): it learns, then drifts; measured over seeds 0-5: best epoch 4.4-8.0,
# final 5.2-15.0. Its test asserts the learning, not a final figure.
@pytest.mark.parametrize(
    "backend, bound",
    [
        ("exact", LN4 + 0.1),
        pytest.param("sa", LN4 + 0.2, marks=pytest.mark.slow),
        pytest.param("gibbs", 6.0, marks=pytest.mark.slow),
        ("pcd", LN4 + 0.5),
    ],
)
def test_each_backend_learns_patterns20(backend, bound):
    options = EXPERIMENT_BACKEND_OPTIONS.get(backend)
    _, history, nll = train_patterns(backend, backend_options=options)
    assert nll <= bound
    assert -history["log_likelihood"][0] > 10  # it started far from the data
    assert np.all(history["sampler_seconds"] > 0)


def test_contrastive_divergence_learns_patterns20_before_its_bias_takes_over():
    _, history, _ = train_patterns("cd")
    nll = -history["log_likelihood"]
    assert nll[0] > 10 and nll.min() < 8.5


def test_same_seed_same_model_and_independent_of_evaluation():
    a, _, _ = train_patterns("sa", epochs=5, backend_options={"num_reads": 20, "num_sweeps": 20})
    b, _, _ = train_patterns("sa", epochs=5, backend_options={"num_reads": 20, "num_sweeps": 20}, evaluate=False)
    np.testing.assert_array_equal(a.W, b.W)
    c, _, _ = train_patterns("sa", epochs=5, seed=1, backend_options={"num_reads": 20, "num_sweeps": 20})
    assert not np.array_equal(a.W, c.W)


def test_column_major_data_trains_the_same_model():
    data = datasets.patterns20().astype(float)
    models = []
    for layout in (data, np.asfortranarray(data)):
        trainer = Trainer(RBM(20, 8, seed=0), backend="pcd", epochs=3, batch_size=2, seed=0, progress=False)
        trainer.fit(layout)
        models.append(trainer.rbm)
    np.testing.assert_array_equal(models[0].W, models[1].W)


def test_minibatches_are_the_same_for_every_backend():
    data = datasets.bars_and_stripes(3)
    seen = {}
    for backend in ("cd", "pcd"):
        batches = []

        class Recorder:
            name = backend

        trainer = Trainer(RBM(9, 4, seed=0), backend=backend, epochs=2, batch_size=5, seed=3, progress=False)
        original = trainer.backend.sample

        def record(rbm, batch, rng, original=original, batches=batches):
            batches.append(batch.copy())
            return original(rbm, batch, rng)

        trainer.backend.sample = record
        trainer.fit(data)
        seen[backend] = np.concatenate(batches)
    np.testing.assert_array_equal(seen["cd"], seen["pcd"])
    assert len(seen["cd"]) == 2 * len(data)


def test_history_records_every_epoch():
    _, history, _ = train_patterns("cd", epochs=7)
    assert len(history) == 7
    np.testing.assert_array_equal(history["epoch"], np.arange(1, 8))
    assert set(history.as_dict()) >= {"epoch", "learning_rate", "seconds", "sampler_seconds", "log_likelihood", "reconstruction_error"}
    assert np.all(history["seconds"] >= history["sampler_seconds"])


def test_callbacks_see_records_and_can_stop():
    seen = []

    def stop_at_three(record, trainer):
        seen.append(record["epoch"])
        return record["epoch"] == 3

    _, history, _ = train_patterns("cd", epochs=50, callbacks=[stop_at_three])
    assert seen == [1, 2, 3] and len(history) == 3


def test_learning_rate_schedules():
    schedule = piecewise_constant([(100, 0.1), (50, 0.01), (50, 0.001)])
    assert [schedule(e) for e in (0, 99, 100, 149, 150, 199, 500)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 0.001]
    assert as_schedule(0.3)(77) == 0.3
    _, history, _ = train_patterns("cd", epochs=4, learning_rate=[(2, 0.05), (2, 0.01)])
    np.testing.assert_array_equal(history["learning_rate"], [0.05, 0.05, 0.01, 0.01])
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        as_schedule(-0.1)
    with pytest.raises(ValueError, match="segments"):
        as_schedule([(10, -1.0)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_in_place_optimizers_equal_the_textbook_updates_bit_for_bit(dtype):
    rng = np.random.default_rng(3)
    rbm = RBM(7, 5, seed=1, dtype=dtype)
    adam, sgd, sgd_model = Adam(rbm, weight_decay=0.01), MomentumSGD(rbm.copy(), 0.9, 0.01), rbm.copy()
    plain, plain_model = MomentumSGD(rbm.copy(), 0.0), rbm.copy()
    scaled, scaled_model = MomentumSGD(rbm.copy(), 0.9, 0.01), rbm.copy()
    W_plain = rbm.W.copy()
    W, m, s, velocity = rbm.W.copy(), np.zeros_like(rbm.W), np.zeros_like(rbm.W), np.zeros_like(rbm.W)
    W_sgd = W.copy()
    for step in range(1, 6):
        direction = Gradient(*(rng.random(shape).astype(dtype) for shape in ((7, 5), (7,), (5,))))
        gradient = direction.weights - 0.01 * W
        m = 0.9 * m + (1 - 0.9) * gradient
        s = 0.999 * s + (1 - 0.999) * gradient**2
        W = W + 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(s / (1 - 0.999**step)) + 1e-8)
        adam.step(rbm, Gradient(*(x.copy() for x in direction)), 0.05)
        np.testing.assert_array_equal(rbm.W, W)
        velocity = 0.9 * velocity + 0.05 * (direction.weights - 0.01 * W_sgd)
        W_sgd = W_sgd + velocity
        sgd.step(sgd_model, Gradient(*(x.copy() for x in direction)), 0.05)
        np.testing.assert_array_equal(sgd_model.W, W_sgd)
        W_plain = W_plain + 0.05 * direction.weights
        plain.step(plain_model, Gradient(*(x.copy() for x in direction)), 0.05)
        np.testing.assert_array_equal(plain_model.W, W_plain)
        # the same momentum step from a gradient the estimator already multiplied by the rate
        scaled.step(scaled_model, Gradient(*(0.05 * x for x in direction)), 0.05, scaled=True)
        np.testing.assert_allclose(scaled_model.W, W_sgd, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_weight_decay_shrinks_weights():
    plain, _, _ = train_patterns("exact", epochs=60)
    decayed, _, _ = train_patterns("exact", epochs=60, weight_decay=0.05)
    assert np.abs(decayed.W).sum() < 0.8 * np.abs(plain.W).sum()


def test_sgd_with_momentum_also_learns():
    _, _, nll = train_patterns("exact", optimizer="sgd", learning_rate=0.5, momentum=0.5)
    assert nll < 20 * np.log(2) - 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"momentum": 1.5}, "momentum"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"backend": "nope"}, "unknown backend"),
        ({"learning_rate": "fast"}, "learning_rate must be a number, .epochs, rate. segments or a callable"),
        ({"learning_rate": float("inf")}, "finite number > 0"),
        ({"weight_decay": float("nan")}, "weight_decay"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
        ({"backend": "cd", "backend_options": {"k": 0}}, "k must be a whole number >= 1"),
        ({"backend": "sa", "backend_options": {"num_reads": 0}}, "num_reads must be a whole number >= 1"),
        ({"backend": "pcd", "backend_options": {"num_chains": -2}}, "num_chains must be a whole number >= 1"),
    ],
)
def test_bad_hyperparameters_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Trainer(RBM(4, 2, seed=0), **kwargs)


def test_bad_data_raises_before_training():
    trainer = Trainer(RBM(4, 2, seed=0), backend="cd", epochs=1)
    with pytest.raises(ValueError, match="has 3 columns"):
        trainer.fit(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        trainer.fit(np.array([[0, 1, np.nan, 0]]))
    with pytest.raises(ValueError, match=r"outside \{0, 1\}"):
        trainer.fit(np.array([[0, 2, 1, 0]]))


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int8, np.int64, np.float32, np.float64])
def test_training_data_is_checked_and_kept_as_uint8_from_any_dtype(dtype):
    states = (np.random.default_rng(0).random((6, 4)) < 0.5).astype(dtype)
    kept = binary_states_uint8(states, 4)
    assert kept.dtype == np.uint8
    assert binary_states_uint8(np.asfortranarray(states), 4).flags.c_contiguous  # rows gathered every epoch
    np.testing.assert_array_equal(kept, check_binary_states(states, 4))


@pytest.mark.parametrize(
    "bad, message",
    [
        ([[0, 1, np.nan, 0]], "NaN"), ([[0, np.inf, 1, 0]], "NaN"), ([[0, 2.0, 1, 0]], r"outside \{0, 1\}"),
        ([[0, 0.5, 1, 0]], r"outside \{0, 1\}"), ([[0, -1.0, 1, 0]], r"outside \{0, 1\}"),
        ([[0, 256.0, 1, 0]], r"outside \{0, 1\}"), (np.array([[0, 2, 1, 0]], np.uint8), r"outside \{0, 1\}"),
        (np.array([[0, -1, 1, 0]], np.int8), r"outside \{0, 1\}"), (np.zeros((0, 4)), "empty"),
        (np.zeros((2, 3)), "has 3 columns"), (np.zeros((2, 2, 4)), "2-D"), ([["a", "b", "c", "d"]], "numeric"),
    ],
)
def test_training_data_errors_are_those_of_the_float_check(bad, message):
    with pytest.raises(ValueError, match=message):
        binary_states_uint8(bad, 4)


def test_default_schedule_holds_then_decays_to_a_tenth_and_shrinks_with_minibatches():
    schedule = DecayingRate(0.5, 201)
    assert schedule(0) == schedule(100) == 0.5
    assert schedule(150) == pytest.approx(0.5 * 0.1**0.5) and schedule(200) == pytest.approx(0.05)
    assert schedule(500) == pytest.approx(0.05)
    full_batch = default_learning_rate("sgd", 200, 1)
    assert full_batch(0) == 0.5 and default_learning_rate("sgd", 200, 100)(0) == pytest.approx(0.05)
    assert default_learning_rate("adam", 200, 1)(0) == 0.1
    # wide hidden layers take smaller steps: 784x500 MNIST, 500 minibatches per epoch
    assert default_learning_rate("sgd", 200, 500, n_hidden=16)(0) == pytest.approx(0.5 / np.sqrt(500))
    assert default_learning_rate("sgd", 200, 500, n_hidden=500)(0) == pytest.approx(0.5 / np.sqrt(500) * np.sqrt(16 / 500))
    trainer = Trainer(RBM(20, 8, seed=0), backend="cd", epochs=10, seed=0, progress=False)
    trainer.fit(datasets.patterns20())
    np.testing.assert_allclose(trainer.history["learning_rate"], [DecayingRate(0.5, 10)(e) for e in range(10)])


def test_weight_decay_defaults_to_a_little_for_large_rbms_only():
    from annealrbm.models import build_model
    from annealrbm.training.trainer import DEFAULT_LARGE_MODEL_WEIGHT_DECAY, default_weight_decay

    assert DEFAULT_LARGE_MODEL_WEIGHT_DECAY > 0
    assert default_weight_decay(RBM(784, 500)) == DEFAULT_LARGE_MODEL_WEIGHT_DECAY  # 392,000 weights
    assert default_weight_decay(RBM(784, 16)) == 0 and default_weight_decay(RBM(20, 8)) == 0
    assert default_weight_decay(build_model("fully-connected", 600, 400, seed=0)) == 0  # not an RBM
    large = Trainer(RBM(784, 500, seed=0), backend="cd", progress=False)
    assert large.optimizer.weight_decay == DEFAULT_LARGE_MODEL_WEIGHT_DECAY
    assert Trainer(RBM(784, 500, seed=0), backend="cd", weight_decay=0, progress=False).optimizer.weight_decay == 0
    adam = Trainer(RBM(784, 500, seed=0), backend="cd", optimizer="adam", progress=False)
    assert adam.optimizer.weight_decay == DEFAULT_LARGE_MODEL_WEIGHT_DECAY
    assert Trainer(RBM(20, 8, seed=0), backend="cd", progress=False).optimizer.weight_decay == 0


def test_the_trained_model_is_the_average_of_the_last_quarter_of_epochs():
    seen = []

    def record(_, trainer):
        seen.append([p.copy() for p in (trainer.rbm.W, trainer.rbm.visible_bias, trainer.rbm.hidden_bias)])

    rbm, history, _ = train_patterns("pcd", epochs=12, callbacks=[record])
    for index, parameter in enumerate((rbm.W, rbm.visible_bias, rbm.hidden_bias)):
        np.testing.assert_allclose(parameter, np.mean([s[index] for s in seen[9:]], axis=0), rtol=1e-12)
    # each epoch is evaluated on the model training would return: the average once it has begun
    assert history["log_likelihood"][-1] == pytest.approx(metrics.log_likelihood(rbm, datasets.patterns20()))
    last, _, _ = train_patterns("pcd", epochs=12, averaging=None)
    np.testing.assert_array_equal(last.W, seen[-1][0])  # without averaging: the last iterate
    with pytest.raises(ValueError, match="averaging must be a fraction"):
        Trainer(RBM(4, 2), averaging=1.5)


def test_adam_and_the_uncentred_gradient_remain_available():
    _, _, nll = train_patterns("exact", epochs=100, optimizer="adam", centering=False)
    assert nll < 20 * np.log(2) - 8


def test_backends_are_told_the_final_phase_and_sa_anneals_longer_there():
    from annealrbm.backends import SimulatedAnnealing

    class Recording(SimulatedAnnealing):
        def __init__(self, **options):
            super().__init__(**options)
            self.sweeps = []

        def call_kwargs(self, rbm, rng):
            kwargs = super().call_kwargs(rbm, rng)
            self.sweeps.append(kwargs["num_sweeps"])
            return kwargs

    data = datasets.random_patterns(0)
    for averaging, factor, expected in ((0.25, 3.0, [10] * 6 + [30] * 2), (None, 2.0, [10] * 6 + [20] * 2),
                                        (0.5, 1.0, [10] * 8)):
        backend = Recording(num_reads=10, num_sweeps=10, final_sweep_factor=factor)
        Trainer(RBM(20, 4, seed=0), backend=backend, epochs=8, averaging=averaging, seed=0, progress=False,
                evaluate=False).fit(data)
        assert backend.sweeps == expected
    with pytest.raises(ValueError, match="final_sweep_factor"):
        SimulatedAnnealing(final_sweep_factor=0.5)
