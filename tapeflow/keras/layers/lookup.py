"""Keras 3's lookup layers: StringLookup and IntegerLookup map tokens to vocabulary indices (or back,
with ``invert=True``), or to one-hot, multi-hot, count and TF-IDF vectors; CategoryEncoding turns
integer indices into one-hot, multi-hot or count vectors.

Index layout, as Keras: in ``output_mode="int"`` the mask token (when set) is index 0, then come
``num_oov_indices`` out-of-vocabulary slots, then the vocabulary. The vector modes leave the mask out:
a mask token adds nothing to its row. The vector modes give float32 (Keras 3 on TensorFlow gives int64
for one_hot/multi_hot/count, which its ops promote when mixed with floats; tapeflow's ops do not mix
dtypes, so the vectors come out ready for Dense and Concatenate). ``adapt`` orders tokens by count,
highest first, and breaks ties by the token itself in reverse (Keras's ``lexsort`` order). TF-IDF
weights from ``adapt`` are ``log(1 + documents / (1 + documents containing the token))``; the
out-of-vocabulary slot gets their mean. These layers run eagerly on NumPy and have no gradients.

>>> import numpy as np, tapeflow as tf
>>> lookup = tf.keras.layers.StringLookup()
>>> lookup.adapt(np.array([["b", "a", "c", "a"], ["d", "b", "a", "e"]]))
>>> lookup.get_vocabulary()
['[UNK]', 'a', 'b', 'e', 'd', 'c']
>>> lookup(np.array([["a", "z"], ["e", "b"]])).numpy().tolist()
[[1, 0], [3, 2]]
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ...backend.hashing import fingerprint64
from ._adapt import adapt_batches
from .base import Layer
from .tracking import CTX

__all__ = ["StringLookup", "IntegerLookup", "CategoryEncoding"]

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _array(data) -> np.ndarray:
    return np.asarray(data._value if isinstance(data, Tensor) else data)


def _bag_counts(rows: np.ndarray, depth: int, weights=None) -> np.ndarray:
    """(len(rows), depth): how often (or with what total weight) each index in ``[0, depth)`` occurs in
    each row; negative indices (masked tokens) count for nothing. One ``bincount`` over row-offset indices."""
    keep = rows >= 0
    flat = (np.arange(len(rows))[:, None] * depth + rows)[keep]
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    return np.bincount(flat, weights=w, minlength=len(rows) * depth).reshape(len(rows), depth)


class _IndexLookup(Layer):
    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                 output_mode, pad_to_max_tokens, sparse, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        if output_mode not in _MODES:
            raise ValueError(f"{who}: output_mode must be one of {_MODES}, got {output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{who}: invert=True needs output_mode='int', got {output_mode!r}")
        if sparse:
            raise ValueError(f"{who}: sparse=True is not supported (tapeflow has no sparse tensors); "
                             "use sparse=False for dense outputs")
        if not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise ValueError(f"{who}: num_oov_indices must be an integer >= 0, got {num_oov_indices!r}")
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{who}: max_tokens must be None or > 1, got {max_tokens!r}")
        if pad_to_max_tokens and max_tokens is None and output_mode != "int":
            raise ValueError(f"{who}: pad_to_max_tokens=True needs max_tokens")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{who}: idf_weights only apply to output_mode='tf_idf', got {output_mode!r}")
        self.max_tokens, self.num_oov_indices = max_tokens, num_oov_indices
        self.mask_token, self.oov_token, self.invert = mask_token, oov_token, bool(invert)
        self.output_mode, self.pad_to_max_tokens, self.sparse = output_mode, bool(pad_to_max_tokens), False
        # the index of the first vocabulary token: after the mask (int mode only) and the OOV slots
        self._start = num_oov_indices + (1 if mask_token is not None and output_mode == "int" else 0)
        self._vocab, self._index, self._idf, self._oov_idf = [], {}, None, 0.0
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- vocabulary -------------------------------------------------------------------------
    def _who(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _tokens(self, values) -> list:
        """Python tokens (str or int) from an array of them."""
        raise NotImplementedError

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list, an array, or a text file with one token per line) and, for
        ``tf_idf``, one weight per token."""
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding="utf-8") as f:
                vocabulary = [line.rstrip("\n") for line in f if line.rstrip("\n")]
        tokens = self._tokens(_array(vocabulary).reshape(-1))
        if len(set(tokens)) != len(tokens):
            seen, dup = set(), None
            for t in tokens:
                if t in seen:
                    dup = t
                    break
                seen.add(t)
            raise ValueError(f"{self._who()}: the vocabulary repeats {dup!r}; pass each token once")
        for name, special in (("mask", self.mask_token), ("OOV", self.oov_token)):
            if special is not None and special in tokens:
                raise ValueError(f"{self._who()}: the vocabulary holds the {name} token {special!r}; leave the "
                                 "special tokens out (the layer places them itself)")
        size = len(tokens) + self._start
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"{self._who()}: a vocabulary of {len(tokens)} tokens needs {size} indices with the "
                             f"special tokens, more than max_tokens={self.max_tokens}")
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{self._who()}: output_mode='tf_idf' needs idf_weights with the vocabulary")
            idf = np.asarray(_array(idf_weights), dtype=np.float64).reshape(-1)
            if len(idf) != len(tokens):
                raise ValueError(f"{self._who()}: idf_weights has {len(idf)} entries for {len(tokens)} tokens")
            self._idf, self._oov_idf = idf, float(idf.mean()) if len(idf) else 0.0
        self._vocab = tokens
        self._index = {t: i + self._start for i, t in enumerate(tokens)}

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The tokens in index order (with the mask, in int mode, and the OOV slots unless told not to)."""
        if not include_special_tokens:
            return list(self._vocab)
        head = [self.mask_token] if self.mask_token is not None and self.output_mode == "int" else []
        return head + [self.oov_token] * self.num_oov_indices + list(self._vocab)

    def vocabulary_size(self) -> int:
        return len(self._vocab) + self._start

    def adapt(self, data, batch_size=None, steps=None):
        """Build the vocabulary from ``data`` (an array, a Tensor or a Dataset): most frequent first."""
        counts, docs, n_docs = {}, {}, 0
        specials = {t for t in (self.mask_token, self.oov_token) if t is not None}
        for b in adapt_batches(data, batch_size, steps):
            arr = _array(b)
            rows = arr.reshape(-1, 1) if arr.ndim <= 1 else arr.reshape(len(arr), -1)
            for row in rows:
                row_tokens = [t for t in self._tokens(row) if t not in specials]
                for t in row_tokens:
                    counts[t] = counts.get(t, 0) + 1
                for t in set(row_tokens):
                    docs[t] = docs.get(t, 0) + 1
                n_docs += 1
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens is not None:
            tokens = tokens[:max(0, self.max_tokens - self._start)]
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log1p(n_docs / (1.0 + np.array([docs[t] for t in tokens], dtype=np.float64)))
        self._idf = None
        self.set_vocabulary(tokens, idf)

    # -- lookup -----------------------------------------------------------------------------
    def _oov_index(self, token) -> int:
        if self.num_oov_indices == 0:
            if CTX.shape_inference:  # the functional API's dummy zeros stand for any (known) token
                return self._start
            raise ValueError(f"{self._who()}: {token!r} is not in the vocabulary and num_oov_indices=0")
        return self._start - self.num_oov_indices + self._oov_slot(token)

    def _oov_slot(self, token) -> int:
        return 0

    def _indices(self, arr: np.ndarray) -> np.ndarray:
        """int64 indices of ``arr``'s tokens; -1 marks the mask token in the vector modes."""
        index, mask = self._index, self.mask_token
        masked = -1 if self.output_mode != "int" else 0
        uniq, inverse = np.unique(arr.reshape(-1), return_inverse=True)  # look each distinct token up once
        mapped = []
        for t in self._tokens(uniq):
            if mask is not None and t == mask:
                mapped.append(masked)
            else:
                i = index.get(t)
                mapped.append(self._oov_index(t) if i is None else i)
        return np.array(mapped, dtype=np.int64)[inverse].reshape(arr.shape)

    def call(self, inputs):
        arr = _array(inputs)
        if self.invert:
            return Tensor._wrap(self._inverse(arr))
        idx = self._indices(arr)
        if self.output_mode == "int":
            return Tensor._wrap(idx)
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if self.output_mode == "one_hot":
            if idx.ndim > 1 and idx.shape[-1] == 1:
                idx = idx[..., 0]
            out = np.zeros(idx.shape + (depth,), dtype=np.float32)
            keep = idx >= 0
            out[keep, idx[keep]] = 1
            return Tensor._wrap(out)
        if idx.ndim > 2:
            raise ValueError(f"{self._who()}: output_mode={self.output_mode!r} takes inputs of rank 1 or 2, got "
                             f"shape {arr.shape}")
        rows = idx.reshape(1, -1) if idx.ndim <= 1 else idx
        counts = _bag_counts(rows, depth)
        if self.output_mode == "multi_hot":
            counts = np.minimum(counts, 1)
        out = counts.astype(np.float32)
        if self.output_mode == "tf_idf":
            weights = np.zeros(depth)
            weights[:self._start] = self._oov_idf
            if self._idf is not None:
                weights[self._start:self._start + len(self._idf)] = self._idf
            out = (counts * weights).astype(np.float32)
        return Tensor._wrap(out[0] if idx.ndim <= 1 else out)

    def _inverse(self, arr: np.ndarray) -> np.ndarray:
        vocab = self.get_vocabulary()
        ints = arr.astype(np.int64)
        out = np.array([vocab[i] if 0 <= i < len(vocab) else self.oov_token for i in ints.reshape(-1)])
        return out.reshape(arr.shape)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
        return (shape[0], depth) if len(shape) == 2 else (depth,)

    def get_config(self):
        config = super().get_config()
        config.update({"max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                       "mask_token": self.mask_token, "oov_token": self.oov_token, "invert": self.invert,
                       "output_mode": self.output_mode, "pad_to_max_tokens": self.pad_to_max_tokens,
                       "sparse": False, "vocabulary": list(self._vocab) or None,
                       "idf_weights": None if self._idf is None else self._idf.tolist(),
                       "vocabulary_size": self.vocabulary_size() if self._vocab else None,
                       "oov_method": "floormod", "salt": None})
        return config


