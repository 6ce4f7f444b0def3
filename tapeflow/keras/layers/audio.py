"""Keras 3's audio front-ends: ``STFTSpectrogram`` (an STFT as a strided 1-D convolution with trainable
real/imaginary DFT kernels) and ``MelSpectrogram`` (``keras.ops.stft`` -> magnitude ** mag_exp -> mel filter
bank -> optional decibels).

Both are built from differentiable ops (conv1d, the real DFT, matmuls, elementwise maths), so gradients flow to
the input and, for ``STFTSpectrogram``, to its kernels.

>>> import numpy as np, tapeflow as tf
>>> tf.keras.layers.STFTSpectrogram(frame_length=8)(np.zeros((1, 32, 1))).shape.as_list()
[1, 7, 5]
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ...autodiff.tensor import Tensor, convert_to_tensor
from ...ops import array_ops as A
from ...ops import conv_ops as C
from ...ops import math_ops as M
from .. import backend as K
from .. import initializers
from .base import Layer
from .input_spec import InputSpec

__all__ = ["STFTSpectrogram", "MelSpectrogram"]

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


def _ops():
    from .. import ops  # imported late: keras.ops imports the layer package's neighbours
    return ops


def _named_window(window, n: int, periodic: bool) -> np.ndarray:
    """``scipy.signal.get_window(window, n, fftbins=periodic)`` for Hann/Hamming (SciPy for any other name)."""
    if window in ("hann", "hamming"):
        if n == 1:
            return np.ones(1)
        a = 0.5 if window == "hann" else 0.54
        return a - (1 - a) * np.cos(2 * np.pi * np.arange(n) / (n if periodic else n - 1))
    try:
        import scipy.signal
    except ImportError:
        raise ValueError(f"STFTSpectrogram: window must be 'hann', 'hamming', an array or None (other named "
                         f"windows need SciPy), got {window!r}") from None
    try:
        return np.asarray(scipy.signal.get_window(window, n, periodic), np.float64)
    except ValueError as e:
        raise ValueError(f"STFTSpectrogram: unknown window {window!r} ({e})") from None


def stft_kernel(side: str, window, scaling, periodic: bool, frame_length: int, bins: int, dtype) -> np.ndarray:
    """Keras's ``initializers.STFT``: (frame_length, 1, bins) cos (real) or sin (imag) DFT rows
    ``-2 pi t f / (2 (bins - 1))``, times the window divided by its L2 (density) or L1 (spectrum) norm."""
    t = np.arange(frame_length, dtype=np.float64).reshape(frame_length, 1, 1)
    f = np.arange(bins, dtype=np.float64).reshape(1, 1, bins) / ((bins - 1) * 2)
    args = -2.0 * t * f * np.pi
    kernel = np.cos(args) if side == "real" else np.sin(args)
    if window is not None:
        win = _named_window(window, frame_length, periodic) if isinstance(window, str) \
            else np.asarray(getattr(window, "_value", window), np.float64)
        if win.shape != (frame_length,):
            raise ValueError(f"STFTSpectrogram: window must have shape ({frame_length},) (frame_length), got "
                             f"{win.shape}")
        scale = 1.0
        if scaling == "density":
            scale = np.sqrt(np.sum(win ** 2))
        elif scaling == "spectrum":
            scale = np.sum(np.abs(win))
        kernel = kernel * win.reshape(frame_length, 1, 1) / scale
    return kernel.astype(dtype)


class STFTSpectrogram(Layer):
    """Spectrogram of ``(batch, time, channels)`` signals (``channels_first``: ``(batch, channels, time)``) as
    Keras 3: each channel is framed by a ``frame_length``-tap convolution with stride ``frame_step``
    (default ``frame_length // 2``) and ``padding`` "valid"/"same" against the weights ``real_kernel`` /
    ``imag_kernel`` ``(frame_length, 1, fft_length // 2 + 1)`` (windowed DFT rows, trainable by default).

    ``mode``: "log" (log of the magnitude), "magnitude", "psd" (power, interior bins doubled), "real", "imag",
    "angle", "stft" (real then imaginary bins). Output ``(batch, frames, channels * bins)`` (channel-major),
    ``(batch, frames, bins, channels)`` with ``expand_dims``; channels_first: ``(batch, channels * bins,
    frames)`` / ``(batch, channels, frames, bins)``. ``fft_length`` defaults to the next power of two >=
    ``frame_length``; ``window`` is "hann", "hamming", an array of frame_length values or None.

    >>> import numpy as np, tapeflow as tf
    >>> layer = tf.keras.layers.STFTSpectrogram(mode="real", frame_length=4, window=None, scaling=None)
    >>> (np.round(layer(np.ones((1, 8, 1))).numpy()[0, 0], 4) + 0.0).tolist()
    [4.0, 0.0, 0.0]
    """

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None, window="hann",
                 periodic=False, scaling="density", padding="valid", expand_dims=False, data_format=None,
                 **kwargs):
        name = "STFTSpectrogram"
        if not isinstance(frame_length, (int, np.integer)) or isinstance(frame_length, bool) or frame_length < 1:
            raise ValueError(f"{name}: frame_length must be a positive integer, got {frame_length!r}")
        if frame_step is not None and not 1 <= frame_step <= frame_length:
            raise ValueError(f"{name}: frame_step must be a positive integer not greater than frame_length "
                             f"({frame_length}), got frame_step={frame_step}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"{name}: fft_length must be >= frame_length ({frame_length}), got "
                             f"fft_length={fft_length}")
        if fft_length is not None and (fft_length & -fft_length) != fft_length:
            warnings.warn(f"{name}: fft_length is recommended to be a power of two, got {fft_length}")
        if mode not in _MODES:
            raise ValueError(f"{name}: mode must be one of {', '.join(_MODES)}, got mode={mode!r}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(f"{name}: scaling must be None, 'density' or 'spectrum', got scaling={scaling!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"{name}: padding must be 'valid' or 'same', got padding={padding!r}")
        if isinstance(window, str):
            _named_window(window, 1, periodic)  # unknown names fail here, as in Keras
        super().__init__(**kwargs)
        self.mode, self.frame_length, self.frame_step = mode, int(frame_length), frame_step
        self._frame_step = int(frame_step or self.frame_length // 2)
        self.fft_length = fft_length
        self._fft_length = int(fft_length or 2 ** int(math.ceil(math.log2(frame_length))))
        self.window = list(np.asarray(window).tolist()) if not isinstance(window, (str, type(None))) else window
        self.periodic, self.scaling, self.padding = bool(periodic), scaling, padding
        self.expand_dims = bool(expand_dims)
        self.data_format = K.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                shape=shape, name="real_kernel",
                initializer=initializers.STFT("real", self.window, self.scaling, self.periodic))
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                shape=shape, name="imag_kernel",
                initializer=initializers.STFT("imag", self.window, self.scaling, self.periodic))
        self.built = True

    def _conv(self, x, kernel, batch, channels):
        """(batch * channels, time, 1) signals -> (batch, channels, frames, bins)."""
        y = C.conv1d(x, self._read(kernel), self._frame_step, self.padding.upper())
        return A.reshape(y, (batch, channels) + tuple(y._value.shape[1:]))

    def call(self, inputs):
        x = convert_to_tensor(inputs)
        if x._value.dtype.name not in ("float16", "float32", "float64"):
            raise TypeError(f'STFTSpectrogram "{self.name}": expected float16, float32 or float64 inputs, got '
                            f"{x._value.dtype.name}")
        if x._value.ndim != 3:
            raise ValueError(f'STFTSpectrogram "{self.name}": expected inputs of rank 3, got shape '
                             f"{x._value.shape}")
        if self.data_format == "channels_last":
            batch, time, channels = x._value.shape
            x = A.transpose(x, (0, 2, 1))
        else:
            batch, channels, time = x._value.shape
        x = A.reshape(x, (batch * channels, time, 1))
        re = self._conv(x, self.real_kernel, batch, channels) if self.mode != "imag" else None
        im = self._conv(x, self.imag_kernel, batch, channels) if self.mode != "real" else None
        ops, eps = _ops(), K.epsilon()
        if self.mode == "real":
            out = re
        elif self.mode == "imag":
            out = im
        elif self.mode == "angle":
            out = ops.arctan2(im, re)
        elif self.mode == "stft":
            out = A.concat([re, im], axis=-1)
        else:
            power = M.add(M.square(re), M.square(im))
            if self.mode == "psd":
                out = M.add(power, A.pad(A.getitem(power, (Ellipsis, slice(1, -1))),
                                         [[0, 0], [0, 0], [0, 0], [1, 1]]))
            else:
                out = ops.sqrt(ops.maximum(power, eps))
                if self.mode == "log":
                    out = ops.log(ops.maximum(out, eps))
        return self._layout(out)

    def _layout(self, out):
        """(batch, channels, frames, bins) -> the documented output layout."""
        b, c, t, f = out._value.shape
        if self.data_format == "channels_last":
            if self.expand_dims:
                return A.transpose(out, (0, 2, 3, 1))
            return A.reshape(A.transpose(out, (0, 2, 1, 3)), (b, t, c * f))
        if self.expand_dims:
            return out
        return A.reshape(A.transpose(out, (0, 1, 3, 2)), (b, c * f, t))

    def compute_output_shape(self, input_shape):
        cl = self.data_format == "channels_last"
        batch, time, channels = (input_shape[0], input_shape[1], input_shape[2]) if cl else \
            (input_shape[0], input_shape[2], input_shape[1])
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        frames = None
        if time is not None:
            frames = -(-time // self._frame_step) if self.padding == "same" else \
                (time - self.frame_length) // self._frame_step + 1
        if self.expand_dims:
            return (batch, frames, bins, channels) if cl else (batch, channels, frames, bins)
        flat = None if channels is None else channels * bins
        return (batch, frames, flat) if cl else (batch, flat, frames)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "frame_length": self.frame_length, "frame_step": self.frame_step,
                       "fft_length": self.fft_length, "window": self.window, "periodic": self.periodic,
                       "scaling": self.scaling, "padding": self.padding, "data_format": self.data_format,
                       "expand_dims": self.expand_dims})
        return config


class MelSpectrogram(Layer):
    """Mel spectrogram of ``(samples,)`` or ``(batch, samples)`` audio as Keras 3: ``keras.ops.stft`` (centred,
    reflect-padded, ``sequence_length``-long ``window`` in ``fft_length`` frames every ``sequence_stride``
    samples), ``|X| ** mag_exp``, the HTK mel filter bank from ``min_freq`` to ``max_freq`` (default
    ``sampling_rate / 2``), and with ``power_to_db`` ``10 log10(max(S, min_power) / max(|ref_power|,
    min_power))`` clipped below at (its maximum over the whole call) - ``top_db``. Output ``(..., num_mel_bins,
    frames)``, frames = ``samples // sequence_stride + 1`` for even ``fft_length``. No weights.

    >>> import numpy as np, tapeflow as tf
    >>> layer = tf.keras.layers.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=8)
    >>> layer(np.zeros((2, 160))).shape.as_list()
    [2, 8, 11]
    """

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None, window="hann",
                 sampling_rate=16000, num_mel_bins=128, min_freq=20.0, max_freq=None, power_to_db=True,
                 top_db=80.0, mag_exp=2.0, min_power=1e-10, ref_power=1.0, **kwargs):
        name = "MelSpectrogram"
        for arg, v in (("fft_length", fft_length), ("sequence_stride", sequence_stride),
                       ("num_mel_bins", num_mel_bins)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {v!r}")
        self.fft_length, self.sequence_stride = int(fft_length), int(sequence_stride)
        self.sequence_length = int(sequence_length or fft_length)
        if self.fft_length < self.sequence_length:
            raise ValueError(f"{name}: fft_length must be >= sequence_length, got sequence_length="
                             f"{self.sequence_length}, fft_length={self.fft_length}")
        if not (window is None or window in ("hann", "hamming") or not isinstance(window, str)):
            raise ValueError(f"{name}: window must be 'hann', 'hamming', an array or None, got {window!r}")
        self.window = window if isinstance(window, (str, type(None))) else list(np.asarray(window).tolist())
        self.sampling_rate, self.num_mel_bins = sampling_rate, int(num_mel_bins)
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        if not 0 <= self.min_freq < self.max_freq <= sampling_rate / 2:
            raise ValueError(f"{name}: need 0 <= min_freq < max_freq <= sampling_rate / 2, got min_freq="
                             f"{min_freq}, max_freq={self.max_freq}, sampling_rate={sampling_rate}")
        self.power_to_db, self.top_db, self.mag_exp = power_to_db, top_db, mag_exp
        self.min_power, self.ref_power = min_power, ref_power
        super().__init__(**kwargs)

    def call(self, inputs):
        from ... import signal
        from ..ops.math_signal import stft
        ops = _ops()
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        x = convert_to_tensor(inputs)
        if x._value.ndim not in (1, 2):
            raise ValueError(f'MelSpectrogram "{self.name}": expected (samples,) or (batch, samples) inputs, '
                             f"got shape {x._value.shape}")
        if x._value.dtype.name != dtype:
            x = A.cast(x, dtype)
        window = self.window if isinstance(self.window, (str, type(None))) else np.asarray(self.window, dtype)
        re, im = stft(x, self.sequence_length, self.sequence_stride, self.fft_length, window=window, center=True)
        spec = ops.power(ops.sqrt(M.add(M.square(re), M.square(im))), self.mag_exp)
        matrix = signal.linear_to_mel_weight_matrix(self.num_mel_bins, spec._value.shape[-1], self.sampling_rate,
                                                    self.min_freq, self.max_freq, dtype="float32")
        out = ops.matmul(spec, A.cast(matrix, dtype) if dtype != "float32" else matrix)
        if self.power_to_db:
            out = M.multiply(ops.log10(ops.maximum(out, self.min_power)), 10.0)
            ref = 10.0 * np.log10(max(abs(float(self.ref_power)), self.min_power))
            out = M.subtract(out, Tensor._wrap(np.asarray(ref, dtype)))
            if self.top_db is not None:
                out = ops.maximum(out, M.subtract(ops.max(out), Tensor._wrap(np.asarray(self.top_db, dtype))))
        out = ops.swapaxes(out, -1, -2)
        return out if out._value.dtype.name == self.compute_dtype else A.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        samples = input_shape[-1]
        frames = None
        if samples is not None:
            pad = self.fft_length // 2
            frames = (samples + 2 * pad - self.fft_length) // self.sequence_stride + 1
        return tuple(input_shape[:-1]) + (self.num_mel_bins, frames)

    def get_config(self):
        config = super().get_config()
        config.update({"fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                       "sequence_length": self.sequence_length, "window": self.window,
                       "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
                       "min_freq": self.min_freq, "max_freq": self.max_freq, "power_to_db": self.power_to_db,
                       "top_db": self.top_db, "mag_exp": self.mag_exp, "min_power": self.min_power,
                       "ref_power": self.ref_power})
        return config
