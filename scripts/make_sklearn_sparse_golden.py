#!/usr/bin/env python3
"""Writes sparse data sets and the scikit-learn golden values fitted on them, for a Rust parity test
on SPARSE X, so CI needs no Python.

    pip install scikit-learn numpy scipy && python3 scripts/make_sklearn_sparse_golden.py

Outputs (tests/data/):
  sparse_reg.npz, sparse_reg.target.npy   regression set, 400 x 1500 CSR (scipy.sparse.save_npz,
                                          f32 data), y f32: 20 informative columns + noise
  sparse_clf.npz, sparse_clf.target.npy   binary set, 400 x 1500 CSR of small counts (f32),
                                          labels 0.0/1.0 f32 drawn from a logistic model
  svmlight_classification.libsvm          scikit-learn's own datasets/tests/data/
                                          svmlight_classification.txt, copied byte for byte (it
                                          is 1-based already: no index 0, so no shift is needed;
                                          comments, a tab, an empty row and an explicit 3:0)
  svmlight_invalid.libsvm,                scikit-learn's svmlight_invalid.txt (label `python`) and
  svmlight_invalid_order.libsvm           svmlight_invalid_order.txt (indices 5 then 2), copied
                                          byte for byte for bad-input tests; no golden values
  sklearn_sparse.json                     the golden cases below

Both generated sets: density about 0.01 with power-law column frequencies (column of frequency
rank r stored with probability ∝ r^-0.8, the ranks shuffled over the columns), so a few columns
are frequent, most rare, and some entirely empty; the LAST column is kept empty on purpose (the
width comes from the .npz shape, not from the largest stored index). Seeded by
numpy.random.default_rng(0). X is rounded to f32 before fitting and every fit uses the f64 copy
of those f32 values, exactly what the Rust test reads.

Cases (gpu-regfit's objective J = (1/m)·Σ loss + l1·‖W‖₁ + l2·‖W‖₂², intercepts unpenalized;
conversions as README.md and scripts/make_sklearn_golden.py):
  Lasso(alpha)                       l1 = alpha, l2 = 0                    (model linear)
  LogisticRegression(C) L2, lbfgs    l1 = 0, l2 = 1/(2·C·n)                (model logistic)
  LogisticRegression(C) L1, saga     l1 = 1/(C·n), l2 = 0                  (model logistic)
  multinomial LogisticRegression L2  l1 = 0, l2 = 1/(2·C·n), on the .libsvm (model softmax; K
                                     rows of coef for the classes sorted ascending, K intercepts,
                                     fixed only up to a common shift: compare them centred)
Each case: name, data (file under tests/data), target (the .npz's y file; null for LIBSVM, whose
labels are in the file), format ("npz" or "libsvm"), model, rows, features, l1, l2, coef (K rows
of d), intercept (K), zeros and nnz (counts of exactly-zero / nonzero coef entries), objective
(J in f64 at the golden point), kkt_residual (max |W − soft(W − ∇f(W), l1)| over coef and the
intercepts' |∂f/∂b|: the unit-step proximal-gradient residual, 0 exactly at the optimum; ∇f
includes 2·l2·W), and the scikit-learn call (solver, C or alpha, tol, max_iter, n_iter).
"""
import json
import os
import shutil
import time
import warnings

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
from scipy.special import expit, logsumexp, softmax
from sklearn.datasets import load_svmlight_file
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")
SKLEARN_DATA = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "tests", "data")

ROWS, FEATURES, DENSITY, INFORMATIVE = 400, 1500, 0.01, 20
TIGHT_CD = dict(tol=1e-12, max_iter=1_000_000)  # Lasso (coordinate descent)


# ----------------------------------------------------------------------------------------------
# Data


def power_law_csr(rng, n, d, values):
    """n x d CSR, f32: column of frequency rank r stored with probability ∝ r^-0.8 (scaled to the
    target density, capped at 0.6), the ranks shuffled over the columns; the last column empty.
    `values(k)` draws k stored values. Sorted indices, no explicit zeros."""
    p = np.arange(1, d + 1, dtype=np.float64) ** -0.8
    p = np.minimum(p * (DENSITY * d) / p.sum(), 0.6)
    p = p[rng.permutation(d)]
    p[-1] = 0.0
    mask = rng.random((n, d)) < p
    rows, cols = np.nonzero(mask)
    X = sp.csr_matrix((values(rows.size).astype(np.float32), (rows, cols)), shape=(n, d))
    X.sum_duplicates()
    X.eliminate_zeros()
    X.sort_indices()
    assert X.dtype == np.float32 and X.has_canonical_format
    return X


def informative_columns(rng, X, k, min_count=8):
    """k random columns among those stored in at least min_count rows, and their true weights
    ±U(1, 3)."""
    counts = np.diff(X.tocsc().indptr)
    cols = np.sort(rng.choice(np.flatnonzero(counts >= min_count), size=k, replace=False))
    w = np.zeros(X.shape[1])
    w[cols] = rng.choice([-1.0, 1.0], size=k) * rng.uniform(1.0, 3.0, size=k)
    return w


