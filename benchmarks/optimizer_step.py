"""Optimizer update cost per step: tapeflow vs ``torch.optim`` (``foreach=True``).

Run: ``python benchmarks/optimizer_step.py [--repeat 7] [--steps 50] [--threads N]``. A ~1.05M-parameter
set of float32 variables (three 512x512 matrices, one 256x1024 and their biases) gets fixed gradients;
each contender applies ``--steps`` updates, the two taking turns ``--repeat`` times (so a slow spell of
a shared machine hits both), and the medians are reported as microseconds per step, for SGD with
momentum, Adam, AdamW and RMSprop, with the ratio tapeflow / torch (below 1: tapeflow is faster). Both sides run with the same number of threads (``--threads``, default
each library's own default; tapeflow splits large elementwise updates over its intra-op threads).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from _common import clean_blas_env  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

SHAPES = [(512, 512), (512,), (512, 512), (512,), (512, 512), (512,), (256, 1024), (1024,)]

PAUSE = 0.3  # seconds before each timed run: longer than OpenBLAS's and OpenMP's spin-waits

# (name, tapeflow factory, torch factory): hyper-parameters chosen so both do the same work.
CASES = [
    ("SGD momentum", lambda O: O.SGD(0.01, momentum=0.9),
     lambda t, p: t.optim.SGD(p, lr=0.01, momentum=0.9, foreach=True)),
    ("Adam", lambda O: O.Adam(0.001), lambda t, p: t.optim.Adam(p, lr=0.001, eps=1e-7, foreach=True)),
    ("AdamW", lambda O: O.AdamW(0.001, weight_decay=0.01),
     lambda t, p: t.optim.AdamW(p, lr=0.001, eps=1e-7, weight_decay=0.01, foreach=True)),
    ("RMSprop", lambda O: O.RMSprop(0.001), lambda t, p: t.optim.RMSprop(p, lr=0.001, alpha=0.9, eps=1e-7,
                                                                         foreach=True)),
]


def setup_tapeflow(make, grads, steps):
    import tapeflow as tf
    from tapeflow.keras import optimizers as O
    variables = [tf.Variable(np.random.default_rng(i).normal(size=s).astype(np.float32) * 0.01)
                 for i, s in enumerate(SHAPES)]
    gts = [tf.constant(g) for g in grads]
    opt = make(O)
    opt.apply_gradients(zip(gts, variables))        # build the slots outside the timing

    def run():
        for _ in range(steps):
            opt.apply_gradients(zip(gts, variables))
    return run


def setup_torch(make, grads, steps):
    import torch
    params = [torch.nn.Parameter(torch.tensor(np.random.default_rng(i).normal(size=s).astype(np.float32) * 0.01))
              for i, s in enumerate(SHAPES)]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g)
    opt = make(torch, params)
    opt.step()

    def run():
        for _ in range(steps):
            opt.step()
    return run


def alternate(runs, repeat):
    """Median seconds of each zero-argument callable in ``runs``, timed in turn ``repeat`` times.

    Each run starts after a pause: the other library's worker threads (OpenBLAS's, OpenMP's) keep
    spinning on the cores for a while after its last call, and one process of a user runs one library.
    """
    times = [[] for _ in runs]
    for _ in range(repeat):
        for run, ts in zip(runs, times):
            time.sleep(PAUSE)
            t = time.perf_counter()
            run()
            ts.append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for both (default: each library's own default)")
    args = ap.parse_args(argv)
    import torch

    import tapeflow as tf
    if args.threads:
        torch.set_num_threads(args.threads)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    rs = np.random.default_rng(123)
    grads = [rs.normal(size=s).astype(np.float32) for s in SHAPES]
    n = sum(int(np.prod(s)) for s in SHAPES)
    print(f"{n:,} float32 parameters in {len(SHAPES)} variables; {args.steps} steps x {args.repeat} repeats; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}, "
          f"tapeflow {tf.keras.optimizers.parallel.threads.intra_op_threads()} threads")
    print(f"{'optimizer':<16}{'tapeflow us/step':>18}{'torch us/step':>16}{'ratio':>9}")
    for name, ours, theirs in CASES:
        runs = [setup_tapeflow(ours, grads, args.steps), setup_torch(theirs, grads, args.steps)]
        t_ours, t_theirs = (t / args.steps * 1e6 for t in alternate(runs, args.repeat))
        print(f"{name:<16}{t_ours:>18.0f}{t_theirs:>16.0f}{t_ours / t_theirs:>8.2f}x")


if __name__ == "__main__":
    main()
