"""``tf.signal``: framing, windows, FFTs, STFT and mel / MFCC features, as TensorFlow computes them.

``frame``, ``overlap_and_add``, the windows, ``linear_to_mel_weight_matrix``, ``dct``/``idct`` and
``mfccs_from_log_mel_spectrograms`` are real-valued and differentiable (compositions of differentiable ops).
The FFTs and ``stft`` return complex tensors computed by NumPy: tapeflow has no complex autodiff, so they carry
no gradient (``keras.ops.fft``/``stft``, on (real, imag) pairs, are differentiable).

>>> import numpy as np, tapeflow as tf
>>> tf.signal.frame(np.arange(6.0), frame_length=3, frame_step=2).numpy().tolist()
[[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]
>>> spectrogram = tf.abs(tf.signal.stft(np.sin(np.arange(64.0)), frame_length=16, frame_step=8))
>>> spectrogram.shape.as_list()
[7, 9]
"""
from __future__ import annotations

import numpy as np

from .autodiff.tensor import Tensor, convert_to_tensor
from .ops import array_ops as A
from .ops import math_ops as M


def _f(x) -> Tensor:
    t = convert_to_tensor(x)
    return t if t._value.dtype.kind in "fc" else A.cast(t, "float32")


def frame(signal, frame_length, frame_step, pad_end=False, pad_value=0, axis=-1, name=None) -> Tensor:
    """Frames of ``frame_length`` samples every ``frame_step`` along ``axis`` (a new axis after it)."""
    x = _f(signal)
    axis = int(axis) % x._value.ndim
    n = x._value.shape[axis]
    length, step = int(frame_length), int(frame_step)
    if pad_end:
        count = -(-n // step)
        need = max((count - 1) * step + length - n, 0)
        pads = [[0, 0]] * x._value.ndim
        pads[axis] = [0, need]
        x = A.pad(x, pads, constant_values=pad_value)
    else:
        count = max(0, (n - length) // step + 1)
    idx = (np.arange(count)[:, None] * step + np.arange(length)[None, :]).reshape(-1)
    out = A.gather(x, idx.astype(np.int64), axis=axis)
    shape = x._value.shape[:axis] + (count, length) + x._value.shape[axis + 1:]
    return A.reshape(out, shape)


def overlap_and_add(signal, frame_step, name=None) -> Tensor:
    """Sum frames (..., frames, frame_length) placed every ``frame_step`` samples: (..., output_length)."""
    x = _f(signal)
    frames, length = x._value.shape[-2:]
    step = int(frame_step)
    total = (frames - 1) * step + length
    pos = (np.arange(frames)[:, None] * step + np.arange(length)[None, :]).reshape(-1)
    flat = A.reshape(x, x._value.shape[:-2] + (frames * length,))
    moved = A.transpose(flat, (flat._value.ndim - 1,) + tuple(range(flat._value.ndim - 1)))
    summed = A._scatter_getitem_op(moved, shape=(total,) + moved._value.shape[1:], key=(pos,))
    return A.transpose(summed, tuple(range(1, summed._value.ndim)) + (0,))


def _window(n: int, periodic: bool, a0: float, dtype) -> Tensor:
    if n == 1:
        return Tensor._wrap(np.ones(1, dtype))
    denom = n if periodic and n % 2 == 0 else n - 1       # TensorFlow: periodic matters for even lengths only
    w = a0 - (1 - a0) * np.cos(2 * np.pi * np.arange(n) / denom)
    return Tensor._wrap(w.astype(dtype))


def hann_window(window_length, periodic=True, dtype="float32", name=None) -> Tensor:
    return _window(int(window_length), periodic, 0.5, np.dtype(getattr(dtype, "name", dtype)))


def hamming_window(window_length, periodic=True, dtype="float32", name=None) -> Tensor:
    return _window(int(window_length), periodic, 0.54, np.dtype(getattr(dtype, "name", dtype)))


def _complex(x, what: str) -> np.ndarray:
    v = np.asarray(getattr(x, "_value", x))
    if v.dtype.kind not in "fc":
        raise TypeError(f"{what}: expected a float or complex tensor, got dtype {v.dtype}")
    return v


def _out(v: np.ndarray, like: np.ndarray) -> Tensor:
    single = like.dtype in (np.float32, np.complex64)
    return Tensor._wrap(v.astype(np.complex64 if single else np.complex128) if np.iscomplexobj(v) else
                        v.astype(np.float32 if single else np.float64))


def fft(input, name=None) -> Tensor:  # noqa: A002
    v = _complex(input, "fft")
    return _out(np.fft.fft(v, axis=-1), v)


def ifft(input, name=None) -> Tensor:  # noqa: A002
    v = _complex(input, "ifft")
    return _out(np.fft.ifft(v, axis=-1), v)


def fft2d(input, name=None) -> Tensor:  # noqa: A002
    v = _complex(input, "fft2d")
    return _out(np.fft.fft2(v, axes=(-2, -1)), v)


def ifft2d(input, name=None) -> Tensor:  # noqa: A002
    v = _complex(input, "ifft2d")
    return _out(np.fft.ifft2(v, axes=(-2, -1)), v)


def rfft(input_tensor, fft_length=None, name=None) -> Tensor:
    v = _complex(input_tensor, "rfft")
    n = None if fft_length is None else int(np.asarray(fft_length).reshape(-1)[0])
    return _out(np.fft.rfft(v, n=n, axis=-1), v)


def irfft(input_tensor, fft_length=None, name=None) -> Tensor:
    v = _complex(input_tensor, "irfft")
    n = None if fft_length is None else int(np.asarray(fft_length).reshape(-1)[0])
    return _out(np.fft.irfft(v, n=n, axis=-1), v)


def rfft2d(input_tensor, fft_length=None, name=None) -> Tensor:
    v = _complex(input_tensor, "rfft2d")
    s = None if fft_length is None else tuple(int(q) for q in np.asarray(fft_length).reshape(-1))
    return _out(np.fft.rfft2(v, s=s, axes=(-2, -1)), v)


def irfft2d(input_tensor, fft_length=None, name=None) -> Tensor:
    v = _complex(input_tensor, "irfft2d")
    s = None if fft_length is None else tuple(int(q) for q in np.asarray(fft_length).reshape(-1))
    return _out(np.fft.irfft2(v, s=s, axes=(-2, -1)), v)


def _fft_length(frame_length: int, fft_length) -> int:
    return int(2 ** np.ceil(np.log2(frame_length))) if fft_length is None else int(fft_length)


def stft(signals, frame_length, frame_step, fft_length=None, window_fn=hann_window, pad_end=False,
         name=None) -> Tensor:
    """Short-time Fourier transform (..., frames, fft_length // 2 + 1), complex, no gradient. ``fft_length``
    defaults to the next power of two; frames are windowed by ``window_fn(frame_length)`` (periodic Hann)."""
    x = _f(signals)
    n_fft = _fft_length(int(frame_length), fft_length)
    frames = frame(x, frame_length, frame_step, pad_end=pad_end)._value
    if window_fn is not None:
        frames = frames * np.asarray(window_fn(int(frame_length), dtype=x._value.dtype)._value)
    return _out(np.fft.rfft(frames, n=n_fft, axis=-1), x._value)


def inverse_stft(stfts, frame_length, frame_step, fft_length=None, window_fn=hann_window, name=None) -> Tensor:
    """The signal whose windowed frames have these STFTs (overlap-add of the inverse FFTs); use
    ``inverse_stft_window_fn(frame_step)`` as ``window_fn`` for perfect reconstruction."""
    v = _complex(stfts, "inverse_stft")
    n_fft = _fft_length(int(frame_length), fft_length)
    frames = np.fft.irfft(v, n=n_fft, axis=-1)[..., :int(frame_length)]
    real = np.float32 if v.dtype == np.complex64 else np.float64
    if window_fn is not None:
        frames = frames * np.asarray(window_fn(int(frame_length), dtype=real)._value)
    return overlap_and_add(Tensor._wrap(frames.astype(real)), frame_step)


def inverse_stft_window_fn(frame_step, forward_window_fn=hann_window, name=None):
    """The window that makes ``inverse_stft`` invert ``stft`` with ``forward_window_fn``."""
    def window(frame_length, dtype="float32"):
        w = np.asarray(forward_window_fn(frame_length, dtype=dtype)._value, np.float64)
        denom = np.zeros(frame_length)
        step = int(frame_step)
        for start in range(-frame_length + step, frame_length, step):
            lo, hi = max(start, 0), min(start + frame_length, frame_length)
            denom[lo:hi] += w[lo - start:hi - start] ** 2
        return Tensor._wrap((w / denom).astype(np.dtype(getattr(dtype, "name", dtype))))
    return window


def _hz_to_mel(f):
    return 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)


def linear_to_mel_weight_matrix(num_mel_bins=20, num_spectrogram_bins=129, sample_rate=8000, lower_edge_hertz=125.0,
                                upper_edge_hertz=3800.0, dtype="float32", name=None) -> Tensor:
    """(num_spectrogram_bins, num_mel_bins) triangular filters on the HTK mel scale (TensorFlow's: the DC bin gets
    no weight, and bins between band edges interpolate linearly in mel)."""
    if not 0 <= lower_edge_hertz < upper_edge_hertz <= sample_rate / 2:
        raise ValueError(f"linear_to_mel_weight_matrix: need 0 <= lower_edge_hertz ({lower_edge_hertz}) < "
                         f"upper_edge_hertz ({upper_edge_hertz}) <= sample_rate / 2 ({sample_rate / 2})")
    nyquist = sample_rate / 2.0
    freqs = np.linspace(0.0, nyquist, int(num_spectrogram_bins))[1:]
    mel = _hz_to_mel(freqs)[:, None]
    edges = np.linspace(_hz_to_mel(lower_edge_hertz), _hz_to_mel(upper_edge_hertz), int(num_mel_bins) + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    w = np.maximum(0.0, np.minimum((mel - lower) / (center - lower), (upper - mel) / (upper - center)))
    w = np.concatenate([np.zeros((1, int(num_mel_bins))), w], axis=0)
    return Tensor._wrap(w.astype(np.dtype(getattr(dtype, "name", dtype))))


def dct(input, type=2, n=None, axis=-1, norm=None, name=None) -> Tensor:  # noqa: A002
    """Discrete cosine transform of types 1-4 along the last axis (``norm="ortho"`` for types 2-4), as a matmul:
    differentiable."""
    x = _f(input)
    if axis not in (-1, x._value.ndim - 1):
        raise ValueError("dct: only axis=-1 is supported")
    size = x._value.shape[-1] if n is None else int(n)
    if n is not None and size != x._value.shape[-1]:
        pads = [[0, 0]] * (x._value.ndim - 1) + [[0, max(size - x._value.shape[-1], 0)]]
        x = A.getitem(A.pad(x, pads), (Ellipsis, slice(0, size)))
    k, i = np.arange(size)[None, :], np.arange(size)[:, None]
    if type == 1:
        if norm == "ortho":
            raise ValueError("dct: norm='ortho' is not defined for type 1")
        basis = 2 * np.cos(np.pi * i * k / (size - 1))
        basis[0, :] /= 2
        basis[-1, :] /= 2
    elif type == 2:
        basis = 2 * np.cos(np.pi * (2 * i + 1) * k / (2 * size))
        if norm == "ortho":
            basis *= np.sqrt(1 / (2 * size))
            basis[:, 0] /= np.sqrt(2)
    elif type == 3:
        basis = 2 * np.cos(np.pi * i * (2 * k + 1) / (2 * size))
        basis[0, :] /= 2
        if norm == "ortho":
            basis *= np.sqrt(1 / (2 * size))
            basis[0, :] *= np.sqrt(2)
    elif type == 4:
        basis = 2 * np.cos(np.pi * (2 * i + 1) * (2 * k + 1) / (4 * size))
        if norm == "ortho":
            basis *= np.sqrt(1 / (2 * size))
    else:
        raise ValueError(f"dct: type must be 1, 2, 3 or 4, got {type}")
    return M.matmul(x, A.cast(Tensor._wrap(basis), x._value.dtype.name))


def idct(input, type=2, n=None, axis=-1, norm=None, name=None) -> Tensor:  # noqa: A002
    """The DCT of the inverse type (3 for 2, 2 for 3, 1 for 1, 4 for 4), as TensorFlow: the inverse of ``dct``
    with ``norm="ortho"``, and the inverse times 2N (type 1: 2(N - 1)) without."""
    return dct(input, type={1: 1, 2: 3, 3: 2, 4: 4}[type], n=n, axis=axis, norm=norm)


def mfccs_from_log_mel_spectrograms(log_mel_spectrograms, name=None) -> Tensor:
    """MFCCs: the orthonormal type-2 DCT of log-mel spectrograms over the mel axis, scaled as TensorFlow does."""
    x = _f(log_mel_spectrograms)
    bins = x._value.shape[-1]
    return M.multiply(dct(x, type=2), float(1.0 / np.sqrt(2.0 * bins)))


__all__ = ["frame", "overlap_and_add", "hann_window", "hamming_window", "fft", "ifft", "fft2d", "ifft2d", "rfft",
           "irfft", "rfft2d", "irfft2d", "stft", "inverse_stft", "inverse_stft_window_fn",
           "linear_to_mel_weight_matrix", "dct", "idct", "mfccs_from_log_mel_spectrograms"]
