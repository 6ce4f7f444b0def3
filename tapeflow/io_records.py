"""TFRecord files, framed exactly as TensorFlow frames them, and CRC32C (Castagnoli) in pure Python.

Each record is ``uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)``, all
little-endian, where ``masked(c) = ((c >> 15 | c << 17) + 0xA282EAD8) mod 2**32``. A GZIP or ZLIB file is the
same byte stream compressed as a whole.

>>> from tapeflow.io_records import crc32c, masked_crc32c
>>> hex(crc32c(b"123456789")), hex(masked_crc32c(b""))
('0xe3069283', '0xa282ead8')
"""
from __future__ import annotations

import os
import struct
import tempfile
import zlib

from .errors import DataLossError, NotFoundError

__all__ = ["crc32c", "masked_crc32c", "TFRecordOptions", "TFRecordWriter", "tf_record_iterator",
           "TFRecordCompressionType"]

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), reflected


def _make_tables():
    t0 = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t0.append(c)
    tables = [t0]
    for _ in range(3):
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ t0[prev[i] & 0xFF] for i in range(256)])
    return tables


_T0, _T1, _T2, _T3 = _make_tables()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C of ``data`` (continuing from ``crc``), four bytes per step (slicing-by-4 tables)."""
    c = crc ^ 0xFFFFFFFF
    data = bytes(data)
    n4 = len(data) & ~3
    t0, t1, t2, t3 = _T0, _T1, _T2, _T3
    for (w,) in struct.iter_unpack("<I", data[:n4]):
        c ^= w
        c = t3[c & 0xFF] ^ t2[(c >> 8) & 0xFF] ^ t1[(c >> 16) & 0xFF] ^ t0[c >> 24]
    for b in data[n4:]:
        c = t0[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TensorFlow's masked CRC-32C, as stored in TFRecord files."""
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


class TFRecordCompressionType:
    """``tf.io.TFRecordCompressionType``: NONE, ZLIB, GZIP."""

    NONE, ZLIB, GZIP = 0, 1, 2


_NAMES = {None: "", "": "", 0: "", 1: "ZLIB", 2: "GZIP", "ZLIB": "ZLIB", "GZIP": "GZIP"}


class TFRecordOptions:
    """``tf.io.TFRecordOptions(compression_type=None, ..., compression_level=None)``."""

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None, output_buffer_size=None,
                 window_bits=None, compression_level=None, compression_method=None, mem_level=None,
                 compression_strategy=None):
        self.compression_type = _compression_name(compression_type)
        self.compression_level = -1 if compression_level is None else int(compression_level)

    @classmethod
    def get_compression_type_string(cls, options) -> str:
        """``""``, ``"ZLIB"`` or ``"GZIP"`` for options, a name or None."""
        return options.compression_type if isinstance(options, TFRecordOptions) else _compression_name(options)


def _compression_name(value) -> str:
    key = value.upper() if isinstance(value, str) else value
    if key not in _NAMES:
        raise ValueError(f"TFRecord: compression_type must be None, '', 'ZLIB' or 'GZIP', got {value!r}")
    return _NAMES[key]


def _frame(record: bytes) -> bytes:
    header = struct.pack("<Q", len(record))
    return header + struct.pack("<I", masked_crc32c(header)) + record + struct.pack("<I", masked_crc32c(record))


class TFRecordWriter:
    """``tf.io.TFRecordWriter(path, options=None)``: writes records to a temporary file in the same folder and
    moves it into place on ``close()``.

    >>> import os, tempfile, tapeflow as tf
    >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
    >>> with tf.io.TFRecordWriter(path) as w:
    ...     w.write(b"hello")
    >>> open(path, "rb").read().hex()
    '0500000000000000eab2043e68656c6c6fbb1f1c19'
    """

    def __init__(self, path, options=None):
        opts = options if isinstance(options, TFRecordOptions) else TFRecordOptions(options)
        self._path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self._path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"TFRecordWriter: the folder of {self._path!r} does not exist")
        fd, self._tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".tfrecord", dir=folder)
        self._file = os.fdopen(fd, "wb")
        level = opts.compression_level
        self._z = (None if not opts.compression_type else
                   zlib.compressobj(level, zlib.DEFLATED, 31 if opts.compression_type == "GZIP" else 15))

    def write(self, record) -> None:
        """Append one record (bytes, or a str as UTF-8, or a scalar string tensor)."""
        if self._file is None:
            raise ValueError(f"TFRecordWriter({self._path!r}): write() after close()")
        data = _as_bytes(record, f"TFRecordWriter({self._path!r}).write")
        framed = _frame(data)
        self._file.write(self._z.compress(framed) if self._z else framed)

    def flush(self) -> None:
        """Push buffered bytes to the (temporary) file."""
        if self._file is not None:
            if self._z:
                self._file.write(self._z.flush(zlib.Z_SYNC_FLUSH))
            self._file.flush()

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._file is None:
            return
        if self._z:
            self._file.write(self._z.flush())
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self._tmp, self._path)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self._file is not None:  # do not put a half-written file in place
            self._file.close()
            self._file = None
            os.remove(self._tmp)
        else:
            self.close()

    def __del__(self):
        if getattr(self, "_file", None) is not None:
            try:
                self.close()
            except Exception:  # noqa: BLE001 - never raise from a finalizer
                pass


