"""``tf.lookup.experimental``: the mutable tables, ``MutableHashTable`` and ``DenseHashTable``.

``MutableHashTable`` is a dict with TensorFlow's dtypes, shapes and checks (scalar or tensor values).
``DenseHashTable`` is TensorFlow's open-addressing table reproduced step for step: power-of-two buckets, quadratic
probing from ``hash(key) & (num_buckets - 1)``, ``empty_key`` / ``deleted_key`` markers, doubling when the
load would pass 0.8, and the same hashes (an integer is its own hash, a string TensorFlow's MurmurHash-style
``Hash64`` with seed 0xDECAFCAFFE), so ``export()`` returns TF's bucket arrays bit for bit.

>>> import tapeflow as tf
>>> table = tf.lookup.experimental.MutableHashTable(tf.string, tf.int64, default_value=-1)
>>> table.insert(["a", "b", "c"], tf.constant([7, 8, 9], tf.int64))
>>> table.remove(["c"])
>>> table.lookup(["a", "c"]).numpy().tolist(), int(table.size())
([7, -1], 2)
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor
from .errors import InternalError, InvalidArgumentError
from .lookup import as_table_dtype, canon_keys, check_pair, out_array, to_array, to_text, value_of, wrap

__all__ = ["MutableHashTable", "DenseHashTable"]

MASK = (1 << 64) - 1
_S, _I32, _I64, _F32, _F64, _B = "string", "int32", "int64", "float32", "float64", "bool"
# (key, value) dtype pairs of TF's MutableHashTable(OfTensors)V2 and MutableDenseHashTableV2 CPU kernels
MUTABLE_PAIRS = frozenset({(_I32, _F64), (_I32, _F32), (_I32, _I32), (_I64, _F64), (_I64, _F32), (_I64, _I32),
                           (_I64, _I64), (_I64, _S), (_S, _B), (_S, _F64), (_S, _F32), (_S, _I32), (_S, _I64)})
DENSE_PAIRS = frozenset({(_I32, _F64), (_I32, _F32), (_I32, _I32), (_I64, _B), (_I64, _F64), (_I64, _F32),
                         (_I64, _I32), (_I64, _I64), (_S, _B), (_S, _F64), (_S, _F32), (_S, _I32), (_S, _I64)})


def hash64(data: bytes, seed: int = 0xDECAFCAFFE) -> int:
    """TensorFlow's ``Hash64`` (a MurmurHash2-64A variant) of ``data``, the hash of a string key.

    >>> hash64(b"") == hash64(b"", 0xDECAFCAFFE)
    True
    """
    m, n = 0xC6A4A7935BD1E995, len(data)
    h = (seed ^ (n * m)) & MASK
    full = n - n % 8
    for i in range(0, full, 8):
        k = (int.from_bytes(data[i:i + 8], "little") * m) & MASK
        k = ((k ^ (k >> 47)) * m) & MASK
        h = ((h ^ k) * m) & MASK
    if n % 8:
        h = ((h ^ int.from_bytes(data[full:], "little")) * m) & MASK
    h = ((h ^ (h >> 47)) * m) & MASK
    return h ^ (h >> 47)


def hash64_combine(a: int, b: int) -> int:
    """TensorFlow's ``Hash64Combine``, which chains the hashes of a vector key's elements."""
    return (a ^ ((b + 0x9E3779B97F4A7800 + (a << 10) + (a >> 4)) & MASK)) & MASK


class _Mutable:
    key_dtype = property(lambda self: self._key_dtype, doc="The dtype of the keys.")
    value_dtype = property(lambda self: self._value_dtype, doc="The dtype of the values.")
    name = property(lambda self: None, doc="None, as a TF table built eagerly.")
    resource_handle = property(lambda self: None, doc="None: tapeflow tables are plain Python objects.")

    def _setup(self, key_dtype, value_dtype, default_value, pairs, what):
        self._key_dtype, self._value_dtype = as_table_dtype(key_dtype, what), as_table_dtype(value_dtype, what)
        check_pair(self._key_dtype, self._value_dtype, pairs, what)
        self._default = to_array(default_value, self._value_dtype, f"{what}: default_value", ValueError)
        self._value_shape = self._default.shape

    @property
    def default_value(self) -> Tensor:
        """The value of a missing key."""
        return wrap(out_array(self._default.reshape(-1).tolist(), self._value_dtype, self._value_shape))

    def __getitem__(self, keys):
        return self.lookup(keys)


class MutableHashTable(_Mutable):
    """A mutable table from scalar keys to values shaped like ``default_value`` (a scalar or a tensor).
    ``insert`` overwrites (the last of repeated keys wins), ``remove`` ignores missing keys, ``lookup`` gives
    ``keys.shape + value_shape``.

    >>> import tapeflow as tf
    >>> t = tf.lookup.experimental.MutableHashTable(tf.int64, tf.float32, default_value=[0.0, 0.0])
    >>> t.insert([1, 2], [[1.0, 2.0], [3.0, 4.0]])
    >>> t.lookup([2, 5]).numpy().tolist()
    [[3.0, 4.0], [0.0, 0.0]]
    """

    def __init__(self, key_dtype, value_dtype, default_value, name="MutableHashTable", checkpoint=True,
                 experimental_is_anonymous=False):
        self._setup(key_dtype, value_dtype, default_value, MUTABLE_PAIRS, "MutableHashTable")
        self._table: dict = {}
        self._table_name, self._checkpoint = name, checkpoint

    def size(self, name=None) -> Tensor:
        """The number of entries (int64 scalar)."""
        return wrap(np.int64(len(self._table)))

    def _rows(self, values: np.ndarray, n: int) -> list:
        flat = values.reshape((n,) + self._value_shape)
        if self._value_shape == ():
            return [value_of(v, self._value_dtype) for v in flat.tolist()]
        return [row.copy() for row in flat]

    def insert(self, keys, values, name=None) -> None:
        """Associate ``keys`` with ``values`` (shape ``keys.shape + value_shape``)."""
        k = to_array(keys, self._key_dtype, "MutableHashTable.insert: keys", ValueError)
        v = to_array(values, self._value_dtype, "MutableHashTable.insert: values", ValueError)
        want = k.shape + self._value_shape
        if v.shape != want:
            raise InvalidArgumentError(None, None, f"MutableHashTable.insert: expected shape {list(want)} for "
                                                   f"values (keys.shape + the default value's shape), got "
                                                   f"{list(v.shape)}")
        self._table.update(zip(canon_keys(k), self._rows(v, k.size)))

    def remove(self, keys, name=None) -> None:
        """Remove ``keys`` (missing keys are ignored)."""
        k = to_array(keys, self._key_dtype, "MutableHashTable.remove: keys")
        for key in canon_keys(k):
            self._table.pop(key, None)

    def lookup(self, keys, dynamic_default_values=None, name=None) -> Tensor:
        """The values of ``keys``; a missing key gets ``default_value``, or its entry of
        ``dynamic_default_values`` when that has the result's shape (the default's shape: shared)."""
        k = to_array(keys, self._key_dtype, "MutableHashTable.lookup: keys", ValueError)
        out_shape = k.shape + self._value_shape
        d = self._default if dynamic_default_values is None else to_array(
            dynamic_default_values, self._value_dtype, "MutableHashTable.lookup: dynamic_default_values")
        if d.shape not in (self._value_shape, out_shape):
            raise InvalidArgumentError(None, None, f"MutableHashTable.lookup: expected shape "
                                                   f"{list(self._value_shape)} or {list(out_shape)} for the "
                                                   f"default value, got {list(d.shape)}")
        n = k.size
        defaults = self._rows(d if d.shape == out_shape else np.broadcast_to(d, out_shape), n)
        get = self._table.get
        found = [get(key, dflt) for key, dflt in zip(canon_keys(k), defaults)]
        if self._value_shape == ():
            return wrap(out_array(found, self._value_dtype, out_shape))
        if not found:
            return wrap(np.zeros(out_shape, self._value_dtype if self._value_dtype.kind != "O" else str))
        stacked = np.stack([np.asarray(f) for f in found])
        return wrap(out_array(stacked.reshape(-1).tolist(), self._value_dtype, out_shape))

    def export(self, name=None) -> tuple:
        """(keys, values): every entry, in insertion order."""
        n = len(self._table)
        keys = out_array(list(self._table), self._key_dtype, (n,))
        vals = list(self._table.values())
        if self._value_shape == ():
            return wrap(keys), wrap(out_array(vals, self._value_dtype, (n,)))
        flat = np.stack([np.asarray(v) for v in vals]).reshape(-1).tolist() if vals else []
        return wrap(keys), wrap(out_array(flat, self._value_dtype, (n,) + self._value_shape))


class DenseHashTable(_Mutable):
    """TensorFlow's open-addressing table: ``empty_key`` and ``deleted_key`` (scalars, or vectors for vector
    keys) mark free and freed buckets and may never be inserted, looked up or removed; ``initial_num_buckets``
    (default 2**17) must be a power of two >= 4. ``export()`` returns the bucket arrays,
    ``(num_buckets, key_size)`` and ``(num_buckets, value_size)``.

    >>> import tapeflow as tf
    >>> t = tf.lookup.experimental.DenseHashTable(tf.int64, tf.int64, default_value=-1, empty_key=-1,
    ...                                           deleted_key=-2, initial_num_buckets=8)
    >>> t.insert([1, 2, 3], [10, 20, 30])
    >>> t.remove(tf.constant([2], tf.int64))
    >>> t.lookup([1, 2, 3]).numpy().tolist(), t.export()[0].numpy().ravel().tolist()
    ([10, -1, 30], [-1, 1, -2, 3, -1, -1, -1, -1])
    """

    def __init__(self, key_dtype, value_dtype, default_value, empty_key, deleted_key, initial_num_buckets=None,
                 name="MutableDenseHashTable", checkpoint=True, experimental_is_anonymous=False):
        what = "DenseHashTable"
        self._setup(key_dtype, value_dtype, default_value, DENSE_PAIRS, what)
        if len(self._value_shape) > 1:
            raise InvalidArgumentError(None, None, f"{what}: default_value must be a scalar or a vector, got shape "
                                                   f"{list(self._value_shape)}")
        empty = to_array(empty_key, self._key_dtype, f"{what}: empty_key", ValueError)
        deleted = to_array(deleted_key, self._key_dtype, f"{what}: deleted_key", ValueError)
        if empty.ndim > 1 or deleted.shape != empty.shape:
            raise InvalidArgumentError(None, None, f"{what}: empty_key and deleted_key must be scalars or vectors of "
                                                   f"one shape, got {list(empty.shape)} and {list(deleted.shape)}")
        self._key_shape = empty.shape
        self._key_size = int(np.prod(self._key_shape, dtype=np.int64))
        self._value_size = int(np.prod(self._value_shape, dtype=np.int64))
        self._empty, self._deleted = tuple(canon_keys(empty)), tuple(canon_keys(deleted))
        if self._empty == self._deleted:
            raise InvalidArgumentError(None, None, f"{what}: empty_key and deleted_key cannot be equal "
                                                   f"(both {to_text(self._empty[0])})")
        self._table_name, self._checkpoint = name, checkpoint
        self._allocate(131072 if initial_num_buckets is None else int(initial_num_buckets))

    def _allocate(self, n: int) -> None:
        if n < 4 or n & (n - 1):
            raise InvalidArgumentError(None, None, f"DenseHashTable: the number of buckets must be at least 4 and a "
                                                   f"power of 2, got {n}")
        self._num_buckets, self._num_entries = n, 0
        self._keys = [self._empty] * n
        zero = b"" if self._value_dtype.kind == "O" else np.zeros((), self._value_dtype).item()
        self._values = [(zero,) * self._value_size] * n

    def _hash(self, key: tuple) -> int:
        if self._key_dtype.kind == "O":
            hashes = [hash64(k) for k in key]
        else:
            hashes = [k & MASK for k in key]
        if len(hashes) == 1:
            return hashes[0]
        h = 0
        for x in hashes:
            h = hash64_combine(h, x)
        return h

    def _batch(self, keys, what: str, exc=ValueError) -> tuple:
        k = to_array(keys, self._key_dtype, f"DenseHashTable.{what}: keys", exc)
        n = 1 if k.ndim == 0 else k.shape[0]
        if k.size != n * self._key_size:
            raise InvalidArgumentError(None, None, f"DenseHashTable.{what}: expected key shape "
                                                   f"{[n] + list(self._key_shape)}, got {list(k.shape)}")
        flat = canon_keys(k)
        s = self._key_size
        return k, [tuple(flat[i * s:(i + 1) * s]) for i in range(n)]

    def _check_key(self, key: tuple, what: str) -> None:
        for marker, word in ((self._empty, "empty_key"), (self._deleted, "deleted_key")):
            if key == marker:
                raise InvalidArgumentError(None, None, f"DenseHashTable.{what}: using the {word} "
                                                       f"({to_text(key[0])}) as a table key is not allowed")

    def _probe(self, key: tuple, insert: bool) -> int:
        """The bucket holding ``key`` or, when it is absent, the first free one (``insert``: empty or deleted,
        else: empty), as TF's loop."""
        keys, mask = self._keys, self._num_buckets - 1
        index, probes = self._hash(key) & mask, 0
        while True:
            found = keys[index]
            if found == key or found == self._empty or (insert and found == self._deleted):
                return index
            probes += 1
            index = (index + probes) & mask                  # quadratic probing
            if probes >= self._num_buckets:
                raise InternalError(None, None, "DenseHashTable: internal error, the table is full")

    def _do_insert(self, pairs, skip_markers: bool) -> None:
        for key, value in pairs:
            if key == self._empty or key == self._deleted:
                if skip_markers:
                    continue
                self._check_key(key, "insert")
            index = self._probe(key, insert=True)
            if self._keys[index] != key:
                self._num_entries += 1
                self._keys[index] = key
            self._values[index] = value

    def insert(self, keys, values, name=None) -> None:
        """Associate ``keys`` with ``values`` (one row of ``value_shape`` per key), growing the table first when
        the entries plus the new keys would pass 0.8 of the buckets."""
        k, batch = self._batch(keys, "insert")
        v = to_array(values, self._value_dtype, "DenseHashTable.insert: values", ValueError)
        want = k.shape[:k.ndim - len(self._key_shape)] + self._value_shape
        if v.shape != want:
            raise InvalidArgumentError(None, None, f"DenseHashTable.insert: expected shape {list(want)} for values, "
                                                   f"got {list(v.shape)}")
        rows = [value_of(x, self._value_dtype) for x in v.reshape(-1).tolist()]
        s = self._value_size
        new = [tuple(rows[i * s:(i + 1) * s]) for i in range(len(batch))]
        pending = self._num_entries + len(batch)
        load = np.float32(0.8)
        if np.float32(pending) > np.float32(self._num_buckets) * load:
            size = self._num_buckets
            while True:
                size <<= 1
                if not np.float32(pending) > np.float32(size) * load:
                    break
            old = list(zip(self._keys, self._values))
            self._allocate(size)
            self._do_insert(old, skip_markers=True)
        self._do_insert(zip(batch, new), skip_markers=False)

    insert_or_assign = insert

    def lookup(self, keys, name=None) -> Tensor:
        """The value of each key (``default_value`` for a missing one): shape ``keys`` (less the key dimension)
        + ``value_shape``."""
        k, batch = self._batch(keys, "lookup")
        default = tuple(value_of(x, self._value_dtype) for x in self._default.reshape(-1).tolist())
        out = []
        for key in batch:
            self._check_key(key, "lookup")
            index = self._probe(key, insert=False)
            out.extend(self._values[index] if self._keys[index] == key else default)
        shape = k.shape[:k.ndim - len(self._key_shape)] + self._value_shape
        return wrap(out_array(out, self._value_dtype, shape))

    def erase(self, keys, name=None) -> None:
        """Remove ``keys`` (missing keys are ignored); their buckets hold ``deleted_key`` until the table grows."""
        _, batch = self._batch(keys, "erase", TypeError)
        for key in batch:
            self._check_key(key, "erase")
            index = self._probe(key, insert=False)
            if self._keys[index] == key:
                self._num_entries -= 1
                self._keys[index] = self._deleted

    remove = erase

    def size(self, name=None) -> Tensor:
        """The number of entries (int64 scalar)."""
        return wrap(np.int64(self._num_entries))

    def export(self, name=None) -> tuple:
        """(key buckets, value buckets): ``(num_buckets, key_size)`` and ``(num_buckets, value_size)``, free buckets
        holding ``empty_key`` (or ``deleted_key``) and zeros, as TF's."""
        n = self._num_buckets
        keys = out_array([x for key in self._keys for x in key], self._key_dtype, (n, self._key_size))
        vals = out_array([x for row in self._values for x in row], self._value_dtype, (n, self._value_size))
        return wrap(keys), wrap(vals)
