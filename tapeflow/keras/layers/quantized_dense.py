"""Quantized ``Dense``: int8 and int4 weights, Keras 3.15.1's variables, arithmetic and custom gradient.

* int8: ``kernel`` int8 ``(in, units)`` and ``kernel_scale`` ``(units,)`` (127 / absmax per output unit). The
  call quantizes each input row the same way (unless the config's ``activation_quantizer`` is None), multiplies
  the integers exactly and divides by ``kernel_scale * inputs_scale``.
* int4, per channel (``block_size`` None/-1): ``kernel`` ``(in, ceil(units / 2))`` holding two int4 values per
  byte along the units axis, ``kernel_scale`` ``(units,)`` (7 / absmax).
* int4, sub-channel (``block_size`` > 0, the default 128): asymmetric, groups of ``block_size`` input rows;
  ``kernel_scale`` and ``kernel_zero`` ``(groups, units)``, ``g_idx`` ``(in,)`` (each row's group); the call
  multiplies by the dequantized kernel ``(q - zero) * scale``.

The gradient w.r.t. the inputs is ``upstream @ dequantized_kernel.T``; the integer variables get none.
"""
from __future__ import annotations

import numpy as np

from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops.registry import const
from .quantized import QuantizableMixin, straight_through


def _q():
    from .. import quantizers
    return quantizers


def _arr(x) -> np.ndarray:
    return x._value if hasattr(x, "_value") else np.asarray(x)


def run_quantizer(quantizer, x: np.ndarray, axis=None):
    """``(quantized, scale)`` arrays from a Keras-style quantizer, called as
    ``quantizer(x, axis=..., to_numpy=True)``."""
    if hasattr(quantizer, "quantize_np"):
        return quantizer.quantize_np(x, axis)
    q, scale = quantizer(x, to_numpy=True) if axis is None else quantizer(x, axis=axis, to_numpy=True)
    return _arr(q), _arr(scale)


def exact_int_product(fn, a: np.ndarray, b: np.ndarray, terms: int) -> np.ndarray:
    """``fn(a, b)`` (a matmul or einsum of two int8 arrays) computed exactly, as the int32 result TensorFlow gives:
    in float32 while every sum fits its 24-bit mantissa, else in float64."""
    dtype = np.float32 if terms * 128 * 128 < (1 << 24) else np.float64
    return fn(a.astype(dtype), b.astype(dtype))


def matmul_grad(float_kernel):
    """``upstream -> upstream @ float_kernel().T`` on Tensors, for inputs of any rank (the kernel is dequantized
    only when a gradient is asked for, as in Keras's ``grad_fn``)."""
    def grad(g):
        kt = const(np.ascontiguousarray(float_kernel().T), g)
        shape = g._value.shape
        flat = A.reshape(g, (-1, shape[-1])) if len(shape) != 2 else g
        out = M.matmul(flat, kt)
        return out if len(shape) == 2 else A.reshape(out, shape[:-1] + (kt._value.shape[1],))
    return grad


class DenseQuantization(QuantizableMixin):
    """The quantized half of ``Dense`` (mixed into it)."""

    _float_weight = "kernel"
    _saved_order = {"int8": ("kernel", "bias", "kernel_scale"),
                    "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx")}

    def _quantize_arrays(self, mode, config) -> dict:
        Q = _q()
        kernel = self.kernel._value
        if mode == "int8":
            wq = Q.QuantizationConfig.weight_quantizer_or_default(config, Q.AbsMaxQuantizer(axis=0))
            q, scale = run_quantizer(wq, kernel)
            return {"kernel": q, "kernel_scale": np.squeeze(scale, axis=0)}
        block = config.block_size if isinstance(config, Q.Int4QuantizationConfig) else None
        out = {}
        if block is None or block == -1:
            wq = Q.QuantizationConfig.weight_quantizer_or_default(
                config, Q.AbsMaxQuantizer(axis=0, value_range=(-8, 7), output_dtype="int8"))
            q, scale = run_quantizer(wq, kernel)
            scale = np.squeeze(scale, axis=0)
        else:
            q, scale, out["kernel_zero"] = Q.quantizers.abs_max_quantize_grouped_np(kernel, block)
        out["kernel"] = Q.quantizers.pack_int4_np(np.asarray(q, "int8"), axis=1)
        out["kernel_scale"] = scale
        return out

    def _quantized_build(self, mode, config, kernel_shape, prefix=None) -> None:
        Q = _q()
        in_dim, units = (int(s) for s in kernel_shape)
        add = self._add_quantized_weight
        if mode == "int8":
            self.inputs_quantizer = Q.QuantizationConfig.activation_quantizer_or_default(config, Q.AbsMaxQuantizer())
            self.kernel = add("kernel", (in_dim, units), "int8", prefix)
            self.kernel_scale = add("kernel_scale", (units,), None, prefix)
        else:
            self.inputs_quantizer = Q.QuantizationConfig.activation_quantizer_or_default(config, None)
            self.kernel = add("kernel", (in_dim, (units + 1) // 2), "int8", prefix)
            block = self._int4_block_size(config)
            block = None if block == -1 else block
            self._int4_block = block
            groups = None if block is None else -(-in_dim // block)
            self.kernel_scale = add("kernel_scale", (units,) if block is None else (groups, units), None, prefix)
            if block is not None:
                self.kernel_zero = add("kernel_zero", (groups, units), "int8", prefix)
                self.g_idx = add("g_idx", (in_dim,), "float32", prefix)
                self.g_idx.assign(np.floor_divide(np.arange(in_dim, dtype="float32"), block))
            self._orig_output_dim = units
        self._finish_quantized_build()

    def _dequantized_kernel(self) -> np.ndarray:
        """The float kernel the int4/int8 variables stand for, in the compute dtype."""
        Q, cd = _q(), self._compute_dtype
        scale = self.kernel_scale._value.astype(cd, copy=False)
        if self.quantization_mode == "int8":
            return self.kernel._value.astype(cd) / scale
        q = Q.quantizers.unpack_int4_np(self.kernel._value, self._orig_output_dim, axis=1)
        if self._int4_block is None:
            return q.astype(cd) / scale
        return Q.quantizers.dequantize_with_sz_map_np(q, scale, self.kernel_zero._value, self.g_idx._value,
                                                      group_axis=0).astype(cd, copy=False)

    def _quantized_call(self, inputs):
        Q, cd = _q(), self._compute_dtype
        x = inputs._value
        scale = self.kernel_scale._value.astype(cd, copy=False)
        if self.quantization_mode == "int8":
            q = self.kernel._value
        else:
            q = Q.quantizers.unpack_int4_np(self.kernel._value, self._orig_output_dim, axis=1)
        if self.quantization_mode == "int4" and self._int4_block is not None:
            y = x @ self._dequantized_kernel()  # sub-channel: a float matmul with the dequantized kernel
        elif self.inputs_quantizer:
            xq, xs = run_quantizer(self.inputs_quantizer, x, axis=-1)
            y = exact_int_product(np.matmul, xq, q, x.shape[-1]).astype(cd) / (scale * xs.astype(cd, copy=False))
        else:
            y = (x @ q.astype(cd)).astype(cd, copy=False) / scale
        y = straight_through(inputs, np.asarray(y, cd), matmul_grad(self._dequantized_kernel))
        if self.bias is not None:
            y = M.add(y, self._read(self.bias))
        return y if self._linear else self.activation(y)
