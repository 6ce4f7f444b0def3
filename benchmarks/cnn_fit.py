"""CNN training speed: tapeflow ``fit`` vs PyTorch eager vs Keras, in one process.

Model (all three): Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2, Flatten,
Dense 128 relu, Dense 10; Adam; batch 64; one epoch over 10k Fashion-MNIST images. Contenders
are interleaved ``--repeat`` times and medians reported (wall time, and CPU time of this
process: ``time.process_time`` is steadier on a shared machine).

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/cnn_fit.py`` (single-threaded BLAS and torch,
the fairest comparison on a busy machine) or without it for all cores. Keras runs when
``import keras`` works in this interpreter; otherwise run its row with a Keras environment's
python: ``/path/to/keras-env/bin/python benchmarks/cnn_fit.py --only keras``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import clean_blas_env, timed, fashion_mnist_flat, torch_accuracy, torch_classifier_epoch  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402


def run_tapeflow(x, y, xt, yt, bs):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import tapeflow as tf
    L = tf.keras.layers
    tf.random.set_seed(0)
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10)])
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    wall, cpu, _ = timed(lambda: model.fit(x, y, batch_size=bs, epochs=1, verbose=0))
    acc = float((model.predict(xt, verbose=0, batch_size=1000).argmax(1) == yt).mean())
    return wall, cpu, acc


def run_torch(x, y, xt, yt, bs):
    import torch
    torch.manual_seed(0)
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))
    nchw = lambda a: np.ascontiguousarray(a.transpose(0, 3, 1, 2))  # noqa: E731
    wall, cpu, _ = timed(torch_classifier_epoch(net, nchw(x), y, bs))
    acc = torch_accuracy(net, nchw(xt), yt)
    return wall, cpu, acc


def run_keras(x, y, xt, yt, bs):
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
    except ImportError:
        return None
    L = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x[:bs * 4], y[:bs * 4], batch_size=bs, epochs=1, verbose=0)  # trace once, untimed
    wall, cpu, _ = timed(lambda: model.fit(x, y, batch_size=bs, epochs=1, verbose=0))
    acc = float((model.predict(xt, verbose=0).argmax(1) == yt).mean())
    return wall, cpu, acc


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n", type=int, default=10000, help="training images")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--no-keras", action="store_true")
    ap.add_argument("--only", choices=["tapeflow", "torch", "keras"], help="run one contender (profiling)")
    args = ap.parse_args()
    x, y, xt, yt = fashion_mnist_flat(args.n)
    x, xt = x.reshape(-1, 28, 28, 1), xt.reshape(-1, 28, 28, 1)
    contenders = [("tapeflow fit", run_tapeflow), ("pytorch eager", run_torch)]
    if not args.no_keras:
        contenders.append(("keras fit", run_keras))
    if args.only:
        contenders = [c for c in contenders if c[0].startswith(args.only.replace("torch", "pytorch"))]
    results = {}
    for _ in range(args.repeat):  # interleave contenders so drift hits all alike
        for name, fn in contenders:
            r = fn(x, y, xt, yt, args.batch)
            if r is not None:
                results.setdefault(name, []).append(r)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "all")
    print(f"\nCNN conv32-pool-conv64-pool-dense128-dense10, batch {args.batch}, Adam, 1 epoch of {len(x)} "
          f"(median of {args.repeat}; OPENBLAS_NUM_THREADS={threads})")
    print(f"{'contender':<16}{'wall s':>9}{'cpu s':>9}{'wall/torch':>12}{'cpu/torch':>11}{'test acc':>10}")
    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for k, v in results.items()}
    base = med.get("pytorch eager", next(iter(med.values())))
    for k, v in results.items():
        w, c = med[k]
        print(f"{k:<16}{w:>9.3f}{c:>9.3f}{w / base[0]:>11.2f}x{c / base[1]:>10.2f}x{v[-1][2]:>10.4f}")


if __name__ == "__main__":
    main()
