"""Fits over a Dask cluster: each worker keeps its row partitions resident on its own device and
computes their gradient sums with the core's fused kernel; the client runs the core's apg.

How a fit goes (the Rust side is src/distributed.rs):

1. X (a dask.array or dask.dataframe) is persisted in row blocks that span every column. The
   blocks each worker holds are joined there into one ``Partition``: uploaded to that worker's
   GPU once (``device='auto'`` takes the CPU where a worker has no GPU) and kept there until the
   fit ends. No row of X ever crosses the network after that.
2. apg runs in the client, in Rust. Each pass it needs over X is one round: the client sends the
   request (the current weights, K·(d + 1) numbers) to every worker, each worker answers with
   the sums over its rows (loss, gradient; or the power iteration's product, or the gap's
   conjugate term), and the client adds them and takes the proximal step. Per iteration that is
   O(features) bytes each way per worker.
3. The stopping rule and the certificate are a single-machine fit's: the relative duality gap,
   checked in f64 (f32 devices' answers are re-checked in f64 rounds, and finished in f64 when
   their gap stalls), so the answer equals a single-process fit of the same rows within 1e-6.

One worker per GPU: start one single-threaded worker per device with ``GPU_REGFIT_ADAPTER=#N``
in its environment (``#N`` is the N-th adapter ``gpu-regfit devices`` lists).
"""

from collections import defaultdict

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from . import _core
from ._base import apg_config, check_device, core_x, penalty_from_alpha
from .linear import logistic_penalty

__all__ = ["ElasticNet", "Lasso", "LogisticRegression"]


def _client():
    from distributed import get_client

    try:
        return get_client()
    except ValueError as e:
        raise ValueError("gpu_regfit.dask needs a distributed Client (e.g. Client(LocalCluster()))") from e


def _as_dask_array(a, name):
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(a, (dd.DataFrame, dd.Series)):
        return a.to_dask_array(lengths=True)
    if isinstance(a, da.Array):
        return a
    raise ValueError(f"{name} must be a dask.array or dask.dataframe, got {type(a).__name__}")


def _make_partition(config_json, n_classes, device, *blocks):
    """On a worker: its blocks joined into one Partition on its device."""
    xs, ys, ws = zip(*blocks)
    x = sp.vstack(xs, format="csr") if sp.issparse(xs[0]) else np.concatenate(xs)
    y = np.concatenate(ys).astype(np.float32)
    w = None if ws[0] is None else np.concatenate(ws).astype(np.float32)
    return _core.Partition(core_x(x), y, w, n_classes, config_json, device)


def _describe(part):
    return part.n_rows, part.mass, part.is_f32, part.device


def _answer(part, request):
    return part.answer(request)


def _block(x, y, w):
    return (x, y, w)


