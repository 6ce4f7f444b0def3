"""``tf.distribute.MultiWorkerMirroredStrategy`` over MPI: synchronous data parallelism across processes.

Start N copies of one script with ``mpiexec -n N python train.py`` (or ``tapeflow train --workers N``). Each
process ("worker", one MPI rank) holds a full copy of the model. Under ``strategy.scope()``, ``model.fit``:

* broadcasts rank 0's weights (and optimizer state) before the first step, so every rank starts equal;
* gives every rank the same globally shuffled order (rank 0's random state is broadcast at each epoch) and
  lets rank ``r`` train on its contiguous slice of each global batch (``batch_size`` is the global batch);
* flattens the local gradients into one buffer and sums it with a single ``Allreduce`` per step, weighted by
  each rank's sample count, so every rank applies the gradient of the mean loss over the global batch;
* sums metric states across ranks (epoch logs, validation, and batch logs when a batch callback reads them)
  and averages non-trainable float weights (BatchNormalization statistics) at each epoch end;
* prints and writes files (progress bar, ModelCheckpoint, TensorBoard, CSVLogger, BackupAndRestore) on rank 0
  only; every rank reads a BackupAndRestore backup when it resumes.

A Python exception on any rank aborts every rank (``MPI_Abort``), and ``mpiexec`` ends the job when a rank
dies, so no rank waits forever; ``CommunicationOptions(timeout_seconds=...)`` also bounds every collective.
The fit-time machinery lives in ``worker_fit.py``; this file holds the strategy and its collectives.
"""
from __future__ import annotations

import contextlib
import sys
import time
import traceback

import numpy as np

from ..autodiff.tensor import Tensor
from . import strategy as S
from .values import PerReplica, ReduceOp, _reduce_op, as_array, map_structure


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise ImportError("MultiWorkerMirroredStrategy runs over MPI through mpi4py: pip install 'tapeflow[mpi]' "
                          "(mpi4py and the mpich wheel), then start the workers with "
                          "mpiexec -n N python your_script.py") from None
    return MPI


class CommunicationOptions:
    """How the workers talk (``tf.distribute.experimental.CommunicationOptions``).

    ``timeout_seconds``: a collective that has not finished after this long aborts every worker with a message
    (a peer died without ``mpiexec`` noticing, or hangs). ``None`` (default) waits, as TensorFlow does.
    Gradients always travel as one fused buffer, so ``bytes_per_pack`` must stay 0.

    >>> import tapeflow as tf
    >>> tf.distribute.experimental.CommunicationOptions(timeout_seconds=60).timeout_seconds
    60.0
    """

    def __init__(self, bytes_per_pack=0, timeout_seconds=None, implementation="AUTO"):
        if bytes_per_pack:
            raise ValueError(f"CommunicationOptions: bytes_per_pack={bytes_per_pack} is not supported; gradients "
                             "are all-reduced as one fused buffer (leave bytes_per_pack=0)")
        if timeout_seconds is not None and not (float(timeout_seconds) > 0):
            raise ValueError(f"CommunicationOptions: timeout_seconds must be None or > 0, got {timeout_seconds!r}")
        impl = str(getattr(implementation, "name", implementation)).upper()
        if impl not in ("AUTO", "RING"):
            raise ValueError(f"CommunicationOptions: implementation {implementation!r} is not available; workers "
                             "talk over MPI, use 'AUTO' or 'RING'")
        self.bytes_per_pack = 0
        self.timeout_seconds = None if timeout_seconds is None else float(timeout_seconds)
        self.implementation = impl


class MPIClusterResolver:
    """Where this process sits in the job: ``task_type`` ``"worker"`` and ``task_id`` = its MPI rank."""

    def __init__(self, rank: int, size: int):
        self.task_type = "worker"
        self.task_id = rank
        self.num_workers = size
        self.rpc_layer = "mpi"

    def __repr__(self) -> str:
        return f"<MPIClusterResolver task_id={self.task_id} num_workers={self.num_workers}>"