def save_sparse(stem, X, y):
    sp.save_npz(os.path.join(OUT, f"{stem}.npz"), X.tocsr(), compressed=True)
    np.save(os.path.join(OUT, f"{stem}.target.npy"), y.astype(np.float32))
    counts = np.diff(X.tocsc().indptr)
    print(f"wrote {stem}.npz + {stem}.target.npy: {X.shape[0]} x {X.shape[1]}, "
          f"{X.nnz} stored (density {X.nnz / np.prod(X.shape):.4f}), "
          f"{(counts == 0).sum()} empty columns, most frequent column in {counts.max()} rows")


def make_sets():
    """The two generated sets, from one generator seeded 0 (regression first, then binary).
    Returns {stem: (X as f64 CSR of the f32 values, y as f64 of the f32 values)}."""
    rng = np.random.default_rng(0)

    X = power_law_csr(rng, ROWS, FEATURES, lambda k: rng.standard_normal(k))
    w = informative_columns(rng, X, INFORMATIVE)
    y = (X.astype(np.float64) @ w + 1.0 + 0.5 * rng.standard_normal(ROWS)).astype(np.float32)
    save_sparse("sparse_reg", X, y)
    sets = {"sparse_reg": (X.astype(np.float64), y.astype(np.float64))}

    # Binary: small counts 1 + Poisson(0.5) (exact in f32), labels from a logistic model.
    X = power_law_csr(rng, ROWS, FEATURES, lambda k: 1.0 + rng.poisson(0.5, size=k))
    w = informative_columns(rng, X, INFORMATIVE)
    z = X.astype(np.float64) @ w
    y = (rng.random(ROWS) < expit(z - np.median(z))).astype(np.float32)
    save_sparse("sparse_clf", X, y)
    sets["sparse_clf"] = (X.astype(np.float64), y.astype(np.float64))
    return sets


def copy_svmlight():
    """Copies scikit-learn's svmlight test files. Returns the classification set as the Rust reader
    sees it: values parsed as f64 then rounded to f32, labels rounded to f32."""
    for src, dst in [("svmlight_classification.txt", "svmlight_classification.libsvm"),
                     ("svmlight_invalid.txt", "svmlight_invalid.libsvm"),
                     ("svmlight_invalid_order.txt", "svmlight_invalid_order.libsvm")]:
        shutil.copyfile(os.path.join(SKLEARN_DATA, src), os.path.join(OUT, dst))
        print(f"copied {src} -> {dst}")
    path = os.path.join(OUT, "svmlight_classification.libsvm")
    # gpu-regfit reads 1-based indices only; make sure scikit-learn's 'auto' agrees (no index 0).
    X0, _ = load_svmlight_file(path, zero_based=True)
    assert X0[:, 0].nnz == 0, "the file uses index 0: it must be shifted to 1-based"
    X, y = load_svmlight_file(path, zero_based=False, dtype=np.float64)
    X = sp.csr_matrix(X.astype(np.float32).astype(np.float64))
    X.eliminate_zeros()  # the file's explicit `3:0` (gpu-regfit drops it too)
    return X, y.astype(np.float32).astype(np.float64)


# ----------------------------------------------------------------------------------------------
# gpu-regfit's objective and optimality in f64


def smooth_parts(model, X, y, W, b):
    """Mean loss, its gradient in W (K x d) and in b (K)."""
    n = X.shape[0]
    Z = X @ W.T + b  # n x K
    if model == "linear":
        r = Z[:, 0] - y
        loss, R = 0.5 * np.mean(r ** 2), r[:, None]
    elif model == "logistic":
        z = Z[:, 0]
        loss, R = np.mean(np.logaddexp(0.0, z) - y * z), (expit(z) - y)[:, None]
    else:  # softmax, classes sorted ascending
        classes = np.unique(y)
        onehot = (y[:, None] == classes[None, :]).astype(np.float64)
        loss = np.mean(logsumexp(Z, axis=1) - np.sum(Z * onehot, axis=1))
        R = softmax(Z, axis=1) - onehot
    return loss, np.asarray(X.T @ R).T / n, R.mean(axis=0)


def objective(model, X, y, W, b, l1, l2):
    loss, _, _ = smooth_parts(model, X, y, W, b)
    return loss + l1 * np.abs(W).sum() + l2 * np.sum(W ** 2)


def kkt_residual(model, X, y, W, b, l1, l2):
    """max |W − soft(W − ∇f, l1)| and |∂f/∂b| (unit step): zero exactly at the optimum."""
    _, gW, gb = smooth_parts(model, X, y, W, b)
    V = W - (gW + 2 * l2 * W)
    prox = np.sign(V) * np.maximum(np.abs(V) - l1, 0.0)
    return float(max(np.abs(W - prox).max(), np.abs(gb).max()))


# ----------------------------------------------------------------------------------------------
# Fits


def fit(estimator):
    """Fits, timing it and recording a ConvergenceWarning rather than hiding it."""
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        m = estimator.fit(*fit.data)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return m, time.perf_counter() - t, converged


