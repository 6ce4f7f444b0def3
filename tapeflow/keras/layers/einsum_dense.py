"""``EinsumDense``: a dense layer whose contraction is an einsum equation, as ``keras.layers.EinsumDense``.

The equation ``"<input>,<kernel>-><output>"`` names each axis with a letter; ``...`` on the left of
the input and output stands for the leading axes (batch included), on the right for trailing ones.
``output_shape`` gives the output's axes after the batch axis (and, with a left ``...``, after the
elided ones); ``None`` takes a size from the input. Kernel axes take their sizes from the output
(when the letter is there) or else from the input, and are initialized with those fans (Keras 3's
``input_axes``/``output_axes``). ``bias_axes`` letters get a bias shaped over the output from the
first of them to the end, 1 where a letter is not a bias axis.

>>> import numpy as np, tapeflow as tf
>>> layer = tf.keras.layers.EinsumDense("abc,cde->abde", output_shape=(None, 8, 16), bias_axes="de")
>>> y = layer(np.zeros((2, 5, 32), "float32"))
>>> tuple(layer.kernel.shape), tuple(layer.bias.shape), tuple(y.shape)
((32, 8, 16), (8, 16), (2, 5, 8, 16))
"""
from __future__ import annotations

import re

from ...ops import math_ops as M
from ...ops.einsum_ops import einsum
from .. import activations, constraints, initializers, regularizers
from .base import Layer
from .quantized_einsum import EinsumDenseQuantization

__all__ = ["EinsumDense"]

_EQUATION = re.compile(r"^(\.\.\.)?([a-zA-Z]+)(\.\.\.)?,([a-zA-Z]+)->(\.\.\.)?([a-zA-Z]+)(\.\.\.)?$")


def analyze(equation: str, bias_axes, input_shape, output_shape):
    """``(explicit equation, kernel shape, bias shape or None, full output shape, kernel input axes, kernel
    output axes)`` for an input of ``input_shape`` (batch first), as Keras's ``_analyze_einsum_string``."""
    m = _EQUATION.match(equation.replace(" ", ""))
    if m is None or bool(m.group(1)) != bool(m.group(5)) or bool(m.group(3)) != bool(m.group(7)) or \
            (m.group(1) and m.group(3)):
        raise ValueError(f"EinsumDense: invalid equation {equation!r}; expected e.g. 'ab,bc->ac', '...b,bc->...c' "
                         "or 'ab...,bc->ac...' (an ellipsis on the same side of the input and the output)")
    left, inp, kern, out, right = bool(m.group(1)), m.group(2), m.group(4), m.group(6), bool(m.group(3))
    input_shape = list(input_shape)
    elided = len(input_shape) - len(inp)
    if elided < 0 or (elided > 0 and not (left or right)):
        raise ValueError(f"EinsumDense: equation {equation!r} names {len(inp)} input axes, the input has "
                         f"{len(input_shape)}")
    partial = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    spare = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in inp + kern + out]
    letters = "".join(spare[:elided])
    if left:   # batch and the other leading axes are elided: they lead the output too
        full, inp, out = input_shape[:elided] + partial, letters + inp, letters + out
    elif right:
        full, inp, out = [input_shape[0]] + partial + input_shape[len(input_shape) - elided:], inp + letters, \
            out + letters
    else:
        full = [input_shape[0]] + partial
    if len(full) != len(out):
        need = len(out) - (len(full) - len(partial))
        raise ValueError(f"EinsumDense: output_shape {tuple(partial)} and equation {equation!r} disagree: the output "
                         f"spec '{m.group(6)}' needs {need} entries after the batch axis")
    for i, c in enumerate(out):
        if c in inp:
            size = input_shape[inp.index(c)]
            if full[i] is not None and size is not None and full[i] != size:
                raise ValueError(f"EinsumDense: input and output shapes do not match at shared dimension '{c}': "
                                 f"input {size}, output {full[i]}")
            full[i] = size if full[i] is None else full[i]
        elif c not in kern:
            raise ValueError(f"EinsumDense: output dimension '{c}' is in neither the input nor the kernel spec")
    kernel_shape, in_axes, out_axes = [], [], []
    for i, c in enumerate(kern):
        if c in out:
            kernel_shape.append(full[out.index(c)])
            out_axes.append(i)
        elif c in inp:
            kernel_shape.append(input_shape[inp.index(c)])
            in_axes.append(i)
        else:
            raise ValueError(f"EinsumDense: kernel dimension '{c}' is in neither the input nor the output spec")
    if any(s is None for s in kernel_shape):
        raise ValueError(f"EinsumDense: kernel shape {kernel_shape} has unknown sizes; give them in output_shape")
    bias_shape = None
    if bias_axes:
        for c in bias_axes:
            if c not in m.group(6):
                raise ValueError(f"EinsumDense: bias dimension '{c}' was requested, but is not part of the output "
                                 f"spec '{m.group(6)}'")
        first = min(out.index(c) for c in bias_axes)
        bias_shape = [full[i] if c in bias_axes else 1 for i, c in enumerate(out) if i >= first]
    return f"{inp},{kern}->{out}", kernel_shape, bias_shape, full, in_axes, out_axes


