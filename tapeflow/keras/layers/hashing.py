"""``Hashing``: bucket strings or integers by hash, as ``keras.layers.Hashing``; ``HashedCrossing``: bucket
combinations of several categorical features (feature crosses) by hash.

A value is turned into a string (floats are first truncated to integers, integers are written in
decimal, as ``tf.as_string``), hashed with FarmHash Fingerprint64 (``tf.strings.to_hash_bucket_fast``)
or, with ``salt``, with SipHash-2-4 under the key ``(salt, salt)`` or ``salt`` itself
(``to_hash_bucket_strong``), and taken modulo the number of bins (``tapeflow/backend/hashing.py``: bit
for bit TensorFlow's). With ``mask_value``, bin 0 is that value's and the others share the rest.
``output_mode`` ``one_hot``/``multi_hot``/``count`` encodes the bins as ``CategoryEncoding`` does.

>>> import numpy as np, tapeflow as tf
>>> tf.keras.layers.Hashing(num_bins=5)(np.array(["a", "b", "c", "abc"])).numpy().tolist()
[4, 2, 2, 0]
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ...backend.hashing import SPARSE_CROSS_HASH_KEY, fingerprint64, fingerprint_cat64, siphash24
from .base import Layer
from .lookup import CategoryEncoding, _array

__all__ = ["Hashing", "HashedCrossing"]


def _as_strings(arr: np.ndarray, encoding="utf-8") -> list:
    if arr.dtype.kind == "f":
        arr = arr.astype(np.int64)
    if arr.dtype.kind in "iub":
        return [str(int(v)).encode() for v in arr.reshape(-1).tolist()]
    return [v if isinstance(v, bytes) else str(v).encode(encoding) for v in arr.reshape(-1).tolist()]


def hash_buckets(values, num_buckets: int, salt=None) -> np.ndarray:
    """int64 bucket of each value (strings or numbers), as ``tf.strings.to_hash_bucket_fast`` (no salt) or
    ``to_hash_bucket_strong`` (``salt``: an int or a pair of ints)."""
    arr = np.asarray(values)
    uniq, inverse = np.unique(arr.reshape(-1), return_inverse=True)     # hash each distinct value once
    if salt is None:
        hashed = [fingerprint64(s) % num_buckets for s in _as_strings(uniq)]
    else:
        k0, k1 = (salt, salt) if np.ndim(salt) == 0 else tuple(salt)
        hashed = [siphash24(int(k0), int(k1), s) % num_buckets for s in _as_strings(uniq)]
    return np.array(hashed, dtype=np.int64)[inverse].reshape(arr.shape)


class Hashing(Layer):
    """Hash values into ``num_bins`` bins (see the module docstring)."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        kwargs.pop("dtype", None)                  # Keras stores int64 here; the outputs say what they are
        super().__init__(**kwargs)
        who = f"Hashing '{self.name}'"
        if num_bins is None or int(num_bins) < 1:
            raise ValueError(f"{who}: num_bins must be a positive integer, got {num_bins!r}")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"{who}: output_mode must be 'int', 'one_hot', 'multi_hot' or 'count', got "
                             f"{output_mode!r}")
        if sparse:
            raise ValueError(f"{who}: sparse=True is not supported (tapeflow has no sparse tensors)")
        if salt is not None and not (np.ndim(salt) == 0 or len(salt) == 2):
            raise ValueError(f"{who}: salt must be an integer or a pair of integers, got {salt!r}")
        self.num_bins, self.mask_value, self.output_mode, self.sparse = int(num_bins), mask_value, output_mode, False
        self.salt = None if salt is None else (int(salt) if np.ndim(salt) == 0 else [int(s) for s in salt])

    def _bins(self, arr: np.ndarray) -> np.ndarray:
        if self.mask_value is None or self.num_bins == 1:
            return hash_buckets(arr, self.num_bins, self.salt)
        masked = arr == np.asarray(self.mask_value, dtype=arr.dtype) if arr.dtype.kind in "iufb" else \
            np.array([str(v) == str(self.mask_value) for v in arr.reshape(-1).tolist()]).reshape(arr.shape)
        return np.where(masked, 0, hash_buckets(arr, self.num_bins - 1, self.salt) + 1)

    def call(self, inputs):
        arr = _array(inputs)
        if self.output_mode == "one_hot" and arr.ndim > 1 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        bins = self._bins(arr)
        if self.output_mode == "int":
            return Tensor._wrap(bins)
        return CategoryEncoding(self.num_bins, output_mode=self.output_mode)(bins)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return CategoryEncoding(self.num_bins, output_mode=self.output_mode).compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                       "output_mode": self.output_mode, "sparse": False})
        return config


