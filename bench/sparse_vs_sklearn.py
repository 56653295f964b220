#!/usr/bin/env python3
"""A sparse epoch in GB/s of CSR bytes: gpu-regfit (GPU and CPU) against scikit-learn's
SGDClassifier and LogisticRegression(solver='saga') on the same CSR data, in one run.

    python3 bench/sparse_vs_sklearn.py --rows 100000 --features 2000000 --density 1e-4 \
        --epochs 3 --json sparse.json

Data: `--data FILE` (.libsvm, or a SciPy .npz with y in <stem>.target.npy), or by default one
made with `gpu-regfit gen sparse --model logistic` (kept in --workdir). CSR bytes are gpu-regfit's
layout: nnz·(4 + 4) + (rows + 1)·8 (f32 values, u32 indices, u64 row offsets); GB/s = CSR bytes ×
epochs / seconds of fitting (loading excluded on both sides).

- gpu-regfit: `fit --model logistic --solver sgd --epochs E --batch-size B --l1 L1 --device D
  --json`, for each of --devices; its summary's `seconds` (the fit alone).
- scikit-learn: SGDClassifier(loss='log_loss', penalty='l1', alpha=L1, max_iter=E, tol=None,
  batch size 1 by construction) and LogisticRegression(l1_ratio=1, solver='saga', C=1/(L1·n),
  max_iter=E, tol=0): the same objective family, E passes over the rows each; time.perf_counter
  around fit() on CSR float64 (converted once beforehand, as scikit-learn would).

Output: one JSON report on stdout (and --json FILE) with, per entry, seconds, epochs,
seconds_per_epoch, GB/s and the ratio of gpu-regfit's GB/s to each scikit-learn entry; a table on
stderr. A failing gpu-regfit command is recorded with its stderr and the run goes on.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def load(path):
    import scipy.sparse as sp
    if path.endswith(".npz"):
        X = sp.load_npz(path).tocsr()
        y = np.load(path[: -len(".npz")] + ".target.npy")
    else:
        from sklearn.datasets import load_svmlight_file
        X, y = load_svmlight_file(path, zero_based=False)
    return X.astype(np.float64), y.astype(np.float64)


def csr_bytes(X):
    return X.nnz * 8 + (X.shape[0] + 1) * 8


def run_ours(a, path, device):
    cmd = [a.bin, "fit", "--data", path, "--model", "logistic", "--solver", "sgd",
           "--epochs", str(a.epochs), "--batch-size", str(a.batch), "--l1", repr(a.l1),
           "--device", device, "--json"]
    if path.endswith((".libsvm", ".svm")):
        cmd.append("--sparse")
    log("$ " + " ".join(cmd))
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        log(p.stderr)
        return {"command": " ".join(cmd), "error": p.stderr.strip(), "wall_seconds": wall}
    s = json.loads(p.stdout)
    return {"command": " ".join(cmd), "seconds": s["seconds"], "epochs": s.get("iterations", a.epochs),
            "wall_seconds": wall, "loss": s.get("loss"), "device": s.get("device")}


def run_sgd(a, X, y):
    from sklearn.linear_model import SGDClassifier
    m = SGDClassifier(loss="log_loss", penalty="l1", alpha=a.l1, max_iter=a.epochs, tol=None,
                      random_state=0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X, y)
    return {"seconds": time.perf_counter() - t, "epochs": int(m.n_iter_)}


def run_saga(a, X, y):
    from sklearn.linear_model import LogisticRegression
    n = X.shape[0]
    m = LogisticRegression(l1_ratio=1.0, solver="saga", C=1.0 / (a.l1 * n), max_iter=a.epochs,
                           tol=0.0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X, y)
    return {"seconds": time.perf_counter() - t, "epochs": int(np.max(m.n_iter_))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--features", type=int, default=200_000)
    ap.add_argument("--density", type=float, default=5e-4)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--l1", type=float, default=1e-5)
    ap.add_argument("--devices", default="gpu,cpu")
    ap.add_argument("--bin", default="target/release/gpu-regfit")
    ap.add_argument("--workdir", default="bench_sparse_data")
    ap.add_argument("--json")
    a = ap.parse_args()
    path = a.data
    if path is None:
        os.makedirs(a.workdir, exist_ok=True)
        path = os.path.join(a.workdir, f"sparse_{a.rows}x{a.features}_{a.density:g}.npz")
        if not os.path.exists(path):
            cmd = [a.bin, "gen", "sparse", "--rows", str(a.rows), "--features", str(a.features),
                   "--density", repr(a.density), "--informative", "20", "--model", "logistic",
                   "--seed", "0", "--out", path]
            log("$ " + " ".join(cmd))
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    X, y = load(path)
    nbytes = csr_bytes(X)
    log(f"data: {path}: {X.shape[0]} × {X.shape[1]}, {X.nnz} stored, CSR {nbytes / 1e9:.3f} GB")
    entries = {}
    for device in [d for d in a.devices.split(",") if d]:
        entries[f"gpu-regfit sgd ({device})"] = run_ours(a, path, device)
    log("scikit-learn SGDClassifier ...")
    entries["sklearn SGDClassifier"] = run_sgd(a, X, y)
    log("scikit-learn LogisticRegression(saga) ...")
    entries["sklearn LogisticRegression(saga)"] = run_saga(a, X, y)
    for e in entries.values():
        if "seconds" in e:
            e["seconds_per_epoch"] = e["seconds"] / max(e["epochs"], 1)
            e["gb_per_s"] = nbytes * e["epochs"] / e["seconds"] / 1e9
    refs = {k: v["gb_per_s"] for k, v in entries.items() if k.startswith("sklearn") and "gb_per_s" in v}
    for k, e in entries.items():
        if k.startswith("gpu-regfit") and "gb_per_s" in e:
            e["ratio_to"] = {r: e["gb_per_s"] / g for r, g in refs.items()}
    log(f"{'who':<36} {'s/epoch':>10} {'GB/s':>8}  ratios")
    for k, e in entries.items():
        if "gb_per_s" not in e:
            log(f"{k:<36} failed: {e.get('error', '')[:80]}")
            continue
        ratios = " ".join(f"{v:.2f}x {r.split()[1]}" for r, v in e.get("ratio_to", {}).items())
        log(f"{k:<36} {e['seconds_per_epoch']:>10.4f} {e['gb_per_s']:>8.3f}  {ratios}")
    report = {"data": path, "rows": X.shape[0], "features": X.shape[1], "nnz": int(X.nnz),
              "csr_bytes": nbytes, "epochs": a.epochs, "batch": a.batch, "l1": a.l1,
              "entries": entries}
    text = json.dumps(report, indent=2)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
