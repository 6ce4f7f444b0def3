"""``tf.distribute`` strategies for one process: the default strategy, OneDeviceStrategy and
MirroredStrategy over N in-process CPU replicas.

``MirroredStrategy(devices=[...])`` with N device names runs ``strategy.run(fn)`` once per replica,
in order, on that replica's slice of the global batch (``experimental_distribute_dataset`` splits
each batch along axis 0). As in TensorFlow, ``optimizer.apply_gradients`` called inside the replica
function sums the replicas' gradients (an all-reduce) and applies them once. ``model.fit`` inside
``strategy.scope()`` trains on the whole global batch at once, which is what N synchronous replicas
with averaged gradients compute. Every "device" is this process's CPU; multi-process (MPI)
data parallelism is separate.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..autodiff.tensor import Tensor
from .values import PerReplica, ReduceOp, _reduce_op, as_array, regroup, select_replica, split_batch

_STACK: list = []          # strategies whose scope() is entered, innermost last
_REPLICA: list = []        # replica contexts of the running strategy.run, innermost last


class ReplicaContext:
    """What a function run by ``strategy.run`` sees through ``tf.distribute.get_replica_context()``."""

    def __init__(self, strategy, replica_id: int):
        self.strategy = strategy
        self.replica_id_in_sync_group = replica_id

    @property
    def num_replicas_in_sync(self) -> int:
        return self.strategy.num_replicas_in_sync

    def all_reduce(self, reduce_op, value):
        """All-reduce across replicas. Replicas run one after another here, so a cross-replica value is
        only available with one replica; use ``strategy.reduce`` on ``run``'s result instead."""
        if self.num_replicas_in_sync == 1:
            return value
        raise NotImplementedError("ReplicaContext.all_reduce with several in-process replicas: reduce the "
                                  "PerReplica result of strategy.run with strategy.reduce instead")


