"""How ``fit`` / ``evaluate`` run under ``MultiWorkerMirroredStrategy`` (the trainer's seam, see trainer.py).

The trainer calls ``begin_fit`` once (it wraps the epoch iterator and ``train_step``), ``end_epoch`` before it
reads the epoch logs, ``end_fit`` after the last epoch, and ``wrap_evaluate`` / ``reduce_metrics`` around an
evaluation. Nothing here runs without the strategy, so the single-process loop is untouched.

Per step: the wrapped iterator yields a ``Shard`` (this rank's rows of the global batch plus the counts); the
wrapped step installs an all-reducing ``apply`` on the model's optimizer for the duration of the step, so the
default ``train_step`` and custom ones that call ``optimizer.apply_gradients`` both reduce their gradients.
"""
from __future__ import annotations

import json

import numpy as np

from ..autodiff.tensor import Tensor


def shard_bounds(n: int, rank: int, workers: int) -> tuple:
    """Rows ``[lo, hi)`` of an ``n``-row global batch that ``rank`` trains on (the first ``n % workers`` ranks
    take one row more, so only the last ranks can get an empty slice).

    >>> shard_bounds(5, 0, 2), shard_bounds(5, 1, 2)
    ((0, 3), (3, 5))
    """
    base, extra = divmod(n, workers)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


def take_rows(batch, lo: int, hi: int):
    """Rows ``lo:hi`` of every array leaf of a batch structure (scalars and None pass through)."""
    from ..keras.utils import tree

    def cut(a):
        if isinstance(a, Tensor):
            return Tensor._wrap(a._value[lo:hi])
        return a[lo:hi] if isinstance(a, np.ndarray) and a.ndim else a
    return tree.map_structure(cut, batch)


class Shard:
    """One rank's part of a global batch: ``data`` (its rows), ``n_local``, ``n_global`` and ``last``."""

    __slots__ = ("data", "n_local", "n_global", "last")

    def __init__(self, data, n_local: int, n_global: int, last: bool):
        self.data, self.n_local, self.n_global, self.last = data, n_local, n_global, last


class ShardedAdapter:
    """Wraps a data adapter: every rank draws the same global batches and yields its own ``Shard`` of each."""

    def __init__(self, adapter, strategy, reshuffle_rng: bool):
        self._adapter = adapter
        self._strategy = strategy
        self._decorrelate = reshuffle_rng

    def num_batches(self):
        return self._adapter.num_batches()

    @property
    def exhausted(self) -> bool:
        return getattr(self._adapter, "exhausted", False)

    def epoch(self):
        s = self._strategy
        sync_rng(s)  # every rank now draws rank 0's shuffle
        it = iter(self._adapter.epoch())
        nxt = next(it, None)
        if self._decorrelate and s.rank:
            decorrelate_rng(s.rank)  # the order is drawn; dropout masks may now differ per rank
        while nxt is not None:
            batch, nxt = nxt, next(it, None)
            from ..keras.utils import tree
            first = tree.first(batch)
            n = int(first.shape[0]) if getattr(first, "ndim", 0) else 1
            lo, hi = shard_bounds(n, s.rank, s.num_workers)
            yield Shard(take_rows(batch, lo, hi), hi - lo, n, nxt is None)


def sync_rng(strategy) -> None:
    """Give every rank rank 0's random state (tapeflow's and NumPy's global generators)."""
    from ..keras.callbacks.backup import capture_rng_state, restore_rng_state
    if strategy.num_workers == 1:
        return
    payload = json.dumps(capture_rng_state()).encode() if strategy.rank == 0 else None
    state = json.loads(strategy.broadcast_bytes(payload).decode())
    if strategy.rank:
        restore_rng_state(state, "<rank 0's random state>")


