#!/usr/bin/env python3
"""Writes the scikit-learn golden values of the regularization path that tests/path.rs checks, so
CI needs no Python.

    pip install scikit-learn numpy && python3 scripts/make_sklearn_path_golden.py

Output: tests/data/sklearn_path.json, scikit-learn's enet_path(l1_ratio=0.7) on diabetes z-scored
(tests/data/diabetes_z.csv, read back as the f32 values the tests read), on its own grid
(100 alphas, eps=1e-3), solved to tol=1e-12. With an intercept, as ElasticNet(fit_intercept=True)
does: X and y centred for the path, intercept = mean(y) - mean(X)·coef.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.linear_model import enet_path

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")


def main():
    raw = np.loadtxt(os.path.join(DATA, "diabetes_z.csv"), delimiter=",", skiprows=1,
                     dtype=np.float32).astype(np.float64)
    X, y = raw[:, :-1], raw[:, -1]
    x_mean, y_mean = X.mean(axis=0), y.mean()
    l1_ratio = 0.7
    alphas, coefs, _ = enet_path(X - x_mean, y - y_mean, l1_ratio=l1_ratio, alphas=100,
                                 eps=1e-3, tol=1e-12, max_iter=1_000_000)
    coefs = coefs.T  # one row per alpha
    golden = dict(
        generator="scripts/make_sklearn_path_golden.py",
        sklearn_version=sklearn.__version__,
        dataset="tests/data/diabetes_z.csv",
        call="enet_path(X - mean, y - mean, l1_ratio=0.7, alphas=100, eps=1e-3, tol=1e-12)",
        rows=X.shape[0], features=X.shape[1], l1_ratio=l1_ratio,
        alphas=alphas.tolist(),
        coef=coefs.tolist(),
        intercept=(y_mean - coefs @ x_mean).tolist(),
    )
    out = os.path.join(DATA, "sklearn_path.json")
    with open(out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"wrote {out}: {len(alphas)} alphas, alpha_max {alphas[0]:.6g}; "
          f"scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
