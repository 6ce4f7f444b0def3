"""CIFAR-100: 50k/10k 32x32 RGB images of 100 classes in 20 superclasses, read from the *binary* distribution.

The python-pickle version that Keras reads is never unpickled (a pickle can run code). The binary version
``cifar-100-binary.tar.gz`` holds ``cifar-100-binary/train.bin`` (50,000 records) and ``test.bin`` (10,000):
each record is 1 coarse-label byte, 1 fine-label byte and 3072 pixel bytes (1024 red, 1024 green, 1024 blue,
row-major 32x32). Members are read from the tar into memory by name; nothing is extracted to disk.
"""
from __future__ import annotations

import os
import tarfile

import numpy as np

from ._files import dataset_dirs, downloads_allowed, fetch, user_dir
from .idx import DatasetFileError

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
ARCHIVE = "cifar-100-binary.tar.gz"
ARCHIVE_MD5 = "03b5dce01913d631647c71ecec9e9cb8"  # as published on https://www.cs.toronto.edu/~kriz/cifar.html
FOLDER = "cifar-100-binary"
TRAIN_FILE, TEST_FILE = "train.bin", "test.bin"
TRAIN_RECORDS, TEST_RECORDS = 50000, 10000
RECORD = 2 + 32 * 32 * 3


def parse_records(data: bytes, path: str = "<bytes>", expect_records: int | None = None) -> tuple:
    """Parse CIFAR-100 binary records: ``(images (N, 32, 32, 3) uint8, coarse (N,) uint8, fine (N,) uint8)``.

    The size must be a whole number of 3074-byte records (``expect_records`` of them when given), coarse labels
    0-19 and fine labels 0-99; otherwise ``DatasetFileError`` names the file.

    >>> x, coarse, fine = parse_records(bytes([3, 42]) + bytes(3072), expect_records=1)
    >>> x.shape, coarse.tolist(), fine.tolist()
    ((1, 32, 32, 3), [3], [42])
    """
    if len(data) % RECORD or not data:
        raise DatasetFileError(f"{path}: {len(data)} bytes is not a whole number of {RECORD}-byte CIFAR-100 "
                               "records (coarse label, fine label, 3072 pixels); the file is truncated or not a "
                               "CIFAR-100 binary file")
    n = len(data) // RECORD
    if expect_records is not None and n != expect_records:
        raise DatasetFileError(f"{path}: expected {expect_records} CIFAR-100 records, found {n}; the file is "
                               "truncated or corrupt")
    rec = np.frombuffer(data, np.uint8).reshape(n, RECORD)
    coarse, fine = rec[:, 0].copy(), rec[:, 1].copy()
    for labels, kind, top in ((coarse, "coarse", 20), (fine, "fine", 100)):
        if labels.max() >= top:
            bad = int(np.argmax(labels >= top))
            raise DatasetFileError(f"{path}: record {bad} has {kind} label {int(labels[bad])}, outside 0-{top - 1}; "
                                   "the file is corrupt or not a CIFAR-100 binary file")
    images = rec[:, 2:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, coarse, fine


def _read_archive(path: str) -> dict:
    """``{name: bytes}`` of the regular members train.bin and test.bin (matched by base name)."""
    try:
        with tarfile.open(path, "r:*") as tar:
            out = {}
            for m in tar.getmembers():
                base = os.path.basename(m.name)
                if m.isfile() and base in (TRAIN_FILE, TEST_FILE) and base not in out:
                    out[base] = tar.extractfile(m).read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DatasetFileError(f"{path}: cannot read the tar archive ({e}); delete it and fetch it again") from None
    missing = [f for f in (TRAIN_FILE, TEST_FILE) if f not in out]
    if missing:
        raise DatasetFileError(f"{path}: the archive has no member named {', '.join(missing)}; not the CIFAR-100 "
                               "binary version")
    return out


def _find(path: str | None) -> tuple:
    """``("dir", folder)`` holding train.bin and test.bin, ``("tar", archive)``, or ``(None, places searched)``."""
    own = [os.path.expanduser(path)] if path else []
    looked = []
    for d in own + dataset_dirs("cifar-100"):
        # Bare train.bin/test.bin only in folders meant for CIFAR-100; shared folders need the archive's layout.
        bare = d in own or os.path.basename(d) == "cifar-100"
        subs = ([d] if bare else []) + [os.path.join(d, FOLDER)]
        for sub in subs:
            looked.append(os.path.join(sub, "{train,test}.bin"))
            if all(os.path.isfile(os.path.join(sub, f)) for f in (TRAIN_FILE, TEST_FILE)):
                return "dir", sub
        looked.append(os.path.join(d, ARCHIVE))
        if os.path.isfile(looked[-1]):
            return "tar", looked[-1]
    return None, looked


def load_data(label_mode: str = "fine", *, path: str | None = None, download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(50000, 32, 32, 3)`` / ``(10000, 32, 32, 3)`` and
    int64 labels ``(50000, 1)`` / ``(10000, 1)``, fine (0-99) or coarse (0-19) per ``label_mode``, as Keras returns.

    Looks in ``path`` (a folder), ``$TAPEFLOW_DATA_DIR``, ``~/.tapeflow/datasets/cifar-100``, Keras's cache
    ``~/.keras/datasets`` and ``/usr/share/datasets/cifar-100`` for ``cifar-100-binary.tar.gz`` or its extracted
    ``cifar-100-binary/{train,test}.bin``; then downloads the archive (MD5 checked, written atomically) unless
    ``download=False`` or ``TAPEFLOW_OFFLINE=1``. Keras's own cached copy is the pickle version and is not read.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.')
    kind, where = _find(path)
    why = "downloads are off (download=False)" if not download else "downloads are off (TAPEFLOW_OFFLINE=1)"
    if kind is None and download and downloads_allowed():
        try:
            kind, where = "tar", fetch(URL, os.path.join(user_dir("cifar-100"), ARCHIVE), ARCHIVE_MD5)
        except OSError as e:
            why = f"downloading {URL} failed ({e})"
    if kind is None:
        keras_copy = [os.path.join(d, "cifar-100-python-target") for d in dataset_dirs("cifar-100")
                      if os.path.isdir(os.path.join(d, "cifar-100-python-target"))]
        if keras_copy:
            why += f" (Keras's pickled copy at {keras_copy[0]} is not read: unpickling can run code)"
        raise FileNotFoundError(
            f"cifar100: could not find {ARCHIVE} or its {FOLDER}/train.bin and test.bin. Looked in: "
            + ", ".join(where) + f". {why}. Download {URL} (the binary version; the python version is not read) "
            f"and put it at {os.path.join(user_dir('cifar-100'), ARCHIVE)}, or set TAPEFLOW_DATA_DIR")
    if kind == "tar":
        blobs = _read_archive(where)
        label = {f: f"{where}:{f}" for f in blobs}
    else:
        blobs, label = {}, {}
        for f in (TRAIN_FILE, TEST_FILE):
            label[f] = os.path.join(where, f)
            with open(label[f], "rb") as fh:
                blobs[f] = fh.read()
    pick = 2 if label_mode == "fine" else 1  # position in parse_records' (images, coarse, fine)
    train = parse_records(blobs[TRAIN_FILE], label[TRAIN_FILE], TRAIN_RECORDS)
    test = parse_records(blobs[TEST_FILE], label[TEST_FILE], TEST_RECORDS)
    # Keras reshapes the pickle's Python list of labels, which gives int64 (its docstring says uint8).
    y_train = train[pick].astype(np.int64).reshape(-1, 1)
    y_test = test[pick].astype(np.int64).reshape(-1, 1)
    return (train[0], y_train), (test[0], y_test)
