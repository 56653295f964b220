#!/usr/bin/env python3
"""Cross-validated lasso: `gpu-regfit cv` against scikit-learn's LassoCV on the same data, the same
λ grid and the same folds, timed in one run.

    cargo build --release
    python3 bench/cv_vs_sklearn.py --json cv_vs_sklearn.json             # 200000 × 64, 5 folds
    python3 bench/cv_vs_sklearn.py --device gpu --rows 1000000
    python3 bench/cv_vs_sklearn.py --sklearn-only                       # scikit-learn half only

Steps (files in --workdir or a temporary folder):
  data:   gpu-regfit gen linear --rows R --features D --informative 8 --noise 1 --seed 0
          --out DIR/x.npy (R = --rows, 200000; D = --features, 64), read with bench/common.py's
          load() (X f32, y f32); scikit-learn gets X as float64 (--sklearn-dtype float32 to
          change that) and y as float64.
  folds:  KFold(--folds, 5): contiguous, no shuffle; DIR/folds.txt holds one fold id per row.
  sklearn: LassoCV(alphas=100, eps=1e-3, cv=those splits, tol=1e-4, max_iter=1000: its
          defaults but for cv), timed as the wall time of fit(). Its grid alphas_ (largest first,
          alpha_max = max_j |Σ(x_ij − x̄_j)(y_i − ȳ)| / n down to alpha_max·eps) goes to
          DIR/lambdas.txt, one value per line in repr precision, so both use the same grid.
  ours:   gpu-regfit cv --data DIR/x.npy --model linear --device cpu --folds-file DIR/folds.txt
          --lambdas-file DIR/lambdas.txt --scoring mse --json DIR/cv.json --out DIR/model.json -q
          (--device gpu to run it on the GPU; --our-args "..." appends flags, split as a shell
          would), timed as the wall time of the whole process (start, load, folds, path, refit,
          output). DIR/cv.json's lambda_min (the chosen λ), lambda (the grid) and cv_mean (mean
          test MSE per λ) are read back.

Both minimize, per fold and λ, (1/2n)‖y − Xw − b‖² + λ‖w‖₁ on the training rows and score the
mean squared error on the held-out rows; the chosen λ minimizes the mean over folds.

Output: one JSON report on stdout (and in --json FILE): rows, features, folds, n_lambdas,
sklearn_seconds, ours_seconds, speedup (= sklearn_seconds / ours_seconds), sklearn_alpha,
our_alpha, their grid indices (sklearn_grid_index, our_grid_index), same_alpha (relative
difference < 1e-9, or the same grid index), the minimum mean MSE of each and, when both curves
have the grid's length, the largest relative difference between them (cv_mean_max_rel_diff);
machine (platform, CPUs, versions). At the default size scikit-learn's alpha_ is the grid's
smallest λ (the CV curve falls to the end of the eps=1e-3 grid), so same_alpha only checks the
edge; --eps 1e-4 puts the minimum inside the grid (index 78 of 100). With --sklearn-only the "ours" keys are null. Progress goes to
stderr. A gpu-regfit command that fails is printed with its stderr and the script exits with its
status; --timeout kills `gpu-regfit cv` after that many seconds and reports it as timed out.
"""

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV
from sklearn.model_selection import KFold

from common import emit, load, log, run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAME_ALPHA_RTOL = 1e-9


def generate(a, workdir):
    path = os.path.join(workdir, "x.npy")
    target = os.path.splitext(path)[0] + ".target.npy"
    if a.reuse_data and os.path.exists(path) and os.path.exists(target):
        shape = np.load(path, mmap_mode="r").shape
        if shape == (a.rows, a.features):
            log(f"reusing {path} {shape}")
            return path
    cmd = [a.bin, "gen", "linear", "--rows", str(a.rows), "--features", str(a.features),
           "--informative", str(min(a.informative, a.features)), "--noise", repr(a.noise),
           "--seed", str(a.seed), "--out", path]
    log(f"generating: {shlex.join(cmd)}")
    run(cmd)
    return path


def write_folds(n, k, path):
    """KFold(k) without shuffling; writes one fold id per row and returns the (train, test)
    splits."""
    splits = list(KFold(k).split(np.empty((n, 1))))
    ids = np.empty(n, dtype=np.int64)
    for f, (_, test) in enumerate(splits):
        ids[test] = f
    with open(path, "w") as fh:
        fh.write("\n".join(map(str, ids.tolist())) + "\n")
    return splits


def grid_index(grid, value):
    """Index of the grid value nearest to `value` (in log scale)."""
    grid = np.asarray(grid, dtype=np.float64)
    if value is None or value <= 0 or not len(grid):
        return None
    return int(np.argmin(np.abs(np.log(grid) - np.log(value))))


