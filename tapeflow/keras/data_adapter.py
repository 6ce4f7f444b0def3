"""DataAdapter -> EpochIterator: how fit/evaluate/predict turn user data into batches.

* ``ArrayDataAdapter``: NumPy arrays / Tensors / nested lists and dicts of them. Float
  arrays become float32 once, up front; each epoch draws one permutation and slices it.
* ``IterableDataAdapter``: ``tapeflow.data.Dataset`` (or anything re-iterable yielding
  batches), one-shot generators, and ``keras.utils.PyDataset``/``Sequence`` objects.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autodiff.tensor import Tensor
from ..backend import rng
from .utils import tree
from .utils.data_utils import unpack_x_y_sample_weight


def _as_array(a, what: str):
    if a is None:
        return None
    if isinstance(a, Tensor):
        a = a._value
    if not isinstance(a, np.ndarray):
        try:
            a = np.asarray(a)
        except Exception as e:  # noqa: BLE001 - report what the user passed
            raise TypeError(f"{what}: expected an array-like, got {type(a).__name__}") from e
    if a.dtype == np.float64 or a.dtype == np.float16:
        a = a.astype(np.float32)
    if a.dtype == object:
        raise TypeError(f"{what}: could not convert to a numeric array (dtype object); check for ragged rows")
    return a


def _check_finite(a: np.ndarray, what: str) -> None:
    if a.dtype.kind == "f" and a.size and not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1))[0, 0] if a.ndim else 0
        raise ValueError(
            f"{what} contains NaN or Inf (first at sample {bad}); clean or impute the data before training, "
            "e.g. np.nan_to_num(x) or drop those rows")


class ArrayDataAdapter:
    """Batches from in-memory arrays (nested structures allowed)."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None,
                 check_finite=False, what="fit"):
        self.x = tree.map_structure(lambda a: _as_array(a, f"{what}: x"), x)
        self.y = None if y is None else tree.map_structure(lambda a: _as_array(a, f"{what}: y"), y)
        self.sw = None if sample_weight is None else _as_array(sample_weight, f"{what}: sample_weight")
        sizes = {("x", a.shape[0] if a.ndim else 1) for a in tree.flatten(self.x)}
        if self.y is not None:
            sizes |= {("y", a.shape[0] if a.ndim else 1) for a in tree.flatten(self.y)}
        if self.sw is not None:
            sizes.add(("sample_weight", self.sw.shape[0]))
        counts = {n for _, n in sizes}
        if len(counts) > 1:
            desc = ", ".join(f"{k} has {n}" for k, n in sorted(sizes))
            raise ValueError(f"{what}: x, y and sample_weight must have the same number of samples; {desc}")
        self.n = counts.pop() if counts else 0
        if self.n == 0:
            raise ValueError(f"{what}: the input data is empty (0 samples); pass at least one sample")
        if check_finite:
            for a in tree.flatten(self.x):
                _check_finite(a, f"{what}: x")
        self.batch_size = int(batch_size or 32)
        if self.batch_size <= 0:
            raise ValueError(f"{what}: batch_size must be a positive integer, got {batch_size}")
        self.shuffle = shuffle
        self.steps = steps

    def num_batches(self) -> int:
        n = math.ceil(self.n / self.batch_size)
        return n if self.steps is None else min(n, int(self.steps))

    def epoch(self):
        """Yield ``(x, y, sample_weight)`` batches for one epoch."""
        n, bs = self.n, self.batch_size
        if self.shuffle == "batch":
            order = rng.generator().permutation(math.ceil(n / bs))
            starts = order * bs
        else:
            starts = np.arange(0, n, bs)
        perm = rng.generator().permutation(n) if self.shuffle is True else None
        if perm is not None and self._small():
            x = tree.map_structure(lambda a: a[perm], self.x)
            y = None if self.y is None else tree.map_structure(lambda a: a[perm], self.y)
            sw = None if self.sw is None else self.sw[perm]
            perm = None
        else:
            x, y, sw = self.x, self.y, self.sw
        single = isinstance(x, np.ndarray) and (y is None or isinstance(y, np.ndarray))
        for k, s in enumerate(starts):
            if self.steps is not None and k >= self.steps:
                return
            sl = slice(int(s), int(s) + bs) if perm is None else perm[int(s):int(s) + bs]
            if single:
                yield _pack(x[sl], None if y is None else y[sl], None if sw is None else sw[sl])
            else:
                yield _pack(tree.map_structure(lambda a: a[sl], x),
                            None if y is None else tree.map_structure(lambda a: a[sl], y),
                            None if sw is None else sw[sl])

    def _small(self) -> bool:
        return sum(a.nbytes for a in tree.flatten(self.x)) < (1 << 30)


