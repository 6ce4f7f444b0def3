"""Strict readers for the IDX format (MNIST, Fashion-MNIST): headers and sizes are checked."""
from __future__ import annotations

import gzip
import hashlib
import os

import numpy as np

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetFileError(ValueError):
    """A dataset file is truncated, corrupt or not what its name says."""


def read_bytes(path: str) -> bytes:
    """File contents, gunzipped when the name ends in .gz; errors name the file."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DatasetFileError(f"{path}: cannot read ({e}); delete it and fetch it again") from None


def parse_idx(data: bytes, path: str = "<bytes>", expect_ndim: int | None = None) -> np.ndarray:
    """Parse IDX bytes: magic 0x0000 <type> <ndim>, ndim big-endian uint32 sizes, then the data.

    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])).tolist()
    [7, 9]
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetFileError(f"{path}: not an IDX file (bad magic number {data[:4].hex()!r})")
    dtype = _IDX_TYPES.get(data[2])
    if dtype is None:
        raise DatasetFileError(f"{path}: unknown IDX element type 0x{data[2]:02x}")
    ndim = data[3]
    if expect_ndim is not None and ndim != expect_ndim:
        raise DatasetFileError(f"{path}: expected an IDX file of rank {expect_ndim}, found rank {ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetFileError(f"{path}: truncated IDX header ({len(data)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    itemsize = np.dtype(dtype).itemsize
    expected = header + int(np.prod(dims, dtype=np.int64)) * itemsize
    if len(data) != expected:
        raise DatasetFileError(
            f"{path}: IDX header says shape {dims} ({expected} bytes) but the file has {len(data)} bytes; "
            "the file is truncated or corrupt")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(np.dtype(dtype).newbyteorder("="), copy=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: str, data: bytes) -> None:
    """Write to a temporary name in the same folder, then rename into place."""
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
