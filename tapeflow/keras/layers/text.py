"""``TextVectorization``: Keras 3's text-to-index layer, built on ``StringLookup``.

Each string is standardized (by default lowercased and stripped of ASCII punctuation), split (by
default on runs of whitespace), optionally expanded with n-grams (joined by one space: ``ngrams=2``
adds bigrams to the unigrams, a tuple picks the sizes), then looked up. In ``output_mode="int"``
index 0 is padding (the empty token), 1 is ``[UNK]``, and rows are padded with 0 to the longest row
or cut to ``output_sequence_length``. The vector modes (multi_hot, count, tf_idf) give one row per
string over ``[UNK]`` and the vocabulary. ``adapt`` orders the vocabulary as ``StringLookup`` does:
by count, then by token in reverse.

>>> import numpy as np, tapeflow as tf
>>> vectorize = tf.keras.layers.TextVectorization()
>>> vectorize.adapt(np.array(["The cat sat on the mat.", "The dog ate my HOMEWORK!", "cat, dog; cat?"]))
>>> vectorize.get_vocabulary()[:5]
['', '[UNK]', 'the', 'cat', 'dog']
>>> vectorize(np.array(["the cat", "a dog ate the cat!!"])).numpy().tolist()
[[2, 3, 0, 0, 0], [1, 4, 10, 2, 3]]
"""
from __future__ import annotations

import re
import string

import numpy as np

from ...autodiff.tensor import Tensor
from ._adapt import adapt_batches
from .base import Layer
from .lookup import StringLookup, _array

__all__ = ["TextVectorization"]

_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")
_STANDARDIZE = {
    "lower_and_strip_punctuation": lambda s: _PUNCTUATION.sub("", s.lower()),
    "lower": str.lower,
    "strip_punctuation": lambda s: _PUNCTUATION.sub("", s),
}
_SPLIT = {"whitespace": str.split, "character": list}


class TextVectorization(Layer):
    """Turn strings into sequences of token indices or into per-string vectors, as
    ``keras.layers.TextVectorization``. ``standardize`` and ``split`` may also be callables on one Python
    string (returning a string, and a list of tokens). ``ragged=True`` and ``sparse=True`` are refused:
    tapeflow has neither ragged nor sparse tensors."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        kwargs.pop("vocabulary_size", None)
        super().__init__(**kwargs)
        who = f"TextVectorization '{self.name}'"
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(f"{who}: standardize must be None, a callable or one of {sorted(_STANDARDIZE)}, got "
                             f"{standardize!r}")
        if not (split is None or callable(split) or split in _SPLIT):
            raise ValueError(f"{who}: split must be None, a callable or one of {sorted(_SPLIT)}, got {split!r}")
        if output_mode not in ("int", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"{who}: output_mode must be 'int', 'multi_hot', 'count' or 'tf_idf', got "
                             f"{output_mode!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(f"{who}: output_sequence_length only applies to output_mode='int'")
        if ragged or sparse:
            raise ValueError(f"{who}: ragged=True and sparse=True are not supported (tapeflow has no ragged or "
                             "sparse tensors); rows are padded instead")
        if isinstance(ngrams, int) and not isinstance(ngrams, bool):
            sizes = tuple(range(1, ngrams + 1))
        elif ngrams is None:
            sizes = (1,)
        else:
            sizes = tuple(int(n) for n in ngrams)
        if not sizes or min(sizes) < 1:
            raise ValueError(f"{who}: ngrams must be None, a positive integer or a tuple of them, got {ngrams!r}")
        self.max_tokens, self.standardize, self.split, self.ngrams = max_tokens, standardize, split, ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.pad_to_max_tokens, self.encoding, self._sizes = bool(pad_to_max_tokens), encoding, sizes
        self._lookup = StringLookup(max_tokens=max_tokens, mask_token="", vocabulary=vocabulary,
                                    idf_weights=idf_weights, output_mode=output_mode,
                                    pad_to_max_tokens=pad_to_max_tokens, encoding=encoding, name=f"{self.name}_lookup")

    # -- text to tokens ---------------------------------------------------------------------
    def _tokens(self, text: str) -> list:
        std = _STANDARDIZE.get(self.standardize, self.standardize) if isinstance(self.standardize, str) \
            else self.standardize
        if std is not None:
            text = std(text)
        splitter = _SPLIT.get(self.split, self.split) if isinstance(self.split, str) else self.split
        words = [text] if splitter is None else [w for w in splitter(text) if w != ""]
        out = []
        for n in self._sizes:
            out += words if n == 1 else [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
        return out

    def _rows(self, data) -> list:
        arr = _array(data)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim > 1:
            raise ValueError(f"TextVectorization '{self.name}': expected a batch of strings, shape (batch,) or "
                             f"(batch, 1), got {arr.shape}")
        texts = [v.decode(self.encoding) if isinstance(v, bytes) else str(v) for v in np.atleast_1d(arr).tolist()]
        return [self._tokens(t) for t in texts]

    @staticmethod
    def _padded(rows, width=None) -> np.ndarray:
        width = max((len(r) for r in rows), default=0) if width is None else width
        out = np.full((len(rows), width), "", dtype=object)
        for i, r in enumerate(rows):
            r = r[:width]
            out[i, :len(r)] = r
        return out

    # -- vocabulary -------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Build the vocabulary (and TF-IDF weights) from strings: an array, a Tensor or a Dataset."""
        rows = [row for b in adapt_batches(data, batch_size, steps) for row in self._rows(b)]
        self._lookup.adapt(self._padded(rows))

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup.set_vocabulary(vocabulary, idf_weights)

    def get_vocabulary(self, include_special_tokens=True) -> list:
        return self._lookup.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup.vocabulary_size()

    # -- call ---------------------------------------------------------------------------------
    def call(self, inputs):
        rows = self._rows(inputs)
        if self.output_mode == "int":
            return self._lookup(self._padded(rows, self.output_sequence_length))
        out = self._lookup(self._padded(rows))      # "" pads are the mask token: they add nothing
        return out if out._value.ndim == 2 else Tensor._wrap(out._value.reshape(len(rows), -1))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        return (input_shape[0], depth)

    def get_config(self):
        config = super().get_config()
        lookup = self._lookup.get_config()
        config.update({"max_tokens": self.max_tokens, "standardize": self.standardize, "split": self.split,
                       "ngrams": self.ngrams, "output_mode": self.output_mode,
                       "output_sequence_length": self.output_sequence_length,
                       "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": False, "ragged": False,
                       "vocabulary": lookup["vocabulary"], "idf_weights": lookup["idf_weights"],
                       "encoding": self.encoding, "vocabulary_size": self.vocabulary_size()})
        return config