class _DaskApg(BaseEstimator):
    _is_classifier = False

    def _model(self, n_classes):
        return "linear"

    def _penalty(self, n_eff):
        raise NotImplementedError

    def fit(self, X, y, sample_weight=None):
        """Fits on a dask.array / dask.dataframe X and y (and optional sample_weight) over the
        current distributed Client's workers."""
        import json

        import dask
        from distributed import wait

        client = _client()
        check_device(self.device)
        X = _as_dask_array(X, "X")
        y = _as_dask_array(y, "y")
        if X.ndim != 2 or y.ndim != 1:
            raise ValueError(f"X must be 2-D and y 1-D, got {X.ndim}-D and {y.ndim}-D")
        if np.isnan(X.shape[0]) or X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
        n, d = int(X.shape[0]), int(X.shape[1])
        X = X.rechunk({1: d})
        y = y.rechunk((X.chunks[0],))
        if self._is_classifier:
            self.classes_ = np.unique(y.compute())
            if len(self.classes_) < 2:
                raise ValueError(f"the data contains only one class: {self.classes_[0]!r}")
            classes = self.classes_
            y = y.map_blocks(lambda b: np.searchsorted(classes, b).astype(np.float32), dtype=np.float32)
            n_classes = len(classes)
        else:
            y = y.astype(np.float64)
            n_classes = 0
        w = None
        if sample_weight is not None:
            w = _as_dask_array(sample_weight, "sample_weight").rechunk((X.chunks[0],))
        xb = X.to_delayed().ravel()
        yb = y.to_delayed().ravel()
        wb = w.to_delayed().ravel() if w is not None else [None] * len(xb)
        blocks = client.compute([dask.delayed(_block)(a, b, c) for a, b, c in zip(xb, yb, wb)])
        wait(blocks)
        holders = client.who_has(blocks)
        by_worker = defaultdict(list)
        for f in blocks:
            by_worker[sorted(holders[f.key])[0]].append(f)
        total_w = n if w is None else float(w.sum().compute())
        config = apg_config(
            self._model(n_classes), self._penalty(total_w), self.fit_intercept, self.max_iter, self.tol
        )
        config_json = json.dumps(config)
        parts = {
            worker: client.submit(
                _make_partition, config_json, n_classes, self.device, *fs,
                workers=[worker], allow_other_workers=False, pure=False,
            )
            for worker, fs in by_worker.items()
        }
        del blocks
        try:
            described = client.gather(
                [client.submit(_describe, p, workers=[wk], allow_other_workers=False, pure=False)
                 for wk, p in parts.items()]
            )
            mass = float(sum(m for _, m, _, _ in described))
            any_f32 = any(f for _, _, f, _ in described)
            self.devices_ = sorted({dev for _, _, _, dev in described})
            self.n_workers_ = len(parts)
            self.rounds_ = 0

            def round_(request):
                self.rounds_ += 1
                answers = client.gather(
                    [client.submit(_answer, p, request, workers=[wk], allow_other_workers=False, pure=False)
                     for wk, p in parts.items()]
                )
                return np.sum(answers, axis=0)

            r = _core.fit_distributed(round_, n, d, max(n_classes, 1), mass, any_f32, config_json)
        finally:
            for p in parts.values():
                p.release()
        coef, intercept = r["coef"], r["intercept"]
        if self._is_classifier:
            self.coef_, self.intercept_ = coef, intercept
        else:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
        self.n_iter_ = max(1, int(r["n_iter"]))
        self.dual_gap_ = r["dual_gap"]
        self.relative_gap_ = r["relative_gap"]
        self.converged_ = r["converged"]
        self.objective_ = r["objective"]
        self.n_features_in_ = d
        return self

    def _scores(self, X):
        import dask.array as da

        X = _as_dask_array(X, "X") if not isinstance(X, np.ndarray) else X
        coef = np.atleast_2d(self.coef_)
        if isinstance(X, da.Array):
            return X.map_blocks(lambda b: b @ coef.T + self.intercept_, dtype=np.float64,
                                chunks=(X.chunks[0], (coef.shape[0],)))
        return X @ coef.T + self.intercept_


class ElasticNet(RegressorMixin, _DaskApg):
    """scikit-learn's ElasticNet (alpha, l1_ratio) over a Dask cluster; parameters and attributes
    as gpu_regfit.ElasticNet, plus n_workers_, devices_ and rounds_ (reductions made)."""

    def __init__(self, alpha=1.0, l1_ratio=0.5, *, fit_intercept=True, max_iter=10000, tol=1e-8, device="auto"):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def _penalty(self, n_eff):
        return penalty_from_alpha(self.alpha, self.l1_ratio)

    def predict(self, X):
        s = self._scores(X)
        return s[:, 0]


class Lasso(ElasticNet):
    """scikit-learn's Lasso(alpha) over a Dask cluster."""

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=10000, tol=1e-8, device="auto"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def _penalty(self, n_eff):
        return penalty_from_alpha(self.alpha, 1.0)


class LogisticRegression(ClassifierMixin, _DaskApg):
    """scikit-learn's LogisticRegression (penalty, C, l1_ratio) over a Dask cluster: two classes
    fit the logistic model, more the multinomial."""

    _is_classifier = True

    def __init__(
        self, penalty="l2", *, C=1.0, l1_ratio=None, fit_intercept=True, max_iter=10000, tol=1e-8, device="auto"
    ):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def _model(self, n_classes):
        return "logistic" if n_classes == 2 else "softmax"

    def _penalty(self, n_eff):
        return logistic_penalty(self.C, self.penalty, self.l1_ratio, n_eff)

    def predict_proba(self, X):
        s = self._scores(X)

        def proba(b):
            if b.shape[1] == 1:
                p = 1.0 / (1.0 + np.exp(-b[:, 0]))
                return np.column_stack([1.0 - p, p])
            e = np.exp(b - b.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)

        if isinstance(s, np.ndarray):
            return proba(s)
        return s.map_blocks(proba, dtype=np.float64, chunks=(s.chunks[0], (len(self.classes_),)))

    def predict(self, X):
        p = self.predict_proba(X)
        classes = self.classes_
        if isinstance(p, np.ndarray):
            return classes[np.argmax(p, axis=1)]
        return p.map_blocks(lambda b: classes[np.argmax(b, axis=1)], dtype=classes.dtype, drop_axis=1)