class StringLookup(_IndexLookup):
    """Map strings to integer indices (or vectors), as ``keras.layers.StringLookup``.

    With ``num_oov_indices`` above 1, an unknown string goes to OOV slot ``Fingerprint64(s) mod n``
    (FarmHash, as Keras through ``tf.strings.to_hash_bucket_fast``).

    >>> import numpy as np, tapeflow as tf
    >>> layer = tf.keras.layers.StringLookup(vocabulary=["x", "y", "z"], output_mode="multi_hot")
    >>> layer(np.array([["x", "q"], ["z", "z"]])).numpy().tolist()
    [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", **kwargs):
        kwargs.pop("vocabulary_size", None)
        kwargs.pop("oov_method", None)
        kwargs.pop("salt", None)
        self.encoding = encoding
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, **kwargs)

    def _tokens(self, values) -> list:
        return [v.decode(self.encoding) if isinstance(v, bytes) else str(v) for v in np.asarray(values).tolist()]

    def _oov_slot(self, token) -> int:  # as tf.strings.to_hash_bucket_fast: FarmHash Fingerprint64
        return fingerprint64(token.encode(self.encoding)) % self.num_oov_indices

    def get_config(self):
        config = super().get_config()
        config["encoding"] = self.encoding
        return config


class IntegerLookup(_IndexLookup):
    """Map integers to indices (or vectors), as ``keras.layers.IntegerLookup``; unknown values go to
    OOV slot ``value mod num_oov_indices`` (Keras's ``floormod``).

    >>> import numpy as np, tapeflow as tf
    >>> layer = tf.keras.layers.IntegerLookup(vocabulary=[10, 20], num_oov_indices=3)
    >>> layer(np.array([10, 20, 5, -4])).numpy().tolist()
    [3, 4, 2, 2]
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, output_mode="int",
                 sparse=False, vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 pad_to_max_tokens=False, **kwargs):
        kwargs.pop("vocabulary_size", None)
        kwargs.pop("salt", None)    # Keras's configs carry it; it only feeds oov_method="farmhash"
        if kwargs.pop("oov_method", "floormod") not in (None, "floormod"):
            raise ValueError("IntegerLookup: only oov_method='floormod' (an out-of-vocabulary value goes to slot "
                             "value mod num_oov_indices, Keras's default) is implemented")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens, num_oov_indices, None if mask_token is None else int(mask_token),
                         int(oov_token), vocabulary, idf_weights, invert, output_mode, pad_to_max_tokens, sparse,
                         **kwargs)

    def _tokens(self, values) -> list:
        arr = np.asarray(values)
        if arr.dtype.kind not in "iub" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
            raise ValueError(f"{self._who()}: expected integer tokens, got dtype {arr.dtype}")
        return [int(v) for v in arr.astype(np.int64).tolist()]

    def _oov_slot(self, token) -> int:
        return int(token) % self.num_oov_indices

    def get_config(self):
        config = super().get_config()
        config["vocabulary_dtype"] = self.vocabulary_dtype
        return config


