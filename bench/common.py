"""Shared by the peer baselines: load the data `gpu-regfit gen linear --out x.npy` wrote, and print
results with the same JSON keys as `gpu-regfit bench --json`."""

import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np


def load(path):
    """X (f32, rows × features) and y from PATH and its <stem>.target.npy."""
    stem, ext = os.path.splitext(path)
    if ext != ".npy":
        sys.exit(f"{path}: expected the .npy file written by `gpu-regfit gen linear --out x.npy`")
    x = np.load(path, mmap_mode="r").astype(np.float32, copy=False)
    y = np.load(stem + ".target.npy").astype(np.float32, copy=False)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        sys.exit(f"{path}: X must be 2-D and y must have one value per row")
    return np.ascontiguousarray(x), y


def result(rows, features, batch, model, epoch_seconds, copy_gbps, **extra):
    """One entry of "results", keyed as `gpu-regfit bench` keys them. `gpu_epoch_seconds` holds
    the peer's epoch time on its device; cpu_epoch_seconds and speedup are left to the reader."""
    gbps = rows * features * 4 / epoch_seconds / 1e9
    entry = {
        "rows": rows,
        "features": features,
        "batch": batch,
        "model": model,
        "gpu_epoch_seconds": epoch_seconds,
        "cpu_epoch_seconds": None,
        "gpu_gbps": gbps,
        "copy_fraction": gbps / copy_gbps if copy_gbps else None,
        "speedup": None,
    }
    entry.update(extra)
    return entry


def emit(report, out):
    text = json.dumps(report, indent=2)
    if out:
        with open(out + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(out + ".tmp", out)
    print(text)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, timeout=None):
    """Runs a gpu-regfit command; on failure prints it with its stderr and exits with its status.
    Returns (stdout, wall seconds), or (None, timeout) when it ran past `timeout` seconds (then it
    has been killed)."""
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"warning: killed after {timeout} s: {shlex.join(cmd)}")
        return None, timeout
    except OSError as e:
        log(f"error: cannot run {cmd[0]}: {e}")
        sys.exit(1)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        log("error: this command failed (exit status %d):\n  %s\n--- its stderr ---\n%s"
            % (p.returncode, shlex.join(cmd), p.stderr.rstrip()))
        sys.exit(p.returncode if 0 < p.returncode < 256 else 1)
    return p.stdout, wall
