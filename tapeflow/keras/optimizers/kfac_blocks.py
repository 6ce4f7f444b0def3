"""K-FAC layer blocks: how one layer's Kronecker factors are gathered and its gradient laid out.

A block knows, for one layer, (1) a ``call`` that runs the layer while recording its inputs and its
pre-activations ``z`` (so the tape can return ``dloss/dz``), (2) the rows ``a_bar`` / ``dloss/dz`` whose
second moments are the factors, and (3) how ``[kernel; bias]`` maps to the matrix ``W_bar`` of shape
``(fan_in [+1], out)`` with ``z = a_bar @ W_bar``. The optimizer (``kfac.py``) does the rest the same
way for every block.

**Dense** (Martens & Grosse 2015): one row per input row, ``a_bar = [a, 1]``, ``|T| = 1``.

**Conv2D** (KFC, Grosse & Martens 2016). Example ``i`` of ``N`` has output locations ``t`` in ``T``
(``|T| = ho * wo``). ``a_bar_it = [patch_it, 1]`` is the receptive field of ``t`` in the zero-padded input
(``kh * kw * in`` values flattened in the kernel's ``(kh, kw, in)`` order: the im2col row), and
``W_bar = [kernel.reshape(kh * kw * in, out); bias]``, so ``z_it = W_bar^T a_bar_it``. The loss is a
batch mean ``L = (1/N) sum_i l_i``; write ``g_it = dl_i/dz_it = N dL/dz_it``. Then
``grad_W_bar l_i = sum_t a_bar_it g_it^T`` and the Fisher block is

    ``F = E_i[vec(grad l_i) vec(grad l_i)^T] = E_i sum_{t,t'} (a_bar_it a_bar_it'^T) (x) (g_it g_it'^T)``.

KFC assumes independent activations and derivatives (the expectation of the Kronecker product
factorizes), spatially uncorrelated derivatives (``E[g_t g_t'^T] = 0`` for ``t != t'``) and spatial
homogeneity (``E[g_t g_t^T]`` is the same ``Gamma`` at every ``t``), which leaves
``F ~ (sum_t E[a_bar_t a_bar_t^T]) (x) Gamma = |T| Omega_mean (x) Gamma``. Estimated on a batch:

    ``A = 1/(N |T|) sum_{i,t} a_bar_it a_bar_it^T``      (mean over examples and locations)
    ``G = |T| * 1/(N |T|) sum_{i,t} g_it g_it^T = N sum_{i,t} (dL/dz_it)(dL/dz_it)^T``

so ``F ~ A (x) G``. The paper writes the same product as ``Omega (x) Gamma``; the ``|T|`` is kept in
``G`` here so that ``A`` is the plain second moment of ``a_bar`` as for a Dense layer (``|T| = 1``
gives the Dense formulas back exactly) and ``damping_mode="simple"`` adds the damping to factors of a
Dense layer's scale. Under ``damping_mode="factored"`` moving a constant ``c`` between the factors
changes nothing (``pi`` scales by ``c``, so ``(A + dA I) (x) (G + dG I)`` is unchanged). With a
row-major ``vec`` and symmetric factors, ``(A (x) G)^-1 vec(grad) = vec(A^-1 grad G^-1)``: the
preconditioned gradient is ``(A + dA I)^-1 grad_W_bar (G + dG I)^-1``, reshaped back to Keras's
``(kh, kw, in, out)`` kernel and ``(out,)`` bias.

Supported Conv2D layers: any strides, ``padding`` "valid" or "same", any ``dilation_rate``, both data
formats, with or without bias, any activation. A Conv2D with ``groups > 1`` (its Fisher block is not
one Kronecker product of these factors), and any Dense or Conv2D subclass that overrides ``call``
(e.g. ``DropConnectDense``: the recording ``call`` would drop its behaviour) are not preconditioned:
the optimizer warns once and updates their variables with momentum SGD, like every other variable.
"""
from __future__ import annotations

import numpy as np

