"""``tf.data``: lazy, re-iterable input pipelines.

>>> import numpy as np, tapeflow as tf
>>> x, y = np.arange(10, dtype=np.uint8).reshape(10, 1), np.arange(10)
>>> ds = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10, seed=42)
...       .map(lambda a, b: (tf.cast(a, tf.float32) / 255.0, b), num_parallel_calls=tf.data.AUTOTUNE)
...       .batch(4).prefetch(tf.data.AUTOTUNE))
>>> [b.shape.as_list() for _, b in ds]
[[4], [4], [2]]
"""
from __future__ import annotations

import types as _types

from ._structure import TensorSpec
from .dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, DatasetIterator
from .pipeline import Options
from .text_line import FixedLengthRecordDataset, TextLineDataset
from .tfrecord import TFRecordDataset

Iterator = DatasetIterator


def _cardinality(dataset: Dataset):
    """``tf.data.experimental.cardinality(ds)``: the same as ``ds.cardinality()``."""
    return dataset.cardinality()


def _assert_cardinality(expected_cardinality):
    """``tf.data.experimental.assert_cardinality(n)``: a transformation checking the count up front."""
    def apply(dataset: Dataset) -> Dataset:
        n = dataset._cardinality()
        if n >= 0 and n != int(expected_cardinality):
            raise ValueError(f"assert_cardinality: the dataset has {n} elements, expected {int(expected_cardinality)}")
        return dataset
    return apply


experimental = _types.SimpleNamespace(
    AUTOTUNE=AUTOTUNE, INFINITE_CARDINALITY=INFINITE_CARDINALITY, UNKNOWN_CARDINALITY=UNKNOWN_CARDINALITY,
    cardinality=_cardinality, assert_cardinality=_assert_cardinality)

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset", "Iterator", "Options",
           "TensorSpec", "TFRecordDataset", "TextLineDataset", "FixedLengthRecordDataset",
           "experimental"]
