"""``keras.activations``: activation functions by name, function or callable (Keras 3 semantics).

``softmax`` and ``sigmoid`` attach their input to the output as ``out._keras_logits`` so that a
cross-entropy loss can work from the logits (stable, and gradient ``p - y``), as tf.keras does.

>>> import tapeflow as tf
>>> from tapeflow.keras import activations
>>> activations.get("relu")(tf.constant([-1.0, 2.0])).numpy().tolist()
[0.0, 2.0]
"""
from __future__ import annotations

import difflib

from ..autodiff.tensor import Tensor, convert_to_tensor
from ..ops import array_ops as A
from ..ops import math_ops as M
from ..ops import nn_ops as N


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else convert_to_tensor(x, dtype_hint="float32")


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, with Keras 3's options.

    ``x`` above ``threshold`` passes (clipped at ``max_value``); below it the output is
    ``negative_slope * (x - threshold)``.

    >>> import tapeflow as tf
    >>> relu(tf.constant([-10.0, -5.0, 0.0, 5.0, 10.0]), negative_slope=0.5, max_value=5.0).numpy().tolist()
    [-5.0, -2.5, 0.0, 5.0, 5.0]
    """
    x = _t(x)
    if negative_slope == 0 and max_value is None and threshold == 0:
        return N.relu(x)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return N.leaky_relu(x, alpha=negative_slope)
    neg = N.relu(M.add(M.negative(x), threshold)) if negative_slope != 0 else None
    if threshold != 0:
        y = M.multiply(x, A.cast(M.greater(x, threshold), x.dtype))
    else:
        y = N.relu(x)
    if max_value is not None:
        y = M.minimum(y, float(max_value))
    if neg is not None:
        y = M.subtract(y, M.multiply(neg, float(negative_slope)))
    return y


def leaky_relu(x, negative_slope=0.2):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise."""
    return N.leaky_relu(_t(x), alpha=negative_slope)


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return N.relu6(_t(x))


def elu(x, alpha=1.0):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    return N.elu(_t(x), alpha=alpha)


def selu(x):
    """Scaled ELU with the self-normalizing constants (alpha=1.67326..., scale=1.05070...)."""
    return N.selu(_t(x))


def celu(x, alpha=1.0):
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    x = _t(x)
    return M.add(N.relu(x), M.minimum(M.multiply(M.expm1(M.divide(x, alpha)), alpha), 0.0))


def gelu(x, approximate=False):
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate=True`` uses the tanh form."""
    return N.gelu(_t(x), approximate=approximate)


def silu(x):
    """``x * sigmoid(x)`` (a.k.a. swish)."""
    return N.silu(_t(x))


swish = silu


def mish(x):
    """``x * tanh(softplus(x))``."""
    return N.mish(_t(x))


def sigmoid(x):
    """``1 / (1 + exp(-x))``; the output remembers its logits (``_keras_logits``)."""
    x = _t(x)
    out = M.sigmoid(x)
    out._keras_logits = x
    out._keras_act = "sigmoid"
    return out


def hard_sigmoid(x):
    """Keras 3's hard sigmoid: ``relu6(x + 3) / 6``."""
    return N.hard_sigmoid(_t(x))


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (a.k.a. hard_swish)."""
    return N.hard_silu(_t(x))


hard_swish = hard_silu


def hard_tanh(x):
    """``clip(x, -1, 1)``."""
    return A.clip_by_value(_t(x), -1.0, 1.0)


def log_sigmoid(x):
    """``log(sigmoid(x))``, computed stably."""
    return N.log_sigmoid(_t(x))


def tanh(x):
    """Hyperbolic tangent."""
    return M.tanh(_t(x))


def softplus(x):
    """``log(1 + exp(x))``, computed stably."""
    return M.softplus(_t(x))


def softsign(x):
    """``x / (1 + |x|)``."""
    return N.softsign(_t(x))


def exponential(x):
    """``exp(x)``."""
    return M.exp(_t(x))


def linear(x):
    """The identity (what ``activation=None`` means)."""
    return x


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``; the output remembers its logits (``_keras_logits``).

    >>> import tapeflow as tf
    >>> [round(v, 4) for v in softmax(tf.constant([[1.0, 2.0, 3.0]])).numpy()[0].tolist()]
    [0.09, 0.2447, 0.6652]
    """
    x = _t(x)
    out = N.softmax(x, axis=axis)
    if axis == -1 or axis == x._value.ndim - 1:
        out._keras_logits = x
        out._keras_act = "softmax"
    return out


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis``."""
    return N.log_softmax(_t(x), axis=axis)


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``."""
    x = _t(x)
    return M.multiply(M.add(x, M.sqrt(M.add(M.square(x), float(b)))), 0.5)


