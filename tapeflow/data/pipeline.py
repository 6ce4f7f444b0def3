"""The stages that run user code or threads: map (optionally parallel), prefetch, cache, options.

Threads are daemon threads that stop on an event when their consumer goes away (a ``for`` loop
that breaks, a dropped iterator), so an abandoned pipeline never pins a thread or the process.
An exception raised on a worker or producer thread is re-raised in the consuming thread.
"""
from __future__ import annotations

import collections
import itertools
import json
import os
import queue
import tempfile
import threading
from concurrent.futures import Future

import numpy as np

from . import _seeding
from . import _structure as S
from ._structure import TensorSpec
from .dataset import AUTOTUNE, _index_chunks, iter_rows
from .transforms import _Unary, call_unpacked

_AUTOTUNE_PREFETCH = 4


def _autotune_workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


# -- map ------------------------------------------------------------------------------------------
class _DaemonPool:
    """A minimal pool of daemon worker threads (ThreadPoolExecutor's threads are joined at exit)."""

    def __init__(self, n: int):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = threading.Event()
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"tapeflow-map-{i}")
                         for i in range(n)]
        for t in self._threads:
            t.start()

    def _work(self):
        while True:
            task = self._tasks.get()
            if task is None:
                return
            fut, fn, args = task
            if self._closed.is_set() or not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args))
            except BaseException as e:  # noqa: BLE001 - delivered to the consumer
                fut.set_exception(e)

    def submit(self, fn, *args) -> Future:
        fut: Future = Future()
        self._tasks.put((fut, fn, args))
        return fut

    def close(self):
        self._closed.set()
        for _ in self._threads:
            self._tasks.put(None)


class MapDataset(_Unary):
    def __init__(self, input_dataset, map_func, num_parallel_calls, deterministic):
        super().__init__(input_dataset)
        if not callable(map_func):
            raise TypeError(f"map: map_func must be callable, got {type(map_func).__name__}")
        self._fn = map_func
        n = None if num_parallel_calls is None else int(num_parallel_calls)
        if n is not None and n != AUTOTUNE and n <= 0:
            raise ValueError(f"map: num_parallel_calls must be a positive integer or tf.data.AUTOTUNE, got {n}")
        self._workers = None if n in (None, 1) else (_autotune_workers() if n == AUTOTUNE else n)
        self._deterministic = deterministic
        self._seen = None  # structure of the first output (known once an element went through)
        self._n_out = None
        self._pack = None

    def _cardinality(self) -> int:
        return self._input._cardinality()

    def _apply(self, flat, pack):
        out = call_unpacked(self._fn, pack(flat))
        spec, out_flat = S.from_user(out, "map", need_spec=self._seen is None)
        if self._seen is None:
            self._seen = spec
        elif len(out_flat) != self._n_out:
            raise ValueError(f"map: the function returned {len(out_flat)} components for one element but "
                             f"{self._n_out} for an earlier one; it must return the same structure every time")
        self._n_out = len(out_flat)
        return out_flat

    def _structure(self):
        if self._spec is not None:
            return self._spec
        return self._seen if self._seen is not None else self.element_spec

    def _compute_spec(self):
        src = self._input._iter_flat()
        try:
            first = next(src, None)
        finally:
            src.close()
        in_spec = self._input.element_spec
        if first is None:  # empty input: trace the function on zeros of the input's spec
            first = tuple(np.zeros([0 if d is None else d for d in (s.shape or ())], s.dtype)
                          for s in S.flatten(in_spec))
        prev = _seeding.set_element_rng(_seeding._ChunkRNG(0, 0))  # do not consume the global RNG
        try:
            out = call_unpacked(self._fn, S.to_user(in_spec, first))
        finally:
            _seeding.set_element_rng(prev)
        spec, _ = S.from_user(out, "map")
        batched = any(s.shape is not None and len(s.shape) and s.shape[0] is None for s in S.flatten(in_spec))
        if batched:  # keep an unknown batch dimension unknown
            spec = S.map_structure(lambda s: TensorSpec((None,) + tuple(s.shape)[1:] if len(s.shape) else (),
                                                        s.dtype), spec)
        return spec

    def _run_chunk(self, items, base, chunk_id):
        prev = _seeding.set_element_rng(_seeding._ChunkRNG(base, chunk_id))
        try:
            pack = self._pack
            return [self._apply(flat, pack) for flat in items]
        finally:
            _seeding.set_element_rng(prev)

    def _iter_flat(self):
        base = _seeding.pass_base()
        if self._workers is None:
            yield from self._iter_sequential(base)
        else:
            yield from self._iter_parallel(base, self._workers)

    def _iter_sequential(self, base):
        sizes = _seeding.chunk_sizes()
        chunk_id, left = -1, 0
        ctx = None
        src = self._input._iter_flat()
        pack = None
        try:
            for flat in src:
                if pack is None:
                    pack = S.packer(self._input._structure())
                if left == 0:
                    chunk_id, left = chunk_id + 1, next(sizes)
                    ctx = _seeding._ChunkRNG(base, chunk_id)
                left -= 1
                prev = _seeding.set_element_rng(ctx)
                try:
                    out = self._apply(flat, pack)
                finally:
                    _seeding.set_element_rng(prev)
                yield out
        finally:
            src.close()

    def _iter_parallel(self, base, workers):
        pool = _DaemonPool(workers)
        pending: collections.deque = collections.deque()
        sizes = _seeding.chunk_sizes()
        src = self._input._iter_flat()
        chunk_id, exhausted = 0, False
        try:
            while True:
                while not exhausted and len(pending) < 2 * workers:
                    items = list(itertools.islice(src, next(sizes)))
                    if not items:
                        exhausted = True
                        break
                    if self._pack is None:
                        self._pack = S.packer(self._input._structure())
                    pending.append(pool.submit(self._run_chunk, items, base, chunk_id))
                    chunk_id += 1
                if not pending:
                    return
                yield from pending.popleft().result()
        finally:
            pool.close()
            for f in pending:
                f.cancel()
            src.close()


