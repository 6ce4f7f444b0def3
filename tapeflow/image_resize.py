"""The resampling behind ``tf.image.resize`` (TF2) and ``keras.ops.image.resize``: one weight matrix per axis.

Every method of TF2's ``tf.image.resize`` is separable, so an axis of ``n_in`` pixels resized to ``n_out``
is an ``(n_out, n_in)`` matrix, built here in float32 arithmetic the way TF's kernels compute it:

* ``bilinear`` -- ResizeBilinear, half-pixel centres: input position ``(j + 0.5) * n_in / n_out - 0.5``,
  the two neighbours clamped to the image;
* ``bicubic`` -- ResizeBicubic, half-pixel centres, Keys' cubic with a = -0.5 read from TF's 1024-entry
  coefficient table; taps outside the image get weight 0 and the rest is renormalized;
* ``area`` -- ResizeArea (no half-pixel offset): each output cell averages the input pixels it overlaps;
* ``nearest`` -- ResizeNearestNeighbor, half-pixel centres: ``floor((j + 0.5) * n_in / n_out)``, a gather;
* ``lanczos3``, ``lanczos5``, ``gaussian``, ``mitchellcubic`` and the antialiased ``bilinear`` (triangle)
  and ``bicubic`` (Keys cubic) -- ScaleAndTranslate: the kernel at ``|i + 0.5 - (j + 0.5) * n_in / n_out|``,
  widened by ``n_in / n_out`` when shrinking with ``antialias``, normalized per output pixel.

``resize_images`` applies each matrix with the registered primitive ``sparse_dense_matmul`` (a CSR matrix when
SciPy is installed, else dense; float32 weights summed in float64) and ``nearest`` with ``gather``. Their VJPs
give the gradient with respect to the images: the transposed resampling (TF's ResizeBilinearGrad,
ResizeBicubicGrad, ScaleAndTranslateGrad, ResizeNearestNeighborGrad). TF registers no
gradient for ResizeArea; here ``area`` is differentiable too (its transposed averaging).

>>> import numpy as np
>>> from tapeflow.image_resize import resize_weights
>>> resize_weights("bilinear", 2, 4, antialias=False).tolist()
[[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]]
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .autodiff.tensor import Tensor

__all__ = ["METHODS", "resize_images", "resize_weights"]

METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
_F = np.float32


def _scale(n_in: int, n_out: int) -> np.float32:
    return _F(n_in) / _F(n_out)


def _bilinear(n_in: int, n_out: int) -> np.ndarray:
    pos = (np.arange(n_out, dtype=_F) + _F(0.5)) * _scale(n_in, n_out) - _F(0.5)
    floor = np.floor(pos)
    lo = np.maximum(floor.astype(np.int64), 0)
    hi = np.minimum(np.ceil(pos).astype(np.int64), n_in - 1)
    frac = pos - floor
    w = np.zeros((n_out, n_in), _F)
    rows = np.arange(n_out)
    np.add.at(w, (rows, lo), _F(1) - frac)
    np.add.at(w, (rows, hi), frac)
    return w


def _cubic_table(a: float = -0.5, size: int = 1024) -> np.ndarray:
    """TF's ResizeBicubic coefficients: column 0 is the kernel at t, column 1 at t + 1, for t = i / size."""
    t = (np.arange(size + 1) / size).astype(_F)
    a = _F(a)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    u = t + _F(1)
    far = ((a * u - 5 * a) * u + 8 * a) * u - 4 * a
    return np.stack([near, far], axis=1).astype(_F)


_CUBIC = _cubic_table()


def _bicubic(n_in: int, n_out: int) -> np.ndarray:
    pos = (np.arange(n_out, dtype=_F) + _F(0.5)) * _scale(n_in, n_out) - _F(0.5)
    base = np.floor(pos).astype(np.int64)
    off = np.rint((pos - np.floor(pos)) * _F(1024)).astype(np.int64)
    taps = np.stack([_CUBIC[off, 1], _CUBIC[off, 0], _CUBIC[1024 - off, 0], _CUBIC[1024 - off, 1]], axis=1)
    idx = base[:, None] + np.arange(-1, 3)[None, :]
    taps = np.where((idx >= 0) & (idx < n_in), taps, _F(0))
    total = taps.sum(axis=1, keepdims=True, dtype=_F)
    ok = np.abs(total) >= 1000 * np.finfo(_F).tiny
    taps = np.where(ok, taps * (_F(1) / np.where(ok, total, _F(1))), taps)
    w = np.zeros((n_out, n_in), _F)
    np.add.at(w, (np.repeat(np.arange(n_out), 4), np.clip(idx, 0, n_in - 1).ravel()), taps.ravel())
    return w


