"""``keras.quantizers`` functions and the ``Quantizer`` / ``AbsMaxQuantizer`` classes (Keras 3.15.1's arithmetic).

Rounding is NumPy's (half to even, as TensorFlow's ``round``); scales are computed in the input's float dtype
with Keras's epsilon (``1e-7``) added to the absolute maximum, so the integers equal Keras's exactly. The
``_np`` helpers work on arrays and are what the quantized layers call; the public functions take tensors or
arrays and return tapeflow Tensors.
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor

EPSILON = 1e-7  # keras.backend.epsilon()


def _array(x) -> np.ndarray:
    """An array for a tensor, an array, or Python numbers (floats become float32, as Keras converts them)."""
    if isinstance(x, (Tensor, np.ndarray, np.generic)):
        return x._value if isinstance(x, Tensor) else np.asarray(x)
    from ...autodiff.tensor import convert_to_tensor
    return convert_to_tensor(x)._value


def _axis(axis):
    return tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else int(axis)


def _tensor(a) -> Tensor:
    return Tensor._wrap(np.asarray(a))


# -- abs-max (symmetric) quantization ----------------------------------------------------------
def abs_max_quantize_np(x: np.ndarray, axis, value_range=(-127, 127), dtype="int8", epsilon=EPSILON):
    """``(quantized, scale)`` arrays: ``scale = value_range[1] / (max|x| over axis + epsilon)`` (kept dims),
    ``quantized = clip(round(x * scale), *value_range)`` cast to ``dtype``."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    amax = np.max(np.abs(x), axis=_axis(axis), keepdims=True)
    scale = np.divide(value_range[1], np.add(amax, epsilon)).astype(x.dtype, copy=False)
    q = np.clip(np.round(x * scale), value_range[0], value_range[1]).astype(dtype)
    return q, scale


def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=EPSILON, to_numpy=False):
    """Symmetric per-``axis`` quantization, as ``keras.quantizers.abs_max_quantize``: ``(quantized, scale)``.

    ``scale`` keeps the reduced axes (size 1); the input is recovered as ``quantized / scale``. ``to_numpy`` is
    accepted for Keras compatibility (tapeflow always computes on the host).

    >>> import numpy as np
    >>> from tapeflow.keras import quantizers
    >>> q, s = quantizers.abs_max_quantize(np.array([[0.5, -1.0, 0.25]], "float32"), axis=-1)
    >>> q.numpy().tolist(), s.numpy().tolist()
    ([[63, -127, 32]], [[126.99998474121094]])
    """
    q, scale = abs_max_quantize_np(_array(inputs), axis, value_range, dtype, epsilon)
    return _tensor(q), _tensor(scale)


