"""Data-parallel fit over MPI: samples/s for 1 and 2 ranks, the all-reduce cost per step, and a projection.

    python benchmarks/mpi_fit.py [--samples 12800] [--batch 256] [--epochs 2] [--gbps 10] [--latency-us 50]

The parent process runs the spec's MLP (784-256-128-10, Adam) on Fashion-MNIST-shaped data three ways: plain
``fit`` in one process, and ``MultiWorkerMirroredStrategy`` under ``mpiexec -n 1`` and ``-n 2`` with the same
global batch (each rank's BLAS threads limited to its share of the cores). Each worker also times one bare ``Allreduce`` of the fused gradient buffer (4 bytes x params).
The projection for N machines assumes compute splits evenly (global batch fixed) and a ring all-reduce:
``2 (N-1)/N x bytes / bandwidth + 2 (N-1) x latency`` per step.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _data(n):
    import numpy as np
    g = np.random.default_rng(0)
    return g.random((n, 784), dtype=np.float32), g.integers(0, 10, n)


def _model():
    import tapeflow as tf
    model = tf.keras.Sequential([tf.keras.Input((784,)), tf.keras.layers.Dense(256, activation="relu"),
                                 tf.keras.layers.Dense(128, activation="relu"), tf.keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _timed_fit(model, x, y, batch, epochs):
    model.fit(x[:batch * 4], y[:batch * 4], batch_size=batch, epochs=1, verbose=0)  # warm-up
    t = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    return len(x) * epochs / (time.perf_counter() - t)


def worker(args) -> None:
    """One MPI rank: timed fit under the strategy, then a bare all-reduce of the gradient buffer's size."""
    import numpy as np
    import tapeflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    tf.keras.utils.set_random_seed(0)
    x, y = _data(args.samples)
    with strategy.scope():
        model = _model()
    sps = _timed_fit(model, x, y, args.batch, args.epochs)
    params = model.count_params()
    buf = np.zeros(params + len(model.trainable_variables) + 3, np.float32)
    times = []
    for _ in range(args.allreduce_repeats):
        strategy.barrier()
        t = time.perf_counter()
        strategy.allreduce_(buf)
        times.append(time.perf_counter() - t)
    if strategy.is_chief:
        print(json.dumps({"workers": strategy.num_workers, "samples_per_s": sps, "params": params,
                          "allreduce_ms": 1e3 * statistics.median(times)}), flush=True)


def single(args) -> dict:
    import tapeflow as tf
    tf.keras.utils.set_random_seed(0)
    x, y = _data(args.samples)
    model = _model()
    return {"workers": 0, "samples_per_s": _timed_fit(model, x, y, args.batch, args.epochs),
            "params": model.count_params(), "allreduce_ms": 0.0}


def launch(n, args, threads=None) -> dict:
    from tapeflow.cli.workers import require_mpiexec, worker_env
    cmd = [require_mpiexec(), "-n", str(n), sys.executable, os.path.abspath(__file__), "--worker",
           "--samples", str(args.samples), "--batch", str(args.batch), "--epochs", str(args.epochs)]
    env = dict(worker_env(n))
    env.pop("TAPEFLOW_WORKERS")  # the workers build their own strategy
    if threads:
        env.update({v: str(threads) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                              "TAPEFLOW_NUM_THREADS")})
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600, env=env).stdout
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    result["threads"] = int(env["OPENBLAS_NUM_THREADS"])
    return result


def projection(step_ms_one_worker, params, batch, gbps, latency_us, workers=(1, 2, 4, 8, 16, 32, 64)):
    """Rows ``(N, compute ms, all-reduce ms, samples/s)`` for a fixed global ``batch`` split over N machines."""
    nbytes = 4 * params
    rows = []
    for n in workers:
        comm = 0.0 if n == 1 else (2 * (n - 1) / n * nbytes / (gbps * 1e9 / 8) + 2 * (n - 1) * latency_us * 1e-6)
        compute = step_ms_one_worker / 1e3 / n
        rows.append((n, compute * 1e3, comm * 1e3, batch / (compute + comm)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=12800)
    ap.add_argument("--batch", type=int, default=256, help="global batch size")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--gbps", type=float, default=10.0, help="network bandwidth for the projection (Gb/s)")
    ap.add_argument("--latency-us", type=float, default=50.0, help="per-message latency for the projection")
    ap.add_argument("--allreduce-repeats", type=int, default=50)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    # 1 rank with 1 thread is the fair per-core baseline for 2 ranks of 1 thread each on 2 cores
    results = [single(args), launch(1, args), launch(1, args, threads=1), launch(2, args)]
    print(f"MLP 784-256-128-10, Adam, global batch {args.batch}, {args.samples} samples x {args.epochs} epochs, "
          f"{os.cpu_count()} CPU cores")
    print(f"{'run':<26}{'samples/s':>12}{'allreduce/step':>17}")
    for r in results:
        name = "plain fit, 1 process" if r["workers"] == 0 else \
            f"MPI, {r['workers']} rank(s) x {r['threads']} thr"
        print(f"{name:<26}{r['samples_per_s']:>12.0f}{r['allreduce_ms']:>14.3f} ms")
    params = results[0]["params"]
    best_one = max(r["samples_per_s"] for r in results if r["workers"] <= 1)  # the best one-worker run
    step_ms = 1e3 * args.batch / best_one
    print(f"\nprojection: {params} params -> {4 * params / 1e6:.2f} MB all-reduced per step; ring all-reduce at "
          f"{args.gbps:g} Gb/s, {args.latency_us:g} us latency; compute {step_ms:.1f} ms/step on one worker, "
          "split evenly (global batch fixed)")
    print(f"{'machines':>8}{'compute ms':>12}{'allreduce ms':>14}{'samples/s':>12}{'speed-up':>10}")
    rows = projection(step_ms, params, args.batch, args.gbps, args.latency_us)
    for n, c, a, sps in rows:  # speed-up against the best measured one-worker throughput
        print(f"{n:>8}{c:>12.2f}{a:>14.2f}{sps:>12.0f}{sps / rows[0][3]:>10.2f}")


if __name__ == "__main__":
    main()
