"""Neural-network ops: activations, softmax family, cross-entropies, dropout, moments.

relu, softmax, log_softmax and the cross-entropies are fused primitives (one NumPy pass
forward, a closed-form VJP); the other activations are compositions of primitives, so their
gradients come for free and are checked like everything else.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend as B
from ..autodiff.tensor import Tensor, convert_to_tensor
from ..backend import rng
from . import array_ops as A
from . import math_ops as M
from . import reduce_ops as R
from .registry import bind, const, defvjp, primitive


def _f(x) -> Tensor:
    return x if isinstance(x, Tensor) else convert_to_tensor(x, dtype_hint="float32")


# -- relu family ----------------------------------------------------------------------------
_relu = primitive("relu", lambda x: np.maximum(x, 0))
defvjp(_relu, lambda g, ans, x: A.multiply_mask(g, x._value > 0))


def relu(features, name=None) -> Tensor:
    """max(x, 0).

    >>> import tapeflow as tf
    >>> tf.nn.relu([-1.0, 2.0]).numpy().tolist()
    [0.0, 2.0]
    """
    return bind(_relu, _f(features))


def relu6(features, name=None) -> Tensor:
    """min(max(x, 0), 6)."""
    return M.minimum(relu(features), 6.0)


def leaky_relu(features, alpha=0.2, name=None) -> Tensor:
    """x for x > 0, alpha * x otherwise (TF's default alpha is 0.2)."""
    x = _f(features)
    return A.where(const(x._value > 0), x, M.multiply(x, alpha))


def elu(features, alpha=1.0, name=None) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    x = _f(features)
    neg = M.multiply(M.expm1(M.minimum(x, 0.0)), alpha)  # minimum keeps exp() finite on the unused branch
    return A.where(const(x._value > 0), x, neg)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(features, name=None) -> Tensor:
    """scale * elu(x, alpha) with the self-normalizing constants."""
    return M.multiply(elu(features, SELU_ALPHA), SELU_SCALE)


def gelu(features, approximate=False, name=None) -> Tensor:
    """x * Phi(x); with ``approximate=True`` the tanh form."""
    x = _f(features)
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        inner = M.multiply(M.add(x, M.multiply(M.pow(x, 3.0), 0.044715)), c)
        return M.multiply(M.multiply(x, 0.5), M.add(M.tanh(inner), 1.0))
    return M.multiply(M.multiply(x, 0.5), M.add(M.erf(M.multiply(x, 1.0 / math.sqrt(2.0))), 1.0))


def silu(features, beta=1.0, name=None) -> Tensor:
    """x * sigmoid(beta * x) (a.k.a. swish)."""
    x = _f(features)
    return M.multiply(x, M.sigmoid(x if beta == 1.0 else M.multiply(x, beta)))


swish = silu


def mish(x) -> Tensor:
    """x * tanh(softplus(x))."""
    x = _f(x)
    return M.multiply(x, M.tanh(M.softplus(x)))


def softsign(features, name=None) -> Tensor:
    """x / (1 + |x|)."""
    x = _f(features)
    return M.divide(x, M.add(M.abs(x), 1.0))


def hard_sigmoid(x) -> Tensor:
    """Keras 3's definition: relu6(x + 3) / 6."""
    return M.divide(relu6(M.add(_f(x), 3.0)), 6.0)


def hard_silu(x) -> Tensor:
    """x * hard_sigmoid(x) (a.k.a. hard_swish)."""
    x = _f(x)
    return M.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu
sigmoid = M.sigmoid
tanh = M.tanh
softplus = M.softplus


# -- softmax family -------------------------------------------------------------------------
def _softmax_fwd(x, axis):
    # Shift by the row max (a row of -inf or +inf gives NaN either way, as in TF).
    e = x - x.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


_softmax = primitive("softmax", _softmax_fwd)
defvjp(_softmax, lambda g, ans, x, axis:
       M.multiply(ans, M.subtract(g, R.reduce_sum(M.multiply(g, ans), axis=axis, keepdims=True))))


def _log_softmax_fwd(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


_log_softmax = primitive("log_softmax", _log_softmax_fwd)
defvjp(_log_softmax, lambda g, ans, x, axis:
       M.subtract(g, M.multiply(M.exp(ans), R.reduce_sum(g, axis=axis, keepdims=True))))


def softmax(logits, axis=-1, name=None) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along ``axis``; stable for +-1e30 and -inf entries.

    >>> import tapeflow as tf
    >>> [round(float(v), 4) for v in tf.nn.softmax([0.0, 0.0])]
    [0.5, 0.5]
    """
    x = _f(logits)
    return bind(_softmax, x, axis=int(axis) % max(x._value.ndim, 1))


def log_softmax(logits, axis=-1, name=None) -> Tensor:
    """x - logsumexp(x) along ``axis``, computed stably."""
    x = _f(logits)
    return bind(_log_softmax, x, axis=int(axis) % max(x._value.ndim, 1))


def _sparse_xent_fwd(labels, logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=-1))
    if z.ndim == 2:
        picked = z[np.arange(z.shape[0]), labels]
    else:
        picked = np.take_along_axis(z, labels[..., None].astype(np.intp), axis=-1)[..., 0]
    return lse - picked


def _sparse_xent_vjp(g, ans, labels, logits):
    onehot = np.zeros(logits._value.shape, dtype=logits._value.dtype)
    np.put_along_axis(onehot, labels._value[..., None].astype(np.intp), 1, axis=-1)
    return M.multiply(A.expand_dims(g, -1), M.subtract(softmax(logits), const(onehot)))


_sparse_xent = primitive("sparse_softmax_cross_entropy_with_logits", _sparse_xent_fwd)
defvjp(_sparse_xent, None, _sparse_xent_vjp)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None) -> Tensor:
    """Per-example -log softmax(logits)[label]; gradient ``softmax - onehot`` in one step.

    >>> import tapeflow as tf
    >>> round(float(tf.nn.sparse_softmax_cross_entropy_with_logits([0], [[0.0, 0.0]])[0]), 4)
    0.6931
    """
    lab = convert_to_tensor(labels)
    lg = _f(logits)
    if lab._value.dtype.kind not in "iu":
        raise TypeError(f"sparse_softmax_cross_entropy_with_logits: labels must be integers, got {lab.dtype.name}")
    if lab._value.shape != lg._value.shape[:-1]:
        raise ValueError(
            f"sparse_softmax_cross_entropy_with_logits: labels shape {lab._value.shape} must equal "
            f"logits shape without its last axis {lg._value.shape[:-1]}")
    k = lg._value.shape[-1]
    if lab._value.size and (lab._value.min() < 0 or lab._value.max() >= k):
        raise ValueError(
            f"sparse_softmax_cross_entropy_with_logits: labels must lie in [0, {k}) for {k} classes, "
            f"got values in [{lab._value.min()}, {lab._value.max()}]")
    return bind(_sparse_xent, lab, lg)


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None) -> Tensor:
    """Per-example -sum(labels * log_softmax(logits)) along ``axis``."""
    lg = _f(logits)
    lab = A.cast(convert_to_tensor(labels), lg.dtype)
    if lab._value.shape != lg._value.shape:
        raise ValueError(f"softmax_cross_entropy_with_logits: labels shape {lab._value.shape} != logits shape "
                         f"{lg._value.shape}")
    return M.negative(R.reduce_sum(M.multiply(lab, log_softmax(lg, axis=axis)), axis=axis))


def _sig_xent_fwd(labels, logits):
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


_sig_xent = primitive("sigmoid_cross_entropy_with_logits", _sig_xent_fwd)
defvjp(_sig_xent,
       lambda g, ans, z, x: M.negative(M.multiply(g, x)),
       lambda g, ans, z, x: M.multiply(g, M.subtract(M.sigmoid(x), z)))


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None) -> Tensor:
    """Elementwise max(x, 0) - x*z + log(1 + exp(-|x|)); gradient ``sigmoid(x) - z``."""
    lg = _f(logits)
    lab = A.cast(convert_to_tensor(labels), lg.dtype)
    if lab._value.shape != lg._value.shape:
        raise ValueError(f"sigmoid_cross_entropy_with_logits: labels shape {lab._value.shape} != logits shape "
                         f"{lg._value.shape}")
    return bind(_sig_xent, lab, lg)


# -- misc -----------------------------------------------------------------------------------
def bias_add(value, bias, data_format=None, name=None) -> Tensor:
    """Add a 1-D bias to the channel axis: the last one, or axis 1 for 'NC...' data formats."""
    x, b = _f(value), _f(bias)
    if b._value.ndim != 1:
        raise ValueError(f"bias_add: bias must be 1-D, got shape {b._value.shape}")
    cf = data_format is not None and str(data_format).upper().startswith("NC")
    c = x._value.shape[1 if cf else -1]
    if b._value.shape[0] != c:
        raise ValueError(f"bias_add: bias has {b._value.shape[0]} entries but the channel axis of {x._value.shape} "
                         f"has {c}")
    if cf:
        b = A.reshape(b, (c,) + (1,) * (x._value.ndim - 2))
    return M.add(x, b)


def dropout(x, rate, noise_shape=None, seed=None, name=None) -> Tensor:
    """Zero each entry with probability ``rate`` and scale the rest by 1 / (1 - rate)."""
    x = _f(x)
    rate = float(rate)
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if rate == 0:
        return x
    shape = x._value.shape if noise_shape is None else tuple(
        x._value.shape[i] if s is None else int(s) for i, s in enumerate(noise_shape))
    keep = bind(_dropout_keep, shape=shape, dtype=x._value.dtype.str, rate=rate, seed=seed)
    return M.multiply(x, keep)


def _dropout_keep_fwd(shape, dtype, rate, seed):
    keep = rng.primitive_generator(seed).random(shape, dtype=np.float32) >= rate
    return (keep / (1.0 - rate)).astype(dtype)


# the kept entries' scale, 1 / (1 - rate), or 0: a random primitive with no inputs (nothing to differentiate),
# so that a traced training step draws a fresh mask at each replay
_dropout_keep = primitive("dropout_keep", _dropout_keep_fwd)
_dropout_keep.random = True


def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) over ``axes``; the variance is the biased (population) one."""
    x = _f(x)
    mean = R.reduce_mean(x, axis=axes, keepdims=True)
    var = R.reduce_mean(M.square(M.subtract(x, A.stop_gradient(mean))), axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = A.squeeze(mean, axis=tuple(np.atleast_1d(axes)))
    return mean, var


def l2_normalize(x, axis=None, epsilon=1e-12, name=None) -> Tensor:
    """x / sqrt(max(sum(x**2), epsilon)) along ``axis``."""
    x = _f(x)
    sq = R.reduce_sum(M.square(x), axis=axis, keepdims=True)
    return M.multiply(x, M.rsqrt(M.maximum(sq, epsilon)))


def log_sigmoid(x) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable."""
    return M.negative(M.softplus(M.negative(_f(x))))


def safe_embedding_lookup(params, ids) -> Tensor:
    return A.gather(params, ids)


embedding_lookup = safe_embedding_lookup


def is_float(t: Tensor) -> bool:
    return B.is_floating(t.dtype)
