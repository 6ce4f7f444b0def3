"""Every op's forward value, dtype and gradient against PyTorch, one line per op.

``helper_test_op(tf_fn, torch_fn, inputs)`` runs both on the same float32 inputs, seeds the
backward pass with the same random upstream gradient, and compares outputs and input
gradients -- through the tape's array fast path and through the differentiable Tensor VJPs.
It also checks that neither the inputs nor the upstream gradient were mutated by backprop.
Layouts are mapped honestly: tapeflow is channels_last (NHWC, filters (kh, kw, in, out)),
torch is NCHW with weights (out, in, kh, kw).
"""
import numpy as np
import pytest

import tapeflow as tf
import tapeflow.autodiff.tape as tape_mod
from _oracle import require_torch
from tapeflow.ops import nn_ops

torch = require_torch()
F = torch.nn.functional

_rng = np.random.default_rng(42)


def N(*shape, scale=1.0):
    return (_rng.standard_normal(shape) * scale).astype(np.float32)


def P(*shape):
    return _rng.uniform(0.5, 2.0, shape).astype(np.float32)


def Z(*shape):
    """Away from zero (no kinks within float32 noise)."""
    return (_rng.choice([-1.0, 1.0], shape) * _rng.uniform(0.2, 2.0, shape)).astype(np.float32)


def D(*shape):
    """Distinct values (no ties for max/argmax)."""
    n = int(np.prod(shape))
    return ((_rng.permutation(n) - n / 2) * 0.1).reshape(shape).astype(np.float32)


def I(hi, *shape):  # noqa: E743 - short name for integer labels
    return _rng.integers(0, hi, shape).astype(np.int64)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _tf_forward_backward(tf_fn, arrays, seeds, force_tensor_vjps):
    tape_mod._FORCE_TENSOR_VJPS = force_tensor_vjps
    try:
        tensors = [tf.constant(a) for a in arrays]
        srcs = [t for t in tensors if t.dtype.kind == "f"]
        with tf.GradientTape() as tape:
            for t in srcs:
                tape.watch(t)
            outs = _as_list(tf_fn(*tensors))
        if seeds is None:
            return outs, None
        seed_t = [tf.constant(s) for s in seeds]
        grads = tape.gradient(outs, srcs, output_gradients=seed_t)
        for s, st in zip(seeds, seed_t):
            np.testing.assert_array_equal(st.numpy(), s, err_msg="backprop mutated the upstream gradient")
        return outs, grads
    finally:
        tape_mod._FORCE_TENSOR_VJPS = False


def helper_test_op(tf_fn, torch_fn, inputs, grad=True, atol=1e-5, rtol=1e-4, grad_atol=None, grad_rtol=None,
                   check_dtype=True):
    """Compare ``tf_fn`` with ``torch_fn`` on ``inputs`` (float inputs get gradients, ints do not)."""
    arrays = [np.asarray(a) for a in inputs]
    saved = [a.copy() for a in arrays]
    t_in = [torch.tensor(a, requires_grad=(grad and a.dtype.kind == "f")) for a in arrays]
    t_outs = _as_list(torch_fn(*t_in))
    seeds = [N(*o.shape) for o in t_outs] if grad else None
    if grad:
        diff_in = [t for t in t_in if t.requires_grad]
        t_grads = torch.autograd.grad(t_outs, diff_in, [torch.tensor(s) for s in seeds], allow_unused=True)
    for force in ([False, True] if grad else [False]):
        outs, grads = _tf_forward_backward(tf_fn, arrays, seeds, force)
        assert len(outs) == len(t_outs)
        for o, to in zip(outs, t_outs):
            tv = to.detach().numpy()
            assert tuple(o.shape) == tv.shape, f"shape {tuple(o.shape)} != torch {tv.shape}"
            if check_dtype:
                assert o.dtype == tv.dtype, f"dtype {o.dtype} != torch {tv.dtype}"
            np.testing.assert_allclose(np.asarray(o.numpy(), np.float64), tv.astype(np.float64), atol=atol, rtol=rtol,
                                       err_msg="forward value differs from torch")
        for a, s in zip(arrays, saved):
            np.testing.assert_array_equal(a, s, err_msg="the op mutated its input")
        if not grad:
            continue
        for k, (g, tg) in enumerate(zip(grads, t_grads)):
            shape = tuple(diff_in[k].shape)
            gv = np.zeros(shape) if g is None else g.numpy()
            tgv = np.zeros(shape) if tg is None else tg.numpy()
            if g is not None:
                assert g.dtype == np.float32, f"gradient {k} has dtype {g.dtype}"
            np.testing.assert_allclose(gv, tgv, atol=grad_atol or atol * 10, rtol=grad_rtol or rtol * 10,
                                       err_msg=f"gradient of input {k} differs from torch "
                                               f"({'Tensor VJPs' if force else 'fast path'})")


