"""Batch shards on threads: a large traced training step replayed as pieces of the batch at once.

NumPy runs each elementwise op (a relu mask, max pooling's gradient, an im2col copy) on one core,
and BLAS's threads help only the matmuls. A traced step of built-in layers treats every example
on its own (no layer in ``traced_step._TRACEABLE_LAYERS`` mixes batch rows), so its forward and
backward walks can run on contiguous row ranges of the batch at once: one ``trace.Program``
recorded per shard size, each run on its own thread with BLAS held to one thread per caller
(``backend/blas.py``), since NumPy releases the GIL inside its loops. Only the walks through the
model are split:

* forward: shard ``k`` maps rows ``[lo_k, hi_k)`` of every input to its rows of every output;
  the outputs are concatenated, and the loss (with its label checks, sample weights and
  regularizers) runs once on the whole batch, eagerly, as in the unsharded replay;
* backward: d loss / d outputs is split by the same rows; each shard walks its program back, and
  the variables' gradients are the sums over shards, in shard order (so a run is reproducible,
  and differs from the unsharded step only by float rounding).

``plan`` decides whether a step is worth splitting (enough threads, rows and work per shard; an
OpenBLAS whose threads can be set) and records the shard programs; ``Shards.verify`` then checks
them once against the whole-batch program on a real batch (outputs and gradients close) before
``fit`` relies on them: an op that does mix rows (an ``OpLayer`` summing over axis 0) fails that
check and the step stays unsharded. ``tf.config.threading.set_inter_op_parallelism_threads(1)``
(or ``TAPEFLOW_INTER_OP_THREADS=1``) turns sharding off.

>>> import numpy as np, tapeflow as tf
>>> model = tf.keras.Sequential([tf.keras.Input((8, 8, 1)), tf.keras.layers.Conv2D(64, 3, activation="relu"),
...                              tf.keras.layers.Flatten(), tf.keras.layers.Dense(2)])
>>> model.compile(optimizer="sgd", loss="mse")
>>> x, y = np.random.rand(1024, 8, 8, 1), np.random.rand(1024, 2)
>>> _ = model.fit(x, y, batch_size=256, epochs=1, verbose=0)
>>> model._trace_status in ("replaying", "replaying on 2 batch shards")
True
"""
from __future__ import annotations

import numpy as np

from ..autodiff import trace
from ..autodiff.tape import GradientTape
from ..autodiff.tensor import Tensor
from ..backend import blas, threads
from .utils import tree

MIN_ROWS = 8            # examples per shard, at least
MIN_WORK = 500_000      # elements per shard, at least: an MLP (matmuls, which BLAS threads well) at 800k is break-even
RTOL, ATOL = 1e-3, 1e-5  # shard vs whole-batch agreement: row sums reorder, mixing rows breaks it


def plan(model, prog, x, variables, meta, build):
    """``Shards`` for this step's input structure ``x``, or a string saying why the step stays whole.

    ``build(ops, nodes, xs, y_pred, variables)`` is ``traced_step._build``.
    """
    xs = [a._value if isinstance(a, Tensor) else a for a in tree.flatten(x)]
    n = threads.inter_op_threads()
    if n < 2:
        return "one inter-op thread"
    if any(instr[0].random for instr in prog.instrs):
        return "the step draws random numbers (Dropout), whose order threads would change"
    rows = {int(a.shape[0]) if a.ndim else -1 for a in xs}
    if len(rows) != 1 or -1 in rows:
        return "the inputs do not share a batch axis"
    batch = rows.pop()
    n = min(n, batch // MIN_ROWS, prog.work // MIN_WORK)
    if n < 2:
        return "the step is too small to split"
    if not blas.available():
        return "NumPy's BLAS is not an OpenBLAS whose threads can be set"
    step = -(-batch // n)
    bounds = [(lo, min(lo + step, batch)) for lo in range(0, batch, step)]
    programs = []
    for lo, hi in bounds:
        sliced = tree.map_structure(lambda a: (a._value if isinstance(a, Tensor) else a)[lo:hi], x)
        part = tree.flatten(sliced)
        with GradientTape() as tape:
            with trace.Recorder() as rec:
                y_pred = model(sliced, training=True)
        got, shard_meta = build(rec.ops, tape._nodes, part, y_pred, variables)
        if isinstance(got, str):
            return got
        if shard_meta != meta or _wiring(got) != _wiring(prog):
            return "a shard's recorded pass differs from the whole batch's"
        programs.append(got)
    return Shards(programs, bounds)


def _wiring(p):
    return (tuple((prim, ins, out) for prim, _, ins, _, out in p.instrs), tuple(p.outputs), tuple(p.source_slots))


class Shards:
    """Per-shard Programs and their row ranges; ``forward``/``backward`` as ``trace.Program``'s."""

    def __init__(self, programs, bounds):
        self.programs = programs
        self.bounds = bounds

    def _each(self, fn) -> list:
        """``[fn(program, lo, hi, k) for each shard k]``, the shards on threads with BLAS held to one thread."""
        got = [None] * len(self.programs)

        def task(k):
            got[k] = fn(self.programs[k], *self.bounds[k], k)
        with blas.single_threaded():
            threads.run([lambda k=k: task(k) for k in range(len(self.programs))], n=len(self.programs))
        return got

    def forward(self, xs) -> list:
        outs = self._each(lambda prog, lo, hi, k: prog.forward([a[lo:hi] for a in xs]))
        return [np.concatenate(parts) for parts in zip(*outs)]

    def backward(self, output_grads, source_grads) -> list:
        none = [None] * len(source_grads)
        got = self._each(lambda prog, lo, hi, k: prog.backward(
            [None if g is None else g[lo:hi] for g in output_grads], source_grads if k == 0 else none))
        total = []
        for parts in zip(*got):
            acc = None
            for g in parts:
                if g is not None:
                    acc = g if acc is None else acc + g
            total.append(acc)
        return total

    def verify(self, outs, grads, xs, output_grads, source_grads) -> str | None:
        """None when this split reproduces the whole-batch ``outs`` and ``grads`` on ``xs``, else why not."""
        mine = self.forward(xs)
        for a, b in zip(mine, outs):
            if a.shape != b.shape or not np.allclose(a, b, rtol=RTOL, atol=ATOL):
                return "its outputs differ from the whole batch's (a layer mixes batch rows)"
        for a, b in zip(self.backward(output_grads, source_grads), grads):
            if (a is None) != (b is None) or (a is not None and not np.allclose(a, b, rtol=RTOL, atol=ATOL)):
                return "its gradients differ from the whole batch's (a layer mixes batch rows)"
        return None