from ...ops import array_ops as A
from ...ops import conv_ops as C
from ...ops import math_ops as M
from ...ops.conv_fast import conv2d_bias

_CHUNK_ELEMENTS = 1 << 21   # im2col rows are gathered in chunks of about this many values (8 MiB in float32)


class LayerBlock:
    """One layer's share of K-FAC; subclasses define ``capture_call`` and ``row_chunks``."""

    def __init__(self, layer):
        self.layer = layer

    @property
    def kernel(self):
        return self.layer.kernel

    @property
    def bias(self):
        return self.layer.bias

    def capture_call(self, records: list):
        """A replacement for ``layer.call`` that appends ``(layer, inputs, z)`` to ``records``."""
        raise NotImplementedError

    def examples(self, inputs: np.ndarray) -> int:
        """How many examples the batch-mean loss averages over for these recorded inputs."""
        raise NotImplementedError

    def row_chunks(self, inputs: np.ndarray, dz: np.ndarray):
        """Yield ``(a, dz_rows)``: 2-D rows of activations (no ones column) and matching ``dloss/dz``."""
        raise NotImplementedError

    def batch_factors(self, pairs) -> tuple:
        """``(A_batch, G_batch)`` in float64 from a list of recorded ``(inputs, dloss/dz)`` pairs.

        The Gram products run in the activations' dtype: for float32 that is ~10x faster than float64
        on a (9216, 144) im2col chunk, with a relative error of ~3e-7 (measured); the chunks, bounded
        by ``_CHUNK_ELEMENTS``, are summed in float64.
        """
        fan_in = int(np.prod(self.kernel._value.shape[:-1]))
        out = self.kernel._value.shape[-1]
        aa, a_sum = np.zeros((fan_in, fan_in)), np.zeros(fan_in)
        gg = np.zeros((out, out))
        rows = examples = 0
        for inputs, dz in pairs:
            examples += self.examples(inputs)
            for a, g in self.row_chunks(inputs, dz):
                # each chunk's products in its own dtype (at least float32), summed in float64
                a = a.astype(np.promote_types(a.dtype, np.float32), copy=False)
                g = g.astype(np.promote_types(g.dtype, np.float32), copy=False)
                aa += a.T @ a
                a_sum += a.sum(axis=0, dtype=np.float64)
                gg += g.T @ g
                rows += a.shape[0]
        a_batch = aa / rows
        if self.bias is not None:           # the ones column of a_bar, without materializing it
            mean = a_sum / rows
            a_batch = np.block([[a_batch, mean[:, None]], [mean[None, :], np.ones((1, 1))]])
        return a_batch, examples * gg       # G = (1/n) sum (n dz)(n dz)^T

    def grad_matrix(self, grad_kernel: np.ndarray, grad_bias) -> np.ndarray:
        """``[kernel; bias]`` gradients as the ``(fan_in [+1], out)`` matrix ``grad_W_bar``."""
        gw = grad_kernel.reshape(-1, grad_kernel.shape[-1])
        return gw if grad_bias is None else np.concatenate([gw, grad_bias.reshape(1, -1)], axis=0)

    def split(self, p: np.ndarray, grad_kernel: np.ndarray, grad_bias) -> tuple:
        """The inverse of ``grad_matrix``: ``(kernel-shaped, bias-shaped or None)`` in the gradients' dtypes."""
        if grad_bias is None:
            return p.reshape(grad_kernel.shape).astype(grad_kernel.dtype), None
        return p[:-1].reshape(grad_kernel.shape).astype(grad_kernel.dtype), p[-1].astype(grad_bias.dtype)