# -- conv / pool layout helpers -------------------------------------------------------------
def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def oihw(w):  # (kh, kw, in, out) -> (out, in, kh, kw)
    return w.permute(3, 2, 0, 1)


def tf_same_pad(n, k, s, d=1):
    keff = (k - 1) * d + 1
    total = max((-(-n // s) - 1) * s + keff - n, 0)
    return total // 2, total - total // 2


def torch_conv2d_same(x, w, s=1, d=1, groups=1):
    """TF 'SAME' (asymmetric when odd) padding, then a VALID torch conv, in NHWC."""
    kh, kw = w.shape[0], w.shape[1]
    pt, pb = tf_same_pad(x.shape[1], kh, s, d)
    pl, pr = tf_same_pad(x.shape[2], kw, s, d)
    xp = F.pad(nchw(x), (pl, pr, pt, pb))
    return nhwc(F.conv2d(xp, oihw(w), stride=s, dilation=d, groups=groups))


def torch_pool_same(x, k, s, kind):
    pt, pb = tf_same_pad(x.shape[1], k, s)
    pl, pr = tf_same_pad(x.shape[2], k, s)
    if kind == "max":
        return nhwc(F.max_pool2d(F.pad(nchw(x), (pl, pr, pt, pb), value=float("-inf")), k, s))
    total = F.avg_pool2d(F.pad(nchw(x), (pl, pr, pt, pb)), k, s, divisor_override=1)
    ones = torch.ones_like(nchw(x)[:1, :1])
    count = F.avg_pool2d(F.pad(ones, (pl, pr, pt, pb)), k, s, divisor_override=1)
    return nhwc(total / count)


def torch_depthwise(x, w, s=1):
    kh, kw, cin, mult = w.shape
    wt = w.reshape(kh, kw, cin * mult).permute(2, 0, 1)[:, None]
    return nhwc(F.conv2d(nchw(x), wt, stride=s, groups=cin))


def torch_conv_transpose(x, w, out_hw, s, padding):
    """tf.nn.conv2d_transpose via F.conv_transpose2d: filters (kh, kw, out, in) -> (in, out, kh, kw)."""
    kh, kw = w.shape[0], w.shape[1]
    if padding == "VALID":
        pads = ((0, 0), (0, 0))
    else:
        pads = (tf_same_pad(out_hw[0], kh, s), tf_same_pad(out_hw[1], kw, s))
    y = F.conv_transpose2d(nchw(x), w.permute(3, 2, 0, 1), stride=s)
    y = y[:, :, pads[0][0]:pads[0][0] + out_hw[0], pads[1][0]:pads[1][0] + out_hw[1]]
    return nhwc(y)


def torch_clip_by_norm(t, c, dim=None):
    n = torch.sqrt((t * t).sum() if dim is None else (t * t).sum(dim, keepdim=True))
    return t * c / torch.maximum(n, torch.tensor(c))


def torch_clip_by_global_norm(a, b, c):
    gn = torch.sqrt((a * a).sum() + (b * b).sum())
    scale = c / torch.maximum(gn, torch.tensor(c))
    return a * scale, b * scale


_mask34 = _rng.random((3, 4)) > 0.5

# (id, tapeflow op, torch counterpart, inputs[, options])
OPS = [
    # -- elementwise binary ---------------------------------------------------------------
    ("add", tf.add, torch.add, [N(3, 4), N(4)]),
    ("add-scalar", lambda a: a + 2.5, lambda a: a + 2.5, [N(3)]),
    ("subtract", tf.subtract, torch.sub, [N(3, 1), N(1, 4)]),
    ("multiply", tf.multiply, torch.mul, [N(2, 3), N(2, 3)]),
    ("divide", tf.divide, torch.div, [N(3, 4), Z(4)]),
    ("rdiv-scalar", lambda a: 1.0 / a, lambda a: 1.0 / a, [Z(5)]),
    ("pow", tf.pow, torch.pow, [P(3, 4), N(3, 4)]),
    ("pow-int-exp", lambda a: a ** 3, lambda a: a ** 3, [N(5)]),
    ("maximum", tf.maximum, torch.maximum, [D(3, 4), D(3, 4) + 0.05]),
    ("minimum", tf.minimum, torch.minimum, [D(3, 4), D(3, 4) + 0.05]),
    ("squared_difference", tf.math.squared_difference, lambda a, b: (a - b) ** 2, [N(3, 4), N(4)]),
    ("floordiv", tf.math.floordiv, torch.floor_divide, [N(6) * 5, Z(6)], dict(grad=False)),
    ("floormod", tf.math.floormod, lambda a, b: torch.remainder(a, b), [N(6) * 5, Z(6)], dict(grad=False, atol=1e-4)),
    ("divide_no_nan", tf.math.divide_no_nan, lambda a, b: a / torch.where(b == 0, torch.ones_like(b), b) * (b != 0),
     [N(5), np.array([1.5, 0.0, -2.0, 0.0, 0.7], np.float32)]),
    # -- elementwise unary ----------------------------------------------------------------
    ("negative", tf.negative, torch.neg, [N(3, 4)]),
    ("exp", tf.exp, torch.exp, [N(3, 4)]),
    ("log", tf.math.log, torch.log, [P(3, 4)]),
    ("log1p", tf.math.log1p, torch.log1p, [P(5)]),
    ("expm1", tf.math.expm1, torch.expm1, [N(5)]),
    ("sqrt", tf.sqrt, torch.sqrt, [P(5)]),
    ("rsqrt", tf.math.rsqrt, torch.rsqrt, [P(5)]),
    ("square", tf.square, torch.square, [N(5)]),
    ("abs", tf.abs, torch.abs, [Z(5)]),
    ("reciprocal", tf.math.reciprocal, torch.reciprocal, [Z(5)]),
    ("tanh", tf.tanh, torch.tanh, [N(3, 4)]),
    ("sin", tf.sin, torch.sin, [N(5)]),
    ("cos", tf.cos, torch.cos, [N(5)]),
    ("sigmoid", tf.sigmoid, torch.sigmoid, [N(3, 4, scale=5)]),
    ("softplus", tf.math.softplus, F.softplus, [N(3, 4, scale=5)]),
    ("erf", tf.math.erf, torch.erf, [N(5)]),
    ("log_sigmoid", tf.math.log_sigmoid, F.logsigmoid, [N(5, scale=5)]),
    ("sign", tf.sign, torch.sign, [Z(5)], dict(grad=False)),
    ("floor", tf.math.floor, torch.floor, [N(5) * 3], dict(grad=False)),
    ("ceil", tf.math.ceil, torch.ceil, [N(5) * 3], dict(grad=False)),
    ("round-half-even", tf.math.round, torch.round, [np.array([0.5, 1.5, 2.5, -0.5, 1.2], np.float32)],
     dict(grad=False)),
    # -- matmul -----------------------------------------------------------------------------
    ("matmul", tf.matmul, torch.matmul, [N(3, 4), N(4, 5)]),
    ("matmul-batch-bcast", tf.matmul, torch.matmul, [N(2, 3, 4), N(4, 5)]),
    ("matmul-transposed", lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True),
     lambda a, b: a.T @ b.T, [N(4, 3), N(5, 4)]),
    ("tensordot", lambda a, b: tf.tensordot(a, b, axes=[[1, 2], [0, 1]]),
     lambda a, b: torch.tensordot(a, b, dims=([1, 2], [0, 1])), [N(2, 3, 4), N(3, 4, 5)]),
    # -- reductions ---------------------------------------------------------------------------
    ("reduce_sum", tf.reduce_sum, torch.sum, [N(3, 4)]),
    ("reduce_sum-axis", lambda a: tf.reduce_sum(a, axis=1), lambda a: a.sum(1), [N(3, 4)]),
    ("reduce_sum-axes-keep", lambda a: tf.reduce_sum(a, axis=[0, 2], keepdims=True),
     lambda a: a.sum((0, 2), keepdim=True), [N(2, 3, 4)]),
    ("reduce_mean", tf.reduce_mean, torch.mean, [N(3, 4)]),
    ("reduce_mean-axis-keep", lambda a: tf.reduce_mean(a, -1, keepdims=True), lambda a: a.mean(-1, keepdim=True),
     [N(3, 4)]),
    ("reduce_max", tf.reduce_max, torch.amax, [D(3, 4)]),
    ("reduce_max-axis", lambda a: tf.reduce_max(a, 0), lambda a: torch.amax(a, 0), [D(3, 4)]),
    ("reduce_max-ties", lambda a: tf.reduce_max(a, 1), lambda a: torch.amax(a, 1),  # ties split, as both do
     [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], np.float32)]),
    ("reduce_min-keep", lambda a: tf.reduce_min(a, 1, keepdims=True), lambda a: torch.amin(a, 1, keepdim=True),
     [D(3, 4)]),
    ("reduce_prod", lambda a: tf.reduce_prod(a, 1), lambda a: torch.prod(a, 1), [Z(3, 4)]),
    ("reduce_prod-zero", tf.reduce_prod, torch.prod, [np.array([2.0, 0.0, 3.0, -1.5], np.float32)]),
    ("reduce_logsumexp", lambda a: tf.reduce_logsumexp(a, 1), lambda a: torch.logsumexp(a, 1), [N(3, 4, scale=5)]),
    ("reduce_variance", lambda a: tf.math.reduce_variance(a, 0), lambda a: torch.var(a, 0, unbiased=False),
     [N(5, 3)]),
    ("reduce_std", lambda a: tf.math.reduce_std(a, 1), lambda a: torch.std(a, 1, unbiased=False), [N(3, 5)]),
    ("norm", lambda a: tf.norm(a), lambda a: torch.linalg.vector_norm(a), [N(3, 4)]),
    ("norm-axis", lambda a: tf.norm(a, axis=1), lambda a: torch.linalg.vector_norm(a, dim=1), [N(3, 4)]),
    ("argmax", lambda a: tf.argmax(a, axis=1), lambda a: torch.argmax(a, 1), [D(3, 4)], dict(grad=False)),
    # -- shape and indexing -------------------------------------------------------------------
    ("reshape", lambda a: tf.reshape(a, (4, -1)), lambda a: a.reshape(4, -1), [N(2, 3, 2)]),
    ("transpose", lambda a: tf.transpose(a, (2, 0, 1)), lambda a: a.permute(2, 0, 1), [N(2, 3, 4)]),
    ("transpose-default", tf.transpose, lambda a: a.permute(1, 0), [N(3, 4)]),
    ("expand_dims", lambda a: tf.expand_dims(a, 1), lambda a: a.unsqueeze(1), [N(3, 4)]),
    ("squeeze", lambda a: tf.squeeze(a, 1), lambda a: a.squeeze(1), [N(3, 1, 4)]),
    ("concat", lambda a, b: tf.concat([a, b], axis=1), lambda a, b: torch.cat([a, b], 1), [N(2, 3), N(2, 2)]),
    ("stack", lambda a, b: tf.stack([a, b], axis=-1), lambda a, b: torch.stack([a, b], -1), [N(2, 3), N(2, 3)]),
    ("unstack", lambda a: tf.unstack(a, axis=1), lambda a: torch.unbind(a, 1), [N(2, 3)]),
    ("split", lambda a: tf.split(a, [1, -1], axis=1), lambda a: torch.split(a, [1, 3], 1), [N(2, 4)]),
    ("tile", lambda a: tf.tile(a, [2, 3]), lambda a: torch.tile(a, (2, 3)), [N(2, 3)]),
    ("pad", lambda a: tf.pad(a, [[1, 0], [2, 1]]), lambda a: F.pad(a, (2, 1, 1, 0)), [N(2, 3)]),
    ("reverse", lambda a: tf.reverse(a, [1]), lambda a: torch.flip(a, [1]), [N(3, 4)]),
    ("cumsum", lambda a: tf.cumsum(a, axis=1), lambda a: torch.cumsum(a, 1), [N(3, 4)]),
    ("broadcast_to", lambda a: tf.broadcast_to(a, (3, 4)), lambda a: a.expand(3, 4), [N(4)]),
    ("identity", tf.identity, lambda a: a.clone(), [N(3)]),
    ("getitem-slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [N(3, 4)]),
    ("getitem-int-newaxis", lambda a: a[-1, None, 1:3], lambda a: a[-1, None, 1:3], [N(3, 4)]),
    ("getitem-int-array", lambda a: a[np.array([2, 0, 2])], lambda a: a[torch.tensor([2, 0, 2])], [N(3, 4)]),
    ("getitem-bool-mask", lambda a: a[_mask34], lambda a: a[torch.tensor(_mask34)], [N(3, 4)]),
    ("gather", lambda p, i: tf.gather(p, i), lambda p, i: p[i], [N(5, 3), np.array([4, 0, 4, 2])]),
    ("gather-axis1-2d", lambda p, i: tf.gather(p, i, axis=1), lambda p, i: p[:, i], [N(2, 5, 3), I(5, 2, 3)]),
    ("where", lambda a, b: tf.where(_mask34, a, b), lambda a, b: torch.where(torch.tensor(_mask34), a, b),
     [N(3, 4), N(4)]),
    ("clip_by_value", lambda a: tf.clip_by_value(a, -0.5, 0.5), lambda a: torch.clamp(a, -0.5, 0.5),
     [np.array([-1.3, -0.2, 0.1, 0.4, 1.1], np.float32)]),
    ("cast", lambda a: tf.cast(a, tf.float64), lambda a: a.double(), [N(3)]),
    ("one_hot", lambda i: tf.one_hot(i, 4), lambda i: F.one_hot(i, 4).float(), [I(4, 5)], dict(grad=False)),
    # -- activations ----------------------------------------------------------------------------
    ("relu", tf.nn.relu, F.relu, [Z(3, 4)]),
    ("relu6", tf.nn.relu6, F.relu6, [Z(3, 4) * 4]),
    ("leaky_relu", tf.nn.leaky_relu, lambda a: F.leaky_relu(a, 0.2), [Z(3, 4)]),
    ("elu", tf.nn.elu, F.elu, [Z(3, 4)]),
    ("selu", tf.nn.selu, F.selu, [Z(3, 4)]),
    ("gelu", tf.nn.gelu, F.gelu, [N(3, 4)]),
    ("gelu-tanh", lambda a: tf.nn.gelu(a, approximate=True), lambda a: F.gelu(a, approximate="tanh"), [N(3, 4)]),
    ("silu", tf.nn.silu, F.silu, [N(3, 4)]),
    ("mish", nn_ops.mish, F.mish, [N(3, 4)]),
    ("softsign", tf.nn.softsign, F.softsign, [N(3, 4)]),
    ("hard_sigmoid", nn_ops.hard_sigmoid, F.hardsigmoid, [Z(3, 4) * 2]),  # Keras 3: relu6(x + 3) / 6
    ("hard_swish", nn_ops.hard_swish, F.hardswish, [Z(3, 4) * 2]),
    # -- softmax family and cross entropies ----------------------------------------------------
    ("softmax", tf.nn.softmax, lambda a: torch.softmax(a, -1), [N(3, 5, scale=3)]),
    ("softmax-axis0", lambda a: tf.nn.softmax(a, axis=0), lambda a: torch.softmax(a, 0), [N(3, 5)]),
    ("log_softmax", tf.nn.log_softmax, lambda a: torch.log_softmax(a, -1), [N(3, 5, scale=3)]),
    ("log_softmax-axis1-3d", lambda a: tf.nn.log_softmax(a, axis=1), lambda a: torch.log_softmax(a, 1),
     [N(2, 3, 4)]),
    ("sparse_softmax_xent", lambda y, x: tf.nn.sparse_softmax_cross_entropy_with_logits(y, x),
     lambda y, x: F.cross_entropy(x, y, reduction="none"), [I(5, 4), N(4, 5)]),
    ("softmax_xent", lambda y, x: tf.nn.softmax_cross_entropy_with_logits(y, x),
     lambda y, x: F.cross_entropy(x, y, reduction="none"), [np.full((3, 4), 0.25, np.float32), N(3, 4)]),
    ("sigmoid_xent", lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(z, x),
     lambda z, x: F.binary_cross_entropy_with_logits(x, z, reduction="none"),
     [_rng.random((3, 4)).astype(np.float32), N(3, 4, scale=3)]),
    ("l2_normalize", lambda a: tf.nn.l2_normalize(a, axis=1), lambda a: F.normalize(a, dim=1), [N(3, 4)]),
    ("moments", lambda a: tf.nn.moments(a, axes=[0]), lambda a: (a.mean(0), a.var(0, unbiased=False)), [N(5, 3)]),
    ("bias_add", tf.nn.bias_add, torch.add, [N(2, 3, 4), N(4)]),
    ("bias_add-nchw", lambda a, b: tf.nn.bias_add(a, b, data_format="NCHW"), lambda a, b: a + b[:, None, None],
     [N(2, 3, 2, 2), N(3)]),
    ("clip_by_norm", lambda a: tf.clip_by_norm(a, 1.0), lambda a: torch_clip_by_norm(a, 1.0), [N(3, 4)]),
    ("clip_by_norm-axes", lambda a: tf.clip_by_norm(a, 1.0, axes=[1]), lambda a: torch_clip_by_norm(a, 1.0, 1),
     [N(3, 4)]),
    ("clip_by_global_norm", lambda a, b: tf.clip_by_global_norm([a, b], 1.0)[0],
     lambda a, b: torch_clip_by_global_norm(a, b, 1.0), [N(3), N(2, 2)]),
    ("global_norm", lambda a, b: tf.global_norm([a, b]), lambda a, b: torch.sqrt((a * a).sum() + (b * b).sum()),
     [N(3), N(2, 2)]),
    # -- convolution and pooling ----------------------------------------------------------------
    ("conv2d-valid", lambda x, w: tf.nn.conv2d(x, w, 1, "VALID"), lambda x, w: nhwc(F.conv2d(nchw(x), oihw(w))),
     [N(2, 6, 6, 3), N(3, 3, 3, 4)], dict(atol=1e-4)),
    ("conv2d-same", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"), lambda x, w: torch_conv2d_same(x, w),
     [N(2, 5, 5, 3), N(3, 3, 3, 4)], dict(atol=1e-4)),
    ("conv2d-same-stride2-even", lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), lambda x, w: torch_conv2d_same(x, w, 2),
     [N(2, 6, 6, 2), N(3, 3, 2, 3)], dict(atol=1e-4)),
    ("conv2d-stride-list", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 2, 1], "VALID"),
     lambda x, w: nhwc(F.conv2d(nchw(x), oihw(w), stride=2)), [N(1, 7, 7, 2), N(3, 3, 2, 2)], dict(atol=1e-4)),
    ("conv2d-dilated", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME", dilations=2),
     lambda x, w: torch_conv2d_same(x, w, 1, 2), [N(1, 7, 7, 2), N(3, 3, 2, 2)], dict(atol=1e-4)),
    ("conv2d-groups", lambda x, w: tf.nn.conv2d(x, w, 1, "VALID"),
     lambda x, w: nhwc(F.conv2d(nchw(x), oihw(w), groups=2)), [N(2, 5, 5, 4), N(3, 3, 2, 6)], dict(atol=1e-4)),
    ("conv2d-nchw", lambda x, w: tf.nn.conv2d(x, w, 1, "VALID", data_format="NCHW"),
     lambda x, w: F.conv2d(x, oihw(w)), [N(2, 3, 5, 5), N(3, 3, 3, 2)], dict(atol=1e-4)),
    ("conv1d", lambda x, w: tf.nn.conv1d(x, w, 1, "VALID"),
     lambda x, w: F.conv1d(x.permute(0, 2, 1), w.permute(2, 1, 0)).permute(0, 2, 1), [N(2, 7, 3), N(3, 3, 4)],
     dict(atol=1e-4)),
    ("depthwise_conv2d", lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "VALID"),
     lambda x, w: torch_depthwise(x, w), [N(2, 5, 5, 3), N(3, 3, 3, 2)], dict(atol=1e-4)),
    ("conv2d_transpose-same", lambda x, w: tf.nn.conv2d_transpose(x, w, [2, 6, 6, 2], 2, "SAME"),
     lambda x, w: torch_conv_transpose(x, w, (6, 6), 2, "SAME"), [N(2, 3, 3, 3), N(3, 3, 2, 3)], dict(atol=1e-4)),
    ("conv2d_transpose-valid", lambda x, w: tf.nn.conv2d_transpose(x, w, [1, 7, 7, 2], 2, "VALID"),
     lambda x, w: torch_conv_transpose(x, w, (7, 7), 2, "VALID"), [N(1, 3, 3, 3), N(3, 3, 2, 3)], dict(atol=1e-4)),
    ("max_pool2d", lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID"), lambda x: nhwc(F.max_pool2d(nchw(x), 2, 2)),
     [D(2, 4, 4, 3)]),
    ("max_pool2d-same", lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME"), lambda x: torch_pool_same(x, 3, 2, "max"),
     [D(2, 6, 5, 2)]),
    ("max_pool-alias", lambda x: tf.nn.max_pool(x, [1, 2, 2, 1], [1, 1, 1, 1], "VALID"),
     lambda x: nhwc(F.max_pool2d(nchw(x), 2, 1)), [D(1, 4, 4, 2)]),
    ("max_pool1d", lambda x: tf.nn.max_pool1d(x, 2, 2, "VALID"),
     lambda x: F.max_pool1d(x.permute(0, 2, 1), 2, 2).permute(0, 2, 1), [D(2, 6, 3)]),
    ("avg_pool2d", lambda x: tf.nn.avg_pool2d(x, 2, 2, "VALID"), lambda x: nhwc(F.avg_pool2d(nchw(x), 2, 2)),
     [N(2, 4, 4, 3)]),
    ("avg_pool2d-same", lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME"), lambda x: torch_pool_same(x, 3, 2, "avg"),
     [N(2, 6, 5, 2)]),
    ("avg_pool-alias", lambda x: tf.nn.avg_pool(x, 2, 1, "VALID"), lambda x: nhwc(F.avg_pool2d(nchw(x), 2, 1)),
     [N(1, 4, 4, 2)]),
    ("avg_pool1d", lambda x: tf.nn.avg_pool1d(x, 3, 1, "VALID"),
     lambda x: F.avg_pool1d(x.permute(0, 2, 1), 3, 1).permute(0, 2, 1), [N(2, 6, 3)]),
]