# -- prefetch ---------------------------------------------------------------------------------------
_ITEM, _END, _ERROR = 0, 1, 2


class PrefetchDataset(_Unary):
    def __init__(self, input_dataset, buffer_size):
        super().__init__(input_dataset)
        size = int(buffer_size)
        if size < -1:
            raise ValueError(f"prefetch: buffer_size must be >= 0 or tf.data.AUTOTUNE, got {size}")
        self._size = _AUTOTUNE_PREFETCH if size == AUTOTUNE else size

    def _iter_flat(self):
        if self._size == 0:
            yield from self._input._iter_flat()
            return
        q: queue.Queue = queue.Queue(maxsize=self._size)
        stop = threading.Event()
        make_source = self._input._iter_flat

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def produce():
            src = None
            try:
                src = make_source()
                for el in src:
                    if not put((_ITEM, el)):
                        return
                put((_END, None))
            except BaseException as e:  # noqa: BLE001 - handed to the consumer
                put((_ERROR, e))
            finally:
                if src is not None:
                    src.close()

        thread = threading.Thread(target=produce, daemon=True, name="tapeflow-prefetch")
        thread.start()
        try:
            while True:
                kind, item = q.get()
                if kind == _ITEM:
                    yield item
                elif kind == _END:
                    return
                else:
                    raise item
        finally:
            stop.set()


