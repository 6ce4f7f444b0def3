"""``tf.lookup``: hash tables from keys to values, as TensorFlow 2's, with its dtypes, checks and errors.

* ``StaticHashTable(initializer, default_value)``: immutable once filled from a ``KeyValueTensorInitializer``
  (two tensors) or a ``TextFileInitializer`` (a vocabulary file; ``TextFileIndex.WHOLE_LINE`` /
  ``LINE_NUMBER`` or a column).
* ``StaticVocabularyTable(initializer, num_oov_buckets)``: int64 ids; an unknown key goes to bucket
  ``vocab_size + Fingerprint64(key) % num_oov_buckets`` (integer keys hash their decimal string), bit for bit
  TensorFlow's (``tapeflow/backend/hashing.py``).
* ``tf.lookup.experimental.MutableHashTable`` / ``DenseHashTable`` (``tapeflow/lookup_mutable.py``).

String keys may be ``str`` or ``bytes`` (compared as UTF-8 bytes, as TF compares them); string results come
back as ``str`` arrays. Only the key/value dtype pairs TensorFlow has kernels for are accepted. ``export()``
returns the entries in insertion order (TF's order is that of its C++ hash map, and unspecified).

>>> import tapeflow as tf
>>> init = tf.lookup.KeyValueTensorInitializer(["emerson", "lake", "palmer"], tf.constant([0, 1, 2], tf.int64))
>>> table = tf.lookup.StaticVocabularyTable(init, num_oov_buckets=5)
>>> table.lookup(tf.constant(["emerson", "lake", "palmer", "king", "crimson"])).numpy().tolist()
[0, 1, 2, 6, 7]
"""
from __future__ import annotations

import os
import re

import numpy as np

from . import backend as B
from .autodiff.tensor import Tensor
from .backend.hashing import fingerprint64
from .errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, OutOfRangeError
from .sparse import SparseTensor

__all__ = ["KeyValueTensorInitializer", "StaticHashTable", "StaticVocabularyTable", "TextFileIndex",
           "TextFileInitializer", "experimental"]

_S, _I32, _I64 = "string", "int32", "int64"
_F32, _F64, _BOOL = "float32", "float64", "bool"
# (key, value) dtype pairs of TF's HashTableV2 CPU kernels
STATIC_PAIRS = frozenset({(_I32, _F64), (_I32, _F32), (_I32, _I32), (_I32, _S), (_I64, _F64), (_I64, _F32),
                          (_I64, _I32), (_I64, _I64), (_I64, _S), (_S, _BOOL), (_S, _F64), (_S, _F32), (_S, _I32),
                          (_S, _I64), (_S, _S)})


# -- dtypes and conversion (shared with lookup_mutable.py) ---------------------------------------------------
def as_table_dtype(dtype, what: str) -> np.dtype:
    """A NumPy dtype for a table dtype spelling; every string spelling becomes ``tf.string`` (object)."""
    if dtype is None:
        raise TypeError(f"{what}: a dtype is required (e.g. tf.string or tf.int64), got None")
    dt = B.as_dtype(dtype)
    return B.string if dt.kind in "USO" else dt


def dtype_name(dt: np.dtype) -> str:
    return "string" if dt.kind in "USO" else dt.name


def check_pair(key_dtype: np.dtype, value_dtype: np.dtype, pairs: frozenset, what: str) -> None:
    pair = (dtype_name(key_dtype), dtype_name(value_dtype))
    if pair not in pairs:
        supported = ", ".join(f"{k}->{v}" for k, v in sorted(pairs))
        raise TypeError(f"{what}: TensorFlow has no table from {pair[0]} keys to {pair[1]} values; supported "
                        f"key->value dtypes: {supported}")


