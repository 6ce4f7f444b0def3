"""``tf.data.TFRecordDataset``: the records of TFRecord files as scalar string tensors (bytes), CRCs checked.

>>> import os, tempfile, tapeflow as tf
>>> path = os.path.join(tempfile.mkdtemp(), "r.tfrecord")
>>> with tf.io.TFRecordWriter(path) as w:
...     for r in [b"a", b"bc"]:
...         w.write(r)
>>> [r.numpy() for r in tf.data.TFRecordDataset(path)]
[b'a', b'bc']
"""
from __future__ import annotations

import itertools
import os

import numpy as np

from .. import backend as B
from ..io_records import _compression_name, tf_record_iterator
from ._structure import TensorSpec
from .dataset import UNKNOWN_CARDINALITY, Dataset

__all__ = ["TFRecordDataset"]


def _filenames(filenames) -> list:
    if isinstance(filenames, Dataset):
        return [a.item() if a.ndim == 0 else a for (a,) in filenames._iter_flat()]
    if hasattr(filenames, "numpy"):
        filenames = filenames.numpy()
    if isinstance(filenames, np.ndarray):
        filenames = filenames.reshape(-1).tolist()
    if isinstance(filenames, (str, bytes, os.PathLike)):
        filenames = [filenames]
    out = []
    for f in filenames:
        f = f.decode() if isinstance(f, bytes) else os.fspath(f)
        out.append(f)
    if not out:
        raise ValueError("TFRecordDataset: `filenames` is empty; pass at least one file name")
    return out


class TFRecordDataset(Dataset):
    """``tf.data.TFRecordDataset(filenames, compression_type=None, buffer_size=None, num_parallel_reads=None)``.

    ``filenames``: a name, a list of names, a string tensor or a dataset of names. ``compression_type``:
    None/"" , "ZLIB" or "GZIP". With ``num_parallel_reads`` > 1 the files are read in turn, one record from each,
    as TensorFlow's deterministic interleave does (cycle length ``num_parallel_reads``, block length 1).
    """

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None, name=None):
        self._files = _filenames(filenames)
        self._compression = _compression_name(compression_type)
        self._buffer_size = buffer_size
        self._parallel = int(num_parallel_reads) if num_parallel_reads and num_parallel_reads > 1 else 1
        self._spec = TensorSpec((), B.string)

    def _cardinality(self) -> int:
        return UNKNOWN_CARDINALITY

    def _records(self, path):
        return tf_record_iterator(path, self._compression, self._buffer_size)

    def _iter_flat(self):
        if self._parallel == 1:
            for path in self._files:
                for r in self._records(path):
                    yield (np.array(r, dtype=object),)
            return
        pending, active = iter(self._files), []
        for path in itertools.islice(pending, self._parallel):
            active.append(self._records(path))
        while active:
            nxt = []
            for it in active:
                r = next(it, None)
                if r is None:
                    path = next(pending, None)
                    if path is not None:
                        nxt.append(self._records(path))
                    continue
                yield (np.array(r, dtype=object),)
                nxt.append(it)
            active = nxt