class DenseBlock(LayerBlock):
    """A ``Dense`` layer: every row of its (flattened) input is one example."""

    def capture_call(self, records: list):
        layer = self.layer

        def call(inputs):
            kernel = layer.kernel
            if kernel._value.dtype != inputs._value.dtype:
                kernel = A.cast(kernel, inputs._value.dtype)
            lead = inputs._value.shape[:-1]
            x2 = inputs if inputs._value.ndim == 2 else A.reshape(inputs, (-1, inputs._value.shape[-1]))
            z = M.matmul(x2, kernel)
            if layer.bias is not None:
                z = M.add(z, layer.bias if layer.bias._value.dtype == z._value.dtype
                          else A.cast(layer.bias, z._value.dtype))
            records.append((layer, x2._value, z))
            out = z if len(lead) == 1 else A.reshape(z, lead + (layer.units,))
            return out if layer._linear else layer.activation(out)
        return call

    def examples(self, inputs):
        return inputs.shape[0]

    def row_chunks(self, inputs, dz):
        yield inputs, dz


class Conv2DBlock(LayerBlock):
    """A ``Conv2D`` layer with ``groups=1``: rows are im2col patches, one per example and output location."""

    def _cf(self) -> bool:
        return self.layer.data_format == "channels_first"

    def capture_call(self, records: list):
        layer, cf = self.layer, self._cf()

        def call(inputs):
            x = A.transpose(inputs, perm=(0, 2, 3, 1)) if cf else inputs
            kernel = layer.kernel
            if kernel._value.dtype != x._value.dtype:
                kernel = A.cast(kernel, x._value.dtype)
            padding = layer.padding.upper()
            if layer.bias is None:
                z = C.conv2d(x, kernel, layer.strides, padding, data_format="NHWC", dilations=layer.dilation_rate)
            else:
                bias = layer.bias if layer.bias._value.dtype == x._value.dtype else A.cast(layer.bias, x._value.dtype)
                z = conv2d_bias(x, kernel, bias, layer.strides, padding, layer.dilation_rate, relu=False)
            records.append((layer, x._value, z))
            out = A.transpose(z, perm=(0, 3, 1, 2)) if cf else z
            return out if layer._linear else layer.activation(out)
        return call

    def examples(self, inputs):
        return inputs.shape[0]

    def row_chunks(self, inputs, dz):
        layer = self.layer
        n, h, w, c = inputs.shape
        (kh, kw), strides, dilations = layer.kernel_size, layer.strides, layer.dilation_rate
        k_eff = ((kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1)
        pads = C._pads(layer.padding.upper(), (h, w), k_eff, strides)
        _, ho, wo, out = dz.shape
        step = max(1, _CHUNK_ELEMENTS // (ho * wo * kh * kw * c))
        for i in range(0, n, step):
            xp = C._pad(np.ascontiguousarray(inputs[i:i + step]), pads)
            cols = C._cols(xp, kh, kw, ho, wo, strides, dilations, 1)[0]
            yield cols, np.ascontiguousarray(dz[i:i + step]).reshape(-1, out)


def make_block(layer) -> tuple:
    """``(block, why)`` for ``layer``: ``(LayerBlock, None)`` for a layer K-FAC preconditions,
    ``(None, reason)`` for a Dense/Conv2D it cannot (the caller warns with the reason) and
    ``(None, None)`` for every other layer (its variables get momentum SGD without a warning).

    >>> import tapeflow as tf
    >>> block, why = make_block(tf.keras.layers.Conv2D(2, 3))
    >>> type(block).__name__, why
    ('Conv2DBlock', None)
    """
    from ..layers.convolutional import Conv2D
    from ..layers.core import Dense
    for cls, block in ((Dense, DenseBlock), (Conv2D, Conv2DBlock)):
        if not isinstance(layer, cls):
            continue
        name = f"{cls.__name__} layer '{layer.name}'"
        if type(layer).call is not cls.call:
            return None, (f"{name} is a {type(layer).__name__}, which overrides call(); K-FAC cannot record its "
                          f"pre-activations, so its variables get momentum SGD")
        if cls is Conv2D and layer.groups != 1:
            return None, (f"{name} has groups={layer.groups}; K-FAC supports groups=1 only (a grouped "
                          f"convolution's Fisher block is not one Kronecker product), so its variables get "
                          f"momentum SGD. Use groups=1 to precondition it")
        return block(layer), None
    return None, None