def to_array(x, dtype: np.dtype, what: str, exc=TypeError) -> np.ndarray:
    """``x`` as an array of ``dtype``. Tensors and NumPy arrays must already have it (as TF: use ``tf.cast``);
    Python scalars and lists are converted when no value changes."""
    if isinstance(x, SparseTensor):
        raise TypeError(f"{what}: expected a dense tensor, got a tf.SparseTensor")
    typed = isinstance(x, (Tensor, np.ndarray, np.generic))
    arr = np.asarray(x._value if isinstance(x, Tensor) else x if typed else _text_lists(x))
    want = dtype_name(dtype)
    if not typed:
        exc = TypeError                  # TF: a Python value that does not convert is a TypeError
    if dtype.kind in "USO":
        if arr.dtype.kind in "USO" or (arr.size == 0 and not typed):
            return arr.astype(object) if arr.size == 0 else arr
        raise exc(f"{what}: expected tf.string values, got dtype {arr.dtype}; convert numbers with "
                  "tf.strings.as_string")
    if typed:
        if arr.dtype != dtype:
            raise exc(f"{what}: expected dtype {want}, got {dtype_name(arr.dtype)}; convert it with "
                      f"tf.cast(x, tf.{want})")
        return arr
    if arr.size == 0:
        return arr.astype(dtype)
    ok = {"i": "iu", "u": "iu", "f": "iuf", "b": "b", "c": "iufc"}.get(dtype.kind, "")
    if arr.dtype.kind not in ok or (arr.dtype.kind == "b" and dtype.kind != "b"):
        raise exc(f"{what}: cannot convert {x!r} (dtype {arr.dtype}) to {want}")
    out = arr.astype(dtype)
    if dtype.kind in "iu" and not np.array_equal(out, arr):
        raise exc(f"{what}: {x!r} does not fit in {want}")
    return out


def _text_lists(x):
    """Python lists with ``bytes`` turned into ``str`` (NumPy cannot mix them), others unchanged."""
    if isinstance(x, bytes):
        return x.decode("utf-8", "surrogateescape")
    if isinstance(x, (list, tuple)):
        return [_text_lists(v) for v in x]
    return x


def canon_keys(arr: np.ndarray) -> list:
    """Flat list of hashable keys: UTF-8 ``bytes`` for strings, Python ints for integers."""
    flat = arr.reshape(-1).tolist()
    if arr.dtype.kind in "USO":
        return [v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogateescape") for v in flat]
    return flat


def to_text(v) -> str:
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)


def out_array(values: list, dtype: np.dtype, shape: tuple) -> np.ndarray:
    """An array of ``dtype`` (``str`` for strings) holding ``values`` in ``shape``."""
    if dtype.kind in "USO":
        return np.array([to_text(v) for v in values], dtype=str).reshape(shape)
    return np.array(values, dtype=dtype).reshape(shape)


def value_of(v, dtype: np.dtype):
    """A Python value of one table entry (bytes for strings), as stored in the dicts."""
    if dtype.kind in "USO":
        return v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogateescape")
    return v


def wrap(a: np.ndarray) -> Tensor:
    return Tensor._wrap(np.asarray(a))


def scalar_default(default_value, value_dtype: np.dtype, what: str) -> np.ndarray:
    dv = to_array(default_value, value_dtype, f"{what}: default_value")
    if dv.ndim != 0:
        raise ValueError(f"{what}: default_value must be a scalar, got shape {list(dv.shape)}")
    return dv


def _key_input(keys, key_dtype: np.dtype, what: str):
    """(array of keys, SparseTensor or None): the dense keys or the values of a SparseTensor of keys."""
    if isinstance(keys, SparseTensor):
        return to_array(keys.values, key_dtype, f"{what}: keys"), keys
    return to_array(keys, key_dtype, f"{what}: keys"), None


def _key_output(values: np.ndarray, sparse):
    return wrap(values) if sparse is None else SparseTensor(sparse.indices, values, sparse.dense_shape)


# -- initializers ------------------------------------------------------------------------------------------
class TextFileIndex:
    """What a ``TextFileInitializer`` takes from each line: ``WHOLE_LINE`` (-2), ``LINE_NUMBER`` (-1) or a
    column index >= 0.

    >>> import tapeflow as tf
    >>> tf.lookup.TextFileIndex.WHOLE_LINE, tf.lookup.TextFileIndex.LINE_NUMBER
    (-2, -1)
    """
    WHOLE_LINE = -2
    LINE_NUMBER = -1


