"""gpu_regfit.dask on a distributed.LocalCluster of 2 worker processes: the fits equal a single
process's within 1e-6 (relative to the largest coefficient), on the CPU reference and on each
worker's GPU, with dask.array and dask.dataframe input and sample weights.

Both sides are fitted to a relative duality gap of 1e-10 (logistic: 1e-13, whose curvature is
weaker, so that a gap bounds the coefficients to 1e-6); the GPU workers' f32 answers are then
certified, and finished when needed, in f64 rounds.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array", reason="the dask extra: pip install './python[dask]'")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import gpu_regfit as g  # noqa: E402
import gpu_regfit.dask as gd  # noqa: E402

RTOL = 1e-6


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def data(n=3000, d=20, classes=0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[:5] = [3.0, -2.0, 1.5, 1.0, -0.5]
    z = X @ w + 0.5
    if classes == 0:
        y = z + rng.standard_normal(n)
    elif classes == 2:
        y = (z + rng.logistic(size=n) > 0).astype(int)
    else:
        y = np.digitize(z + rng.standard_normal(n), np.quantile(z, [1 / 3, 2 / 3]))
    return X, y


def close(ours, ref):
    a, b = np.atleast_2d(ours.coef_), np.atleast_2d(ref.coef_)
    scale = np.abs(b).max()
    assert np.abs(a - b).max() <= RTOL * scale, np.abs(a - b).max() / scale
    ia, ib = np.atleast_1d(ours.intercept_), np.atleast_1d(ref.intercept_)
    if ia.size > 1:
        ia, ib = ia - ia.mean(), ib - ib.mean()
    assert np.abs(ia - ib).max() <= RTOL * max(scale, np.abs(ib).max())


@pytest.fixture(params=["cpu", "gpu"])
def device(request):
    if request.param == "gpu":
        return request.getfixturevalue("gpu_device")
    return "cpu"


def test_lasso_equals_one_process(client, device):
    X, y = data()
    dX, dy = da.from_array(X, chunks=(700, 20)), da.from_array(y, chunks=700)
    ours = gd.Lasso(alpha=0.05, tol=1e-10, device=device).fit(dX, dy)
    one = g.Lasso(alpha=0.05, tol=1e-10, device="cpu").fit(X, y)
    assert ours.n_workers_ == 2
    assert ours.converged_ and ours.relative_gap_ <= 1e-10
    close(ours, one)
    assert ours.objective_ == pytest.approx(one.objective_, rel=1e-10)
    np.testing.assert_allclose(ours.predict(dX).compute(), one.predict(X), rtol=1e-5, atol=1e-6)


def test_logistic_equals_one_process(client, device):
    X, y = data(classes=2, seed=1)
    frame = dd.from_pandas(__import__("pandas").DataFrame(X), npartitions=5)
    target = dd.from_pandas(__import__("pandas").Series(y), npartitions=5)
    ours = gd.LogisticRegression(C=0.5, tol=1e-13, device=device).fit(frame, target)
    one = g.LogisticRegression(C=0.5, tol=1e-13, device="cpu").fit(X, y)
    close(ours, one)
    assert list(ours.classes_) == [0, 1]
    assert (ours.predict(da.from_array(X, chunks=(1000, 20))).compute() == one.predict(X)).all()


def test_weighted_multinomial_and_elastic_net(client):
    X, y = data(classes=3, seed=2)
    w = np.linspace(0.5, 1.5, len(y))
    dX, dy, dw = da.from_array(X, chunks=(600, 20)), da.from_array(y, chunks=600), da.from_array(w, chunks=600)
    ours = gd.LogisticRegression(penalty="l1", C=0.2, tol=1e-10, device="cpu").fit(dX, dy, sample_weight=dw)
    one = g.LogisticRegression(penalty="l1", C=0.2, tol=1e-10, device="cpu").fit(X, y, sample_weight=w)
    close(ours, one)
    Xr, yr = data(seed=3)
    enet = gd.ElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-10, device="cpu")
    enet.fit(da.from_array(Xr, chunks=(1000, 20)), da.from_array(yr, chunks=1000))
    close(enet, g.ElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-10, device="cpu").fit(Xr, yr))


def test_bad_input_is_a_value_error(client):
    with pytest.raises(ValueError, match="dask.array or dask.dataframe"):
        gd.Lasso().fit(np.ones((4, 2)), np.ones(4))
    with pytest.raises(ValueError, match="device="):
        gd.Lasso(device="tpu").fit(da.ones((4, 2)), da.ones(4))
