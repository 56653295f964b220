#!/usr/bin/env python3
"""Writes the scikit-learn golden values that tests/sklearn_parity.rs checks, so CI needs no Python.

    pip install scikit-learn numpy && python3 scripts/make_sklearn_golden.py

Outputs (every fit on z-scored X: population std, as StandardScaler, of the f32-rounded data that
the tests read back):
  tests/data/diabetes.csv                 scikit-learn's diabetes data (442 x 10, raw), y last
  tests/data/sklearn_diabetes.json        Lasso, ElasticNet and Ridge
  tests/data/breast_cancer.csv            breast_cancer (569 x 30, raw), label 0/1 last
  tests/data/sklearn_breast_cancer.json   LogisticRegression(C=1) with L2 and with L1
  tests/data/iris.csv                     iris (150 x 4, raw), class 0/1/2 last
  tests/data/sklearn_iris.json            multinomial LogisticRegression(C=1) with L2
Each case gives gpu-regfit's (l1, l2) by the conversions in README.md, coef as K rows of d
(K = 1 except softmax) and K intercepts.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")


def save_csv(name, X, y, target="y"):
    d = X.shape[1]
    header = ",".join([f"x{j}" for j in range(d)] + [target])
    np.savetxt(os.path.join(OUT, name), np.column_stack([X, y]), delimiter=",",
               header=header, comments="", fmt="%.17g")


def zscore_f32(X):
    """The tests read the CSV back as f32, so the golden fits use the same f32-rounded values."""
    X = X.astype(np.float32).astype(np.float64)
    return (X - X.mean(axis=0)) / X.std(axis=0)


def write_golden(name, dataset, model, X, cases):
    golden = dict(
        generator="scripts/make_sklearn_golden.py",
        sklearn_version=sklearn.__version__,
        dataset=dataset, model=model,
        rows=X.shape[0], features=X.shape[1], cases=cases,
    )
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    print(f"wrote {name}: {len(cases)} cases for {X.shape[0]} x {X.shape[1]}")


def case(name, l1, l2, coef, intercept):
    coef = np.atleast_2d(coef)
    return dict(name=name, l1=l1, l2=l2, coef=coef.tolist(),
                intercept=np.atleast_1d(intercept).astype(float).tolist())


def regressors():
    X, y = load_diabetes(return_X_y=True, scaled=False)
    n = X.shape[0]
    save_csv("diabetes.csv", X, y)
    y = y.astype(np.float32).astype(np.float64)
    Z = zscore_f32(X)
    cases = []
    tight = dict(tol=1e-12, max_iter=1_000_000)
    for alpha in [0.1, 1.0]:
        m = Lasso(alpha=alpha, **tight).fit(Z, y)
        cases.append(case(f"Lasso(alpha={alpha})", alpha, 0.0, m.coef_, m.intercept_))
    for alpha, ratio in [(0.5, 0.5), (0.1, 0.2)]:
        m = ElasticNet(alpha=alpha, l1_ratio=ratio, **tight).fit(Z, y)
        cases.append(case(f"ElasticNet(alpha={alpha}, l1_ratio={ratio})", alpha * ratio,
                          alpha * (1 - ratio) / 2, m.coef_, m.intercept_))
    for alpha in [1.0, 50.0]:
        m = Ridge(alpha=alpha, solver="cholesky").fit(Z, y)
        cases.append(case(f"Ridge(alpha={alpha})", 0.0, alpha / (2 * n), m.coef_, m.intercept_))
    write_golden("sklearn_diabetes.json",
                 "sklearn.datasets.load_diabetes(scaled=False), X z-scored (population std)",
                 "linear", Z, cases)


def classifiers():
    # Binary: LogisticRegression's objective C·Σ loss + ½‖w‖² (L2) or ‖w‖₁ (L1), divided by C·n.
    X, y = load_breast_cancer(return_X_y=True)
    n = X.shape[0]
    save_csv("breast_cancer.csv", X, y, target="label")
    Z = zscore_f32(X)
    C = 1.0
    cases = []
    m = LogisticRegression(C=C, l1_ratio=0.0, solver="lbfgs", tol=1e-12,
                           max_iter=100_000).fit(Z, y)
    cases.append(case("LogisticRegression(C=1, L2)", 0.0, 1 / (2 * C * n), m.coef_, m.intercept_))
    m = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12,
                           max_iter=1_000_000).fit(Z, y)
    cases.append(case("LogisticRegression(C=1, L1)", 1 / (C * n), 0.0, m.coef_, m.intercept_))
    write_golden("sklearn_breast_cancer.json",
                 "sklearn.datasets.load_breast_cancer, X z-scored (population std)",
                 "logistic", Z, cases)

    # Multinomial: the softmax intercepts are unpenalized, so they are fixed only up to a common
    # shift; the tests compare them centred.
    X, y = load_iris(return_X_y=True)
    n = X.shape[0]
    save_csv("iris.csv", X, y, target="class")
    Z = zscore_f32(X)
    m = LogisticRegression(C=C, l1_ratio=0.0, solver="lbfgs", tol=1e-12,
                           max_iter=100_000).fit(Z, y)
    cases = [case("multinomial LogisticRegression(C=1, L2)", 0.0, 1 / (2 * C * n), m.coef_,
                  m.intercept_)]
    write_golden("sklearn_iris.json", "sklearn.datasets.load_iris, X z-scored (population std)",
                 "softmax", Z, cases)


def main():
    os.makedirs(OUT, exist_ok=True)
    regressors()
    classifiers()
    print(f"scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