class _Initializer:
    def __init__(self, key_dtype, value_dtype):
        self._key_dtype, self._value_dtype = key_dtype, value_dtype

    key_dtype = property(lambda self: self._key_dtype, doc="The dtype of the keys this initializer provides.")
    value_dtype = property(lambda self: self._value_dtype, doc="The dtype of the values it provides.")

    def _check(self, table, what: str) -> None:
        for kind, mine, theirs in (("key", self._key_dtype, table.key_dtype),
                                   ("value", self._value_dtype, table.value_dtype)):
            if mine != theirs:
                raise TypeError(f"{what}: invalid {kind} dtype for table, expected {dtype_name(theirs)} but got "
                                f"{dtype_name(mine)}")


class KeyValueTensorInitializer(_Initializer):
    """Fills a table from a tensor of ``keys`` and a tensor of ``values`` of the same shape (dtypes inferred
    as ``tf.constant`` does: Python ints are int32, floats float32, unless ``key_dtype``/``value_dtype``).

    >>> import tapeflow as tf
    >>> init = tf.lookup.KeyValueTensorInitializer(["a", "b", "c"], [7, 8, 9])
    >>> table = tf.lookup.StaticHashTable(init, default_value=-1)
    >>> table.lookup(tf.constant(["a", "f"])).numpy().tolist(), table.value_dtype.name
    ([7, -1], 'int32')
    """

    def __init__(self, keys, values, key_dtype=None, value_dtype=None, name=None):
        self._keys = self._convert(keys, key_dtype, "keys")
        self._values = self._convert(values, value_dtype, "values")
        self._name = name or "key_value_init"
        super().__init__(as_table_dtype(self._keys.dtype, "KeyValueTensorInitializer"),
                         as_table_dtype(self._values.dtype, "KeyValueTensorInitializer"))

    @staticmethod
    def _convert(x, dtype, what: str) -> np.ndarray:
        from .autodiff.tensor import convert_to_tensor
        if dtype is not None:
            return to_array(x, as_table_dtype(dtype, f"KeyValueTensorInitializer: {what}"),
                            f"KeyValueTensorInitializer: {what}")
        return convert_to_tensor(_text_lists(x))._value

    def initialize(self, table) -> None:
        """Insert the keys and values into ``table`` (the table calls this when it is built)."""
        self._check(table, "KeyValueTensorInitializer")
        if self._keys.shape != self._values.shape:
            raise InvalidArgumentError(None, None, f"KeyValueTensorInitializer: expected shape "
                                                   f"{list(self._keys.shape)} for values (one per key), got "
                                                   f"{list(self._values.shape)}")
        table._import(canon_keys(self._keys), [value_of(v, self._value_dtype)
                                               for v in self._values.reshape(-1).tolist()])


_INT_RE = re.compile(rb"\s*[+-]?\d+\s*\Z")
_FLOAT_RE = re.compile(rb"\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)\s*\Z", re.IGNORECASE)


