"""``tf.strings``: elementwise string ops on NumPy string arrays (Tensors of dtype str or object), with
TensorFlow's hash buckets bit for bit (``tapeflow/backend/hashing.py``). Strings have no gradients.

>>> import tapeflow as tf
>>> tf.strings.to_hash_bucket_fast(["a", "b", "c", "abc"], 5).numpy().tolist()
[4, 2, 2, 0]
>>> tf.strings.lower(tf.constant(["Hello World"])).numpy().tolist()
['hello world']
>>> tf.strings.regex_replace(["a1b22"], r"\\d+", "#").numpy().tolist()
['a#b#']
"""
from __future__ import annotations

import re

import numpy as np

from .autodiff.tensor import Tensor
from .backend.hashing import fingerprint64, siphash24

__all__ = ["to_hash_bucket_fast", "to_hash_bucket_strong", "lower", "upper", "strip", "length", "join",
           "regex_replace", "as_string", "fingerprint"]


def _strings(x, who: str) -> np.ndarray:
    arr = np.asarray(x._value if isinstance(x, Tensor) else x)
    if arr.dtype.kind not in "USO":
        raise TypeError(f"tf.strings.{who}: expected strings, got dtype {arr.dtype}; convert numbers with "
                        "tf.strings.as_string")
    return arr


def _map(fn, arr: np.ndarray, dtype=object) -> Tensor:
    flat = [fn(v.decode() if isinstance(v, bytes) else str(v)) for v in arr.reshape(-1).tolist()]
    out = np.array(flat, dtype=dtype).reshape(arr.shape)
    return Tensor._wrap(out.astype(str) if dtype is object else out)


def to_hash_bucket_fast(input, num_buckets, name=None):  # noqa: A002 - TensorFlow's argument name
    """FarmHash Fingerprint64 of each string's UTF-8 bytes, modulo ``num_buckets`` (int64)."""
    arr = _strings(input, "to_hash_bucket_fast")
    return _map(lambda s: fingerprint64(s.encode()) % int(num_buckets), arr, np.int64)


def to_hash_bucket_strong(input, num_buckets, key, name=None):  # noqa: A002
    """SipHash-2-4 under ``key`` (two integers) of each string's UTF-8 bytes, modulo ``num_buckets``."""
    arr = _strings(input, "to_hash_bucket_strong")
    if len(key) != 2:
        raise ValueError(f"tf.strings.to_hash_bucket_strong: key must hold two integers, got {key!r}")
    k0, k1 = int(key[0]), int(key[1])
    return _map(lambda s: siphash24(k0, k1, s.encode()) % int(num_buckets), arr, np.int64)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def lower(input, encoding="", name=None):  # noqa: A002
    """Lowercase: ASCII letters only, as TensorFlow by default; every letter with ``encoding="utf-8"``."""
    return _map(str.lower if encoding else (lambda s: s.translate(_ASCII_LOWER)), _strings(input, "lower"))


def upper(input, encoding="", name=None):  # noqa: A002
    """Uppercase: ASCII letters only, as TensorFlow by default; every letter with ``encoding="utf-8"``."""
    return _map(str.upper if encoding else (lambda s: s.translate(_ASCII_UPPER)), _strings(input, "upper"))


def strip(input, name=None):  # noqa: A002
    """Remove leading and trailing whitespace."""
    return _map(str.strip, _strings(input, "strip"))


def length(input, unit="BYTE", name=None):  # noqa: A002
    """Length in bytes (``unit="BYTE"``) or characters (``"UTF8_CHAR"``), int32."""
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"tf.strings.length: unit must be 'BYTE' or 'UTF8_CHAR', got {unit!r}")
    size = (lambda s: len(s.encode())) if unit == "BYTE" else len
    return _map(size, _strings(input, "length"), np.int32)


def regex_replace(input, pattern, rewrite, replace_global=True, name=None):  # noqa: A002
    """Replace matches of ``pattern`` (Python ``re`` syntax, close to RE2 for common patterns)."""
    rx = re.compile(pattern)
    return _map(lambda s: rx.sub(rewrite, s, count=0 if replace_global else 1), _strings(input, "regex_replace"))


def join(inputs, separator="", name=None):
    """Join several string arrays elementwise (broadcast), as ``tf.strings.join``."""
    arrays = np.broadcast_arrays(*[_strings(x, "join") for x in inputs])
    out = np.empty(arrays[0].shape, dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = separator.join(str(a[idx]) for a in arrays)
    return Tensor._wrap(out.astype(str))


def as_string(input, precision=-1, scientific=False, shortest=False, width=-1, fill="", name=None):  # noqa: A002
    """Numbers to strings as ``tf.strings.as_string``: integers in decimal; floats as ``%f`` (6 digits, or
    ``precision``), ``%e`` with ``scientific``, ``%g`` with ``shortest``; ``width``/``fill`` pad on the left."""
    arr = np.asarray(input._value if isinstance(input, Tensor) else input)
    if arr.dtype.kind == "f":
        digits = "" if precision < 0 else f".{int(precision)}"
        spec = f"%{digits}{'e' if scientific else 'g' if shortest else 'f'}"
        text = [spec % v for v in arr.reshape(-1).tolist()]
    elif arr.dtype.kind in "iub":
        text = [str(int(v)) for v in arr.reshape(-1).tolist()]
    else:
        text = [v.decode() if isinstance(v, bytes) else str(v) for v in arr.reshape(-1).tolist()]
    if width > 0:
        text = [t.rjust(int(width), fill or " ") for t in text]
    return Tensor._wrap(np.array(text, dtype=str).reshape(arr.shape))


def fingerprint(data, method="farmhash64", name=None):
    """``tf.fingerprint`` of string data: 8 bytes per string (uint8, little-endian FarmHash Fingerprint64)."""
    if method != "farmhash64":
        raise ValueError(f"tf.fingerprint: method must be 'farmhash64', got {method!r}")
    arr = _strings(data, "fingerprint").reshape(-1)
    out = np.array([list(fingerprint64((v.decode() if isinstance(v, bytes) else str(v)).encode()).to_bytes(8, "little"))
                    for v in arr.tolist()], dtype=np.uint8).reshape(len(arr), 8)
    return Tensor._wrap(out)