def decorrelate_rng(rank: int) -> None:
    """Jump this rank's global generator ``rank`` strides ahead, so ranks stop drawing identical numbers."""
    from ..backend import rng
    st = rng.get_state()
    gen = rng.generator()
    jumped = getattr(gen.bit_generator, "jumped", None)
    if jumped is not None:
        rng.set_state(st["seed"], np.random.Generator(jumped(rank)), st["op_counts"])


# -- model state ------------------------------------------------------------------------------
def sync_model(strategy, model, x) -> None:
    """Build ``model`` on this rank's inputs if needed, then copy rank 0's weights and optimizer state to all."""
    if not model.built:
        model(x, training=False)
    variables = list(model.weights)
    opt = getattr(model, "optimizer", None)
    if opt is not None and getattr(opt, "built", False):
        variables += list(opt.variables)
    by_dtype: dict = {}
    for v in variables:
        by_dtype.setdefault(v._value.dtype.str, []).append(v)
    for group in by_dtype.values():  # one Bcast per dtype, once per fit
        buf = np.concatenate([v._value.reshape(-1) for v in group]) if group else None
        strategy.broadcast_(buf, "the initial weight broadcast")
        off = 0
        for v in group:
            k = v._value.size
            v._value[...] = buf[off:off + k].reshape(v._value.shape)
            off += k


def _metric_states(model) -> list:
    """``(variable, initial value)`` of every metric state; sums of ``value - initial`` over ranks are global."""
    out = []
    for m in model.metrics:
        inits = getattr(m, "_initial", None) or []
        for i, v in enumerate(getattr(m, "variables", ())):
            out.append((v, inits[i] if i < len(inits) else 0.0))
    return out


def _drifting_weights(model) -> list:
    """Non-trainable float weights (BatchNormalization moving statistics): each rank updates them locally."""
    return [v for v in model.non_trainable_weights if v._value.dtype.kind == "f"]


def reduce_state(strategy, model, metrics=True, average_weights=False) -> None:
    """Replace metric states by their sums over the ranks (and non-trainable float weights by their mean), in
    one float64 ``Allreduce``."""
    states = _metric_states(model) if metrics else []
    weights = _drifting_weights(model) if average_weights else []
    if strategy.num_workers == 1 or not (states or weights):
        return
    parts = [np.asarray(v._value, np.float64).reshape(-1) - np.asarray(init, np.float64).reshape(-1)
             for v, init in states] + [np.asarray(v._value, np.float64).reshape(-1) for v in weights]
    buf = strategy.allreduce_(np.concatenate(parts), "the metric all-reduce")
    off = 0
    for v, init in states:
        k = v._value.size
        v._value[...] = (buf[off:off + k] + np.asarray(init, np.float64).reshape(-1)).reshape(v._value.shape)
        off += k
    for v in weights:
        k = v._value.size
        v._value[...] = (buf[off:off + k] / strategy.num_workers).reshape(v._value.shape)
        off += k


def global_logs(strategy, model, logs):
    """The metric results over all ranks so far, leaving this rank's running states as they were."""
    states = _metric_states(model)
    saved = [v._value.copy() for v, _ in states]
    reduce_state(strategy, model)
    try:
        results = model.get_metrics_result()
        out = results if not isinstance(logs, dict) or set(logs) == set(results) else logs
        return {k: (Tensor._wrap(np.array(as_np(v))) if isinstance(v, Tensor) else v) for k, v in out.items()}
    finally:
        for (v, _), a in zip(states, saved):
            v._value[...] = a


def as_np(v):
    return v._value if isinstance(v, Tensor) else np.asarray(v)


