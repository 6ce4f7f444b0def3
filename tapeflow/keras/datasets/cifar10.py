"""CIFAR-10: 50k/10k 32x32 RGB images of 10 classes, read from the *binary* distribution.

The python-pickle version of CIFAR-10 is never unpickled (a pickle can run code). The binary version
``cifar-10-binary.tar.gz`` holds ``data_batch_1.bin`` ... ``data_batch_5.bin`` and ``test_batch.bin``:
records of 1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue, row-major 32x32).
Members are read from the tar into memory by name; nothing is extracted to disk.
"""
from __future__ import annotations

import os
import tarfile
import urllib.request

import numpy as np

from ._loader import search_dirs
from .idx import DatasetFileError, atomic_write, sha256

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
RECORD = 1 + 32 * 32 * 3
RECORDS_PER_FILE = 10000
SYSTEM_DIRS = ("/usr/share/datasets/cifar-10",)
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def parse_batch(data: bytes, path: str = "<bytes>", expect_records: int | None = None) -> tuple:
    """Parse one CIFAR-10 binary batch: ``(images (N, 32, 32, 3) uint8, labels (N,) uint8)``.

    The size must be a whole number of 3073-byte records (``expect_records`` of them when given) and every
    label must be 0-9; otherwise ``DatasetFileError`` names the file.

    >>> x, y = parse_batch(bytes([7]) + bytes(3072), expect_records=1)
    >>> x.shape, y.tolist()
    ((1, 32, 32, 3), [7])
    """
    if len(data) % RECORD or not data:
        raise DatasetFileError(f"{path}: {len(data)} bytes is not a whole number of {RECORD}-byte CIFAR-10 "
                               "records (1 label byte + 3072 pixels); the file is truncated or not a CIFAR-10 "
                               "binary batch")
    n = len(data) // RECORD
    if expect_records is not None and n != expect_records:
        raise DatasetFileError(f"{path}: expected {expect_records} CIFAR-10 records, found {n}; the file is "
                               "truncated or corrupt")
    rec = np.frombuffer(data, np.uint8).reshape(n, RECORD)
    labels = rec[:, 0].copy()
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DatasetFileError(f"{path}: record {bad} has label {int(labels[bad])}, outside 0-9; the file is "
                               "corrupt or not a CIFAR-10 binary batch")
    images = rec[:, 1:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, labels


def _read_member(tar: tarfile.TarFile, fname: str, archive: str) -> bytes:
    """The bytes of the regular-file member whose base name is ``fname`` (no extraction)."""
    for m in tar.getmembers():
        if m.isfile() and os.path.basename(m.name) == fname:
            f = tar.extractfile(m)
            if f is None:
                break
            return f.read()
    raise DatasetFileError(f"{archive}: the archive has no member named {fname}; not the CIFAR-10 binary version")


def _load_from_archive(path: str, records: dict) -> dict:
    try:
        with tarfile.open(path, "r:*") as tar:
            return {f: _read_member(tar, f, path) for f in records}
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DatasetFileError(f"{path}: cannot read the tar archive ({e}); delete it and fetch it again") from None


def _download(dest_dir: str) -> str | None:
    try:
        with urllib.request.urlopen(URL, timeout=60) as r:  # noqa: S310 - fixed https URL
            data = r.read()
    except OSError:
        return None
    if sha256(data) != ARCHIVE_SHA256:
        raise DatasetFileError(f"{URL}: downloaded file failed its sha256 check; not saved")
    dest = os.path.join(dest_dir, ARCHIVE)
    atomic_write(dest, data)
    return dest


def _find(path: str | None) -> tuple:
    """``("dir", folder)`` holding the .bin files, ``("tar", archive)``, or ``(None, dirs searched)``."""
    dirs = search_dirs("cifar-10", path, SYSTEM_DIRS)
    for d in dirs:
        for sub in (d, os.path.join(d, "cifar-10-batches-bin")):
            if all(os.path.isfile(os.path.join(sub, f)) for f in TRAIN_FILES + (TEST_FILE,)):
                return "dir", sub
        if os.path.isfile(os.path.join(d, ARCHIVE)):
            return "tar", os.path.join(d, ARCHIVE)
    return None, dirs


def load_data(path: str | None = None, download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``: uint8 ``(50000, 32, 32, 3)``, ``(50000, 1)``,
    ``(10000, 32, 32, 3)``, ``(10000, 1)``, as Keras returns them.

    Looks in ``path``, ``$TAPEFLOW_DATA_DIR`` (and its ``cifar-10`` folder), ``~/.tapeflow/datasets/cifar-10``
    for either the extracted ``.bin`` batches (optionally in ``cifar-10-batches-bin/``) or the archive
    ``cifar-10-binary.tar.gz``; then downloads the archive (SHA-256 checked, written atomically) unless
    ``TAPEFLOW_OFFLINE=1``. Only the binary format is read; the pickle version is refused.
    """
    kind, where = _find(path)
    if kind is None and download and os.environ.get("TAPEFLOW_OFFLINE") != "1":
        dest_dir = os.path.join(os.path.expanduser("~"), ".tapeflow", "datasets", "cifar-10")
        got = _download(dest_dir)
        if got is not None:
            kind, where = "tar", got
    if kind is None:
        raise FileNotFoundError(
            f"cifar10: could not find {ARCHIVE} or its data_batch_1..5.bin/test_batch.bin. Looked in: "
            + ", ".join(where) + f". Download {URL} (the binary version, not the python one) into "
            "~/.tapeflow/datasets/cifar-10/, or set TAPEFLOW_DATA_DIR")
    names = TRAIN_FILES + (TEST_FILE,)
    if kind == "tar":
        blobs = _load_from_archive(where, names)
        label = {f: f"{where}:{f}" for f in names}
    else:
        blobs, label = {}, {}
        for f in names:
            p = os.path.join(where, f)
            with open(p, "rb") as fh:
                blobs[f] = fh.read()
            label[f] = p
    parts = [parse_batch(blobs[f], label[f], RECORDS_PER_FILE) for f in TRAIN_FILES]
    x_test, y_test = parse_batch(blobs[TEST_FILE], label[TEST_FILE], RECORDS_PER_FILE)
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts]).reshape(-1, 1)
    return (x_train, y_train), (x_test, y_test.reshape(-1, 1))
