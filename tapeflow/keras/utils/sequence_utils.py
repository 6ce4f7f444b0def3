"""``pad_sequences``: lists of variable-length sequences to one 2-D (or N-D) array."""
from __future__ import annotations

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or cut) each sequence to ``maxlen`` (default: the longest), as Keras does.

    ``padding``/``truncating`` say on which side ("pre" or "post") values are added or removed.

    >>> pad_sequences([[1, 2], [3]], maxlen=3).tolist()
    [[0, 1, 2], [0, 0, 3]]
    >>> pad_sequences([[1, 2, 3]], maxlen=2, truncating="post", padding="post").tolist()
    [[1, 2]]
    """
    if padding not in ("pre", "post"):
        raise ValueError(f"pad_sequences: padding must be 'pre' or 'post', got {padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: truncating must be 'pre' or 'post', got {truncating!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be a list of iterables")
    seqs = [np.asarray(s) for s in sequences]
    lengths = [len(s) for s in seqs]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    sample_shape = next((s.shape[1:] for s in seqs if len(s)), ())
    is_str = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and not is_str:
        raise ValueError(f"pad_sequences: dtype {dtype!r} cannot hold the padding value {value!r}; "
                         "use dtype=object or a numeric value")
    out = np.full((len(seqs), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or maxlen == 0:
            continue
        if s.shape[1:] != tuple(sample_shape):
            raise ValueError(f"pad_sequences: sequence {i} has entries of shape {s.shape[1:]}, "
                             f"expected {tuple(sample_shape)} like the others")
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out