def case(name, data, fmt, model, X, y, l1, l2, m, call, seconds, converged, target=None):
    W = np.atleast_2d(m.coef_).astype(np.float64)
    b = np.atleast_1d(m.intercept_).astype(np.float64)
    zeros = int(np.sum(W == 0.0))
    c = dict(
        name=name, data=data, target=target, format=fmt, model=model,
        rows=X.shape[0], features=X.shape[1], l1=l1, l2=l2,
        coef=W.tolist(), intercept=b.tolist(),
        zeros=zeros, nnz=int(W.size - zeros),
        objective=float(objective(model, X, y, W, b, l1, l2)),
        kkt_residual=kkt_residual(model, X, y, W, b, l1, l2),
        sklearn=dict(call, n_iter=int(np.max(m.n_iter_)), converged=converged),
    )
    if model == "softmax":
        c["classes"] = np.unique(y).tolist()
    print(f"  {name:<44} {data:<31} l1={l1:.6g} l2={l2:.6g} nnz={c['nnz']:>4} "
          f"zeros={zeros:>4} J={c['objective']:.12g} kkt={c['kkt_residual']:.2e} "
          f"iter={c['sklearn']['n_iter']} {seconds:.1f}s{'' if converged else ' NOT CONVERGED'}")
    return c


def lasso_cases(X, y):
    n = X.shape[0]
    fit.data = (X, y)
    cases = []
    # alpha_max = max|Xᵀ(y − ȳ)|/n; 0.3 of it leaves ~10-40 nonzeros, 0.05 of it many more.
    alpha_max = np.abs(X.T @ (y - y.mean())).max() / n
    print(f"  sparse_reg: alpha_max = {alpha_max:.6g}")
    for alpha in [0.5, 0.1]:
        m, s, ok = fit(Lasso(alpha=alpha, fit_intercept=True, **TIGHT_CD))
        cases.append(case(f"Lasso(alpha={alpha})", "sparse_reg.npz", "npz", "linear", X, y,
                          alpha, 0.0, m, dict(estimator="Lasso", alpha=alpha, **TIGHT_CD), s,
                          ok, target="sparse_reg.target.npy"))
    return cases


def logistic_cases(X, y):
    n = X.shape[0]
    fit.data = (X, y)
    cases = []
    C = 1.0
    call = dict(estimator="LogisticRegression", C=C, l1_ratio=0.0, solver="lbfgs", tol=1e-12,
                max_iter=100_000)
    m, s, ok = fit(LogisticRegression(**{k: v for k, v in call.items() if k != "estimator"}))
    cases.append(case(f"LogisticRegression(C={C}, L2)", "sparse_clf.npz", "npz", "logistic",
                      X, y, 0.0, 1 / (2 * C * n), m, call, s, ok,
                      target="sparse_clf.target.npy"))

    # L1: l1_max = max|Xᵀ(y − ȳ)|/n; C = 0.5 gives l1 = 1/(C·n) = 0.005, some coefficients nonzero.
    l1_max = np.abs(X.T @ (y - y.mean())).max() / n
    C = 0.5
    print(f"  sparse_clf: l1_max = {l1_max:.6g}, L1 case l1 = {1 / (C * n):.6g}")
    call = dict(estimator="LogisticRegression", C=C, l1_ratio=1.0, solver="saga", tol=1e-12,
                max_iter=1_000_000)
    m, s, ok = fit(LogisticRegression(**{k: v for k, v in call.items() if k != "estimator"}))
    cases.append(case(f"LogisticRegression(C={C}, L1)", "sparse_clf.npz", "npz", "logistic",
                      X, y, 1 / (C * n), 0.0, m, call, s, ok, target="sparse_clf.target.npy"))
    return cases


def softmax_cases(X, y):
    n = X.shape[0]
    fit.data = (X, y)
    C = 1.0
    call = dict(estimator="LogisticRegression", C=C, l1_ratio=0.0, solver="lbfgs", tol=1e-12,
                max_iter=100_000)
    m, s, ok = fit(LogisticRegression(**{k: v for k, v in call.items() if k != "estimator"}))
    return [case(f"multinomial LogisticRegression(C={C}, L2)", "svmlight_classification.libsvm",
                 "libsvm", "softmax", X, y, 0.0, 1 / (2 * C * n), m, call, s, ok)]


def main():
    os.makedirs(OUT, exist_ok=True)
    sets = make_sets()
    Xs, ys = copy_svmlight()
    print(f"svmlight_classification: {Xs.shape[0]} x {Xs.shape[1]}, labels {np.unique(ys)}")
    cases = lasso_cases(*sets["sparse_reg"])
    cases += logistic_cases(*sets["sparse_clf"])
    cases += softmax_cases(Xs, ys)
    golden = dict(
        generator="scripts/make_sklearn_sparse_golden.py",
        sklearn_version=sklearn.__version__,
        numpy_version=np.__version__,
        scipy_version=scipy.__version__,
        cases=cases,
    )
    with open(os.path.join(OUT, "sklearn_sparse.json"), "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    print(f"wrote sklearn_sparse.json: {len(cases)} cases; scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