@pytest.mark.parametrize("case", OPS, ids=[c[0] for c in OPS])
def test_op_matches_torch(case):
    _, tf_fn, torch_fn, inputs = case[:4]
    helper_test_op(tf_fn, torch_fn, inputs, **(case[4] if len(case) > 4 else {}))


def test_one_hot_dtype_and_out_of_range_rows():
    out = tf.one_hot([0, 3, -1, 2], 3)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1]])


def test_max_pool_ties_route_to_first_max():
    x = tf.constant(np.ones((1, 2, 2, 1), np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.max_pool2d(x, 2, 2, "VALID")
    g = tape.gradient(y, x)
    np.testing.assert_array_equal(g.numpy().ravel(), [1, 0, 0, 0])


def test_conv_backward_does_not_mutate_broadcast_upstream():
    # reduce_sum's gradient reaches conv2d as a read-only broadcast view; it must be accepted as is
    x, w = tf.constant(N(1, 4, 4, 2)), tf.Variable(N(3, 3, 2, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.nn.conv2d(x, w, 1, "SAME"))
    gx, gw = tape.gradient(loss, [x, w])
    xt = torch.tensor(x.numpy(), requires_grad=True)
    wt = torch.tensor(w.numpy(), requires_grad=True)
    torch_conv2d_same(xt, wt).sum().backward()
    np.testing.assert_allclose(gx.numpy(), xt.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(gw.numpy(), wt.grad.numpy(), atol=1e-4)


@pytest.mark.parametrize("shape, k", [((3, 6, 6, 2), 2), ((3, 7, 9, 2), 2), ((2, 9, 9, 3), 3), ((2, 6, 4, 1), (3, 2))])
def test_max_pool_partial_ties_route_to_the_first_max_in_window_order(shape, k):
    # values from {0, 1, 2}: most windows hold two or more equal maxima, in every position pattern
    x = np.random.RandomState(1).randint(0, 3, shape).astype(np.float32)
    kh, kw = (k, k) if isinstance(k, int) else k
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.nn.max_pool2d(xt, (kh, kw), (kh, kw), "VALID")
    g = np.arange(1, y.shape.num_elements() + 1, dtype=np.float32).reshape(y.shape)
    got = tape.gradient(y, xt, output_gradients=tf.constant(g)).numpy()
    want = np.zeros_like(x)
    for b, i, j, c in np.ndindex(*g.shape):
        win = x[b, i * kh:(i + 1) * kh, j * kw:(j + 1) * kw, c]
        r, s = np.unravel_index(np.argmax(win), win.shape)  # argmax: the first maximum in row-major order
        want[b, i * kh + r, j * kw + s, c] += g[b, i, j, c]
    np.testing.assert_array_equal(got, want)