def _area(n_in: int, n_out: int) -> np.ndarray:
    s = _scale(n_in, n_out)
    w = np.zeros((n_out, n_in), _F)
    for j in range(n_out):
        start, end = _F(j) * s, _F(j + 1) * s
        for i in range(int(np.floor(start)), int(np.ceil(end))):
            if i < start:
                part = s if i + 1 > end else _F(i + 1) - start
            else:
                part = end - _F(i) if i + 1 > end else _F(1)
            w[j, min(i, n_in - 1)] += part
    return w * (_F(1) / s)


def _lanczos(radius: float):
    def kernel(x):
        pi = _F(3.14159265359)
        y = radius * np.sin(pi * x) * np.sin(pi * x / _F(radius)) / np.where(x > 1e-3, pi * pi * x * x, _F(1))
        return np.where(x > radius, _F(0), np.where(x <= 1e-3, _F(1), y))
    return kernel, radius


def _keys(x):
    far = ((_F(-0.5) * x + _F(2.5)) * x - _F(4)) * x + _F(2)
    near = ((_F(1.5) * x - _F(2.5)) * x) * x + _F(1)
    return np.where(x >= 2, _F(0), np.where(x >= 1, far, near))


def _mitchell(x):
    far = ((_F(-7 / 18) * x + _F(2)) * x - _F(10 / 3)) * x + _F(16 / 9)
    near = ((_F(7 / 6) * x - _F(2)) * x) * x + _F(8 / 9)
    return np.where(x >= 2, _F(0), np.where(x >= 1, far, near))


def _gaussian(x):
    sigma = 1.5 / 3.0
    return np.where(x >= 1.5, 0.0, np.exp(-x.astype(np.float64) ** 2 / (2.0 * sigma * sigma))).astype(_F)


_KERNELS = {"triangle": (lambda x: np.where(x < 1, _F(1) - x, _F(0)), 1.0), "keyscubic": (_keys, 2.0),
            "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0), "gaussian": (_gaussian, 1.5),
            "mitchellcubic": (_mitchell, 2.0)}


def _scale_and_translate(n_in: int, n_out: int, kernel: str, antialias: bool) -> np.ndarray:
    fn, radius = _KERNELS[kernel]
    inv = _F(1.0 / float(_F(n_out) / _F(n_in)))
    widen = max(inv, _F(1)) if antialias else _F(1)
    sample = (np.arange(n_out, dtype=_F) + _F(0.5)) * inv
    pos = np.arange(n_in, dtype=_F)[None, :] + _F(0.5) - sample[:, None]
    reach = _F(radius) * widen
    start = np.clip(np.ceil(sample - reach - _F(0.5)), 0, n_in - 1)[:, None]
    end = np.clip(np.floor(sample + reach - _F(0.5)), 0, n_in - 1)[:, None]
    span = (np.arange(n_in)[None, :] >= start) & (np.arange(n_in)[None, :] <= end)
    w = np.where(span, fn(np.abs(pos * (_F(1) / widen))).astype(_F), _F(0))
    total = w.sum(axis=1, keepdims=True, dtype=_F)
    ok = (np.abs(total) >= 1000 * np.finfo(_F).tiny) & ((sample >= 0) & (sample <= n_in))[:, None]
    return np.where(ok, w * (_F(1) / np.where(ok, total, _F(1))), _F(0))


def nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Input row read by each output row of ResizeNearestNeighbor (half-pixel centres)."""
    pos = np.floor((np.arange(n_out, dtype=_F) + _F(0.5)) * _scale(n_in, n_out)).astype(np.int64)
    return np.clip(pos, 0, n_in - 1)


def resize_weights(method: str, n_in: int, n_out: int, antialias: bool = False) -> np.ndarray:
    """The ``(n_out, n_in)`` float32 matrix TF2's ``tf.image.resize(method=method, antialias=antialias)``
    applies along an axis of ``n_in`` pixels (``nearest``: a 0/1 selection matrix).

    >>> from tapeflow.image_resize import resize_weights
    >>> resize_weights("area", 4, 2).tolist()
    [[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]]
    """
    if method == "nearest":
        w = np.zeros((n_out, n_in), _F)
        w[np.arange(n_out), nearest_index(n_in, n_out)] = 1
        return w
    if method == "bilinear":
        return _scale_and_translate(n_in, n_out, "triangle", True) if antialias else _bilinear(n_in, n_out)
    if method == "bicubic":
        return _scale_and_translate(n_in, n_out, "keyscubic", True) if antialias else _bicubic(n_in, n_out)
    if method == "area":
        return _area(n_in, n_out)
    if method in _KERNELS:
        return _scale_and_translate(n_in, n_out, method, bool(antialias))
    raise ValueError(f"resize: `method` must be one of {METHODS}, got {method!r}")


class _Resampler:
    """A constant ``(n_out, n_in)`` resampling matrix for ``sparse_dense_matmul``: banded CSR when SciPy is there
    (dense otherwise), its transpose for the VJP, and equality by what it resamples, so a traced training step
    sees the same attribute on every pass."""

    __slots__ = ("key", "matrix", "_transposed")

    def __init__(self, key: tuple, matrix, transposed=None):
        self.key, self.matrix, self._transposed = key, matrix, transposed

    @property
    def shape(self):
        return self.matrix.shape

    @property
    def T(self):  # noqa: N802 - the attribute sparse_dense_matmul's VJP reads
        if self._transposed is None:
            t = self.matrix.T
            self._transposed = _Resampler(self.key + ("T",), t.tocsr() if hasattr(t, "tocsr") else t, self)
        return self._transposed

    def __matmul__(self, x):
        return self.matrix @ x

    def __eq__(self, other):
        return isinstance(other, _Resampler) and other.key == self.key

    def __hash__(self):
        return hash(self.key)


@lru_cache(maxsize=256)
def _operator(method: str, n_in: int, n_out: int, antialias: bool):
    """The resampler of one axis, or None where it is the identity (float32 weights, summed in float64)."""
    wts = resize_weights(method, n_in, n_out, antialias)
    if n_in == n_out and np.array_equal(wts, np.eye(n_in, dtype=_F)):
        return None
    wts = wts.astype(np.float64)
    try:
        from scipy.sparse import csr_matrix
        wts = csr_matrix(wts)
    except ImportError:   # dense: one BLAS product per axis
        pass
    return _Resampler((method, n_in, n_out, antialias), wts)


def _resample_first(t: Tensor, method: str, n_out: int, antialias: bool) -> Tensor:
    """Resample axis 0 of ``t`` to ``n_out``: ``W @ t`` over the flattened other axes."""
    from .ops import array_ops as A
    from .ops.graph_ops import sparse_dense_matmul
    shape = t._value.shape
    if method == "nearest":
        idx = nearest_index(shape[0], n_out)
        return t if np.array_equal(idx, np.arange(shape[0])) else A.gather(t, idx, axis=0)
    op = _operator(method, shape[0], n_out, bool(antialias))
    if op is None:
        return t
    return A.reshape(sparse_dense_matmul(op, A.reshape(t, (shape[0], -1))), (n_out,) + shape[1:])


def resize_images(x: Tensor, size, method: str = "bilinear", antialias: bool = False) -> Tensor:
    """Resize the channels-last batch ``x`` (rank 4, a float Tensor; ``nearest``: any dtype) to ``size`` =
    (height, width) with TF2's ``method``; the result keeps ``x``'s dtype. Differentiable.

    >>> import numpy as np
    >>> from tapeflow.autodiff.tensor import Tensor
    >>> from tapeflow.image_resize import resize_images
    >>> x = Tensor._wrap(np.arange(4.0, dtype="float32").reshape(1, 2, 2, 1))
    >>> resize_images(x, (1, 4))[0, 0, :, 0].numpy().tolist()
    [1.0, 1.25, 1.75, 2.0]
    >>> [round(v, 4) for v in resize_images(x, (1, 4), "bicubic")[0, 0, :, 0].numpy().tolist()]
    [0.9118, 1.2071, 1.7929, 2.0882]
    """
    from .ops.array_ops import transpose
    if method not in METHODS:
        raise ValueError(f"resize: `method` must be one of {METHODS}, got {method!r}")
    th, tw = (int(s) for s in size)
    t = _resample_first(transpose(x, (1, 0, 2, 3)), method, th, antialias)         # (th, N, W, C)
    t = _resample_first(transpose(t, (2, 0, 1, 3)), method, tw, antialias)         # (tw, th, N, C)
    return transpose(t, (2, 1, 0, 3))
