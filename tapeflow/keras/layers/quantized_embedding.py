"""Quantized ``Embedding`` (Keras 3.15.1): one scale per vocabulary row.

* int8: ``embeddings`` int8 ``(input_dim, output_dim)``, ``embeddings_scale`` ``(input_dim,)`` (127 / absmax of
  the row); a looked-up row is ``q / scale``.
* int4 per channel: ``embeddings`` ``(input_dim, ceil(output_dim / 2))`` packed along the row, scale 7 / absmax.
* int4 sub-channel (``block_size`` > 0): each row in groups of ``block_size`` columns, asymmetric:
  ``embeddings_scale`` / ``embeddings_zero`` ``(input_dim, groups)``, ``g_idx`` ``(output_dim,)``.

No gradient flows: every quantized variable is non-trainable (as in Keras).
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from .quantized import QuantizableMixin
from .quantized_dense import run_quantizer


def _q():
    from .. import quantizers
    return quantizers


class EmbeddingQuantization(QuantizableMixin):
    """The quantized half of ``Embedding`` (mixed into it)."""

    _float_weight = "embeddings"
    _saved_order = {"int8": ("embeddings", "embeddings_scale"),
                    "int4": ("embeddings", "embeddings_scale", "embeddings_zero", "g_idx")}

    def _quantize_arrays(self, mode, config) -> dict:
        Q = _q()
        table = self.embeddings._value
        block = config.block_size if mode == "int4" and isinstance(config, Q.Int4QuantizationConfig) else None
        if mode == "int8" or block is None or block == -1:
            default = Q.AbsMaxQuantizer(axis=-1) if mode == "int8" else \
                Q.AbsMaxQuantizer(axis=-1, value_range=(-8, 7), output_dtype="int8")
            q, scale = run_quantizer(Q.QuantizationConfig.weight_quantizer_or_default(config, default), table)
            out = {"embeddings": q, "embeddings_scale": np.squeeze(scale, axis=-1)}
        else:
            q, scale, zero = Q.quantizers.abs_max_quantize_grouped_np(table.T, block)
            out = {"embeddings": q.T, "embeddings_scale": scale.T, "embeddings_zero": zero.T}
        if mode == "int4":
            out["embeddings"] = Q.quantizers.pack_int4_np(np.asarray(out["embeddings"], "int8"), axis=1)
        return out

    def _quantized_build(self, mode, config, table_shape, prefix=None) -> None:
        add = self._add_quantized_weight
        rows, cols = (int(s) for s in table_shape)
        if mode == "int8":
            self.embeddings = add("embeddings", (rows, cols), "int8", prefix)
            self.embeddings_scale = add("embeddings_scale", (rows,), None, prefix)
        else:
            self.embeddings = add("embeddings", (rows, (cols + 1) // 2), "int8", prefix)
            block = self._int4_block_size(config)
            block = None if block == -1 else block
            self._int4_block = block
            shape = (rows,) if block is None else (rows, -(-cols // block))
            self.embeddings_scale = add("embeddings_scale", shape, None, prefix)
            if block is not None:
                self.embeddings_zero = add("embeddings_zero", shape, "int8", prefix)
                self.g_idx = add("g_idx", (cols,), "float32", prefix)
                self.g_idx.assign(np.floor_divide(np.arange(cols, dtype="float32"), block))
            self._orig_output_dim = cols
        self._finish_quantized_build()

    def _quantized_call(self, inputs):
        Q, cd = _q(), self._compute_dtype
        ids = self._ids(inputs)._value
        scale = np.take(self.embeddings_scale._value, ids, axis=0).astype(cd, copy=False)
        if self.quantization_mode == "int8":
            rows = np.take(self.embeddings._value, ids, axis=0)
        else:
            table = Q.quantizers.unpack_int4_np(self.embeddings._value, self._orig_output_dim, axis=1)
            rows = np.take(table, ids, axis=0)
            if self._int4_block is not None:
                zero = np.take(self.embeddings_zero._value, ids, axis=0)
                return Tensor._wrap(Q.quantizers.dequantize_with_sz_map_np(
                    rows.astype(cd), scale, zero, self.g_idx._value, group_axis=-1).astype(cd, copy=False))
        return Tensor._wrap(rows.astype(cd) / scale[..., None])
