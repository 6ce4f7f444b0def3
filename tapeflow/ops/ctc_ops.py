"""CTC loss (Graves et al., 2006): log-space forward-backward, forward and VJP side by side.

``ctc_loss(logits (B, T, C), labels (B, L) int)`` with per-sample label and logit lengths gives the per-sample
negative log-likelihood -log p(labels | logits), the class scores passed through log_softmax. With alpha (paths
up to t, emission at t included) and beta (paths after t, emission at t excluded) on the extended label
sequence (blanks between and around the labels), the gradient with respect to the logits is
softmax(logits)_t,k - sum_{s: l'_s = k} exp(alpha_t(s) + beta_t(s) + loss); it is zero beyond a sample's length.
Batched over samples; the loop runs over time only.
"""
from __future__ import annotations

import numpy as np

from . import math_ops as M
from .registry import bind, const, defvjp, primitive

_NEG = -np.inf


def _lse(*xs):
    m = np.maximum.reduce(xs)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(sum(np.exp(x - safe) for x in xs))


def _setup(logits, labels, label_len, logit_len, blank):
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))            # (B, T, C)
    b, length = labels.shape
    s = 2 * length + 1
    ext = np.full((b, s), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    lab_len, log_len = np.asarray(label_len, np.int64), np.asarray(logit_len, np.int64)
    valid = np.arange(s)[None, :] < (2 * lab_len + 1)[:, None]
    skip = np.zeros((b, s), bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    emit = np.take_along_axis(logp, np.broadcast_to(ext[:, None, :], (b, logp.shape[1], s)), axis=2)  # (B, T, S)
    return logp, ext, valid, skip, emit, lab_len, log_len


def _shift(a, k):
    out = np.full_like(a, _NEG)
    out[:, k:] = a[:, :a.shape[1] - k]
    return out


def _forward_backward(logits, labels, label_len, logit_len, blank):
    logp, ext, valid, skip, emit, lab_len, log_len = _setup(logits, labels, label_len, logit_len, blank)
    b, t_max, s = emit.shape
    rows = np.arange(b)
    alpha = np.full((b, t_max, s), _NEG)
    a = np.full((b, s), _NEG)
    a[:, 0] = emit[:, 0, 0]
    a[:, 1] = np.where(lab_len > 0, emit[:, 0, 1], _NEG) if s > 1 else a[:, 0]
    a = np.where(valid, a, _NEG)
    alpha[:, 0] = a
    for t in range(1, t_max):
        nxt = emit[:, t] + _lse(a, _shift(a, 1), np.where(skip, _shift(a, 2), _NEG))
        a = np.where(valid & (t < log_len)[:, None], nxt, a)
        alpha[:, t] = a
    last = 2 * lab_len                                          # index of the final blank
    a_end = alpha[rows, log_len - 1]
    ll = _lse(a_end[rows, last], np.where(lab_len > 0, a_end[rows, np.maximum(last - 1, 0)], _NEG))
    beta = np.full((b, t_max, s), _NEG)
    init = np.full((b, s), _NEG)
    init[rows, last] = 0.0
    init[rows, np.maximum(last - 1, 0)] = np.where(lab_len > 0, 0.0, init[rows, np.maximum(last - 1, 0)])
    bt = np.full((b, s), _NEG)
    for t in range(t_max - 1, -1, -1):
        if t + 1 < t_max:
            e = emit[:, t + 1] + bt
            nxt = _lse(e, _shift_back(e, 1), np.where(_shift_back_mask(skip, 2), _shift_back(e, 2), _NEG))
            bt = np.where(valid, nxt, _NEG)
        bt = np.where((t == log_len - 1)[:, None], init, np.where((t < log_len - 1)[:, None], bt, _NEG))
        beta[:, t] = bt
    return logp, ext, alpha, beta, ll


def _shift_back(a, k):
    out = np.full_like(a, _NEG)
    out[:, :a.shape[1] - k] = a[:, k:]
    return out


def _shift_back_mask(mask, k):
    out = np.zeros_like(mask)
    out[:, :mask.shape[1] - k] = mask[:, k:]
    return out


def _ctc_fwd(logits, labels, label_len, logit_len, blank):
    *_, ll = _forward_backward(logits, labels, label_len, logit_len, blank)
    return (-ll).astype(logits.dtype)


def _ctc_grad(logits, labels, label_len, logit_len, blank) -> np.ndarray:
    logp, ext, alpha, beta, ll = _forward_backward(logits, labels, label_len, logit_len, blank)
    b, t_max, c = logp.shape
    with np.errstate(invalid="ignore"):
        occ = np.exp(alpha + beta - ll[:, None, None])          # (B, T, S): posterior of each state
    occ = np.nan_to_num(occ)
    gamma = np.zeros((b, t_max, c))
    bi, ti, si = np.meshgrid(np.arange(b), np.arange(t_max), np.arange(ext.shape[1]), indexing="ij")
    np.add.at(gamma, (bi, ti, ext[bi, si]), occ)
    grad = np.exp(logp) - gamma
    grad[np.arange(t_max)[None, :] >= np.asarray(logit_len)[:, None]] = 0.0
    return grad


_ctc = primitive("ctc_loss", _ctc_fwd)
defvjp(_ctc, lambda g, ans, logits, labels, label_len, logit_len, blank:
       M.multiply(_bcast(g), const(_ctc_grad(logits._value, labels._value, label_len, logit_len, blank), g)),
       None)


def _bcast(g):
    from .array_ops import expand_dims
    return expand_dims(expand_dims(g, -1), -1)


def ctc_loss(logits, labels, label_length, logit_length, blank: int = 0):
    """Per-sample CTC negative log-likelihood of int ``labels`` (B, L) under ``logits`` (B, T, C)."""
    lab = np.asarray(getattr(labels, "_value", labels)).astype(np.int64)
    b, t_max, c = logits._value.shape
    lab_len = tuple(int(v) for v in np.asarray(getattr(label_length, "_value", label_length)).reshape(-1))
    log_len = tuple(int(v) for v in np.asarray(getattr(logit_length, "_value", logit_length)).reshape(-1))
    if lab.ndim != 2 or lab.shape[0] != b or len(lab_len) != b or len(log_len) != b:
        raise ValueError(f"ctc_loss: expected labels (B, L) and lengths (B,) for logits of shape {(b, t_max, c)}; "
                         f"got labels {lab.shape}, label lengths {len(lab_len)}, logit lengths {len(log_len)}")
    if max(log_len) > t_max or min(log_len) < 1 or max(lab_len) > lab.shape[1]:
        raise ValueError(f"ctc_loss: lengths out of range: logit lengths {log_len} (max {t_max}), label lengths "
                         f"{lab_len} (max {lab.shape[1]})")
    return bind(_ctc, logits, const(lab), label_len=lab_len, logit_len=log_len, blank=int(blank))