class TextFileInitializer(_Initializer):
    """Fills a table from a text file, one entry per line: the key and the value are the whole line
    (``TextFileIndex.WHOLE_LINE``), the line number (``LINE_NUMBER``, int64, plus ``value_index_offset``) or a
    column split on the one-character ``delimiter``. ``vocab_size`` reads only that many lines (the file must
    have them). Empty lines are an error, a trailing ``\\r`` is dropped, as in TensorFlow.

    >>> import os, tempfile, tapeflow as tf
    >>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("emerson 10\\nlake 20\\npalmer 30\\n")
    >>> init = tf.lookup.TextFileInitializer(path, tf.string, 0, tf.int64, 1, delimiter=" ")
    >>> tf.lookup.StaticHashTable(init, -1).lookup(tf.constant(["palmer", "lake", "tarkus"])).numpy().tolist()
    [30, 20, -1]
    """

    def __init__(self, filename, key_dtype, key_index, value_dtype, value_index, vocab_size=None, delimiter="\t",
                 name=None, value_index_offset=0):
        what = "TextFileInitializer"
        if not isinstance(filename, Tensor) and not filename:
            raise ValueError(f"{what}: the `filename` argument is required (the path of the vocabulary file)")
        key_dtype, value_dtype = as_table_dtype(key_dtype, what), as_table_dtype(value_dtype, what)
        for arg, index, dt in (("key", key_index, key_dtype), ("value", value_index, value_dtype)):
            if index < -2:
                raise ValueError(f"{what}: `{arg}_index` should be >= -2 (WHOLE_LINE, LINE_NUMBER or a column), "
                                 f"received: {index}")
            if index == TextFileIndex.LINE_NUMBER and dt != np.int64:
                raise ValueError(f"{what}: `{arg}_dtype` must be int64 when `{arg}_index` is "
                                 f"TextFileIndex.LINE_NUMBER, received: {dtype_name(dt)}")
            if index == TextFileIndex.WHOLE_LINE and dt.kind not in "iuO":
                raise ValueError(f"{what}: `{arg}_dtype` should be an integer or string dtype when `{arg}_index` "
                                 f"is TextFileIndex.WHOLE_LINE, received: {dtype_name(dt)}")
        if vocab_size is not None and vocab_size <= 0:
            raise ValueError(f"{what}: `vocab_size` should be > 0 (or None: the whole file), received: {vocab_size}")
        self._filename = filename
        self._key_index, self._value_index = int(key_index), int(value_index)
        self._vocab_size, self._delimiter, self._offset = vocab_size, delimiter, int(value_index_offset)
        self._name = name
        super().__init__(key_dtype, value_dtype)

    def _path(self) -> str:
        f = self._filename
        if isinstance(f, Tensor):
            f = f._value.item() if f._value.ndim == 0 else f._value
        return os.fsdecode(f) if isinstance(f, (bytes, os.PathLike)) else str(f)

    def _field(self, index: int, line: bytes, tokens: list, number: int, dtype: np.dtype):
        if index == TextFileIndex.LINE_NUMBER:
            return number + self._offset
        text = line if index == TextFileIndex.WHOLE_LINE else tokens[index]
        if dtype.kind == "O":
            return text
        pattern = _INT_RE if dtype.kind in "iu" else _FLOAT_RE
        if dtype.kind in "iuf" and pattern.match(text):
            if dtype.kind == "f":
                return float(np.array(float(text), dtype).item())
            v = int(text)
            if np.iinfo(dtype).min <= v <= np.iinfo(dtype).max:
                return v
        raise InvalidArgumentError(None, None, f"TextFileInitializer: field {text.decode(errors='replace')!r} in "
                                               f"line {number} of {self._path()!r} is not a valid {dtype.name}")

    def initialize(self, table) -> None:
        """Read the file and insert its entries into ``table`` (the table calls this when it is built)."""
        self._check(table, "TextFileInitializer")
        path = self._path()
        if len(self._delimiter) != 1:
            raise InvalidArgumentError(None, None, f"TextFileInitializer: delimiter should be only 1 char, got "
                                                   f"{self._delimiter!r}")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise NotFoundError(None, None, f"TextFileInitializer: cannot read vocabulary file {path!r}: "
                                            f"{e.strerror}") from None
        if not data:
            raise OutOfRangeError(None, None, f"TextFileInitializer: vocabulary file {path!r} is empty")
        lines = data.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        limit = len(lines) if self._vocab_size is None else min(self._vocab_size, len(lines))
        need = max(self._key_index, self._value_index) + 1
        delim = self._delimiter.encode()
        keys, values, position = [], [], 0
        for number in range(limit):
            raw = lines[number]
            position += len(raw) + 1
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if not line:
                raise InvalidArgumentError(None, None, f"TextFileInitializer: invalid content in {path!r}: empty "
                                                       f"line found at position {position} (line {number})")
            tokens = line.split(delim) if need > 0 else []
            if need > 0 and len(tokens) < need:
                raise InvalidArgumentError(None, None, f"TextFileInitializer: invalid number of columns in {path!r} "
                                                       f"line {number} ({line.decode(errors='replace')}): expected "
                                                       f"at least {need}, got {len(tokens)}")
            keys.append(self._field(self._key_index, line, tokens, number, self._key_dtype))
            values.append(self._field(self._value_index, line, tokens, number, self._value_dtype))
        if self._vocab_size is not None and limit < self._vocab_size:
            raise InvalidArgumentError(None, None, f"TextFileInitializer: invalid vocab_size in {path!r}: expected "
                                                   f"{self._vocab_size} lines but the file has {limit}")
        table._import(keys, values)


