"""``tf.io``: files, ``tf.io.gfile``, raw/base64/CSV decoding, ``tf.train.Example`` parsing, TFRecord writing and
PNG/BMP images, with TensorFlow 2's names and semantics. String tensors are NumPy object arrays of bytes.

TFRecord framing and CRC32C live in ``io_records.py``, images in ``io_image.py``, the Example messages in
``train_example.py``.

>>> import tapeflow as tf
>>> ex = tf.train.Example(features=tf.train.Features(feature={
...     "x": tf.train.Feature(float_list=tf.train.FloatList(value=[1.5, 2.0])),
...     "y": tf.train.Feature(int64_list=tf.train.Int64List(value=[3]))}))
>>> spec = {"x": tf.io.FixedLenFeature([2], tf.float32), "y": tf.io.FixedLenFeature([], tf.int64),
...         "z": tf.io.VarLenFeature(tf.string)}
>>> out = tf.io.parse_single_example(ex.SerializeToString(), spec)
>>> out["x"].numpy().tolist(), int(out["y"]), out["z"].numpy().tolist()
([1.5, 2.0], 3, [])
>>> tf.io.decode_base64(tf.io.encode_base64(b"hi?")).numpy()
b'hi?'
"""
from __future__ import annotations

import base64 as _b64
import binascii
import csv as _csv
import glob as _glob
import os
import shutil
import tempfile
import types
from typing import NamedTuple

import numpy as np

from .autodiff.tensor import Tensor
from .errors import InvalidArgumentError, NotFoundError
from .io_image import decode_bmp, decode_gif, decode_image, decode_jpeg, decode_png, encode_png, is_jpeg
from .io_records import TFRecordCompressionType, TFRecordOptions, TFRecordWriter, _as_bytes, tf_record_iterator
from .train_example import Example

__all__ = ["read_file", "write_file", "matching_files", "gfile", "decode_raw", "decode_base64", "encode_base64",
           "decode_csv", "FixedLenFeature", "VarLenFeature", "parse_single_example", "parse_example",
           "TFRecordWriter", "TFRecordOptions", "TFRecordCompressionType", "tf_record_iterator", "encode_png",
           "decode_png", "decode_bmp", "decode_image", "decode_jpeg", "decode_gif", "is_jpeg"]


def _invalid(message: str) -> InvalidArgumentError:
    return InvalidArgumentError(None, None, message)