def abs_max_quantize_grouped_np(x: np.ndarray, block_size: int, value_range=(-8, 7), dtype="int8",
                                epsilon=EPSILON):
    """Asymmetric quantization of a 2-D ``(rows, columns)`` array in groups of ``block_size`` rows:
    ``(quantized (rows, columns), scale (groups, columns), zero_point int8 (groups, columns))``, Keras's NumPy
    path (rows are zero-padded to a whole number of groups for the statistics)."""
    x = np.asarray(x)
    rows, cols = x.shape
    groups = -(-rows // block_size)
    qmin, qmax = value_range
    padded = np.concatenate([x, np.zeros((groups * block_size - rows, cols), x.dtype)]) if groups * block_size > rows \
        else x
    blocks = padded.reshape(groups, block_size, cols)
    lo = np.min(blocks, axis=1, keepdims=True)
    hi = np.max(blocks, axis=1, keepdims=True)
    scale = np.divide(np.subtract(hi, lo) + epsilon, qmax - qmin)
    zero = np.clip(np.round(np.divide(-lo, scale)) + qmin, qmin, qmax)
    q = np.clip(np.round(np.divide(blocks, scale)) + zero, qmin, qmax).astype(dtype)
    return (q.reshape(groups * block_size, cols)[:rows], np.squeeze(scale, axis=1).astype(x.dtype, copy=False),
            np.squeeze(zero, axis=1).astype("int8"))


def _grouped_device_np(x: np.ndarray, block_size: int, value_range, dtype, epsilon):
    """Keras's ``to_numpy=False`` path (``compute_quantization_parameters``): like the NumPy path but a single
    group takes its statistics from the real rows only, a constant group is widened by +-1 and a non-positive
    scale becomes 1e-8."""
    rows, cols = x.shape
    qmin, qmax = value_range
    groups = -(-rows // block_size)
    padded = np.concatenate([x, np.zeros((groups * block_size - rows, cols), x.dtype)]) if groups * block_size > rows \
        else x
    stats = padded.reshape(groups, block_size, cols) if groups > 1 else x[None]
    lo, hi = np.min(stats, axis=1), np.max(stats, axis=1)
    same = lo == hi
    lo, hi = np.where(same, lo - 1, lo), np.where(same, hi + 1, hi)
    span = hi - lo
    if epsilon > 0:
        span = span + x.dtype.type(epsilon)
    scale = span / x.dtype.type(qmax - qmin)
    scale = np.where(scale <= 0, x.dtype.type(1e-8), scale)
    zero = np.clip(np.round(-lo / scale) + qmin, qmin, qmax)
    q = np.round(padded.reshape(groups, block_size, cols) / scale[:, None]) + zero[:, None]
    q = np.clip(q, qmin, qmax).astype(dtype).reshape(groups * block_size, cols)[:rows]
    return q, scale.astype(x.dtype, copy=False), zero.astype("int8")


def abs_max_quantize_grouped_with_zero_point(inputs, block_size, value_range=(-8, 7), dtype="int8",
                                             epsilon=EPSILON, to_numpy=False):
    """Grouped asymmetric quantization of a ``(input_dim, output_dim)`` kernel, groups of ``block_size`` rows:
    ``(quantized, scale, zero_point)`` as Keras's. The two paths of Keras differ when ``block_size`` exceeds
    ``input_dim`` (``to_numpy=True``, what the layers use, counts the zero padding in the statistics); both are
    reproduced.

    >>> import numpy as np
    >>> from tapeflow.keras import quantizers
    >>> q, s, z = quantizers.abs_max_quantize_grouped_with_zero_point(np.array([[0.0], [1.5]], "float32"), 2)
    >>> q.numpy().ravel().tolist(), z.numpy().ravel().tolist()
    ([-8, 7], [-8])
    """
    x = _array(inputs)
    if x.ndim != 2:
        raise ValueError(f"abs_max_quantize_grouped_with_zero_point: `inputs` must be 2-D (input_dim, output_dim), "
                         f"got shape {x.shape}")
    fn = abs_max_quantize_grouped_np if to_numpy else _grouped_device_np
    q, scale, zero = fn(x, int(block_size), value_range, dtype, epsilon)
    return _tensor(q), _tensor(scale), _tensor(zero)


def dequantize_with_sz_map_np(q: np.ndarray, scale: np.ndarray, zero: np.ndarray, g_idx: np.ndarray, group_axis=-1):
    """``(q - zero[g_idx]) * scale[g_idx]`` with the groups looked up along ``group_axis`` (float result)."""
    groups = np.asarray(g_idx).astype(np.int32)
    scales = np.take(scale, groups, axis=group_axis)
    zeros = np.take(zero, groups, axis=group_axis).astype(scales.dtype)
    return (np.subtract(q, zeros)) * scales


# -- int4 packing ------------------------------------------------------------------------------
def _check_pack_dtype(dtype):
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")


def pack_int4_np(arr: np.ndarray, axis: int = 0, dtype="int8") -> np.ndarray:
    """Two int4 values per byte along ``axis``: the first of each pair in the low nibble, the second in the high
    one (an odd length gets a zero pad)."""
    a = np.moveaxis(np.asarray(arr), axis, 0)
    if a.shape[0] % 2:
        a = np.concatenate([a, np.zeros((1,) + a.shape[1:], a.dtype)])
    t = np.dtype(dtype)
    low = np.bitwise_and(a[0::2].astype(t), t.type(0x0F))
    high = np.bitwise_and(a[1::2].astype(t), t.type(0x0F))
    return np.moveaxis(np.bitwise_or(low, np.left_shift(high, t.type(4))).astype(t), 0, axis)


def unpack_int4_np(packed: np.ndarray, orig_len: int, axis: int = 0, dtype="int8") -> np.ndarray:
    """Inverse of ``pack_int4_np``: nibbles back to values (``[-8, 7]`` for int8, ``[0, 15]`` for uint8)."""
    p = np.moveaxis(np.asarray(packed), axis, 0)
    mask = p.dtype.type(0x0F)
    low = np.bitwise_and(p, mask)
    high = np.bitwise_and(np.right_shift(p, p.dtype.type(4)), mask)
    if dtype == "int8":
        eight = p.dtype.type(8)
        low, high = np.bitwise_xor(low, eight) - eight, np.bitwise_xor(high, eight) - eight
    out = np.stack([low.astype(dtype), high.astype(dtype)], axis=1).reshape((-1,) + p.shape[1:])[:orig_len]
    return np.moveaxis(out, 0, axis)


def pack_int4(arr, axis=0, dtype="int8"):
    """Pack int4 values (an ``int8``/``uint8`` tensor in ``[-8, 7]``) two per byte along ``axis``:
    ``(packed, packed_shape, orig_len)``, Keras's layout (low nibble = even index, high nibble = odd index).

    >>> import numpy as np
    >>> from tapeflow.keras import quantizers
    >>> packed, shape, n = quantizers.pack_int4(np.array([[-3, 7], [2, -8], [1, 0]], "int8"))
    >>> packed.numpy().tolist(), shape, n
    ([[45, -121], [1, 0]], (2, 2), 3)
    """
    _check_pack_dtype(dtype)
    a = _array(arr)
    if a.dtype != np.dtype(dtype):
        raise TypeError(f"Expected {dtype} tensor for packing, got {a.dtype.name}.")
    axis = int(axis) + a.ndim if int(axis) < 0 else int(axis)
    packed = pack_int4_np(a, axis, dtype)
    return _tensor(packed), tuple(packed.shape), int(a.shape[axis])


def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """Unpack what ``pack_int4`` packed: ``orig_len`` values along ``axis`` (``[-8, 7]`` for ``dtype="int8"``).

    >>> import numpy as np
    >>> from tapeflow.keras import quantizers
    >>> quantizers.unpack_int4(np.array([[45, -121], [1, 0]], "int8"), 3).numpy().tolist()
    [[-3, 7], [2, -8], [1, 0]]
    """
    _check_pack_dtype(dtype)
    p = _array(packed)
    if p.dtype.name not in ("int8", "uint8"):
        raise TypeError(f"Expected int8 or uint8 tensor for unpacking, got {p.dtype.name}")
    axis = int(axis) + p.ndim if int(axis) < 0 else int(axis)
    return _tensor(unpack_int4_np(p, int(orig_len), axis, dtype))


# -- fake quantization -------------------------------------------------------------------------
def fake_quant_with_min_max_vars(inputs, min_vals, max_vals, num_bits=8, narrow_range=False, axis=None):
    """Quantize ``inputs`` into ``[min_vals, max_vals]`` and back (per tensor, or per channel along ``axis``),
    with Keras's straight-through gradient for the inputs and gradients for ``min_vals`` / ``max_vals``.

    >>> import tapeflow as tf
    >>> from tapeflow.keras import quantizers
    >>> x = tf.constant([-2.0, 0.1, 0.5, 3.0])
    >>> quantizers.fake_quant_with_min_max_vars(x, -1.0, 1.0, num_bits=2).numpy().tolist()
    [-1.3333333730697632, 0.0, 0.6666666865348816, 0.6666666865348816]
    """
    from ...autodiff.tensor import convert_to_tensor
    from ...ops.quant_ops import fake_quant
    x = convert_to_tensor(inputs)
    if x._value.dtype.kind != "f":
        raise TypeError(f"fake_quant_with_min_max_vars: `inputs` must be a float tensor, got {x._value.dtype.name}")
    mn, mx = convert_to_tensor(min_vals), convert_to_tensor(max_vals)
    if axis is not None:
        nd = x._value.ndim
        if not -nd <= int(axis) < nd:
            raise ValueError(f"fake_quant_with_min_max_vars: axis {axis} is out of range for inputs of rank {nd}")
        axis = int(axis) % nd
        for name, v in (("min_vals", mn), ("max_vals", mx)):
            if v._value.size != x._value.shape[axis]:
                raise ValueError(f"fake_quant_with_min_max_vars: `{name}` must hold one value per channel "
                                 f"({x._value.shape[axis]} along axis {axis}), got shape {v._value.shape}")
    elif mn._value.size != 1 or mx._value.size != 1:
        raise ValueError("fake_quant_with_min_max_vars: with axis=None, `min_vals` and `max_vals` must be scalars; "
                         f"got shapes {mn._value.shape} and {mx._value.shape} (pass axis= for per-channel ranges)")
    return fake_quant(x, mn, mx, num_bits=num_bits, narrow_range=narrow_range, axis=axis)


# -- float8 helpers ----------------------------------------------------------------------------
def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """The next float8 scale: ``1 / ((dtype_max / amax) / 2**margin)`` where ``amax`` is positive and finite,
    else ``scale`` unchanged (Transformer Engine's rule, as Keras's).

    >>> from tapeflow.keras import quantizers
    >>> quantizers.compute_float8_scale([2.0, 0.0], [0.5, 0.5], 448.0).numpy().tolist()
    [0.004464285913854837, 0.5]
    """
    amax = np.asarray(_array(amax))
    scale = np.asarray(_array(scale))
    amax = amax.astype(np.float32) if amax.dtype.kind != "f" else amax
    inv = np.reciprocal(scale.astype(amax.dtype))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sf = np.divide(np.divide(np.asarray(dtype_max, amax.dtype), amax), amax.dtype.type(2.0 ** margin))
    sf = np.where(amax > 0.0, sf, inv)
    sf = np.where(np.isfinite(amax), sf, inv)
    return _tensor(np.reciprocal(sf).astype(amax.dtype))


def compute_float8_amax_history(x, amax_history):
    """``amax_history`` rolled one step left, with ``max|x|`` written at index 0 (as Keras).

    >>> from tapeflow.keras import quantizers
    >>> quantizers.compute_float8_amax_history([1.0, -3.0], [0.5, 2.0, 1.0]).numpy().tolist()
    [3.0, 1.0, 0.5]
    """
    hist = np.asarray(_array(amax_history))
    out = np.roll(hist, -1).copy()
    out[0] = np.max(np.abs(np.asarray(_array(x)))).astype(hist.dtype)
    return _tensor(out)


def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """``cast(clip(inputs / scale, -fmax, fmax), quantized_dtype) * scale`` in ``compute_dtype`` (float8 dtypes via
    ml_dtypes, round to nearest even).

    >>> from tapeflow.keras import quantizers
    >>> quantizers.quantize_and_dequantize([0.3, 1000.0], 1.0, "float8_e4m3fn", "float32").numpy().tolist()
    [0.3125, 448.0]
    """
    from ... import backend as B
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - ml_dtypes comes with the bfloat16 extra
        raise ImportError("quantize_and_dequantize needs ml_dtypes for float8 dtypes: pip install ml_dtypes") from None
    qd = np.dtype(getattr(ml_dtypes, str(quantized_dtype), None) or quantized_dtype)
    cd = B.as_dtype(compute_dtype)
    fmax = float(ml_dtypes.finfo(qd).max)
    s = np.asarray(_array(scale)).astype(cd)
    x = np.clip(np.divide(np.asarray(_array(inputs)).astype(cd), s), cd.type(-fmax), cd.type(fmax))
    return _tensor(np.multiply(x.astype(qd).astype(cd), s))


# -- classes -----------------------------------------------------------------------------------
class Quantizer:
    """Base class of quantizers: ``quantizer(x)`` returns a quantized version of ``x`` (identity here).

    >>> from tapeflow.keras import quantizers
    >>> quantizers.Quantizer().output_dtype
    'int8'
    """

    def __init__(self, output_dtype="int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")


class AbsMaxQuantizer(Quantizer):
    """Symmetric abs-max quantizer: ``quantizer(x, axis)`` gives ``(quantized, scale)`` (see ``abs_max_quantize``).

    >>> import numpy as np
    >>> from tapeflow.keras import quantizers
    >>> q, s = quantizers.AbsMaxQuantizer()(np.array([[0.5, -1.0]], "float32"))
    >>> q.numpy().tolist()
    [[63, -127]]
    """

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=EPSILON, output_dtype="int8"):
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else ((int(axis),) if isinstance(axis, (int, np.integer))
                                               else tuple(int(a) for a in axis))
        if not isinstance(value_range, (list, tuple)) or len(value_range) != 2:
            raise ValueError(f"AbsMaxQuantizer: `value_range` must be a (min, max) pair, got {value_range!r}")
        self.value_range = tuple(value_range)
        self.epsilon = epsilon
        if output_dtype == "int8" and (self.value_range[0] < -128 or self.value_range[1] > 127):
            raise ValueError("Quantizer with output_dtype='int8' requires value_range to be within the interval "
                             f"[-128, 127]. Received: value_range={self.value_range}")

    def quantize_np(self, x: np.ndarray, axis=None):
        """``(quantized, scale)`` arrays (what the quantized layers use)."""
        axis = self.axis if axis is None else axis
        return abs_max_quantize_np(x, -1 if axis is None else axis, self.value_range, self.output_dtype, self.epsilon)

    def __call__(self, x, axis=None, to_numpy=False):
        q, scale = self.quantize_np(_array(x), axis)
        return _tensor(q), _tensor(scale)

    def get_config(self):
        config = {"value_range": self.value_range, "epsilon": self.epsilon, "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config