def _as_bytes(value, what: str) -> bytes:
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "ndim") and value.ndim == 0:
        value = value.item()
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what}: expected bytes or a scalar string, got {type(value).__name__}")


class _Stream:
    """Reads a file in blocks, decompressing GZIP/ZLIB on the fly."""

    def __init__(self, f, compression: str, block: int):
        self._f, self._block, self._buf, self._pos = f, max(int(block), 1 << 12), b"", 0
        self._z = zlib.decompressobj(31 if compression == "GZIP" else 15) if compression else None

    def _more(self) -> bool:
        while True:
            raw = self._f.read(self._block)
            if self._z is None:
                chunk = raw
            elif raw:
                chunk = self._z.decompress(raw)
                while self._z.eof and self._z.unused_data:  # concatenated gzip members
                    rest = self._z.unused_data
                    self._z = zlib.decompressobj(31)
                    chunk += self._z.decompress(rest)
            else:
                chunk = self._z.flush()
            if chunk:
                self._buf = self._buf[self._pos:] + chunk
                self._pos = 0
                return True
            if not raw:
                return False

    def read(self, n: int) -> bytes:
        while len(self._buf) - self._pos < n and self._more():
            pass
        out = self._buf[self._pos:self._pos + n]
        self._pos += len(out)
        return out


def _loss(path: str, message: str) -> DataLossError:
    return DataLossError(None, None, f"TFRecord file {path!r}: {message}")


def tf_record_iterator(path, compression_type=None, buffer_size=None, verify=True):
    """Yield the records of one TFRecord file as bytes, checking both CRCs; errors name the file and record."""
    path = os.fspath(path.numpy() if hasattr(path, "numpy") else path)
    path = path.decode() if isinstance(path, bytes) else str(path)
    compression = _compression_name(compression_type)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise NotFoundError(None, None, f"TFRecordDataset: cannot open {path!r}: {e.strerror}") from None
    with f:
        stream = _Stream(f, compression, buffer_size or 256 << 10)
        index = 0
        while True:
            try:
                header = stream.read(12)
            except zlib.error as e:
                raise _loss(path, f"{compression} decompression failed before record "
                                 f"{index}: {e}") from None
            if not header:
                return
            if len(header) < 12:
                raise _loss(path, f"truncated header of record {index} "
                                 f"({len(header)} of 12 bytes); is compression_type={compression!r} right?")
            (length,), (lcrc,) = struct.unpack("<Q", header[:8]), struct.unpack("<I", header[8:])
            if verify and masked_crc32c(header[:8]) != lcrc:
                raise _loss(path, f"corrupted record {index}: the length CRC does not "
                                 f"match (expected {masked_crc32c(header[:8]):#010x}, stored {lcrc:#010x}); "
                                 f"is compression_type={compression!r} right?")
            body = stream.read(length + 4)
            if len(body) < length + 4:
                raise _loss(path, f"truncated record {index}: expected {length + 4} "
                                 f"bytes of data and CRC, got {len(body)}")
            data, (dcrc,) = body[:length], struct.unpack("<I", body[length:])
            if verify and masked_crc32c(data) != dcrc:
                raise _loss(path, f"corrupted record {index}: the data CRC does not "
                                 f"match (expected {masked_crc32c(data):#010x}, stored {dcrc:#010x})")
            yield data
            index += 1
