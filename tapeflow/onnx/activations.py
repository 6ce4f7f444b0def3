"""Keras activation functions as ONNX nodes, written the way tapeflow computes them.

Each built-in activation maps to one ONNX op where ONNX has the same function (Relu, Elu,
HardSigmoid with Keras 3's ``x/6 + 1/2``, HardSwish...) and to a few elementary ops otherwise
(gelu in its erf or tanh form, silu, mish...). ``RNN_ACTIVATIONS`` lists the ones the ONNX
LSTM/GRU/RNN ops accept as gate/cell activations, with their alpha/beta.
"""
from __future__ import annotations

import functools
import math

from ..keras import activations as K
from ..ops.nn_ops import SELU_ALPHA, SELU_SCALE
from .graph import ExportError, GraphBuilder


def _gelu(b, x, h):
    half = b.op("Mul", [x, b.const(0.5, "const/half")], h)
    inner = b.op("Erf", [b.op("Mul", [x, b.const(1.0 / math.sqrt(2.0), "const/inv_sqrt2")], h)], h)
    return b.op("Mul", [half, b.op("Add", [inner, b.const(1.0, "const/one")], h)], h)


def _gelu_tanh(b, x, h):
    cube = b.op("Mul", [b.op("Pow", [x, b.const(3.0, "const/three")], h), b.const(0.044715, "const/gelu_c")], h)
    inner = b.op("Mul", [b.op("Add", [x, cube], h), b.const(math.sqrt(2.0 / math.pi), "const/sqrt_2_pi")], h)
    half = b.op("Mul", [x, b.const(0.5, "const/half")], h)
    return b.op("Mul", [half, b.op("Add", [b.op("Tanh", [inner], h), b.const(1.0, "const/one")], h)], h)


def _clip(lo, hi):
    def f(b, x, h):
        return b.op("Clip", [x, b.const(lo, "const/clip_lo"), b.const(hi, "const/clip_hi")], h)
    return f


def _unary(op_type, **attrs):
    def f(b, x, h):
        return b.op(op_type, [x], h, **attrs)
    return f


def _times(op_type):
    """``x * op(x)`` (silu from Sigmoid)."""
    def f(b, x, h):
        return b.op("Mul", [x, b.op(op_type, [x], h)], h)
    return f


def _mish(b, x, h):
    return b.op("Mul", [x, b.op("Tanh", [b.op("Softplus", [x], h)], h)], h)


def _log_sigmoid(b, x, h):
    return b.op("Neg", [b.op("Softplus", [b.op("Neg", [x], h)], h)], h)


def _squareplus(b, x, h):
    root = b.op("Sqrt", [b.op("Add", [b.op("Mul", [x, x], h), b.const(4.0, "const/four")], h)], h)
    return b.op("Mul", [b.op("Add", [x, root], h), b.const(0.5, "const/half")], h)


EMITTERS = {
    "linear": lambda b, x, h: x,
    "relu": _unary("Relu"),
    "leaky_relu": _unary("LeakyRelu", alpha=0.2),
    "relu6": _clip(0.0, 6.0),
    "elu": _unary("Elu", alpha=1.0),
    "selu": _unary("Selu", alpha=SELU_ALPHA, gamma=SELU_SCALE),
    "celu": _unary("Celu", alpha=1.0),
    "gelu": _gelu,
    "silu": _times("Sigmoid"),
    "mish": _mish,
    "sigmoid": _unary("Sigmoid"),
    "hard_sigmoid": _unary("HardSigmoid", alpha=1.0 / 6.0, beta=0.5),
    "hard_silu": _unary("HardSwish"),
    "hard_tanh": _clip(-1.0, 1.0),
    "log_sigmoid": _log_sigmoid,
    "tanh": _unary("Tanh"),
    "softplus": _unary("Softplus"),
    "softsign": _unary("Softsign"),
    "exponential": _unary("Exp"),
    "softmax": _unary("Softmax", axis=-1),
    "log_softmax": _unary("LogSoftmax", axis=-1),
    "squareplus": _squareplus,
}

# gate/cell activations of the ONNX recurrent ops: (ONNX name, alpha, beta); None = no parameter
RNN_ACTIVATIONS = {
    "sigmoid": ("Sigmoid", None, None),
    "tanh": ("Tanh", None, None),
    "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
    "linear": ("Affine", 1.0, 0.0),
}


def activation_name(fn) -> str | None:
    """The built-in name of activation function ``fn`` (``None`` for a custom callable)."""
    if fn is None:
        return "linear"
    return K._NAME_OF.get(fn)


def supported_names() -> list:
    return sorted(EMITTERS) + ["glu"]


def emit(b: GraphBuilder, fn, x: str, shape, hint: str, where: str) -> str:
    """The ONNX nodes for ``fn(x)``; ``where`` names the layer for the error on an unknown activation."""
    if (isinstance(fn, functools.partial) and fn.func is K.gelu and not fn.args
            and set(fn.keywords) <= {"approximate"}):
        return _gelu_tanh(b, x, hint) if fn.keywords.get("approximate") else _gelu(b, x, hint)
    name = activation_name(fn)
    if name == "glu":
        if shape is None or shape[-1] is None or shape[-1] % 2:
            raise ExportError(f"ONNX export: {where}: glu needs a known, even last dimension, got shape {shape}")
        half = shape[-1] // 2
        a, g = b.op("Split", [x, b.ints([half, half])], hint, n_out=2, axis=-1)
        return b.op("Mul", [a, b.op("Sigmoid", [g], hint)], hint)
    emitter = EMITTERS.get(name)
    if emitter is None:
        shown = getattr(fn, "__name__", repr(fn))
        raise ExportError(f"ONNX export: {where} uses activation {shown!r}, which has no ONNX converter. "
                          f"Supported activations: {', '.join(supported_names())}.")
    return emitter(b, x, hint)
