#!/usr/bin/env python3
"""The PyTorch peer of `gpu-regfit bench`: the same minibatch SGD on the same data, written the
way a user would write it by hand, timed per epoch after a warm-up epoch.

    gpu-regfit gen linear --rows 10000000 --features 128 --informative 8 --out x.npy
    python3 bench/pytorch_baseline.py x.npy --batch 4096 --lr 0.01 --l1 1e-4 --l2 1e-4 --json torch.json

    gpu-regfit gen classification --rows 1000000 --features 128 --informative 8 --classes 10 --out c.npy
    python3 bench/pytorch_baseline.py c.npy --model mlp --hidden 256 --classes 10 --batch 4096 \
        --lr 0.01 --momentum 0.9 --l2 1e-4 --json torch-mlp.json

Per step, on the batch's rows (a fresh random permutation each epoch):
    r = X_b w + b − y_b;  g = X_bᵀ r / m + l1·sign(w) + 2·l2·w;  w −= lr·g;  b −= lr·mean(r)
which is gpu-regfit's objective with `--l1-update sign` (J = 1/(2m)Σr² + l1‖w‖₁ + l2‖w‖²).
--model mlp (y in <stem>.target.npy holds class indices 0..K-1): Dense(d→hidden) + ReLU +
Dense(hidden→K) as torch.nn.Linear layers (torch's default init), torch.optim.SGD with --momentum,
and per step on the batch
    loss = cross_entropy(logits, y_b) + l2·‖W1‖²   (W1: the first layer's weights; --l1 unused)
i.e. gpu-regfit's J = (1/m)Σloss + l2‖W1‖₂² with penalty gradient 2·l2·W1; torch's momentum
(v ← μv + g; w −= lr·v) is the heavy ball v ← μv − lr·g; w += v at a constant lr.
Runs on CUDA when present, else the CPU. Prints JSON with the keys of `gpu-regfit bench --json`;
copy_gbps is a device-to-device tensor copy timed in the same run.
"""

import argparse
import time

import numpy as np
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


def mlp_epoch(x, y, net, opt, batch, l2, generator):
    n = x.shape[0]
    perm = torch.randperm(n, device=x.device, generator=generator)
    for start in range(0, n, batch):
        idx = perm[start:start + batch]
        xb, yb = x[idx], y[idx]
        loss = torch.nn.functional.cross_entropy(net(xb), yb) + l2 * net[0].weight.pow(2).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="x.npy from `gpu-regfit gen linear --out x.npy` "
                   "(mlp: `gpu-regfit gen classification ... --out x.npy`)")
    p.add_argument("--model", choices=["linear", "mlp"], default="linear")
    p.add_argument("--hidden", type=int, default=256, help="mlp: hidden units")
    p.add_argument("--classes", type=int, default=None, help="mlp: classes (default: max label + 1)")
    p.add_argument("--momentum", type=float, default=0.9,
                   help="mlp: SGD momentum (default: 0.9, as gpu-regfit's sgd)")
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--l1", type=float, default=1e-4, help="linear only")
    p.add_argument("--l2", type=float, default=1e-4, help="mlp: on the first layer's weights")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when present)")
    p.add_argument("--json", default=None, help="also write the JSON to this file")
    a = p.parse_args()

    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    x_np, y_np = load(a.data)
    x = torch.from_numpy(x_np).to(device)
    if a.model == "mlp":
        if not np.all(y_np == np.round(y_np)) or y_np.min() < 0:
            p.error(f"{a.data}: --model mlp needs class indices 0, 1, ... as targets")
        classes = a.classes if a.classes is not None else int(y_np.max()) + 1
        if y_np.max() >= classes:
            p.error(f"label {int(y_np.max())} is not below --classes {classes}")
        y = torch.from_numpy(y_np.astype(np.int64)).to(device)
        torch.manual_seed(0)
        net = torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], a.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(a.hidden, classes),
        ).to(device)
        opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum)
        gen = torch.Generator(device=device).manual_seed(0)

        def run_epoch():
            mlp_epoch(x, y, net, opt, a.batch, a.l2, gen)
    else:
        y = torch.from_numpy(y_np).to(device)
        w = torch.zeros(x.shape[1], dtype=torch.float32, device=device)
        b = torch.zeros((), dtype=torch.float32, device=device)
        gen = torch.Generator(device=device).manual_seed(0)

        def run_epoch():
            with torch.no_grad():
                epoch(x, y, w, b, a.batch, a.lr, a.l1, a.l2, gen)

    run_epoch()  # warm-up
    sync(device)
    times = []
    for _ in range(a.epochs):
        t = time.perf_counter()
        run_epoch()
        sync(device)
        times.append(time.perf_counter() - t)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    bw = copy_gbps(device)
    rows, features = x.shape
    if a.model == "mlp":
        entry = result(rows, features, a.batch, "mlp", min(times), bw,
                       epoch_seconds_all=times, peer="pytorch", hidden=a.hidden, classes=classes)
    else:
        entry = result(rows, features, a.batch, "linear", min(times), bw,
                       epoch_seconds_all=times, peer="pytorch")
    emit(
        {
            "device": {"name": name, "backend": f"torch {torch.__version__} ({device.type})"},
            "copy_gbps": bw,
            "results": [entry],
        },
        a.json,
    )


if __name__ == "__main__":
    main()
