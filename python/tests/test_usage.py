"""The estimators in the tools users already have: Pipeline, GridSearchCV, pickle; the core's
errors as ValueError with its one-line message; the SGD and network estimators fitting."""

import pickle

import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import gpu_regfit as g


def test_pipeline_and_grid_search():
    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), g.Lasso(device="cpu"))
    search = GridSearchCV(pipe, {"lasso__alpha": [0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    ref = GridSearchCV(make_pipeline(StandardScaler(), sk.Lasso()), {"lasso__alpha": [0.1, 1.0, 10.0]}, cv=3)
    ref.fit(X, y)
    assert search.best_params_ == ref.best_params_
    assert search.best_score_ == pytest.approx(ref.best_score_, rel=1e-4)


@pytest.mark.parametrize(
    "est",
    [g.Lasso(alpha=0.1, device="cpu"), g.LogisticRegression(device="cpu"), g.MLPClassifier((8,), device="cpu")],
)
def test_pickle_round_trip(est):
    X, y = load_iris(return_X_y=True)
    if isinstance(est, g.Lasso):
        y = y.astype(float)
    est.fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


def test_core_errors_are_one_line_value_errors():
    X = np.ones((5, 2))
    with pytest.raises(ValueError, match=r"^alpha=-1.0: must be a finite number >= 0$"):
        g.Lasso(alpha=-1, device="cpu").fit(X, np.arange(5.0))
    with pytest.raises(ValueError, match="device='tpu'"):
        g.Lasso(device="tpu").fit(X, np.arange(5.0))
    # An error from the Rust core: a batch of more rows than the data has is refused by its
    # config check, whose message names the value.
    with pytest.raises(ValueError) as err:
        g.SGDRegressor(eta0=-1.0, device="cpu").fit(X, np.arange(5.0))
    assert "lr" in str(err.value) and "-1" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="X has 3 features"):
        g.Lasso(device="cpu").fit(X, np.arange(5.0)).predict(np.ones((2, 3)))


def test_sgd_estimators_approach_the_optimum():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sgd = g.SGDRegressor(alpha=0.01, penalty="l2", eta0=0.01, max_iter=300, tol=None, batch_size=32,
                         random_state=0, device="cpu").fit(X, y)
    exact = g.ElasticNet(alpha=0.01, l1_ratio=0.0, tol=1e-10, device="cpu").fit(X, y)
    assert sgd.n_iter_ == 300
    assert sgd.score(X, y) == pytest.approx(exact.score(X, y), abs=5e-3)
    # Its objective is near the optimum's, and its certificate bounds the distance from above.
    assert sgd.objective_ == pytest.approx(exact.objective_, rel=1e-2)
    assert sgd.dual_gap_ >= sgd.objective_ - exact.objective_ - 1e-9
    Xi, yi = load_iris(return_X_y=True)
    Xi = StandardScaler().fit_transform(Xi)
    clf = g.SGDClassifier(alpha=1e-3, eta0=0.1, batch_size=16, max_iter=300, tol=None, random_state=0, device="cpu")
    clf.fit(Xi, yi)
    # alpha = 1e-3 is l2 = 5e-4, LogisticRegression's C = 1/(2·l2·n).
    best = g.LogisticRegression(C=1 / (2 * 5e-4 * len(yi)), tol=1e-10, device="cpu").fit(Xi, yi)
    assert clf.coef_.shape == (3, 4)
    assert clf.objective_ == pytest.approx(best.objective_, rel=1e-2)
    assert clf.score(Xi, yi) >= best.score(Xi, yi) - 0.02


def test_mlp_learns_iris(gpu_device):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for device in ("cpu", gpu_device):
        clf = g.MLPClassifier((32,), max_iter=300, random_state=0, device=device).fit(X, y)
        assert clf.score(X, y) > 0.95, device
        p = clf.predict_proba(X)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
        assert clf.dual_gap_ is None
        # The layers in scikit-learn's layout reproduce the probabilities.
        h = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0.0)
        z = h @ clf.coefs_[1] + clf.intercepts_[1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True), p, rtol=1e-4, atol=1e-6)