# -- the steps --------------------------------------------------------------------------------
class _Fit:
    """What one ``fit`` under the strategy keeps between steps."""

    def __init__(self, strategy, model, train_step, reduce_batch_logs: bool):
        self.s = strategy
        self.model = model
        self.train_step = train_step
        self.reduce_batch_logs = reduce_batch_logs
        self.synced = False
        self.logs = {}
        self.shard = None

    def step(self, shard: Shard):
        model, s = self.model, self.s
        if not self.synced:
            if shard.n_local == 0:
                raise ValueError(f"fit: the first global batch has {shard.n_global} rows, fewer than the "
                                 f"{s.num_workers} workers; use batch_size >= {s.num_workers}")
            sync_model(s, model, _inputs(shard.data))
            self.synced = True
        opt = model.optimizer
        self.shard = shard
        previous = opt.__dict__.get("apply")
        original = opt.apply
        opt.__dict__["apply"] = lambda grads, trainable_variables=None: self.apply(original, grads,
                                                                                   trainable_variables)
        try:
            if shard.n_local:
                self.logs = self.train_step(shard.data)
            else:  # an empty slice of a short last batch: contribute zeros, apply the same update as the rest
                variables = model.trainable_variables
                opt.apply([None] * len(variables), variables)
                self.logs = self.logs or model.get_metrics_result()
        finally:
            if previous is None:
                opt.__dict__.pop("apply", None)
            else:
                opt.__dict__["apply"] = previous
        return global_logs(s, model, self.logs) if self.reduce_batch_logs else self.logs

    def apply(self, original, grads, trainable_variables):
        """The optimizer's ``apply`` during a step: all-reduce first, weighted by this rank's share."""
        grads = list(grads)
        variables = list(trainable_variables) if trainable_variables is not None else \
            list(getattr(self.model.optimizer, "_trainable_variables", None) or self.model.trainable_variables)
        sh = self.shard
        summed, (n_total, n_global, last) = self.s.allreduce_gradients(
            grads, variables, weight=float(sh.n_local), extra=(sh.n_local, sh.n_global, float(sh.last)))
        w = self.s.num_workers
        if round(float(n_global)) != w * sh.n_global or round(float(n_total)) != sh.n_global or \
                round(float(last)) not in (0, w):
            raise RuntimeError(
                f"MultiWorkerMirroredStrategy: worker {self.s.rank} has a global batch of {sh.n_global} rows"
                f"{' (its last of the epoch)' if sh.last else ''} but the workers together report "
                f"{n_global / w:g} rows per worker and {round(float(last))} of {w} at their last batch; every "
                "worker must iterate the same data (same arrays, or a dataset seeded identically on every rank)")
        scale = 1.0 / float(n_total)
        reduced = [None if g is None else Tensor._wrap(g * np.asarray(scale, g.dtype)) for g in summed]
        return original(reduced, variables)


def _inputs(data):
    return data[0] if isinstance(data, tuple) else data


def begin_fit(strategy, model, adapter, train_step, callbacks):
    """Wrap the epoch iterator and ``train_step`` of one ``fit``; returns ``(adapter, step, state)``."""
    from ..keras.data_adapter import ArrayDataAdapter
    reduce_batch_logs = callbacks.wants("on_train_batch_end")  # the same on every rank (CallbackList.wants)
    is_arrays = isinstance(adapter, ArrayDataAdapter)
    fit = _Fit(strategy, model, train_step, reduce_batch_logs)
    return ShardedAdapter(adapter, strategy, reshuffle_rng=is_arrays), fit.step, fit


def end_epoch(strategy, model) -> None:
    """Before the epoch logs are read: global metric states, averaged non-trainable weights."""
    reduce_state(strategy, model, metrics=True, average_weights=True)


def end_fit(strategy, model, fit) -> None:
    """After the last epoch: make sure every rank holds rank 0's weights even if no step ran."""
    if not fit.synced and model.built:
        sync_model(strategy, model, None)
    strategy.barrier()


def wrap_evaluate(strategy, model, adapter):
    """Shard an evaluation: ``(adapter, test_step)``; ranks with an empty slice skip the step."""
    last = {}

    def step(shard):
        if shard.n_local:
            last["logs"] = model.test_step(shard.data)
        return last.get("logs") or model.get_metrics_result()
    return ShardedAdapter(adapter, strategy, reshuffle_rng=False), step
