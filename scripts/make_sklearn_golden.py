#!/usr/bin/env python3
"""Writes the scikit-learn golden values that tests/sklearn_parity.rs checks, so CI needs no Python.

    pip install scikit-learn numpy && python3 scripts/make_sklearn_golden.py

Outputs:
  tests/data/diabetes.csv            scikit-learn's shipped diabetes data (442 x 10, raw features), y last
  tests/data/sklearn_diabetes.json   coefficients of Lasso, ElasticNet and Ridge fitted on z-scored X
                                     (population std, as StandardScaler) with the conversions to
                                     gpu-regfit's (l1, l2) from DESIGN.md / README.md.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet, Lasso, Ridge

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")


def main():
    X, y = load_diabetes(return_X_y=True, scaled=False)
    n, d = X.shape
    os.makedirs(OUT, exist_ok=True)
    header = ",".join([f"x{j}" for j in range(d)] + ["y"])
    np.savetxt(os.path.join(OUT, "diabetes.csv"), np.column_stack([X, y]), delimiter=",",
               header=header, comments="", fmt="%.17g")
    # Tests read the CSV back as f32, so the golden fits use the same f32-rounded values.
    X = X.astype(np.float32).astype(np.float64)
    y = y.astype(np.float32).astype(np.float64)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)

    cases = []
    tight = dict(tol=1e-12, max_iter=1_000_000)
    for alpha in [0.1, 1.0]:
        m = Lasso(alpha=alpha, **tight).fit(Z, y)
        cases.append(dict(name=f"Lasso(alpha={alpha})", l1=alpha, l2=0.0,
                          coef=m.coef_.tolist(), intercept=float(m.intercept_)))
    for alpha, ratio in [(0.5, 0.5), (0.1, 0.2)]:
        m = ElasticNet(alpha=alpha, l1_ratio=ratio, **tight).fit(Z, y)
        cases.append(dict(name=f"ElasticNet(alpha={alpha}, l1_ratio={ratio})", l1=alpha * ratio,
                          l2=alpha * (1 - ratio) / 2, coef=m.coef_.tolist(),
                          intercept=float(m.intercept_)))
    for alpha in [1.0, 50.0]:
        m = Ridge(alpha=alpha, solver="cholesky").fit(Z, y)
        cases.append(dict(name=f"Ridge(alpha={alpha})", l1=0.0, l2=alpha / (2 * n),
                          coef=m.coef_.tolist(), intercept=float(m.intercept_)))
    golden = dict(
        generator="scripts/make_sklearn_golden.py",
        sklearn_version=sklearn.__version__,
        dataset="sklearn.datasets.load_diabetes(scaled=False), X z-scored (population std)",
        rows=n, features=d, cases=cases,
    )
    with open(os.path.join(OUT, "sklearn_diabetes.json"), "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    print(f"wrote {len(cases)} cases for {n} x {d} (scikit-learn {sklearn.__version__})")


if __name__ == "__main__":
    main()
