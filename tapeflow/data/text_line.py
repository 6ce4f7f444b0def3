"""``tf.data.TextLineDataset`` and ``tf.data.FixedLengthRecordDataset``: lines or fixed-size records of files.

Both read plain, GZIP or ZLIB files in blocks and yield scalar string tensors (bytes); with
``num_parallel_reads`` > 1 they interleave files one element at a time, as TensorFlow does.

>>> import os, tempfile, tapeflow as tf
>>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
>>> with open(path, "wb") as f:
...     _ = f.write(b"one\\r\\ntwo\\n\\nlast")
>>> [s.numpy() for s in tf.data.TextLineDataset(path)]
[b'one', b'two', b'', b'last']
"""
from __future__ import annotations

import os
import zlib

from ..errors import DataLossError, InvalidArgumentError, NotFoundError
from ..io_records import _compression_name, _Stream
from .tfrecord import TFRecordDataset, _filenames

__all__ = ["TextLineDataset", "FixedLengthRecordDataset"]

_BLOCK = 256 << 10


def _checked_files(filenames, who: str) -> list:
    try:
        return _filenames(filenames)
    except ValueError:
        raise ValueError(f"{who}: `filenames` is empty; pass at least one file name") from None


def _checked_compression(compression_type, who: str) -> str:
    try:
        return _compression_name(compression_type)
    except ValueError:
        raise ValueError(f"{who}: `compression_type` must be None, '', 'ZLIB' or 'GZIP', "
                         f"got {compression_type!r}") from None


def _open(path: str, who: str):
    try:
        return open(path, "rb")
    except OSError as e:
        raise NotFoundError(None, None, f"{who}: cannot open {path!r}: {e.strerror}") from None


def _chunks(path: str, compression: str, buffer_size, who: str):
    """Yield the (decompressed) bytes of one file in blocks; errors name the file."""
    with _open(path, who) as f:
        stream = _Stream(f, compression, buffer_size or _BLOCK)
        block = max(int(buffer_size or _BLOCK), 1 << 12)
        while True:
            try:
                chunk = stream.read(block)
            except zlib.error as e:
                raise DataLossError(None, None, f"{who}: {compression} decompression of {path!r} failed: {e}; "
                                                f"is compression_type={compression!r} right?") from None
            if not chunk:
                return
            yield chunk


class TextLineDataset(TFRecordDataset):
    """``tf.data.TextLineDataset(filenames, compression_type=None, buffer_size=None, num_parallel_reads=None)``.

    One element per line, without its ``\\n``. As in TensorFlow, every ``\\r`` is dropped (so CRLF files read
    like LF files), an empty line gives ``b''``, and a final line without a newline is kept unless it is empty.

    >>> import os, tempfile, gzip, tapeflow as tf
    >>> path = os.path.join(tempfile.mkdtemp(), "a.txt.gz")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(gzip.compress(b"a\\nb\\n"))
    >>> [s.numpy() for s in tf.data.TextLineDataset(path, compression_type="GZIP")]
    [b'a', b'b']
    """

    _who = "TextLineDataset"

    def __init__(self, filenames, compression_type=None, buffer_size=None, num_parallel_reads=None, name=None):
        files = _checked_files(filenames, self._who)
        compression = _checked_compression(compression_type, self._who)
        super().__init__(files, compression, buffer_size, num_parallel_reads, name)

    def _records(self, path):
        rest = b""
        for chunk in _chunks(path, self._compression, self._buffer_size, self._who):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield line.replace(b"\r", b"")
        rest = rest.replace(b"\r", b"")
        if rest:
            yield rest


class FixedLengthRecordDataset(TFRecordDataset):
    """``tf.data.FixedLengthRecordDataset(filenames, record_bytes, header_bytes=None, footer_bytes=None,
    buffer_size=None, compression_type=None, num_parallel_reads=None)``.

    Each file is ``header | record * n | footer``; each element is one ``record_bytes``-long record. A body
    that is not a multiple of ``record_bytes`` is an ``InvalidArgumentError`` (``DataLossError`` for a
    compressed file, found when the end is reached), as in TensorFlow.

    >>> import os, tempfile, tapeflow as tf
    >>> path = os.path.join(tempfile.mkdtemp(), "r.bin")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"HDabcdefF")
    >>> [r.numpy() for r in tf.data.FixedLengthRecordDataset(path, 3, header_bytes=2, footer_bytes=1)]
    [b'abc', b'def']
    """

    _who = "FixedLengthRecordDataset"

    def __init__(self, filenames, record_bytes, header_bytes=None, footer_bytes=None, buffer_size=None,
                 compression_type=None, num_parallel_reads=None, name=None):
        files = _checked_files(filenames, self._who)
        compression = _checked_compression(compression_type, self._who)
        self._record_bytes = self._count(record_bytes, "record_bytes", 1)
        self._header = self._count(header_bytes, "header_bytes", 0)
        self._footer = self._count(footer_bytes, "footer_bytes", 0)
        super().__init__(files, compression, buffer_size, num_parallel_reads, name)

    def _count(self, value, what: str, least: int) -> int:
        if value is None:
            return 0
        if hasattr(value, "numpy"):
            value = value.numpy()
        n = int(value)
        if n < least or n != value:
            raise ValueError(f"{self._who}: `{what}` must be an integer >= {least}, got {value!r}")
        return n

    def _bad_body(self, path: str, body: int, error):
        return error(None, None, f"{self._who}: excluding the header ({self._header} bytes) and footer "
                                 f"({self._footer} bytes), file {path!r} has a body of {body} bytes, which is not "
                                 f"a multiple of record_bytes={self._record_bytes}")

    def _records(self, path):
        n, head, foot = self._record_bytes, self._header, self._footer
        if not self._compression:
            body = os.path.getsize(path) - head - foot if os.path.exists(path) else 0
            if body < 0 or body % n:
                raise self._bad_body(path, body, InvalidArgumentError)
        buf, skipped, pos, done = b"", 0, 0, 0
        for chunk in _chunks(path, self._compression, self._buffer_size, self._who):
            if skipped < head:
                take = min(head - skipped, len(chunk))
                skipped, chunk = skipped + take, chunk[take:]
            buf = buf[pos:] + chunk
            pos = 0
            while len(buf) - pos >= n + foot:  # keep `foot` bytes back: they may be the footer
                yield buf[pos:pos + n]
                pos, done = pos + n, done + n
        left = len(buf) - pos
        if skipped < head or left != foot:
            raise self._bad_body(path, done + skipped - head + left - foot, DataLossError)
