"""Quantized ``EinsumDense`` (Keras 3.15.1's int8 / int4 layout, arithmetic and custom gradient).

The kernel's *reduced* axes are those its equation sums over (absent from the output). int8 keeps the kernel's
shape, one scale per non-reduced position, stored in the output's axis order (``kernel_scale`` shaped as Keras's,
e.g. ``(1, 1, 2, 4)`` for ``"abc,cde->abde"``); inputs are quantized over their reduced axes. int4 views the
kernel as a 2-D ``(rows = reduced sizes, columns = the rest)`` array (a plain reshape, as Keras) and packs it
along the columns, per channel or in sub-channel groups of rows (see ``quantized_dense``).
``analyze_quantization_info`` is Keras's ``_analyze_quantization_info`` step for step, so the scale layouts and
the gradient equation match it for every equation Keras accepts.
"""
from __future__ import annotations

import re
import string

import numpy as np

from ...ops import math_ops as M
from ...ops.einsum_ops import einsum
from ...ops.registry import const
from .. import activations
from .quantized import QuantizableMixin, straight_through
from .quantized_dense import exact_int_product, run_quantizer


def _q():
    from .. import quantizers
    return quantizers


def _specs(equation: str, ndim: int):
    """(input, kernel, output) letters with any ellipsis spelled out for a rank-``ndim`` input."""
    eq = re.sub(r"\.\.\.", "0", equation)
    m = re.match("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", eq)
    if m is not None:
        return m.group(1), m.group(2), m.group(3)
    for pattern, left in (("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
                          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False)):
        m = re.match(pattern, eq)
        if m is not None:
            inp, ker, out = m.group(1), m.group(2), m.group(3)
            spare = sorted(set(string.ascii_letters) - set(inp) - set(ker) - set(out))
            for i in range(ndim - len(inp)):
                inp, out = (spare[i] + inp, spare[i] + out) if left else (inp + spare[i], out + spare[i])
            return inp, ker, out
    raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form [X],[Y]->[Z], "
                     "...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


def analyze_quantization_info(equation: str, ndim: int) -> dict:
    """Reduced axes, scale transposes / expansions / squeezes and the gradient equation for ``equation``."""
    inp, ker, out = _specs(equation, ndim)
    input_reduced = [i for i, c in enumerate(inp) if out.find(c) == -1]
    kernel_reduced = [i for i, c in enumerate(ker) if out.find(c) == -1]
    index = out.find(ker[-1])  # Keras reuses this loop variable below when an expand list runs out
    input_expand = [i for i, c in enumerate(out) if inp.find(c) == -1]
    kernel_expand = [i for i, c in enumerate(out) if ker.find(c) == -1]
    input_transpose = [inp.find(c) for c in out if inp.find(c) != -1]
    kernel_transpose = [ker.find(c) for c in out if ker.find(c) != -1]
    squeezes = ([], [])
    for reduced, expand, transpose, squeeze in ((input_reduced, input_expand, input_transpose, squeezes[0]),
                                                (kernel_reduced, kernel_expand, kernel_transpose, squeezes[1])):
        for ori in reduced:
            if expand:
                index = expand.pop(0)
            else:
                squeeze.append(ori)
            transpose.insert(index, ori)
    reverse = [i for _, i in sorted((v, i) for i, v in enumerate(kernel_transpose))]
    return {"input_reduced": input_reduced, "kernel_reduced": kernel_reduced,
            "input_transpose": input_transpose, "kernel_transpose": kernel_transpose,
            "input_expand": input_expand, "kernel_expand": kernel_expand,
            "input_squeeze": squeezes[0], "kernel_squeeze": squeezes[1],
            "grad_equation": f"{out},{ker}->{inp}", "kernel_reverse_transpose": reverse}


def adjust_scale_for_quant(scale: np.ndarray, info: dict, kind: str) -> np.ndarray:
    """A quantizer's kept-dims scale moved into the output's axis order (Keras's ``_adjust_scale_for_quant``)."""
    if info[f"{kind}_transpose"]:
        scale = np.transpose(scale, info[f"{kind}_transpose"])
    if info[f"{kind}_expand"]:
        scale = np.expand_dims(scale, axis=tuple(info[f"{kind}_expand"]))
    if info[f"{kind}_squeeze"]:
        scale = np.squeeze(scale, axis=tuple(info[f"{kind}_squeeze"]))
    return scale


def adjust_scale_for_dequant(scale: np.ndarray, info: dict) -> np.ndarray:
    """The stored kernel scale back in the kernel's axis order (Keras's ``_adjust_scale_for_dequant``)."""
    if info["kernel_squeeze"]:
        scale = np.expand_dims(scale, axis=tuple(info["kernel_squeeze"]))
    if info["kernel_expand"]:
        scale = np.squeeze(scale, axis=tuple(info["kernel_expand"]))
    if info["kernel_transpose"]:
        scale = np.transpose(scale, sorted(range(len(info["kernel_transpose"])),
                                           key=info["kernel_transpose"].__getitem__))
    return scale


def kernel_scale_shape(kernel_shape, info: dict) -> tuple:
    shape = np.array(kernel_shape)
    shape[info["kernel_reduced"]] = 1
    shape = shape[info["kernel_transpose"]].tolist()
    for a in sorted(info["kernel_expand"]):
        shape.insert(a, 1)
    for a in sorted(info["kernel_squeeze"], reverse=True):
        shape.pop(a)
    return tuple(int(s) for s in shape)


