"""Keras's word-sequence preprocessing (imdb, reuters), done on one flat int64 array instead of per word.

A batch of sequences is held as ``(flat, lengths)``: all word indices end to end and each sequence's length.
Each step reproduces one step of ``keras.datasets.imdb/reuters.load_data`` exactly, quirks included:
the start character goes through the ``skip_top``/``num_words`` filter like any word, ``maxlen`` keeps only
sequences *shorter* than it, and ``num_words=None`` becomes the largest index, which is then itself out of range.
"""
from __future__ import annotations

import itertools
import numbers

import numpy as np

from .idx import DatasetFileError


def check_int(name: str, value, allow_none: bool = True) -> None:
    ok = (value is None and allow_none) or (isinstance(value, numbers.Integral) and not isinstance(value, bool))
    if not ok:
        raise TypeError(f"`{name}` must be an integer{' or None' if allow_none else ''}; received {name}={value!r}")


def flatten(seqs: np.ndarray, where: str) -> tuple:
    """``(flat int64, lengths int64)`` of an object array of int lists; anything else is a DatasetFileError.

    >>> f, n = flatten(np.array([[3, 4], [5]], dtype=object), "<test>"); f.tolist(), n.tolist()
    ([3, 4, 5], [2, 1])
    """
    try:
        lengths = np.fromiter(map(len, seqs), np.int64, len(seqs))
        words = list(itertools.chain.from_iterable(seqs))
    except TypeError:
        raise DatasetFileError(f"{where}: expected an array of word-index lists, found elements of type "
                               f"{type(seqs.flat[0]).__name__}; not the expected dataset file") from None
    flat = np.array(words) if words else np.zeros(0, np.int64)
    if flat.ndim != 1 or flat.dtype.kind not in "iu":
        raise DatasetFileError(f"{where}: word indices must be integers, found {flat.dtype} values; "
                               "not the expected dataset file")
    return flat.astype(np.int64, copy=False), lengths


def mark(flat: np.ndarray, lengths: np.ndarray, start_char, index_from) -> tuple:
    """Add ``index_from`` to every word and put ``start_char`` (unless None) in front of each sequence.

    >>> f, n = mark(np.array([0, 1, 2]), np.array([2, 0, 1]), 1, 3); f.tolist(), n.tolist()
    ([1, 3, 4, 1, 1, 5], [3, 1, 2])
    """
    if index_from:
        flat = flat + index_from
    if start_char is not None:
        starts = np.cumsum(lengths) - lengths
        flat = np.insert(flat, starts, start_char)
        lengths = lengths + 1
    return flat, lengths


def keep_shorter(flat: np.ndarray, lengths: np.ndarray, maxlen: int) -> tuple:
    """``(flat, lengths, keep)``: only the sequences shorter than ``maxlen`` (``keep`` marks them)."""
    keep = lengths < maxlen
    return flat[np.repeat(keep, lengths)], lengths[keep], keep


def largest_index(flat: np.ndarray, lengths: np.ndarray, dataset: str) -> int:
    """Keras's ``num_words=None``: the largest index of all sequences (ValueError when one is empty)."""
    if len(lengths) == 0 or (lengths == 0).any():
        raise ValueError(f"{dataset}: num_words=None takes the largest word index of every sequence, but "
                         f"{'there are no sequences' if len(lengths) == 0 else 'a sequence is empty'} "
                         "(as in Keras); pass num_words")
    return int(flat.max())


def limit_vocabulary(flat: np.ndarray, lengths: np.ndarray, skip_top, num_words, oov_char) -> tuple:
    """Words outside ``skip_top <= w < num_words`` become ``oov_char``, or are dropped when it is None.

    >>> f, n = limit_vocabulary(np.array([1, 5, 9, 2]), np.array([3, 1]), 3, 9, None); f.tolist(), n.tolist()
    ([5], [1, 0])
    """
    ok = (flat >= skip_top) & (flat < num_words)
    if oov_char is not None:
        return np.where(ok, flat, oov_char), lengths
    seq_id = np.repeat(np.arange(len(lengths)), lengths)
    return flat[ok], np.bincount(seq_id[ok], minlength=len(lengths)).astype(np.int64)


def to_lists(flat: np.ndarray, lengths: np.ndarray) -> list:
    """Python lists of Python ints, one per sequence.

    >>> to_lists(np.array([7, 8, 9]), np.array([1, 0, 2]))
    [[7], [], [8, 9]]
    """
    words = flat.tolist()
    ends = np.cumsum(lengths).tolist()
    starts = [0] + ends[:-1]
    return [words[a:b] for a, b in zip(starts, ends)]


def object_array(seqs: list) -> np.ndarray:
    """Keras's ``np.array(seqs, dtype="object")``: 1-D of lists when ragged, 2-D when all lengths are equal."""
    return np.array(seqs, dtype="object")