class _WorkerReplicaContext(S.ReplicaContext):
    def all_reduce(self, reduce_op, value):
        """Sum (or average) ``value`` over the workers; every worker gets the result."""
        return self.strategy._all_reduce_value(_reduce_op(reduce_op), value)


class MultiWorkerMirroredStrategy(S.Strategy):
    """Synchronous data parallelism over MPI ranks (``tf.distribute.MultiWorkerMirroredStrategy``).

    Every rank runs the same script; ``num_replicas_in_sync`` is the number of ranks. Outside ``mpiexec`` it
    runs as one worker.

    >>> import numpy as np, tapeflow as tf
    >>> strategy = tf.distribute.MultiWorkerMirroredStrategy()
    >>> with strategy.scope():
    ...     model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    ...     model.compile(optimizer="sgd", loss="mse")
    >>> h = model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=4, epochs=1, verbose=0)
    >>> strategy.num_replicas_in_sync, strategy.cluster_resolver.task_id
    (1, 0)
    """

    _is_multi_worker = True

    def __init__(self, cluster_resolver=None, communication_options=None):
        if cluster_resolver is not None:
            raise ValueError("MultiWorkerMirroredStrategy: the workers come from mpiexec (one per MPI rank); pass "
                             "cluster_resolver=None and start the job with mpiexec -n N")
        if communication_options is None:
            communication_options = CommunicationOptions()
        if not isinstance(communication_options, CommunicationOptions):
            raise TypeError("MultiWorkerMirroredStrategy: communication_options must be a "
                            f"tf.distribute.experimental.CommunicationOptions, got {type(communication_options).__name__}")
        self._MPI = MPI = _mpi()
        self._comm = MPI.COMM_WORLD.Dup()  # a private communicator: user traffic on COMM_WORLD cannot interleave
        self.rank = self._comm.Get_rank()
        self.num_workers = self._comm.Get_size()
        self.communication_options = communication_options
        self._timeout = communication_options.timeout_seconds
        super().__init__([f"/job:worker/replica:0/task:{r}/device:CPU:0" for r in range(self.num_workers)])
        self.cluster_resolver = MPIClusterResolver(self.rank, self.num_workers)
        if self.num_workers > 1:
            _install_abort_on_exception(self)

    # -- who writes ---------------------------------------------------------------------------
    @property
    def is_chief(self) -> bool:
        """True on rank 0, the one worker that prints and writes files."""
        return self.rank == 0

    should_checkpoint = is_chief
    should_save_summary = is_chief

    @property
    def worker_devices(self) -> tuple:
        return (self._devices[self.rank],)

    # -- collectives ----------------------------------------------------------------------------
    def _wait(self, request, what: str) -> None:
        if self._timeout is None:
            request.Wait()
            return
        deadline = time.monotonic() + self._timeout
        while not request.Test():
            if time.monotonic() > deadline:
                self._abort(f"no answer from the other workers for {self._timeout:g} s during {what}; a worker "
                            "died or hangs")
            time.sleep(0)

    def allreduce_(self, buf: np.ndarray, what: str = "an all-reduce") -> np.ndarray:
        """Sum the contiguous array ``buf`` over all ranks, in place; returns it."""
        if self.num_workers > 1:
            if self._timeout is None:
                self._comm.Allreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM)
            else:
                self._wait(self._comm.Iallreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM), what)
        return buf

    def broadcast_(self, buf: np.ndarray, what: str = "a broadcast") -> np.ndarray:
        """Overwrite ``buf`` with rank 0's, in place; returns it."""
        if self.num_workers > 1:
            if self._timeout is None:
                self._comm.Bcast(buf, root=0)
            else:
                self._wait(self._comm.Ibcast(buf, root=0), what)
        return buf

    def broadcast_bytes(self, data: bytes | None) -> bytes:
        """Rank 0's ``data`` on every rank (the others pass anything)."""
        n = self.broadcast_(np.array([len(data) if self.rank == 0 else 0], np.int64), "a broadcast")
        buf = np.frombuffer(data, np.uint8).copy() if self.rank == 0 else np.empty(int(n[0]), np.uint8)
        return self.broadcast_(buf, "a broadcast").tobytes()

    def barrier(self) -> None:
        """Wait until every rank reaches this point."""
        if self.num_workers > 1:
            if self._timeout is None:
                self._comm.Barrier()
            else:
                self._wait(self._comm.Ibarrier(), "a barrier")

    def _abort(self, message: str) -> None:
        sys.stderr.write(f"\ntapeflow worker {self.rank}/{self.num_workers}: {message}. Stopping every worker "
                         "(MPI_Abort); run the same command again to resume from the last BackupAndRestore "
                         "backup.\n")
        sys.stderr.flush()
        self._comm.Abort(1)

    def allreduce_gradients(self, grads, variables, weight: float = 1.0, extra=()):
        """Sum ``weight * g`` over the ranks for every gradient, in ONE ``Allreduce`` of one fused buffer.

        The buffer has a slot for every variable, so a rank with ``None`` gradients (an empty slice of the batch)
        still lines up with the others; a variable gets ``None`` back only when no rank had a gradient for it.
        ``extra`` floats ride along at the end (counts, flags). Returns ``(summed, extra_sums)``.
        """
        arrays = [None if g is None else as_array(g) for g in grads]
        shapes = [v._value.shape for v in variables]
        dtype = np.result_type(*[v._value.dtype for v in variables]) if variables else np.float32
        dtype = dtype if np.dtype(dtype).kind == "f" else np.float32
        sizes = [int(np.prod(sh, dtype=np.int64)) for sh in shapes]
        n, m = sum(sizes), len(arrays)
        buf = np.zeros(n + m + len(extra), dtype)
        off = 0
        for i, (a, k) in enumerate(zip(arrays, sizes)):
            if a is not None:
                if a.shape != shapes[i]:
                    raise ValueError(f"MultiWorkerMirroredStrategy: gradient {i} has shape {a.shape}, expected its "
                                     f"variable's shape {shapes[i]}")
                np.multiply(a.reshape(-1), weight, out=buf[off:off + k], casting="unsafe")
                buf[n + i] = 1.0
            off += k
        buf[n + m:] = extra
        self.allreduce_(buf, "the gradient all-reduce")
        out, off = [], 0
        for i, k in enumerate(sizes):
            out.append(buf[off:off + k].reshape(shapes[i]) if buf[n + i] > 0 else None)
            off += k
        return out, buf[n + m:]

    # -- tf.distribute API over workers ---------------------------------------------------------
    def experimental_distribute_dataset(self, dataset, options=None):
        """Iterate ``dataset`` (the same on every worker), yielding this worker's slice of each global batch."""
        return _ShardedDataset(dataset, self)

    def distribute_datasets_from_function(self, dataset_fn, options=None):
        """Call ``dataset_fn(input_context)`` once on each worker; each worker iterates its own dataset."""
        return dataset_fn(S.InputContext(self.num_workers, self.rank, self.num_workers))

    def run(self, fn, args=(), kwargs=None, options=None):
        """Run ``fn`` on this worker's values; gradients applied inside are summed over the workers (as TF,
        scale the loss by the global batch, e.g. with ``tf.nn.compute_average_loss``)."""
        from ..keras.optimizers.base import Optimizer
        kwargs = kwargs or {}
        deferred: list = []
        with self.scope(), S._deferred_apply(deferred):
            S._REPLICA.append(_WorkerReplicaContext(self, self.rank))
            try:
                result = fn(*args, **kwargs)
            finally:
                S._REPLICA.pop()
        for opt, pairs in deferred:
            grads, variables = zip(*pairs) if pairs else ((), ())
            summed, _ = self.allreduce_gradients(grads, variables)
            Optimizer.apply_gradients(opt, [(g if g is None else Tensor._wrap(g), v)
                                            for g, v in zip(summed, variables)])
        return result

    def _all_reduce_value(self, op: ReduceOp, value):
        def one(v):
            a = np.ascontiguousarray(as_array(v), dtype=np.float64)
            total = self.allreduce_(a.copy(), "an all-reduce")
            out = total / self.num_workers if op is ReduceOp.MEAN else total
            return Tensor._wrap(out.astype(as_array(v).dtype if as_array(v).dtype.kind == "f" else np.float32))
        return map_structure(one, value)

    def reduce(self, reduce_op, value, axis=None):
        """Combine ``value`` over the workers (and over ``axis`` of each when given); same result on every rank.

        >>> import tapeflow as tf
        >>> s = tf.distribute.MultiWorkerMirroredStrategy()
        >>> float(s.reduce("SUM", tf.constant([1.0, 2.0]), axis=0))
        3.0
        """
        op = _reduce_op(reduce_op)
        vals = [as_array(v) for v in (value.values if isinstance(value, PerReplica) else (value,))]
        if axis is None:
            local = np.sum(np.stack(vals), axis=0, dtype=np.float64)
            count = float(len(vals))
        else:
            local = sum(np.sum(v, axis=axis, dtype=np.float64) for v in vals)
            count = float(sum(int(v.shape[axis]) for v in vals))
        local = np.asarray(local, np.float64)
        buf = self.allreduce_(np.append(local.reshape(-1), count), "strategy.reduce")
        total = buf[:-1].reshape(local.shape)
        out = total / buf[-1] if op is ReduceOp.MEAN else total
        dtype = vals[0].dtype if vals[0].dtype.kind == "f" or op is ReduceOp.SUM else np.float32
        return Tensor._wrap(np.asarray(out).astype(dtype))

    def gather(self, value, axis):
        """Concatenate every worker's value along ``axis`` (sizes along ``axis`` may differ)."""
        local = np.concatenate([as_array(v) for v in self.experimental_local_results(value)], axis=axis)
        moved = np.ascontiguousarray(np.moveaxis(local, axis, 0))
        counts = self.allreduce_(np.bincount([self.rank], minlength=self.num_workers).astype(np.int64)
                                 * moved.shape[0], "gather")
        row = int(np.prod(moved.shape[1:], dtype=np.int64))
        out = np.empty((int(counts.sum()),) + moved.shape[1:], moved.dtype)
        if self.num_workers == 1:
            out[...] = moved
        else:
            sizes = [int(c) * row for c in counts]
            self._comm.Allgatherv(moved, [out, sizes])
        return Tensor._wrap(np.moveaxis(out, 0, axis))

    def __repr__(self) -> str:
        return f"<MultiWorkerMirroredStrategy worker {self.rank} of {self.num_workers}>"