class EinsumDense(EinsumDenseQuantization, Layer):
    """A dense layer on an einsum equation (see the module docstring), with Keras's weights ``kernel``
    and ``bias`` and their initializers, regularizers and constraints; ``quantize("int8" | "int4")`` as Keras's
    (see ``quantized_einsum.py``)."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 quantization_config=None, **kwargs):
        kwargs.pop("lora_alpha", None)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if lora_rank:
            raise ValueError(f"EinsumDense '{self.name}': lora_rank is not supported")
        self.equation, self.bias_axes = equation, bias_axes
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if not isinstance(equation, str) or _EQUATION.match(equation.replace(" ", "")) is None:
            raise ValueError(f"EinsumDense '{self.name}': invalid equation {equation!r}; expected e.g. 'ab,bc->ac' "
                             "or '...b,bc->...c'")
        self._set_quantization_config(quantization_config)

    def build(self, input_shape):
        try:
            eq, kernel_shape, bias_shape, full, in_axes, out_axes = analyze(
                self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        except ValueError as e:
            raise ValueError(f"{str(e).replace('EinsumDense:', f'EinsumDense {self.name!r}:', 1)} (input shape "
                             f"{tuple(input_shape)})") from None
        self._explicit, self.full_output_shape = eq, tuple(full)
        self._input_ndim = len(input_shape)
        if self.quantization_mode is not None:  # rebuilt from a quantized config: Keras's integer variables
            self._quantized_build(self.quantization_mode, self.quantization_config, kernel_shape)
        else:
            self._build_float_kernel(kernel_shape, in_axes, out_axes)
        self.bias = None if bias_shape is None else self.add_weight(
            name="bias", shape=tuple(bias_shape), initializer=self.bias_initializer,
            regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def _build_float_kernel(self, kernel_shape, in_axes, out_axes):
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling) and (init.input_axes is None or init.output_axes is None):
            config = {**init.get_config(), "input_axes": in_axes, "output_axes": out_axes}
            init = type(init).from_config(config)
        self.kernel = self.add_weight(name="kernel", shape=tuple(kernel_shape), initializer=init,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)

    def call(self, inputs):
        y = einsum(self._explicit, inputs, self.kernel)
        if self.bias is not None:
            y = M.add(y, self.bias)
        return y if self.activation is activations.linear else self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(analyze(self.equation, self.bias_axes, input_shape, self.partial_output_shape)[3])

    def get_config(self):
        config = super().get_config()
        config.update({"output_shape": self.partial_output_shape, "equation": self.equation,
                       "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
                       "kernel_initializer": initializers.serialize(self.kernel_initializer),
                       "bias_initializer": initializers.serialize(self.bias_initializer),
                       "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                       "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                       "kernel_constraint": constraints.serialize(self.kernel_constraint),
                       "bias_constraint": constraints.serialize(self.bias_constraint),
                       "activity_regularizer": regularizers.serialize(self.activity_regularizer)})  # (was lost)
        return self._quantization_entries(config)


EinsumDense._quantizable_class = EinsumDense  # quantize() refuses subclasses, as Keras's type_check
