"""The batches a preprocessing layer's ``adapt(data, batch_size, steps)`` reads, as Keras takes them."""
from __future__ import annotations

import itertools

import numpy as np

from ...autodiff.tensor import Tensor


def adapt_batches(data, batch_size=None, steps=None, iterables=False):
    """A Dataset gives its batches (the features of ``(x, y)`` pairs), at most ``steps`` of them; with
    ``iterables``, so does any other iterable that is not an array (a list of batches, a generator).
    Anything else is one array, cut into ``batch_size`` rows at a time when that is given.

    >>> [b.tolist() for b in adapt_batches([1, 2, 3], batch_size=2)]
    [[1, 2], [3]]
    """
    from ...data import Dataset
    if isinstance(data, Dataset) or (iterables and hasattr(data, "__iter__")
                                     and not isinstance(data, (np.ndarray, Tensor, str))):
        batches = (b[0] if isinstance(b, tuple) else b for b in data)
        return itertools.islice(batches, int(steps)) if steps is not None else batches
    if batch_size is None:
        return [data]
    arr = np.asarray(data._value if isinstance(data, Tensor) else data)
    size = max(1, int(batch_size))
    return (arr[i:i + size] for i in range(0, len(arr), size))
