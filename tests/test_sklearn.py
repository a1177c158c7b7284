"""annealrbm.sklearn.BernoulliRBM: a drop-in for scikit-learn's BernoulliRBM."""
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import check_estimator

from annealrbm import RBM, metrics
from annealrbm.data import datasets
from annealrbm.sklearn import BernoulliRBM


def test_passes_scikit_learns_estimator_checks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(BernoulliRBM(n_components=8, n_iter=3), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed


def test_fitted_attributes_match_scikit_learns():
    X = datasets.bars_and_stripes(3)
    model = BernoulliRBM(n_components=5, n_iter=20, batch_size=7, random_state=0)
    assert model.fit(X) is model
    assert model.components_.shape == (5, 9) and model.intercept_hidden_.shape == (5,)
    assert model.intercept_visible_.shape == (9,) and model.h_samples_.shape == (7, 5)
    assert set(np.unique(model.h_samples_)) <= {0.0, 1.0}
    features = model.transform(X)
    assert features.shape == (14, 5) and np.all((features > 0) & (features < 1))
    assert model.gibbs(X).shape == X.shape


DIGITS = datasets.digits()[0][:500]  # binarised 8x8 digits


def test_score_samples_is_the_exact_log_likelihood():
    model = BernoulliRBM(n_components=16, n_iter=10, random_state=1).fit(DIGITS)
    rbm = RBM.from_arrays(model.components_.T, model.intercept_visible_, model.intercept_hidden_)
    assert np.allclose(model.score_samples(DIGITS).mean(), metrics.log_likelihood(rbm, DIGITS))
    assert model.score_samples(DIGITS).mean() > -64 * np.log(2) + 10  # learned: far better than uniform


def test_partial_fit_updates_the_model_and_keeps_the_chains():
    X = datasets.bars_and_stripes(3)
    model = BernoulliRBM(n_components=4, random_state=0).partial_fit(X)
    before = model.components_.copy()
    model.partial_fit(X)
    assert not np.array_equal(before, model.components_)


def test_any_backend_trains_it():
    model = BernoulliRBM(n_components=8, n_iter=5, batch_size=50, backend="exact", random_state=0)
    assert model.fit(DIGITS).score_samples(DIGITS).mean() > -64 * np.log(2) + 10  # uniform: -44.4


def test_values_outside_the_unit_interval_are_clipped_with_a_warning():
    with pytest.warns(UserWarning, match="outside"):
        BernoulliRBM(n_components=2, n_iter=1).fit(np.array([[0.0, 2.0], [1.0, -1.0]]))


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="n_components"):
        BernoulliRBM(n_components=0).fit(np.zeros((2, 2)))


def test_in_a_pipeline_it_gives_features_a_classifier_can_use():
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import minmax_scale

    X, y = load_digits(return_X_y=True)
    X = minmax_scale(X)
    pipeline = Pipeline([("rbm", BernoulliRBM(n_components=64, learning_rate=0.06, n_iter=10, random_state=0)),
                         ("logistic", LogisticRegression(C=100, max_iter=300))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.fit(X[:1200], y[:1200])
    assert pipeline.score(X[1200:], y[1200:]) > 0.8
