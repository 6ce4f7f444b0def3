"""``tapeflow train``: train the spec's MLP on Fashion-MNIST with compile/fit and report accuracy.

    tapeflow train --epochs 3 --hidden 128 --batch-size 32
"""
from __future__ import annotations

import argparse
import sys
import time


def _train(args) -> int:
    import numpy as np

    import tapeflow as tf
    keras = tf.keras
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data(path=args.data_dir)
    x = x.reshape(-1, 784).astype(np.float32) / 255.0
    xt = xt.reshape(-1, 784).astype(np.float32) / 255.0
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    hidden = [int(h) for h in args.hidden.split(",") if h]
    layers = [keras.Input(shape=(784,))]
    layers += [keras.layers.Dense(h, activation=args.activation) for h in hidden]
    layers += [keras.layers.Dense(10, activation="softmax")]
    model = keras.Sequential(layers, name="fashion_mlp")
    model.compile(optimizer=keras.optimizers.get({"class_name": args.optimizer,
                                                  "config": {"learning_rate": args.learning_rate}}),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if args.verbose:
        model.summary()
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, validation_data=(xt, yt),
              verbose=args.verbose)
    dt = time.perf_counter() - t0
    loss, acc = model.evaluate(xt, yt, batch_size=1024, verbose=0)
    print(f"test loss {loss:.4f}  test accuracy {acc:.4f}  ({dt:.1f} s training, {args.epochs} epochs)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tapeflow", description="Train neural networks the Keras way, on NumPy.")
    sub = ap.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train an MLP on Fashion-MNIST and report test accuracy")
    tr.add_argument("--epochs", type=int, default=3)
    tr.add_argument("--batch-size", type=int, default=32)
    tr.add_argument("--hidden", default="128", help="comma-separated hidden layer sizes (default 128)")
    tr.add_argument("--activation", default="relu")
    tr.add_argument("--optimizer", default="adam")
    tr.add_argument("--learning-rate", type=float, default=1e-3)
    tr.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    tr.add_argument("--seed", type=int, default=None)
    tr.add_argument("--data-dir", default=None, help="folder holding the Fashion-MNIST IDX files")
    tr.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    args = ap.parse_args(argv)
    if args.command == "train":
        return _train(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
