"""Order and shape transformations: shuffle, batch, padded_batch, unbatch, repeat, take, skip,
shard, enumerate, filter, flat_map.

Those that keep "rows of arrays in some order" (shuffle, repeat, take, skip, shard) also
transform the index stream of ``_plan()``, which is what lets ``batch`` gather in bulk.
"""
from __future__ import annotations

import itertools

import numpy as np

from . import _seeding
from . import _structure as S
from ._structure import TensorSpec
from .dataset import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, chunk_ints, flatten_plan_chunks


def _count(value, what: str) -> int:
    v = int(value.numpy() if hasattr(value, "numpy") else value)
    return v


class _Unary(Dataset):
    def __init__(self, input_dataset: Dataset):
        if not isinstance(input_dataset, Dataset):
            raise TypeError(f"expected a Dataset, got {type(input_dataset).__name__}")
        self._input = input_dataset

    def _inputs(self):
        return [self._input]

    def _compute_spec(self):
        return self._input.element_spec

    def _structure(self):
        return self._input._structure() if self._spec is None else self._spec

    def _cardinality(self) -> int:
        return self._input._cardinality()


# -- shuffle --------------------------------------------------------------------------------------
def buffer_shuffle(items, buffer_size: int, gen: np.random.Generator):
    """tf.data's shuffle buffer over any iterator: fill, then emit a random slot and refill it.

    If the input ends while the buffer is still filling, the buffer is one uniform permutation.
    """
    it = iter(items)
    buf = list(itertools.islice(it, buffer_size))
    if len(buf) < buffer_size:
        for j in gen.permutation(len(buf)).tolist():
            yield buf[j]
        return
    while True:
        for j in gen.integers(0, buffer_size, size=1024).tolist():
            out = buf[j]
            try:
                buf[j] = next(it)
            except StopIteration:
                buf[j] = buf[-1]
                buf.pop()
                yield out
                for k in gen.permutation(len(buf)).tolist():
                    yield buf[k]
                return
            yield out


class ShuffleDataset(_Unary):
    def __init__(self, input_dataset, buffer_size, seed, reshuffle_each_iteration):
        super().__init__(input_dataset)
        size = _count(buffer_size, "shuffle")
        if size == -1:  # AUTOTUNE is not a valid shuffle buffer in TF either; be explicit
            raise ValueError("shuffle: buffer_size must be a positive integer (AUTOTUNE is not supported "
                             "for shuffle); use the dataset size for a full shuffle")
        if size <= 0:
            raise ValueError(f"shuffle: buffer_size must be a positive integer, got {size}")
        self._size = size
        self._reshuffle = bool(reshuffle_each_iteration)
        source = _seeding.op_seed_source(None if seed is None else int(seed))
        self._fixed_seed = source.spawn(1)[0]
        self._seed_gen = np.random.default_rng(source)

    def _epoch_rng(self) -> np.random.Generator:
        if self._reshuffle:
            return np.random.default_rng(self._seed_gen.integers(0, 2**63 - 1))
        return np.random.default_rng(self._fixed_seed)

    def _plan(self):
        p = self._input._plan()
        if p is None:
            return None
        arrays, chunks = p

        def factory():
            ints = flatten_plan_chunks(chunks())
            return chunk_ints(buffer_shuffle(ints, self._size, self._epoch_rng()))
        return arrays, factory

    def _iter_flat(self):
        p = self._plan()
        if p is not None:
            from .dataset import iter_rows
            yield from iter_rows(p[0], p[1]())
            return
        src = self._input._iter_flat()
        try:
            yield from buffer_shuffle(src, self._size, self._epoch_rng())
        finally:
            src.close()


