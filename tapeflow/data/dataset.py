"""``Dataset``: a lazy, re-iterable input pipeline, as ``tf.data.Dataset``.

Each ``iter(ds)`` starts a fresh pass. Internally an element is a flat tuple of NumPy arrays
(``_iter_flat``); the nesting lives in ``element_spec`` and user code sees Tensors. Datasets
that are "rows of in-memory arrays, in some index order" (``from_tensor_slices`` and
``shuffle``/``take``/``skip``/``repeat``/``shard`` over it) also expose ``_plan()``: the arrays
plus a stream of index chunks, so ``batch`` can gather a whole batch with one fancy index per
component instead of one Python call per element.

The transformations live in ``transforms.py`` (shuffle, batch, repeat, ...) and
``pipeline.py`` (map, prefetch, cache); the source datasets live here.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..autodiff.tensor import Tensor
from . import _structure as S
from ._structure import TensorSpec

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2
_CHUNK = 8192  # index chunk length in plans


class Dataset:
    """A lazy sequence of elements, re-iterable, as ``tf.data.Dataset``.

    >>> import numpy as np, tapeflow as tf
    >>> ds = tf.data.Dataset.from_tensor_slices((np.arange(5), np.arange(5) * 10)).batch(2)
    >>> [y.numpy().tolist() for _, y in ds]
    [[0, 10], [20, 30], [40]]
    """

    _spec = None  # structure of TensorSpec, or None while unknown (see element_spec)

    # -- to be provided by subclasses ----------------------------------------------------
    def _iter_flat(self):
        """Yield the elements of one pass as flat tuples of arrays."""
        raise NotImplementedError

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _plan(self):
        """``(arrays, chunks_factory)`` when this dataset is rows of arrays, else None."""
        return None

    def _inputs(self) -> list:
        return []

    # -- inspection ------------------------------------------------------------------------
    @property
    def element_spec(self):
        """The nested structure of ``TensorSpec`` describing one element."""
        if self._spec is None:
            self._spec = self._compute_spec()
        return self._spec

    def _compute_spec(self):
        raise NotImplementedError

    def _structure(self):
        """The element nesting (specs may still be per-first-element); cheap after a first element."""
        return self.element_spec

    def cardinality(self) -> Tensor:
        """Number of elements; ``INFINITE_CARDINALITY`` (-1) or ``UNKNOWN_CARDINALITY`` (-2).

        >>> import tapeflow as tf
        >>> int(tf.data.Dataset.range(10).batch(3).cardinality())
        4
        """
        return Tensor._wrap(np.asarray(self._cardinality(), dtype=np.int64))

    def __len__(self) -> int:
        n = self._cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return int(n)

    def __bool__(self) -> bool:
        return True

    def options(self):
        """The merged ``tf.data.Options`` of this pipeline."""
        from .pipeline import Options
        out = Options()
        for ds in self._inputs():
            out = out.merge(ds.options())
        own = getattr(self, "_own_options", None)
        return out.merge(own) if own is not None else out

    def __repr__(self) -> str:
        try:
            spec = self.element_spec
        except Exception:  # noqa: BLE001 - repr must not fail
            spec = "?"
        return f"<{type(self).__name__} element_spec={spec}>"

    # -- iteration -----------------------------------------------------------------------
    def __iter__(self):
        return DatasetIterator(self)

    def as_numpy_iterator(self):
        """Iterate elements as NumPy values (0-d tensors become NumPy scalars).

        >>> import tapeflow as tf
        >>> list(tf.data.Dataset.range(3).as_numpy_iterator())
        [np.int64(0), np.int64(1), np.int64(2)]
        """
        for flat in self._iter_flat():
            yield S.pack_as(self._structure(), [S.numpy_leaf(a) for a in flat])

    def reduce(self, initial_state, reduce_func):
        """Fold the elements: ``state = reduce_func(state, element)``; returns the final state.

        >>> import numpy as np, tapeflow as tf
        >>> int(tf.data.Dataset.range(5).reduce(np.int64(0), lambda s, x: s + x))
        10
        """
        state = S.map_structure(lambda v: Tensor._wrap(S._as_array(v)), S.normalize(initial_state))
        for flat in self._iter_flat():
            state = reduce_func(state, S.to_user(self._structure(), flat))
            state = S.map_structure(lambda v: Tensor._wrap(S._as_array(v)), S.normalize(state))
        return state

    def get_single_element(self):
        """The only element of a one-element dataset (error otherwise)."""
        it = self._iter_flat()
        first = next(it, None)
        if first is None or next(it, None) is not None:
            raise ValueError("get_single_element: the dataset must contain exactly one element")
        return S.to_user(self._structure(), first)

    # -- sources ---------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors, name=None) -> "Dataset":
        """One element per row of the given arrays (tuples, dicts and nestings of them).

        >>> import numpy as np, tapeflow as tf
        >>> ds = tf.data.Dataset.from_tensor_slices({"a": np.arange(3), "b": np.ones((3, 2))})
        >>> ds.element_spec["b"].shape.as_list()
        [2]
        """
        return TensorSliceDataset(tensors)

    @staticmethod
    def from_tensors(tensors, name=None) -> "Dataset":
        """A dataset with the whole structure as its single element."""
        return TensorDataset(tensors)

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None,
                       output_signature=None, name=None) -> "Dataset":
        """Elements from ``generator()`` (called afresh on every pass).

        ``output_signature`` (a structure of ``tf.TensorSpec``) fixes dtypes and checks shapes;
        without it the first element defines them.

        >>> import tapeflow as tf
        >>> ds = tf.data.Dataset.from_generator(lambda: iter([1, 2]),
        ...                                     output_signature=tf.data.TensorSpec((), tf.int32))
        >>> [int(x) for x in ds]
        [1, 2]
        """
        from .sources import GeneratorDataset
        return GeneratorDataset(generator, output_types, output_shapes, args, output_signature)

    @staticmethod
    def range(*args, dtype="int64", name=None) -> "Dataset":
        """``range(stop)``, ``range(start, stop[, step])`` as int64 scalars.

        >>> import tapeflow as tf
        >>> [int(x) for x in tf.data.Dataset.range(2, 8, 3)]
        [2, 5]
        """
        from .sources import RangeDataset
        return RangeDataset(*args, dtype=dtype)

    @staticmethod
    def zip(*datasets, name=None) -> "Dataset":
        """Pair up elements of several datasets (stops at the shortest).

        >>> import tapeflow as tf
        >>> a, b = tf.data.Dataset.range(3), tf.data.Dataset.range(10, 12)
        >>> [(int(x), int(y)) for x, y in tf.data.Dataset.zip(a, b)]
        [(0, 10), (1, 11)]
        """
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list, dict)):
            datasets = datasets[0]
        from .sources import ZipDataset
        return ZipDataset(tuple(datasets) if isinstance(datasets, list) else datasets)

    # -- transformations (implemented in transforms.py / pipeline.py) ----------------------
    def concatenate(self, dataset, name=None) -> "Dataset":
        """This dataset's elements followed by ``dataset``'s (same structure and dtypes)."""
        from .sources import ConcatenateDataset
        return ConcatenateDataset(self, dataset)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None) -> "Dataset":
        """Shuffle through a buffer of ``buffer_size`` elements, as tf.data.

        The buffer is filled, then each output is a random buffer element, replaced by the next
        input; so element ``i`` can come out no earlier than position ``i - buffer_size + 1``.
        A buffer as large as the data gives a uniform shuffle. With ``seed`` (combined with
        ``tf.random.set_seed``) the sequence of epoch orders repeats from run to run.

        >>> import tapeflow as tf
        >>> sorted(int(x) for x in tf.data.Dataset.range(5).shuffle(5, seed=1))
        [0, 1, 2, 3, 4]
        """
        from .transforms import ShuffleDataset
        return ShuffleDataset(self, buffer_size, seed, reshuffle_each_iteration)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None) -> "Dataset":
        """Apply ``map_func`` to each element (a tuple element is passed unpacked).

        With ``num_parallel_calls`` (an int or ``tf.data.AUTOTUNE``) it runs on worker threads;
        the output order is always the input order.

        >>> import tapeflow as tf
        >>> [int(x) for x in tf.data.Dataset.range(3).map(lambda x: x * 2, num_parallel_calls=2)]
        [0, 2, 4]
        """
        from .pipeline import MapDataset
        return MapDataset(self, map_func, num_parallel_calls, deterministic)

    def filter(self, predicate, name=None) -> "Dataset":
        """Keep the elements for which ``predicate`` returns True (a scalar boolean)."""
        from .transforms import FilterDataset
        return FilterDataset(self, predicate)

    def flat_map(self, map_func, name=None) -> "Dataset":
        """``map_func`` returns a Dataset per element; their elements are chained."""
        from .transforms import FlatMapDataset
        return FlatMapDataset(self, map_func)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None,
              name=None) -> "Dataset":
        """Stack ``batch_size`` consecutive elements (the last batch may be smaller).

        >>> import tapeflow as tf
        >>> [b.shape.as_list() for b in tf.data.Dataset.range(5).batch(2, drop_remainder=True)]
        [[2], [2]]
        """
        from .transforms import BatchDataset
        return BatchDataset(self, batch_size, drop_remainder)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False,
                     name=None) -> "Dataset":
        """Batch elements of different shapes, padding each component to a common shape.

        >>> import tapeflow as tf
        >>> ds = tf.data.Dataset.range(1, 4).map(lambda n: tf.fill([n], n)).padded_batch(3)
        >>> ds.as_numpy_iterator().__next__().tolist()
        [[1, 0, 0], [2, 2, 0], [3, 3, 3]]
        """
        from .transforms import PaddedBatchDataset
        return PaddedBatchDataset(self, batch_size, padded_shapes, padding_values, drop_remainder)

    def unbatch(self, name=None) -> "Dataset":
        """Split each element along its first dimension (inverse of ``batch``)."""
        from .transforms import UnbatchDataset
        return UnbatchDataset(self)

    def rebatch(self, batch_size, drop_remainder=False, name=None) -> "Dataset":
        """Re-cut the batches to ``batch_size`` (``unbatch().batch(batch_size)``)."""
        return self.unbatch().batch(batch_size, drop_remainder=drop_remainder)

    def prefetch(self, buffer_size, name=None) -> "Dataset":
        """Produce up to ``buffer_size`` elements ahead on a background thread."""
        from .pipeline import PrefetchDataset
        return PrefetchDataset(self, buffer_size)

    def cache(self, filename="", name=None) -> "Dataset":
        """Keep the elements of the first full pass, in memory or in ``filename`` (NPZ, no pickle)."""
        from .pipeline import CacheDataset
        return CacheDataset(self, filename)

    def repeat(self, count=None, name=None) -> "Dataset":
        """Repeat ``count`` times (forever when None or -1); each repetition is a fresh pass."""
        from .transforms import RepeatDataset
        return RepeatDataset(self, count)

    def take(self, count, name=None) -> "Dataset":
        """The first ``count`` elements (all when -1)."""
        from .transforms import TakeDataset
        return TakeDataset(self, count)

    def skip(self, count, name=None) -> "Dataset":
        """All but the first ``count`` elements (none when -1)."""
        from .transforms import SkipDataset
        return SkipDataset(self, count)

    def shard(self, num_shards, index, name=None) -> "Dataset":
        """Every ``num_shards``-th element starting at ``index``."""
        from .transforms import ShardDataset
        return ShardDataset(self, num_shards, index)

    def enumerate(self, start=0, name=None) -> "Dataset":
        """Pairs ``(i, element)`` with an int64 counter from ``start``.

        >>> import tapeflow as tf
        >>> [(int(i), int(x)) for i, x in tf.data.Dataset.range(5, 7).enumerate()]
        [(0, 5), (1, 6)]
        """
        from .transforms import EnumerateDataset
        return EnumerateDataset(self, start)

    def apply(self, transformation_func) -> "Dataset":
        """``transformation_func(self)``, for chaining custom transformations."""
        return transformation_func(self)

    def with_options(self, options, name=None) -> "Dataset":
        """Attach ``tf.data.Options`` (accepted; ``deterministic`` is honoured as always-ordered)."""
        from .pipeline import OptionsDataset
        return OptionsDataset(self, options)


class DatasetIterator:
    """One pass over a dataset, as the object ``iter(dataset)`` returns in tf.data.

    Nothing runs until the first ``next()``.
    """

    def __init__(self, dataset: Dataset):
        self._dataset = dataset
        self._gen = None
        self._pack = None

    @property
    def element_spec(self):
        return self._dataset.element_spec

    def __iter__(self):
        return self

    def __next__(self):
        if self._gen is None:
            self._gen = self._dataset._iter_flat()
        flat = next(self._gen)
        if self._pack is None:
            self._pack = S.packer(self._dataset._structure())
        return self._pack(flat)

    def get_next(self):
        return self.__next__()

    def close(self) -> None:
        if self._gen is not None:
            self._gen.close()


# -- the in-memory sources ----------------------------------------------------------------------
def _component_name(spec_structure, k: int) -> str:
    paths = []

    def walk(s, path):
        if isinstance(s, dict):
            for key in sorted(s):
                walk(s[key], path + f"[{key!r}]")
        elif isinstance(s, tuple):
            for i, v in enumerate(s):
                walk(v, path + f"[{i}]")
        else:
            paths.append(path or "the tensor")

    walk(spec_structure, "")
    return paths[k]


def _index_chunks(n: int):
    for s in range(0, n, _CHUNK):
        yield np.arange(s, min(n, s + _CHUNK), dtype=np.int64)


def iter_rows(arrays, chunks):
    """Elements (flat tuples of row views) of ``arrays`` in the order of the index chunks."""
    if len(arrays) == 1:
        a = arrays[0]
        for idx in chunks:
            for i in idx.tolist():
                yield (a[i, ...],)
    elif len(arrays) == 2:
        a, b = arrays
        for idx in chunks:
            for i in idx.tolist():
                yield (a[i, ...], b[i, ...])
    else:
        for idx in chunks:
            for i in idx.tolist():
                yield tuple([a[i, ...] for a in arrays])


class TensorSliceDataset(Dataset):
    """Rows of in-memory arrays (``from_tensor_slices``)."""

    def __init__(self, tensors):
        if isinstance(tensors, Dataset):
            raise TypeError("from_tensor_slices: got a Dataset; use the dataset directly (or .unbatch())")
        structure = S.normalize(tensors)
        leaves = S.flatten(structure)
        if not leaves:
            raise ValueError("from_tensor_slices: got an empty structure; pass at least one array")
        arrays = []
        for k, leaf in enumerate(leaves):
            try:
                arrays.append(S._as_array(leaf))
            except Exception as e:  # noqa: BLE001
                raise TypeError(f"from_tensor_slices: could not convert component "
                                f"{_component_name(structure, k)} ({type(leaf).__name__}) to a tensor") from e
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"from_tensor_slices: component {_component_name(structure, k)} is a scalar; "
                                 "slicing needs at least one dimension (use from_tensors for a single element)")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) > 1:
            desc = ", ".join(f"{_component_name(structure, k)}: {n}" for k, n in enumerate(sizes))
            raise ValueError(f"from_tensor_slices: all components must have the same size in their first "
                             f"dimension, got sizes {desc}")
        self._arrays = tuple(arrays)
        self._n = sizes[0]
        self._spec = S.pack_as(structure, [TensorSpec(a.shape[1:], a.dtype) for a in arrays])

    def _cardinality(self) -> int:
        return self._n

    def _plan(self):
        return self._arrays, lambda: _index_chunks(self._n)

    def _iter_flat(self):
        return iter_rows(self._arrays, _index_chunks(self._n))


class TensorDataset(TensorSliceDataset):
    """A single element (``from_tensors``)."""

    def __init__(self, tensors):
        structure = S.normalize(tensors)
        arrays = [S._as_array(leaf) for leaf in S.flatten(structure)]
        super().__init__(S.pack_as(structure, [a[None] for a in arrays]))


def flatten_plan_chunks(chunks):
    """Index chunks -> one int per index (for the per-element algorithms like shuffle)."""
    return itertools.chain.from_iterable(c.tolist() for c in chunks)


def chunk_ints(ints, size: int = _CHUNK):
    """Ints -> int64 chunk arrays."""
    while True:
        block = np.fromiter(itertools.islice(ints, size), dtype=np.int64)
        if block.size == 0:
            return
        yield block