# -- tables --------------------------------------------------------------------------------------------------
class _LookupBase:
    _kind = "table"

    key_dtype = property(lambda self: self._key_dtype, doc="The dtype of the keys.")
    value_dtype = property(lambda self: self._value_dtype, doc="The dtype of the values.")
    name = property(lambda self: None, doc="None, as a TF table built eagerly.")
    resource_handle = property(lambda self: None, doc="None: tapeflow tables are plain Python objects.")

    def __getitem__(self, keys):
        return self.lookup(keys)


class StaticHashTable(_LookupBase):
    """An immutable key -> value table filled by ``initializer``; missing keys give ``default_value`` (a
    scalar). ``lookup`` keeps the keys' shape (a ``SparseTensor`` of keys gives one of values).

    >>> import tapeflow as tf
    >>> table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(["a", "b", "c"], [7, 8, 9]), -1)
    >>> table[tf.constant([["a", "b"], ["c", "d"]])].numpy().tolist()
    [[7, 8], [9, -1]]
    >>> int(table.size())
    3
    """

    def __init__(self, initializer, default_value, name=None, experimental_is_anonymous=False):
        if not isinstance(initializer, _Initializer):
            raise TypeError(f"StaticHashTable: initializer must be a tf.lookup.KeyValueTensorInitializer or "
                            f"TextFileInitializer, got {type(initializer).__name__}")
        self._key_dtype, self._value_dtype = initializer.key_dtype, initializer.value_dtype
        check_pair(self._key_dtype, self._value_dtype, STATIC_PAIRS, "StaticHashTable")
        self._default = scalar_default(default_value, self._value_dtype, "StaticHashTable")
        self._initializer, self._table_name = initializer, name
        self._table: dict = {}
        initializer.initialize(self)

    def _import(self, keys: list, values: list) -> None:
        table = self._table
        for k, v in zip(keys, values):
            old = table.setdefault(k, v)
            if old != v and not (old != old and v != v):    # NaN equals NaN here, as TF's bitwise compare
                raise FailedPreconditionError(None, None, f"StaticHashTable: HashTable has different value for same "
                                                          f"key. Key {to_text(k)} has {to_text(old)} and trying to "
                                                          f"add value {to_text(v)}")

    @property
    def default_value(self) -> Tensor:
        """The value of a missing key (a scalar of ``value_dtype``)."""
        return wrap(out_array([self._default.item()], self._value_dtype, ()))

    def size(self, name=None) -> Tensor:
        """The number of entries (int64 scalar)."""
        return wrap(np.int64(len(self._table)))

    def _find(self, arr: np.ndarray) -> np.ndarray:
        miss = value_of(self._default.item(), self._value_dtype)
        get = self._table.get
        return out_array([get(k, miss) for k in canon_keys(arr)], self._value_dtype, arr.shape)

    def lookup(self, keys, name=None):
        """The value of each key (``default_value`` for a missing one), in the keys' shape."""
        arr, sparse = _key_input(keys, self._key_dtype, "StaticHashTable.lookup")
        return _key_output(self._find(arr), sparse)

    def export(self, name=None) -> tuple:
        """(keys, values): every entry, in insertion order."""
        n = len(self._table)
        return (wrap(out_array(list(self._table), self._key_dtype, (n,))),
                wrap(out_array(list(self._table.values()), self._value_dtype, (n,))))


