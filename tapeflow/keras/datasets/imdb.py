"""IMDB movie-review sentiment: 25k/25k reviews as lists of word indices, labelled 0 (negative) / 1 (positive).

Reads Keras's ``imdb.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``; the sequences are object arrays,
read by ``safe_npz`` with a restricted unpickler, so the file cannot run code) and ``imdb_word_index.json``.
Files are looked up by name in ``$TAPEFLOW_DATA_DIR``, ``~/.tapeflow/datasets/imdb``, Keras's cache
``~/.keras/datasets`` and ``/usr/share/datasets/imdb`` (``path`` may also be a full path), then downloaded.
Shuffling, ``num_words``/``skip_top``/``maxlen`` filtering and index shifting match Keras 3.15 bit for bit.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import _sequences as seq
from ._files import KERAS_ORIGIN, find_file, read_word_index
from .idx import DatasetFileError
from .safe_npz import load_npz

URL = KERAS_ORIGIN + "imdb.npz"
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_URL = KERAS_ORIGIN + "imdb_word_index.json"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def _shuffled(x: np.ndarray, y: np.ndarray, rng: np.random.RandomState) -> tuple:
    indices = np.arange(len(x))
    rng.shuffle(indices)
    return x[indices], y[indices]


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3, **kwargs):
    """``(x_train, y_train), (x_test, y_test)`` as Keras returns them.

    ``x_*`` are object arrays of Python lists of word indices: each review starts with ``start_char`` (unless
    None), words are shifted by ``index_from``, reviews of ``maxlen`` or more tokens are dropped, and indices
    outside ``skip_top <= i < num_words`` become ``oov_char`` (or are removed when it is None). With
    ``num_words=None`` the limit is the largest index present, so that one word becomes ``oov_char``, as in Keras.
    ``y_*`` are the int labels. Train and test are shuffled with ``np.random.RandomState(seed)``, in that order.
    Extra keyword arguments are ignored with a warning (Keras ignores them silently).

    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "imdb.npz")
    >>> reviews = np.array([[5, 6, 7], [8, 9], [5]], dtype=object)
    >>> np.savez(f, x_train=reviews, y_train=np.array([1, 0, 1]), x_test=reviews[:2], y_test=np.array([0, 1]))
    >>> (x, y), (xt, yt) = load_data(f, num_words=11)
    >>> sorted(x.tolist()), y.dtype
    ([[1, 2, 2], [1, 8], [1, 8, 9, 10]], dtype('int64'))
    >>> tmp.cleanup()
    """
    if kwargs:
        warnings.warn(f"imdb.load_data: ignoring unknown arguments {sorted(kwargs)} (Keras ignores them too)",
                      stacklevel=2)
    for name, value in (("num_words", num_words), ("skip_top", skip_top), ("maxlen", maxlen), ("seed", seed),
                        ("start_char", start_char), ("oov_char", oov_char)):
        seq.check_int(name, value)
    seq.check_int("index_from", index_from, allow_none=start_char is None)
    file = find_file("imdb", path, URL, SHA256)
    d = load_npz(file, ["x_train", "y_train", "x_test", "y_test"])
    rng = np.random.RandomState(seed)
    x_train, labels_train = _shuffled(d["x_train"], d["y_train"], rng)
    x_test, labels_test = _shuffled(d["x_test"], d["y_test"], rng)

    parts = []
    for x, labels, key in ((x_train, labels_train, "x_train"), (x_test, labels_test, "x_test")):
        if len(x) != len(labels):
            raise DatasetFileError(f"{file}: {key} has {len(x)} reviews but its labels {len(labels)}")
        flat, lengths = seq.mark(*seq.flatten(x, f"{file}:{key}"), start_char, index_from)
        if maxlen:
            flat, lengths, keep = seq.keep_shorter(flat, lengths, maxlen)
            labels = labels[keep]
        parts.append((flat, lengths, labels))
    if maxlen and (len(parts[0][1]) == 0 or len(parts[1][1]) == 0):
        raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                         "Increase maxlen.")
    flat = np.concatenate([parts[0][0], parts[1][0]])
    lengths = np.concatenate([parts[0][1], parts[1][1]])
    if not num_words:
        num_words = seq.largest_index(flat, lengths, "imdb")
    flat, lengths = seq.limit_vocabulary(flat, lengths, skip_top, num_words, oov_char)
    xs = seq.to_lists(flat, lengths)
    labels = np.concatenate([parts[0][2], parts[1][2]])
    idx = len(parts[0][1])
    return ((seq.object_array(xs[:idx]), labels[:idx]), (seq.object_array(xs[idx:]), labels[idx:]))


def get_word_index(path: str = "imdb_word_index.json") -> dict:
    """``{word: index}`` for the IMDB data (index 1 is the most frequent word); add ``index_from`` (3) to
    match the indices ``load_data`` returns. Looked up like ``imdb.npz``.

    >>> import os, tempfile, json
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "imdb_word_index.json")
    >>> with open(f, "w") as fh:
    ...     json.dump({"the": 1, "and": 2}, fh)
    >>> get_word_index(f)
    {'the': 1, 'and': 2}
    >>> tmp.cleanup()
    """
    return read_word_index(find_file("imdb", path, WORD_INDEX_URL, WORD_INDEX_MD5))
