"""Prefetch overlap and input-pipeline throughput for tapeflow.data.

Part 1: a slow producer (a generator that sleeps ``--produce-ms`` per element) feeding a slow
consumer (sleeping ``--consume-ms`` per element), with and without ``.prefetch``. Without
prefetch the two costs add up; with it they overlap, so an epoch takes about the larger one.

Part 2: one epoch of Fashion-MNIST-sized arrays (60000x28x28 uint8 + labels) through
``from_tensor_slices.shuffle(10000).batch(64)`` and through the spec's pipeline (map with
cast/255 + random_flip_left_right before batching, and the same map after batching).

    python benchmarks/data_prefetch.py [--elements 50] [--produce-ms 10] [--consume-ms 10]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tapeflow as tf  # noqa: E402


def slow_source(n: int, produce_s: float):
    def gen():
        for i in range(n):
            time.sleep(produce_s)
            yield i
    return tf.data.Dataset.from_generator(gen, output_signature=tf.data.TensorSpec((), tf.int32))


def consume(ds, consume_s: float) -> float:
    t = time.perf_counter()
    for _ in ds:
        time.sleep(consume_s)
    return time.perf_counter() - t


def epoch_time(ds, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in ds:
            pass
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--elements", type=int, default=50)
    p.add_argument("--produce-ms", type=float, default=10.0)
    p.add_argument("--consume-ms", type=float, default=10.0)
    p.add_argument("--skip-epoch", action="store_true", help="only run the prefetch overlap part")
    a = p.parse_args()
    prod, cons = a.produce_ms / 1000, a.consume_ms / 1000
    ideal_serial = a.elements * (prod + cons)
    ideal_overlap = a.elements * max(prod, cons) + min(prod, cons)
    src = slow_source(a.elements, prod)
    plain = consume(src, cons)
    pre = consume(src.prefetch(tf.data.AUTOTUNE), cons)
    print(f"prefetch overlap: {a.elements} elements, producer {a.produce_ms:g} ms, consumer {a.consume_ms:g} ms")
    print(f"{'':22s}{'measured':>10s}{'ideal':>10s}")
    print(f"{'without prefetch':22s}{plain:9.3f}s{ideal_serial:9.3f}s")
    print(f"{'with prefetch':22s}{pre:9.3f}s{ideal_overlap:9.3f}s")
    print(f"speed-up {plain / pre:.2f}x (ideal {ideal_serial / ideal_overlap:.2f}x)")
    if a.skip_epoch:
        return

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60000, 28, 28, 1), dtype=np.uint8)
    y = rng.integers(0, 10, 60000).astype(np.uint8)

    def load_and_preprocess(x, y):
        x = tf.cast(x, tf.float32) / 255.0
        x = tf.image.random_flip_left_right(x)
        return x, y
    base = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10_000, seed=42)
    cases = [
        ("shuffle(10000).batch(64)", base.batch(64), 3),
        ("  + prefetch", base.batch(64).prefetch(tf.data.AUTOTUNE), 3),
        ("spec: map per element, AUTOTUNE", base.map(load_and_preprocess, num_parallel_calls=tf.data.AUTOTUNE)
         .batch(64).prefetch(tf.data.AUTOTUNE), 1),
        ("spec: map per element, sequential", base.map(load_and_preprocess).batch(64), 1),
        ("same map after batch (vectorized)", base.batch(64).map(load_and_preprocess,
                                                                 num_parallel_calls=tf.data.AUTOTUNE)
         .prefetch(tf.data.AUTOTUNE), 3),
    ]
    print("\none epoch of 60000x28x28x1 uint8 + labels, batch 64 (best of N)")
    for name, ds, reps in cases:
        print(f"{name:38s}{epoch_time(ds, reps):8.3f}s")


if __name__ == "__main__":
    main()
