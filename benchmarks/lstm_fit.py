"""LSTM training speed: tapeflow ``fit`` vs PyTorch eager vs Keras, in one run.

Task: each Fashion-MNIST image as a sequence of its 28 rows (28 features per step), LSTM(128) ->
Dense(10, softmax), Adam, batch 64, one epoch over the first ``--n`` (10k) images. Prints the median
seconds per epoch (wall clock and process CPU time), ratios against PyTorch and test accuracy.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/lstm_fit.py`` (contenders interleaved ``--repeat``
times so machine drift hits all alike). Keras runs in ``/tmp/tfenv/bin/python`` (or ``--keras-python``)
as a subprocess when that interpreter exists; ``--no-keras`` skips it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import clean_blas_env, timed, fashion_mnist_flat, torch_accuracy, torch_classifier_epoch  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

UNITS, BATCH, T, D = 128, 64, 28, 28


def run_tapeflow(x, y, xt, yt):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import tapeflow as tf
    keras = tf.keras
    tf.random.set_seed(0)
    model = keras.Sequential([keras.Input((T, D)), keras.layers.LSTM(UNITS),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    wall, cpu, _ = timed(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0))
    acc = float((model.predict(xt, verbose=0, batch_size=1024).argmax(1) == yt).mean())
    return wall, cpu, acc


def run_torch(x, y, xt, yt):
    import torch
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(D, UNITS, batch_first=True)
            self.head = torch.nn.Linear(UNITS, 10)

        def forward(self, v):
            out, _ = self.lstm(v)
            return self.head(out[:, -1])

    net = Net()
    wall, cpu, _ = timed(torch_classifier_epoch(net, x, y, BATCH))
    acc = torch_accuracy(net, xt, yt)
    return wall, cpu, acc


_KERAS_CHILD = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
d = np.load(sys.argv[1])
x, y, xt, yt = d["x"], d["y"], d["xt"], d["yt"]
model = keras.Sequential([keras.Input((28, 28)), keras.layers.LSTM(128), keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)  # trace once, untimed
w, c = time.perf_counter(), time.process_time()
model.fit(x, y, batch_size=64, epochs=1, verbose=0)
w, c = time.perf_counter() - w, time.process_time() - c
acc = float((model.predict(xt, verbose=0, batch_size=1024).argmax(1) == yt).mean())
print(json.dumps([w, c, acc]))
"""


def run_keras(python, data_path):
    if not python or not os.path.exists(python):
        return None
    env = dict(os.environ)
    out = subprocess.run([python, "-c", _KERAS_CHILD, data_path], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        print("keras run failed:", out.stderr[-2000:], file=sys.stderr)
        return None
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--no-keras", action="store_true")
    ap.add_argument("--keras-python", default="/tmp/tfenv/bin/python")
    args = ap.parse_args()
    x, y, xt, yt = fashion_mnist_flat(args.n)
    x, xt = x.reshape(-1, T, D), xt.reshape(-1, T, D)
    xt, yt = xt[:2000], yt[:2000]
    data_path = os.path.join("/tmp", f"lstm_fit_data_{os.getpid()}.npz")
    np.savez(data_path, x=x, y=y, xt=xt, yt=yt)
    contenders = [("tapeflow fit", lambda: run_tapeflow(x, y, xt, yt)),
                  ("pytorch eager", lambda: run_torch(x, y, xt, yt))]
    if not args.no_keras:
        contenders.append(("keras fit", lambda: run_keras(args.keras_python, data_path)))
    results = {}
    try:
        for _ in range(args.repeat):
            for name, fn in contenders:
                r = fn()
                if r is not None:
                    results.setdefault(name, []).append(r)
    finally:
        os.remove(data_path)
    print(f"\nLSTM({UNITS}) over 28 rows, batch {BATCH}, Adam, 1 epoch of {len(x)} Fashion-MNIST images "
          f"(median of {args.repeat}; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')})")
    print(f"{'contender':<16}{'wall s':>9}{'cpu s':>9}{'wall/torch':>12}{'cpu/torch':>11}{'test acc':>10}")
    med = {k: (float(np.median([r[0] for r in v])), float(np.median([r[1] for r in v]))) for k, v in results.items()}
    tw, tc = med["pytorch eager"]
    for k, v in results.items():
        print(f"{k:<16}{med[k][0]:>9.3f}{med[k][1]:>9.3f}{med[k][0] / tw:>11.2f}x{med[k][1] / tc:>10.2f}x"
              f"{v[-1][2]:>10.4f}")


if __name__ == "__main__":
    main()