class IterableDataAdapter:
    """Batches from a Dataset, an iterable, a generator or a PyDataset/Sequence."""

    def __init__(self, data, steps=None, what="fit"):
        self.data = data
        self.steps = None if steps is None else int(steps)
        self.what = what
        self._iterator = None
        self._is_sequence = (hasattr(data, "__getitem__") and hasattr(data, "__len__")
                             and not hasattr(type(data), "element_spec"))
        self._one_shot = iter(data) is data if hasattr(data, "__iter__") and not self._is_sequence else False
        self.exhausted = False

    def num_batches(self):
        if self.steps is not None:
            return self.steps
        if self._is_sequence:
            return len(self.data)
        card = getattr(self.data, "cardinality", None)
        if card is not None:
            try:
                c = int(card() if callable(card) else card)
                if c >= 0:
                    return c
            except (TypeError, ValueError):
                return None
        try:
            return len(self.data) if not self._one_shot else None
        except TypeError:
            return None

    def _source(self):
        if self._is_sequence:
            return (self.data[i] for i in range(len(self.data)))
        if self._one_shot:
            return self.data
        if self.steps is not None:  # keep one iterator across epochs, as tf.data with steps_per_epoch
            if self._iterator is None:
                self._iterator = iter(self.data)
            return self._iterator
        return iter(self.data)

    def epoch(self):
        it = self._source()
        k = 0
        while self.steps is None or k < self.steps:
            try:
                batch = next(it)
            except StopIteration:
                if self.steps is not None and k < self.steps:
                    if self._one_shot or self._iterator is not None:
                        self.exhausted = True
                        warnings.warn(
                            f"{self.what}: your input ran out of data after {k} of {self.steps} steps; "
                            "make sure the dataset or generator can produce steps_per_epoch * epochs batches "
                            "(e.g. use .repeat())", stacklevel=3)
                    if self._iterator is not None:
                        self._iterator = iter(self.data) if not self._one_shot else None
                break
            k += 1
            x, y, sw = unpack_x_y_sample_weight(batch)
            yield _pack(tree.map_structure(lambda a: _as_array(a, f"{self.what}: x"), x),
                        None if y is None else tree.map_structure(lambda a: _as_array(a, f"{self.what}: y"), y),
                        None if sw is None else _as_array(sw, f"{self.what}: sample_weight"))
        if self._is_sequence and hasattr(self.data, "on_epoch_end"):
            self.data.on_epoch_end()


def _pack(x, y, sw):
    """Batches reach train_step as Keras packs them: (x,), (x, y) or (x, y, sample_weight)."""
    if sw is not None:
        return (x, y, sw)
    return (x,) if y is None else (x, y)


def get_adapter(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None,
                check_finite=False, what="fit"):
    """Pick the adapter for ``x``; errors name the argument that does not fit."""
    if x is None:
        raise ValueError(f"{what}: x is None; pass training data (arrays, a Dataset or a generator)")
    is_iterable_source = (hasattr(type(x), "element_spec") or hasattr(x, "__next__") or
                          (hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end")) or
                          (hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, list, tuple, dict, Tensor))))
    if is_iterable_source:
        if y is not None:
            raise ValueError(f"{what}: y must not be given when x is a dataset or generator "
                             "(the dataset should yield (x, y) pairs)")
        if sample_weight is not None:
            raise ValueError(f"{what}: sample_weight must not be given when x is a dataset or generator; "
                             "yield (x, y, sample_weight) from it instead")
        return IterableDataAdapter(x, steps=steps, what=what)
    return ArrayDataAdapter(x, y, sample_weight, batch_size=batch_size or 32, shuffle=shuffle, steps=steps,
                            check_finite=check_finite, what=what)


def train_validation_split(arrays, validation_split: float):
    """Split the last ``validation_split`` fraction off, before any shuffling (as Keras)."""
    if not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
    flat = [a for a in tree.flatten(arrays) if a is not None]
    n = _as_array(flat[0], "x").shape[0]
    cut = int(math.floor(n * (1.0 - validation_split)))
    if cut == 0 or cut == n:
        raise ValueError(f"validation_split={validation_split} leaves an empty training or validation set "
                         f"for {n} samples")

    def split(a, part):
        if a is None:
            return None
        a = _as_array(a, "x")
        return a[:cut] if part == 0 else a[cut:]

    return (tree.map_structure(lambda a: split(a, 0), arrays), tree.map_structure(lambda a: split(a, 1), arrays))
