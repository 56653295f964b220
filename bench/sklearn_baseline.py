#!/usr/bin/env python3
"""The scikit-learn peers of `gpu-regfit bench` on the same data, and the CPU check behind every
GPU speedup gpu-regfit reports: its CPU reference's full-batch gradient against numpy's
X.T @ (X @ w − y), measured in one run.

    gpu-regfit gen linear --rows 1000000 --features 32 --informative 8 --seed 0 --out x.npy
    python3 bench/sklearn_baseline.py x.npy --gpu-regfit target/release/gpu-regfit --json sk.json

- SGDRegressor(penalty="elasticnet", learning_rate="constant", eta0=lr): one epoch of per-row SGD
  (scikit-learn has no minibatches), timed after a warm-up epoch; alpha and l1_ratio are chosen so
  its penalty equals gpu-regfit's l1‖w‖₁ + l2‖w‖² (alpha·l1_ratio = l1, alpha·(1 − l1_ratio)/2 = l2).
- Lasso(alpha=l1): coordinate descent to its default tolerance, timed as a whole fit.
- numpy_gradient_seconds: X.T @ (X @ w − y) in f32 (best of 5). With --gpu-regfit, the script
  also runs `gpu-regfit bench --sizes ROWSxFEATURESxBATCH` (which generates the same data with
  `gen linear --informative min(8, features) --seed 0`) and reports its cpu_gradient_seconds and
  the ratio to numpy.
Prints JSON with the keys of `gpu-regfit bench --json`.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np
from sklearn.linear_model import SGDRegressor, Lasso

from common import emit, load, result


def best_of(f, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="x.npy from `gpu-regfit gen linear --out x.npy`")
    p.add_argument("--batch", type=int, default=4096, help="batch of the gpu-regfit bench run")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--l1", type=float, default=1e-4)
    p.add_argument("--l2", type=float, default=1e-4)
    p.add_argument("--gpu-regfit", default=None, help="path of the gpu-regfit binary")
    p.add_argument("--json", default=None)
    a = p.parse_args()

    x, y = load(a.data)
    rows, features = x.shape
    alpha = a.l1 + 2 * a.l2
    l1_ratio = a.l1 / alpha if alpha > 0 else 0.0

    sgd = SGDRegressor(penalty="elasticnet", alpha=alpha, l1_ratio=l1_ratio,
                       learning_rate="constant", eta0=a.lr, max_iter=1, tol=None,
                       shuffle=True, random_state=0)
    sgd.partial_fit(x, y)  # warm-up
    sgd_s = best_of(lambda: sgd.partial_fit(x, y), 2)

    lasso_s = best_of(lambda: Lasso(alpha=a.l1).fit(x, y), 1)

    w = np.zeros(features, dtype=np.float32)
    numpy_s = best_of(lambda: x.T @ (x @ w - y), 5)

    extra = {"numpy_gradient_seconds": numpy_s, "lasso_fit_seconds": lasso_s}
    if a.gpu_regfit:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "bench.json")
            subprocess.run([a.gpu_regfit, "bench", "--sizes", f"{rows}x{features}x{a.batch}",
                            "--min-seconds", "0", "--json", out],
                           check=True, stdout=subprocess.DEVNULL)
            ours = json.load(open(out))["results"][0]["cpu_gradient_seconds"]
        extra["gpu_regfit_cpu_gradient_seconds"] = ours
        extra["cpu_gradient_vs_numpy"] = ours / numpy_s

    import sklearn
    emit(
        {
            "device": {"name": "cpu", "backend": f"scikit-learn {sklearn.__version__}",
                       "threads": os.cpu_count()},
            "copy_gbps": None,
            "results": [
                result(rows, features, 1, "linear", sgd_s, None, peer="SGDRegressor", **extra),
            ],
        },
        a.json,
    )


if __name__ == "__main__":
    main()