def _int64_to_text(arr: np.ndarray) -> list:
    return [str(v).encode() for v in arr.reshape(-1).tolist()]


class StaticVocabularyTable(_LookupBase):
    """String or integer keys to int64 ids: keys of the ``initializer`` (whose values must be int64) map to
    their ids, any other key (or one whose id is -1) to ``size + Fingerprint64(key) % num_oov_buckets``.
    Without an initializer only the hash buckets are used (string keys). Integer keys are cast to int64
    and hashed as their decimal strings, as TF does.

    >>> import tapeflow as tf
    >>> table = tf.lookup.StaticVocabularyTable(None, num_oov_buckets=4)
    >>> table.lookup(tf.constant(["lake", "king"])).numpy().tolist(), int(table.size())
    ([0, 2], 4)
    """

    def __init__(self, initializer, num_oov_buckets, lookup_key_dtype=None, name=None,
                 experimental_is_anonymous=False):
        what = "StaticVocabularyTable"
        if num_oov_buckets <= 0:
            raise ValueError(f"{what}: `num_oov_buckets` must be > 0, got {num_oov_buckets}; use StaticHashTable "
                             "for a table without out-of-vocabulary buckets")
        if initializer:
            key_dtype = initializer.key_dtype
            lookup_key_dtype = key_dtype if lookup_key_dtype is None else as_table_dtype(lookup_key_dtype, what)
            if dtype_name(key_dtype) not in (_I64, _S):
                raise TypeError(f"{what}: invalid `key_dtype`, expected int64 or string keys from the initializer, "
                                f"got {dtype_name(key_dtype)}")
            if (key_dtype.kind in "iu") != (lookup_key_dtype.kind in "iu"):
                raise TypeError(f"{what}: invalid `key_dtype`, expected "
                                f"{'integer' if lookup_key_dtype.kind in 'iu' else 'non-integer'} keys but the "
                                f"initializer has {dtype_name(key_dtype)}")
            if initializer.value_dtype != np.int64:
                raise TypeError(f"{what}: invalid `value_dtype`, expected int64 ids from the initializer, got "
                                f"{dtype_name(initializer.value_dtype)}")
            self._table = StaticHashTable(initializer, default_value=np.int64(-1))
        else:
            lookup_key_dtype, self._table = B.string, None
        if lookup_key_dtype.kind not in "iuO":
            raise TypeError(f"{what}: invalid `lookup_key_dtype`, expected integer or string, got "
                            f"{dtype_name(lookup_key_dtype)}")
        self._key_dtype, self._value_dtype = lookup_key_dtype, np.dtype(np.int64)
        self._num_oov_buckets, self._table_name = int(num_oov_buckets), name

    def size(self, name=None) -> Tensor:
        """Vocabulary size plus ``num_oov_buckets`` (int64 scalar)."""
        n = 0 if self._table is None else len(self._table._table)
        return wrap(np.int64(n + self._num_oov_buckets))

    def lookup(self, keys, name=None):
        """The id of each key, in the keys' shape (a ``SparseTensor`` of keys gives one of ids)."""
        arr, sparse = _key_input(keys, self._key_dtype, "StaticVocabularyTable.lookup")
        if arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
            texts = _int64_to_text(arr)
        else:
            texts = canon_keys(arr)
        n = self._num_oov_buckets
        buckets = np.array([fingerprint64(t) % n for t in texts], dtype=np.int64).reshape(arr.shape)
        if self._table is not None:
            ids = self._table._find(arr)
            buckets = np.where(ids != -1, ids, buckets + len(self._table._table))
        return _key_output(buckets.astype(np.int64), sparse)


from . import lookup_mutable as experimental  # noqa: E402 - tf.lookup.experimental (it imports the helpers above)
