#!/usr/bin/env python3
"""The PyTorch peer of `gpu-regfit bench`: the same minibatch SGD on the same data, written the
way a user would write it by hand, timed per epoch after a warm-up epoch.

    gpu-regfit gen linear --rows 10000000 --features 128 --informative 8 --out x.npy
    python3 bench/pytorch_baseline.py x.npy --batch 4096 --lr 0.01 --l1 1e-4 --l2 1e-4 --json torch.json

Per step, on the batch's rows (a fresh random permutation each epoch):
    r = X_b w + b − y_b;  g = X_bᵀ r / m + l1·sign(w) + 2·l2·w;  w −= lr·g;  b −= lr·mean(r)
which is gpu-regfit's objective with `--l1-update sign` (J = 1/(2m)Σr² + l1‖w‖₁ + l2‖w‖²).
Runs on CUDA when present, else the CPU. Prints JSON with the keys of `gpu-regfit bench --json`;
copy_gbps is a device-to-device tensor copy timed in the same run.
"""

import argparse
import time

import torch

from common import emit, load, result


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def copy_gbps(device):
    """Bytes copied per second by a 256 MiB device-to-device copy (best of 5)."""
    src = torch.empty(64 << 20, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    best = float("inf")
    for i in range(6):
        sync(device)
        t = time.perf_counter()
        dst.copy_(src)
        sync(device)
        if i:
            best = min(best, time.perf_counter() - t)
    return src.numel() * 4 / best / 1e9


def epoch(x, y, w, b, batch, lr, l1, l2, generator):
    n = x.shape[0]
    perm = torch.randperm(n, device=x.device, generator=generator)
    for start in range(0, n, batch):
        idx = perm[start:start + batch]
        xb, yb = x[idx], y[idx]
        r = xb @ w + b - yb
        g = xb.T @ r / idx.numel() + l1 * torch.sign(w) + 2 * l2 * w
        w -= lr * g
        b -= lr * r.mean()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="x.npy from `gpu-regfit gen linear --out x.npy`")
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--l1", type=float, default=1e-4)
    p.add_argument("--l2", type=float, default=1e-4)
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when present)")
    p.add_argument("--json", default=None, help="also write the JSON to this file")
    a = p.parse_args()

    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    x_np, y_np = load(a.data)
    x = torch.from_numpy(x_np).to(device)
    y = torch.from_numpy(y_np).to(device)
    w = torch.zeros(x.shape[1], dtype=torch.float32, device=device)
    b = torch.zeros((), dtype=torch.float32, device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    with torch.no_grad():
        epoch(x, y, w, b, a.batch, a.lr, a.l1, a.l2, gen)  # warm-up
        sync(device)
        times = []
        for _ in range(a.epochs):
            t = time.perf_counter()
            epoch(x, y, w, b, a.batch, a.lr, a.l1, a.l2, gen)
            sync(device)
            times.append(time.perf_counter() - t)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    bw = copy_gbps(device)
    rows, features = x.shape
    emit(
        {
            "device": {"name": name, "backend": f"torch {torch.__version__} ({device.type})"},
            "copy_gbps": bw,
            "results": [
                result(rows, features, a.batch, "linear", min(times), bw,
                       epoch_seconds_all=times, peer="pytorch")
            ],
        },
        a.json,
    )


if __name__ == "__main__":
    main()
