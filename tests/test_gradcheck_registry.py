"""Every registered primitive against float64 central differences, at several shapes.

``CASES`` maps each primitive name in ``tapeflow.ops.registry.REGISTRY`` to a list of
``(label, f, inputs[, check_gradients kwargs])``. A primitive missing from the table fails
``test_every_primitive_has_a_case``, and a case whose function never records its primitive
fails too, so a new primitive cannot go untested. Integer inputs (labels, indices) are passed
through undifferentiated by the checker.
"""
import importlib
import pkgutil

import numpy as np
import pytest

import tapeflow as tf
import tapeflow.autodiff.tape as tape_mod
import tapeflow.ops
from tapeflow.autodiff.tape import GradientTape
from tapeflow.debug import GradientCheckError, check_gradients
from tapeflow.ops import array_ops as A
from tapeflow.ops import conv3d_ops as C3
from tapeflow.ops import conv_ops as C
from tapeflow.ops import graph_ops as G
from tapeflow.ops import math_ops as M
from tapeflow.ops import pool3d_ops as P3
from tapeflow.ops import pool_ops as P
from tapeflow.ops import rnn_ops as R
from tapeflow.ops.registry import REGISTRY, bind

# import every op module so that REGISTRY is complete and deterministic
for _m in pkgutil.iter_modules(tapeflow.ops.__path__):
    importlib.import_module(f"tapeflow.ops.{_m.name}")
importlib.import_module("tapeflow.keras.losses.functions")  # registers sparse_labels (fit's traced loss)

_rng = np.random.default_rng(1234)


def rnd(*shape):
    return _rng.standard_normal(shape)


def pos(*shape):
    return _rng.uniform(0.5, 2.0, shape)


def away(*shape):
    """Values at least 0.2 from zero (kinks of relu/abs stay out of reach of eps)."""
    return _rng.choice([-1.0, 1.0], shape) * _rng.uniform(0.2, 1.5, shape)