def _strings(x) -> np.ndarray:
    """Any string input -> object array of bytes, same shape."""
    arr = np.asarray(x._value if isinstance(x, Tensor) else x, dtype=object)
    flat = [v.encode() if isinstance(v, str) else bytes(v) for v in arr.reshape(-1).tolist()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(arr.shape)


def _string_tensor(values, shape=None) -> Tensor:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return Tensor._wrap(out.reshape(shape if shape is not None else out.shape))


def _path(filename) -> str:
    v = _as_bytes(filename, "filename") if not isinstance(filename, os.PathLike) else os.fspath(filename)
    return v.decode() if isinstance(v, bytes) else v


# -- files --------------------------------------------------------------------------------------
def read_file(filename, name=None) -> Tensor:
    """The bytes of a file as a scalar string tensor."""
    path = _path(filename)
    try:
        with open(path, "rb") as f:
            return Tensor._wrap(np.array(f.read(), dtype=object))
    except OSError as e:
        raise NotFoundError(None, None, f"read_file: cannot read {path!r}: {e.strerror}") from None


def write_file(filename, contents, name=None) -> None:
    """Write ``contents`` to ``filename`` (parent folders are created) through a temporary file and a rename."""
    path = _path(filename)
    data = _as_bytes(contents, f"write_file({path!r})")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def matching_files(pattern, name=None) -> Tensor:
    """Sorted file names matching a glob pattern (or a list of patterns), as a 1-D string tensor."""
    pats = [p.decode() for p in _strings(pattern).reshape(-1).tolist()]
    names = sorted({n for p in pats for n in _glob.glob(p)})
    return _string_tensor([n.encode() for n in names])


class GFile:
    """``tf.io.gfile.GFile(name, mode="r")``: a file object; "r"/"w"/"a" are text, "rb"/"wb"/"ab" bytes."""

    def __init__(self, name, mode="r"):
        self.name, self.mode = _path(name), mode
        if "r" in mode and not os.path.exists(self.name):
            raise NotFoundError(None, None, f"GFile: {self.name!r} does not exist")
        self._f = open(self.name, mode if "b" in mode else mode, **({} if "b" in mode else {"encoding": "utf-8"}))

    def __getattr__(self, attr):
        return getattr(self._f, attr)

    def size(self) -> int:
        """The file's size in bytes."""
        self._f.flush() if "r" not in self.mode else None
        return os.path.getsize(self.name)

    def __iter__(self):
        return iter(self._f)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _stat(path):
    """``tf.io.gfile.stat``: ``length``, ``mtime_nsec`` and ``is_directory``."""
    path = _path(path)
    try:
        st = os.stat(path)
    except OSError:
        raise NotFoundError(None, None, f"gfile.stat: {path!r} does not exist") from None
    return types.SimpleNamespace(length=st.st_size, mtime_nsec=st.st_mtime_ns, is_directory=os.path.isdir(path))


def _rename(src, dst, overwrite=False):
    src, dst = _path(src), _path(dst)
    if not overwrite and os.path.exists(dst):
        raise FileExistsError(f"gfile.rename: {dst!r} exists; pass overwrite=True to replace it")
    os.replace(src, dst)


def _copy(src, dst, overwrite=False):
    src, dst = _path(src), _path(dst)
    if not overwrite and os.path.exists(dst):
        raise FileExistsError(f"gfile.copy: {dst!r} exists; pass overwrite=True to replace it")
    shutil.copyfile(src, dst)


def _listdir(path):
    path = _path(path)
    if not os.path.isdir(path):
        raise NotFoundError(None, None, f"gfile.listdir: {path!r} is not a directory")
    return sorted(os.listdir(path))


def _walk(top, topdown=True, onerror=None):
    yield from os.walk(_path(top), topdown=topdown, onerror=onerror)


gfile = types.SimpleNamespace(
    GFile=GFile, exists=lambda path: os.path.exists(_path(path)),
    glob=lambda pattern: sorted(_glob.glob(_path(pattern))), isdir=lambda path: os.path.isdir(_path(path)),
    listdir=_listdir, makedirs=lambda path: os.makedirs(_path(path), exist_ok=True),
    mkdir=lambda path: os.mkdir(_path(path)), remove=lambda path: os.remove(_path(path)), rename=_rename,
    rmtree=lambda path: shutil.rmtree(_path(path)), copy=_copy, join=os.path.join, stat=_stat, walk=_walk)


# -- raw bytes and base64 ------------------------------------------------------------------------
def decode_raw(input_bytes, out_type, little_endian=True, fixed_length=None, name=None) -> Tensor:
    """Reinterpret the bytes of each string as numbers of ``out_type``: shape ``input.shape + [n]``. Without
    ``fixed_length`` every string must have the same length; with it each is truncated or zero-padded."""
    arr = _strings(input_bytes)
    dt = np.dtype(getattr(out_type, "as_numpy_dtype", out_type))
    dt = dt.newbyteorder("<" if little_endian else ">") if dt.itemsize > 1 else dt
    flat = arr.reshape(-1).tolist()
    if fixed_length is not None:
        n = int(fixed_length)
        if n % dt.itemsize:
            raise _invalid(f"decode_raw: fixed_length {n} is not a multiple of the {dt.name} size {dt.itemsize}")
        flat = [b[:n].ljust(n, b"\0") for b in flat]
    lengths = {len(b) for b in flat}
    if len(lengths) > 1:
        raise _invalid(f"decode_raw: the strings have different lengths {sorted(lengths)}; pass fixed_length")
    size = lengths.pop() if lengths else 0
    if size % dt.itemsize:
        raise _invalid(f"decode_raw: input of {size} bytes is not a multiple of the {dt.name} size {dt.itemsize}")
    out = np.frombuffer(b"".join(flat), dtype=dt).astype(dt.newbyteorder("="))
    return Tensor._wrap(out.reshape(arr.shape + (size // dt.itemsize,)))


def encode_base64(input, pad=False, name=None) -> Tensor:  # noqa: A002 - TensorFlow's argument name
    """Web-safe base64 (``-`` and ``_``) of each string; ``=`` padding only with ``pad=True``."""
    arr = _strings(input)
    enc = [_b64.urlsafe_b64encode(b) if pad else _b64.urlsafe_b64encode(b).rstrip(b"=") for b in arr.reshape(-1)]
    return _string_tensor(enc, arr.shape)


def decode_base64(input, name=None) -> Tensor:  # noqa: A002
    """Decode web-safe base64 strings, padded or not."""
    arr = _strings(input)
    out = []
    for s in arr.reshape(-1).tolist():
        body = s.rstrip(b"=")
        if len(body) % 4 == 1 or len(s) - len(body) > 2:
            raise _invalid(f"decode_base64: invalid length {len(s)} of {s[:40]!r}")
        std = body.translate(bytes.maketrans(b"-_+/", b"+/!!"))  # '+' and '/' are not web-safe: make them invalid
        try:
            out.append(_b64.b64decode(std + b"=" * (-len(std) % 4), validate=True))
        except binascii.Error:
            raise _invalid(f"decode_base64: invalid character in {s[:40]!r} (web-safe alphabet A-Z a-z 0-9 - _)"
                           ) from None
    return _string_tensor(out, arr.shape)


# -- CSV ------------------------------------------------------------------------------------------
def _csv_default(d, i):
    """(numpy dtype or 'string', default value or None)."""
    if isinstance(d, Tensor):
        arr = d._value
    elif isinstance(d, np.ndarray):
        arr = d
    else:
        vals = list(d) if isinstance(d, (list, tuple)) else [d]
        if not vals:
            raise ValueError(f"decode_csv: record_defaults[{i}] is an empty list without a dtype; use "
                             "tf.constant([], dtype) for a required column")
        v = vals[0]
        arr = np.array([v], dtype=object if isinstance(v, (str, bytes)) else
                       np.int32 if isinstance(v, (int, np.integer)) else np.float32)
    arr = np.asarray(arr).reshape(-1)
    kind = "string" if arr.dtype.kind in "USO" else np.dtype(arr.dtype)
    if kind != "string" and kind not in (np.int32, np.int64, np.float32, np.float64):
        raise TypeError(f"decode_csv: record_defaults[{i}] has dtype {kind}; use int32, int64, float32, "
                        "float64 or string")
    if arr.size > 1:
        raise ValueError(f"decode_csv: record_defaults[{i}] must hold at most one value, got {arr.size}")
    if arr.size == 0:
        return kind, None
    v = arr[0]
    return kind, ((v.encode() if isinstance(v, str) else bytes(v)) if kind == "string" else v)


def decode_csv(records, record_defaults, field_delim=",", use_quote_delim=True, na_value="", select_cols=None,
               name=None) -> list:
    """Parse CSV lines into one tensor per column (shaped like ``records``), with each column's dtype and
    default taken from ``record_defaults`` (an empty default marks a required column). Quoted fields may hold
    the delimiter and doubled quotes when ``use_quote_delim``; a field equal to ``na_value`` takes the default."""
    arr = _strings(records)
    cols = [_csv_default(d, i) for i, d in enumerate(record_defaults)]
    if select_cols is not None:
        select = [int(c) for c in select_cols]
        if sorted(set(select)) != select:
            raise ValueError(f"decode_csv: select_cols must be strictly increasing, got {select}")
        if len(select) != len(cols):
            raise ValueError(f"decode_csv: {len(select)} select_cols but {len(cols)} record_defaults")
    na = na_value.encode() if isinstance(na_value, str) else na_value
    values = [[] for _ in cols]
    for r, line in enumerate(arr.reshape(-1).tolist()):
        text = line.decode("utf-8")
        dialect = dict(delimiter=field_delim, strict=True, doublequote=True)
        dialect.update(quotechar='"') if use_quote_delim else dialect.update(quoting=_csv.QUOTE_NONE)
        try:
            fields = next(_csv.reader([text], **dialect), None) or [""]
        except _csv.Error as e:
            raise _invalid(f"decode_csv: record {r} ({text[:60]!r}) is malformed: {e}") from None
        if select_cols is None and len(fields) != len(cols):
            raise _invalid(f"decode_csv: expected {len(cols)} fields but record {r} has {len(fields)}: {text[:60]!r}")
        if select_cols is not None:
            if len(fields) <= select[-1]:
                raise _invalid(f"decode_csv: record {r} has {len(fields)} fields, select_cols needs {select[-1] + 1}")
            fields = [fields[c] for c in select]
        for c, (field, (kind, default)) in enumerate(zip(fields, cols)):
            raw = field.encode()
            if raw == b"" or raw == na:
                if default is None:
                    raise _invalid(f"decode_csv: field {c} is required but missing in record {r}: {text[:60]!r}")
                values[c].append(default)
                continue
            try:
                values[c].append(raw if kind == "string" else int(field) if kind.kind == "i" else float(field))
            except ValueError:
                raise _invalid(f"decode_csv: field {c} of record {r} is not a valid {kind}: {field!r}") from None
    out = []
    for (kind, _), vals in zip(cols, values):
        if kind == "string":
            out.append(_string_tensor(vals, arr.shape))
        else:
            if kind.kind == "i" and any(not np.iinfo(kind).min <= v <= np.iinfo(kind).max for v in vals):
                raise _invalid(f"decode_csv: a value is out of the {kind} range")
            out.append(Tensor._wrap(np.array(vals, dtype=kind).reshape(arr.shape)))
    return out



# -- tf.train.Example parsing -------------------------------------------------------------------
class FixedLenFeature(NamedTuple):
    """``tf.io.FixedLenFeature(shape, dtype, default_value=None)``: exactly ``prod(shape)`` values."""

    shape: object
    dtype: object
    default_value: object = None


class VarLenFeature(NamedTuple):
    """``tf.io.VarLenFeature(dtype)``: any number of values. tapeflow has no SparseTensor, so parsing returns
    the values as a dense 1-D tensor (``parse_example``: a ``(batch, longest)`` tensor padded with 0 or b"")."""

    dtype: object


_KIND = {"int64": "int64_list", "float32": "float_list", "object": "bytes_list"}


def _feature_dtype(dtype, key):
    name = getattr(dtype, "name", None) if not isinstance(dtype, str) else dtype
    dt = np.dtype(object) if name in ("string", "object") or dtype in (str, bytes) else np.dtype(
        getattr(dtype, "as_numpy_dtype", dtype))
    if dt.name not in _KIND:
        raise TypeError(f"parse_example: feature {key!r} has dtype {dt.name}; use tf.int64, tf.float32 or tf.string")
    return dt


def _values(feature, dt, key, index):
    kind = feature.WhichOneof("kind")
    if kind is None:
        return np.zeros(0, dt)
    if kind != _KIND[dt.name]:
        raise _invalid(f"parse_example: feature {key!r} in example {index} holds a {kind}, but the spec asks for "
                       f"{'string' if dt == object else dt.name} ({_KIND[dt.name]})")
    vals = getattr(feature, kind).value
    if dt == object:
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out
    return np.array(vals, dtype=dt)


def _parse_one(serialized: bytes, features: dict, index) -> dict:
    try:
        found = Example.FromString(serialized).features.feature
    except ValueError as e:
        raise _invalid(f"parse_example: example {index} is not a serialized tf.train.Example: {e}") from None
    out = {}
    for key, spec in features.items():
        if not isinstance(spec, (FixedLenFeature, VarLenFeature)):
            raise TypeError(f"parse_example: features[{key!r}] must be a tf.io.FixedLenFeature or "
                            f"tf.io.VarLenFeature, got {type(spec).__name__}")
        dt = _feature_dtype(spec.dtype, key)
        vals = _values(found[key], dt, key, index) if key in found else None
        if isinstance(spec, VarLenFeature):
            out[key] = vals if vals is not None else np.zeros(0, dt)
            continue
        shape = tuple(int(d) for d in (spec.shape if isinstance(spec.shape, (list, tuple)) else [spec.shape]))
        n = int(np.prod(shape))
        if vals is None or (vals.size == 0 and n):
            if spec.default_value is None:
                raise _invalid(f"parse_example: feature {key!r} (dtype {'string' if dt == object else dt.name}) "
                               f"is required but could not be found in example {index}")
            default = np.asarray(spec.default_value.numpy() if hasattr(spec.default_value, "numpy")
                                 else spec.default_value, dtype=dt)
            vals = np.broadcast_to(default.reshape(-1) if default.size == n else default, (n,)).copy()
        if vals.size != n:
            raise _invalid(f"parse_example: feature {key!r} in example {index}: expected {n} values for shape "
                           f"{list(shape)}, got {vals.size}")
        out[key] = vals.reshape(shape)
    return out


def parse_single_example(serialized, features, example_names=None, name=None) -> dict:
    """Parse one serialized ``tf.train.Example`` into ``{name: tensor}`` per ``features`` (a dict of
    ``FixedLenFeature`` / ``VarLenFeature``). VarLen values come back as a dense 1-D tensor (no SparseTensor)."""
    arr = _strings(serialized)
    if arr.ndim != 0:
        raise ValueError(f"parse_single_example: serialized must be a scalar string, got shape {arr.shape}; "
                         "use tf.io.parse_example for a batch")
    return {k: Tensor._wrap(v) for k, v in _parse_one(arr.item(), features, 0).items()}


def parse_example(serialized, features, example_names=None, name=None) -> dict:
    """Parse a 1-D batch of serialized Examples: FixedLen features are stacked to ``(batch,) + shape``; VarLen
    features become a dense ``(batch, longest)`` tensor padded with 0 / b"" (tapeflow has no SparseTensor)."""
    arr = _strings(serialized)
    if arr.ndim != 1:
        raise ValueError(f"parse_example: serialized must be a 1-D batch of strings, got shape {arr.shape}")
    rows = [_parse_one(s, features, i) for i, s in enumerate(arr.tolist())]
    out = {}
    for key, spec in features.items():
        dt = _feature_dtype(spec.dtype, key)
        if isinstance(spec, FixedLenFeature):
            shape = tuple(int(d) for d in (spec.shape if isinstance(spec.shape, (list, tuple)) else [spec.shape]))
            out[key] = Tensor._wrap(np.stack([r[key] for r in rows]) if rows else np.zeros((0,) + shape, dt))
            continue
        longest = max((r[key].size for r in rows), default=0)
        dense = np.full((len(rows), longest), b"" if dt == object else 0, dtype=dt)
        for i, r in enumerate(rows):
            dense[i, :r[key].size] = r[key]
        out[key] = Tensor._wrap(dense)
    return out
