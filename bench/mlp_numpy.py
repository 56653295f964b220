#!/usr/bin/env python3
"""Plain-numpy reference of the mlp walkthrough: a 2→H→K ReLU network trained full batch, to check
`gpu-regfit fit --model mlp`'s numbers against.

    gpu-regfit gen spiral --points 2000 --classes 3 --out spiral.csv
    python3 bench/mlp_numpy.py spiral.csv --hidden 128 --epochs 10000 --lr 1.0 --momentum 0.5 \\
        --decay 0 --l2 5e-4 --bias-l2 5e-4 --init small --seed 0

Data: a CSV with header x0,x1,...,y (the last column is the class index), or an .npy X with y in
<stem>.target.npy. The rows are split --train-fraction / rest by a random permutation drawn from
numpy.random.default_rng(--seed) (not stratified); the same generator then draws the weights.

Model: Dense(d→H) + ReLU + Dense(H→K), softmax cross-entropy, float64 throughout. Objective
    J = (1/m) Σ loss + l1·‖W1‖₁ + l2·‖W1‖₂² + bias_l1·‖b1‖₁ + bias_l2·‖b1‖₂²
(penalties on the first layer only, like the walkthrough), penalty gradient
l1·sign(W1) + 2·l2·W1 and bias_l1·sign(b1) + 2·bias_l2·b1. One step per epoch (full batch), with
heavy-ball momentum and decay: lr_t = lr / (1 + decay·t), t = epoch from 0;
v ← μ·v − lr_t·g;  w ← w + v.
Init: small = 0.01·N(0,1), he = N(0, 2/fan_in), glorot = U(±sqrt(6/(fan_in+fan_out))); biases 0.

Every --log-every epochs (and at epoch 0 and the last) prints: epoch, data loss, reg loss, train
accuracy, validation accuracy, all at the weights after that many updates; at the end one JSON line
with the final numbers.
"""

import argparse
import json
import os
import sys
import time

import numpy as np


def load(path):
    """X (float64, rows × features) and integer labels y."""
    stem, ext = os.path.splitext(path)
    if ext == ".npy":
        x = np.load(path).astype(np.float64)
        y = np.load(stem + ".target.npy")
    else:
        with open(path) as f:
            header = f.readline().strip().split(",")
        if len(header) < 2 or not all(h.startswith("x") for h in header[:-1]):
            sys.exit(f"{path}: expected a header x0,x1,...,y; found {','.join(header)}")
        data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
        x, y = data[:, :-1], data[:, -1]
    if x.ndim != 2 or y.shape != (x.shape[0],):
        sys.exit(f"{path}: X must be 2-D and y must have one value per row")
    if not np.all(y == np.round(y)) or y.min() < 0:
        sys.exit(f"{path}: the targets must be class indices 0, 1, ...")
    return np.ascontiguousarray(x), y.astype(np.int64)


def init_weights(kind, fan_in, fan_out, rng):
    if kind == "small":
        return 0.01 * rng.standard_normal((fan_in, fan_out))
    if kind == "he":
        return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
    if kind == "glorot":
        a = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, (fan_in, fan_out))
    raise ValueError(kind)


def forward(x, w1, b1, w2, b2):
    h = np.maximum(0.0, x @ w1 + b1)
    return h, h @ w2 + b2


