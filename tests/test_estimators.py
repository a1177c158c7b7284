import numpy as np
import pytest

from annealrbm import RBM, Trainer, backends, metrics
from annealrbm.gradient.estimators import (Centering, GradientEstimator, centred, negative_hidden, negative_statistics,
                                  positive_statistics, statistics_difference)
from annealrbm.models.rbm import bernoulli

from helpers import random_rbm


def test_exact_gradient_is_the_derivative_of_the_log_likelihood():
    rbm = random_rbm(6, 4, seed=40)
    data = (np.random.default_rng(41).random((9, 6)) < 0.5).astype(float)
    exact = backends.make("exact").sample(rbm, None, np.random.default_rng(0)).statistics
    gradient = statistics_difference(positive_statistics(rbm, data), exact)
    step = 1e-6
    for parameter, analytic in zip((rbm.W, rbm.visible_bias, rbm.hidden_bias), gradient):
        numeric = np.empty_like(parameter)
        for index in np.ndindex(parameter.shape):
            saved = parameter[index]
            parameter[index] = saved + step
            up = metrics.log_likelihood(rbm, data)
            parameter[index] = saved - step
            down = metrics.log_likelihood(rbm, data)
            parameter[index] = saved
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(analytic, numeric, atol=1e-7)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_one_product_gradient_equals_data_minus_model_statistics(dtype, rtol):
    rbm = random_rbm(13, 7, seed=42).astype(dtype)
    rng = np.random.default_rng(43)
    batch = bernoulli(np.full((10, 13), 0.4, dtype), rng)
    visible = bernoulli(np.full((25, 13), 0.6, dtype), rng)  # more samples than data
    data_hidden, model_hidden = rbm.hidden_probs(batch), rbm.hidden_probs(visible)
    expected = statistics_difference(positive_statistics(rbm, batch), negative_statistics(rbm, visible, None))
    got = GradientEstimator()(batch, data_hidden, visible, model_hidden)
    for name, value, reference in zip(expected._fields, got, expected):
        assert value.dtype == dtype, name
        np.testing.assert_allclose(value, reference, rtol=rtol, atol=rtol, err_msg=name)


def test_gradient_buffers_are_reused_until_the_shapes_change():
    rbm = random_rbm(5, 3, seed=44)
    rng = np.random.default_rng(45)
    estimator = GradientEstimator()
    batch = bernoulli(np.full((4, 5), 0.5), rng)
    first = estimator(batch, rbm.hidden_probs(batch), batch, rbm.hidden_probs(batch))
    np.testing.assert_allclose(first.weights, 0, atol=1e-15)  # model samples = data: no gradient
    second = estimator(batch, rbm.hidden_probs(batch), 1 - batch, rbm.hidden_probs(1 - batch))
    assert second.weights is first.weights
    third = estimator(batch[:2], rbm.hidden_probs(batch[:2]), batch, rbm.hidden_probs(batch))  # new stack shape
    expected = statistics_difference(positive_statistics(rbm, batch[:2]), negative_statistics(rbm, batch, None))
    for value, reference in zip(third, expected):
        np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-15)


def test_without_rao_blackwell_gibbs_backends_get_hidden_samples_drawn():
    rbm = random_rbm(8, 5, seed=46)
    options = {"num_samples": 4000, "burn_in": 5}
    trainer = Trainer(rbm, backend="gibbs", backend_options=options, rao_blackwell=False, seed=0, progress=False)
    samples = trainer.backend.sample(rbm, None, np.random.default_rng(1))
    assert samples.hidden is None
    hidden = negative_hidden(rbm, samples.visible, samples.hidden, False, samples.hidden_probs, np.random.default_rng(2))
    assert set(np.unique(hidden)) == {0.0, 1.0}
    # 4000 samples: each unit's mean within 4 standard errors (0.032) of the mean p(h | v)
    np.testing.assert_allclose(hidden.mean(axis=0), samples.hidden_probs.mean(axis=0), atol=0.032)
    assert negative_hidden(rbm, samples.visible, samples.hidden, True, samples.hidden_probs) is samples.hidden_probs
    with pytest.raises(ValueError, match="rao_blackwell"):
        negative_statistics(rbm, samples.visible, None, rao_blackwell=False)


def test_trainer_without_rao_blackwell_steps_with_the_drawn_hidden_samples():
    rbm = random_rbm(8, 5, seed=47)
    start = RBM.from_arrays(rbm.W.copy(), rbm.visible_bias.copy(), rbm.hidden_bias.copy())
    data = (np.random.default_rng(3).random((6, 8)) < 0.5).astype(float)
    options = {"num_samples": 500, "burn_in": 3}
    trainer = Trainer(rbm, backend="gibbs", backend_options=options, rao_blackwell=False, epochs=1, batch_size=6,
                      optimizer="sgd", momentum=0.0, learning_rate=0.1, centering=False, seed=0, progress=False,
                      evaluate=False)
    rng = np.random.default_rng()
    rng.bit_generator.state = trainer.sample_rng.bit_generator.state  # replay the trainer's stream
    trainer.fit(data)
    samples = trainer.backend.sample(start, data, rng)
    hidden = negative_hidden(start, samples.visible, samples.hidden, False, samples.hidden_probs, rng)
    expected = start.hidden_probs(data).mean(axis=0) - hidden.mean(axis=0)  # full batch: order is irrelevant
    np.testing.assert_allclose(rbm.hidden_bias - start.hidden_bias, 0.1 * expected, rtol=0, atol=1e-12)
    rao_blackwellised = start.hidden_probs(data).mean(axis=0) - samples.hidden_probs.mean(axis=0)
    assert np.abs(0.1 * rao_blackwellised - (rbm.hidden_bias - start.hidden_bias)).max() > 1e-3  # not p(h|v)