class HashedCrossing(Layer):
    """Cross categorical features by hashing, as ``keras.layers.HashedCrossing`` (``tf.sparse.cross_hashed``, bit for
    bit): for each example, the fingerprints of its features (an integer is its own 64-bit value, a string its
    FarmHash Fingerprint64) are chained with TensorFlow's ``FingerprintCat64`` from the key ``0xDECAFCAFFE``, and the
    result is taken modulo ``num_bins``. Call it on a tuple of at least two integer or string features of one shape,
    ``()``, ``(batch,)`` or ``(batch, 1)``; ``output_mode="one_hot"`` encodes the bins.

    >>> import numpy as np, tapeflow as tf
    >>> cross = tf.keras.layers.HashedCrossing(num_bins=10)
    >>> cross((np.array(["a", "b", "cat", ""]), np.array([1, 2, 3, -4]))).numpy().tolist()
    [5, 7, 4, 1]
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        super().__init__(name=name, **kwargs)
        who = f"HashedCrossing '{self.name}'"
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
            raise ValueError(f"{who}: num_bins must be a positive integer, got {num_bins!r}")
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"{who}: output_mode must be 'int' or 'one_hot', got {output_mode!r}")
        if sparse:
            raise ValueError(f"{who}: sparse=True is not supported (tapeflow has no sparse tensors)")
        self.num_bins, self.output_mode, self.sparse = int(num_bins), output_mode, False

    def _features(self, inputs) -> list:
        who = f"HashedCrossing '{self.name}'"
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{who}: call it on a list or tuple of at least two features, got {inputs!r}")
        arrays = [_array(x) for x in inputs]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(f"{who}: every feature must have shape (), (batch,) or (batch, 1), got {shape}")
        if any(a.shape != shape for a in arrays):
            raise ValueError(f"{who}: the features must have one shape, got {[a.shape for a in arrays]}")
        for a in arrays:
            if a.dtype.kind not in "iuOSU":
                raise ValueError(f"{who}: features must be integers or strings, got dtype {a.dtype}; "
                                 "bucket floats first (Discretization)")
        return arrays

    def call(self, inputs):
        arrays = self._features(inputs)
        shape = arrays[0].shape
        columns = []
        for a in arrays:
            flat = a.reshape(-1)
            if a.dtype.kind in "iu":
                columns.append([int(v) & 0xFFFFFFFFFFFFFFFF for v in flat.astype(np.int64).tolist()])
            else:
                columns.append([fingerprint64(s) for s in _as_strings(flat)])
        bins = []
        for row in zip(*columns):
            h = SPARSE_CROSS_HASH_KEY
            for fp in row:
                h = fingerprint_cat64(h, fp)
            bins.append(h % self.num_bins)
        out = np.array(bins, dtype=np.int64).reshape(shape)
        if self.output_mode == "int":
            return Tensor._wrap(out)
        if out.ndim == 2:
            out = out[:, 0]
        return Tensor._wrap(np.eye(self.num_bins, dtype=np.float32)[out])

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[0])
        if self.output_mode == "int":
            return shape
        return (shape[:-1] if shape and shape[-1] == 1 else shape) + (self.num_bins,)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": False, "name": self.name,
                "dtype": "int64" if self.output_mode == "int" else "float32"}
