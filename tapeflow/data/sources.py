"""Source and combining datasets: from_generator, range, zip, concatenate."""
from __future__ import annotations

import itertools

import numpy as np

from .. import backend as B
from . import _structure as S
from ._structure import TensorSpec
from .dataset import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, chunk_ints

_RANGE_PLAN_LIMIT = 1 << 20  # materialize range(...) as an array for bulk batching up to this size


class GeneratorDataset(Dataset):
    """Elements yielded by a Python generator (``from_generator``)."""

    def __init__(self, generator, output_types, output_shapes, args, output_signature):
        if not callable(generator):
            raise TypeError("from_generator: `generator` must be a callable returning an iterator "
                            f"(e.g. a generator function), got {type(generator).__name__}")
        if output_signature is not None and (output_types is not None or output_shapes is not None):
            raise TypeError("from_generator: pass either output_signature or output_types/output_shapes, "
                            "not both")
        self._generator = generator
        self._args = tuple(args) if args is not None else ()
        if output_signature is not None:
            spec = S.normalize(output_signature if not isinstance(output_signature, list)
                               else tuple(output_signature))
            for s in S.flatten(spec):
                if not isinstance(s, TensorSpec):
                    raise TypeError(f"from_generator: output_signature must be a structure of tf.TensorSpec, "
                                    f"got a {type(s).__name__}")
            self._spec = spec
        elif output_types is not None:
            types = S.normalize(tuple(output_types) if isinstance(output_types, list) else output_types)
            if output_shapes is None:
                self._spec = S.map_structure(lambda t: TensorSpec(None, t), types)
            else:
                shapes = _normalize_shapes(output_shapes, types)
                self._spec = S.pack_as(types, [TensorSpec(sh, t) for t, sh in
                                               zip(S.flatten(types), shapes)])

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _compute_spec(self):
        it = iter(self._generator(*self._args))
        try:
            first = next(it)
        except StopIteration:
            raise ValueError("from_generator: the generator produced no element, so the element structure "
                             "is unknown; pass output_signature=...") from None
        finally:
            if hasattr(it, "close"):
                it.close()
        spec, _ = S.from_user(first, "from_generator")
        return spec

    def _iter_flat(self):
        spec = self.element_spec
        flat_spec = S.flatten(spec)
        it = iter(self._generator(*self._args))
        try:
            for value in it:
                if isinstance(value, list) and isinstance(spec, tuple):
                    value = tuple(value)
                value = S.normalize(value)
                if not S.same_structure(value, spec):
                    raise TypeError(f"from_generator: the generator yielded {value!r}, whose structure "
                                    f"does not match the expected {spec}")
                leaves = S.flatten(value) if isinstance(spec, (tuple, dict)) else [value]
                yield tuple(S.to_array(v, s, "from_generator") for v, s in zip(leaves, flat_spec))
        finally:
            if hasattr(it, "close"):
                it.close()


def _normalize_shapes(shapes, types):
    if not isinstance(types, (tuple, dict)):
        return [shapes]
    shapes = S.normalize(tuple(shapes) if isinstance(shapes, list) and isinstance(types, tuple)
                         and len(shapes) == len(types) and all(isinstance(s, (list, tuple)) or s is None
                                                               for s in shapes) else shapes)
    if isinstance(types, tuple):
        return [list(s) if s is not None else None for s in shapes]
    return [shapes[k] for k in sorted(types)]


class RangeDataset(Dataset):
    """``Dataset.range``: int64 scalars."""

    def __init__(self, *args, dtype="int64"):
        if not 1 <= len(args) <= 3:
            raise TypeError(f"range: expected 1 to 3 arguments (start, stop, step), got {len(args)}")
        args = [int(a) for a in args]
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (args + [1])[:3]
        if step == 0:
            raise ValueError("range: step must not be 0")
        self._r = range(start, stop, step)
        self._dtype = B.as_dtype(dtype)
        self._spec = TensorSpec((), self._dtype)

    def _cardinality(self) -> int:
        return len(self._r)

    def _plan(self):
        if len(self._r) > _RANGE_PLAN_LIMIT:
            return None
        values = np.arange(self._r.start, self._r.stop, self._r.step).astype(self._dtype)
        return (values,), lambda: chunk_ints(iter(range(len(values))))

    def _iter_flat(self):
        dt = self._dtype
        for v in self._r:
            yield (np.asarray(v, dtype=dt),)


class ZipDataset(Dataset):
    """``Dataset.zip``: tuples (or dicts) of elements, one from each dataset."""

    def __init__(self, datasets):
        leaves = S.flatten(S.normalize(datasets))
        if not leaves or not all(isinstance(d, Dataset) for d in leaves):
            raise TypeError("zip: expected datasets (as arguments, a tuple or a dict), got "
                            f"{[type(d).__name__ for d in leaves]}")
        self._structure_ds = S.normalize(datasets)
        self._datasets = leaves

    def _inputs(self):
        return list(self._datasets)

    def _compute_spec(self):
        return S.pack_as(self._structure_ds, [d.element_spec for d in self._datasets])

    def _structure(self):
        return S.pack_as(self._structure_ds, [d._structure() for d in self._datasets])

    def _cardinality(self) -> int:
        out = INFINITE_CARDINALITY
        for d in self._datasets:
            n = d._cardinality()
            if n == UNKNOWN_CARDINALITY:
                return UNKNOWN_CARDINALITY
            if n != INFINITE_CARDINALITY:
                out = n if out == INFINITE_CARDINALITY else min(out, n)
        return out

    def _iter_flat(self):
        iters = [d._iter_flat() for d in self._datasets]
        try:
            for parts in zip(*iters):
                yield tuple(itertools.chain.from_iterable(parts))
        finally:
            for it in iters:
                it.close()


class ConcatenateDataset(Dataset):
    """``a.concatenate(b)``."""

    def __init__(self, first: Dataset, second: Dataset):
        if not isinstance(second, Dataset):
            raise TypeError(f"concatenate: expected a Dataset, got {type(second).__name__}")
        self._first, self._second = first, second

    def _inputs(self):
        return [self._first, self._second]

    def _compute_spec(self):
        return S.relax(self._first.element_spec, self._second.element_spec, "concatenate")

    def _cardinality(self) -> int:
        a, b = self._first._cardinality(), self._second._cardinality()
        if UNKNOWN_CARDINALITY in (a, b):
            return UNKNOWN_CARDINALITY
        if INFINITE_CARDINALITY in (a, b):
            return INFINITE_CARDINALITY
        return a + b

    def _iter_flat(self):
        self.element_spec  # noqa: B018 - validate the structures before producing anything
        yield from self._first._iter_flat()
        yield from self._second._iter_flat()