class EinsumDenseQuantization(QuantizableMixin):
    """The quantized half of ``EinsumDense`` (mixed into it)."""

    _float_weight = "kernel"
    _saved_order = {"int8": ("kernel", "bias", "kernel_scale"),
                    "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx")}

    def _quant_info(self) -> dict:
        info = self.__dict__.get("_qinfo")
        if info is None:
            info = self.__dict__["_qinfo"] = analyze_quantization_info(self.equation, self._input_ndim)
        return info

    def _rows_columns(self, kernel_shape):
        reduced = self._quant_info()["kernel_reduced"]
        rows = int(np.prod([d for i, d in enumerate(kernel_shape) if i in reduced], dtype=np.int64))
        return rows, int(np.prod([d for i, d in enumerate(kernel_shape) if i not in reduced], dtype=np.int64))

    def _quantize_arrays(self, mode, config) -> dict:
        Q, info = _q(), self._quant_info()
        kernel = self.kernel._value
        if mode == "int8":
            wq = Q.QuantizationConfig.weight_quantizer_or_default(
                config, Q.AbsMaxQuantizer(axis=info["kernel_reduced"]))
            q, scale = run_quantizer(wq, kernel)
            scale = adjust_scale_for_quant(scale, info, "kernel")
            self._check_shape(self, "kernel_scale", scale, kernel_scale_shape(kernel.shape, info))
            return {"kernel": q, "kernel_scale": scale}
        block = config.block_size if isinstance(config, Q.Int4QuantizationConfig) else None
        flat = kernel.reshape(self._rows_columns(kernel.shape))
        out = {}
        if block is None or block == -1:
            q, scale = Q.quantizers.abs_max_quantize_np(flat, axis=0, value_range=(-8, 7))
            scale = np.squeeze(scale, axis=0)
        else:
            q, scale, out["kernel_zero"] = Q.quantizers.abs_max_quantize_grouped_np(flat, block)
        out["kernel"] = Q.quantizers.pack_int4_np(q, axis=1)
        out["kernel_scale"] = scale
        return out

    def _quantized_build(self, mode, config, kernel_shape, prefix=None) -> None:
        Q, info = _q(), self._quant_info()
        add = self._add_quantized_weight
        kernel_shape = tuple(int(s) for s in kernel_shape)
        self.quantization_axis = tuple(info["input_reduced"])
        if mode == "int8":
            self.inputs_quantizer = Q.QuantizationConfig.activation_quantizer_or_default(config, Q.AbsMaxQuantizer())
            self.kernel = add("kernel", kernel_shape, "int8", prefix)
            self.kernel_scale = add("kernel_scale", kernel_scale_shape(kernel_shape, info), None, prefix)
        else:
            self.inputs_quantizer = Q.QuantizationConfig.activation_quantizer_or_default(config, None)
            self.original_kernel_shape = kernel_shape
            rows, cols = self._rows_columns(kernel_shape)
            block = self._int4_block_size(config)
            block = None if block == -1 else block
            self._int4_block, self._int4_columns = block, cols
            self.kernel = add("kernel", (rows, (cols + 1) // 2), "int8", prefix)
            groups = None if block is None else -(-rows // block)
            self.kernel_scale = add("kernel_scale", (cols,) if block is None else (groups, cols), None, prefix)
            if block is not None:
                self.kernel_zero = add("kernel_zero", (groups, cols), "int8", prefix)
                self.g_idx = add("g_idx", (rows,), "float32", prefix)
                self.g_idx.assign(np.floor_divide(np.arange(rows, dtype="float32"), block))
        self._finish_quantized_build()

    def _dequantized_kernel(self) -> np.ndarray:
        Q, cd, info = _q(), self._compute_dtype, self._quant_info()
        scale = self.kernel_scale._value.astype(cd, copy=False)
        if self.quantization_mode == "int8":
            return self.kernel._value.astype(cd) / adjust_scale_for_dequant(scale, info)
        q = Q.quantizers.unpack_int4_np(self.kernel._value, self._int4_columns, axis=1)
        if self._int4_block is None:
            flat = q.astype(cd) / scale
        else:
            flat = Q.quantizers.dequantize_with_sz_map_np(q, scale, self.kernel_zero._value, self.g_idx._value,
                                                          group_axis=0).astype(cd, copy=False)
        return flat.reshape(self.original_kernel_shape)

    def _quantized_call(self, inputs):
        cd, info, eq = self._compute_dtype, self._quant_info(), self.equation
        x = inputs._value
        float_kernel = self._dequantized_kernel()
        quantizer = self.inputs_quantizer
        if self.quantization_mode == "int8":
            scale = self.kernel_scale._value.astype(cd, copy=False)
            if quantizer:
                xq, xs = run_quantizer(quantizer, x, axis=self.quantization_axis)
                xs = adjust_scale_for_quant(xs, info, "input").astype(cd, copy=False)
                terms = int(np.prod([x.shape[i] for i in info["input_reduced"]], dtype=np.int64))
                y = exact_int_product(lambda a, b: np.einsum(eq, a, b, optimize=True), xq, self.kernel._value,
                                      terms).astype(cd) / (xs * scale)
            else:
                y = np.einsum(eq, x, self.kernel._value.astype(cd), optimize=True).astype(cd, copy=False) / scale
        elif quantizer and self._int4_block is None:
            xq, xs = run_quantizer(quantizer, x, axis=self.quantization_axis)
            xs = adjust_scale_for_quant(xs, info, "input").astype(cd, copy=False)
            y = np.einsum(eq, xq.astype(cd), float_kernel, optimize=True).astype(cd, copy=False) / xs
        else:
            y = np.einsum(eq, x, float_kernel, optimize=True)
        grad_eq = info["grad_equation"]
        y = straight_through(inputs, np.asarray(y, cd), lambda g: einsum(grad_eq, g, const(float_kernel, g)))
        if self.bias is not None:
            y = M.add(y, self._read(self.bias))
        return y if self.activation is activations.linear else self.activation(y)
