"""Engine overhead: many small ops under a tape, and a GradientTape MLP loop, vs PyTorch eager.

Run: ``python benchmarks/tape_overhead.py``. Prints microseconds per op (forward + backward)
for a chain of tiny elementwise ops, and seconds per epoch for a hand-written GradientTape
training loop of a 784-128-10 MLP (plain SGD, batch 32, Fashion-MNIST), each next to
PyTorch eager measured in the same run, with the ratio.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import clean_blas_env, fashion_mnist_flat, median_time  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

N_OPS = 2000


def tf_small_ops():
    import tapeflow as tf
    x = tf.Variable(np.ones(4, np.float32))

    def run():
        with tf.GradientTape() as tape:
            y = x
            for _ in range(N_OPS // 2):
                y = y * 1.0001
                y = y + 0.5
            s = tf.reduce_sum(y)
        tape.gradient(s, x)
    return median_time(run, 5)[0] / N_OPS * 1e6


def torch_small_ops():
    import torch
    x = torch.ones(4, requires_grad=True)

    def run():
        y = x
        for _ in range(N_OPS // 2):
            y = y * 1.0001
            y = y + 0.5
        s = y.sum()
        s.backward()
        x.grad = None
    return median_time(run, 5)[0] / N_OPS * 1e6


def tf_mlp_epoch(x, y, bs=32, lr=0.05):
    import tapeflow as tf
    rng = np.random.default_rng(0)
    w1 = tf.Variable(rng.normal(0, 0.05, (784, 128)).astype(np.float32))
    b1 = tf.Variable(np.zeros(128, np.float32))
    w2 = tf.Variable(rng.normal(0, 0.05, (128, 10)).astype(np.float32))
    b2 = tf.Variable(np.zeros(10, np.float32))
    params = [w1, b1, w2, b2]

    def epoch():
        for s in range(0, len(x), bs):
            xb, yb = x[s:s + bs], y[s:s + bs]
            with tf.GradientTape() as tape:
                h = tf.nn.relu(tf.matmul(xb, w1) + b1)
                logits = tf.matmul(h, w2) + b2
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, logits))
            for p, g in zip(params, tape.gradient(loss, params)):
                p.assign_sub(lr * g._value)
    return median_time(epoch, 3)[0]


def torch_mlp_epoch(x, y, bs=32, lr=0.05):
    import torch
    torch.manual_seed(0)
    w1 = torch.randn(784, 128).mul_(0.05).requires_grad_()
    b1 = torch.zeros(128, requires_grad=True)
    w2 = torch.randn(128, 10).mul_(0.05).requires_grad_()
    b2 = torch.zeros(10, requires_grad=True)
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    params = [w1, b1, w2, b2]

    def epoch():
        for s in range(0, len(X), bs):
            xb, yb = X[s:s + bs], Y[s:s + bs]
            loss = torch.nn.functional.cross_entropy(torch.relu(xb @ w1 + b1) @ w2 + b2, yb)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.sub_(lr * g)
    return median_time(epoch, 3)[0]


def main():
    x, y, _, _ = fashion_mnist_flat()
    a, b = tf_small_ops(), torch_small_ops()
    print(f"per-op overhead under a tape (fwd+bwd): tapeflow {a:.2f} us, torch {b:.2f} us, ratio {a / b:.2f}x")
    a, b = tf_mlp_epoch(x, y), torch_mlp_epoch(x, y)
    print(f"GradientTape MLP 784-128-10 epoch (SGD, bs 32): tapeflow {a:.3f} s, torch {b:.3f} s, ratio {a / b:.2f}x")


if __name__ == "__main__":
    main()