class Strategy:
    """Base of the strategies (``tf.distribute.Strategy``)."""

    def __init__(self, devices):
        self._devices = tuple(devices)

    @property
    def num_replicas_in_sync(self) -> int:
        return len(self._devices)

    @property
    def extended(self):
        return self

    @property
    def worker_devices(self) -> tuple:
        return self._devices

    # -- scope ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def scope(self):
        """Make this the current strategy (``get_strategy()``) inside the ``with`` block."""
        if _STACK and _STACK[-1] is not self:
            raise ValueError("Mixing different tf.distribute.Strategy objects: a scope of another strategy is "
                             "already entered")
        _STACK.append(self)
        try:
            yield self
        finally:
            _STACK.pop()

    # -- data -------------------------------------------------------------------------------
    def experimental_distribute_dataset(self, dataset, options=None):
        """Iterate ``dataset`` with each global batch split across the replicas."""
        return DistributedDataset(dataset, self)

    def distribute_datasets_from_function(self, dataset_fn, options=None):
        """Call ``dataset_fn(input_context)`` once per replica; each replica reads its own dataset."""
        sets = [dataset_fn(InputContext(1, 0, self.num_replicas_in_sync)) for _ in range(self.num_replicas_in_sync)]
        return _PerReplicaDatasets(sets)

    # -- running ----------------------------------------------------------------------------
    def run(self, fn, args=(), kwargs=None, options=None):
        """Run ``fn`` once per replica on that replica's part of ``args``; PerReplica results (or the plain
        result with one replica). Gradients applied inside ``fn`` are summed over the replicas."""
        kwargs = kwargs or {}
        n = self.num_replicas_in_sync
        with self.scope():
            if n == 1:
                _REPLICA.append(ReplicaContext(self, 0))
                try:
                    return fn(*select_replica(tuple(args), 0), **select_replica(kwargs, 0))
                finally:
                    _REPLICA.pop()
            deferred: list = []
            results = []
            with _deferred_apply(deferred):
                for i in range(n):
                    _REPLICA.append(ReplicaContext(self, i))
                    try:
                        results.append(fn(*select_replica(tuple(args), i), **select_replica(kwargs, i)))
                    finally:
                        _REPLICA.pop()
            _apply_summed(deferred, n)
        return regroup(results)

    def reduce(self, reduce_op, value, axis=None):
        """Combine a (PerReplica) value over the replicas, and over ``axis`` of each when given.

        >>> import tapeflow as tf
        >>> s = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        >>> v = tf.distribute.PerReplica((tf.constant([1.0, 2.0]), tf.constant([3.0, 6.0])))
        >>> float(s.reduce("SUM", v, axis=None)[1]), float(s.reduce(tf.distribute.ReduceOp.MEAN, v, axis=0))
        (8.0, 3.0)
        """
        op = _reduce_op(reduce_op)
        vals = [as_array(v) for v in (value.values if isinstance(value, PerReplica) else (value,))]
        if axis is None:
            total = vals[0].copy() if len(vals) == 1 else np.sum(np.stack(vals), axis=0)
            out = total / len(vals) if op is ReduceOp.MEAN else total
        else:
            total = sum(np.sum(v, axis=axis) for v in vals)
            if op is ReduceOp.MEAN:
                count = sum(int(v.shape[axis]) for v in vals)
                total = total / count
            out = total
        dtype = vals[0].dtype if vals[0].dtype.kind == "f" else np.result_type(vals[0].dtype, np.float32)
        out = np.asarray(out)
        if op is ReduceOp.SUM and vals[0].dtype.kind in "iu":
            dtype = vals[0].dtype
        return Tensor._wrap(out.astype(dtype, copy=False))

    def experimental_local_results(self, value) -> tuple:
        """The per-replica parts of ``value`` as a tuple."""
        return tuple(value.values) if isinstance(value, PerReplica) else (value,)

    def gather(self, value, axis):
        """Concatenate the per-replica values along ``axis``."""
        vals = [as_array(v) for v in self.experimental_local_results(value)]
        return Tensor._wrap(np.concatenate(vals, axis=axis))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} replicas={self.num_replicas_in_sync} devices={list(self._devices)}>"


class MirroredStrategy(Strategy):
    """Synchronous data parallelism over in-process replicas (``tf.distribute.MirroredStrategy``).

    >>> import tapeflow as tf
    >>> strategy = tf.distribute.MirroredStrategy()
    >>> with strategy.scope():
    ...     model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    ...     model.compile(optimizer="sgd", loss="mse")
    >>> strategy.num_replicas_in_sync
    1
    """

    def __init__(self, devices=None, cross_device_ops=None):
        if devices is None:
            devices = ["/cpu:0"]
        devices = [str(d) for d in devices]
        if not devices:
            raise ValueError("MirroredStrategy: devices must name at least one device")
        if len(set(d.lower() for d in devices)) != len(devices):
            raise ValueError(f"MirroredStrategy: duplicate device names in {devices}")
        super().__init__(devices)
        self.cross_device_ops = cross_device_ops


class OneDeviceStrategy(Strategy):
    """Everything on one device (``tf.distribute.OneDeviceStrategy``)."""

    def __init__(self, device="/cpu:0"):
        super().__init__([str(device)])


class _DefaultStrategy(Strategy):
    def __init__(self):
        super().__init__(["/cpu:0"])


_DEFAULT = _DefaultStrategy()


class InputContext:
    """Passed to ``distribute_datasets_from_function``'s function."""

    def __init__(self, num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=1):
        self.num_input_pipelines = num_input_pipelines
        self.input_pipeline_id = input_pipeline_id
        self.num_replicas_in_sync = num_replicas_in_sync

    def get_per_replica_batch_size(self, global_batch_size: int) -> int:
        if global_batch_size % self.num_replicas_in_sync:
            raise ValueError(f"global batch size {global_batch_size} is not divisible by "
                             f"{self.num_replicas_in_sync} replicas")
        return global_batch_size // self.num_replicas_in_sync