@pytest.mark.parametrize("rao_blackwell", [True, False])
def test_trainer_averages_pcd_over_the_visible_layer_when_its_samples_allow(rao_blackwell):
    rbm = random_rbm(8, 5, seed=50)
    start = RBM.from_arrays(rbm.W.copy(), rbm.visible_bias.copy(), rbm.hidden_bias.copy())
    data = (np.random.default_rng(4).random((6, 8)) < 0.5).astype(float)
    options = {"num_chains": 40, "weighted": False, "average_over": "visible"}
    trainer = Trainer(rbm, backend="pcd", backend_options=options, rao_blackwell=rao_blackwell, epochs=1,
                      batch_size=6, optimizer="sgd", momentum=0.0, learning_rate=0.1, centering=False, seed=0,
                      progress=False, evaluate=False)
    rng = np.random.default_rng()
    rng.bit_generator.state = trainer.sample_rng.bit_generator.state  # replay the trainer's stream
    trainer.fit(data)
    samples = backends.make("pcd", **options).sample(start, data, rng)
    visible = samples.visible_probs if rao_blackwell else samples.visible
    data_hidden = start.hidden_probs(data)
    expected = (data.T @ data_hidden / 6 - visible.T @ samples.hidden / 40,
                data.mean(0) - visible.mean(0), data_hidden.mean(0) - samples.hidden.mean(0))
    for after, before, gradient in zip(rbm.parameter_arrays().values(), start.parameter_arrays().values(), expected):
        np.testing.assert_allclose(after - before, 0.1 * gradient, rtol=0, atol=1e-12)


def centred_by_formula(batch, data_hidden, visible, model_hidden, mu, lam, weights=None):
    """Melchior, Fischer & Wiskott's centred update, written out term by term."""
    w = np.full(len(visible), 1 / len(visible)) if weights is None else weights
    data_term = (batch - mu).T @ (data_hidden - lam) / len(batch)
    model_term = ((visible - mu) * w[:, None]).T @ (model_hidden - lam)
    dW = data_term - model_term
    dv = batch.mean(0) - w @ visible
    dh = data_hidden.mean(0) - w @ model_hidden
    return dW, dv - dW @ lam, dh - dW.T @ mu


@pytest.mark.parametrize("weighted", [False, True])
def test_centred_gradient_equals_the_documented_transformation(weighted):
    rbm = random_rbm(9, 5, seed=48)
    rng = np.random.default_rng(49)
    batch = bernoulli(np.full((7, 9), 0.3), rng)
    visible = bernoulli(np.full((11, 9), 0.6), rng)
    weights = rng.random(11) if weighted else None
    weights = None if weights is None else weights / weights.sum()
    centering = Centering(rng.random(9), 5)
    centering.update(rbm.hidden_probs(batch))
    mu, lam = centering.offsets(np.float64)
    assert np.allclose(lam, 0.99 * 0.5 + 0.01 * rbm.hidden_probs(batch).mean(0))  # moving average from 0.5
    data_hidden, model_hidden = rbm.hidden_probs(batch), rbm.hidden_probs(visible)
    expected = centred_by_formula(batch, data_hidden, visible, model_hidden, mu, lam, weights)
    got = GradientEstimator()(batch, data_hidden, visible, model_hidden, centering, weights)
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-14)
    # a step size folded in: the same gradient times the scale
    got = GradientEstimator()(batch, data_hidden, visible, model_hidden, centering, weights, scale=0.03)
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value, 0.03 * reference, rtol=1e-12, atol=1e-15)
    # the same transformation applied to an uncentred gradient (the exact-statistics path)
    uncentred = statistics_difference(positive_statistics(rbm, batch),
                                      negative_statistics(rbm, visible, None, weights=weights))
    for value, reference in zip(centred(uncentred, mu, lam), expected):
        np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-14)


def test_weighted_samples_give_the_gradient_of_the_repeated_samples():
    rbm = random_rbm(6, 4, seed=50)
    rng = np.random.default_rng(51)
    batch = bernoulli(np.full((5, 6), 0.5), rng)
    visible = bernoulli(np.full((4, 6), 0.5), rng)
    counts = np.array([3, 1, 0, 2])
    repeated = np.repeat(visible, counts, axis=0)
    expected = GradientEstimator()(batch, rbm.hidden_probs(batch), repeated, rbm.hidden_probs(repeated))
    got = GradientEstimator()(batch, rbm.hidden_probs(batch), visible, rbm.hidden_probs(visible), weights=counts / counts.sum())
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-15)
