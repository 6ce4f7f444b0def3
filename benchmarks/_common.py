"""Shared benchmark helpers: clean BLAS env, data loading, timing with medians."""
from __future__ import annotations

import os
import statistics
import sys
import time

_BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def clean_blas_env():
    """Re-exec without the machine's OpenBLAS overrides (a user's machine has neither)."""
    if any(v in os.environ for v in _BLAS_VARS):
        env = {k: v for k, v in os.environ.items() if k not in _BLAS_VARS}
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def timed(fn):
    """``(wall seconds, CPU seconds of this process, fn())``: CPU time is steadier on a shared machine."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def median_time(fn, repeat=3):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def fashion_mnist_flat(n=None):
    import numpy as np

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from tapeflow.keras.datasets import fashion_mnist
    (x, y), (xt, yt) = fashion_mnist.load_data()
    x = (x.reshape(-1, 784) / 255.0).astype(np.float32)
    xt = (xt.reshape(-1, 784) / 255.0).astype(np.float32)
    if n:
        x, y = x[:n], y[:n]
    return x, y.astype(np.int64), xt, yt.astype(np.int64)


def report(rows, baseline):
    base = dict(rows)[baseline]
    print(f"{'contender':<28}{'median s':>10}{'ratio':>9}")
    for name, t in rows:
        print(f"{name:<28}{t:>10.3f}{t / base:>8.2f}x")


def torch_classifier_epoch(net, x, y, bs):
    """A closure running one PyTorch epoch the way ``fit`` trains a classifier: shuffled batches,
    Adam with Keras's epsilon, cross-entropy on logits, and the accuracy count fit's metric does."""
    import torch
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    lossf = torch.nn.CrossEntropyLoss()
    X, Y = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        perm = torch.randperm(X.shape[0])
        correct = 0
        for s in range(0, X.shape[0], bs):
            idx = perm[s:s + bs]
            xb, yb = X[idx], Y[idx]
            out = net(xb)
            loss = lossf(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += int((out.argmax(1) == yb).sum())
        return correct
    return epoch


def torch_accuracy(net, xt, yt) -> float:
    import torch
    with torch.no_grad():
        return float((net(torch.from_numpy(xt)).argmax(1).numpy() == yt).mean())
