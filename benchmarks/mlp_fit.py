"""MLP training speed: tapeflow ``fit`` vs a hand-fused NumPy loop, PyTorch eager and Keras.

Run: ``python benchmarks/mlp_fit.py`` (one epoch of Fashion-MNIST per contender, median of
``--repeat`` runs, all in this one process so the machine's state is shared). Prints seconds
and ratios against PyTorch and against the NumPy loop, plus test accuracy.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import clean_blas_env, fashion_mnist_flat, median_time, torch_accuracy, torch_classifier_epoch  # noqa: E402,E501

clean_blas_env()

import numpy as np  # noqa: E402

from numpy_mlp import accuracy, train_numpy  # noqa: E402


def run_tapeflow(x, y, xt, yt, sizes, bs):
    import tapeflow as tf
    keras = tf.keras
    layers = [keras.layers.Dense(sizes[1], activation="relu", input_shape=(sizes[0],))]
    layers += [keras.layers.Dense(s, activation="relu") for s in sizes[2:-1]]
    layers += [keras.layers.Dense(sizes[-1], activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t, _ = median_time(lambda: model.fit(x, y, batch_size=bs, epochs=1, verbose=0), repeat=1)
    acc = float((model.predict(xt, verbose=0, batch_size=1024).argmax(1) == yt).mean())
    return t, acc


def run_torch(x, y, xt, yt, sizes, bs):
    import torch
    torch.manual_seed(0)
    mods = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        mods.append(torch.nn.Linear(a, b))
        if k < len(sizes) - 2:
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods)
    t, _ = median_time(torch_classifier_epoch(net, x, y, bs), repeat=1)
    acc = torch_accuracy(net, xt, yt)
    return t, acc


_KERAS_SCRIPT = r"""
import os, sys, time, json
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, keras
d = np.load(sys.argv[1]); sizes = json.loads(sys.argv[2]); bs = int(sys.argv[3])
x, y, xt, yt = d["x"], d["y"], d["xt"], d["yt"]
layers = [keras.Input((sizes[0],))] + [keras.layers.Dense(s, activation="relu") for s in sizes[1:-1]]
model = keras.Sequential(layers + [keras.layers.Dense(sizes[-1], activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:bs * 4], y[:bs * 4], batch_size=bs, epochs=1, verbose=0)
t = time.perf_counter(); model.fit(x, y, batch_size=bs, epochs=1, verbose=0); t = time.perf_counter() - t
acc = float((model.predict(xt, verbose=0).argmax(1) == yt).mean())
print(json.dumps([t, acc]))
"""


def run_keras(x, y, xt, yt, sizes, bs, python):
    """Keras in its own interpreter (``--keras-python``), so TensorFlow stays out of this process."""
    import json
    import subprocess
    import tempfile
    if not python:
        return None
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "data.npz")
        np.savez(path, x=x, y=y, xt=xt, yt=yt)
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        out = subprocess.run([python, "-c", _KERAS_SCRIPT, path, json.dumps(list(sizes)), str(bs)],
                             capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        print("keras failed:", out.stderr[-500:])
        return None
    t, acc = json.loads(out.stdout.strip().splitlines()[-1])
    return t, acc


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keras-python", default=os.environ.get("TAPEFLOW_KERAS_PYTHON"),
                    help="a Python interpreter with keras installed (e.g. a tensorflow-cpu venv)")
    args = ap.parse_args()
    x, y, xt, yt = fashion_mnist_flat()
    for sizes, bs in (((784, 128, 10), 32), ((784, 256, 128, 10), 128)):
        results = {}
        def numpy_loop():
            t, params = median_time(lambda: train_numpy(x, y, sizes, bs), 1)
            return t, accuracy(params, xt, yt)

        contenders = [("numpy hand-fused", numpy_loop),
                      ("tapeflow fit", lambda: run_tapeflow(x, y, xt, yt, sizes, bs)),
                      ("pytorch eager", lambda: run_torch(x, y, xt, yt, sizes, bs))]
        if args.keras_python:
            contenders.append(("keras fit", lambda: run_keras(x, y, xt, yt, sizes, bs, args.keras_python)))
        for _ in range(args.repeat):  # interleave contenders so drift hits all alike
            for name, fn in contenders:
                r = fn()
                if r is not None:
                    results.setdefault(name, []).append(r)
        print(f"\nMLP {'-'.join(map(str, sizes))}, batch {bs}, Adam, 1 epoch of 60k (median of {args.repeat})")
        print(f"{'contender':<20}{'seconds':>9}{'vs torch':>10}{'vs numpy':>10}{'test acc':>10}")
        med = {k: float(np.median([t for t, _ in v])) for k, v in results.items()}
        for k, v in results.items():
            acc = v[-1][1]
            print(f"{k:<20}{med[k]:>9.3f}{med[k] / med['pytorch eager']:>9.2f}x{med[k] / med['numpy hand-fused']:>9.2f}x"
                  f"{'' if acc is None else f'{acc:>10.4f}'}")


if __name__ == "__main__":
    main()