def distinct(*shape):
    """Values spaced 0.1 apart in random order (no ties for max/min/argmax)."""
    n = int(np.prod(shape, dtype=np.int64))
    return (_rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


def ints(hi, *shape):
    return _rng.integers(0, hi, shape).astype(np.int64)


def _conv_attrs(strides=(1, 1), dilations=(1, 1), pads=((0, 0), (0, 0)), groups=1):
    return dict(strides=strides, dilations=dilations, pads=pads, groups=groups)


_SAME3 = ((1, 1), (1, 1))
_mask = _rng.random((3, 4)) > 0.5
_seq_mask = np.array([[True, True, True], [False, True, True], [True, False, True], [True, True, False]])
_sp_adj = __import__("scipy.sparse", fromlist=["csr_matrix"]).csr_matrix(
    np.array([[0.0, 1.5, 0, 0], [0.3, 0, 0, -1.0], [0, 0, 2.0, 0], [0.7, 0, 0.5, 0]]))

CASES = {
    # -- binary arithmetic: scalar, vector, matrix, broadcast --------------------------------
    "add": [("scalar", tf.add, [rnd(), rnd()]), ("matrix", tf.add, [rnd(3, 4), rnd(3, 4)]),
            ("bcast-row", tf.add, [rnd(3, 4), rnd(4)]), ("bcast-both", tf.add, [rnd(3, 1), rnd(1, 4)]),
            ("bcast-scalar", tf.add, [rnd(), rnd(2, 3)])],
    "subtract": [("vector", tf.subtract, [rnd(5), rnd(5)]), ("bcast", tf.subtract, [rnd(4), rnd(3, 4)])],
    "multiply": [("scalar", tf.multiply, [rnd(), rnd()]), ("bcast", tf.multiply, [rnd(3, 1), rnd(1, 4)]),
                 ("same", tf.multiply, [rnd(2, 3, 2), rnd(2, 3, 2)])],
    "divide": [("vector", tf.divide, [rnd(5), away(5)]), ("bcast", tf.divide, [rnd(3, 4), away(3, 1)]),
               ("scalar-den", tf.divide, [rnd(2, 2), away()])],
    "pow": [("both", tf.pow, [pos(4), rnd(4)]), ("bcast", tf.pow, [pos(3, 4), rnd(4)]),
            ("cube-neg-base", lambda x: tf.pow(x, 3.0), [rnd(5)])],
    "maximum": [("vector", tf.maximum, [distinct(6), distinct(6) + 0.05]),
                ("bcast", tf.maximum, [distinct(3, 4), np.array([0.03])])],
    "minimum": [("vector", tf.minimum, [distinct(6), distinct(6) + 0.05]),
                ("bcast", tf.minimum, [distinct(3, 1), distinct(1, 4) + 0.03])],
    # -- unary ----------------------------------------------------------------------------
    "negative": [("matrix", tf.negative, [rnd(3, 4)])],
    "exp": [("scalar", tf.exp, [rnd()]), ("matrix", tf.exp, [rnd(3, 4)])],
    "log": [("vector", tf.math.log, [pos(6)])],
    "log1p": [("vector", tf.math.log1p, [pos(6)])],
    "expm1": [("vector", tf.math.expm1, [rnd(6)])],
    "sqrt": [("vector", tf.sqrt, [pos(6)])],
    "rsqrt": [("vector", tf.math.rsqrt, [pos(6)])],
    "square": [("matrix", tf.square, [rnd(3, 4)])],
    "abs": [("vector", tf.abs, [away(6)])],
    "reciprocal": [("vector", tf.math.reciprocal, [away(6)])],
    "tanh": [("matrix", tf.tanh, [rnd(3, 4)])],
    "sin": [("vector", tf.sin, [rnd(6)])],
    "cos": [("vector", tf.cos, [rnd(6)])],
    "sigmoid": [("matrix", tf.sigmoid, [rnd(3, 4) * 4])],
    "softplus": [("matrix", tf.math.softplus, [rnd(3, 4) * 4])],
    "erf": [("vector", tf.math.erf, [rnd(6)])],
    # -- math_extra_ops (keras.ops elementwise math) ----------------------------------------
    "tan": [("vector", tapeflow.ops.math_extra_ops.tan, [rnd(6)])],
    "arcsin": [("vector", tapeflow.ops.math_extra_ops.arcsin, [_rng.uniform(-0.9, 0.9, 6)])],
    "arccos": [("matrix", tapeflow.ops.math_extra_ops.arccos, [_rng.uniform(-0.9, 0.9, (3, 4))])],
    "arctan": [("vector", tapeflow.ops.math_extra_ops.arctan, [rnd(6) * 2])],
    "sinh": [("vector", tapeflow.ops.math_extra_ops.sinh, [rnd(6)])],
    "cosh": [("vector", tapeflow.ops.math_extra_ops.cosh, [rnd(6)])],
    "arcsinh": [("vector", tapeflow.ops.math_extra_ops.arcsinh, [rnd(6) * 2])],
    "arccosh": [("vector", tapeflow.ops.math_extra_ops.arccosh, [pos(6) + 1.0])],
    "arctanh": [("vector", tapeflow.ops.math_extra_ops.arctanh, [_rng.uniform(-0.9, 0.9, 6)])],
    "arctan2": [("vector", tapeflow.ops.math_extra_ops.arctan2, [rnd(5), away(5)]),
                ("bcast", tapeflow.ops.math_extra_ops.arctan2, [rnd(3, 4), away(4)])],
    "cbrt": [("vector", tapeflow.ops.math_extra_ops.cbrt, [away(6)])],
    "erfc": [("vector", tapeflow.ops.math_extra_ops.erfc, [rnd(6)])],
    "erfinv": [("vector", tapeflow.ops.math_extra_ops.erfinv, [_rng.uniform(-0.9, 0.9, 6)])],
    "i0": [("vector", tapeflow.ops.math_extra_ops.i0, [rnd(6) * 2])],
    "i1": [("vector", tapeflow.ops.math_extra_ops.i1, [rnd(6) * 2]),
           ("at-zero", tapeflow.ops.math_extra_ops.i1, [np.array([0.0, 1.0])])],
    "log2": [("vector", tapeflow.ops.math_extra_ops.log2, [pos(6)])],
    "log10": [("vector", tapeflow.ops.math_extra_ops.log10, [pos(6)])],
    "sinc": [("vector", tapeflow.ops.math_extra_ops.sinc, [rnd(6) * 2]),
             ("at-zero", tapeflow.ops.math_extra_ops.sinc, [np.array([0.0, 0.5])])],
    "hypot": [("vector", tapeflow.ops.math_extra_ops.hypot, [rnd(5), away(5)]),
              ("bcast", tapeflow.ops.math_extra_ops.hypot, [rnd(3, 4), away(3, 1)])],
    "fmod": [("vector", tapeflow.ops.math_extra_ops.fmod,
              [np.array([2.3, -3.7, 0.4, 5.1]), np.array([1.1, 1.3, -0.9, 2.0])])],
    # -- matmul ---------------------------------------------------------------------------
    "matmul": [("2d", tf.matmul, [rnd(3, 4), rnd(4, 2)]),
               ("batch-bcast", tf.matmul, [rnd(2, 3, 4), rnd(4, 5)]),
               ("transposed", lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True),
                [rnd(4, 3), rnd(2, 4)])],
    # -- shape / indexing -----------------------------------------------------------------
    "cast": [("f64-f32-f64", lambda x: tf.cast(tf.cast(x, tf.float32), tf.float64) * 1.5, [rnd(5)],
              dict(eps=1e-3, rtol=1e-3, atol=1e-4))],
    "reshape": [("matrix", lambda x: tf.reshape(x, (4, 3)), [rnd(3, 4)]),
                ("infer", lambda x: tf.reshape(x, (-1,)), [rnd(2, 3, 2)])],
    "transpose": [("2d", tf.transpose, [rnd(3, 4)]),
                  ("perm", lambda x: tf.transpose(x, perm=(1, 2, 0)), [rnd(2, 3, 4)])],
    "broadcast_to": [("vector", lambda x: tf.broadcast_to(x, (3, 4)), [rnd(4)]),
                     ("col", lambda x: tf.broadcast_to(x, (2, 3, 4)), [rnd(3, 1)])],
    "sum_to": [("lead", lambda x: A.sum_to(x, (4,)), [rnd(3, 4)]),
               ("keep1", lambda x: A.sum_to(x, (3, 1)), [rnd(2, 3, 4)])],
    "concat": [("axis0", lambda a, b: tf.concat([a, b], axis=0), [rnd(2, 3), rnd(1, 3)]),
               ("axis-1-three", lambda a, b, c: tf.concat([a, b, c], axis=-1), [rnd(2, 1), rnd(2, 3), rnd(2, 2)]),
               ("stack", lambda a, b: tf.stack([a, b], axis=1), [rnd(3), rnd(3)])],
    "getitem": [("slice", lambda x: x[1:, ::2], [rnd(3, 4)]), ("int", lambda x: x[1], [rnd(3, 4)]),
                ("neg-step-newaxis", lambda x: x[::-1, None, ..., -1], [rnd(3, 4)]),
                ("int-array-repeats", lambda x: x[np.array([0, 2, 0])], [rnd(3, 4)]),
                ("bool-mask", lambda x: x[_mask], [rnd(3, 4)]),
                ("mixed", lambda x: x[np.array([1, 1]), 1:3], [rnd(3, 4)])],
    "getitem_vjp": [("basic", lambda g: A._scatter_getitem_op(g, shape=(3, 4), key=(slice(1, None), 2)), [rnd(2)]),
                    ("advanced", lambda g: A._scatter_getitem_op(g, shape=(3, 4), key=np.array([0, 2, 0])),
                     [rnd(3, 4)])],
    "gather": [("axis0", lambda p, i: tf.gather(p, i), [rnd(4, 3), np.array([3, 0, 3, 1])]),
               ("axis1-2d", lambda p, i: tf.gather(p, i, axis=1), [rnd(2, 4, 3), ints(4, 2, 3)]),
               ("scalar-index", lambda p, i: tf.gather(p, i, axis=1), [rnd(2, 4), np.array(2)])],
    "gather_vjp": [("axis0", lambda g, i: bind(A._gather_grad, g, i, shape=(4, 3), axis=0),
                    [rnd(5, 3), np.array([3, 0, 3, 1, 2])]),
                   ("axis1-2d", lambda g, i: bind(A._gather_grad, g, i, shape=(2, 4), axis=1),
                    [rnd(2, 2, 3), ints(4, 2, 3)])],
    "where": [("same", lambda x, y: tf.where(_mask, x, y), [rnd(3, 4), rnd(3, 4)]),
              ("bcast", lambda x, y: tf.where(_mask, x, y), [rnd(4), rnd(3, 1)])],
    "pad": [("2d", lambda x: tf.pad(x, [[1, 0], [2, 1]]), [rnd(2, 3)])],
    "reverse": [("axis", lambda x: tf.reverse(x, [1]), [rnd(3, 4)]),
                ("two-axes", lambda x: tf.reverse(x, [0, -1]), [rnd(2, 3, 2)])],
    "cumsum": [("axis0", lambda x: tf.cumsum(x), [rnd(5)]), ("axis1", lambda x: tf.cumsum(x, axis=1), [rnd(3, 4)])],
    "identity": [("matrix", tf.identity, [rnd(3, 4)])],
    "clip_by_value": [("vector", lambda x: tf.clip_by_value(x, -0.5, 0.5), [np.array([-1.3, -0.2, 0.1, 0.4, 1.1])])],
    # -- reductions: axis / keepdims variants ---------------------------------------------
    "reduce_sum": [("all", tf.reduce_sum, [rnd(3, 4)]), ("axis0", lambda x: tf.reduce_sum(x, 0), [rnd(3, 4)]),
                   ("axes-keep", lambda x: tf.reduce_sum(x, (0, 2), keepdims=True), [rnd(2, 3, 4)]),
                   ("vector", tf.reduce_sum, [rnd(5)])],
    "reduce_mean": [("all", tf.reduce_mean, [rnd(3, 4)]),
                    ("axis-1-keep", lambda x: tf.reduce_mean(x, -1, keepdims=True), [rnd(3, 4)]),
                    ("axes", lambda x: tf.reduce_mean(x, [0, 1]), [rnd(2, 3, 4)])],
    "reduce_max": [("all", tf.reduce_max, [distinct(3, 4)]), ("axis1", lambda x: tf.reduce_max(x, 1), [distinct(3, 4)]),
                   ("keep", lambda x: tf.reduce_max(x, 0, keepdims=True), [distinct(3, 4)])],
    "reduce_min": [("all", tf.reduce_min, [distinct(3, 4)]),
                   ("axis0", lambda x: tf.reduce_min(x, 0), [distinct(3, 4)])],
    "reduce_prod": [("all", tf.reduce_prod, [away(5)]), ("axis1-keep", lambda x: tf.reduce_prod(x, 1, keepdims=True),
                                                      [away(3, 4)]),
                    ("one-zero", lambda x: tf.reduce_prod(x), [np.array([2.0, 0.0, 3.0, -1.5])])],
    "reduce_logsumexp": [("all", tf.reduce_logsumexp, [rnd(3, 4)]),
                         ("axis1", lambda x: tf.reduce_logsumexp(x, 1), [rnd(3, 4)]),
                         ("keep", lambda x: tf.reduce_logsumexp(x, 0, keepdims=True), [rnd(3, 4)])],
    # -- nn -------------------------------------------------------------------------------
    "relu": [("matrix", tf.nn.relu, [away(3, 4)])],
    "softmax": [("last", tf.nn.softmax, [rnd(3, 4)]), ("axis0", lambda x: tf.nn.softmax(x, axis=0), [rnd(3, 4)]),
                ("vector", tf.nn.softmax, [rnd(5)])],
    "log_softmax": [("last", tf.nn.log_softmax, [rnd(3, 4)]),
                    ("axis0", lambda x: tf.nn.log_softmax(x, axis=0), [rnd(3, 4)])],
    "sparse_softmax_cross_entropy_with_logits": [
        ("batch", lambda y, x: tf.nn.sparse_softmax_cross_entropy_with_logits(y, x), [ints(4, 3), rnd(3, 4)]),
        ("3d", lambda y, x: tf.nn.sparse_softmax_cross_entropy_with_logits(y, x), [ints(3, 2, 2), rnd(2, 2, 3)])],
    "sigmoid_cross_entropy_with_logits": [
        ("both", lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(z, x), [_rng.random((3, 4)), rnd(3, 4) * 3])],
    # -- convolution ----------------------------------------------------------------------
    "conv2d": [("valid", lambda x, w: tf.nn.conv2d(x, w, 1, "VALID"), [rnd(2, 5, 5, 3), rnd(3, 3, 3, 2)]),
               ("same-stride2", lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), [rnd(2, 5, 6, 2), rnd(3, 2, 2, 3)]),
               ("dilated", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME", dilations=2), [rnd(1, 6, 6, 2), rnd(2, 3, 2, 2)]),
               ("explicit", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 1, 1], [[0, 0], [1, 2], [0, 1], [0, 0]]),
                [rnd(1, 5, 4, 2), rnd(3, 2, 2, 2)]),
               ("groups", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"), [rnd(1, 4, 4, 4), rnd(3, 3, 2, 4)]),
               ("depthwise", lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "VALID"),
                [rnd(1, 4, 5, 3), rnd(2, 2, 3, 2)]),
               ("conv1d", lambda x, w: tf.nn.conv1d(x, w, 2, "SAME"), [rnd(2, 7, 3), rnd(3, 3, 2)]),
               ("nchw", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME", data_format="NCHW"),
                [rnd(1, 2, 4, 4), rnd(3, 3, 2, 2)])],
    "conv2d_backprop_input": [
        ("direct", lambda g, w: bind(C._conv_input, g, w, input_shape=(2, 5, 5, 2), **_conv_attrs((2, 2), pads=_SAME3)),
         [rnd(2, 3, 3, 3), rnd(3, 3, 2, 3)]),
        ("transpose", lambda x, w: tf.nn.conv2d_transpose(x, w, [1, 7, 7, 2], 2, "VALID"),
         [rnd(1, 3, 3, 3), rnd(3, 3, 2, 3)]),
        ("groups", lambda g, w: bind(C._conv_input, g, w, input_shape=(1, 4, 4, 4), **_conv_attrs(groups=2)),
         [rnd(1, 2, 2, 4), rnd(3, 3, 2, 4)])],
    "conv2d_backprop_filter": [
        ("direct", lambda x, g: bind(C._conv_filter, x, g, filter_shape=(3, 3, 2, 3), **_conv_attrs(pads=_SAME3)),
         [rnd(2, 4, 4, 2), rnd(2, 4, 4, 3)]),
        ("groups-dilated", lambda x, g: bind(C._conv_filter, x, g, filter_shape=(2, 2, 1, 4),
                                             **_conv_attrs(dilations=(2, 2), groups=2)),
         [rnd(1, 5, 5, 2), rnd(1, 3, 3, 4)])],
    # -- pooling --------------------------------------------------------------------------
    "max_pool2d": [("valid", lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID"), [distinct(2, 4, 4, 2)]),
                   ("same-overlap", lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME"), [distinct(1, 5, 6, 2)]),
                   ("1d", lambda x: tf.nn.max_pool1d(x, 2, 1, "VALID"), [distinct(2, 5, 2)])],
    "max_pool2d_vjp": [("direct", lambda g, x: bind(P._max_pool_vjp, g, x, ksize=(3, 3), strides=(2, 2), pads=_SAME3),
                        [rnd(1, 3, 3, 2), distinct(1, 5, 5, 2)])],
    "max_pool2d_select": [("direct", lambda h, x: bind(P._max_pool_select, h, x, ksize=(2, 2), strides=(1, 1),
                                                       pads=((0, 0), (0, 0))),
                           [rnd(1, 4, 4, 2), distinct(1, 4, 4, 2)])],
    "avg_pool2d": [("valid", lambda x: tf.nn.avg_pool2d(x, 2, 2, "VALID"), [rnd(2, 4, 4, 2)]),
                   ("same", lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME"), [rnd(1, 5, 6, 2)]),
                   ("1d", lambda x: tf.nn.avg_pool1d(x, 3, 2, "SAME"), [rnd(2, 5, 2)])],
    "avg_pool2d_vjp": [("direct", lambda g: bind(P._avg_pool_vjp, g, input_shape=(1, 5, 5, 2), ksize=(3, 3),
                                                 strides=(2, 2), pads=_SAME3), [rnd(1, 3, 3, 2)])],
    # -- 3-D convolution and pooling (ops/conv3d_ops.py, ops/pool3d_ops.py) --------------------
    "conv3d": [("valid", lambda x, w: tf.nn.conv3d(x, w, 1, "VALID"), [rnd(2, 3, 4, 3, 2), rnd(2, 3, 2, 2, 2)]),
               ("same-stride2", lambda x, w: tf.nn.conv3d(x, w, [1, 2, 2, 2, 1], "SAME"),
                [rnd(1, 4, 5, 3, 2), rnd(2, 2, 3, 2, 2)]),
               ("dilated", lambda x, w: tf.nn.conv3d(x, w, 1, "SAME", dilations=[1, 2, 1, 2, 1]),
                [rnd(1, 4, 3, 4, 1), rnd(2, 2, 2, 1, 2)]),
               ("groups", lambda x, w: tf.nn.conv3d(x, w, 1, "VALID"), [rnd(1, 3, 3, 3, 4), rnd(2, 2, 2, 2, 4)]),
               ("ncdhw", lambda x, w: tf.nn.conv3d(x, w, [1, 1, 2, 1, 1], "SAME", data_format="NCDHW"),
                [rnd(1, 2, 3, 4, 3), rnd(2, 2, 2, 2, 2)])],
    "conv3d_backprop_input": [
        ("transpose-same-stride2", lambda x, w: tf.nn.conv3d_transpose(x, w, [1, 4, 4, 3, 2], 2, "SAME"),
         [rnd(1, 2, 2, 2, 3), rnd(3, 2, 2, 2, 3)]),
        ("transpose-valid-dilated", lambda x, w: tf.nn.conv3d_transpose(x, w, [1, 4, 5, 4, 2], 1, "VALID",
                                                                        dilations=2),
         [rnd(1, 2, 3, 2, 2), rnd(2, 2, 2, 2, 2)]),
        ("transpose-ncdhw", lambda x, w: tf.nn.conv3d_transpose(x, w, [1, 2, 3, 4, 4], [1, 1, 1, 2, 2], "SAME",
                                                                data_format="NCDHW"),
         [rnd(1, 2, 3, 2, 2), rnd(2, 2, 2, 2, 2)]),
        ("groups", lambda g, w: bind(C3._conv3d_input, g, w, input_shape=(1, 3, 3, 3, 4), strides=(1, 1, 1),
                                     dilations=(1, 1, 1), pads=((0, 0),) * 3, groups=2),
         [rnd(1, 2, 2, 2, 4), rnd(2, 2, 2, 2, 4)])],
    "conv3d_backprop_filter": [
        ("same-stride2", lambda x, g: bind(C3._conv3d_filter, x, g, filter_shape=(2, 3, 2, 2, 3), strides=(2, 2, 2),
                                           dilations=(1, 1, 1), pads=((0, 1), (1, 1), (0, 1)), groups=1),
         [rnd(1, 4, 4, 3, 2), rnd(1, 2, 2, 2, 3)]),
        ("groups-dilated", lambda x, g: bind(C3._conv3d_filter, x, g, filter_shape=(2, 2, 2, 1, 4),
                                             strides=(1, 1, 1), dilations=(2, 1, 2), pads=((0, 0),) * 3, groups=2),
         [rnd(1, 4, 3, 4, 2), rnd(1, 2, 2, 2, 4)])],
    "max_pool3d": [("valid", lambda x: tf.nn.max_pool3d(x, 2, 2, "VALID"), [distinct(2, 4, 4, 4, 2)]),
                   ("same-overlap", lambda x: tf.nn.max_pool3d(x, [1, 3, 2, 3, 1], [1, 2, 1, 2, 1], "SAME"),
                    [distinct(1, 5, 3, 4, 2)]),
                   ("ncdhw", lambda x: tf.nn.max_pool3d(x, 2, 1, "VALID", data_format="NCDHW"),
                    [distinct(1, 2, 3, 3, 3)])],
    "max_pool3d_vjp": [("direct", lambda g, x: bind(P3._max_pool3d_vjp, g, x, ksize=(3, 2, 3), strides=(2, 1, 2),
                                                    pads=((1, 1), (0, 1), (1, 1))),
                        [rnd(1, 3, 4, 3, 2), distinct(1, 5, 4, 5, 2)])],
    "max_pool3d_select": [("direct", lambda h, x: bind(P3._max_pool3d_select, h, x, ksize=(2, 2, 2),
                                                       strides=(1, 1, 1), pads=((0, 0),) * 3),
                           [rnd(1, 3, 3, 3, 2), distinct(1, 3, 3, 3, 2)])],
    "avg_pool3d": [("valid", lambda x: tf.nn.avg_pool3d(x, 2, 2, "VALID"), [rnd(2, 4, 4, 4, 2)]),
                   ("same", lambda x: tf.nn.avg_pool3d(x, [1, 3, 2, 3, 1], [1, 2, 2, 1, 1], "SAME"),
                    [rnd(1, 5, 3, 4, 2)]),
                   ("ncdhw", lambda x: tf.nn.avg_pool3d(x, 2, 1, "SAME", data_format="NCDHW"),
                    [rnd(1, 2, 3, 3, 3)])],
    "avg_pool3d_vjp": [("direct", lambda g: bind(P3._avg_pool3d_vjp, g, input_shape=(1, 5, 4, 5, 2), ksize=(3, 2, 3),
                                                 strides=(2, 2, 2), pads=((1, 1), (0, 0), (1, 1))),
                        [rnd(1, 3, 2, 3, 2)])],
    # -- fused dense (+ relu) (Dense layer hot path) ------------------------------------------
    "dense": [("relu", lambda x, w, b: tapeflow.ops.dense_ops.dense(x, w, b, relu=True), [rnd(4, 3), rnd(3, 5), away(5)]),
              ("linear", lambda x, w, b: tapeflow.ops.dense_ops.dense(x, w, b), [rnd(2, 3), rnd(3, 2), rnd(2)])],
    # -- fused conv + bias (+ relu), fused normalization (conv/normalization layers) ----------
    "conv2d_bias": [("relu-same", lambda x, w, b: C._conv_fast.conv2d_bias(x, w, b, 1, "SAME", relu=True),
                     [rnd(2, 4, 5, 3), rnd(3, 3, 3, 2), away(2)]),
                    ("linear-stride2", lambda x, w, b: C._conv_fast.conv2d_bias(x, w, b, 2, "VALID"),
                     [rnd(1, 5, 5, 2), rnd(2, 2, 2, 3), rnd(3)]),
                    ("few-channels", lambda x, w, b: C._conv_fast.conv2d_bias(x, w, b, 1, "VALID", relu=True),
                     [rnd(2, 5, 4, 1), rnd(3, 2, 1, 4), away(4)])],
    "conv2d_transpose_bias": [
        ("relu-same-stride2", lambda x, w, b: C._conv_fast.conv2d_transpose_bias(x, w, b, [2, 6, 4, 3], 2, "SAME",
                                                                                 relu=True),
         [rnd(2, 3, 2, 2), rnd(3, 3, 3, 2), away(3)]),
        ("linear-valid", lambda x, w, b: C._conv_fast.conv2d_transpose_bias(x, w, b, [1, 5, 5, 2], 1, "VALID"),
         [rnd(1, 3, 3, 2), rnd(3, 3, 2, 2), rnd(2)]),
        # one upstream gradient object reaches two layers with different kernels and constant biases (the
        # VJPs share a window matrix per gradient and kernel geometry, never across geometries)
        ("fan-out", lambda x, w: M.add(
            C._conv_fast.conv2d_transpose_bias(x, w, tf.constant(np.zeros(2)), [1, 6, 6, 2], 2, "SAME"),
            C._conv_fast.conv2d_transpose_bias(x, A.getitem(w, (slice(0, 2), slice(0, 2))),
                                               tf.constant(np.ones(2)), [1, 6, 6, 2], 2, "SAME")),
         [rnd(1, 3, 3, 2), rnd(3, 3, 2, 2)])],
    # a random primitive with no inputs (nothing to differentiate); its draws: test_layers_regularization.py,
    # test_reproducibility.py and the Dropout replay test in test_traced_step.py
    "dropout_keep": [],
    # integer labels checked and converted from y (no gradient): tests/keras/test_traced_step.py, test_losses.py
    "sparse_labels": [],
    "fused_normalize": [
        ("batch-axes", lambda x, g, b: tapeflow.ops.norm_ops.fused_normalize(x, g, b, axes=(0, 1, 2))[0],
         [rnd(2, 3, 3, 4), rnd(4), rnd(4)]),
        ("layer-last", lambda x, g, b: tapeflow.ops.norm_ops.fused_normalize(x, g, b, axes=-1)[0], [rnd(3, 5), rnd(5), rnd(5)]),
        ("group-view", lambda x, g, b: tapeflow.ops.norm_ops.fused_normalize(x, g, b, axes=(1, 2, 4))[0],
         [rnd(2, 3, 2, 2, 3), rnd(1, 1, 1, 2, 3), rnd(1, 1, 1, 2, 3)])],
    # -- recurrent sequences (ops/rnn_ops.py): plain and with a (T, B) step mask ---------------
    "lstm_sequence": [("plain", lambda xp, h, c, rk: R.lstm_sequence(xp, h, c, rk),
                       [rnd(4, 3, 8), rnd(3, 2), rnd(3, 2), rnd(2, 8)]),
                      ("masked", lambda xp, h, c, rk: R.lstm_sequence(xp, h, c, rk, mask=_seq_mask),
                       [rnd(4, 3, 8), rnd(3, 2), rnd(3, 2), rnd(2, 8)])],
    "gru_sequence": [("plain", lambda xp, h, rk, rb: R.gru_sequence(xp, h, rk, rb),
                      [rnd(4, 3, 6), rnd(3, 2), rnd(2, 6), rnd(6)]),
                     ("masked", lambda xp, h, rk, rb: R.gru_sequence(xp, h, rk, rb, mask=_seq_mask),
                      [rnd(4, 3, 6), rnd(3, 2), rnd(2, 6), rnd(6)])],
    "simple_rnn_sequence": [("plain", lambda xp, h, rk: R.simple_rnn_sequence(xp, h, rk),
                             [rnd(4, 3, 2), rnd(3, 2), rnd(2, 2)]),
                            ("masked", lambda xp, h, rk: R.simple_rnn_sequence(xp, h, rk, mask=_seq_mask),
                             [rnd(4, 3, 2), rnd(3, 2), rnd(2, 2)])],
    # -- graph propagation (ops/graph_ops.py): scipy.sparse and dense constant matrices ----------
    "sparse_dense_matmul": [("csr", lambda x: G.sparse_dense_matmul(_sp_adj, x), [rnd(4, 3)]),
                            ("dense", lambda x: G.sparse_dense_matmul(_sp_adj.toarray(), x), [rnd(4, 2)])],
}

# -- einsum (ops/einsum_ops.py): contraction, batch, outer, a letter only one operand sums, ellipsis ----
from tapeflow.ops.einsum_ops import einsum as _einsum  # noqa: E402

CASES["einsum"] = [
    ("matmul", lambda a, b: _einsum("ij,jk->ik", a, b), [rnd(3, 4), rnd(4, 2)]),
    ("batch", lambda a, b: _einsum("bij,bjk->bik", a, b), [rnd(2, 3, 4), rnd(2, 4, 2)]),
    ("outer", lambda a, b: _einsum("i,j->ij", a, b), [rnd(3), rnd(4)]),
    ("own-sum", lambda a, b: _einsum("ij,i->i", a, b), [rnd(3, 4), rnd(3)]),
    ("three", lambda a, b, c: _einsum("ij,jk,kl->il", a, b, c), [rnd(2, 3), rnd(3, 4), rnd(4, 2)]),
    ("ellipsis-implicit", lambda a, b: _einsum("...ij,jk", a, b), [rnd(2, 3, 4), rnd(4, 2)]),
]


# -- the gamma family (ops/special_ops.py) ------------------------------------------------------------------------
from tapeflow.ops import special_ops as _S  # noqa: E402

CASES.update({
    "lgamma": [("positive", _S.lgamma, [pos(5) * 3]), ("negative-non-integer", _S.lgamma, [np.array([-2.5, -0.3])])],
    "polygamma": [("digamma", _S.digamma, [pos(5) * 3]), ("trigamma", lambda x: _S.polygamma(1, x), [pos(4) + 0.2]),
                  ("order-3", lambda x: _S.polygamma(3, x), [np.array([-1.5, 0.7, 4.0])])],
})

# -- linear algebra, DFTs (ops/linalg_ops.py) and CTC (ops/ctc_ops.py) ------------------------------------------
from tapeflow.ops import ctc_ops as _CT  # noqa: E402
from tapeflow.ops import linalg_ops as _L  # noqa: E402


def _well(*shape):
    return rnd(*shape) + 3 * np.eye(shape[-1])


def _spd(x):  # symmetric positive definite from any square x (cholesky reads one triangle)
    return tf.matmul(x, x, transpose_b=True) + 3 * tf.eye(x.shape[-1], dtype=x.dtype)


def _sym(x):
    nd = len(x.shape)
    return x + A.transpose(x, perm=list(range(nd - 2)) + [nd - 1, nd - 2])


CASES.update({
    "matrix_inverse": [("batch", _L.matrix_inverse, [_well(2, 3, 3)])],
    "matrix_determinant": [("single", _L.matrix_determinant, [_well(3, 3)]),
                           ("batch", _L.matrix_determinant, [_well(2, 2, 2)])],
    "log_abs_determinant": [("batch", _L.log_abs_determinant, [_well(2, 3, 3) * np.array([1, -1, 1])])],
    "matrix_solve": [("batch", _L.matrix_solve, [_well(2, 3, 3), rnd(2, 3, 2)]),
                     ("bcast", _L.matrix_solve, [_well(3, 3), rnd(2, 3, 1)])],
    "triangular_solve": [("lower", lambda a, b: _L.triangular_solve(a, b, True), [_well(3, 3), rnd(3, 2)]),
                         ("upper", lambda a, b: _L.triangular_solve(a, b, False), [_well(2, 3, 3), rnd(2, 3, 1)])],
    "cholesky": [("spd", lambda x: _L.cholesky(_spd(x)), [rnd(2, 3, 3)])],
    "eigh_packed": [("values", lambda x: _L.eigh(_sym(x))[0], [rnd(2, 3, 3)]),
                    ("vectors", lambda x: tf.square(_L.eigh(_sym(x))[1]), [rnd(3, 3)])],
    "svd_packed": [("tall", lambda x: [tf.square(t) for t in _L.svd_reduced(x)][0], [rnd(4, 3)]),
                   ("wide-s", lambda x: _L.svd_reduced(x)[1], [rnd(2, 3, 5)]),
                   ("wide-v", lambda x: tf.square(_L.svd_reduced(x)[2]), [rnd(3, 5)])],
    "singular_values": [("tall", _L.singular_values, [rnd(2, 4, 3)])],
    "qr_packed": [("q", lambda x: _L.qr_reduced(x)[0], [rnd(4, 3)]), ("r", lambda x: _L.qr_reduced(x)[1], [rnd(3, 3)])],
    "fft_c2c": [("last", lambda a, b: _L.fft_c2c(a, b, (-1,), False), [rnd(2, 5), rnd(2, 5)]),
                ("inverse-2d", lambda a, b: _L.fft_c2c(a, b, (-2, -1), True), [rnd(3, 4), rnd(3, 4)])],
    "rfft": [("even", lambda x: _L.rfft(x, 6), [rnd(2, 6)]), ("pad-odd", lambda x: _L.rfft(x, 7), [rnd(5)]),
             ("cut", lambda x: _L.rfft(x, 4), [rnd(2, 6)])],
    "irfft": [("even", lambda a, b: _L.irfft(a, b, 6), [rnd(2, 4), rnd(2, 4)]),
              ("odd-cut", lambda a, b: _L.irfft(a, b, 5), [rnd(4), rnd(4)])],
    "ctc_loss": [("ragged", lambda x, y: _CT.ctc_loss(x, y, [3, 2], [5, 4]), [rnd(2, 5, 4), np.array([[1, 2, 2],
                                                                                                     [3, 1, 0]])]),
                 ("blank-last", lambda x, y: _CT.ctc_loss(x, y, [2], [4], blank=3),
                  [rnd(1, 4, 4), np.array([[0, 1]])])],
})

# -- fake quantization (ops/quant_ops.py): straight-through, so 16 bits and a step far above the quantization step
from tapeflow.ops import quant_ops as _Q  # noqa: E402

_FQ_X = np.array([[-1.7, -0.62, 0.05, 0.41], [0.93, 1.55, -0.3, 2.2]])
_FQ_TOL = dict(eps=1e-2, rtol=1e-2, atol=2e-2)
CASES.update({
    "fake_quant_with_min_max_vars": [
        ("tensor", lambda x, lo, hi: _Q.fake_quant(x, lo, hi, num_bits=16), [_FQ_X, np.array(-1.0), np.array(1.2)],
         _FQ_TOL),
        ("channel", lambda x, lo, hi: _Q.fake_quant(x, lo, hi, num_bits=16, narrow_range=True, axis=0),
         [_FQ_X, np.array([-1.0, -0.5]), np.array([0.5, 1.2])], _FQ_TOL)],
})

def _params():
    for name in sorted(CASES):
        for case in CASES[name]:
            label, f, inputs = case[:3]
            kw = case[3] if len(case) > 3 else {}
            yield pytest.param(name, f, inputs, kw, id=f"{name}-{label}")


def test_every_primitive_has_a_case():
    missing = sorted(set(REGISTRY) - set(CASES))
    assert not missing, f"registered primitives without a gradient-check case in CASES: {missing}"
    empty = sorted(name for name, cases in CASES.items() if not cases and REGISTRY[name].vjps)
    assert not empty, f"differentiable primitives with no case: {empty}"
    stale = sorted(set(CASES) - set(REGISTRY))
    assert not stale, f"CASES names primitives that are not registered: {stale}"


def _recorded_prims(f, inputs):
    arrays = [np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in inputs]
    tensors = [tf.constant(a) for a in arrays]
    with GradientTape() as tape:
        for t in tensors:
            if t.dtype.kind == "f":
                tape.watch(t)
        f(*tensors)
    return {n.prim.name for n in tape._nodes}


@pytest.fixture(params=["tensor-vjps", "fast-vjps"])
def backward_path(request, monkeypatch):
    """Run a check through the differentiable Tensor VJPs and through the array fast path.

    The tape uses a primitive's NumPy ``fast`` twin for plain first-order gradients when it has
    one; both definitions must agree with central differences.
    """
    monkeypatch.setattr(tape_mod, "_FORCE_TENSOR_VJPS", request.param == "tensor-vjps", raising=False)
    return request.param


@pytest.mark.parametrize("name,f,inputs,kw", list(_params()))
def test_primitive_gradient(name, f, inputs, kw, backward_path):
    assert name in _recorded_prims(f, inputs), f"case for {name!r} never records the primitive {name!r}"
    check_gradients(f, *inputs, **kw)


# -- the checker itself must catch wrong VJPs -----------------------------------------------
def _plant(monkeypatch, prim, slot, fns):
    """Replace a primitive's Tensor VJPs ("vjps", checked with the fast path off) or fast twins."""
    monkeypatch.setattr(prim, slot, fns)
    monkeypatch.setattr(tape_mod, "_FORCE_TENSOR_VJPS", slot == "vjps", raising=False)


@pytest.mark.parametrize("slot", ["vjps", "fast"])
def test_planted_wrong_vjp_is_caught(monkeypatch, slot):
    prim = REGISTRY["exp"]
    if slot == "fast" and getattr(prim, "fast", None) is None:
        pytest.skip("exp has no array fast path")
    wrong = (lambda g, ans, x: tf.multiply(tf.multiply(g, ans), 1.01),) if slot == "vjps" else \
        (lambda g, ans, x: g * ans * 1.01,)
    _plant(monkeypatch, prim, slot, wrong)
    with pytest.raises(GradientCheckError, match="input 0"):
        check_gradients(tf.exp, rnd(4))


def test_planted_wrong_conv_vjp_is_caught(monkeypatch):
    prim = REGISTRY["conv2d"]
    good = prim.vjps
    # filter gradient with a flipped kernel-offset convention: a classic conv bug
    _plant(monkeypatch, prim, "vjps",
           (good[0], lambda g, ans, x, w, **a: tf.reverse(good[1](g, ans, x, w, **a), [0])))
    with pytest.raises(GradientCheckError, match="input 1"):
        check_gradients(lambda x, w: tf.nn.conv2d(x, w, 1, "VALID"), rnd(1, 4, 4, 1), rnd(2, 2, 1, 1))


def test_missing_gradient_is_caught(monkeypatch):
    _plant(monkeypatch, REGISTRY["multiply"], "vjps", (lambda g, ans, x, y: tf.multiply(g, y), lambda *a: None))
    with pytest.raises(GradientCheckError, match="input 1"):
        check_gradients(tf.multiply, rnd(3), rnd(3))


def test_broadcast_reduction_bug_is_caught(monkeypatch):
    # a VJP that averages over the broadcast rows where the engine must sum them
    _plant(monkeypatch, REGISTRY["add"], "vjps", (lambda g, ans, x, y: g,
                                                  lambda g, ans, x, y: tf.reduce_mean(g, axis=0)))
    with pytest.raises(GradientCheckError):
        check_gradients(tf.add, rnd(3, 4), rnd(4))


# -- second order: gradients of gradients through nested tapes ------------------------------
def _grad_of(f, argnum=0):
    """x -> d<f(*xs), r>/dx_argnum computed with an inner tape (so an outer tape sees the backward)."""
    def g(*xs):
        with GradientTape() as inner:
            inner.watch(xs[argnum])
            out = f(*xs)
            r = tf.constant(np.random.default_rng(7).standard_normal(out.shape))
            y = tf.reduce_sum(out * r)
        return inner.gradient(y, xs[argnum])
    return g


SECOND_ORDER = {
    "tanh": (tf.tanh, [rnd(5)]),
    "sigmoid": (tf.sigmoid, [rnd(2, 3)]),
    "exp*log": (lambda x: tf.exp(x) * tf.math.log(x), [pos(4)]),
    "pow-both": (tf.pow, [pos(4), rnd(4)]),
    "softmax": (tf.nn.softmax, [rnd(2, 4)]),
    "log_softmax": (tf.nn.log_softmax, [rnd(2, 4)]),
    "logsumexp": (lambda x: tf.reduce_logsumexp(x, axis=1), [rnd(2, 4)]),
    "matmul": (tf.matmul, [rnd(2, 3), rnd(3, 2)]),
    "sparse_xent": (lambda x: tf.nn.sparse_softmax_cross_entropy_with_logits(np.array([1, 0]), x), [rnd(2, 3)]),
    "gelu": (tf.nn.gelu, [rnd(5)]),
    "conv2d-x": (lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), [rnd(1, 4, 4, 2), rnd(3, 3, 2, 2)]),
    "avg_pool": (lambda x: tf.square(tf.nn.avg_pool2d(x, 2, 1, "SAME")), [rnd(1, 3, 3, 1)]),
    "max_pool": (lambda x: tf.square(tf.nn.max_pool2d(x, 2, 2, "VALID")), [distinct(1, 4, 4, 1)]),
    "conv3d-x": (lambda x, w: tf.nn.conv3d(x, w, 2, "SAME"), [rnd(1, 3, 4, 3, 2), rnd(2, 3, 2, 2, 2)]),
    "conv3d-w": (lambda w, x: tf.nn.conv3d(x, w, 1, "VALID"), [rnd(2, 2, 2, 2, 2), rnd(1, 3, 3, 3, 2)]),
    "avg_pool3d": (lambda x: tf.square(tf.nn.avg_pool3d(x, 2, 1, "SAME")), [rnd(1, 3, 2, 3, 1)]),
    "max_pool3d": (lambda x: tf.square(tf.nn.max_pool3d(x, 2, 2, "VALID")), [distinct(1, 4, 2, 4, 1)]),
    "gather": (lambda p: tf.square(tf.gather(p, np.array([1, 1, 0]))), [rnd(3, 2)]),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_order(name):
    f, inputs = SECOND_ORDER[name]
    check_gradients(_grad_of(f, 0), *inputs, rtol=1e-4, atol=1e-6)


def test_second_order_conv_wrt_filters():
    # d/dw of (d<conv(x, w), r>/dx) exercises conv2d_backprop_input's VJP for its filter input
    check_gradients(_grad_of(lambda x, w: tf.nn.conv2d(x, w, 1, "VALID"), 0), rnd(1, 4, 4, 2), rnd(2, 2, 2, 3),
                    rtol=1e-4, atol=1e-6)
    # and d/dx of (d<conv(x, w), r>/dw) exercises conv2d_backprop_filter's VJP for x
    check_gradients(_grad_of(lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), 1), rnd(1, 5, 5, 2), rnd(3, 3, 2, 2),
                    rtol=1e-4, atol=1e-6)