class DistributedDataset:
    """Iterates a dataset, yielding each batch split across the replicas (unchanged with one)."""

    def __init__(self, dataset, strategy):
        self._dataset = dataset
        self._strategy = strategy

    def __iter__(self):
        n = self._strategy.num_replicas_in_sync
        for batch in self._dataset:
            yield batch if n == 1 else split_batch(batch, n)

    @property
    def element_spec(self):
        return getattr(self._dataset, "element_spec", None)


class _PerReplicaDatasets:
    def __init__(self, datasets):
        self._datasets = datasets

    def __iter__(self):
        its = [iter(d) for d in self._datasets]
        if len(its) == 1:
            yield from its[0]
            return
        while True:
            try:
                parts = [next(it) for it in its]
            except StopIteration:
                return
            yield regroup(parts)


@contextlib.contextmanager
def _deferred_apply(sink: list):
    """While replicas run, ``Optimizer.apply_gradients`` records its pairs instead of applying them."""
    from ..keras.optimizers.base import Optimizer
    original = Optimizer.__dict__["apply_gradients"]

    def record(self, grads_and_vars):
        sink.append((self, list(grads_and_vars)))
        return self.iterations

    Optimizer.apply_gradients = record
    try:
        yield
    finally:
        Optimizer.apply_gradients = original


def _apply_summed(deferred: list, n: int) -> None:
    """All-reduce (sum) each optimizer's recorded per-replica gradients and apply them once."""
    by_opt: dict = {}
    for opt, pairs in deferred:
        by_opt.setdefault(id(opt), (opt, []))[1].append(pairs)
    for opt, calls in by_opt.values():
        if len(calls) % n:
            raise RuntimeError(f"strategy.run: optimizer '{opt.name}' applied gradients {len(calls)} times over "
                               f"{n} replicas; each replica must call apply_gradients the same number of times")
        per = len(calls) // n
        for k in range(per):
            group = calls[k::per]
            summed = []
            for j, (g0, v) in enumerate(group[0]):
                gs = [c[j][0] for c in group]
                if any(g is None for g in gs):
                    summed.append((None, v))
                    continue
                total = as_array(gs[0]).copy()
                for g in gs[1:]:
                    total += as_array(g)
                summed.append((Tensor._wrap(total), v))
            opt.apply_gradients(summed)


def get_strategy() -> Strategy:
    """The strategy whose scope is entered, or the default (one-replica) strategy."""
    return _STACK[-1] if _STACK else _DEFAULT


def has_strategy() -> bool:
    return bool(_STACK)


def in_cross_replica_context() -> bool:
    return not _REPLICA


def get_replica_context():
    """The replica context inside ``strategy.run`` (the default strategy's outside any scope), else None."""
    if _REPLICA:
        return _REPLICA[-1]
    return None if _STACK else ReplicaContext(_DEFAULT, 0)


def compute_average_loss(per_example_loss, sample_weight=None, global_batch_size=None):
    """``sum(per_example_loss * sample_weight) / global_batch_size`` (as ``tf.nn.compute_average_loss``);
    ``global_batch_size`` defaults to this replica's batch times the number of replicas."""
    from ..ops import math_ops, reduce_ops
    from ..autodiff.tensor import convert_to_tensor
    loss = convert_to_tensor(per_example_loss)
    if sample_weight is not None:
        loss = math_ops.multiply(loss, convert_to_tensor(sample_weight, dtype=loss.dtype))
    if global_batch_size is None:
        ctx = get_replica_context()
        n = ctx.num_replicas_in_sync if ctx is not None else get_strategy().num_replicas_in_sync
        global_batch_size = (loss._value.shape[0] if loss._value.ndim else 1) * n
    return math_ops.divide(reduce_ops.reduce_sum(loss), float(global_batch_size))
