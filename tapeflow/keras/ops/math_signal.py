"""Keras 3's signal ops (``keras.ops.fft`` ... ``keras.ops.istft``); ``keras.ops.math`` is this module (it
re-exports the math helpers of ``core`` and the segment reductions too).

A complex tensor is a ``(real, imag)`` pair of float tensors, in and out, as Keras. ``fft``/``fft2``/``ifft2``/
``rfft``/``irfft``, ``stft``, ``istft`` and ``extract_sequences`` are differentiable (the DFT primitives in
``tapeflow/ops/linalg_ops.py`` carry VJPs; framing, windows and overlap-add are composed).

>>> from tapeflow import keras
>>> re, im = keras.ops.fft(([1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]))
>>> re.numpy().tolist(), im.numpy().tolist()
([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])
>>> re, im = keras.ops.rfft([1.0, 2.0, 3.0, 4.0])
>>> re.numpy().tolist(), im.numpy().tolist()
([10.0, -2.0, -2.0], [0.0, 2.0, 0.0])
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ...ops import linalg_ops as L
from ...ops import math_ops as M
from .core import erf, in_top_k, logsumexp, rsqrt, segment_sum, top_k  # noqa: F401 - keras.ops.math
from .nn_more import segment_max, segment_min, segment_prod  # noqa: F401
from .numpy import _float, _t

__all__ = ["extract_sequences", "fft", "fft2", "ifft2", "irfft", "istft", "rfft", "stft"]


def _pair(x, op: str):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{op}: expected a (real, imag) pair of tensors, got {type(x).__name__}")
    re, im = _float(x[0]), _float(x[1])
    if re._value.shape != im._value.shape:
        raise ValueError(f"{op}: real and imaginary parts must have the same shape, got {re._value.shape} and "
                         f"{im._value.shape}")
    if im._value.dtype != re._value.dtype:
        im = A.cast(im, re._value.dtype)
    return re, im


def _split(packed: Tensor):
    return A.getitem(packed, 0), A.getitem(packed, 1)


def fft(x):
    """The DFT over the last axis of x = (real, imag); returns (real, imag)."""
    re, im = _pair(x, "fft")
    return _split(L.fft_c2c(re, im, (-1,), False))


def fft2(x):
    """The 2-D DFT over the last two axes of x = (real, imag); returns (real, imag)."""
    re, im = _pair(x, "fft2")
    if re._value.ndim < 2:
        raise ValueError(f"fft2: expected rank >= 2, got shape {re._value.shape}")
    return _split(L.fft_c2c(re, im, (-2, -1), False))


def ifft2(x):
    """The inverse 2-D DFT over the last two axes of x = (real, imag); returns (real, imag)."""
    re, im = _pair(x, "ifft2")
    if re._value.ndim < 2:
        raise ValueError(f"ifft2: expected rank >= 2, got shape {re._value.shape}")
    return _split(L.fft_c2c(re, im, (-2, -1), True))


def rfft(x, fft_length=None):
    """The DFT of real x over its last axis (cut or zero-padded to ``fft_length``): (real, imag) with
    fft_length // 2 + 1 frequencies."""
    x = _float(x)
    n = x._value.shape[-1] if fft_length is None else int(fft_length)
    return _split(L.rfft(x, n))


def irfft(x, fft_length=None):
    """The real inverse DFT of a half spectrum x = (real, imag); length ``fft_length`` (default 2 * (m - 1))."""
    re, im = _pair(x, "irfft")
    n = 2 * (re._value.shape[-1] - 1) if fft_length is None else int(fft_length)
    return L.irfft(re, im, n)


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of the last axis: (..., L) -> (..., (L - sequence_length) // sequence_stride + 1, sequence_length).

    >>> from tapeflow import keras
    >>> keras.ops.extract_sequences([1.0, 2.0, 3.0, 4.0, 5.0], 3, 2).numpy().tolist()
    [[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]]
    """
    x = _t(x)
    length = x._value.shape[-1]
    if sequence_length > length:
        raise ValueError(f"extract_sequences: sequence_length {sequence_length} exceeds the last axis of shape "
                         f"{x._value.shape}")
    count = (length - sequence_length) // sequence_stride + 1
    idx = np.arange(count)[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return A.getitem(x, (Ellipsis, idx))


def _window(window, sequence_length, fft_length, dtype):
    """The window (periodic Hann/Hamming as ``scipy.signal.get_window``, or given), centred in fft_length."""
    if window is None:
        return np.ones(fft_length, dtype)
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"stft/istft: window must be 'hann', 'hamming', a tensor or None, got {window!r}")
        a = 0.5 if window == "hann" else 0.54
        win = a - (1 - a) * np.cos(2 * np.pi * np.arange(sequence_length) / sequence_length)
    else:
        win = np.asarray(getattr(window, "_value", window), dtype=np.float64)
        if win.shape != (sequence_length,):
            raise ValueError(f"stft/istft: window must have shape ({sequence_length},), got {win.shape}")
    left = (fft_length - sequence_length) // 2
    return np.pad(win, (left, fft_length - sequence_length - left)).astype(dtype)


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform of real x (..., L): (real, imag) of shape (..., frames, fft_length//2 + 1).

    As Keras: with ``center`` x is reflect-padded by fft_length // 2 on both sides; frames of fft_length start
    every sequence_stride samples and are multiplied by the window (sequence_length long, centred and
    zero-padded to fft_length) before the real DFT. Differentiable.
    """
    x = _float(x)
    if fft_length < sequence_length:
        raise ValueError(f"stft: fft_length ({fft_length}) must be >= sequence_length ({sequence_length})")
    if center:
        pad, length = fft_length // 2, x._value.shape[-1]
        if length <= pad:
            raise ValueError(f"stft: reflect padding by {pad} needs more than {pad} samples, got shape "
                             f"{x._value.shape}")
        idx = np.concatenate([np.arange(pad, 0, -1), np.arange(length), length - 2 - np.arange(pad)])
        x = A.getitem(x, (Ellipsis, idx))
    frames = extract_sequences(x, fft_length, sequence_stride)
    win = Tensor._wrap(_window(window, sequence_length, fft_length, x._value.dtype))
    return _split(L.rfft(M.multiply(frames, win), fft_length))


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """Inverse of ``stft`` (windowed overlap-add divided by the summed squared window, as Keras); x is a
    (real, imag) pair of shape (..., frames, fft_length//2 + 1). Differentiable."""
    re, im = _pair(x, "istft")
    frames = L.irfft(re, im, fft_length)                                   # (..., F, fft_length)
    nframes = re._value.shape[-2]
    win = _window(window, sequence_length, fft_length, re._value.dtype)
    total = fft_length + sequence_stride * (nframes - 1)
    idx = np.arange(nframes)[:, None] * sequence_stride + np.arange(fft_length)[None, :]
    batch = frames._value.shape[:-2]
    key = (Ellipsis, idx)
    out = A._scatter_getitem_op(M.multiply(frames, Tensor._wrap(win)), shape=batch + (total,), key=key)
    norm = np.zeros(total)
    np.add.at(norm, idx, np.broadcast_to(win.astype(np.float64) ** 2, idx.shape))
    scale = (win.sum() if window is not None else fft_length) / (win.sum() if window is not None else sequence_stride)
    factor = np.where(norm > 1e-10, scale / np.where(norm > 1e-10, norm, 1.0), scale)
    out = M.multiply(out, Tensor._wrap(factor.astype(re._value.dtype)))
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + int(length)
    elif center:
        end = total - fft_length // 2
    else:
        end = total
    return A.getitem(out, (Ellipsis, slice(start, end)))
