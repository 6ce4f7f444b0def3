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
