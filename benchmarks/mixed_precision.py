"""mixed_float16 vs float32 on this CPU: training step time and peak memory of one step.

An MLP (784-512-512-10, softmax output in float32) is trained on random data under each policy.
Time: median of ``--steps`` ``train_on_batch`` calls. Memory: tracemalloc peak of one training step
(activations, gradients, temporaries; the weights exist before it starts).

    python benchmarks/mixed_precision.py [--batch 256] [--steps 10]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tapeflow as tf  # noqa: E402


def measure(policy: str, batch: int, steps: int):
    mp = tf.keras.mixed_precision
    mp.set_global_policy(policy)
    tf.random.set_seed(0)
    m = tf.keras.Sequential([tf.keras.layers.Dense(512, activation="relu", input_shape=(784,)),
                             tf.keras.layers.Dense(512, activation="relu"),
                             tf.keras.layers.Dense(10),
                             tf.keras.layers.Activation("softmax", dtype="float32")])
    m.compile(tf.keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    mp.set_global_policy("float32")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    m.train_on_batch(x, y)  # build + warm-up
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        m.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    m.train_on_batch(x, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    a = p.parse_args(argv)
    t32, m32 = measure("float32", a.batch, a.steps)
    t16, m16 = measure("mixed_float16", a.batch, a.steps)
    r = np.random.default_rng(0)
    x32 = r.standard_normal((a.batch, 512)).astype(np.float32)
    w32 = r.standard_normal((512, 512)).astype(np.float32)
    x16, w16 = x32.astype(np.float16), w32.astype(np.float16)
    mm = {}
    for name, (u, v) in {"float32": (x32, w32), "float16": (x16, w16)}.items():
        u @ v
        t0 = time.perf_counter()
        for _ in range(5):
            u @ v
        mm[name] = (time.perf_counter() - t0) / 5
    print(f"MLP 784-512-512-10, batch {a.batch}, SGD")
    print(f"  float32        step {t32 * 1e3:8.1f} ms   peak step memory {m32 / 2**20:6.1f} MiB")
    print(f"  mixed_float16  step {t16 * 1e3:8.1f} ms   peak step memory {m16 / 2**20:6.1f} MiB")
    print(f"  mixed/float32: time {t16 / t32:.2f}x, memory {m16 / m32:.2f}x")
    print(f"  NumPy matmul {a.batch}x512x512: float32 {mm['float32'] * 1e3:.2f} ms, float16 {mm['float16'] * 1e3:.2f} ms "
          f"({mm['float16'] / mm['float32']:.0f}x slower: no float16 BLAS)")


if __name__ == "__main__":
    main()