def accuracy(scores, y):
    return float(np.mean(np.argmax(scores, axis=1) == y))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="spiral.csv from `gpu-regfit gen spiral --out spiral.csv`")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--classes", type=int, default=None, help="default: max label + 1")
    p.add_argument("--epochs", type=int, default=10000)
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--momentum", type=float, default=0.5)
    p.add_argument("--decay", type=float, default=0.0)
    p.add_argument("--l1", type=float, default=0.0, help="first layer's weights")
    p.add_argument("--l2", type=float, default=5e-4, help="first layer's weights")
    p.add_argument("--bias-l1", type=float, default=0.0, help="first layer's biases")
    p.add_argument("--bias-l2", type=float, default=5e-4, help="first layer's biases")
    p.add_argument("--init", choices=["small", "he", "glorot"], default="small")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-fraction", type=float, default=0.5)
    p.add_argument("--log-every", type=int, default=1000)
    a = p.parse_args()
    if a.log_every < 1 or a.epochs < 0 or not 0 < a.train_fraction < 1:
        p.error("need --log-every ≥ 1, --epochs ≥ 0 and 0 < --train-fraction < 1")

    x, y = load(a.data)
    n, d = x.shape
    k = a.classes if a.classes is not None else int(y.max()) + 1
    if y.max() >= k:
        sys.exit(f"label {y.max()} is not below --classes {k}")
    rng = np.random.default_rng(a.seed)
    perm = rng.permutation(n)
    n_train = int(round(n * a.train_fraction))
    tr, va = perm[:n_train], perm[n_train:]
    xt, yt, xv, yv = x[tr], y[tr], x[va], y[va]
    m = xt.shape[0]

    h = a.hidden
    w1 = init_weights(a.init, d, h, rng)
    b1 = np.zeros(h)
    w2 = init_weights(a.init, h, k, rng)
    b2 = np.zeros(k)
    vel = [np.zeros_like(w1), np.zeros_like(b1), np.zeros_like(w2), np.zeros_like(b2)]
    onehot = np.zeros((m, k))
    onehot[np.arange(m), yt] = 1.0

    print(f"{n} rows, {d} features, {k} classes; train {m}, validation {n - m}; "
          f"hidden {h}, init {a.init}, seed {a.seed}", file=sys.stderr)
    print(f"{'epoch':>7} {'data_loss':>12} {'reg_loss':>12} {'train_acc':>9} {'val_acc':>9}")
    t0 = time.perf_counter()
    for epoch in range(a.epochs + 1):
        hid, scores = forward(xt, w1, b1, w2, b2)
        shifted = scores - scores.max(axis=1, keepdims=True)
        logsum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        logp = shifted - logsum
        data_loss = float(-logp[np.arange(m), yt].mean())
        reg_loss = float(a.l1 * np.abs(w1).sum() + a.l2 * (w1 * w1).sum()
                         + a.bias_l1 * np.abs(b1).sum() + a.bias_l2 * (b1 * b1).sum())
        last = epoch == a.epochs
        if epoch % a.log_every == 0 or last:
            train_acc = accuracy(scores, yt)
            val_acc = accuracy(forward(xv, w1, b1, w2, b2)[1], yv)
            print(f"{epoch:>7} {data_loss:>12.6f} {reg_loss:>12.6f} {train_acc:>9.4f} {val_acc:>9.4f}",
                  flush=True)
        if last:
            break
        # Backward pass of the mean cross-entropy, then the first layer's penalties.
        dscores = (np.exp(logp) - onehot) / m
        dw2 = hid.T @ dscores
        db2 = dscores.sum(axis=0)
        dhid = dscores @ w2.T
        dhid[hid <= 0.0] = 0.0
        dw1 = xt.T @ dhid + a.l1 * np.sign(w1) + 2.0 * a.l2 * w1
        db1 = dhid.sum(axis=0) + a.bias_l1 * np.sign(b1) + 2.0 * a.bias_l2 * b1
        lr_t = a.lr / (1.0 + a.decay * epoch)
        for param, v, g in zip((w1, b1, w2, b2), vel, (dw1, db1, dw2, db2)):
            v *= a.momentum
            v -= lr_t * g
            param += v
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "epochs": a.epochs,
        "data_loss": data_loss,
        "reg_loss": reg_loss,
        "loss": data_loss + reg_loss,
        "train_accuracy": train_acc,
        "validation_accuracy": val_acc,
        "seconds": seconds,
        "hidden": h,
        "classes": k,
        "train_rows": m,
        "validation_rows": n - m,
        "lr": a.lr,
        "momentum": a.momentum,
        "decay": a.decay,
        "l1": a.l1,
        "l2": a.l2,
        "bias_l1": a.bias_l1,
        "bias_l2": a.bias_l2,
        "init": a.init,
        "seed": a.seed,
    }))


if __name__ == "__main__":
    main()
