"""Second-order optimizers vs AdamW: iterations to reach a training loss on a small Fashion-MNIST MLP.

Run: ``python benchmarks/second_order.py [--n 3000] [--target 0.35] [--max-iters 400]``. A 784-64-10 tanh
MLP is trained full-batch on the first ``--n`` training images (cross-entropy from logits) with AdamW,
K-FAC and L-BFGS (strong-Wolfe line search) from the same initial weights. For each it prints the number of
iterations (parameter updates), loss/gradient evaluations and seconds until the training loss first falls
under ``--target``, and the loss reached after ``--max-iters`` iterations (or the evaluation budget).
AdamW's learning rate is ``--adamw-lr`` (default 3e-2, the best of 3e-3 / 1e-2 / 3e-2 at the default target).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from _common import clean_blas_env, fashion_mnist_flat  # noqa: E402

clean_blas_env()


def make_model(seed):
    import tapeflow as tf
    tf.random.set_seed(seed)
    return tf.keras.Sequential([tf.keras.Input((784,)), tf.keras.layers.Dense(64, activation="tanh"),
                                tf.keras.layers.Dense(10)])


def run(name, x, y, target, max_iters, seed, adamw_lr=3e-2):
    import tapeflow as tf
    O = tf.keras.optimizers
    model = make_model(seed)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    closure = lambda: loss_fn(y, model(x))  # noqa: E731
    hit, evals, t0 = None, 0, time.perf_counter()
    loss = float(closure())
    if name == "AdamW":
        opt = O.AdamW(learning_rate=adamw_lr, weight_decay=0.0)
        for it in range(1, max_iters + 1):
            opt.minimize(closure, model.trainable_variables)
            evals += 1
            loss = float(closure())
            if hit is None and loss < target:
                hit = (it, evals, time.perf_counter() - t0)
                break
    elif name == "K-FAC":
        opt = O.KFAC(model, learning_rate=0.1, damping=0.03, momentum=0.9, inv_update_interval=10, kl_clip=1e-3)
        for it in range(1, max_iters + 1):
            opt.train_step(x, y, loss_fn)
            evals += 1
            loss = float(closure())
            if hit is None and loss < target:
                hit = (it, evals, time.perf_counter() - t0)
                break
    else:
        opt = O.LBFGS(line_search_fn="strong_wolfe", max_iter=1, max_eval=10, history_size=20)
        for _ in range(max_iters):
            opt.minimize(closure, model.trainable_variables)
            loss = float(closure())
            if hit is None and loss < target:
                hit = (int(opt.iterations), opt.state["func_evals"], time.perf_counter() - t0)
                break
        evals = opt.state["func_evals"]
    return hit, loss, evals, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--target", type=float, default=0.35)
    ap.add_argument("--max-iters", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--adamw-lr", type=float, default=3e-2, help="AdamW learning rate (best of 3e-3/1e-2/3e-2)")
    args = ap.parse_args(argv)
    x, y, _, _ = fashion_mnist_flat(args.n)
    print(f"784-64-10 tanh MLP, {args.n} Fashion-MNIST images, full batch; target training loss {args.target}")
    print(f"{'optimizer':<10}{'iters to target':>17}{'evals':>8}{'seconds':>9}{'final loss':>12}{'total evals':>13}")
    for name in ("AdamW", "K-FAC", "L-BFGS"):
        hit, loss, evals, secs = run(name, x, y, args.target, args.max_iters, args.seed, args.adamw_lr)
        its, ev, s = hit if hit else ("not reached", "-", secs)
        print(f"{name:<10}{its!s:>17}{ev!s:>8}{s:>9.1f}{loss:>12.4f}{evals:>13}")


if __name__ == "__main__":
    main()
