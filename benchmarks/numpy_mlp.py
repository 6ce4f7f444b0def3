"""A hand-fused NumPy training loop: the speed limit of a NumPy engine for an MLP with Adam.

Forward, backward (softmax cross-entropy gradient ``p - y``) and Adam updates written by hand,
in place, with no framework at all. ``benchmarks/mlp_fit.py`` times tapeflow's ``fit`` against it.
"""
from __future__ import annotations

import numpy as np


def glorot(rng, fan_in, fan_out):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, (fan_in, fan_out)).astype(np.float32)


def train_numpy(x, y, sizes=(784, 128, 10), batch_size=32, epochs=1, lr=1e-3, seed=0):
    """One-hidden-layer-per-entry ReLU MLP with softmax cross-entropy and Adam; returns params."""
    rng = np.random.default_rng(seed)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [glorot(rng, a, b), np.zeros(b, np.float32)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-7
    n = x.shape[0]
    t = 0
    nl = len(sizes) - 1
    for _ in range(epochs):
        perm = rng.permutation(n)
        xs, ys = x[perm], y[perm]
        for s in range(0, n, batch_size):
            xb, yb = xs[s:s + batch_size], ys[s:s + batch_size]
            bs = xb.shape[0]
            acts = [xb]
            h = xb
            for k in range(nl):
                z = h @ params[2 * k] + params[2 * k + 1]
                h = np.maximum(z, 0) if k < nl - 1 else z
                acts.append(h)
            z = acts[-1]
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(axis=1, keepdims=True)
            g = p
            g[np.arange(bs), yb] -= 1
            g /= bs
            grads = [None] * len(params)
            for k in range(nl - 1, -1, -1):
                grads[2 * k] = acts[k].T @ g
                grads[2 * k + 1] = g.sum(axis=0)
                if k:
                    g = (g @ params[2 * k].T) * (acts[k] > 0)
            t += 1
            alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            for p_, g_, m_, v_ in zip(params, grads, m, v):
                m_ += (g_ - m_) * (1 - b1)
                v_ += (g_ * g_ - v_) * (1 - b2)
                p_ -= alpha * m_ / (np.sqrt(v_) + eps)
    return params


def accuracy(params, x, y):
    h = x
    nl = len(params) // 2
    for k in range(nl):
        h = h @ params[2 * k] + params[2 * k + 1]
        if k < nl - 1:
            h = np.maximum(h, 0)
    return float((h.argmax(1) == y).mean())
