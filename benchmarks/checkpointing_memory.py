"""Gradient checkpointing (``tf.recompute_grad``): peak memory and time of one gradient step.

A deep MLP (default 32 Dense layers of 128 units, ReLU, batch 2048: activations outweigh weight gradients) is differentiated three ways:
plainly, with every ``--segment`` layers wrapped in ``tf.recompute_grad``, and the gradients are
compared bit for bit. Peak memory is measured with ``tracemalloc`` (NumPy reports its array
buffers to it), from just before the forward pass to the end of ``tape.gradient``; times are the best of three steps without tracemalloc.

    python benchmarks/checkpointing_memory.py [--layers 32] [--units 128] [--batch 2048] [--segment 4]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tapeflow as tf  # noqa: E402


def build(layers: int, units: int):
    tf.random.set_seed(0)
    dense = [tf.keras.layers.Dense(units, activation="relu") for _ in range(layers)]
    x = tf.constant(np.random.default_rng(0).standard_normal((4, units)).astype(np.float32))
    h = x
    for d in dense:  # build the weights outside the measurement
        h = d(h)
    return dense


def step(dense, x, segment: int, trace: bool = True):
    variables = [v for d in dense for v in d.trainable_variables]

    def make_block(layers):
        def block(h):
            for d in layers:
                h = d(h)
            return h
        return tf.recompute_grad(block) if segment else block

    blocks = [make_block(dense[i:i + (segment or len(dense))]) for i in range(0, len(dense), segment or len(dense))]
    if trace:
        tracemalloc.start()
        tracemalloc.reset_peak()
    t0 = time.perf_counter()
    with tf.GradientTape() as tape:
        h = x
        for b in blocks:
            h = b(h)
        loss = tf.reduce_mean(tf.square(h))
    grads = tape.gradient(loss, variables)
    dt = time.perf_counter() - t0
    peak = 0
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return [g.numpy() for g in grads], peak, dt


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--segment", type=int, default=4)
    a = p.parse_args(argv)
    dense = build(a.layers, a.units)
    x = tf.constant(np.random.default_rng(1).standard_normal((a.batch, a.units)).astype(np.float32))
    step(dense, x, 0)  # warm-up
    g_plain, peak_plain, t_plain = step(dense, x, 0)
    g_ckpt, peak_ckpt, t_ckpt = step(dense, x, a.segment)
    # time without tracemalloc (it slows every allocation): best of 3
    t_plain = min(step(dense, x, 0, trace=False)[2] for _ in range(3))
    t_ckpt = min(step(dense, x, a.segment, trace=False)[2] for _ in range(3))
    same = all(np.array_equal(u, v) for u, v in zip(g_plain, g_ckpt))
    act = a.batch * a.units * 4 / 2**20
    print(f"MLP {a.layers}x{a.units}, batch {a.batch} (one activation = {act:.2f} MiB), segments of {a.segment}")
    print(f"  plain        peak {peak_plain / 2**20:8.1f} MiB   time {t_plain * 1e3:7.1f} ms")
    print(f"  recompute    peak {peak_ckpt / 2**20:8.1f} MiB   time {t_ckpt * 1e3:7.1f} ms")
    print(f"  peak ratio {peak_ckpt / peak_plain:.2f}x, time ratio {t_ckpt / t_plain:.2f}x, "
          f"gradients bitwise identical: {same}")
    return peak_plain, peak_ckpt, same


if __name__ == "__main__":
    main()