class _ShardedDataset:
    """A dataset's global batches, cut to this worker's rows (``strategy.experimental_distribute_dataset``)."""

    def __init__(self, dataset, strategy):
        self._dataset = dataset
        self._strategy = strategy

    def __iter__(self):
        from .worker_fit import shard_bounds, take_rows
        s = self._strategy
        for batch in self._dataset:
            n = _rows(batch)
            lo, hi = shard_bounds(n, s.rank, s.num_workers)
            yield take_rows(batch, lo, hi)

    @property
    def element_spec(self):
        return getattr(self._dataset, "element_spec", None)


def _rows(batch) -> int:
    from ..keras.utils import tree
    first = tree.first(batch)
    shape = getattr(as_array(first), "shape", ())
    return int(shape[0]) if shape else 1


def _install_abort_on_exception(strategy) -> None:
    """An uncaught exception on one rank ends every rank (``MPI_Abort``) instead of leaving them waiting."""
    previous = sys.excepthook
    if getattr(previous, "_tapeflow_abort", False):
        return

    def hook(etype, value, tb):
        with contextlib.suppress(Exception):
            sys.stderr.write(f"tapeflow worker {strategy.rank}/{strategy.num_workers} failed:\n")
            traceback.print_exception(etype, value, tb)
        strategy._abort(f"{etype.__name__} on this worker")

    hook._tapeflow_abort = True
    sys.excepthook = hook