def sklearn_cv(a, X, y, splits):
    est = LassoCV(alphas=a.n_lambdas, eps=a.eps, cv=splits, tol=a.sklearn_tol,
                  max_iter=a.sklearn_max_iter, n_jobs=a.sklearn_jobs)
    log(f"scikit-learn: LassoCV(alphas={a.n_lambdas}, eps={a.eps}, cv=KFold({a.folds}), "
        f"tol={a.sklearn_tol}, max_iter={a.sklearn_max_iter}, n_jobs={a.sklearn_jobs}) on X "
        f"{X.dtype} {X.shape}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - t
    alphas = np.asarray(est.alphas_, dtype=np.float64)
    mse_mean = est.mse_path_.mean(axis=1)
    index = grid_index(alphas, float(est.alpha_))
    warned = sum(issubclass(c.category, ConvergenceWarning) for c in caught)
    log(f"  {seconds:.3f} s; alpha_ {float(est.alpha_)!r} (grid index {index} of {len(alphas)}), "
        f"mean MSE {float(mse_mean[index])!r}, {np.count_nonzero(est.coef_)} nonzero "
        "coefficients" + (f"; {warned} ConvergenceWarning(s)" if warned else ""))
    if index in (0, len(alphas) - 1):
        log("  note: alpha_ is at the end of the grid (the CV curve has no interior minimum), so "
            "same_alpha is a weak check; a smaller --eps (1e-4 at the default size) moves it "
            "inside")
    return {
        "seconds": seconds,
        "alpha": float(est.alpha_),
        "grid_index": index,
        "alphas": alphas,
        "mse_mean": mse_mean,
        "nnz": int(np.count_nonzero(est.coef_)),
        "convergence_warnings": int(warned),
    }


def ours_cv(a, data, folds_file, lambdas_file, workdir):
    cv_json = os.path.join(workdir, "cv.json")
    if os.path.exists(cv_json):
        os.remove(cv_json)
    cmd = [a.bin, "cv", "--data", data, "--model", "linear", "--device", a.device,
           "--folds-file", folds_file, "--lambdas-file", lambdas_file, "--scoring", "mse",
           "--json", cv_json, "--out", os.path.join(workdir, "model.json"), "-q"]
    cmd += shlex.split(a.our_args)
    log(f"gpu-regfit: {shlex.join(cmd)}")
    out, wall = run(cmd, a.timeout)
    if out is None:
        return {"command": shlex.join(cmd), "timed_out": True, "seconds": wall}
    try:
        with open(cv_json) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        log(f"error: cannot read {cv_json} written by\n  {shlex.join(cmd)}\n  ({e})")
        sys.exit(1)
    missing = [k for k in ("lambda_min", "lambda", "cv_mean") if k not in res]
    if "lambda_min" in missing:
        log(f"error: {cv_json} has no lambda_min (keys: {sorted(res)})")
        sys.exit(1)
    if missing:
        log(f"warning: {cv_json} has no {', '.join(missing)}")
    grid = res.get("lambda")
    cv_mean = res.get("cv_mean")
    # One grid per l1 ratio would be a list of lists; a lasso run has one.
    if grid and isinstance(grid[0], list):
        grid = grid[0]
    if cv_mean and isinstance(cv_mean[0], list):
        cv_mean = cv_mean[0]
    alpha = float(res["lambda_min"])
    log(f"  {wall:.3f} s wall; lambda_min {alpha!r}")
    return {
        "command": shlex.join(cmd),
        "seconds": wall,
        "alpha": alpha,
        "grid": None if grid is None else np.asarray(grid, dtype=np.float64),
        "cv_mean": None if cv_mean is None else np.asarray(cv_mean, dtype=np.float64),
    }


def compare(sk, ours):
    """The report's comparison keys."""
    r = {"ours_seconds": None, "speedup": None, "our_alpha": None, "our_grid_index": None,
         "same_alpha": None, "alpha_rel_diff": None, "our_cv_mean_min": None,
         "cv_mean_max_rel_diff": None, "our_grid_matches": None}
    if ours is None:
        return r
    r["ours_seconds"] = ours["seconds"]
    r["ours_command"] = ours["command"]
    if ours.get("timed_out"):
        r["ours_timed_out"] = True
        return r
    r["speedup"] = sk["seconds"] / ours["seconds"] if ours["seconds"] > 0 else None
    r["our_alpha"] = ours["alpha"]
    grid = ours["grid"] if ours["grid"] is not None else sk["alphas"]
    r["our_grid_index"] = grid_index(grid, ours["alpha"])
    if ours["grid"] is not None:
        r["our_grid_matches"] = bool(len(ours["grid"]) == len(sk["alphas"]) and np.allclose(
            ours["grid"], sk["alphas"], rtol=SAME_ALPHA_RTOL, atol=0))
    rel = abs(ours["alpha"] - sk["alpha"]) / abs(sk["alpha"])
    r["alpha_rel_diff"] = rel
    r["same_alpha"] = bool(rel < SAME_ALPHA_RTOL or r["our_grid_index"] == sk["grid_index"])
    cm = ours["cv_mean"]
    if cm is not None and len(cm):
        r["our_cv_mean_min"] = float(np.min(cm))
        if len(cm) == len(sk["mse_mean"]):
            r["cv_mean_max_rel_diff"] = float(np.max(np.abs(cm - sk["mse_mean"])
                                                     / np.abs(sk["mse_mean"])))
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--bin", default=os.path.join(REPO, "target", "release", "gpu-regfit"),
                   help="the gpu-regfit binary (default: target/release/gpu-regfit of this "
                        "repository)")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--informative", type=int, default=8)
    p.add_argument("--noise", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--folds", type=int, default=5, help="KFold(FOLDS), contiguous")
    p.add_argument("--n-lambdas", type=int, default=100, help="grid size (LassoCV's alphas=)")
    p.add_argument("--eps", type=float, default=1e-3, help="grid's smallest / largest λ")
    p.add_argument("--sklearn-tol", type=float, default=1e-4, help="LassoCV's tol (its default)")
    p.add_argument("--sklearn-max-iter", type=int, default=1000,
                   help="LassoCV's max_iter (its default)")
    p.add_argument("--sklearn-jobs", type=int, default=None,
                   help="LassoCV's n_jobs (default: None, one fold at a time)")
    p.add_argument("--sklearn-dtype", choices=["float64", "float32"], default="float64",
                   help="X's dtype for scikit-learn")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                   help="`gpu-regfit cv --device`")
    p.add_argument("--our-args", default="",
                   help='extra flags for `gpu-regfit cv`, split as a shell would '
                        '(e.g. --our-args "--tol 1e-6")')
    p.add_argument("--timeout", type=float, default=None,
                   help="kill `gpu-regfit cv` after this many seconds and report it as timed out")
    p.add_argument("--sklearn-only", action="store_true",
                   help="no `gpu-regfit cv` (the binary still generates the data)")
    p.add_argument("--workdir", default=None, help="keep the files here (default: a temp dir)")
    p.add_argument("--reuse-data", action="store_true",
                   help="reuse --workdir's x.npy when its shape matches")
    p.add_argument("--json", default=None, help="also write the report here")
    a = p.parse_args()

    if not os.path.isfile(a.bin) or not os.access(a.bin, os.X_OK):
        log(f"error: no gpu-regfit binary at {a.bin} (run `cargo build --release`, or pass "
            "--bin PATH)")
        sys.exit(1)
    if a.folds < 2 or a.folds > a.rows:
        p.error("--folds must be between 2 and --rows")

    tmp = None
    if a.workdir:
        os.makedirs(a.workdir, exist_ok=True)
        workdir = a.workdir
    else:
        tmp = tempfile.TemporaryDirectory(prefix="cv_vs_sklearn.")
        workdir = tmp.name
    try:
        data = generate(a, workdir)
        X32, y32 = load(data)
        rows, features = X32.shape
        folds_file = os.path.join(workdir, "folds.txt")
        splits = write_folds(rows, a.folds, folds_file)
        X = X32.astype(np.float64) if a.sklearn_dtype == "float64" else X32
        del X32
        sk = sklearn_cv(a, X, y32.astype(np.float64), splits)
        del X
        lambdas_file = os.path.join(workdir, "lambdas.txt")
        with open(lambdas_file, "w") as fh:
            fh.write("".join(repr(float(v)) + "\n" for v in sk["alphas"]))
        ours = None if a.sklearn_only else ours_cv(a, data, folds_file, lambdas_file, workdir)
    finally:
        if tmp is not None:
            tmp.cleanup()

    report = {
        "benchmark": "bench/cv_vs_sklearn.py",
        "rows": rows,
        "features": features,
        "folds": a.folds,
        "n_lambdas": len(sk["alphas"]),
        "eps": a.eps,
        "device": None if a.sklearn_only else a.device,
        "sklearn_estimator": f"LassoCV(alphas={a.n_lambdas}, eps={a.eps}, cv=KFold({a.folds}), "
                             f"tol={a.sklearn_tol}, max_iter={a.sklearn_max_iter}, "
                             f"n_jobs={a.sklearn_jobs})",
        "sklearn_dtype": a.sklearn_dtype,
        "sklearn_seconds": sk["seconds"],
        "sklearn_alpha": sk["alpha"],
        "sklearn_grid_index": sk["grid_index"],
        "sklearn_alpha_max": float(sk["alphas"][0]),
        "sklearn_cv_mean_min": float(np.min(sk["mse_mean"])),
        "sklearn_nnz": sk["nnz"],
        "sklearn_convergence_warnings": sk["convergence_warnings"],
    }
    report.update(compare(sk, ours))
    report["gpu_regfit"] = a.bin
    report["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
    }
    if report["ours_seconds"] is not None and report["speedup"] is not None:
        log(f"scikit-learn {report['sklearn_seconds']:.3f} s, gpu-regfit ({a.device}) "
            f"{report['ours_seconds']:.3f} s: speedup {report['speedup']:.2f}x; same alpha: "
            f"{report['same_alpha']}")
    emit(report, a.json)


if __name__ == "__main__":
    main()
