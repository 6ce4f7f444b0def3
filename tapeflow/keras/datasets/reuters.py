"""Reuters newswire topics: 11,228 newswires as lists of word indices, labelled with one of 46 topics.

Reads Keras's ``reuters.npz`` (``x``: object array of int lists, read by ``safe_npz`` with a restricted unpickler
so the file cannot run code; ``y``: int labels) and ``reuters_word_index.json``, looked up by name in
``$TAPEFLOW_DATA_DIR``, ``~/.tapeflow/datasets/reuters``, Keras's cache ``~/.keras/datasets`` and
``/usr/share/datasets/reuters`` (``path`` may also be a full path), then downloaded. Processing matches Keras 3.15
bit for bit.
"""
from __future__ import annotations

import numpy as np

from . import _sequences as seq
from ._files import KERAS_ORIGIN, find_file, read_word_index
from .idx import DatasetFileError
from .safe_npz import load_npz

URL = KERAS_ORIGIN + "reuters.npz"
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_URL = KERAS_ORIGIN + "reuters_word_index.json"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead",
)


def load_data(path: str = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, test_split: float = 0.2, seed: int = 113, start_char: int | None = 1,
              oov_char: int | None = 2, index_from: int = 3):
    """``(x_train, y_train), (x_test, y_test)`` as Keras returns them.

    All newswires are shuffled with ``np.random.RandomState(seed)``; each starts with ``start_char`` (unless None),
    words are shifted by ``index_from``, newswires of ``maxlen`` or more tokens are dropped, indices outside
    ``skip_top <= i < num_words`` become ``oov_char`` (removed when it is None; ``num_words=None`` means the
    largest index present, which itself becomes ``oov_char``, as in Keras), and the first
    ``int(n * (1 - test_split))`` go to training. ``x_*`` are object arrays of Python int lists.

    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "reuters.npz")
    >>> np.savez(f, x=np.array([[4, 5], [6], [7, 8, 9], [4]], dtype=object), y=np.array([3, 4, 3, 1]))
    >>> (x, y), (xt, yt) = load_data(f, test_split=0.25)
    >>> len(x), len(xt), sorted(y.tolist() + yt.tolist())
    (3, 1, [1, 3, 3, 4])
    >>> tmp.cleanup()
    """
    for name, value in (("num_words", num_words), ("skip_top", skip_top), ("maxlen", maxlen), ("seed", seed),
                        ("start_char", start_char), ("oov_char", oov_char)):
        seq.check_int(name, value)
    seq.check_int("index_from", index_from, allow_none=start_char is None)
    if not 0 <= test_split <= 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1.")
    file = find_file("reuters", path, URL, SHA256)
    d = load_npz(file, ["x", "y"])
    xs, labels = d["x"], d["y"]
    if len(xs) != len(labels):
        raise DatasetFileError(f"{file}: x has {len(xs)} newswires but y has {len(labels)} labels")
    rng = np.random.RandomState(seed)
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    xs, labels = xs[indices], labels[indices]

    flat, lengths = seq.mark(*seq.flatten(xs, f"{file}:x"), start_char, index_from)
    if maxlen:
        flat, lengths, keep = seq.keep_shorter(flat, lengths, maxlen)
        # Keras keeps the labels as a Python list here, so an empty split comes back as float64, not int64.
        labels = list(labels[keep])
    if not num_words:
        num_words = seq.largest_index(flat, lengths, "reuters")
    flat, lengths = seq.limit_vocabulary(flat, lengths, skip_top, num_words, oov_char)
    xs = seq.to_lists(flat, lengths)
    idx = int(len(xs) * (1 - test_split))
    return ((seq.object_array(xs[:idx]), np.array(labels[:idx])),
            (seq.object_array(xs[idx:]), np.array(labels[idx:])))


def get_word_index(path: str = "reuters_word_index.json") -> dict:
    """``{word: index}`` for the Reuters data (``'the': 1``); add ``index_from`` (3) to match ``load_data``.

    >>> import os, tempfile, json
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "reuters_word_index.json")
    >>> with open(f, "w") as fh:
    ...     json.dump({"the": 1, "of": 2}, fh)
    >>> get_word_index(f)["of"]
    2
    >>> tmp.cleanup()
    """
    return read_word_index(find_file("reuters", path, WORD_INDEX_URL, WORD_INDEX_MD5))


def get_label_names() -> tuple:
    """The 46 topic names, indexed by label.

    >>> get_label_names()[3], len(get_label_names())
    ('earn', 46)
    """
    return LABEL_NAMES