# -- batching ---------------------------------------------------------------------------------------
def _batch_indices(chunks, batch_size: int, drop_remainder: bool):
    pending = []
    n_pending = 0
    for c in chunks:
        pending.append(c)
        n_pending += c.size
        if n_pending < batch_size:
            continue
        flat = np.concatenate(pending) if len(pending) > 1 else pending[0]
        full = (flat.size // batch_size) * batch_size
        for s in range(0, full, batch_size):
            yield flat[s:s + batch_size]
        rest = flat[full:]
        pending, n_pending = ([rest] if rest.size else []), rest.size
    if n_pending and not drop_remainder:
        yield np.concatenate(pending)


class BatchDataset(_Unary):
    def __init__(self, input_dataset, batch_size, drop_remainder):
        super().__init__(input_dataset)
        self._bs = _count(batch_size, "batch")
        if self._bs <= 0:
            raise ValueError(f"batch: batch_size must be a positive integer, got {self._bs}")
        self._drop = bool(drop_remainder)

    def _compute_spec(self):
        dim = self._bs if self._drop else None
        return S.map_structure(lambda s: TensorSpec(None if s.shape is None else (dim,) + tuple(s.shape),
                                                    s.dtype), self._input.element_spec)

    def _structure(self):
        return self._input._structure() if self._spec is None else self._spec

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if n < 0:
            return n
        return n // self._bs if self._drop else -(-n // self._bs)

    def _stack(self, elements):
        try:
            return tuple(np.stack(parts) for parts in zip(*elements))
        except ValueError:
            for k, parts in enumerate(zip(*elements)):
                shapes = [p.shape for p in parts]
                bad = next((i for i, s in enumerate(shapes) if s != shapes[0]), None)
                if bad is not None:
                    raise ValueError(
                        f"batch: cannot batch elements of different shapes: component {k} has shape "
                        f"{shapes[0]} in element 0 of the batch but {shapes[bad]} in element {bad}; "
                        "use padded_batch(batch_size) to pad them to a common shape") from None
            raise

    def _iter_flat(self):
        p = self._input._plan()
        if p is not None:
            arrays, chunks = p
            for idx in _batch_indices(chunks(), self._bs, self._drop):
                yield tuple(a[idx] for a in arrays)
            return
        yield from self._buffered()

    def _buffered(self):
        """Group input elements into batches of ``_bs`` (the last one shorter unless dropped)."""
        buf = []
        src = self._input._iter_flat()
        try:
            for el in src:
                buf.append(el)
                if len(buf) == self._bs:
                    yield self._stack(buf)
                    buf = []
            if buf and not self._drop:
                yield self._stack(buf)
        finally:
            src.close()


class PaddedBatchDataset(BatchDataset):
    def __init__(self, input_dataset, batch_size, padded_shapes, padding_values, drop_remainder):
        super().__init__(input_dataset, batch_size, drop_remainder)
        self._padded_shapes = padded_shapes
        self._padding_values = padding_values

    def _targets(self):
        structure = self._input._structure()
        n = len(S.flatten(structure))
        if self._padded_shapes is None:
            shapes = [None] * n
        elif isinstance(structure, (tuple, dict)):
            shapes = S.flatten(S.normalize(tuple(self._padded_shapes) if isinstance(self._padded_shapes, list)
                                           and isinstance(structure, tuple) else self._padded_shapes))
            shapes = [None if s is None else list(s.numpy() if hasattr(s, "numpy") else s) for s in shapes]
        else:
            s = self._padded_shapes
            shapes = [list(s.numpy() if hasattr(s, "numpy") else s)]
        if len(shapes) != n:
            raise ValueError(f"padded_batch: padded_shapes has {len(shapes)} components but the elements have {n}")
        pv = self._padding_values
        if pv is None or not isinstance(structure, (tuple, dict)):
            values = [pv] * n
        else:
            values = S.flatten(S.normalize(pv)) if isinstance(pv, (tuple, dict)) else [pv] * n
        return shapes, values

    def _compute_spec(self):
        shapes, _ = self._targets()
        dim = self._bs if self._drop else None
        flat = S.flatten(self._input.element_spec)
        out = []
        for s, target in zip(flat, shapes):
            if s.shape is None:
                out.append(TensorSpec(None, s.dtype))
                continue
            dims = [d if target is None or target[i] is None or int(target[i]) < 0 else int(target[i])
                    for i, d in enumerate(s.shape)]
            if target is None:
                dims = [d for d in s.shape]
            out.append(TensorSpec([dim] + dims, s.dtype))
        return S.pack_as(self._input.element_spec, out)

    def _stack(self, elements):
        shapes, values = self._targets()
        out = []
        for k, parts in enumerate(zip(*elements)):
            rank = parts[0].ndim
            if any(p.ndim != rank for p in parts):
                raise ValueError(f"padded_batch: component {k} has elements of different ranks "
                                 f"({sorted({p.ndim for p in parts})}); padding needs equal ranks")
            biggest = np.max([p.shape for p in parts], axis=0) if rank else np.zeros(0, int)
            target = shapes[k]
            if target is not None:
                if len(target) != rank:
                    raise ValueError(f"padded_batch: padded_shapes for component {k} has rank {len(target)}, "
                                     f"the elements have rank {rank}")
                for i, t in enumerate(target):
                    if t is not None and int(t) >= 0:
                        if biggest[i] > int(t):
                            raise ValueError(f"padded_batch: an element of component {k} has size "
                                             f"{biggest[i]} in dimension {i}, larger than the padded "
                                             f"shape {int(t)}")
                        biggest[i] = int(t)
            pad = values[k]
            pad = 0 if pad is None else (pad.numpy() if hasattr(pad, "numpy") else pad)
            batch = np.full((len(parts),) + tuple(int(b) for b in biggest), pad, dtype=parts[0].dtype)
            for i, p in enumerate(parts):
                batch[(i,) + tuple(slice(0, d) for d in p.shape)] = p
            out.append(batch)
        return tuple(out)

    def _iter_flat(self):
        yield from self._buffered()


class UnbatchDataset(_Unary):
    def _compute_spec(self):
        def drop(s):
            if s.shape is not None and len(s.shape) == 0:
                raise ValueError("unbatch: the elements have a scalar component; unbatch needs rank >= 1")
            return TensorSpec(None if s.shape is None else tuple(s.shape)[1:], s.dtype)
        return S.map_structure(drop, self._input.element_spec)

    def _structure(self):
        return self._input._structure()

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        dims = {s.shape[0] if s.shape else None for s in S.flatten(self._input.element_spec)}
        if n >= 0 and len(dims) == 1 and None not in dims:
            return n * dims.pop()
        return INFINITE_CARDINALITY if n == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY

    def _iter_flat(self):
        src = self._input._iter_flat()
        try:
            for el in src:
                sizes = {a.shape[0] if a.ndim else None for a in el}
                if len(sizes) != 1 or None in sizes:
                    raise ValueError(f"unbatch: all components need the same first dimension, got sizes "
                                     f"{[a.shape[0] if a.ndim else 'scalar' for a in el]}")
                for i in range(sizes.pop()):
                    yield tuple([a[i, ...] for a in el])
        finally:
            src.close()


# -- counting ---------------------------------------------------------------------------------------
class RepeatDataset(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self._count = -1 if count is None else _count(count, "repeat")

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if n in (UNKNOWN_CARDINALITY, INFINITE_CARDINALITY):
            return n
        if self._count < 0:
            return 0 if n == 0 else INFINITE_CARDINALITY
        return n * self._count

    def _passes(self):
        return itertools.count() if self._count < 0 else range(self._count)

    def _plan(self):
        p = self._input._plan()
        if p is None:
            return None
        arrays, chunks = p

        def factory():
            for _ in self._passes():
                produced = False
                for c in chunks():
                    produced = produced or c.size > 0
                    yield c
                if not produced:
                    return
        return arrays, factory

    def _iter_flat(self):
        for _ in self._passes():
            produced = False
            src = self._input._iter_flat()
            try:
                for el in src:
                    produced = True
                    yield el
            finally:
                src.close()
            if not produced:
                return


class TakeDataset(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self._count = _count(count, "take")

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if self._count < 0:
            return n
        if n == UNKNOWN_CARDINALITY:
            return UNKNOWN_CARDINALITY
        return self._count if n == INFINITE_CARDINALITY else min(n, self._count)

    def _plan(self):
        p = self._input._plan()
        if p is None or self._count < 0:
            return p
        arrays, chunks = p

        def factory():
            left = self._count
            if left == 0:
                return
            for c in chunks():
                if c.size >= left:
                    yield c[:left]
                    return
                left -= c.size
                yield c
        return arrays, factory

    def _iter_flat(self):
        if self._count == 0:
            return
        src = self._input._iter_flat()
        try:
            yield from (src if self._count < 0 else itertools.islice(src, self._count))
        finally:
            src.close()


class SkipDataset(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        self._count = _count(count, "skip")

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if n < 0:
            return n if self._count >= 0 or n == UNKNOWN_CARDINALITY else 0
        return 0 if self._count < 0 else max(0, n - self._count)

    def _plan(self):
        p = self._input._plan()
        if p is None:
            return None
        arrays, chunks = p

        def factory():
            if self._count < 0:
                return
            left = self._count
            for c in chunks():
                if left >= c.size:
                    left -= c.size
                    continue
                yield c[left:]
                left = 0
        return arrays, factory

    def _iter_flat(self):
        src = self._input._iter_flat()
        try:
            if self._count < 0:
                for _ in src:
                    pass
                return
            yield from itertools.islice(src, self._count, None)
        finally:
            src.close()


class ShardDataset(_Unary):
    def __init__(self, input_dataset, num_shards, index):
        super().__init__(input_dataset)
        self._n, self._i = _count(num_shards, "shard"), _count(index, "shard")
        if self._n <= 0:
            raise ValueError(f"shard: num_shards must be positive, got {self._n}")
        if not 0 <= self._i < self._n:
            raise ValueError(f"shard: index must be in [0, num_shards={self._n}), got {self._i}")

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        if n < 0:
            return n
        return n // self._n + (1 if self._i < n % self._n else 0)

    def _plan(self):
        p = self._input._plan()
        if p is None:
            return None
        arrays, chunks = p

        def factory():
            pos = 0
            for c in chunks():
                first = (self._i - pos) % self._n
                pos += c.size
                sel = c[first::self._n]
                if sel.size:
                    yield sel
        return arrays, factory

    def _iter_flat(self):
        src = self._input._iter_flat()
        try:
            yield from itertools.islice(src, self._i, None, self._n)
        finally:
            src.close()


class EnumerateDataset(_Unary):
    def __init__(self, input_dataset, start):
        super().__init__(input_dataset)
        self._start = _count(start, "enumerate")

    def _compute_spec(self):
        return (TensorSpec((), "int64"), self._input.element_spec)

    def _structure(self):
        return (TensorSpec((), "int64"), self._input._structure())

    def _iter_flat(self):
        src = self._input._iter_flat()
        try:
            for i, el in enumerate(src, self._start):
                yield (np.asarray(i, dtype=np.int64),) + el
        finally:
            src.close()


# -- user-function driven -------------------------------------------------------------------------
def call_unpacked(fn, element):
    """tf.data's calling convention: a plain tuple element is passed as separate arguments."""
    return fn(*element) if type(element) is tuple else fn(element)


class FilterDataset(_Unary):
    def __init__(self, input_dataset, predicate):
        super().__init__(input_dataset)
        if not callable(predicate):
            raise TypeError(f"filter: predicate must be callable, got {type(predicate).__name__}")
        self._pred = predicate

    def _cardinality(self) -> int:
        n = self._input._cardinality()
        return INFINITE_CARDINALITY if n == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY

    def _iter_flat(self):
        src = self._input._iter_flat()
        pack = None
        try:
            for el in src:
                pack = pack or S.packer(self._input._structure())
                keep = call_unpacked(self._pred, pack(el))
                arr = np.asarray(keep._value if hasattr(keep, "_value") else keep)
                if arr.shape != () or arr.dtype != np.bool_:
                    raise ValueError(f"filter: the predicate must return a scalar boolean, got shape "
                                     f"{arr.shape} and dtype {arr.dtype.name}")
                if arr:
                    yield el
        finally:
            src.close()


class FlatMapDataset(_Unary):
    def __init__(self, input_dataset, map_func):
        super().__init__(input_dataset)
        self._fn = map_func
        self._seen = None

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _sub(self, el) -> Dataset:
        ds = call_unpacked(self._fn, S.to_user(self._input._structure(), el))
        if not isinstance(ds, Dataset):
            raise TypeError(f"flat_map: the function must return a Dataset, got {type(ds).__name__}")
        if self._seen is None:
            self._seen = ds
        return ds

    def _compute_spec(self):
        src = self._input._iter_flat()
        try:
            first = next(src, None)
        finally:
            src.close()
        if first is None:
            raise ValueError("flat_map: the input is empty, so the element structure is unknown")
        return self._sub(first).element_spec

    def _structure(self):
        return self._seen._structure() if self._seen is not None else self.element_spec

    def _iter_flat(self):
        src = self._input._iter_flat()
        try:
            for el in src:
                yield from self._sub(el)._iter_flat()
        finally:
            src.close()