# -- cache ------------------------------------------------------------------------------------------
class CacheDataset(_Unary):
    """Replays the first complete pass. Uniform components are kept stacked, which gives a plan
    (so ``cache().shuffle().batch()`` batches in bulk from the second epoch on)."""

    def __init__(self, input_dataset, filename):
        super().__init__(input_dataset)
        filename = os.fspath(filename)
        self._path = None if not filename else (filename if filename.endswith(".npz") else filename + ".npz")
        self._arrays = None    # stacked components (uniform shapes)
        self._elements = None  # list of flat tuples (ragged elements)
        self._lock = threading.Lock()
        self._file_spec = None  # the element spec stored in the cache file, once read

    def _compute_spec(self):
        self._load()
        return self._file_spec if self._file_spec is not None else self._input.element_spec

    def _structure(self):
        if self._spec is not None:
            return self._spec
        self._load()
        return self._file_spec if self._file_spec is not None else self._input._structure()

    def _plan(self):
        self._load()
        if self._arrays is None:
            return None
        n = self._arrays[0].shape[0]
        return self._arrays, lambda: _index_chunks(n)

    def _load(self):
        if self._arrays is not None or self._elements is not None or self._path is None:
            return
        if os.path.exists(self._path):
            with self._lock:
                self._read_file()

    def _iter_flat(self):
        self._load()
        if self._arrays is not None:
            yield from iter_rows(self._arrays, _index_chunks(self._arrays[0].shape[0]))
            return
        if self._elements is not None:
            yield from self._elements
            return
        recorded = []
        src = self._input._iter_flat()
        try:
            for el in src:
                recorded.append(el)
                yield el
        finally:
            src.close()
        # only a complete pass reaches here: keep it
        with self._lock:
            if self._arrays is None and self._elements is None:
                self._store(recorded)

    def _store(self, elements):
        n_comp = len(S.flatten(self._input._structure()))
        arrays = None
        if elements:
            try:
                arrays = tuple(np.stack(parts) for parts in zip(*elements))
            except ValueError:
                arrays = None
        elif n_comp:
            arrays = tuple(np.zeros((0,) + tuple(d or 0 for d in (s.shape or ())), s.dtype)
                           for s in S.flatten(self._input.element_spec))
        if arrays is not None:
            self._arrays = arrays
        else:
            self._elements = elements
        if self._path is not None:
            self._write_file(arrays, elements, n_comp)

    def _write_file(self, arrays, elements, n_comp):
        payload = {}
        spec = _spec_to_json(self._input._structure())
        if arrays is not None:
            meta = {"format": "tapeflow.data.cache/1", "layout": "stacked", "components": n_comp, "spec": spec}
            payload.update({f"c{j}": a for j, a in enumerate(arrays)})
        else:
            meta = {"format": "tapeflow.data.cache/1", "layout": "elements", "components": n_comp,
                    "count": len(elements), "spec": spec}
            payload.update({f"e{i}_{j}": a for i, el in enumerate(elements) for j, a in enumerate(el)})
        for key, a in payload.items():
            if a.dtype == object:
                raise TypeError(f"cache({self._path!r}): component {key} has dtype object, which cannot be "
                                "stored without pickle; use cache() in memory instead")
        payload["__meta__"] = np.array(json.dumps(meta))
        folder = os.path.dirname(os.path.abspath(self._path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-cache-", suffix=".npz", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _read_file(self):
        path = self._path
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["__meta__"]))
                file_spec = _spec_from_json(meta["spec"])
                known = self._input._spec if self._input._spec is not None else getattr(self._input, "_seen", None)
                n_comp = len(S.flatten(known if known is not None else file_spec))
                if meta.get("format") != "tapeflow.data.cache/1" or meta.get("components") != n_comp:
                    raise ValueError(f"cache: the file {path!r} was written by a different pipeline "
                                     f"({meta.get('components')} components, this one has {n_comp}); "
                                     "delete it or use another filename")
                if meta["layout"] == "stacked":
                    arrays = tuple(z[f"c{j}"] for j in range(n_comp))
                    elements = None
                else:
                    arrays = None
                    elements = [tuple(z[f"e{i}_{j}"] for j in range(n_comp)) for i in range(meta["count"])]
        except (OSError, KeyError, ValueError) as e:
            if isinstance(e, ValueError) and str(e).startswith("cache:"):
                raise
            raise ValueError(f"cache: could not read the cache file {path!r} ({e}); delete it to rebuild") from e
        spec = S.flatten(known) if known is not None else None
        if spec is not None:
            got = [a.dtype for a in arrays] if arrays is not None else ([a.dtype for a in elements[0]]
                                                                         if elements else [])
            if got and got != [s.dtype for s in spec]:
                raise ValueError(f"cache: the file {path!r} holds dtypes {[d.name for d in got]}, the pipeline "
                                 f"produces {[s.dtype.name for s in spec]}; delete it or use another filename")
        self._arrays, self._elements, self._file_spec = arrays, elements, file_spec


def _spec_to_json(spec):
    if isinstance(spec, dict):
        return {"dict": {str(k): _spec_to_json(v) for k, v in spec.items()}}
    if isinstance(spec, tuple):
        return {"tuple": [_spec_to_json(v) for v in spec]}
    return {"spec": [None if spec.shape is None else list(spec.shape), spec.dtype.str]}


def _spec_from_json(obj):
    if "dict" in obj:
        return {k: _spec_from_json(v) for k, v in obj["dict"].items()}
    if "tuple" in obj:
        return tuple(_spec_from_json(v) for v in obj["tuple"])
    shape, dtype = obj["spec"]
    return TensorSpec(shape, np.dtype(dtype))


# -- options --------------------------------------------------------------------------------------
class _Namespace:
    """A permissive options group: unknown settings read as None."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def __repr__(self):
        return f"{type(self).__name__}({vars(self)})"


class Options:
    """``tf.data.Options``: settings are accepted; ``deterministic`` is always honoured (this
    implementation keeps element order in every parallel stage).

    >>> import tapeflow as tf
    >>> o = tf.data.Options(); o.deterministic = False
    >>> tf.data.Dataset.range(3).with_options(o).options().deterministic
    False
    """

    def __init__(self):
        self.deterministic = None
        self.threading = _Namespace()
        self.experimental_optimization = _Namespace()
        self.experimental_distribute = _Namespace()
        self.autotune = _Namespace()

    @property
    def experimental_deterministic(self):
        return self.deterministic

    @experimental_deterministic.setter
    def experimental_deterministic(self, value):
        self.deterministic = value

    def merge(self, other: "Options") -> "Options":
        out = Options()
        for src in (self, other):
            if src.deterministic is not None:
                out.deterministic = src.deterministic
            for group in ("threading", "experimental_optimization", "experimental_distribute", "autotune"):
                vars(getattr(out, group)).update(vars(getattr(src, group)))
        return out


class OptionsDataset(_Unary):
    def __init__(self, input_dataset, options):
        super().__init__(input_dataset)
        if not isinstance(options, Options):
            raise TypeError(f"with_options: expected tf.data.Options, got {type(options).__name__}")
        self._own_options = options

    def _plan(self):
        return self._input._plan()

    def _iter_flat(self):
        return self._input._iter_flat()
