"""``keras.utils.PyDataset`` (and tf.keras 2's ``Sequence``): a dataset as batches you index.

``fit`` reads ``len(ds)`` batches per epoch as ``ds[i]`` (each ``x``, ``(x, y)`` or
``(x, y, sample_weight)``), then calls ``ds.on_epoch_end()``.
"""
from __future__ import annotations


class PyDataset:
    """Base class for batch-indexed datasets: define ``__len__`` (batches per epoch) and
    ``__getitem__(index)`` (one batch); optionally ``on_epoch_end``.

    >>> import numpy as np
    >>> from tapeflow import keras
    >>> class Squares(keras.utils.PyDataset):
    ...     def __init__(self, n, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x = np.arange(n, dtype="float32")[:, None]
    ...         self.batch_size = batch_size
    ...     def __len__(self):
    ...         return int(np.ceil(len(self.x) / self.batch_size))
    ...     def __getitem__(self, i):
    ...         xb = self.x[i * self.batch_size:(i + 1) * self.batch_size]
    ...         return xb, xb ** 2
    >>> len(Squares(10, 4)), Squares(10, 4)[2][0].shape
    (3, (2, 1))
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning one batch")

    def __len__(self):
        n = self.num_batches
        if n is None:
            raise NotImplementedError(f"{type(self).__name__} must define __len__() (the number of batches)")
        return n

    @property
    def num_batches(self):
        if type(self).__len__ is not PyDataset.__len__:
            return len(self)
        return None

    def on_epoch_begin(self):
        """Called before each epoch (Keras 3); a no-op here."""

    def on_epoch_end(self):
        """Called after each epoch: shuffle here if you want a new order."""

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


Sequence = PyDataset