class CategoryEncoding(Layer):
    """Integer indices in ``[0, num_tokens)`` to float vectors, as ``keras.layers.CategoryEncoding``:
    ``one_hot`` per value (a trailing axis of size 1 is replaced), ``multi_hot`` and ``count`` per row of
    a rank-2 input (a rank-1 input is one row); ``count_weights`` weighs the counts. An index outside
    the range raises (Keras on TensorFlow silently gives a zero row).

    >>> import numpy as np, tapeflow as tf
    >>> tf.keras.layers.CategoryEncoding(4, output_mode="count")(np.array([[0, 1], [0, 0]])).numpy().tolist()
    [[1.0, 1.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        who = f"CategoryEncoding '{self.name}'"
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(f"{who}: output_mode must be 'one_hot', 'multi_hot' or 'count', got {output_mode!r}")
        if num_tokens is None or int(num_tokens) < 1:
            raise ValueError(f"{who}: num_tokens must be a positive integer (the number of categories), got "
                             f"{num_tokens!r}")
        if sparse:
            raise ValueError(f"{who}: sparse=True is not supported (tapeflow has no sparse tensors)")
        self.num_tokens, self.output_mode, self.sparse = int(num_tokens), output_mode, False

    def call(self, inputs, count_weights=None):
        idx = _array(inputs)
        if idx.dtype.kind == "f" and np.all(idx == np.round(idx)):
            idx = idx.astype(np.int64)
        if idx.dtype.kind not in "iu":
            raise ValueError(f"CategoryEncoding '{self.name}': expected integer indices, got dtype {idx.dtype}")
        bad = (idx < 0) | (idx >= self.num_tokens)
        if bad.any():
            raise ValueError(f"CategoryEncoding '{self.name}': indices must lie in [0, {self.num_tokens}), got "
                             f"{int(idx[bad].reshape(-1)[0])}; raise num_tokens or remap the values")
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"CategoryEncoding '{self.name}': count_weights only apply to output_mode='count', "
                             f"got {self.output_mode!r}")
        n = self.num_tokens
        if self.output_mode == "one_hot":
            if idx.ndim > 1 and idx.shape[-1] == 1:
                idx = idx[..., 0]
            return Tensor._wrap(np.eye(n, dtype=np.float32)[idx])
        if idx.ndim > 2:
            raise ValueError(f"CategoryEncoding '{self.name}': output_mode={self.output_mode!r} takes inputs of "
                             f"rank 1 or 2, got shape {idx.shape}")
        rows = idx.reshape(1, -1) if idx.ndim <= 1 else idx
        weights = None if count_weights is None else np.asarray(_array(count_weights), np.float32).reshape(rows.shape)
        out = _bag_counts(rows, n, weights).astype(np.float32)
        if self.output_mode == "multi_hot":
            out = np.minimum(out, 1.0)
        return Tensor._wrap(out[0] if idx.ndim <= 1 else out)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (self.num_tokens,)
        return (shape[0], self.num_tokens) if len(shape) == 2 else (self.num_tokens,)

    def get_config(self):
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode})
        return config