def glu(x, axis=-1):
    """Gated linear unit: split ``x`` in two along ``axis``; ``a * sigmoid(b)``."""
    a, b = A.split(_t(x), 2, axis=axis)
    return M.multiply(a, M.sigmoid(b))


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    from .ops.nn_more import hard_shrink as _op
    return _op(x, threshold)


def soft_shrink(x, threshold=0.5):
    """``x`` moved ``threshold`` towards 0, and 0 inside [-threshold, threshold]."""
    from .ops.nn_more import soft_shrink as _op
    return _op(x, threshold)


def tanh_shrink(x):
    """``x - tanh(x)``."""
    from .ops.nn_more import tanh_shrink as _op
    return _op(x)


def sparse_plus(x):
    """0 below -1, ``(x + 1)^2 / 4`` on [-1, 1], ``x`` above."""
    from .ops.nn_more import sparse_plus as _op
    return _op(x)


def sparse_sigmoid(x):
    """0 below -1, ``(x + 1) / 2`` on [-1, 1], 1 above."""
    from .ops.nn_more import sparse_sigmoid as _op
    return _op(x)


def sparsemax(x, axis=-1):
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis`` (Martins & Astudillo)."""
    from .ops.nn_more import sparsemax as _op
    return _op(x, axis=axis)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    from .ops.nn_more import threshold as _op
    return _op(x, threshold, default_value)


_ALL = {f.__name__: f for f in (
    relu, leaky_relu, relu6, elu, selu, celu, gelu, silu, mish, sigmoid, hard_sigmoid, hard_silu,
    hard_tanh, log_sigmoid, tanh, softplus, softsign, exponential, linear, softmax, log_softmax,
    squareplus, glu, hard_shrink, soft_shrink, tanh_shrink, sparse_plus, sparse_sigmoid, sparsemax, threshold)}
_ALIASES = {"swish": silu, "hard_swish": hard_silu}
_NAMES = {**_ALL, **_ALIASES}
_NAME_OF = {f: n for n, f in _ALL.items()}


def serialize(activation):
    """The name of a built-in activation (``"relu"``); a registered custom one gives its config.

    >>> serialize(relu)
    'relu'
    """
    if activation is None:
        return "linear"
    name = _NAME_OF.get(activation)
    if name is not None:
        return name
    from ._serialization import _GLOBAL_CUSTOM_NAMES, serialize_keras_object
    if activation in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[activation]
    if hasattr(activation, "get_config"):  # an activation layer used as a function
        return serialize_keras_object(activation, module="keras.layers")
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: not a known activation")
    return name


def deserialize(config, custom_objects=None):
    """Inverse of ``serialize``: a name (or a layer config) back to a callable."""
    if isinstance(config, dict):
        from . import layers
        return layers.deserialize(config, custom_objects=custom_objects)
    from ._serialization import get_registered_object    # custom_object_scope, custom_objects, the registry
    registered = get_registered_object(config, custom_objects)
    if registered is not None:
        return registered
    fn = _NAMES.get(config)
    if fn is None:
        close = difflib.get_close_matches(str(config), list(_NAMES), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown activation function: {config!r}.{hint} "
                         f"Known activations: {', '.join(sorted(_NAMES))}.")
    return fn


def get(identifier):
    """An activation from a name, a config, a callable, or ``None`` (linear).

    >>> get(None) is linear, get("swish") is silu
    (True, True)
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


__all__ = sorted(_NAMES) + ["get", "serialize", "deserialize"]
